"""STASN forward throughput on CPU next to its backbones alone on the same images.

A clip costs T backbone passes at ``input_size`` (TASM) plus T*K passes at ``region_output_size`` (SASM). The
"backbone only" row runs exactly those passes through the two bare backbones; the ratio backbone-time / STASN-time
says how much RAM, cropping, the LSTM and fusion add (target >= 0.8, i.e. they add under 25 %).

Each measurement runs in a fresh process so its peak RSS (ru_maxrss) is its own. ResNets run at the default sizes
(224 px, high-res 448, T=5, K=4, regions 112 px), EfficientNet-Lite at those of ``configs/lite.yaml`` (128 px, 256,
T=4, K=3, regions 64 px).

    python benchmarks/model_throughput.py [--backbones efficientnet_lite0 resnet18 resnet50] [--batch 2] [--iters 5]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time


def _config(backbone: str):
    from stasn.model import STASNConfig

    lite = dict(num_frames=4, input_size=128, highres_size=256, num_regions=3, region_size=64, region_output_size=64)
    return STASNConfig(backbone=backbone, **(lite if backbone.startswith("efficientnet") else {}))


def _measure(kind: str, backbone: str, batch: int, iters: int, threads: int, queue) -> None:
    import torch

    from stasn.model import STASN

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = _config(backbone)
    model = STASN.from_config(cfg).eval()
    t, k = cfg.num_frames, cfg.num_regions
    clips = torch.rand(batch, t, 3, cfg.input_size, cfg.input_size)
    highres = torch.rand(batch, t, 3, cfg.highres_size, cfg.highres_size)
    frames = clips.flatten(0, 1)
    regions = torch.rand(batch * t * k, 3, cfg.region_output_size, cfg.region_output_size)

    if kind == "stasn":

        def step():
            model(clips, highres)
    else:

        def step():
            model.tasm.backbone(frames)
            model.sasm.backbone(regions)

    with torch.inference_mode():
        step()  # warm-up
        start = time.perf_counter()
        for _ in range(iters):
            step()
        elapsed = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((batch * iters / elapsed, peak_mib))


def run(kind: str, backbone: str, batch: int, iters: int, threads: int) -> tuple[float, float]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(kind, backbone, batch, iters, threads, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", default=["efficientnet_lite0", "resnet18", "resnet50"])
    parser.add_argument("--batch", type=int, default=2, help="clips per forward")
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions; the best of each is kept")
    args = parser.parse_args()

    for backbone in args.backbones:
        cfg = _config(backbone)
        print(
            f"{backbone}: T={cfg.num_frames}, K={cfg.num_regions}, input {cfg.input_size}px, high-res "
            f"{cfg.highres_size}px, regions {cfg.region_output_size}px"
        )
    print(f"batch {args.batch} clips, {args.threads} threads, CPU\n")
    header = f"{'backbone':<18} {'what':<34} {'clips/s':>8} {'peak RSS MiB':>13}"
    print(header)
    print("-" * len(header))
    for backbone in args.backbones:
        # Interleave the two kinds over several rounds and keep each one's best: other load on the machine then
        # hurts both alike instead of whichever happened to run during it.
        results = {"backbone": [], "stasn": []}
        for _ in range(args.rounds):
            for kind in results:
                results[kind].append(run(kind, backbone, args.batch, args.iters, args.threads))
        base, base_mem = max(results["backbone"])
        full, full_mem = max(results["stasn"])
        cfg = _config(backbone)
        passes = f"{cfg.num_frames}+{cfg.num_frames * cfg.num_regions}"
        print(f"{backbone:<18} {'backbone only (' + passes + ' passes/clip)':<34} {base:>8.2f} {base_mem:>13.0f}")
        print(f"{backbone:<18} {'STASN forward':<34} {full:>8.2f} {full_mem:>13.0f}")
        print(f"{backbone:<18} {'ratio backbone time / STASN time':<34} {full / base:>8.3f}   (target >= 0.8)")
    print()


if __name__ == "__main__":
    main()
