"""ISO/IEC 30107-3 presentation attack detection metrics: pure functions on arrays of spoof scores.

Conventions used by every function here:

* **Polarity.** Scores are *spoof scores*: higher means more likely an attack (:mod:`stasn.labels`).
* **Tie rule.** A presentation whose score is greater than **or equal to** the threshold is classified as an attack::

      classified_attack = spoof_score >= threshold

  so a bona fide score exactly on the threshold is an error (counted in BPCER) and an attack score exactly on it is
  detected (not counted in APCER).
* **Thresholds come from outside.** Rates are computed at a threshold passed in; the functions that *choose* a
  threshold (:func:`eer`, :func:`threshold_at_apcer`, :func:`threshold_at_bpcer`) are meant for the dev set, and their
  result is frozen for test (see :mod:`stasn.evaluate.evaluation`). Chosen thresholds are always score values (or
  ±inf, or the next float above a score), never midpoints — except :func:`eer_midpoint_threshold`, which says why.
* **NaN is an error.** A NaN score raises ``ValueError``. A sample without a score (no face found) is a
  *non-response*: :func:`non_response_scores` turns it into ``+inf`` (bona fide) or ``-inf`` (attack), and every
  function counts those as errors of their own class at *every* threshold, ``±inf`` included (an attack scored
  ``-inf`` is undetected even at threshold ``-inf``, a bona fide sample scored ``+inf`` rejected even at ``+inf``).
* **Rates are fractions** in [0, 1], not percent.

Comparing with bob.measure / pyeer: those libraries take *bona fide* scores ``x`` (higher = more live) and accept
``x >= t`` as bona fide. With ``x = -spoof_score`` their operating point at ``t`` equals ours at
``threshold = nextafter(-t, +inf)``: the next float above ``-t`` moves a score lying exactly on the threshold to the
side bob puts it. ``tools/make_metric_fixtures.py`` does exactly this.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "APCERResult",
    "EERResult",
    "OperatingPoint",
    "apcer",
    "pooled_apcer",
    "bpcer",
    "acer",
    "hter",
    "eer",
    "eer_midpoint_threshold",
    "roc_auc",
    "threshold_at_apcer",
    "threshold_at_bpcer",
    "bpcer_at_apcer",
    "apcer_at_bpcer",
    "non_response_scores",
    "operating_points",
]


class APCERResult(NamedTuple):
    """APCER of each PAI species and the reported APCER (their maximum), fractions in [0, 1]."""

    per_species: dict[str, float]
    max: float


class EERResult(NamedTuple):
    """Equal error rate: ``eer = (apcer + bpcer) / 2`` at ``threshold``, where the two are closest."""

    eer: float
    threshold: float
    apcer: float  # pooled over species
    bpcer: float


class OperatingPoint(NamedTuple):
    """A threshold and the rates it gives on the set it was chosen on."""

    threshold: float
    apcer: float  # max over species unless the call pooled them
    bpcer: float


# ----------------------------------------------------------------------------------------------------- validation
def _scores(values: ArrayLike, name: str, *, allow_empty: bool = False) -> np.ndarray:
    """One validation step for every input: 1-D float64, no NaN (±inf allowed: non-responses)."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of scores, got shape {array.shape}")
    if not allow_empty and array.size == 0:
        raise ValueError(f"{name} is empty: need at least one {name.replace('_scores', '').replace('_', ' ')} score")
    nan = np.flatnonzero(np.isnan(array))
    if nan.size:
        raise ValueError(
            f"{name} contains NaN at index {int(nan[0])} ({nan.size} in all); a sample without a score is a "
            "non-response: convert it with non_response_scores()"
        )
    return array


