"""Synthesized spoofs per second per CPU core (single process, OpenCV single-threaded, torch not involved).

Usage::

    .venv/bin/python benchmarks/synth_throughput.py [--count 200] [--size 256] [--seed 0]

Input is the drawn face of :mod:`stasn.testing.faces` (no data needed). Each sample draws fresh parameters from
the default ranges, so the figure is an average over devices, sensor resolutions and codecs, with the physical moire
path (sub-pixel tile, area sampling, Bayer mosaic, demosaic) always on. Target: >= 40 replay images/s/core at 256 px.

Two clocks are reported: CPU time of this process (the per-core figure; it does not count time the process waited
for a core on a shared machine) and wall-clock time (what you get on an otherwise idle core).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one core: no BLAS threads either
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generalization import POOL_REPLAY_RANGES, replay_ranges  # noqa: E402

from stasn.synth.medium import image_size  # noqa: E402
from stasn.synth.printing import PrintSynthesizer  # noqa: E402
from stasn.synth.replay import ReplaySynthesizer  # noqa: E402
from stasn.testing.faces import draw_face, face_clip  # noqa: E402


def _rate(synth, inputs, seed: int) -> tuple[float, float, float]:
    """(items per CPU second, items per wall second, median CPU ms per item) over ``inputs``."""
    rng = np.random.default_rng(seed)
    params = [synth.sample_params(rng, image_size(item)) for item in inputs]
    synth.apply(inputs[0], params[0])  # warm-up: imports, codec initialisation
    cpu, wall = [], []
    for item, p in zip(inputs, params, strict=True):
        c0, w0 = time.process_time(), time.perf_counter()
        synth.apply(item, p)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return len(cpu) / sum(cpu), len(wall) / sum(wall), float(np.median(cpu)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="images per row (clips: count / 8)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cv2.setNumThreads(1)

    faces = [draw_face(args.size, seed=i) for i in range(8)]
    images = [faces[i % 8] for i in range(args.count)]
    clips = [face_clip(8, args.size, seed=i) for i in range(max(2, args.count // 8))]
    table = Table(title=f"stasn.synth throughput, {args.size}x{args.size}, 1 process, cv2.setNumThreads(1)")
    for name in ("what", "per CPU-second (1 core)", "per wall-second", "median CPU ms / item", "target"):
        table.add_column(name)
    rows = [
        ("replay images", ReplaySynthesizer(), images, "images", ">= 40/s"),
        # The same inputs with issue 16's v3 ranges (no media or ISP denoising, more flicker bands): the cost of v5/v6
        # measured in the same process, under the same load.
        (
            "replay images, v3 ranges",
            ReplaySynthesizer(replay_ranges(POOL_REPLAY_RANGES["synth-v3"])),
            images,
            "images",
            "",
        ),
        (  # and v6's (screens rolled +-8 deg, JPEG 0.7 / H.264 0.3): the cost of v7's codec mix
            "replay images, v6 ranges",
            ReplaySynthesizer(replay_ranges(POOL_REPLAY_RANGES["synth-v6"])),
            images,
            "images",
            "",
        ),
        (  # and v7's (the camera's resolution absolute, 100-300 px): the cost of v8's 0.5-0.85 x the image
            "replay images, v7 ranges",
            ReplaySynthesizer(replay_ranges(POOL_REPLAY_RANGES["synth-v7"])),
            images,
            "images",
            "",
        ),
        (  # and v9's (no chroma noise reduction): the cost of v10's 0.5-3 px
            "replay images, v9 ranges",
            ReplaySynthesizer(replay_ranges(POOL_REPLAY_RANGES["synth-v9"])),
            images,
            "images",
            "",
        ),
        ("replay clips (8 frames)", ReplaySynthesizer(), clips, "clips", ""),
        ("print images", PrintSynthesizer(), images, "images", ""),
        ("print clips (8 frames)", PrintSynthesizer(), clips, "clips", ""),
    ]
    rates = {}
    for label, synth, inputs, unit, target in rows:
        cpu_rate, wall_rate, median_ms = _rate(synth, inputs, args.seed)
        rates[label] = cpu_rate
        frames = f" = {cpu_rate * 8:.1f} frames" if unit == "clips" else ""
        table.add_row(label, f"{cpu_rate:.1f} {unit}{frames}", f"{wall_rate:.1f}", f"{median_ms:.1f}", target)
    Console().print(table)
    for old in ("v3", "v6", "v7", "v9"):
        ratio = rates["replay images"] / rates[f"replay images, {old} ranges"]
        print(f"replay images, default / {old} ranges: {ratio:.2f}x the rate (CPU time, same process and load)")


if __name__ == "__main__":
    main()
