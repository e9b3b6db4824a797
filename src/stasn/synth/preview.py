"""Contact sheets: live inputs next to the attacks synthesized from them, for a quick look at a run."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from stasn.fileio import write_bytes_atomic

__all__ = ["contact_sheet", "write_contact_sheet"]


def contact_sheet(
    rows: Iterable[tuple[np.ndarray, list[np.ndarray]]],
    *,
    tile: int = 192,
    labels: tuple[str, str] = ("live", "attack"),
) -> np.ndarray:
    """Lay out one row per live input: the input, then its attacks, each resized to ``tile`` x ``tile``.

    Args:
        rows: ``(live [H, W, 3], [attack [H, W, 3], ...])`` uint8 RGB.
        tile: side of each cell, pixels.
        labels: captions of the first column and of the others.

    Returns:
        uint8 ``[rows * tile, columns * tile, 3]`` RGB (columns = 1 + the most attacks in a row).
    """
    rows = [(live, list(attacks)) for live, attacks in rows]
    if not rows:
        raise ValueError("contact_sheet: nothing to show (no live inputs)")
    columns = 1 + max(len(a) for _, a in rows)
    sheet = np.full((len(rows) * tile, columns * tile, 3), 24, np.uint8)
    for r, (live, attacks) in enumerate(rows):
        for c, image in enumerate([live, *attacks]):
            cell = cv2.resize(image, (tile, tile), interpolation=cv2.INTER_AREA)
            caption = labels[0] if c == 0 else f"{labels[1]} {c}"
            cv2.putText(cell, caption, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.putText(cell, caption, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
            sheet[r * tile : (r + 1) * tile, c * tile : (c + 1) * tile] = cell
    return sheet


def write_contact_sheet(path: str | Path, rows: Iterable[tuple[np.ndarray, list[np.ndarray]]], **kwargs) -> Path:
    """:func:`contact_sheet` written atomically as PNG to ``path``; returns the path."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"{path}: the preview sheet is written as PNG; use a .png file name")
    sheet = contact_sheet(rows, **kwargs)
    ok, data = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    if not ok:  # pragma: no cover - OpenCV failure
        raise RuntimeError(f"{path}: PNG encoding failed")
    return write_bytes_atomic(path, data.tobytes())
