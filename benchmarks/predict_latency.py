"""Prediction latency on CPU: STASN lite (EfficientNet-Lite0), fast (ResNet-18) and default (ResNet-50), PyTorch vs
ONNX Runtime, beside the peer (MiniFASNet V2 + V1SE, ``../shared/models/minifasnet``) in the same run.

Rows per config and backend (random weights: timing does not depend on them):

* ``GFLOPs/image``   one still image through STASN (``stasn model-summary``: each CNN once, the LSTM T steps);
* ``model ms/face``  one still image, batch 1, model only: the image once with ``frame_index [[0] * T]`` (what
                     ``Detector.predict_image`` runs);
* ``naive ms/face``  the same image as T separate frames (the backbones run T * (1 + K) times), for the ratio;
* ``model img/s``    throughput at ``--batch`` different still images per call, model only;
* ``e2e ms/image``   a 640x480 image end to end: decode, face detection, crop (+ JPEG round trip), model;
* ``video s``        a generated 10 s, 30 fps, 640x480 video end to end with the default sampling (10 frames, 2 clips).

``--configs release`` adds the model shipped in ``stasn/weights`` (its trained weights, as ``stasn predict`` loads it).

The peer rows: model only (both models, batch 1 each, their 80x80 inputs) and end to end (the same YuNet detection,
its two crops, both models). Faces come from ``../shared/data/nuaa-raw-train`` with YuNet when ``../shared`` is there,
else synthetic frames with the ``whole`` detector (and no peer row).

    python benchmarks/predict_latency.py [--configs lite fast default] [--threads 2] [--iters 20] [--batch 8]
        [--video-all] [--no-video]
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

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CONFIGS = {"lite": ["lite.yaml"], "fast": ["fast.yaml"], "default": []}  # layers over configs/_base.yaml


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


def _model_config(name: str):
    import dataclasses

    from stasn.train.config import load_experiment

    layers = [ROOT / "configs" / "_base.yaml", *(ROOT / "configs" / f for f in CONFIGS[name])]
    return dataclasses.replace(load_experiment(layers).model, pretrained=None)  # timing does not need the weights


def _checkpoint(folder: Path, name: str) -> tuple[Path, float]:
    """A random-weights checkpoint of config ``name`` and its GFLOPs per still image."""
    import torch

    from stasn.data.manifest import CacheInfo
    from stasn.model import STASN
    from stasn.model.checkpoint import save_checkpoint
    from stasn.model.summary import summarize_model

    torch.manual_seed(0)
    config = _model_config(name)
    model = STASN.from_config(config).eval()
    gflops = summarize_model(config, model).gflops_per_image
    info = CacheInfo(face_size=config.input_size, highres_size=config.highres_size)
    return save_checkpoint(folder / f"{name}.ckpt", model, config, info, threshold=0.5), gflops


def _bench_config(name: str, args, folder: Path, frame: np.ndarray, detector: str, video: Path | None) -> list[list]:
    from stasn.infer.detector import Detector
    from stasn.infer.export import export_onnx

    if name == "release":  # the model shipped in stasn/weights, as `stasn predict` loads it
        from stasn.infer.release import DEFAULT_RELEASE, load_release
        from stasn.model.summary import summarize_model

        ckpt, loaded = DEFAULT_RELEASE, load_release(DEFAULT_RELEASE)
        gflops = summarize_model(loaded.config, loaded.model).gflops_per_image
        report = export_onnx(loaded, folder / "release.onnx")
    else:
        ckpt, gflops = _checkpoint(folder, name)
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
        row = [f"{name} ({det.config.backbone})", backend, f"{gflops:.2f}", *_bench_detector(det, frame, args, name)]
        if video is not None:
            row.append(_time_video(det, video))
            if args.video_all:
                every = Detector.from_checkpoint(path, **load, video_frames=None, clips_per_video=10_000)
                row.append(_time_video(every, video))
        rows.append(row)
    return rows


def _bench_detector(det, frame: np.ndarray, args, name: str) -> list[str]:
    """Model-only latency of a still image (each frame once, and naive), throughput, end-to-end image latency."""
    c = det.config
    t = c.num_frames
    rng = np.random.default_rng(0)
    one = rng.random((args.batch, 3, c.input_size, c.input_size), dtype=np.float32)
    one_hr = rng.random((args.batch, 3, c.highres_size, c.highres_size), dtype=np.float32)
    still = np.zeros((1, t), dtype=np.int64)
    naive = (np.repeat(one[:1], t, 0), np.repeat(one_hr[:1], t, 0), np.arange(t, dtype=np.int64)[None])
    stills = np.repeat(np.arange(args.batch, dtype=np.int64)[:, None], t, 1)
    per_face = _timeit(lambda: det.backend(one[:1], one_hr[:1], still), args.iters)
    per_face_naive = _timeit(lambda: det.backend(*naive), max(3, args.iters // 4))
    per_batch = _timeit(lambda: det.backend(one, one_hr, stills), max(2, args.iters // 4))
    e2e = _timeit(lambda: det.predict_image(frame), args.iters)
    MODEL_MS[(f"{name} ({c.backbone})", det.backend.name)] = per_face
    return [
        f"{1000 * per_face[0]:.2f} / {1000 * per_face[1]:.2f}",
        f"{1000 * per_face_naive[0]:.1f} / {1000 * per_face_naive[1]:.1f}",
        f"{args.batch / per_batch[0]:.1f} / {args.batch / per_batch[1]:.1f}",
        f"{1000 * e2e[0]:.1f} / {1000 * e2e[1]:.1f}",
    ]


MODEL_MS: dict[tuple[str, str], tuple[float, float]] = {}  # (config, backend) -> model seconds per still face


def _time_video(det, video: Path) -> str:
    start = time.perf_counter()
    pred = det.predict_video(video)
    return f"{time.perf_counter() - start:.1f} ({len(pred.clips)} clips, {pred.frames_read} frames)"


def _bench_peer(frame: np.ndarray, detector_spec: str, args) -> tuple[list, tuple[float, float]]:
    """The peer: both models on their own crops of the same YuNet face (model only, and end to end)."""
    from peer import Peer

    from stasn.data.detect import largest_face, make_detector

    peer = Peer(threads=args.threads)
    detector = make_detector(detector_spec)
    box = tuple(float(v) for v in largest_face(detector.detect(frame)).box)
    inputs = peer.inputs([frame], [box])
    batch_inputs = [np.repeat(x, args.batch, 0) for x in inputs]

    def end_to_end() -> None:
        found = largest_face(detector.detect(frame)).box
        peer.spoof_scores([frame], [tuple(float(v) for v in found)])

    per_face = _timeit(lambda: peer.run_inputs(inputs), args.iters)
    per_batch = _timeit(lambda: peer.run_inputs(batch_inputs), max(2, args.iters // 4))
    e2e = _timeit(end_to_end, args.iters)
    row = [
        "peer MiniFASNet V2 + V1SE (80 px each)",
        "onnx",
        "-",
        f"{1000 * per_face[0]:.2f} / {1000 * per_face[1]:.2f}",
        "-",
        f"{args.batch / per_batch[0]:.1f} / {args.batch / per_batch[1]:.1f}",
        f"{1000 * e2e[0]:.1f} / {1000 * e2e[1]:.1f}",
    ]
    return row, per_face


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=[*CONFIGS, "release"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--video-all", action="store_true", help="also score every frame of the video")
    parser.add_argument("--no-video", action="store_true")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    frame, detector, source = _face_source()
    header = ["config", "backend", "GFLOPs/image", "model ms/face", "naive ms/face", f"img/s (batch {args.batch})"]
    header = [*header[:3], *(f"{h} (best / median)" for h in [*header[3:], "e2e ms/image"])]
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
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from peer import Peer

        peer_ms = None
        if detector != "whole" and Peer.available():
            peer_row, peer_ms = _bench_peer(frame, detector, args)
            rows.append(peer_row + ["-"] * (len(header) - len(peer_row)))
        else:
            print("peer row skipped: ../shared/models/minifasnet or a face detector is missing", file=sys.stderr)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\nCPU threads: {args.threads}; faces: {source}; best / median of {args.iters} runs after a warm-up;")
    print("other processes share the CPU, so figures vary between runs; video times are single runs.")
    for r in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)))
    if peer_ms is not None:
        print("\nratio model ms per still face, STASN / peer pair (best, median; target for lite <= 2, goal <= 1):")
        for (config, backend), ms in MODEL_MS.items():
            print(f"  {config:30s} {backend:6s} {ms[0] / peer_ms[0]:6.2f}  {ms[1] / peer_ms[1]:6.2f}")


if __name__ == "__main__":
    main()
