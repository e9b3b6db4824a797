"""Training clips/s on CPU: STASN's full training step next to its backbones' own training step on the same images.

A clip costs T frames at ``input_size`` through TASM's backbone and T*K regions at ``region_output_size`` through
SASM's. The baseline trains the two bare backbones (with a linear head each) on exactly those images; the ratio
(STASN clips/s / baseline clips/s) says what the LSTM, RAM, cropping and fusion add to a training step. fp32,
``torch.set_num_threads(--threads)``. On a GPU use ``benchmarks/gpu.py``.

    python benchmarks/train_throughput.py [--configs fast default] [--batch 2] [--iters 3]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from stasn.model import STASN, STASNConfig

CONFIGS = {"fast": "resnet18", "default": "resnet50"}


def _rate(step, iters: int) -> float:
    step()  # warm-up
    start = time.perf_counter()
    for _ in range(iters):
        step()
    return iters / (time.perf_counter() - start)


def measure(backbone: str, batch: int, iters: int) -> tuple[float, float]:
    torch.manual_seed(0)
    cfg = STASNConfig(backbone=backbone)
    t, k = cfg.num_frames, cfg.num_regions
    model = STASN.from_config(cfg).train()
    clips = torch.rand(batch, t, 3, cfg.input_size, cfg.input_size)
    highres = torch.rand(batch, t, 3, cfg.highres_size, cfg.highres_size)
    labels = torch.randint(0, 2, (batch,))
    frames = clips.flatten(0, 1)
    regions = torch.rand(batch * t * k, 3, cfg.region_output_size, cfg.region_output_size)
    head_t = torch.nn.Linear(model.tasm.backbone.out_channels, 2)
    head_s = torch.nn.Linear(model.sasm.backbone.out_channels, 2)
    base_params = [
        *model.tasm.backbone.parameters(),
        *model.sasm.backbone.parameters(),
        *head_t.parameters(),
        *head_s.parameters(),
    ]
    base_opt = torch.optim.AdamW(base_params, lr=1e-5)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)

    def baseline():
        a = head_t(model.tasm.backbone(frames).mean((2, 3)))
        b = head_s(model.sasm.backbone(regions).mean((2, 3)))
        loss = F.cross_entropy(a, labels.repeat_interleave(t)) + F.cross_entropy(b, labels.repeat_interleave(t * k))
        loss.backward()
        base_opt.step()
        base_opt.zero_grad(set_to_none=True)

    def stasn():
        out = model(clips, highres)
        model.compute_loss(out, labels)["loss"].backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    # interleave so background load hits both alike
    base = max(_rate(baseline, iters) for _ in range(2))
    full = max(_rate(stasn, iters) for _ in range(2))
    return batch * base, batch * full


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = STASNConfig()
    print(
        f"CPU, {args.threads} threads, fp32, batch {args.batch} clips; T={cfg.num_frames}, K={cfg.num_regions}, "
        f"{cfg.input_size}px frames + {cfg.region_output_size}px regions\n"
    )
    print(f"{'config':<8} {'backbone':<9} {'backbones-only clips/s':>23} {'STASN clips/s':>14} {'ratio':>6}")
    for name in args.configs:
        base, full = measure(CONFIGS[name], args.batch, args.iters)
        print(f"{name:<8} {CONFIGS[name]:<9} {base:>23.3f} {full:>14.3f} {full / base:>6.2f}")


if __name__ == "__main__":
    main()
