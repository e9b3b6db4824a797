"""The dev -> test protocol: choose a threshold on dev, freeze it, measure test; summarise folds as mean ± std.

Everything a paper table needs comes from :func:`evaluate_scores`::

    result = evaluate_scores(read_scores("scores-dev.csv"), read_scores("scores-test.csv"), criterion="eer")
    result.threshold              # chosen on dev (EER point), frozen
    result.test_rates.acer        # test ACER at that threshold: the honest number
    result.test_curve_oracle.eer  # test EER with its own threshold: an oracle number, for comparison only

Non-responses follow :func:`stasn.evaluate.metrics.non_response_scores` (an error of their own class) and are counted
separately (``ScoreSet.bona_fide_non_responses``, ``ScoreSet.attack_non_responses``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from stasn.errors import DataError
from stasn.evaluate import metrics
from stasn.evaluate.aggregate import AGGREGATES, aggregate_videos
from stasn.evaluate.scores import ScoreRow
from stasn.labels import LIVE

__all__ = [
    "CRITERIA",
    "AGGREGATE_CHOICES",
    "APCER_TARGETS",
    "BPCER_TARGETS",
    "ScoreSet",
    "ErrorRates",
    "CurveSummary",
    "EvaluationResult",
    "FoldSummary",
    "dev_threshold",
    "error_rates",
    "curve_summary",
    "evaluate_scores",
    "summarize_folds",
]

CRITERIA: dict[str, float | None] = {  # name -> target APCER on dev (None: the EER point)
    "eer": None,
    "eer-mid": None,  # the EER point, threshold in the middle of its score gap (metrics.eer_midpoint_threshold)
    "bpcer10": 0.10,  # ISO/IEC 30107-3 BPCER10: the operating point where APCER = 10 %
    "bpcer20": 0.05,
    "bpcer100": 0.01,
}
AGGREGATE_CHOICES = (*AGGREGATES, "none")  # "none": score rows are already one per presentation
APCER_TARGETS = {"BPCER10": 0.10, "BPCER20": 0.05, "BPCER100": 0.01}  # label -> APCER the BPCER is read at
BPCER_TARGETS = {"APCER@BPCER=5%": 0.05, "APCER@BPCER=1%": 0.01}


@dataclass(frozen=True)
class ScoreSet:
    """The scores of one split after aggregation, by class; non-responses already mapped to ±inf."""

    name: str  # "dev" / "test", used in messages
    bona_fide: np.ndarray  # Array[Nb] spoof scores; +inf = non-response
    attacks: np.ndarray  # Array[Na] spoof scores; -inf = non-response
    attack_types: np.ndarray  # Array[Na] str, PAI species of each attack
    bona_fide_non_responses: int = 0
    attack_non_responses: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Sequence[ScoreRow], name: str) -> ScoreSet:
        """Split rows by class and apply the non-response rule; both classes must be present."""
        if not rows:
            raise DataError(f"{name} scores: no rows")
        labels = np.array([r.label for r in rows])
        scores = metrics.non_response_scores(
            [r.spoof_score for r in rows], labels, [r.responded for r in rows]
        )  # fmt: skip
        live = labels == LIVE
        if not live.any() or live.all():
            missing = "bona fide (live, label 0)" if not live.any() else "attack (label 1)"
            raise DataError(
                f"{name} scores have no {missing} rows; APCER, BPCER and a threshold need both classes"
            )  # fmt: skip
        types = np.array([r.attack_type for r in rows], dtype=str)[~live]
        responded = np.array([r.responded for r in rows])
        attack_nr = {str(t): int(np.sum(~responded[~live] & (types == t))) for t in sorted(set(types))}
        return cls(name, scores[live], scores[~live], types, int(np.sum(~responded[live])), attack_nr)

    @property
    def species(self) -> list[str]:
        return sorted({str(t) for t in self.attack_types})

    @property
    def attack_counts(self) -> dict[str, int]:
        return {s: int(np.sum(self.attack_types == s)) for s in self.species}


@dataclass(frozen=True)
class ErrorRates:
    """ISO/IEC 30107-3 rates of one score set at one threshold (fractions in [0, 1])."""

    threshold: float
    apcer_per_species: dict[str, float]
    apcer: float  # max over species: the ISO figure
    apcer_pooled: float  # all species as one class, for papers that pool
    bpcer: float
    acer: float  # (apcer + bpcer) / 2
    hter: float  # (apcer_pooled + bpcer) / 2


@dataclass(frozen=True)
class CurveSummary:
    """Threshold-free statistics of one score set; each picks its own threshold on that set."""

    eer: float
    eer_threshold: float
    auc: float
    bpcer_at_apcer: dict[str, float]  # "BPCER20" -> BPCER where APCER (max over species) <= 5 %
    apcer_at_bpcer: dict[str, float]  # "APCER@BPCER=5%" -> APCER (max over species) where BPCER <= 5 %


@dataclass(frozen=True)
class EvaluationResult:
    """Dev threshold, test rates at it, and each set's own curve statistics."""

    criterion: str  # how the threshold was chosen on dev: eer | bpcer10 | bpcer20 | bpcer100
    threshold: float  # chosen on dev, applied unchanged to test
    aggregate: str  # frame -> video rule, or "none"
    dev: ScoreSet
    test: ScoreSet
    dev_rates: ErrorRates
    test_rates: ErrorRates
    dev_curve: CurveSummary
    test_curve_oracle: CurveSummary  # thresholds fitted on test itself: not achievable in deployment

    def to_dict(self) -> dict:
        """JSON-ready summary (no score arrays); rates as fractions; infinite thresholds as strings."""

        def number(value: float) -> float | str:
            return value if math.isfinite(value) else str(value)

        def rates(r: ErrorRates) -> dict:
            return {**r.__dict__, "threshold": number(r.threshold)}

        def curve(c: CurveSummary) -> dict:
            return {**c.__dict__, "eer_threshold": number(c.eer_threshold)}

        def counts(s: ScoreSet) -> dict:
            return {
                "bona_fide": int(s.bona_fide.size),
                "attacks": s.attack_counts,
                "bona_fide_non_responses": s.bona_fide_non_responses,
                "attack_non_responses": s.attack_non_responses,
            }

        return {
            "criterion": self.criterion,
            "threshold": number(self.threshold),
            "aggregate": self.aggregate,
            "counts": {"dev": counts(self.dev), "test": counts(self.test)},
            "dev": rates(self.dev_rates),
            "test": rates(self.test_rates),
            "dev_curve": curve(self.dev_curve),
            "test_curve_oracle": curve(self.test_curve_oracle),
        }

    def flat(self) -> dict[str, float]:
        """The test metrics as one flat dict (the quantities folds are averaged over)."""
        r, c = self.test_rates, self.test_curve_oracle
        values = {
            "threshold": self.threshold,
            "apcer": r.apcer,
            "apcer_pooled": r.apcer_pooled,
            "bpcer": r.bpcer,
            "acer": r.acer,
            "hter": r.hter,
            "eer_oracle": c.eer,
            "auc": c.auc,
            **{f"apcer[{s}]": v for s, v in r.apcer_per_species.items()},
            **{f"{k}_oracle": v for k, v in c.bpcer_at_apcer.items()},
        }
        return values


