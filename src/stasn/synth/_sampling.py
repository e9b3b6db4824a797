"""Plumbing shared by the parameter-range dataclasses: checking a ``(low, high)`` range and drawing from it.

Every draw takes an explicit :class:`numpy.random.Generator`, so a seeded generator gives the same parameters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["check_range", "check_weights", "check_probability", "uniform", "log_uniform", "pick", "chance", "new_seed"]


def check_range(
    owner: str, name: str, value: object, *, low: float = -math.inf, high: float = math.inf
) -> tuple[float, float]:
    """Check that ``value`` is ``(lo, hi)`` with ``low <= lo <= hi <= high``; return it as floats.

    The error names the dataclass and field, e.g.
    ``ReplayRanges.ppi: expected (low, high) with 50 <= low <= high <= 1000, got (600, 300)``.
    """
    bounds = f"{low:g} <= low <= high <= {high:g}"
    try:
        lo, hi = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"{owner}.{name}: expected (low, high) with {bounds}, got {value!r}") from None
    if not (low <= lo <= hi <= high) or math.isnan(lo) or math.isnan(hi):
        raise ValueError(f"{owner}.{name}: expected (low, high) with {bounds}, got {value!r}")
    return lo, hi


def check_weights(owner: str, name: str, value: Mapping[str, float], valid: Sequence[str]) -> None:
    """Check a ``{choice: weight}`` mapping: known keys, weights >= 0, at least one > 0."""
    if not isinstance(value, Mapping) or not value:
        raise ValueError(f"{owner}.{name}: expected a non-empty {{choice: weight}} mapping, got {value!r}")
    unknown = [k for k in value if k not in valid]
    if unknown:
        raise ValueError(f"{owner}.{name}: unknown choice {unknown[0]!r}. Valid values are {{{', '.join(valid)}}}.")
    weights = [float(w) for w in value.values()]
    if any(w < 0 or math.isnan(w) for w in weights) or sum(weights) <= 0:
        raise ValueError(f"{owner}.{name}: weights must be >= 0 with a positive sum, got {dict(value)!r}")


def check_probability(owner: str, name: str, value: float) -> None:
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{owner}.{name}: expected a probability in [0, 1], got {value!r}")


def uniform(rng: np.random.Generator, bounds: Sequence[float]) -> float:
    """A float drawn uniformly from ``[lo, hi]`` (``lo`` when the range is a single value)."""
    lo, hi = bounds
    return float(lo) if lo == hi else float(rng.uniform(lo, hi))


def log_uniform(rng: np.random.Generator, bounds: Sequence[float]) -> float:
    """A float whose logarithm is uniform in ``[log lo, log hi]``: for scale-like quantities (sizes, ratios).

    A range starting at 0 or below has no logarithm; it is drawn uniformly instead.
    """
    lo, hi = bounds
    if lo <= 0:
        return uniform(rng, bounds)
    return float(lo) if lo == hi else float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def pick(rng: np.random.Generator, weights: Mapping[str, float]) -> str:
    """One key of ``weights``, drawn with probability proportional to its weight."""
    keys = list(weights)
    p = np.asarray([float(weights[k]) for k in keys])
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def chance(rng: np.random.Generator, probability: float) -> bool:
    """True with the given probability (always draws one number, so later draws do not shift)."""
    return bool(rng.random() < probability)


def new_seed(rng: np.random.Generator) -> int:
    """A seed for an effect's own generator (noise, textures), recorded in the parameters."""
    return int(rng.integers(0, 2**31 - 1))