def _types(attack_types: ArrayLike | None, n: int) -> np.ndarray:
    if attack_types is None:
        return np.full(n, "attack", dtype=object)
    types = np.asarray(attack_types, dtype=object)
    if types.shape != (n,):
        raise ValueError(f"attack_types has shape {types.shape}, attack_scores has ({n},); give one type per score")
    if any(str(t).lower() in ("live", "") for t in types):
        raise ValueError("attack_types contains 'live' or ''; pass bona fide scores separately, not as attacks")
    return types.astype(str)


def _threshold(threshold: float) -> float:
    threshold = float(threshold)
    if math.isnan(threshold):
        raise ValueError("threshold is NaN; pass a number (±inf is allowed)")
    return threshold


def _target(target: float, name: str) -> float:
    target = float(target)
    if not 0.0 <= target <= 1.0:
        raise ValueError(f"{name} must be a rate in [0, 1], got {target}")
    return target


def _undetected(attack_scores: np.ndarray, threshold: float) -> np.ndarray:
    """Attacks classified bona fide: score < threshold; a non-response (-inf) at any threshold, even -inf."""
    return (attack_scores < threshold) | (attack_scores == -np.inf)


def _allowed_errors(target: float, n: int) -> int:
    """Largest error count k with k / n <= target (the small epsilon keeps 0.29 * 100 from becoming 28)."""
    return min(n, math.floor(target * n + 1e-9))


# ----------------------------------------------------------------------------------------------------- rates
def apcer(
    attack_scores: ArrayLike,
    attack_types: ArrayLike | None,
    threshold: float,
    *,
    species: Sequence[str] | None = None,
) -> APCERResult:
    """Attack presentation classification error rate of each PAI species, and their maximum.

    .. math::

        \\mathrm{APCER}_{S} = \\frac{1}{N_{S}} \\sum_{i=1}^{N_{S}} [\\, s_i < \\tau \\,], \\qquad
        \\mathrm{APCER} = \\max_{S} \\mathrm{APCER}_{S}

    where :math:`s_i` are the spoof scores of the :math:`N_S` attacks of species :math:`S` (ISO/IEC 30107-3 reports
    the worst species). Tie rule: an attack with score exactly ``threshold`` is detected (not an error).

    Args:
        attack_scores: Array[N] spoof scores of attack presentations (``-inf`` = non-response, always an error).
        attack_types: Array[N] PAI species of each score (e.g. ``"print"``); ``None`` treats all as one species.
        threshold: scores ``>= threshold`` are classified as attacks.
        species: species that must be reported; one without any score raises ``ValueError``. Default: those present.

    Returns:
        ``APCERResult(per_species, max)``, fractions in [0, 1].

    Example:
        >>> apcer([0.9, 0.2, 0.7, 0.4], ["print", "print", "replay", "replay"], 0.5)
        APCERResult(per_species={'print': 0.5, 'replay': 0.5}, max=0.5)
    """
    scores = _scores(attack_scores, "attack_scores")
    types = _types(attack_types, scores.size)
    threshold = _threshold(threshold)
    names = [str(n) for n in species] if species is not None else sorted({str(t) for t in types})
    per_species: dict[str, float] = {}
    for name in names:
        members = scores[types == name]
        if members.size == 0:
            raise ValueError(f"no attack scores for species {name!r}; APCER of an empty species is undefined")
        per_species[name] = float(np.mean(_undetected(members, threshold)))
    return APCERResult(per_species, max(per_species.values()))


def pooled_apcer(attack_scores: ArrayLike, threshold: float) -> float:
    """APCER with all attack species pooled into one class (what papers that report a single APCER often do).

    .. math:: \\mathrm{APCER}_{pooled} = \\frac{1}{N_{A}} \\sum_{i=1}^{N_{A}} [\\, s_i < \\tau \\,]

    Not the ISO figure (that is the maximum over species, :func:`apcer`); kept, clearly named, for comparison.
    Tie rule: an attack scored exactly ``threshold`` is detected.

    Example:
        >>> pooled_apcer([0.9, 0.2, 0.7, 0.5], 0.5)
        0.25
    """
    scores = _scores(attack_scores, "attack_scores")
    return float(np.mean(_undetected(scores, _threshold(threshold))))