def dev_threshold(dev: ScoreSet, criterion: str = "eer") -> float:
    """The threshold ``criterion`` picks on dev: the EER point (``eer``: its threshold is a dev score, bob.measure's
    choice; ``eer-mid``: the middle of the score gap that gives the same point), or the lowest-BPCER point meeting the
    APCER target.

    ``bpcer20`` asks for APCER (max over species) at most 5 % on dev, ``bpcer10`` 10 %, ``bpcer100`` 1 %.

    Raises:
        ValueError: unknown criterion (the message lists the valid ones).
    """
    if criterion not in CRITERIA:
        raise ValueError(f"Unknown criterion {criterion!r}. Valid values are {{{', '.join(CRITERIA)}}}.")
    target = CRITERIA[criterion]
    if criterion == "eer-mid":
        return metrics.eer_midpoint_threshold(dev.bona_fide, dev.attacks)
    if target is None:
        return metrics.eer(dev.bona_fide, dev.attacks).threshold
    return metrics.threshold_at_apcer(dev.attacks, target, dev.attack_types)


def error_rates(scores: ScoreSet, threshold: float) -> ErrorRates:
    """All rates of one set at a given threshold (tie rule: ``score >= threshold`` is an attack)."""
    per = metrics.apcer(scores.attacks, scores.attack_types, threshold)
    pooled = metrics.pooled_apcer(scores.attacks, threshold)
    bpcer = metrics.bpcer(scores.bona_fide, threshold)
    return ErrorRates(threshold, per.per_species, per.max, pooled, bpcer, (per.max + bpcer) / 2, (pooled + bpcer) / 2)


