"""Turning model outputs into score rows, and the dev summary logged during training.

Rows are :class:`stasn.evaluate.scores.ScoreRow` (one per scored clip, ``frame_index`` = the clip's first frame), so
training, ``stasn evaluate`` and the report share one format and one set of metric functions. Polarity:
``spoof_score`` higher = more likely an attack; ``label`` 1 = attack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from stasn.errors import DataError
from stasn.evaluate.aggregate import aggregate_videos
from stasn.evaluate.evaluation import ScoreSet, curve_summary, dev_threshold, error_rates
from stasn.evaluate.scores import ScoreRow

__all__ = ["score_rows_from_batch", "dev_summary"]


def _column(batch: dict[str, Any], key: str, n: int, default: Any = "") -> list[Any]:
    value = batch.get(key)
    if value is None:
        return [default] * n
    if isinstance(value, torch.Tensor):
        if value.dim() > 1:  # per-frame values (B, T): the clip is named by its first frame
            value = value[:, 0]
        return value.tolist()
    return list(value)


def score_rows_from_batch(batch: dict[str, Any], output) -> list[ScoreRow]:
    """One :class:`ScoreRow` per clip of a batch and its :class:`~stasn.model.STASNOutput` (one host sync)."""
    n = len(batch["label"])
    scores = output.spoof_score.detach().float().cpu().tolist()
    return [
        ScoreRow(
            sample_id=str(sid),
            video_id=str(vid),
            label=int(lab),
            attack_type=str(att),
            spoof_score=float(s),
            frame_index=int(fi),
            subject=str(sub),
        )
        for sid, vid, lab, att, sub, fi, s in zip(
            _column(batch, "sample_id", n),
            _column(batch, "video_id", n),
            _column(batch, "label", n),
            _column(batch, "attack_type", n),
            _column(batch, "subject", n),
            _column(batch, "frame_index", n, 0),
            scores,
            strict=True,
        )
    ]


def dev_summary(rows: Sequence[ScoreRow], *, criterion: str = "eer") -> dict[str, float] | None:
    """Video-level (mean over clips) dev metrics at the threshold ``criterion`` picks on these same dev scores.

    Returns ``None`` when dev lacks live or attack videos (no threshold is defined then).
    """
    try:
        dev = ScoreSet.from_rows(aggregate_videos(list(rows), "mean"), "dev")
    except DataError:
        return None
    threshold = dev_threshold(dev, criterion)
    rates = error_rates(dev, threshold)
    curve = curve_summary(dev)
    return {
        "threshold": threshold,
        "apcer": rates.apcer,
        "bpcer": rates.bpcer,
        "acer": rates.acer,
        "eer": curve.eer,
        "auc": curve.auc,
    }
