"""STASN on a GPU next to its backbone-bound ceiling, measured in the same run (issue: "STASN fast on a GPU").

A clip costs T backbone passes at ``input_size`` (TASM) and T*K passes at ``region_output_size`` (SASM). The
**ceiling** is the bare backbones doing exactly those passes (same batch, same dtype, same memory format, same
compile mode); STASN's clips/s divided by the ceiling's clips/s is the ratio the targets refer to (inference >= 0.7,
training >= 0.6). The issue's simpler bound — T*(1+K) images all at ``input_size`` — is printed too.

For each config (default = ResNet-50, fast = ResNet-18) and mode (eager, compiled), bf16 autocast, channels_last:

* inference: ``model(clips, highres)`` under ``torch.inference_mode``;
* training: forward + joint loss + backward + AdamW step;
* numerics: the optimised forward's ``spoof_score`` against a plain fp32 eager forward of the same weights.

Inputs are pre-staged on the GPU (this measures the model, not the loader). Keep it inside the device tool's budget:

    python benchmarks/gpu.py --batch 32 --seconds 6            # ~5-7 minutes on an H100/H200 with compile
    python benchmarks/gpu.py --device cpu --tiny --seconds 1   # a smoke run of the script itself on CPU
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from stasn.model import STASN, STASNConfig

CONFIGS = {"default": "resnet50", "fast": "resnet18"}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rate(step: Callable[[], None], *, seconds: float, device: torch.device, warmup: int = 3) -> float:
    """Calls per second of ``step`` over about ``seconds`` (after ``warmup`` calls)."""
    for _ in range(warmup):
        step()
    _sync(device)
    calls, start = 0, time.perf_counter()
    while True:
        step()
        calls += 1
        if calls % 5 == 0:
            _sync(device)
            if time.perf_counter() - start >= seconds:
                break
    _sync(device)
    return calls / (time.perf_counter() - start)


def _config(backbone: str, tiny: bool) -> STASNConfig:
    if tiny:
        return STASNConfig(
            backbone=backbone,
            num_frames=2,
            input_size=64,
            highres_size=128,
            num_regions=2,
            region_size=32,
            region_output_size=32,
            lstm_hidden=32,
        )
    return STASNConfig(backbone=backbone)


def measure(
    name: str,
    backbone: str,
    *,
    batch: int,
    compiled: bool,
    seconds: float,
    device: torch.device,
    tiny: bool,
    dtype: torch.dtype,
) -> dict:
    torch.manual_seed(0)
    cfg = _config(backbone, tiny)
    t, k = cfg.num_frames, cfg.num_regions
    model = STASN.from_config(cfg).to(device).to(memory_format=torch.channels_last)
    clips = torch.rand(batch, t, 3, cfg.input_size, cfg.input_size, device=device)
    highres = torch.rand(batch, t, 3, cfg.highres_size, cfg.highres_size, device=device)
    labels = torch.randint(0, 2, (batch,), device=device)
    frames = clips.flatten(0, 1).contiguous(memory_format=torch.channels_last)
    regions = torch.rand(batch * t * k, 3, cfg.region_output_size, cfg.region_output_size, device=device).contiguous(
        memory_format=torch.channels_last
    )
    frames_big = torch.rand(batch * t * (1 + k), 3, cfg.input_size, cfg.input_size, device=device).contiguous(
        memory_format=torch.channels_last
    )

    # numerics reference: plain fp32 eager forward, before anything is compiled
    model.eval()
    with torch.inference_mode():
        reference = model(clips[:4], highres[:4]).spoof_score.float()

    if compiled:
        model.tasm.backbone.compile()
        model.sasm.backbone.compile()
    autocast = torch.autocast(device.type, dtype=dtype)
    tasm_bb, sasm_bb = model.tasm.backbone, model.sasm.backbone
    result = {
        "config": name,
        "backbone": backbone,
        "mode": "compiled" if compiled else "eager",
        "batch": batch,
        "passes_per_clip": t * (1 + k),
    }

    # --- inference -----------------------------------------------------------------------------------------------
    model.eval()

    def ceiling_infer():
        with torch.inference_mode(), autocast:
            tasm_bb(frames)
            sasm_bb(regions)

    def simple_ceiling_infer():
        with torch.inference_mode(), autocast:
            tasm_bb(frames_big)

    def stasn_infer():
        with torch.inference_mode(), autocast:
            model(clips, highres)

    result["infer_ceiling_clips_s"] = batch * _rate(ceiling_infer, seconds=seconds, device=device)
    result["infer_simple_ceiling_clips_s"] = batch * _rate(simple_ceiling_infer, seconds=seconds, device=device)
    result["infer_stasn_clips_s"] = batch * _rate(stasn_infer, seconds=seconds, device=device)
    with torch.inference_mode(), autocast:
        optimised = model(clips[:4], highres[:4]).spoof_score.float()
    result["max_abs_score_diff_vs_fp32"] = float((optimised - reference).abs().max())

    # --- training ------------------------------------------------------------------------------------------------
    model.train()
    model.set_stage("joint")
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=device.type == "cuda")
    head_t = torch.nn.Linear(model.tasm.backbone.out_channels, 2).to(device)
    head_s = torch.nn.Linear(model.sasm.backbone.out_channels, 2).to(device)
    base_opt = torch.optim.AdamW(
        [*tasm_bb.parameters(), *sasm_bb.parameters(), *head_t.parameters(), *head_s.parameters()],
        lr=1e-5,
        fused=device.type == "cuda",
    )
    frame_labels = labels.repeat_interleave(t)
    region_labels = labels.repeat_interleave(t * k)

    def ceiling_train():
        with autocast:
            a = head_t(tasm_bb(frames).mean((2, 3)))
            b = head_s(sasm_bb(regions).mean((2, 3)))
            loss = F.cross_entropy(a.float(), frame_labels) + F.cross_entropy(b.float(), region_labels)
        loss.backward()
        base_opt.step()
        base_opt.zero_grad(set_to_none=True)

    def stasn_train():
        with autocast:
            out = model(clips, highres)
            loss = model.compute_loss(out, labels)["loss"]
        loss.backward()
        optimiser.step()
        optimiser.zero_grad(set_to_none=True)

    result["train_ceiling_clips_s"] = batch * _rate(ceiling_train, seconds=seconds, device=device)
    result["train_stasn_clips_s"] = batch * _rate(stasn_train, seconds=seconds, device=device)
    result["infer_ratio"] = result["infer_stasn_clips_s"] / result["infer_ceiling_clips_s"]
    result["train_ratio"] = result["train_stasn_clips_s"] / result["train_ceiling_clips_s"]
    if device.type == "cuda":
        result["peak_mem_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
        torch.cuda.reset_peak_memory_stats(device)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32, help="clips per step")
    parser.add_argument("--seconds", type=float, default=6.0, help="timing window per measurement")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--modes", nargs="+", default=["eager", "compiled"], choices=["eager", "compiled"])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny model sizes (a smoke test of the script)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()

    device = torch.device(args.device)
    dtype = torch.bfloat16
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device: {name}; torch {torch.__version__}; bf16 autocast, channels_last; batch {args.batch} clips\n")
    rows = []
    for cfg_name in args.configs:
        for mode in args.modes:
            start = time.perf_counter()
            row = measure(
                cfg_name,
                CONFIGS[cfg_name],
                batch=args.batch,
                compiled=mode == "compiled",
                seconds=args.seconds,
                device=device,
                tiny=args.tiny,
                dtype=dtype,
            )
            row["wall_s"] = time.perf_counter() - start
            rows.append(row)
            print(f"{cfg_name}/{mode} done in {row['wall_s']:.0f} s", flush=True)

    head = (
        f"{'config':<8} {'mode':<9} {'infer ceil':>10} {'(simple)':>9} {'infer STASN':>11} {'ratio':>6} "
        f"{'train ceil':>10} {'train STASN':>11} {'ratio':>6} {'|dscore|':>9}"
    )
    print("\nclips/s; ceiling = bare backbones on the same T + T*K images; (simple) = T*(1+K) images at input size")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['config']:<8} {r['mode']:<9} {r['infer_ceiling_clips_s']:>10.1f} "
            f"{r['infer_simple_ceiling_clips_s']:>9.1f} {r['infer_stasn_clips_s']:>11.1f} {r['infer_ratio']:>6.2f} "
            f"{r['train_ceiling_clips_s']:>10.1f} {r['train_stasn_clips_s']:>11.1f} {r['train_ratio']:>6.2f} "
            f"{r['max_abs_score_diff_vs_fp32']:>9.4f}"
        )
    default = [r for r in rows if r["config"] == "default"]
    if default:
        best_inf = max(r["infer_ratio"] for r in default)
        best_tr = max(r["train_ratio"] for r in default)
        print(
            f"\ndefault config: inference ratio {best_inf:.2f} (target >= 0.7), "
            f"training ratio {best_tr:.2f} (target >= 0.6)"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
