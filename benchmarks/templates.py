"""Device templates: extraction frames per second per core (720p) and template-mode spoofs per second per core (256 px),
next to the procedural replay synthesizer on the same faces.

Usage::

    .venv/bin/python benchmarks/templates.py [--videos 3] [--frames 40] [--count 200] [--size 256]

Inputs are made by the project itself: drawn phone videos showing the marker board (stasn.testing.device_video, 1280 x
720, H.264) and drawn faces (stasn.testing.faces). Extraction is timed in two parts: finding the screen in every
frame (first pass: decode + ChArUco + homography), and the whole command (both passes: the light model of every kept
frame, JPEG/PNG/npz writes). Synthesis draws fresh parameters per sample; template frames are picked at random from
all extracted frames, so most come from disk (JPEG decode) rather than the 16-frame cache. Target: template mode >= 40
spoofs/s/core at 256 px, like procedural.

CPU time of this process is the per-core figure (it does not count time spent waiting for a core on a shared
machine); wall-clock is shown beside it.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one core: no BLAS threads either
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from stasn.data.video import VideoFile  # noqa: E402
from stasn.synth.markers import write_board  # noqa: E402
from stasn.synth.medium import image_size  # noqa: E402
from stasn.synth.replay import ReplaySynthesizer  # noqa: E402
from stasn.synth.template_replay import TemplateReplay  # noqa: E402
from stasn.synth.templates import BoardFinder, TemplateSet, extract_templates  # noqa: E402
from stasn.testing.device_video import render_device_video  # noqa: E402
from stasn.testing.faces import draw_face, face_clip  # noqa: E402
from stasn.testing.videos import write_video  # noqa: E402


def _clocks(fn) -> tuple[float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c0, time.perf_counter() - w0


def _rate(synth, inputs, seed: int) -> tuple[float, float, float]:
    """(items per CPU second, items per wall second, median CPU ms per item)."""
    rng = np.random.default_rng(seed)
    params = [synth.sample_params(rng, image_size(item)) for item in inputs]
    synth.apply(inputs[0], params[0])  # warm-up
    cpu, wall = [], []
    for item, p in zip(inputs, params, strict=True):
        c, w = _clocks(lambda item=item, p=p: synth.apply(item, p))
        cpu.append(c)
        wall.append(w)
    return len(cpu) / sum(cpu), len(wall) / sum(wall), float(np.median(cpu)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=3, help="device videos (template clips)")
    parser.add_argument("--frames", type=int, default=40, help="frames per device video")
    parser.add_argument("--count", type=int, default=200, help="spoof images per synthesis row (clips: count / 8)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    console = Console()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        layout, _ = write_board(root, "phone", 1080, 2340, seconds=0)
        videos, truths = [], []
        for k in range(args.videos):
            video = render_device_video(layout.image(), num_frames=args.frames, seed=args.seed + k)
            videos.append(write_video(root / f"phone_{k}.mp4", video.frames, crf=20))
            truths.append(video.quads)

        # 1. Finding the screen: decode + detect, per frame.
        finder = BoardFinder(layout)
        frames_done, errors = 0, []

        def detect() -> None:
            nonlocal frames_done
            for path, quads in zip(videos, truths, strict=True):
                with VideoFile(path) as source:
                    for index, frame in source.read(range(source.num_frames)):
                        fit, _ = finder.find(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
                        errors.append(np.inf if fit is None else float(np.abs(fit.quad - quads[index]).max()))
                        frames_done += 1

        detect_cpu, detect_wall = _clocks(detect)
        # 2. The whole extraction (both passes, light model, files).
        extract_cpu, extract_wall = _clocks(lambda: extract_templates(videos, root))
        total = args.videos * args.frames
        errors = np.asarray(errors)

        table = Table(title=f"template extraction, 1280 x 720 H.264, {total} frames, cv2.setNumThreads(1)")
        for name in ("what", "frames/s per CPU-second (1 core)", "per wall-second"):
            table.add_column(name)
        table.add_row(
            "find the screen (decode + ChArUco + fit)", f"{total / detect_cpu:.1f}", f"{total / detect_wall:.1f}"
        )
        table.add_row("templates extract (both passes + light + files)", f"{total / extract_cpu:.1f}",
                      f"{total / extract_wall:.1f}")  # fmt: skip
        console.print(table)
        console.print(
            f"quad accuracy (unsmoothed, vs the drawn corners): {np.mean(errors <= 1.0) * 100:.1f} % of frames within "
            f"1 px; median {np.median(errors):.3f} px, max {errors[np.isfinite(errors)].max():.3f} px"
        )

        # 3. Synthesis at 256 px: procedural vs template mode.
        templates = TemplateSet(root)
        faces = [draw_face(args.size, seed=i) for i in range(8)]
        images = [faces[i % 8] for i in range(args.count)]
        clips = [face_clip(8, args.size, seed=i) for i in range(max(2, args.count // 8))]
        table = Table(
            title=f"replay synthesis, {args.size} x {args.size}, 1 process ({len(templates)} template frames)"
        )
        for name in ("what", "per CPU-second (1 core)", "per wall-second", "median CPU ms / item", "target"):
            table.add_column(name)
        rows = [
            ("procedural images", ReplaySynthesizer(), images, "images", ">= 40/s"),
            ("template-mode images", TemplateReplay(templates), images, "images", ">= 40/s"),
            ("procedural clips (8 frames)", ReplaySynthesizer(), clips, "clips", ""),
            ("template-mode clips (8 frames)", TemplateReplay(templates), clips, "clips", ""),
        ]
        rates = {}
        for label, synth, inputs, unit, target in rows:
            cpu_rate, wall_rate, median_ms = _rate(synth, inputs, args.seed)
            rates[label] = cpu_rate
            frames = f" = {cpu_rate * 8:.1f} frames" if unit == "clips" else ""
            table.add_row(label, f"{cpu_rate:.1f} {unit}{frames}", f"{wall_rate:.1f}", f"{median_ms:.1f}", target)
        console.print(table)
        ratio = rates["template-mode images"] / rates["procedural images"]
        console.print(f"template mode / procedural (images, CPU time): {ratio:.2f}")


if __name__ == "__main__":
    main()
