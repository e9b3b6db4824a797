"""The face-crop cache: its folder layout, ``cache.json`` and the per-frame ``manifest.csv``.

``stasn prepare`` (real datasets) and ``stasn synth`` (synthesized attacks) both write this format through
:mod:`stasn.data.cache` (which owns the folder layout and the writes), and the training ``Dataset`` reads it::

    <cache>/
      cache.json          CacheInfo: crop sizes and face-box scale used for every crop in this cache
      manifest.csv        one row per sampled frame (ManifestRow), failures included
      crops/...           the face crops the rows name (face_path, highres_path), see stasn.data.cache

Both crops cover the *same* square region of the source frame (the face box enlarged by ``CacheInfo.crop_scale``),
so a box in high-res pixels maps to the face crop by the factor ``face_size / highres_size``.

Polarity: ``label`` is 0 (live) or 1 (spoof), see :mod:`stasn.labels`. A frame where no face was found is kept with
``status="no_face"`` (a failure to acquire), never dropped and never relabelled.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stasn.errors import DataError
from stasn.fileio import write_bytes_atomic, write_text_atomic
from stasn.labels import LIVE, SPOOF, AttackType

__all__ = [
    "CacheInfo",
    "ManifestRow",
    "STATUS_OK",
    "STATUS_NO_FACE",
    "STATUS_UNREADABLE",
    "MANIFEST_NAME",
    "CACHE_INFO_NAME",
    "read_manifest",
    "write_manifest",
    "read_cache_info",
    "rows_by_video",
    "write_cache_info",
]

MANIFEST_NAME = "manifest.csv"
CACHE_INFO_NAME = "cache.json"
STATUS_OK = "ok"
STATUS_NO_FACE = "no_face"  # failure to acquire: the detector found no face
STATUS_UNREADABLE = "unreadable"  # the frame could not be decoded
_STATUSES = {STATUS_OK, STATUS_NO_FACE, STATUS_UNREADABLE}


@dataclass(frozen=True)
class CacheInfo:
    """How the crops of one cache were made. Stored as ``cache.json``."""

    face_size: int = 224  # TASM input side, pixels
    highres_size: int = 448  # high-resolution crop side RAM cuts regions from, pixels
    crop_scale: float = 1.3  # square crop side = crop_scale * max(face box w, h); context around the face
    jpeg_quality: int = 95  # crops are JPEG; high quality keeps the spoof cues (moire, noise)

    def __post_init__(self) -> None:
        if self.face_size < 16 or self.highres_size < self.face_size:
            raise ValueError(
                f"need 16 <= face_size <= highres_size, got face_size={self.face_size}, "
                f"highres_size={self.highres_size}"
            )
        if self.crop_scale <= 0:
            raise ValueError(f"crop_scale must be > 0, got {self.crop_scale}")


@dataclass
class ManifestRow:
    """One sampled frame of one video (a still image is a one-frame video)."""

    sample_id: str  # unique in the cache: f"{video_id}#{frame_index}"
    video_id: str  # unique in the cache; frames of one video share it
    dataset: str  # adapter name, e.g. "oulu-npu", "nuaa", "synth"
    source_path: str  # the original video/image file
    frame_index: int  # 0-based index of the frame in the source video
    label: int  # 0 live, 1 spoof
    attack_type: str  # an AttackType value
    split: str  # train / dev / test (as the protocol assigns it)
    subject: str = ""
    session: str = ""
    device: str = ""  # capture device
    protocol: str = ""
    fold: str = ""
    status: str = STATUS_OK
    detector: str = ""  # which detector (or "dataset" for provided boxes) gave the box
    box: tuple[float, float, float, float] | None = None  # face box x1, y1, x2, y2 in source-frame pixels
    crop_box: tuple[float, float, float, float] | None = None  # square region actually cropped, source pixels
    face_path: str = ""  # relative to the cache root
    highres_path: str = ""  # relative to the cache root
    extra: dict = field(default_factory=dict)  # anything else (eye positions, synthesis parameters, ...)

    def __post_init__(self) -> None:
        if self.label not in (LIVE, SPOOF):
            raise ValueError(f"label must be 0 (live) or 1 (spoof), got {self.label!r}")
        attack = AttackType(self.attack_type)  # raises on unknown names
        if attack.label != self.label:
            raise ValueError(f"attack_type {self.attack_type!r} contradicts label {self.label}")
        if self.status not in _STATUSES:
            raise ValueError(f"status must be one of {sorted(_STATUSES)}, got {self.status!r}")


_BOX_FIELDS = ("box", "crop_box")
COLUMNS = [f.name for f in dataclasses.fields(ManifestRow)]


def _to_csv_record(row: ManifestRow) -> dict[str, str]:
    record = {}
    for f in dataclasses.fields(ManifestRow):
        value = getattr(row, f.name)
        if f.name in _BOX_FIELDS:
            record[f.name] = "" if value is None else " ".join(f"{v:.2f}" for v in value)
        elif f.name == "extra":
            record[f.name] = json.dumps(value, sort_keys=True, separators=(",", ":")) if value else ""
        else:
            record[f.name] = str(value)
    return record


def _from_csv_record(record: dict[str, str], where: str) -> ManifestRow:
    try:
        kwargs: dict = {}
        for f in dataclasses.fields(ManifestRow):
            text = record.get(f.name)
            if text is None:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise ValueError(f"missing column {f.name!r}")
                continue
            if f.name in _BOX_FIELDS:
                kwargs[f.name] = tuple(float(v) for v in text.split()) if text else None
                if kwargs[f.name] is not None and len(kwargs[f.name]) != 4:
                    raise ValueError(f"{f.name} needs 4 numbers, got {text!r}")
            elif f.name == "extra":
                kwargs[f.name] = json.loads(text) if text else {}
            elif f.name in ("frame_index", "label"):
                kwargs[f.name] = int(text)
            else:
                kwargs[f.name] = text
        return ManifestRow(**kwargs)
    except (ValueError, json.JSONDecodeError) as exc:
        raise DataError(f"{where}: {exc}") from None


def read_manifest(path: str | Path) -> list[ManifestRow]:
    """Read a ``manifest.csv`` (or the cache folder holding one). Errors name the file and line."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no manifest here; run `stasn prepare` or `stasn synth` to make one")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("sample_id", "video_id", "label", "attack_type") if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}: not a stasn manifest (missing columns {missing})")
        return [_from_csv_record(rec, f"{path}:{line}") for line, rec in enumerate(reader, start=2)]


