"""Writing a face-crop cache: where each file goes, and the writes ``stasn prepare`` and ``stasn synth`` share.

The format (``cache.json``, ``manifest.csv``, :class:`~stasn.data.manifest.ManifestRow`) is :mod:`stasn.data.manifest`;
this module owns the folder layout and every write into it::

    <cache>/
      crops/<video_key>/<frame:06d>_face.jpg      TASM crop (face_size), JPEG at CacheInfo.jpeg_quality
      crops/<video_key>/<frame:06d>_highres.jpg   high-res crop (highres_size) of the same region
      parts/<video_key>.csv                       rows of one finished video (stasn prepare; resuming skips it)
      manifest.csv                                every row: the parts merged, plus rows written without a part

Every file is written to a temporary name and renamed (:mod:`stasn.fileio`), so a kill leaves finished files and
temporaries, never a half-written crop or manifest; :func:`remove_stale_temporaries` deletes the temporaries at the
next start. Crops are encoded by :func:`stasn.data.video.encode_jpeg`, the codec the predictor's round trip uses.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from stasn.data.manifest import MANIFEST_NAME, ManifestRow, read_manifest, write_manifest
from stasn.data.video import encode_jpeg
from stasn.fileio import write_bytes_atomic

if TYPE_CHECKING:
    from stasn.datasets.base import Sample

__all__ = [
    "CROPS_DIR",
    "PARTS_DIR",
    "cache_video_id",
    "video_key",
    "sample_id",
    "part_path",
    "write_crops",
    "write_part",
    "merge_parts",
    "replace_videos",
    "remove_stale_temporaries",
]

CROPS_DIR = "crops"
PARTS_DIR = "parts"
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


# -- names and paths -----------------------------------------------------------------------------------------------
def cache_video_id(sample: Sample) -> str:
    """The ``video_id`` a dataset sample gets in the cache: ``"<dataset>/<sample.video_id>"`` (unique across
    datasets)."""
    return f"{sample.dataset}/{sample.video_id}"


def video_key(video_id: str) -> str:
    """A relative folder path for a cache ``video_id``: its ``/``-separated parts with unsafe characters replaced.

    When anything had to be replaced, a short hash of the original id is appended so two ids never share a key.

    >>> video_key("nuaa/ClientRaw/0001/0001_00_00_01")
    'nuaa/ClientRaw/0001/0001_00_00_01'
    """
    parts = [_SAFE.sub("_", p) if p not in ("", ".", "..") else "_" for p in video_id.split("/")]
    key = "/".join(parts)
    if key != video_id:
        key += "-" + hashlib.sha1(video_id.encode("utf-8")).hexdigest()[:8]
    return key


def sample_id(video_id: str, frame_index: int) -> str:
    """A row's ``sample_id``: ``"<video_id>#<frame_index>"``."""
    return f"{video_id}#{frame_index}"


def part_path(cache_dir: str | Path, video_id: str) -> Path:
    """The part file that marks ``video_id`` (a cache id) as finished."""
    return Path(cache_dir) / PARTS_DIR / (video_key(video_id) + ".csv")


# -- writes --------------------------------------------------------------------------------------------------------
def write_crops(
    cache_dir: str | Path, video_id: str, frame_index: int, face: np.ndarray, highres: np.ndarray, quality: int
) -> tuple[str, str]:
    """Write one frame's two crops as JPEG, each atomically.

    Args:
        cache_dir: the cache folder.
        video_id: the frame's cache video id (its folder is :func:`video_key` of it).
        frame_index: the frame's index in its source video.
        face: ``np.ndarray[face_size, face_size, 3]`` uint8 RGB.
        highres: ``np.ndarray[highres_size, highres_size, 3]`` uint8 RGB.
        quality: JPEG quality (``CacheInfo.jpeg_quality``).

    Returns:
        ``(face_path, highres_path)`` relative to ``cache_dir``, as the manifest stores them.
    """
    folder = f"{CROPS_DIR}/{video_key(video_id)}"
    face_rel, highres_rel = f"{folder}/{frame_index:06d}_face.jpg", f"{folder}/{frame_index:06d}_highres.jpg"
    write_bytes_atomic(Path(cache_dir) / face_rel, encode_jpeg(face, quality))
    write_bytes_atomic(Path(cache_dir) / highres_rel, encode_jpeg(highres, quality))
    return face_rel, highres_rel


def write_part(cache_dir: str | Path, video_id: str, rows: Sequence[ManifestRow]) -> Path:
    """Write a finished video's rows to its part file (atomically); :func:`merge_parts` collects them."""
    return write_manifest(rows, part_path(cache_dir, video_id))


def merge_parts(cache_dir: str | Path) -> Path:
    """Rebuild ``manifest.csv`` from every part file, keeping rows of videos that have no part (e.g. written by
    ``stasn synth``). Atomic; an unchanged manifest is not rewritten. Returns the manifest path."""
    cache_dir = Path(cache_dir)
    from_parts: dict[str, list[ManifestRow]] = {}
    for path in sorted((cache_dir / PARTS_DIR).rglob("*.csv")):
        if path.name.startswith("."):  # a temporary file of an interrupted write
            continue
        rows = read_manifest(path)
        if rows:
            from_parts[rows[0].video_id] = rows
    manifest = cache_dir / MANIFEST_NAME
    kept = [r for r in read_manifest(manifest) if r.video_id not in from_parts] if manifest.is_file() else []
    return write_manifest(kept + [r for vid in sorted(from_parts) for r in from_parts[vid]], manifest)


def replace_videos(cache_dir: str | Path, rows: Sequence[ManifestRow]) -> Path:
    """Add ``rows`` to ``manifest.csv`` (created if missing), replacing every row of the videos they belong to.
    Atomic; returns the manifest path."""
    cache_dir = Path(cache_dir)
    new_ids = {r.video_id for r in rows}
    existing = read_manifest(cache_dir) if (cache_dir / MANIFEST_NAME).is_file() else []
    return write_manifest([r for r in existing if r.video_id not in new_ids] + list(rows), cache_dir)


def remove_stale_temporaries(cache_dir: str | Path) -> int:
    """Delete temporary files (``.<name>.<random>.tmp<suffix>``) a killed run left in ``crops/``, ``parts/`` and
    beside ``manifest.csv``; returns how many."""
    cache_dir = Path(cache_dir)
    removed = 0
    for folder in (cache_dir / CROPS_DIR, cache_dir / PARTS_DIR):
        if folder.is_dir():
            for path in folder.rglob(".*.tmp*"):
                path.unlink(missing_ok=True)
                removed += 1
    for path in cache_dir.glob(f".{MANIFEST_NAME}.*.tmp*"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed
