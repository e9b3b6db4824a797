"""Label polarity and attack (PAI species) names shared by every adapter, the cache and the metrics.

``LIVE = 0`` (bona fide presentation) and ``SPOOF = 1`` (presentation attack). A ``spoof_score`` is higher for
inputs more likely to be an attack. These two constants are the only place the polarity is defined.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["LIVE", "SPOOF", "AttackType", "parse_label"]

LIVE = 0
SPOOF = 1


class AttackType(str, Enum):
    """PAI species. ``LIVE`` is the bona fide class; every other value is an attack."""

    LIVE = "live"
    PRINT = "print"
    REPLAY = "replay"
    MASK = "mask"
    PAPER_CUT = "paper-cut"  # printed photo with cut-out eyes/mouth
    PARTIAL = "partial"
    REPLAY_SYNTH = "replay-synth"  # made by stasn.synth from a live face
    PRINT_SYNTH = "print-synth"
    OTHER = "other"

    @property
    def label(self) -> int:
        return LIVE if self is AttackType.LIVE else SPOOF


def parse_label(value: object) -> int:
    """Accept 0/1 or 'live'/'spoof'/'attack' (any case) and return 0 or 1."""
    text = str(value).strip().lower()
    if text in {"0", "live", "real", "bonafide", "bona-fide", "genuine"}:
        return LIVE
    if text in {"1", "spoof", "attack", "fake"}:
        return SPOOF
    raise ValueError(f"cannot read a label from {value!r}; use 0/live or 1/spoof")
