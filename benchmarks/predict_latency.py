"""Prediction latency on CPU: STASN fast (ResNet-18) and default (ResNet-50), PyTorch vs ONNX Runtime.

Rows per config and backend (random weights: timing does not depend on them):

* ``model ms/face``  one face = one clip of T frames (a still image repeated T times), batch 1, model only;
* ``model img/s``    throughput at ``--batch`` faces per call, model only;
* ``e2e ms/image``   a 640x480 image end to end: decode, face detection, crop (+ JPEG round trip), model;
* ``video s``        a generated 10 s, 30 fps, 640x480 video end to end (decode of the sampled frames, detection,
                     crops, model) with the default sampling (10 frames, 2 clips), and with ``--video-all`` every
                     frame (all clips of T consecutive frames).

A peer row times a MiniFASNet ONNX model (Silent-Face-Anti-Spoofing; not shipped) when ``--peer-onnx PATH`` is
given: model only, its own input size. Faces come from ``../shared/data/nuaa-raw-train`` with YuNet when ``../shared``
is there, else synthetic frames with the ``whole`` detector (the face detector's cost then drops out).

    python benchmarks/predict_latency.py [--configs fast default] [--threads 2] [--iters 5] [--batch 8]
        [--peer-onnx minifasnet.onnx] [--video-all] [--no-video]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CONFIGS = {"fast": "resnet18", "default": "resnet50"}


def _timeit(fn, iters: int) -> tuple[float, float]:
    """``(min, median)`` seconds of ``iters`` calls after one warm-up call. Other processes share the CPU, so the
    minimum is the better estimate of the uncontended cost and the median of what a user sees on a busy machine."""
    fn()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def _face_source() -> tuple[np.ndarray, str, str]:
    """A 640x480 RGB frame with a face, the detector spec to use, and a description."""
    from stasn.infer.inputs import load_image

    images = sorted((SHARED / "data" / "nuaa-raw-train" / "ClientRaw" / "0001").glob("*.jpg"))
    yunet = SHARED / "models" / "yunet" / "face_detection_yunet_2026may.onnx"
    if images and yunet.is_file():
        return load_image(images[0]), f"yunet:{yunet}", "NUAA frame, YuNet"
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), "whole", "synthetic frame, whole-image face"


def _make_video(path: Path, frame: np.ndarray, seconds: int = 10, fps: int = 30) -> Path:
    """``seconds`` x ``fps`` frames of ``frame`` drifting a few pixels (H.264, yuv420p)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frame.shape[1], frame.shape[0], "yuv420p"
        stream.options = {"crf": "20", "preset": "veryfast"}
        for i in range(seconds * fps):
            shifted = np.roll(frame, (int(3 * np.sin(i / 9)), int(4 * np.cos(i / 11))), axis=(0, 1))
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(shifted), format="rgb24")))
        container.mux(stream.encode())
    return path


def _checkpoint(folder: Path, backbone: str) -> Path:
    import torch

    from stasn.data.manifest import CacheInfo
    from stasn.model import STASN, STASNConfig
    from stasn.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    config = STASNConfig(backbone=backbone)
    info = CacheInfo(face_size=config.input_size, highres_size=config.highres_size)
    return save_checkpoint(folder / f"{backbone}.ckpt", STASN.from_config(config).eval(), config, info, threshold=0.5)


def _bench_config(name: str, args, folder: Path, frame: np.ndarray, detector: str, video: Path | None) -> list[list]:
    from stasn.infer.detector import Detector
    from stasn.infer.export import export_onnx

    ckpt = _checkpoint(folder, CONFIGS[name])
    report = export_onnx(ckpt, folder / f"{name}.onnx")
    print(
        f"[{name}] exported in {report.seconds:.0f} s, {report.size_bytes / 2**20:.0f} MiB; "
        f"parity: {report.parity.describe()}",
        file=sys.stderr,
    )
    rows = []
    for backend, path in (("torch", ckpt), ("onnx", report.path)):
        load = dict(backend=backend, device="cpu", detector=detector, threads=args.threads)
        det = Detector.from_checkpoint(path, **load)
        row = [f"{name} ({det.config.backbone})", backend, *_bench_detector(det, frame, args)]
        if video is not None:
            row.append(_time_video(det, video))
            if args.video_all:
                every = Detector.from_checkpoint(path, **load, video_frames=None, clips_per_video=10_000)
                row.append(_time_video(every, video))
        rows.append(row)
    return rows


