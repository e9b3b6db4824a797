"""What every dataset adapter yields: :class:`Sample` records, and optional per-frame face annotations.

An adapter reads a dataset's *official* on-disk layout and protocol files and lists its samples; it decodes no video
(``stasn.data`` does that). Every adapter follows the same shape::

    ds = OuluNPU(root, protocol="3", fold=2, split="dev")   # split=None: every split of the protocol
    len(ds); ds[0]                                          # -> Sample
    ds.annotations(ds[0])                                   # -> FaceAnnotations | None (dataset-provided boxes/eyes)

Label polarity is the same everywhere: ``label`` 0 = live (bona fide), 1 = spoof (attack), see :mod:`stasn.labels`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stasn.labels import AttackType

__all__ = ["Sample", "FaceAnnotations", "DatasetAdapter", "SPLITS", "check_choice", "resolve_root"]

SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class Sample:
    """One video (or still image, a one-frame video) of a dataset, as its protocol labels it."""

    path: Path  # the video or image file
    label: int  # 0 live, 1 spoof
    attack_type: str  # an AttackType value ("live", "print", "replay", ...)
    split: str  # "train" | "dev" | "test"
    video_id: str  # unique within the dataset (relative path without extension is a good choice)
    dataset: str  # adapter name, e.g. "oulu-npu"
    subject: str = ""
    session: str = ""
    device: str = ""  # capture device (phone, webcam, ...)
    protocol: str = ""
    fold: str = ""
    is_image: bool = False  # a still image (a one-frame video)
    frame_paths: tuple[Path, ...] | None = None  # a video stored as ordered image files (NUAA sequences); path = first
    first_frames: int | None = None  # only the first N frames may be used (SiW protocol 1)
    meta: dict = field(default_factory=dict, compare=False, hash=False)  # anything else the dataset provides

    def __post_init__(self) -> None:
        if AttackType(self.attack_type).label != self.label:
            raise ValueError(f"{self.path}: attack_type {self.attack_type!r} contradicts label {self.label}")
        if self.split not in SPLITS:
            raise ValueError(f"{self.path}: split must be one of {SPLITS}, got {self.split!r}")


@dataclass(frozen=True)
class FaceAnnotations:
    """Dataset-provided face locations, by 0-based frame index. Boxes are x1, y1, x2, y2 in frame pixels;
    eyes are (left_x, left_y, right_x, right_y) in frame pixels (the subject's left/right as the dataset gives)."""

    boxes: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)
    eyes: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)


class DatasetAdapter(Sequence[Sample]):
    """Base class: subclasses fill ``self.samples`` in ``__init__`` and may override :meth:`annotations`."""

    name: str = ""
    samples: list[Sample]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Sample:  # type: ignore[override]
        return self.samples[index]

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def annotations(self, sample: Sample) -> FaceAnnotations | None:
        """Face boxes/eyes the dataset ships for ``sample``; ``None`` when it ships none."""
        return None

    def counts(self) -> dict[tuple[str, str], int]:
        """Number of samples per (split, attack_type)."""
        out: dict[tuple[str, str], int] = {}
        for s in self.samples:
            out[(s.split, s.attack_type)] = out.get((s.split, s.attack_type), 0) + 1
        return out


def check_choice(dataset: str, what: str, value: object, valid: Sequence[object]) -> None:
    """Raise ``ValueError("Unknown protocol '5' for OULU-NPU. Valid values are {1, 2, 3, 4}.")``."""
    if value not in valid:
        raise ValueError(f"Unknown {what} {value!r} for {dataset}. Valid values are {{{', '.join(map(str, valid))}}}.")


def resolve_root(root: str | Path, dataset: str, must_contain: Sequence[str]) -> Path:
    """Check the dataset root exists and holds the expected sub-folders/files; the error names what is missing."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: {dataset} root folder not found")
    for name in must_contain:
        if not (root / name).exists():
            raise FileNotFoundError(f"{root / name}: missing; is {root} the {dataset} root (expected {name} in it)?")
    return root
