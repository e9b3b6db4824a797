"""Small helpers the adapters share: numeric-line parsing with file:line errors, ids from paths."""

from __future__ import annotations

import re
from pathlib import Path

from stasn.errors import DataError

__all__ = [
    "parse_numbers",
    "read_numeric_rows",
    "relative_id",
    "natural_key",
    "xywh_to_xyxy",
]

_SEPARATORS = re.compile(r"[,\s]+")


def parse_numbers(text: str, where: str, count: int, layout: str) -> list[float]:
    """Split ``text`` on commas/whitespace into at least ``count`` numbers (extra columns are ignored).

    Raises:
        DataError: ``"<where>: expected <layout>, got '<text>'"`` when there are too few fields or one is not a number.
    """
    fields = [f for f in _SEPARATORS.split(text.strip()) if f]
    try:
        if len(fields) < count:
            raise ValueError
        return [float(f) for f in fields[:count]]
    except ValueError:
        raise DataError(f"{where}: expected {layout}, got {text.strip()!r}") from None


def read_numeric_rows(path: Path, count: int, layout: str) -> list[list[float]]:
    """Every non-empty line of an annotation file as ``count`` numbers; errors name ``path:line``."""
    text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
    return [
        parse_numbers(line, f"{path}:{number}", count, layout)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]


def relative_id(path: Path, root: Path) -> str:
    """``root/train/real/a.mov -> 'train/real/a'``: the POSIX path below ``root`` without the extension."""
    return path.relative_to(root).with_suffix("").as_posix()


def natural_key(text: str) -> tuple:
    """Sort key that orders ``frame2`` before ``frame10``."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def xywh_to_xyxy(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
    """Top-left corner + size -> corners ``(x1, y1, x2, y2)``, pixels."""
    return (x, y, x + w, y + h)