def _bench_detector(det, frame: np.ndarray, args) -> list[str]:
    """Model-only latency (batch 1), model-only throughput (batch ``args.batch``), end-to-end image latency."""
    c = det.config
    rng = np.random.default_rng(0)
    one = rng.random((1, c.num_frames, 3, c.input_size, c.input_size), dtype=np.float32)
    one_hr = rng.random((1, c.num_frames, 3, c.highres_size, c.highres_size), dtype=np.float32)
    many, many_hr = np.repeat(one, args.batch, 0), np.repeat(one_hr, args.batch, 0)
    per_face = _timeit(lambda: det.backend(one, one_hr), args.iters)
    per_batch = _timeit(lambda: det.backend(many, many_hr), max(2, args.iters // 2))
    e2e = _timeit(lambda: det.predict_image(frame), args.iters)
    return [
        f"{1000 * per_face[0]:.0f} / {1000 * per_face[1]:.0f}",
        f"{args.batch / per_batch[0]:.2f} / {args.batch / per_batch[1]:.2f}",
        f"{1000 * e2e[0]:.0f} / {1000 * e2e[1]:.0f}",
    ]


def _time_video(det, video: Path) -> str:
    start = time.perf_counter()
    pred = det.predict_video(video)
    return f"{time.perf_counter() - start:.1f} ({len(pred.clips)} clips, {pred.frames_read} frames)"


def _bench_peer(path: Path, args) -> list:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    meta = session.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in meta.shape]
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    per_face = _timeit(lambda: session.run(None, {meta.name: x}), args.iters)
    dynamic = not isinstance(meta.shape[0], int)
    xb = np.repeat(x, args.batch, 0) if dynamic else x
    per_batch = _timeit(lambda: session.run(None, {meta.name: xb}), max(2, args.iters // 2))
    n = args.batch if dynamic else 1
    return [
        f"MiniFASNet peer {shape[1:]}",
        "onnx",
        f"{1000 * per_face[0]:.1f} / {1000 * per_face[1]:.1f}",
        f"{n / per_batch[0]:.1f} / {n / per_batch[1]:.1f}",
        "-",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--peer-onnx", type=Path, default=None, help="MiniFASNet ONNX file (row skipped without it)")
    parser.add_argument("--video-all", action="store_true", help="also score every frame of the video")
    parser.add_argument("--no-video", action="store_true")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    frame, detector, source = _face_source()
    header = ["config", "backend", "model ms/face", f"model img/s (batch {args.batch})", "e2e ms/image"]
    header = [*header[:2], *(f"{h} (best / median)" for h in header[2:])]
    with tempfile.TemporaryDirectory(prefix="stasn-bench-") as tmp:
        folder = Path(tmp)
        video = None
        if not args.no_video:
            video = _make_video(folder / "ten_seconds.mp4", frame)
            header.append("10 s video, s (default sampling)")
            if args.video_all:
                header.append("10 s video, s (every frame)")
        rows = []
        for name in args.configs:
            rows += _bench_config(name, args, folder, frame, detector, video)
        if args.peer_onnx is not None:
            rows.append(_bench_peer(args.peer_onnx, args) + ["-"] * (len(header) - 5))
        else:
            print("MiniFASNet peer row skipped (no --peer-onnx PATH)", file=sys.stderr)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\nCPU threads: {args.threads}; faces: {source}; best / median of {args.iters} runs after a warm-up;")
    print("other processes share the CPU, so figures vary between runs; video times are single runs.")
    for r in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    main()
