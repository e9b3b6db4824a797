"""Score files: one CSV row per scored sample (a frame or a clip), with column names bob.pad.base also reads.

Columns, in the order written (the first five are those of bob.pad.base's CSV score files, whose rows carry
``claimed_id, test_label, is_bonafide, attack_type, score`` followed by free metadata columns)::

    column        meaning                                                         bob.pad.base
    claimed_id    subject id                                                      claimed_id (sample.subject)
    test_label    sample id, unique in the file: "<video_id>#<frame_index>"       test_label (sample.key)
    is_bonafide   True for a live face, False for an attack                       is_bonafide
    attack_type   PAI species ("print", "replay", ...); "live" for bona fide      attack_type (empty for bona fide)
    score         bona fide score = -spoof_score (bob's polarity: higher = live)  score
    spoof_score   stasn's score: higher = more likely an attack                   (metadata)
    label         0 live / 1 spoof (stasn.labels)                                 (metadata)
    video_id      frames of one video share it                                    (metadata)
    frame_index   0-based index of the (first) frame scored; -1 = a whole video   (metadata)
    status        ok | no_face | unreadable  (anything but ok is a non-response)  (metadata)

``score`` is the exact negation of ``spoof_score`` (negation is exact in floating point, so ties are kept) and is
written only so that ``bob pad metrics`` and friends read our files directly. A non-response has an empty score and
a status other than ``ok``.

Reading is tolerant of bob-written files: without ``spoof_score`` the reader uses ``-score``; without ``label`` it uses
``is_bonafide``; without ``video_id``/``frame_index``/``claimed_id``/``status`` it uses ``test_label``, 0, "" and "ok";
an empty or ``nan`` score is a non-response only when the file has no ``status`` column (bob writes ``nan`` when its
pipeline gave no score) or the row's status says so. Every reader error names ``file:line``, the column and the value.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stasn.errors import DataError
from stasn.fileio import atomic_path
from stasn.labels import LIVE, SPOOF

__all__ = [
    "ScoreRow",
    "COLUMNS",
    "STATUS_OK",
    "NON_RESPONSE_STATUSES",
    "read_scores",
    "write_scores",
]

COLUMNS = (
    "claimed_id",
    "test_label",
    "is_bonafide",
    "attack_type",
    "score",
    "spoof_score",
    "label",
    "video_id",
    "frame_index",
    "status",
)
STATUS_OK = "ok"
NON_RESPONSE_STATUSES = ("no_face", "unreadable")  # the same words as stasn.data.manifest
_LIVE_NAMES = ("live", "")


@dataclass(frozen=True)
class ScoreRow:
    """One scored sample. ``spoof_score`` is NaN exactly when the sample is a non-response."""

    sample_id: str  # unique in a file, e.g. f"{video_id}#{frame_index}"
    video_id: str
    label: int  # 0 live, 1 spoof
    attack_type: str  # PAI species; "live" for bona fide
    spoof_score: float  # higher = more likely an attack; NaN for a non-response
    frame_index: int = 0  # -1 for a score aggregated over a whole video
    subject: str = ""
    status: str = STATUS_OK  # "ok", or a non-response: "no_face" / "unreadable"

    def __post_init__(self) -> None:
        if self.label not in (LIVE, SPOOF):
            raise ValueError(f"label must be {LIVE} (live) or {SPOOF} (spoof), got {self.label!r}")
        is_live_type = self.attack_type in _LIVE_NAMES
        if is_live_type != (self.label == LIVE):
            raise ValueError(f"attack_type {self.attack_type!r} contradicts label {self.label} (live types: 'live')")
        if self.status != STATUS_OK and self.status not in NON_RESPONSE_STATUSES:
            raise ValueError(f"status must be one of {(STATUS_OK, *NON_RESPONSE_STATUSES)}, got {self.status!r}")
        if self.status == STATUS_OK and not math.isfinite(self.spoof_score):
            raise ValueError(
                f"spoof_score is {self.spoof_score!r} with status 'ok'; give a finite score, or a non-response status "
                f"{NON_RESPONSE_STATUSES} with no score"
            )
        if self.status != STATUS_OK and not math.isnan(self.spoof_score):
            raise ValueError(f"status {self.status!r} is a non-response but spoof_score is {self.spoof_score!r}")

    @property
    def responded(self) -> bool:
        """False when no score could be produced (no face found, unreadable frame)."""
        return self.status == STATUS_OK


# ----------------------------------------------------------------------------------------------------- writing
def _number(value: float) -> str:
    return "" if math.isnan(value) else repr(float(value))  # repr round-trips every float exactly


def _record(row: ScoreRow) -> dict[str, str]:
    return {
        "claimed_id": row.subject,
        "test_label": row.sample_id,
        "is_bonafide": str(row.label == LIVE),
        "attack_type": "live" if row.label == LIVE else row.attack_type,
        "score": _number(-row.spoof_score),
        "spoof_score": _number(row.spoof_score),
        "label": str(row.label),
        "video_id": row.video_id,
        "frame_index": str(row.frame_index),
        "status": row.status,
    }


def write_scores(rows: Iterable[ScoreRow], path: str | Path) -> Path:
    """Write score rows to a CSV file atomically (temporary name, then rename); returns the path.

    Raises:
        ValueError: two rows share a ``sample_id``.
    """
    path = Path(path)
    seen: set[str] = set()
    with atomic_path(path) as tmp:
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            for row in rows:
                if row.sample_id in seen:
                    raise ValueError(f"{path}: sample_id {row.sample_id!r} appears twice; sample ids must be unique")
                seen.add(row.sample_id)
                writer.writerow(_record(row))
    return path


# ----------------------------------------------------------------------------------------------------- reading
def _parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise ValueError(f"expected True or False, got {text!r}")


def _parse_float(text: str, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"column {column!r}: not a number: {text!r}") from None


def _is_missing(text: str | None) -> bool:
    return text is None or text.strip().lower() in ("", "nan", "none")


class _RowParser:
    """Turns one csv.DictReader record into a ScoreRow, knowing which optional columns the file has."""

    def __init__(self, fieldnames: Sequence[str], path: Path) -> None:
        names = set(fieldnames)
        missing = [c for c in ("test_label", "attack_type") if c not in names]
        if "label" not in names and "is_bonafide" not in names:
            missing.append("label (or is_bonafide)")
        if "spoof_score" not in names and "score" not in names:
            missing.append("spoof_score (or score)")
        if missing:
            raise DataError(
                f"{path}: not a score file: missing column(s) {', '.join(missing)}; stasn writes {', '.join(COLUMNS)}"
            )
        self.names = names

    def parse(self, record: dict[str, str | None]) -> ScoreRow:
        get = lambda column: (record.get(column) or "").strip()  # noqa: E731 - short local accessor
        label = self._label(get)
        attack_type = get("attack_type") or ("live" if label == LIVE else "")
        if label == LIVE:
            attack_type = "live" if attack_type.lower() in _LIVE_NAMES else attack_type
        elif not attack_type:
            raise ValueError("column 'attack_type' is empty for an attack row; name the PAI species")
        status = (get("status") or STATUS_OK) if "status" in self.names else None
        spoof_score = self._score(get)
        if status is None:  # a bob-written file: a missing score is bob's non-response
            status = STATUS_OK if not math.isnan(spoof_score) else NON_RESPONSE_STATUSES[0]
        elif status == STATUS_OK and math.isnan(spoof_score):
            raise ValueError("no score but status 'ok'; a non-response needs status 'no_face' or 'unreadable'")
        frame_text = get("frame_index")
        try:
            frame_index = int(frame_text) if frame_text else 0
        except ValueError:
            raise ValueError(f"column 'frame_index': not an integer: {frame_text!r}") from None
        sample_id = get("test_label")
        if not sample_id:
            raise ValueError("column 'test_label' (the sample id) is empty")
        return ScoreRow(
            sample_id=sample_id,
            video_id=get("video_id") or sample_id,
            label=label,
            attack_type=attack_type,
            spoof_score=spoof_score,
            frame_index=frame_index,
            subject=get("claimed_id"),
            status=status,
        )

    def _label(self, get) -> int:
        label = None
        if "label" in self.names:
            text = get("label")
            if text not in ("0", "1"):
                raise ValueError(f"column 'label': expected 0 (live) or 1 (spoof), got {text!r}")
            label = int(text)
        if "is_bonafide" in self.names and get("is_bonafide"):
            try:
                bona = _parse_bool(get("is_bonafide"))
            except ValueError as exc:
                raise ValueError(f"column 'is_bonafide': {exc}") from None
            if label is not None and bona != (label == LIVE):
                raise ValueError(f"is_bonafide={get('is_bonafide')} contradicts label={label}")
            label = LIVE if bona else SPOOF
        if label is None:
            raise ValueError("column 'label' is empty")
        return label

    def _score(self, get) -> float:
        spoof = None if "spoof_score" not in self.names else get("spoof_score")
        bob = None if "score" not in self.names else get("score")
        if spoof is not None and not _is_missing(spoof):
            value = _parse_float(spoof, "spoof_score")
            if not math.isfinite(value):
                raise ValueError(f"column 'spoof_score': {spoof!r} is not finite")
            if bob is not None and not _is_missing(bob):
                mirror = _parse_float(bob, "score")
                if not math.isclose(mirror, -value, rel_tol=1e-9, abs_tol=1e-12):
                    raise ValueError(f"score {bob} is not -spoof_score ({spoof}); fix one of them or drop 'score'")
            return value
        if spoof is None and not _is_missing(bob):  # bob-written file: bona fide polarity
            value = -_parse_float(bob, "score")
            if not math.isfinite(value):
                raise ValueError(f"column 'score': {bob!r} is not finite")
            return value
        return math.nan


def read_scores(path: str | Path) -> list[ScoreRow]:
    """Read a score CSV written by :func:`write_scores` (or by bob.pad.base).

    Raises:
        FileNotFoundError: no such file.
        DataError: empty file, missing columns, or a bad value; the message names ``file:line`` and the column.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: score file not found")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise DataError(f"{path}: empty file; expected a header line with columns {', '.join(COLUMNS)}")
        parser = _RowParser([name.strip() for name in reader.fieldnames], path)
        reader.fieldnames = [name.strip() for name in reader.fieldnames]
        rows: list[ScoreRow] = []
        seen: dict[str, int] = {}
        for record in reader:
            line = reader.line_num
            try:
                row = parser.parse(record)
            except ValueError as exc:
                raise DataError(f"{path}:{line}: {exc}") from None
            if row.sample_id in seen:
                first = seen[row.sample_id]
                raise DataError(f"{path}:{line}: sample id (test_label) {row.sample_id!r} already used on line {first}")
            seen[row.sample_id] = line
            rows.append(row)
    if not rows:
        raise DataError(f"{path}: has a header but no score rows")
    return rows
