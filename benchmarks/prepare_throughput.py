"""Throughput of `stasn prepare`: sampled frames per second for decode only, detection only, and the full prepare.

Two inputs:

* **720p video**: generated here with PyAV in a temp folder — H.264, 1280x720, 30 fps, a keyframe every second,
  two B-frames, ``--videos`` files of ``--frames`` frames each; ``--sample`` frames evenly spread are taken from
  each (decoding seeks to them). With ../shared present the picture is a real face (a NUAA live sequence scaled
  into the 720p frame); without it, a synthetic pattern (no face: the full prepare then writes no crops).
* **NUAA frames** (../shared/data/nuaa-raw-train, skipped when absent): every ``--nuaa-every``-th sequence through
  the NUAA adapter, every frame (640x480 JPEG files).

Stages, each on the same sampled frames:

* decode: open + read the sampled frames as RGB arrays;
* detect: the detector on frames decoded beforehand (decoding not timed);
* prepare: ``prepare_samples`` end to end (decode + detect + crop + JPEG writes + part files + manifest), with 1
  process and with ``--workers`` processes.

The target is ``prepare / min(decode, detect) >= 0.75``: running both stages (and the crop writes) in ``--workers``
processes should keep up with one stream of the slower stage. Each stage and the 1-process prepare run one stream on
one core (OpenCV and decoder threads set to 1, as in prepare's workers). Because the machine may be shared with other
jobs, CPU time per frame is printed too, and the ratio is also projected from it for free cores. Run it twice and look
at the spread before reading much into a number.

    python benchmarks/prepare_throughput.py                 # ~1-2 minutes on 2 cores
    python benchmarks/prepare_throughput.py --nuaa-every 1  # the full NUAA train set
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

import stasn.data.prepare as prepare_module
from stasn.data.detect import make_detector
from stasn.data.manifest import CacheInfo
from stasn.data.prepare import prepare_samples
from stasn.data.sampling import FrameSampler
from stasn.data.video import open_sample, read_image
from stasn.datasets.base import Sample
from stasn.testing.videos import numbered_frame, write_video

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
NUAA = SHARED / "data" / "nuaa-raw-train"
YUNET = SHARED / "models" / "yunet" / "face_detection_yunet_2026may.onnx"


def _video_frames(count: int) -> list[np.ndarray]:
    """``count`` 1280x720 RGB frames: a NUAA live capture scaled to 960x720 on grey, or a synthetic pattern."""
    live = sorted((NUAA / "ClientRaw" / "0001").glob("0001_00_00_01_*.jpg"), key=lambda p: int(p.stem.split("_")[-1]))
    frames = []
    for i in range(count):
        canvas = np.full((720, 1280, 3), 128, np.uint8)
        if live:
            face = cv2.resize(read_image(live[i % len(live)]), (960, 720), interpolation=cv2.INTER_LINEAR)
            shift = int(40 * np.sin(i / 15))  # some motion, so frames differ like a real capture
            canvas[:, 160 + shift : 1120 + shift] = face
        else:
            canvas[:] = cv2.resize(numbered_frame(i % 256), (1280, 720), interpolation=cv2.INTER_NEAREST)
        frames.append(canvas)
    return frames


def make_720p_samples(folder: Path, videos: int, frames: int) -> list[Sample]:
    first = write_video(folder / "v0.mp4", _video_frames(frames), fps=30, gop=30, crf=23)
    samples = []
    for v in range(videos):
        path = folder / f"v{v}.mp4"
        if v:
            shutil.copyfile(first, path)  # same content: identical work per file
        samples.append(Sample(path=path, label=0, attack_type="live", split="train", video_id=f"v{v}", dataset="bench"))
    return samples


def nuaa_samples(every: int) -> list[Sample]:
    from stasn.datasets import open_dataset

    return list(open_dataset("nuaa", NUAA))[::every]


class _Clock:
    """Wall time and CPU time (this process and its finished children) of a block."""

    def __enter__(self) -> _Clock:
        self._wall, self._cpu = time.perf_counter(), self._cpu_now()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = self._cpu_now() - self._cpu

    @staticmethod
    def _cpu_now() -> float:
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system


def time_decode(samples: list[Sample], sampler: FrameSampler) -> tuple[int, _Clock]:
    count = 0
    with _Clock() as clock:
        for sample in samples:
            with open_sample(sample, threads=1) as source:
                for _ in source.read(sampler.indices(source.num_frames, sample.first_frames)):
                    count += 1
    return count, clock


def time_detect(samples: list[Sample], sampler: FrameSampler, spec: str) -> tuple[int, _Clock]:
    detector = make_detector(spec)
    frames = []
    for sample in samples:  # decoded beforehand: only detection is timed
        with open_sample(sample, threads=1) as source:
            frames += [f for _, f in source.read(sampler.indices(source.num_frames, sample.first_frames))]
    with _Clock() as clock:
        for frame in frames:
            detector.detect(frame)
    return len(frames), clock


def time_prepare(samples: list[Sample], sampler: FrameSampler, spec: str, workers: int) -> tuple[int, _Clock, float]:
    with tempfile.TemporaryDirectory(prefix="stasn-bench-cache-") as out, _Clock() as clock:
        summary = prepare_samples(samples, out, detector=spec, sampler=sampler, workers=workers, cache_info=CacheInfo())
    return summary.total.frames, clock, summary.total.face_rate


def run_row(name: str, samples: list[Sample], sampler: FrameSampler, spec: str, workers: int) -> dict:
    row: dict = {"input": name}
    for stage, (n, clock, *rest) in {
        "decode": time_decode(samples, sampler),
        "detect": time_detect(samples, sampler, spec),
        "prepare x1": time_prepare(samples, sampler, spec, 1),
        f"prepare x{workers}": time_prepare(samples, sampler, spec, workers),
    }.items():
        # frames/s and CPU ms per frame; the CPU of worker processes is not visible here (they are the fork
        # server's children), so it is only given for the in-process runs.
        cpu = 1000 * clock.cpu / n if stage != f"prepare x{workers}" or workers == 1 else float("nan")
        row[stage] = (n / clock.wall, cpu)
        row["frames"], row["faces"] = n, rest[0] if rest else row.get("faces", float("nan"))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=8, help="720p files (copies of one generated video)")
    parser.add_argument("--frames", type=int, default=300, help="frames per 720p video")
    parser.add_argument("--sample", type=int, default=32, help="frames sampled per 720p video (evenly spread)")
    parser.add_argument("--nuaa-every", type=int, default=3, help="take every N-th NUAA sequence (1 = all)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--detector", default=None, help="detector spec; default yunet from ../shared, else haar")
    args = parser.parse_args()
    cv2.setNumThreads(1)  # one core per stream; prepare's worker processes do the same
    prepare_module._DECODER_THREADS = 1  # and one decoder thread in the in-process prepare too (as in its workers)
    spec = args.detector or (f"yunet:{YUNET}" if YUNET.is_file() else "haar")

    rows = []
    with tempfile.TemporaryDirectory(prefix="stasn-bench-video-") as folder:
        start = time.perf_counter()
        samples = make_720p_samples(Path(folder), args.videos, args.frames)
        print(f"generated {args.videos} x {args.frames} frames of 720p H.264 in {time.perf_counter() - start:.1f} s")
        rows.append(run_row("720p H.264", samples, FrameSampler(count=args.sample), spec, args.workers))
    if NUAA.is_dir():
        rows.append(run_row("NUAA 640x480 JPEG", nuaa_samples(args.nuaa_every), FrameSampler(), spec, args.workers))
    else:
        print(f"NUAA row skipped: {NUAA} not found")

    stages = ["decode", "detect", "prepare x1", f"prepare x{args.workers}"]
    print(f"\ndetector: {spec.split(':')[0]}; sampled frames per second (CPU ms per frame)")
    print(f"{'input':<19}{'frames':>7}{'faces':>7}" + "".join(f"{s:>16}" for s in stages) + "   ratio  free  same")
    for row in rows:
        slower = min(row["decode"][0], row["detect"][0])
        ratio = max(row["prepare x1"][0], row[f"prepare x{args.workers}"][0]) / slower
        worst_cpu = max(row["decode"][1], row["detect"][1])
        free = args.workers * worst_cpu / row["prepare x1"][1]  # W cores for prepare, one per stage alone
        same = worst_cpu / row["prepare x1"][1]  # the same cores for everything
        cells = "".join(f"{row[s][0]:>9.1f} ({row[s][1]:>4.1f})".replace("( nan)", "   (-)") for s in stages)
        head = f"{row['input']:<19}{row['frames']:>7}{100 * row['faces']:>6.1f}%"
        print(f"{head}{cells}{ratio:>8.2f}{free:>6.2f}{same:>6.2f}")
    print(
        "Stages and `prepare x1` run one stream on one core (OpenCV and decoder threads = 1); `prepare xN` uses N\n"
        "processes. ratio = best measured prepare / slower stage (target >= 0.75). A shared machine gives the\n"
        "N-process run fewer than N cores, so two projections from CPU time: free = N free cores for prepare\n"
        "(N x slower-stage CPU / prepare CPU); same = each stage alone also on N cores (slower-stage CPU / prepare\n"
        "CPU)."
    )


if __name__ == "__main__":
    main()
