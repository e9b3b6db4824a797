"""What every dataset adapter yields: :class:`Sample` records, and optional per-frame face annotations.

An adapter reads a dataset's *official* on-disk layout and protocol files and lists its samples; it decodes no video
(``stasn.data`` does that). Every adapter follows the same shape::

    ds = OuluNPU(root, protocol="3", fold=2, split="dev")   # split=None: every split of the protocol
    len(ds); ds[0]                                          # -> Sample
    ds.annotations(ds[0])                                   # -> FaceAnnotations | None (dataset-provided boxes/eyes)

Label polarity is the same everywhere: ``label`` 0 = live (bona fide), 1 = spoof (attack), see :mod:`stasn.labels`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stasn.labels import AttackType

__all__ = [
    "Sample",
    "FaceAnnotations",
    "DatasetAdapter",
    "SPLITS",
    "DEFAULT_DEV_FRACTION",
    "check_choice",
    "resolve_root",
    "as_choice",
    "check_split",
    "check_protocol_without_folds",
    "check_dev_fraction",
    "dev_subjects",
    "move_subjects_to_dev",
    "select_split",
    "read_list_file",
]

SPLITS = ("train", "dev", "test")
# Ours, not any dataset's: the share of TRAIN subjects moved to a "dev" split for datasets that ship no dev split, so
# a decision threshold can be fixed without looking at test data.
DEFAULT_DEV_FRACTION = 0.2


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
    protocols: tuple[str, ...] = ()  # valid ``protocol`` values; the first is the default
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


def as_choice(value: object) -> str | None:
    """``3 -> '3'``, ``'3' -> '3'``, ``None -> None``: protocols and folds are compared as strings."""
    return None if value is None else str(value).strip()


def check_protocol_without_folds(dataset: str, protocol: object, protocols: Sequence[str], fold: object) -> str:
    """Validate ``protocol`` for a dataset that has no folds (``fold`` must be ``None``); returns it as a string."""
    protocol = as_choice(protocol)
    check_choice(dataset, "protocol", protocol, protocols)
    if fold is not None:
        raise ValueError(f"{dataset} has no folds; got fold={fold!r} (use fold=None)")
    return protocol  # type: ignore[return-value]


def check_split(dataset: str, split: str | None, *, has_dev: bool = True) -> str | None:
    """Validate ``split`` (``None`` = every split); ``has_dev=False`` means this configuration has no dev split."""
    if split is None:
        return None
    check_choice(dataset, "split", split, SPLITS)
    if split == "dev" and not has_dev:
        raise ValueError(
            f"{dataset} has no dev split when dev_fraction=0; use dev_fraction > 0 or split='train'/'test'"
        )
    return split


def check_dev_fraction(dev_fraction: float) -> float:
    """``dev_fraction`` must be in [0, 1)."""
    if not 0.0 <= float(dev_fraction) < 1.0:
        raise ValueError(f"dev_fraction must be >= 0 and < 1, got {dev_fraction!r}")
    return float(dev_fraction)


def dev_subjects(subjects: Iterable[str], dev_fraction: float) -> frozenset[str]:
    """Pick ``round(n * dev_fraction)`` of ``n`` subjects, evenly spread over their sorted ids (deterministic).

    At least one subject is picked when ``dev_fraction > 0`` and at least one is always left for training.
    Example: 9 subjects ``0001..0009`` with ``dev_fraction=0.2`` give ``{'0003', '0007'}``.
    """
    ordered = sorted(set(subjects))
    n = len(ordered)
    if dev_fraction <= 0 or n < 2:
        return frozenset()
    n_dev = min(max(1, round(n * dev_fraction)), n - 1)
    return frozenset(ordered[int((i + 0.5) * n / n_dev)] for i in range(n_dev))


def move_subjects_to_dev(samples: list[Sample], dev_fraction: float) -> list[Sample]:
    """Return ``samples`` with every TRAIN sample of the :func:`dev_subjects` of the train subjects moved to "dev"."""
    chosen = dev_subjects((s.subject for s in samples if s.split == "train"), dev_fraction)
    return [dataclasses.replace(s, split="dev") if s.split == "train" and s.subject in chosen else s for s in samples]


def select_split(samples: Iterable[Sample], split: str | None) -> list[Sample]:
    """Keep the samples of one split (``None`` keeps all)."""
    return [s for s in samples if split is None or s.split == split]


def read_list_file(path: Path) -> list[tuple[int, str]]:
    """Non-empty lines of a dataset's list/protocol file as ``(line_number, text)``, 1-based, stripped.

    Accepts CRLF and a UTF-8 BOM (several datasets were made on Windows). A missing file raises
    ``FileNotFoundError`` naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: protocol/list file not found")
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    return [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