def bpcer(bona_fide_scores: ArrayLike, threshold: float) -> float:
    """Bona fide presentation classification error rate: the fraction of live faces classified as attacks.

    .. math:: \\mathrm{BPCER} = \\frac{1}{N_{BF}} \\sum_{i=1}^{N_{BF}} [\\, s_i \\ge \\tau \\,]

    Tie rule: a bona fide score exactly ``threshold`` is an error (``+inf`` = non-response, always an error).

    Example:
        >>> bpcer([0.1, 0.5, 0.3, 0.8], 0.5)
        0.5
    """
    scores = _scores(bona_fide_scores, "bona_fide_scores")
    return float(np.mean(scores >= _threshold(threshold)))


def acer(
    bona_fide_scores: ArrayLike,
    attack_scores: ArrayLike,
    attack_types: ArrayLike | None,
    threshold: float,
) -> float:
    """Average classification error rate, with the ISO (max over species) APCER.

    .. math:: \\mathrm{ACER} = \\frac{\\max_S \\mathrm{APCER}_S + \\mathrm{BPCER}}{2}

    Tie rule: ``score >= threshold`` is classified as an attack.

    Example:
        >>> acer([0.1, 0.6], [0.9, 0.2, 0.7, 0.8], ["print", "print", "replay", "replay"], 0.5)
        0.5
    """
    return (apcer(attack_scores, attack_types, threshold).max + bpcer(bona_fide_scores, threshold)) / 2


def hter(bona_fide_scores: ArrayLike, attack_scores: ArrayLike, threshold: float) -> float:
    """Half total error rate at a given threshold, attacks pooled (the cross-dataset CASIA <-> Replay figure).

    .. math:: \\mathrm{HTER} = \\frac{\\mathrm{APCER}_{pooled} + \\mathrm{BPCER}}{2}

    The threshold should come from the *training* dataset's dev set. Tie rule: ``score >= threshold`` is an attack.

    Example:
        >>> hter([0.1, 0.6], [0.9, 0.2, 0.7, 0.8], 0.5)
        0.375
    """
    return (pooled_apcer(attack_scores, threshold) + bpcer(bona_fide_scores, threshold)) / 2


