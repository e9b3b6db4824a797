"""The dataset a capture writes: videos in a folder tree and one ``samples.csv``, the ``generic`` layout
(:mod:`stasn.datasets.generic`), so ``stasn prepare --dataset generic --root DATASET`` reads it as it is.

Layout::

    DATASET/samples.csv
    DATASET/live/<subject>/<session>_<nn>.mp4               bona fide clips (stasn collect live)
    DATASET/replay/<display>/<subject>/<session>_<nn>.mp4   their replays on a display (stasn collect replay)

``samples.csv`` has the generic columns ``path, label, split, attack_type, subject, session, device, video_id`` —
``device`` is the *capture* camera, as in every stasn dataset — and these, which the generic adapter ignores:

* ``display``: the phone, tablet or monitor a replay was shown on (empty for live clips);
* ``live_video_id``: for a replay, the live clip it replays (the pairing: same person, same scene, one attack);
* ``light``: the operator's note on the light; ``source`` and ``source_start``: what was read (a camera or a file,
  and from which frame); ``frames``, ``fps``; ``recorded``: when (UTC, ISO 8601).

The file is rewritten atomically after every clip, so an interrupted capture keeps the clips it finished; a video
is renamed into place only once it is complete.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from stasn.datasets.generic import SAMPLES_CSV
from stasn.errors import DataError
from stasn.fileio import write_text_atomic

__all__ = ["COLUMNS", "read_samples", "write_samples", "check_name", "next_session", "samples_path"]

COLUMNS = (
    "path",
    "label",
    "split",
    "attack_type",
    "subject",
    "session",
    "device",
    "video_id",
    "display",
    "live_video_id",
    "light",
    "source",
    "source_start",
    "frames",
    "fps",
    "recorded",
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def samples_path(root: str | Path) -> Path:
    return Path(root) / SAMPLES_CSV


def check_name(what: str, value: str) -> str:
    """A subject, session, camera or display name that is safe as a folder name; ``ValueError`` otherwise."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(
            f"{what} {value!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


def read_samples(root: str | Path) -> list[dict[str, str]]:
    """The rows of ``root/samples.csv`` (an empty list when there is none)."""
    path = samples_path(root)
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("path", "label", "split") if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}:1: missing required column(s) {', '.join(missing)}; not a generic samples.csv")
        return [{k: (v or "") for k, v in row.items() if k} for row in reader]


def write_samples(root: str | Path, rows: list[dict[str, str]]) -> Path:
    """Write ``rows`` to ``root/samples.csv`` atomically (stasn's columns first, then any other column kept)."""
    extra = [c for row in rows for c in row if c not in COLUMNS]
    columns = [*COLUMNS, *dict.fromkeys(extra)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return write_text_atomic(samples_path(root), buffer.getvalue())


def next_session(rows: list[dict[str, str]], subject: str) -> str:
    """``s<N>`` with N one above the highest ``s<n>`` session of ``subject`` so far (``s1`` for a new subject)."""
    numbers = [
        int(r["session"][1:])
        for r in rows
        if r.get("subject") == subject and re.fullmatch(r"s\d+", r.get("session", "") or "")
    ]
    return f"s{max(numbers, default=0) + 1}"
