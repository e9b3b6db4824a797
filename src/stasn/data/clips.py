"""Training and evaluation clips read from a face-crop cache (``stasn prepare``, ``stasn synth``).

A clip is ``T`` usable frames of one video, in frame order. Frames whose row is not ``ok`` (``no_face``,
``unreadable``) are left out; a video with no usable frame becomes a :class:`ClipFailure` in
``dataset.failures`` (a failure to acquire, for the evaluation to count), never a silent drop.

* Evaluation (``random_start=False``): ``clips_per_video`` clips per video, placed among its usable frames by
  :func:`~stasn.data.sampling.clip_starts` (one clip centred, several spread evenly); the same clips every time, and
  the ones the predictor scores (:class:`stasn.infer.detector.Detector`).
* Training (``random_start=True``): one item per video, a new random start each time it is drawn.
* A video with fewer usable frames than a clip needs is stretched: its frames are repeated in order.

Each item is a dict::

    clips        Tensor[T, 3, face_size, face_size]        float32 RGB in [0, 1]  (TASM input)
    highres      Tensor[T, 3, highres_size, highres_size]  float32 RGB in [0, 1]  (RAM crops regions from it)
    label        int, 0 live / 1 spoof
    frame_index  Tensor[T] int64, source-video frame of each clip frame
    video_id, sample_id ("<video_id>@<first frame>"), attack_type, subject, dataset: str
    synth        str, JSON of the synthesis parameters ("" when the clip was not synthesized)

``clips`` are always derived from the (augmented, possibly synthesized) high-res frames with
:func:`~stasn.data.crop.face_from_highres`, the same path ``stasn prepare`` takes for the stored face crops.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset

from stasn.data.crop import face_from_highres
from stasn.data.manifest import STATUS_OK, ManifestRow, read_cache_info, read_manifest, rows_by_video
from stasn.data.sampling import clip_positions, clip_span, clip_starts
from stasn.data.video import read_image
from stasn.errors import DataError
from stasn.labels import LIVE, SPOOF, AttackType

__all__ = ["ClipDataset", "ClipFailure", "SynthTransform", "balance_weights"]

log = logging.getLogger(__name__)

# (highres_frames np.ndarray[T, H, W, 3] uint8, rng) -> (frames of the same shape, attack_type, params)
SynthTransform = Callable[[np.ndarray, np.random.Generator], tuple[np.ndarray, str, dict]]


class ClipFailure(NamedTuple):
    """A video of the split that gives no clip: none of its sampled frames has a face crop."""

    video_id: str
    label: int
    attack_type: str
    reason: str


@dataclass(frozen=True)
class _Video:
    video_id: str
    rows: tuple[ManifestRow, ...]  # usable frames, in frame order
    label: int
    attack_type: str
    subject: str
    dataset: str


def balance_weights(
    labels: Sequence[int], synth_fraction: float = 0.0, sizes: Sequence[float] | None = None
) -> np.ndarray:
    """Per-item sampling weights that make live and spoof equally likely *after* synthesis.

    A fraction ``p = synth_fraction`` of drawn live clips becomes spoof. With ``w_live = 1 / n_live`` and
    ``w_spoof = (1 - 2p) / n_spoof`` the expected draws are live ``(1 - p)`` and spoof ``(1 - 2p) + p = 1 - p``:
    one half each. With only one class present every item gets the same weight (synthesis alone then makes the
    spoof class of a live-only cache). With ``sizes`` (e.g. frames per video), items of one class are drawn in
    proportion to their size instead of equally, and ``n_live``/``n_spoof`` become the classes' total sizes.

    Args:
        labels: 0/1 label of each item.
        synth_fraction: ``p`` in [0, 1).
        sizes: positive size of each item; ``None`` = all 1.

    Returns:
        ``np.ndarray[N]`` float64 weights (not normalised).

    Raises:
        ValueError: ``p >= 0.5`` with real spoof items (live can no longer be half the draws).
    """
    labels = np.asarray(labels)
    sizes_arr = np.ones(len(labels)) if sizes is None else np.asarray(sizes, dtype=np.float64)
    n_live, n_spoof = float(sizes_arr[labels == LIVE].sum()), float(sizes_arr[labels == SPOOF].sum())
    if n_live == 0 or n_spoof == 0:
        return sizes_arr.copy()
    if synth_fraction >= 0.5:
        raise ValueError(
            f"synth_fraction={synth_fraction} turns at least half of the live clips into attacks, so live and spoof "
            "cannot be balanced; use balance=False or synth_fraction < 0.5"
        )
    return sizes_arr * np.where(labels == LIVE, 1.0 / n_live, (1.0 - 2.0 * synth_fraction) / n_spoof)


class ClipDataset(Dataset):
    """Clips of ``num_frames`` frames of one split of a cache (see the module docstring for the item dict).

    Args:
        cache_dir: a cache folder (``cache.json`` + ``manifest.csv``).
        split: ``"train"``, ``"dev"`` or ``"test"``.
        num_frames: frames per clip ``T``.
        clips_per_video: clips per video when ``random_start`` is False.
        random_start: one item per video with a random start per draw (training).
        frame_stride: step between clip frames, in usable cached frames.
        augment: ``(frames, rng) -> frames`` on the high-res frames (e.g. :class:`~stasn.data.augment.ClipAugment`).
        synth_transform: turns a LIVE clip's high-res frames into an attack (see :data:`SynthTransform`), applied
            with probability ``synth_fraction``; the clip's label becomes 1 and its attack type the returned one.
        synth_fraction: probability of synthesizing an attack from a live clip, in [0, 1].
        camera_transform: ``(frames, rng) -> frames`` re-filming a LIVE clip that stays live with a random camera
            (e.g. :class:`stasn.synth.camera.SimulateCamera`), applied with probability ``camera_fraction``; it keeps
            the camera itself from telling live from synthesized attacks.
        camera_fraction: probability of applying ``camera_transform`` to a live clip, in [0, 1].
        datasets: keep only rows of these ``dataset`` names (``None`` = all).
        seed: fixes the random draws (starts, augmentation, synthesis) per item; ``None`` draws from torch's RNG,
            which Lightning's ``seed_everything`` and DataLoader workers seed.
        rows: the cache's manifest rows when already read (saves re-reading a large ``manifest.csv`` per split).
    """

    def __init__(
        self,
        cache_dir: str | Path,
        split: str,
        num_frames: int,
        *,
        clips_per_video: int = 1,
        random_start: bool = False,
        frame_stride: int = 1,
        augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
        synth_transform: SynthTransform | None = None,
        synth_fraction: float = 0.0,
        camera_transform: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
        camera_fraction: float = 0.0,
        datasets: Sequence[str] | None = None,
        seed: int | None = None,
        rows: Sequence[ManifestRow] | None = None,
    ) -> None:
        if num_frames < 1 or clips_per_video < 1 or frame_stride < 1:
            raise ValueError(
                f"num_frames, clips_per_video and frame_stride must be >= 1, got {num_frames}, {clips_per_video}, "
                f"{frame_stride}"
            )
        if not 0.0 <= synth_fraction <= 1.0:
            raise ValueError(f"synth_fraction is a probability, got {synth_fraction}")
        if synth_fraction > 0 and synth_transform is None:
            raise ValueError(f"synth_fraction={synth_fraction} needs a synth_transform")
        if not 0.0 <= camera_fraction <= 1.0 or (camera_fraction > 0 and camera_transform is None):
            raise ValueError(
                f"camera_fraction={camera_fraction} must be in [0, 1] and > 0 only with a camera_transform"
            )
        self.camera_transform, self.camera_fraction = camera_transform, camera_fraction
        self.cache_dir = Path(cache_dir)
        self.info = read_cache_info(self.cache_dir)
        self.split, self.num_frames, self.frame_stride = split, num_frames, frame_stride
        self.random_start, self.augment, self.seed = random_start, augment, seed
        self.synth_transform, self.synth_fraction = synth_transform, synth_fraction

        rows = [r for r in (read_manifest(self.cache_dir) if rows is None else rows) if r.split == split]
        if datasets is not None:
            rows = [r for r in rows if r.dataset in set(datasets)]
        self.videos: list[_Video] = []
        self.failures: list[ClipFailure] = []
        for video_id, frames in rows_by_video(rows).items():
            usable = tuple(r for r in frames if r.status == STATUS_OK and r.highres_path)
            first = frames[0]
            if not usable:
                statuses = sorted({r.status for r in frames})
                reason = f"no usable frame among {len(frames)} sampled ({', '.join(statuses)})"
                self.failures.append(ClipFailure(video_id, first.label, first.attack_type, reason))
                continue
            self.videos.append(_Video(video_id, usable, first.label, first.attack_type, first.subject, first.dataset))
        if self.failures:
            log.info("%s split %s: %d videos without a usable frame", self.cache_dir, split, len(self.failures))

        self.items: list[tuple[int, int | None]] = []  # (video index, start position or None = random)
        for v, video in enumerate(self.videos):
            if random_start:
                self.items.append((v, None))
                continue
            starts = clip_starts(len(video.rows), num_frames, clips_per_video, frame_stride)
            self.items += [(v, s) for s in starts]

    @property
    def labels(self) -> list[int]:
        """Stored label of each item (before any synthesis)."""
        return [self.videos[v].label for v, _ in self.items]

    @property
    def clips_in_item(self) -> list[int]:
        """How many non-overlapping clips of T frames each item's video holds (at least 1): a 16-frame capture at
        T=4 holds 4, a still image 1. Used to draw long videos more often than short ones."""
        span = clip_span(self.num_frames, self.frame_stride)
        return [max(1, len(self.videos[v].rows) // span) for v, _ in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def _rng(self, index: int) -> np.random.Generator:
        if self.seed is not None:
            return np.random.default_rng([self.seed, index])
        return np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))

    def _load(self, rows: Sequence[ManifestRow]) -> np.ndarray:
        size = self.info.highres_size
        frames = []
        for row in rows:
            path = self.cache_dir / row.highres_path
            image = read_image(path)
            if image.shape[:2] != (size, size):
                raise DataError(f"{path}: expected a {size}x{size} high-res crop (cache.json), got {image.shape[:2]}")
            frames.append(image)
        return np.stack(frames)

    def __getitem__(self, index: int) -> dict:
        v, start = self.items[index]
        video = self.videos[v]
        rng = self._rng(index)
        if start is None:
            last = max(0, len(video.rows) - clip_span(self.num_frames, self.frame_stride))
            start = int(rng.integers(0, last + 1))
        positions = clip_positions(len(video.rows), self.num_frames, start, self.frame_stride)
        rows = [video.rows[p] for p in positions]
        highres = self._load(rows)  # (T, H, H, 3) uint8
        label, attack_type, synth = video.label, video.attack_type, ""
        if self.synth_transform is not None and label == LIVE and rng.random() < self.synth_fraction:
            highres, attack_type, params = self._synthesize(highres, rng, video.video_id)
            label, synth = SPOOF, json.dumps(params, sort_keys=True, default=str)
        elif self.camera_transform is not None and label == LIVE and rng.random() < self.camera_fraction:
            highres = np.asarray(self.camera_transform(highres, rng), dtype=np.uint8)
        if self.augment is not None:
            highres = self.augment(highres, rng)
        faces = np.stack([face_from_highres(f, self.info.face_size) for f in highres])  # (T, F, F, 3)
        return {
            "clips": _to_tensor(faces),
            "highres": _to_tensor(highres),
            "label": label,
            "frame_index": torch.tensor([r.frame_index for r in rows], dtype=torch.int64),
            "video_id": video.video_id,
            "sample_id": f"{video.video_id}@{rows[0].frame_index}",
            "attack_type": attack_type,
            "subject": video.subject,
            "dataset": video.dataset,
            "synth": synth,
        }

    def _synthesize(self, highres: np.ndarray, rng: np.random.Generator, video_id: str) -> tuple[np.ndarray, str, dict]:
        frames, attack_type, params = self.synth_transform(highres.copy(), rng)  # type: ignore[misc]
        frames = np.asarray(frames)
        if frames.shape != highres.shape or frames.dtype != np.uint8:
            raise ValueError(
                f"synth_transform must return uint8 frames of shape {highres.shape}, got {frames.dtype} "
                f"{frames.shape} (video {video_id})"
            )
        attack = AttackType(attack_type)
        if attack.label != SPOOF:
            raise ValueError(f"synth_transform returned attack_type {attack_type!r}, which is not an attack")
        return frames, attack.value, dict(params)

    def __repr__(self) -> str:
        return (
            f"ClipDataset({str(self.cache_dir)!r}, split={self.split!r}, num_frames={self.num_frames}, "
            f"videos={len(self.videos)}, items={len(self)}, failures={len(self.failures)})"
        )


def _to_tensor(frames: np.ndarray) -> torch.Tensor:
    """``np.ndarray[T, H, W, 3]`` uint8 -> ``Tensor[T, 3, H, W]`` float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().div_(255.0)