def write_manifest(rows: Iterable[ManifestRow], path: str | Path) -> Path:
    """Write rows to ``path`` (a file, or a cache folder) atomically; returns the file written.

    A file that already holds exactly these rows is left alone (not even rewritten), so re-running a finished
    ``stasn prepare`` works on a cache on read-only media.
    """
    path = Path(path)
    if path.is_dir() or path.suffix != ".csv":
        path = path / MANIFEST_NAME
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow(_to_csv_record(row))
    data = buffer.getvalue().encode("utf-8")
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return path
    return write_bytes_atomic(path, data)


def read_cache_info(cache_dir: str | Path) -> CacheInfo:
    """Read ``cache.json`` from a cache folder."""
    path = Path(cache_dir) / CACHE_INFO_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; is {cache_dir} a stasn cache made by `stasn prepare`?")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in dataclasses.fields(CacheInfo)}
        return CacheInfo(**{k: v for k, v in values.items() if k in known})
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: {exc}") from None


def write_cache_info(cache_dir: str | Path, info: CacheInfo) -> Path:
    """Write ``cache.json``; refuses to change the sizes of an existing cache (its crops would disagree)."""
    path = Path(cache_dir) / CACHE_INFO_NAME
    if path.is_file():
        existing = read_cache_info(cache_dir)
        if existing != info:
            raise DataError(
                f"{path}: cache was made with {existing}, asked to add crops with {info}; use another --out"
            )
        return path
    return write_text_atomic(path, json.dumps(dataclasses.asdict(info), indent=2) + "\n")


def rows_by_video(rows: Sequence[ManifestRow]) -> dict[str, list[ManifestRow]]:
    """Group rows by ``video_id``, frames in ``frame_index`` order."""
    groups: dict[str, list[ManifestRow]] = {}
    for row in rows:
        groups.setdefault(row.video_id, []).append(row)
    for frames in groups.values():
        frames.sort(key=lambda r: r.frame_index)
    return groups


def one_class_subjects(pairs: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Subjects seen in one class only, from ``(subject, label)`` pairs (``label``: 0 live, 1 spoof; empty subjects
    ignored) -> that class. Trained on, such a person is a shortcut: a model can learn who they are instead of
    liveness (NUAA session 01 holds subject 0008 as prints only; its live face in session 02 scored as an attack)."""
    classes: dict[str, set[int]] = {}
    for subject, label in pairs:
        if subject:
            classes.setdefault(subject, set()).add(int(label))
    return {subject: next(iter(seen)) for subject, seen in classes.items() if len(seen) == 1}
