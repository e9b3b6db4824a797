"""A procedural live-face dataset in stasn's *generic* format, so the demo runs with no downloads.

Layout written by :func:`write_live_dataset`::

    <out_dir>/
      samples.csv                         path,label,attack_type,split,subject,session,device,video_id,boxes
      generator.json                      the arguments and the video codec used (provenance)
      live/subject_000/v00.mp4            one clip per row, MPEG-4 part 2 (deterministic; see video_codec)
      live/subject_000/v00_boxes.txt      one line per frame: "frame x1 y1 x2 y2" (0-based frame, frame px)

Every row is live (label 0, attack_type ``live``). Splits are assigned by *subject*, so train/dev/test never share a
person. Each subject is one :class:`~stasn.demo.faces.FaceIdentity`; each of their videos is a new clip (new room,
clothes, light, camera), like a new session. The whole tree is built in a hidden temporary folder beside ``out_dir``
and renamed into place at the end, so a killed run never leaves a half-written dataset under ``out_dir``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from stasn.demo.faces import render_clip, sample_identity
from stasn.fileio import atomic_path
from stasn.labels import LIVE, AttackType

__all__ = ["write_live_dataset", "write_video", "video_codec", "split_subjects", "SAMPLES_NAME", "COLUMNS"]

log = logging.getLogger(__name__)

SAMPLES_NAME = "samples.csv"
COLUMNS = ("path", "label", "attack_type", "split", "subject", "session", "device", "video_id", "boxes")
DEVICE = "procedural-webcam"
_SPLIT_NAMES = ("train", "dev", "test")


def video_codec() -> str:
    """The codec the demo's videos use: ``"mpeg4"`` (FFmpeg's own encoder, always built in).

    Not ``libx264``: in this PyAV/x264 build the same frames encode to different bitstreams from run to run (even with
    one thread), and the demo's data must be the same for the same seed. At the quantiser cap used here MPEG-4 Part 2
    reaches about the same PSNR as x264 at CRF 18 (~37.5 dB on these clips).
    """
    return "mpeg4"


def write_video(path: str | Path, frames: np.ndarray, *, fps: float = 25.0, codec: str | None = None) -> Path:
    """Encode ``frames`` to an .mp4 at ``path`` with PyAV, at near-lossless quality, atomically.

    Args:
        path: output file; written to a temporary name in the same folder and renamed when complete.
        frames: ``np.ndarray[T, H, W, 3]`` uint8 RGB; H and W must be even (yuv420p halves the chroma planes).
        fps: frame rate stored in the file.
        codec: ``"libx264"`` (CRF 18: visually near-lossless, keeps the fine detail spoof cues live in) or
            ``"mpeg4"`` (quantiser capped at 3, a similar PSNR); default: :func:`video_codec`.

    Returns:
        ``path``.
    """
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(
            f"{path}: expected frames np.ndarray[T, H, W, 3] uint8 with T >= 1, got {frames.shape} {frames.dtype}"
        )
    h, w = frames.shape[1:3]
    if h % 2 or w % 2:
        raise ValueError(f"{path}: frame size {h}x{w} must be even for yuv420p video; render an even size")
    codec = codec or video_codec()
    with atomic_path(path) as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            stream.thread_count = 1  # one encoder thread: the output must not depend on scheduling
            if codec == "libx264":
                stream.options = {"crf": "18", "preset": "fast", "threads": "1"}
            else:  # mpeg4 ignores crf; a generous bit budget with the quantiser capped at 3 is its high quality
                stream.bit_rate = int(w * h * fps)
                stream.options = {"qmin": "1", "qmax": "3"}
            for frame in frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode())
    return path


def split_subjects(subjects: Sequence[str], splits: Sequence[float], rng: np.random.Generator) -> dict[str, str]:
    """Assign each subject to train/dev/test in proportion to ``splits`` (largest remainder), shuffled by ``rng``.

    Every split with a positive fraction gets at least one subject.

    Raises:
        ValueError: bad fractions, or fewer subjects than non-empty splits.
    """
    fractions = np.asarray(splits, dtype=float)
    if fractions.shape != (3,) or (fractions < 0).any() or not np.isclose(fractions.sum(), 1.0, atol=1e-6):
        raise ValueError(
            f"splits must be 3 non-negative fractions (train, dev, test) summing to 1, got {tuple(splits)}"
        )
    wanted = int((fractions > 0).sum())
    if len(subjects) < wanted:
        raise ValueError(
            f"{len(subjects)} subject(s) cannot fill {wanted} non-empty splits {tuple(splits)}; "
            f"use num_subjects >= {wanted} or set unused split fractions to 0"
        )
    raw = fractions * len(subjects)
    counts = np.floor(raw).astype(int)
    counts[(fractions > 0) & (counts == 0)] = 1
    while counts.sum() > len(subjects):  # the minimum of one per split may overshoot: take from the largest
        counts[int(np.argmax(counts))] -= 1
    for i in np.argsort(-(raw - np.floor(raw)), kind="stable")[: len(subjects) - counts.sum()]:
        counts[i] += 1
    order = rng.permutation(len(subjects))
    names = np.repeat(_SPLIT_NAMES, counts)
    return {subjects[i]: str(name) for i, name in zip(order, names, strict=True)}


def write_live_dataset(
    out_dir: str | Path,
    *,
    num_subjects: int,
    videos_per_subject: int,
    num_frames: int,
    size: int | tuple[int, int],
    seed: int,
    splits: tuple[float, float, float] = (0.6, 0.2, 0.2),
    fps: float = 25.0,
    overwrite: bool = False,
) -> Path:
    """Render ``num_subjects x videos_per_subject`` live clips and write them as a generic-format dataset.

    Args:
        out_dir: dataset root to create. It must not exist, or be empty, or (with ``overwrite=True``) be a dataset
            this function wrote before (it holds ``samples.csv``); anything else is refused.
        num_subjects: synthetic people.
        videos_per_subject: clips per person (``session`` = clip index).
        num_frames: frames per clip.
        size: frame side in px, or (height, width); even numbers (yuv420p video).
        seed: everything is deterministic for a seed; subject ``i``'s person and clips do not depend on how many
            subjects or videos are requested in total.
        splits: (train, dev, test) fractions of the *subjects*.
        fps: frame rate of the videos and of the rendered motion.
        overwrite: replace an earlier dataset at ``out_dir``.

    Returns:
        ``out_dir``, the root to open with the generic adapter (``samples.csv`` inside).
    """
    out_dir = Path(out_dir)
    for name, value in (
        ("num_subjects", num_subjects),
        ("videos_per_subject", videos_per_subject),
        ("num_frames", num_frames),
    ):
        if int(value) < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    h, w = (size, size) if isinstance(size, (int, np.integer)) else size
    if h % 2 or w % 2:
        raise ValueError(f"size {h}x{w} must be even for yuv420p video")
    _check_target(out_dir, overwrite)
    subjects = [f"subject_{i:03d}" for i in range(num_subjects)]
    root_seq = np.random.SeedSequence(seed)
    split_seq, *subject_seqs = root_seq.spawn(1 + num_subjects)
    split_of = split_subjects(subjects, splits, np.random.default_rng(split_seq))
    codec = video_codec()

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        rows = []
        for subject, seq in zip(subjects, subject_seqs, strict=True):
            identity_seq, *video_seqs = seq.spawn(1 + videos_per_subject)
            identity = sample_identity(np.random.default_rng(identity_seq))
            for j, video_seq in enumerate(video_seqs):
                frames, boxes = render_clip(
                    identity, num_frames=num_frames, size=(h, w), rng=np.random.default_rng(video_seq), fps=fps
                )
                stem = f"live/{subject}/v{j:02d}"
                write_video(staging / f"{stem}.mp4", frames, fps=fps, codec=codec)
                _write_boxes(staging / f"{stem}_boxes.txt", boxes)
                rows.append(
                    {
                        "path": f"{stem}.mp4",
                        "label": LIVE,
                        "attack_type": AttackType.LIVE.value,
                        "split": split_of[subject],
                        "subject": subject,
                        "session": str(j),
                        "device": DEVICE,
                        "video_id": stem,
                        "boxes": f"{stem}_boxes.txt",
                    }
                )
            log.info("rendered %s (%s): %d video(s)", subject, split_of[subject], videos_per_subject)
        _write_rows(staging / SAMPLES_NAME, rows)
        info = {
            "generator": "stasn.demo.livedata.write_live_dataset",
            "num_subjects": num_subjects,
            "videos_per_subject": videos_per_subject,
            "num_frames": num_frames,
            "size": [h, w],
            "seed": seed,
            "splits": list(splits),
            "fps": fps,
            "codec": codec,
        }
        (staging / "generator.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        _move_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def _check_target(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"{out_dir}: exists and is not a folder")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    if not (out_dir / SAMPLES_NAME).is_file():
        raise FileExistsError(f"{out_dir}: folder is not empty and holds no {SAMPLES_NAME}; refusing to replace it")
    if not overwrite:
        raise FileExistsError(f"{out_dir}: a dataset already exists there; pass overwrite=True to replace it")


def _move_into_place(staging: Path, out_dir: Path) -> None:
    """Rename the finished staging folder to ``out_dir``; an old dataset there is moved aside first, then deleted."""
    old = None
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.replace(out_dir, old / "data")
    os.replace(staging, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_boxes(path: Path, boxes: np.ndarray) -> None:
    lines = [f"{k} {x1:.2f} {y1:.2f} {x2:.2f} {y2:.2f}" for k, (x1, y1, x2, y2) in enumerate(boxes)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_rows(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