# ----------------------------------------------------------------------------------------------------- curves
def operating_points(
    bona_fide_scores: ArrayLike, attack_scores: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every distinct (threshold, APCER pooled, BPCER) a threshold can produce, thresholds descending.

    Candidate thresholds are ``+inf`` followed by the distinct scores in descending order: any threshold in
    ``(u[j+1], u[j]]`` between two neighbouring distinct scores classifies exactly like ``u[j]``. On finite scores
    these are the points of :func:`sklearn.metrics.roc_curve` with ``drop_intermediate=False`` (attack = positive,
    ``fpr = BPCER``, ``tpr = 1 - APCER``); this version also accepts ±inf (non-responses).

    Returns:
        ``(thresholds, apcer, bpcer)``, Array[M] each.

    Example:
        >>> t, a, b = operating_points([0.1, 0.4], [0.35, 0.8])
        >>> t.tolist(), a.tolist(), b.tolist()
        ([inf, 0.8, 0.4, 0.35, 0.1], [1.0, 0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5, 1.0])
    """
    thresholds, a_err, b_err, n_attack, n_bona = _error_counts(bona_fide_scores, attack_scores)
    return thresholds, a_err / n_attack, b_err / n_bona


def _error_counts(
    bona_fide_scores: ArrayLike, attack_scores: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    bona = np.sort(_scores(bona_fide_scores, "bona_fide_scores"))
    attack = np.sort(_scores(attack_scores, "attack_scores"))
    distinct = np.unique(np.concatenate([bona, attack]))[::-1]
    thresholds = distinct if distinct[0] == np.inf else np.concatenate([[np.inf], distinct])
    # attacks with score < threshold, and attack non-responses (-inf) even at threshold -inf
    apcer_errors = np.maximum(np.searchsorted(attack, thresholds, side="left"), np.sum(attack == -np.inf))
    bpcer_errors = bona.size - np.searchsorted(bona, thresholds, side="left")  # bona fide with score >= threshold
    return thresholds, apcer_errors, bpcer_errors, attack.size, bona.size


def eer(bona_fide_scores: ArrayLike, attack_scores: ArrayLike) -> EERResult:
    """Equal error rate (attacks pooled) and the threshold that gives it, on one score set.

    Among all operating points (:func:`operating_points`) take the one where :math:`|\\mathrm{APCER} -
    \\mathrm{BPCER}|` is smallest (as ``bob.measure.eer_threshold`` does); if two points tie exactly, the one with
    the lower mean (pyeer's FVC2000 rule; bob's choice on an exact tie depends on float rounding). The EER is the
    mean of the two rates there:

    .. math:: \\mathrm{EER} = \\frac{\\mathrm{APCER}(\\tau^*) + \\mathrm{BPCER}(\\tau^*)}{2}, \\qquad
              \\tau^* = \\arg\\min_\\tau |\\mathrm{APCER}(\\tau) - \\mathrm{BPCER}(\\tau)|

    The returned threshold is a score value (tie rule: ``score >= threshold`` is an attack). Called on test data
    this is an *oracle* number (the threshold is fitted to the set it is measured on); use it on dev to pick one.

    Example:
        >>> eer([0.1, 0.2, 0.3, 0.6], [0.4, 0.7, 0.8, 0.9])
        EERResult(eer=0.25, threshold=0.6, apcer=0.25, bpcer=0.25)
    """
    thresholds, a_err, b_err, n_attack, n_bona = _error_counts(bona_fide_scores, attack_scores)
    best = _eer_index(a_err, b_err, n_attack, n_bona)
    rate_a, rate_b = a_err[best] / n_attack, b_err[best] / n_bona
    return EERResult(float((rate_a + rate_b) / 2), float(thresholds[best]), float(rate_a), float(rate_b))


def _eer_index(a_err: np.ndarray, b_err: np.ndarray, n_attack: int, n_bona: int) -> int:
    gap = np.abs(a_err * n_bona - b_err * n_attack)  # |APCER - BPCER| * Na * Nb in integers: exact ties
    tied = np.flatnonzero(gap == gap.min())
    total = a_err[tied] * n_bona + b_err[tied] * n_attack  # (APCER + BPCER) * Na * Nb
    return int(tied[np.argmin(total)])  # first minimum = highest threshold among equal means


def eer_midpoint_threshold(bona_fide_scores: ArrayLike, attack_scores: ArrayLike) -> float:
    """The operating point of :func:`eer`, with the threshold in the middle of the score gap that gives it.

    Every threshold in ``(s_next, s_eer]`` — from the next lower distinct score to :func:`eer`'s threshold —
    classifies the set alike; :func:`eer` returns the top of that gap (a score value, as bob.measure does), this
    returns its middle, which leaves equal room on both sides. It matters where the gap is wide: on a dev split the
    model separates (EER 0) the gap runs from the highest bona fide to the lowest attack score, and :func:`eer`'s
    threshold sits *on* the lowest dev attack, so every test attack scored a little lower is missed. The one
    exception to "thresholds are score values" in this module; the rates on this set are :func:`eer`'s.

    Example:
        >>> eer_midpoint_threshold([0.1, 0.2], [0.8, 0.9])  # eer() says 0.8
        0.5
    """
    thresholds, a_err, b_err, n_attack, n_bona = _error_counts(bona_fide_scores, attack_scores)
    best = _eer_index(a_err, b_err, n_attack, n_bona)
    upper = float(thresholds[best])
    lower = float(thresholds[best + 1]) if best + 1 < thresholds.size else -math.inf
    if not (math.isfinite(upper) and math.isfinite(lower)):
        return upper  # an open-ended gap has no middle: keep eer()'s threshold
    return (upper + lower) / 2


def roc_auc(bona_fide_scores: ArrayLike, attack_scores: ArrayLike) -> float:
    """Area under the ROC curve (attack = positive class), by :func:`sklearn.metrics.roc_auc_score`.

    1.0 means every attack scores above every bona fide sample; ties count half. Non-responses (±inf) keep their
    rank: they are replaced by finite values beyond the extreme finite scores before calling sklearn.

    Example:
        >>> roc_auc([0.1, 0.4], [0.35, 0.8])
        0.75
    """
    from sklearn.metrics import roc_auc_score

    bona = _scores(bona_fide_scores, "bona_fide_scores")
    attack = _scores(attack_scores, "attack_scores")
    scores = _rank_preserving_finite(np.concatenate([bona, attack]))
    labels = np.concatenate([np.zeros(bona.size), np.ones(attack.size)])
    return float(roc_auc_score(labels, scores))


def _rank_preserving_finite(scores: np.ndarray) -> np.ndarray:
    finite = scores[np.isfinite(scores)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    return np.clip(scores, low - 1.0, high + 1.0)


# ----------------------------------------------------------------------------------------------------- thresholds
def threshold_at_apcer(attack_scores: ArrayLike, target: float, attack_types: ArrayLike | None = None) -> float:
    """Highest threshold whose APCER (max over species) is at most ``target``: the lowest BPCER meeting it.

    For a species with sorted scores :math:`a_{(1)} \\le \\dots \\le a_{(N)}` and :math:`k = \\lfloor
    \\mathrm{target} \\cdot N \\rfloor`, the threshold :math:`a_{(k+1)}` leaves exactly the :math:`k` lowest scores
    undetected (tie rule: ``score >= threshold`` is an attack); the result is the minimum over species. ``target = 1``
    gives ``+inf``. If a species' non-responses (``-inf``) alone exceed the target, the target cannot be met and that
    species contributes its lowest responding score (its smallest reachable APCER). Use on dev (BPCER20 is
    ``target=0.05``) and pass the result to test.

    Example:
        >>> threshold_at_apcer([0.2, 0.5, 0.6, 0.9], 0.25)
        0.5
    """
    scores = _scores(attack_scores, "attack_scores")
    types = _types(attack_types, scores.size)
    target = _target(target, "target APCER")
    thresholds = []
    for name in sorted({str(t) for t in types}):
        members = np.sort(scores[types == name])
        # non-responses are errors at any threshold: if they alone exceed the target, take the best reachable point
        k = max(_allowed_errors(target, members.size), int(np.sum(members == -np.inf)))
        thresholds.append(np.inf if k >= members.size else float(members[k]))
    return float(min(thresholds))


def threshold_at_bpcer(bona_fide_scores: ArrayLike, target: float) -> float:
    """Lowest threshold whose BPCER is at most ``target``: the lowest APCER meeting it.

    With bona fide scores sorted descending :math:`b_{[1]} \\ge \\dots \\ge b_{[N]}` and :math:`k = \\lfloor
    \\mathrm{target} \\cdot N \\rfloor`, the threshold is the next float above :math:`b_{[k+1]}`, so only the
    :math:`k` highest bona fide scores reach it (tie rule: ``score >= threshold`` is an attack). ``target = 1`` gives
    ``-inf``. If bona fide non-responses (``+inf``) alone exceed the target it cannot be met: the result is ``+inf``
    (every responding sample classified bona fide, the lowest reachable BPCER). Use on dev and pass the result to test.

    Example:
        >>> t = threshold_at_bpcer([0.1, 0.2, 0.3, 0.9], 0.25)
        >>> 0.3 < t < 0.3000001, bpcer([0.1, 0.2, 0.3, 0.9], t)
        (True, 0.25)
    """
    scores = np.sort(_scores(bona_fide_scores, "bona_fide_scores"))[::-1]
    k = _allowed_errors(_target(target, "target BPCER"), scores.size)
    if k >= scores.size:
        return -np.inf
    return float(np.nextafter(scores[k], np.inf))


def bpcer_at_apcer(
    bona_fide_scores: ArrayLike, attack_scores: ArrayLike, target: float, attack_types: ArrayLike | None = None
) -> OperatingPoint:
    """BPCER at the threshold where APCER (max over species, or pooled when ``attack_types`` is None) <= target.

    ISO/IEC 30107-3's BPCER20 is ``bpcer_at_apcer(..., 0.05, types).bpcer``; BPCER10 and BPCER100 use 0.10 and 0.01.
    The threshold comes from :func:`threshold_at_apcer` on the *same* scores: on test data this is an oracle curve
    statistic, not a deployable error rate.

    Example:
        >>> bpcer_at_apcer([0.1, 0.3, 0.55, 0.7], [0.2, 0.5, 0.6, 0.9], 0.25)
        OperatingPoint(threshold=0.5, apcer=0.25, bpcer=0.5)
    """
    threshold = threshold_at_apcer(attack_scores, target, attack_types)
    rate = apcer(attack_scores, attack_types, threshold).max
    return OperatingPoint(threshold, rate, bpcer(bona_fide_scores, threshold))


def apcer_at_bpcer(
    bona_fide_scores: ArrayLike, attack_scores: ArrayLike, target: float, attack_types: ArrayLike | None = None
) -> OperatingPoint:
    """APCER (max over species, or pooled without ``attack_types``) at the lowest threshold with BPCER <= target.

    The threshold comes from :func:`threshold_at_bpcer` on the same bona fide scores (an oracle number on test).

    Example:
        >>> apcer_at_bpcer([0.1, 0.3, 0.55, 0.7], [0.2, 0.5, 0.6, 0.9], 0.25).apcer
        0.5
    """
    threshold = threshold_at_bpcer(bona_fide_scores, target)
    return OperatingPoint(
        threshold, apcer(attack_scores, attack_types, threshold).max, bpcer(bona_fide_scores, threshold)
    )


# ----------------------------------------------------------------------------------------------------- non-responses
def non_response_scores(spoof_scores: ArrayLike, labels: ArrayLike, responded: ArrayLike) -> np.ndarray:
    """Apply stasn's one non-response rule: a sample without a score is an error of its own class.

    A bona fide sample where no face was found gets ``+inf`` (always classified as an attack: a BPCER error); an
    attack without a face gets ``-inf`` (always counted as an undetected attack: an APCER error). This is the
    pessimistic reading of ISO/IEC 30107-3's non-response rates; report the non-response counts beside the rates.

    Args:
        spoof_scores: Array[N] scores; entries where ``responded`` is False are ignored (may be NaN).
        labels: Array[N] 0 live / 1 spoof.
        responded: Array[N] bool, False for a non-response.

    Returns:
        Array[N] float64 scores with ±inf at the non-responses.

    Example:
        >>> non_response_scores([0.2, float("nan"), float("nan")], [0, 0, 1], [True, False, False]).tolist()
        [0.2, inf, -inf]
    """
    scores = np.asarray(spoof_scores, dtype=np.float64).copy()
    labels = np.asarray(labels)
    responded = np.asarray(responded, dtype=bool)
    if not (scores.shape == labels.shape == responded.shape) or scores.ndim != 1:
        raise ValueError(
            f"spoof_scores {scores.shape}, labels {labels.shape} and responded {responded.shape} must be 1-D and alike"
        )
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 (live) or 1 (spoof)")
    scores[~responded] = np.where(labels[~responded] == 0, np.inf, -np.inf)
    _scores(scores, "spoof_scores", allow_empty=True)  # NaN left only where a sample claims to have responded
    return scores
