"""``CacheDataModule``: train/val/test dataloaders of :class:`~stasn.data.clips.ClipDataset` over one cache.

Splits: train = ``"train"``, val = ``"dev"``, test = ``"test"`` (as ``stasn prepare`` stored them). Training clips
get a random start, mild augmentation, optional live/spoof balancing and optional on-the-fly attack synthesis;
val/test clips are fixed (``eval_clips_per_video`` per video) and never augmented or synthesized.

A missing cache is made in :meth:`CacheDataModule.prepare_data`, which Lightning runs on one process of the whole job
(``prepare_data_per_node = False``) while the others wait at a barrier; every process then reads the finished cache in
:meth:`~CacheDataModule.setup`. So under DDP (torchrun, SLURM) one process writes the cache, never several at once.

    dm = CacheDataModule("cache/oulu_p1", num_frames=8, batch_size=4, balance=True)
    trainer.fit(system, datamodule=dm)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import cv2
import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler, WeightedRandomSampler

from stasn.data.augment import ClipAugment
from stasn.data.clips import ClipDataset, SynthTransform, balance_weights
from stasn.data.manifest import (
    MANIFEST_NAME,
    CacheInfo,
    ManifestRow,
    one_class_subjects,
    read_cache_info,
    read_manifest,
)
from stasn.errors import DataError
from stasn.labels import SPOOF

__all__ = ["CacheDataModule", "SAMPLE_BY"]

SAMPLE_BY = ("video", "frames")

log = logging.getLogger(__name__)


def _worker_init(worker_id: int) -> None:
    # Each DataLoader worker is one process per core; OpenCV's own thread pool would only compete with them.
    cv2.setNumThreads(1)


class CacheDataModule(L.LightningDataModule):
    """Clips of a face-crop cache for Lightning.

    Args:
        cache_dir: the cache folder written by ``stasn prepare`` (and ``stasn synth``).
        num_frames: frames per clip ``T``.
        batch_size: clips per batch.
        num_workers: DataLoader worker processes.
        balance: draw training clips with a ``WeightedRandomSampler`` so live and spoof are equally likely after
            synthesis (:func:`~stasn.data.clips.balance_weights`); otherwise shuffle.
        synth_transform: ``(highres_frames, rng) -> (frames, attack_type, params)`` applied to live training clips
            with probability ``synth_fraction`` (e.g. a ``stasn.synth`` transform).
        synth_fraction: probability of synthesizing an attack from a live training clip.
        camera_transform: re-films live training clips with a random camera (see :class:`ClipDataset`).
        camera_fraction: probability of ``camera_transform`` for a live training clip that stays live.
        augment: ``True`` for :class:`~stasn.data.augment.ClipAugment` defaults, a ``ClipAugment``, or ``False``.
        eval_clips_per_video: fixed clips per video for val/test.
        train_clips_per_video: random clips drawn per training video and epoch (an epoch is
            ``train_clips_per_video * videos`` clips); raise it for small datasets.
        sample_by: ``video`` (every training video equally often) or ``frames`` (a video as often as it holds
            non-overlapping clips of T frames: a 16-frame capture at T=4 four times as often as a still image, and an
            epoch is ``train_clips_per_video`` times the clips of all videos), so every frame is seen about once.
        frame_stride: step between clip frames, in cached frames.
        prepare: keyword arguments of :func:`stasn.data.prepare.prepare_dataset` (``dataset``, ``root``, ...); when
            given and the cache has no ``manifest.csv`` yet, :meth:`prepare_data` makes it (resuming what a killed run
            finished).
        cache_info: the crop geometry the model expects: made with it when prepared here (overrides a
            ``cache_info`` in ``prepare``), and checked against the cache's ``cache.json`` in :meth:`setup`.
        pin_memory: passed to the DataLoaders (useful on GPU).
        seed: seeds the order in which training clips are drawn (shuffle or weighted sampler). Random starts,
            augmentation and synthesis draw from torch's RNG, which ``seed_everything`` and the workers seed.
    """

    def __init__(
        self,
        cache_dir: str | Path,
        num_frames: int = 8,
        batch_size: int = 4,
        num_workers: int = 2,
        *,
        balance: bool = False,
        synth_transform: SynthTransform | None = None,
        synth_fraction: float = 0.0,
        camera_transform: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
        camera_fraction: float = 0.0,
        augment: bool | ClipAugment = True,
        eval_clips_per_video: int = 4,
        train_clips_per_video: int = 1,
        sample_by: str = "video",
        frame_stride: int = 1,
        prepare: dict | None = None,
        cache_info: CacheInfo | None = None,
        pin_memory: bool = False,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        # One process of the whole job prepares (not one per node): the cache folder is the same path on every node,
        # and two writers would corrupt it (stasn.data.prepare). With node-local caches, prepare each node's first.
        self.prepare_data_per_node = False
        self.cache_dir = Path(cache_dir)
        self.num_frames, self.batch_size, self.num_workers = num_frames, batch_size, num_workers
        self.balance, self.synth_transform, self.synth_fraction = balance, synth_transform, synth_fraction
        self.camera_transform, self.camera_fraction = camera_transform, camera_fraction
        self.augment = ClipAugment() if augment is True else (augment or None)
        self.eval_clips_per_video, self.frame_stride = eval_clips_per_video, frame_stride
        if train_clips_per_video < 1:
            raise ValueError(f"train_clips_per_video must be >= 1, got {train_clips_per_video}")
        self.train_clips_per_video = train_clips_per_video
        if sample_by not in SAMPLE_BY:
            raise ValueError(f"Unknown sample_by {sample_by!r}. Valid values are {{{', '.join(SAMPLE_BY)}}}.")
        self.sample_by = sample_by
        self.prepare, self.cache_info, self.pin_memory, self.seed = prepare, cache_info, pin_memory, seed
        self.train_set: ClipDataset | None = None
        self.val_set: ClipDataset | None = None
        self.test_set: ClipDataset | None = None
        self._rows: list[ManifestRow] | None = None

    def prepare_data(self) -> None:
        """Make the cache when it has no ``manifest.csv`` and ``prepare`` says how. Lightning calls this on one
        process of the job while the others wait; it assigns no state (the other processes would not see it)."""
        if not self.prepare or (self.cache_dir / MANIFEST_NAME).is_file():
            return
        from stasn.data.prepare import prepare_dataset

        options = dict(self.prepare)
        if self.cache_info is not None:
            options["cache_info"] = self.cache_info
        log.info("preparing %s (%s) into %s", options.get("dataset"), options.get("root"), self.cache_dir)
        prepare_dataset(out=self.cache_dir, **options)

    def setup(self, stage: str | None = None) -> None:
        """Build the datasets this stage needs (``fit``: train + val; ``validate``: val; ``test``/``predict``: test).

        Raises:
            DataError: the cache's crops were made with another geometry than ``cache_info``.
        """
        if self._rows is None:
            if self.cache_info is not None and (found := read_cache_info(self.cache_dir)) != self.cache_info:
                raise DataError(
                    f"{self.cache_dir}: crops were made with {found}, the model expects {self.cache_info}; "
                    "re-prepare the cache or use another data.cache"
                )
            self._rows = read_manifest(self.cache_dir)  # once for all splits
        if stage in (None, "fit") and self.train_set is None:
            self.train_set = ClipDataset(
                self.cache_dir,
                "train",
                self.num_frames,
                random_start=True,
                frame_stride=self.frame_stride,
                augment=self.augment,
                synth_transform=self.synth_transform,
                synth_fraction=self.synth_fraction,
                camera_transform=self.camera_transform,
                camera_fraction=self.camera_fraction,
                rows=self._rows,
            )
            if len(self.train_set) == 0:
                raise ValueError(f"{self.cache_dir}: no usable train clips; was the train split prepared?")
            _warn_one_class_subjects(self.cache_dir, self._rows)
        if stage in (None, "fit", "validate") and self.val_set is None:
            self.val_set = self._eval_set("dev")
        if stage in (None, "test", "predict") and self.test_set is None:
            self.test_set = self._eval_set("test")

    def _eval_set(self, split: str) -> ClipDataset:
        dataset = ClipDataset(
            self.cache_dir,
            split,
            self.num_frames,
            clips_per_video=self.eval_clips_per_video,
            frame_stride=self.frame_stride,
            rows=self._rows,
        )
        if len(dataset) == 0:
            log.warning("%s: no usable %s clips; that loop will be empty", self.cache_dir, split)
        return dataset

    def train_dataloader(self) -> DataLoader:
        assert self.train_set is not None, "call setup('fit') first"
        generator = None if self.seed is None else torch.Generator().manual_seed(self.seed)
        sizes = self.train_set.clips_in_item if self.sample_by == "frames" else [1] * len(self.train_set)
        draws = int(sum(sizes)) * self.train_clips_per_video
        if not self.balance and self.sample_by == "video":
            sampler = RandomSampler(self.train_set, num_samples=draws, generator=generator)
            return self._loader(self.train_set, sampler=sampler)
        if not self.balance:
            weights = np.asarray(sizes, dtype=np.float64)
        else:
            synth = self.synth_fraction if self.synth_transform else 0.0
            weights = balance_weights(self.train_set.labels, synth, sizes)
        sampler = WeightedRandomSampler(torch.as_tensor(weights, dtype=torch.double), draws, generator=generator)
        return self._loader(self.train_set, sampler=sampler)

    def val_dataloader(self) -> DataLoader:
        assert self.val_set is not None, "call setup('fit') or setup('validate') first"
        return self._loader(self.val_set, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        assert self.test_set is not None, "call setup('test') first"
        return self._loader(self.test_set, shuffle=False)

    def _loader(self, dataset: ClipDataset, **kwargs: object) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            worker_init_fn=_worker_init if self.num_workers > 0 else None,
            **kwargs,  # type: ignore[arg-type]
        )

    def class_counts(self, split: str = "train") -> dict[str, int]:
        """Stored live/spoof item counts of a built split (before synthesis), e.g. ``{"live": 12, "spoof": 35}``."""
        dataset = {"train": self.train_set, "dev": self.val_set, "test": self.test_set}[split]
        if dataset is None:
            raise ValueError(f"split {split!r} is not built yet; call setup() first")
        labels = np.asarray(dataset.labels)
        return {"live": int((labels == 0).sum()), "spoof": int((labels == 1).sum())}


def _warn_one_class_subjects(cache_dir: Path, rows: list[ManifestRow]) -> None:
    """Log the training subjects that appear as attacks only (a model can learn the person as the attack)."""
    attack_only = sorted(
        s
        for s, label in one_class_subjects((r.subject, r.label) for r in rows if r.split == "train").items()
        if label == SPOOF
    )
    if attack_only:
        shown = ", ".join(attack_only[:5]) + (" ..." if len(attack_only) > 5 else "")
        log.warning(
            "%s: %d training subject(s) appear as attacks only (%s): a model can learn who they are instead of "
            "liveness; add their live captures or leave them out of train",
            cache_dir,
            len(attack_only),
            shown,
        )
