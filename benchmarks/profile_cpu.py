"""Where STASN's forward time goes on CPU (torch.profiler), by part: the two backbones, RAM, the LSTM, the rest.

python benchmarks/profile_cpu.py [--backbone resnet18] [--batch 2] [--iters 3] [--threads 2]
"""

from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from stasn.model import STASN, STASNConfig

PARTS = ("TASM backbone", "SASM backbone", "RAM (attention, NMS, roi_align)", "LSTM")


def _labelled(module: torch.nn.Module, name: str) -> None:
    forward = module.forward

    def run(*args, **kwargs):
        with record_function(name):
            return forward(*args, **kwargs)

    module.forward = run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = STASNConfig(backbone=args.backbone)
    model = STASN.from_config(cfg).eval()
    clips = torch.rand(args.batch, cfg.num_frames, 3, cfg.input_size, cfg.input_size)
    highres = torch.rand(args.batch, cfg.num_frames, 3, cfg.highres_size, cfg.highres_size)
    for module, name in zip((model.tasm.backbone, model.sasm.backbone, model.ram, model.tasm.lstm), PARTS, strict=True):
        _labelled(module, name)
    with torch.inference_mode():
        model(clips, highres)  # warm-up
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(args.iters):
                with record_function("STASN forward"):
                    model(clips, highres)
    times = {e.key: e.cpu_time_total / 1e3 / args.iters for e in prof.key_averages()}
    total = times["STASN forward"]
    print(
        f"\n{args.backbone}, batch {args.batch} clips, T={cfg.num_frames}, K={cfg.num_regions}, {args.threads} threads"
    )
    for name in PARTS:
        print(f"{name:<34} {times[name]:8.1f} ms  {100 * times[name] / total:5.1f} %")
    rest = total - sum(times[name] for name in PARTS)
    print(f"{'other (normalise, fusion, heads)':<34} {rest:8.1f} ms  {100 * rest / total:5.1f} %")
    print(f"{'STASN forward':<34} {total:8.1f} ms")


if __name__ == "__main__":
    main()