def curve_summary(scores: ScoreSet) -> CurveSummary:
    """EER, AUC and the fixed-APCER / fixed-BPCER points of one set, each on that set's own curve."""
    eer = metrics.eer(scores.bona_fide, scores.attacks)
    at_apcer = {
        name: metrics.bpcer_at_apcer(scores.bona_fide, scores.attacks, target, scores.attack_types).bpcer
        for name, target in APCER_TARGETS.items()
    }
    at_bpcer = {
        name: metrics.apcer_at_bpcer(scores.bona_fide, scores.attacks, target, scores.attack_types).apcer
        for name, target in BPCER_TARGETS.items()
    }
    return CurveSummary(eer.eer, eer.threshold, metrics.roc_auc(scores.bona_fide, scores.attacks), at_apcer, at_bpcer)


def evaluate_scores(
    dev_rows: Sequence[ScoreRow],
    test_rows: Sequence[ScoreRow],
    criterion: str = "eer",
    *,
    aggregate: str = "mean",
) -> EvaluationResult:
    """Choose the threshold on dev with ``criterion``, freeze it, and measure test.

    Args:
        dev_rows: dev-set score rows (frames, clips or videos); both classes needed.
        test_rows: test-set score rows; both classes needed.
        criterion: ``eer`` (dev EER point) or ``bpcer10`` / ``bpcer20`` / ``bpcer100`` (dev APCER at most 10 / 5 /
            1 %, max over species, with the lowest BPCER).
        aggregate: frame -> video rule (``mean``, ``median``, ``max``, ``min``), or ``none`` to score each row.

    Returns:
        :class:`EvaluationResult`.

    Raises:
        DataError: a split lacks a class, or frames of one video disagree on their label.
        ValueError: unknown criterion or aggregate.
    """
    if aggregate not in AGGREGATE_CHOICES:
        raise ValueError(f"Unknown aggregate {aggregate!r}. Valid values are {{{', '.join(AGGREGATE_CHOICES)}}}.")
    if criterion not in CRITERIA:
        raise ValueError(f"Unknown criterion {criterion!r}. Valid values are {{{', '.join(CRITERIA)}}}.")
    if aggregate != "none":
        dev_rows, test_rows = aggregate_videos(dev_rows, aggregate), aggregate_videos(test_rows, aggregate)
    dev, test = ScoreSet.from_rows(dev_rows, "dev"), ScoreSet.from_rows(test_rows, "test")
    threshold = dev_threshold(dev, criterion)
    return EvaluationResult(
        criterion=criterion,
        threshold=threshold,
        aggregate=aggregate,
        dev=dev,
        test=test,
        dev_rates=error_rates(dev, threshold),
        test_rates=error_rates(test, threshold),
        dev_curve=curve_summary(dev),
        test_curve_oracle=curve_summary(test),
    )


@dataclass(frozen=True)
class FoldSummary:
    """Mean and standard deviation over folds of every flat test metric (:meth:`EvaluationResult.flat`)."""

    folds: tuple[EvaluationResult, ...]
    mean: dict[str, float]
    std: dict[str, float]
    ddof: int


def summarize_folds(results: Sequence[EvaluationResult], *, ddof: int = 1) -> FoldSummary:
    """Mean ± std over folds (OULU-NPU P3/P4, SiW P2/P3), each fold with its own dev threshold.

    Papers do not say which standard deviation they report; the default is the sample one (``ddof=1``). Per-species
    APCER is summarised only for species present in every fold.

    Example:
        ``summarize_folds([evaluate_scores(d, t) for d, t in folds]).mean["acer"]``
    """
    if len(results) < 2:
        raise ValueError(f"need at least 2 folds to summarise, got {len(results)}")
    flats = [r.flat() for r in results]
    keys = [k for k in flats[0] if all(k in f for f in flats)]
    table = {k: np.array([f[k] for f in flats], dtype=float) for k in keys}
    return FoldSummary(
        tuple(results),
        {k: float(np.mean(v)) for k, v in table.items()},
        {k: float(np.std(v, ddof=ddof)) for k, v in table.items()},
        ddof,
    )
