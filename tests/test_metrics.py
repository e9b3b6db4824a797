"""Hand-checkable tests of stasn.evaluate.metrics (tie rule: spoof_score >= threshold is an attack)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from stasn.evaluate import metrics as m

INF = math.inf


@pytest.mark.parametrize(
    ("scores", "types", "threshold", "per_species", "worst"),
    [
        ([0.9, 0.2, 0.7, 0.4], ["print", "print", "replay", "replay"], 0.5, {"print": 0.5, "replay": 0.5}, 0.5),
        ([0.9, 0.2, 0.7, 0.4], ["print", "print", "replay", "replay"], 0.1, {"print": 0.0, "replay": 0.0}, 0.0),
        ([0.9, 0.2, 0.7, 0.4], ["print", "print", "replay", "replay"], 0.95, {"print": 1.0, "replay": 1.0}, 1.0),
        ([0.5, 0.5, 0.1], ["print", "print", "replay"], 0.5, {"print": 0.0, "replay": 1.0}, 1.0),  # ties detected
        ([1.0, 2.0, 3.0, 4.0], None, 3.0, {"attack": 0.5}, 0.5),
        ([-INF, 0.9], ["mask", "mask"], 0.5, {"mask": 0.5}, 0.5),  # a non-response is always an error
    ],
)
def test_apcer_toydata(scores, types, threshold, per_species, worst):
    result = m.apcer(scores, types, threshold)
    assert result.per_species == per_species
    assert result.max == worst


@pytest.mark.parametrize(
    ("scores", "threshold", "expected"),
    [
        ([0.1, 0.5, 0.3, 0.8], 0.5, 0.5),  # 0.5 exactly on the threshold is an error
        ([0.1, 0.5, 0.3, 0.8], 0.50001, 0.25),
        ([0.1, 0.2], -INF, 1.0),
        ([0.1, 0.2], INF, 0.0),
        ([0.1, INF], INF, 0.5),  # a bona fide non-response is an error even at +inf
    ],
)
def test_bpcer_toydata(scores, threshold, expected):
    assert m.bpcer(scores, threshold) == expected


def test_ties_at_the_threshold_follow_the_documented_rule():
    # Every score equals the threshold: all bona fide are errors, no attack is.
    assert m.bpcer([0.5, 0.5, 0.5], 0.5) == 1.0
    assert m.apcer([0.5, 0.5], ["print", "replay"], 0.5).max == 0.0
    assert m.acer([0.5, 0.5], [0.5, 0.5], ["print", "replay"], 0.5) == 0.5


def test_acer_threshold_below_all_scores():
    assert m.acer([0.2, 0.3], [0.6, 0.7], None, 0.0) == 0.5  # everything an attack: BPCER 1, APCER 0


def test_acer_and_hter_use_max_and_pooled_apcer():
    bona, attacks, types = [0.1, 0.6], [0.9, 0.2, 0.7, 0.8], ["print", "print", "replay", "replay"]
    assert m.acer(bona, attacks, types, 0.5) == (0.5 + 0.5) / 2
    assert m.hter(bona, attacks, 0.5) == (0.25 + 0.5) / 2
    assert m.pooled_apcer(attacks, 0.5) == 0.25


def test_apcer_reports_the_worst_species():
    scores = [0.9, 0.8, 0.7, 0.1, 0.2, 0.6]
    types = ["print", "print", "print", "replay", "replay", "replay"]
    result = m.apcer(scores, types, 0.5)
    assert result.per_species == {"print": 0.0, "replay": pytest.approx(2 / 3)}
    assert result.max == pytest.approx(2 / 3)
    assert m.pooled_apcer(scores, 0.5) == pytest.approx(2 / 6)


def test_apcer_one_species_empty_raises():
    with pytest.raises(ValueError, match="no attack scores for species 'mask'"):
        m.apcer([0.9, 0.2], ["print", "replay"], 0.5, species=["print", "replay", "mask"])


def test_all_live_set_has_bpcer_but_no_apcer():
    assert m.bpcer([0.1, 0.2, 0.9], 0.5) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="at least one attack score"):
        m.apcer([], [], 0.5)
    with pytest.raises(ValueError, match="at least one attack score"):
        m.eer([0.1, 0.2], [])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: m.bpcer([0.1, float("nan")], 0.5), "bona_fide_scores contains NaN at index 1"),
        (lambda: m.apcer([float("nan")], ["print"], 0.5), "attack_scores contains NaN at index 0"),
        (lambda: m.eer([0.1, 0.2], [0.3, float("nan")]), "non_response_scores"),
        (lambda: m.bpcer([0.1], float("nan")), "threshold is NaN"),
        (lambda: m.bpcer([[0.1, 0.2]], 0.5), "1-D array"),
        (lambda: m.apcer([0.1, 0.2], ["print"], 0.5), "one type per score"),
        (lambda: m.apcer([0.1], ["live"], 0.5), "contains 'live'"),
        (lambda: m.threshold_at_apcer([0.1], 1.5), r"target APCER must be a rate in \[0, 1\]"),
        (lambda: m.non_response_scores([0.1], [2], [True]), "labels must be 0"),
        (lambda: m.non_response_scores([float("nan")], [0], [True]), "NaN"),
    ],
)
def test_metrics_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_eer_toydata():
    result = m.eer([0.1, 0.2, 0.3, 0.6], [0.4, 0.7, 0.8, 0.9])
    assert result == (0.25, 0.6, 0.25, 0.25)


def test_eer_separable_scores_is_zero():
    result = m.eer([0.1, 0.2], [0.8, 0.9])
    assert (result.eer, result.apcer, result.bpcer) == (0.0, 0.0, 0.0)
    assert 0.2 < result.threshold <= 0.8


def test_eer_tie_takes_the_lower_mean():
    # Operating points: t=0.9 -> (APCER 0.5, BPCER 0.25), t=0.5 -> (0, 0.25): both |gap| 0.25; means 0.375, 0.125.
    result = m.eer([0.1, 0.2, 0.3, 0.9], [0.5, 0.95])
    assert result == (0.125, 0.5, 0.0, 0.25)


def test_eer_scale_invariant():
    rng = np.random.default_rng(0)
    bona, attacks = rng.normal(0, 1, 50), rng.normal(1, 1, 70)
    base = m.eer(bona, attacks)
    scaled = m.eer(3 * bona + 7, 3 * attacks + 7)
    assert scaled.eer == base.eer
    assert scaled.threshold == pytest.approx(3 * base.threshold + 7)


def test_operating_points_match_sklearn_roc_curve():
    rng = np.random.default_rng(1)
    bona, attacks = np.round(rng.normal(0.3, 0.2, 80), 2), np.round(rng.normal(0.6, 0.2, 90), 2)
    thresholds, apcers, bpcers = m.operating_points(bona, attacks)
    labels = np.r_[np.zeros(bona.size), np.ones(attacks.size)]
    fpr, tpr, sk_thresholds = roc_curve(labels, np.r_[bona, attacks], drop_intermediate=False)
    np.testing.assert_array_equal(thresholds, sk_thresholds)
    np.testing.assert_allclose(bpcers, fpr)
    np.testing.assert_allclose(1 - apcers, tpr)


def test_metrics_duplicated_inputs_give_the_same_rates():
    bona, attacks = [0.1, 0.4, 0.5], [0.35, 0.8, 0.6]
    assert m.eer(bona * 2, attacks * 2).eer == m.eer(bona, attacks).eer
    assert m.roc_auc(bona * 3, attacks * 3) == m.roc_auc(bona, attacks)


def test_roc_auc_toydata_and_non_responses():
    assert m.roc_auc([0.1, 0.4], [0.35, 0.8]) == 0.75
    assert m.roc_auc([0.1, 0.2], [0.8, 0.9]) == 1.0
    assert m.roc_auc([0.5, 0.5], [0.5, 0.5]) == 0.5  # ties count half
    # a bona fide non-response (+inf) ranks above every attack; an attack one (-inf) below every bona fide
    assert m.roc_auc([0.1, INF], [0.8, -INF]) == 0.25


@pytest.mark.parametrize(
    ("attacks", "types", "target", "expected"),
    [
        ([0.2, 0.5, 0.6, 0.9], None, 0.25, 0.5),  # one of four may be missed: threshold at the 2nd lowest
        ([0.2, 0.5, 0.6, 0.9], None, 0.0, 0.2),  # none may be missed
        ([0.2, 0.5, 0.6, 0.9], None, 1.0, INF),
        ([0.2, 0.5, 0.6, 0.9], None, 0.24, 0.2),
        ([0.2, 0.5, 0.5, 0.9], None, 0.25, 0.5),  # ties at the threshold are detected
        ([0.2, 0.5, 0.1, 0.3], ["print", "print", "replay", "replay"], 0.5, 0.3),  # min over species
    ],
)
def test_threshold_at_apcer_toydata(attacks, types, target, expected):
    threshold = m.threshold_at_apcer(attacks, target, types)
    assert threshold == expected
    assert m.apcer(attacks, types, threshold).max <= target


def test_threshold_at_apcer_float_target_is_not_rounded_down():
    attacks = np.arange(100, dtype=float)
    assert m.apcer(attacks, None, m.threshold_at_apcer(attacks, 0.29)).max == 0.29  # 0.29 * 100 = 28.999...


def test_threshold_at_bpcer_toydata():
    bona = [0.1, 0.2, 0.3, 0.9]
    threshold = m.threshold_at_bpcer(bona, 0.25)
    assert threshold == np.nextafter(0.3, 1.0)
    assert m.bpcer(bona, threshold) == 0.25
    assert m.threshold_at_bpcer(bona, 0.0) == np.nextafter(0.9, 1.0)
    assert m.threshold_at_bpcer(bona, 1.0) == -INF


def test_bpcer_at_apcer_is_the_lowest_bpcer_meeting_the_target():
    rng = np.random.default_rng(2)
    bona, attacks = np.round(rng.normal(0.3, 0.2, 60), 2), np.round(rng.normal(0.6, 0.2, 80), 2)
    types = np.array(["print", "replay"] * 40)
    point = m.bpcer_at_apcer(bona, attacks, 0.05, types)
    assert point.apcer <= 0.05
    candidates = np.unique(np.r_[bona, attacks, INF])
    feasible = [t for t in candidates if m.apcer(attacks, types, t).max <= 0.05]
    assert point.bpcer == min(m.bpcer(bona, t) for t in feasible)


def test_apcer_at_bpcer_is_the_lowest_apcer_meeting_the_target():
    rng = np.random.default_rng(3)
    bona, attacks = np.round(rng.normal(0.3, 0.2, 60), 2), np.round(rng.normal(0.6, 0.2, 80), 2)
    point = m.apcer_at_bpcer(bona, attacks, 0.05)
    assert point.bpcer <= 0.05
    candidates = np.r_[np.unique(np.r_[bona, attacks]), [np.nextafter(b, INF) for b in bona], INF]
    feasible = [t for t in candidates if m.bpcer(bona, t) <= 0.05]
    assert point.apcer == min(m.pooled_apcer(attacks, t) for t in feasible)


def test_non_response_scores_count_as_errors_of_their_class():
    scores = m.non_response_scores([0.2, math.nan, 0.9, math.nan], [0, 0, 1, 1], [True, False, True, False])
    assert scores.tolist() == [0.2, INF, 0.9, -INF]
    bona, attacks = scores[:2], scores[2:]
    for threshold in (-1e9, 0.5, 1e9):
        assert m.bpcer(bona, threshold) >= 0.5
        assert m.pooled_apcer(attacks, threshold) >= 0.5


def test_attack_non_responses_are_errors_even_at_minus_infinity():
    assert m.pooled_apcer([-INF, 0.3], -INF) == 0.5
    assert m.apcer([-INF, 0.3], ["print", "print"], -INF).max == 0.5
    thresholds, apcers, _ = m.operating_points([0.1], [-INF, 0.3])
    assert thresholds.tolist() == [INF, 0.3, 0.1, -INF]
    assert apcers.tolist() == [1.0, 0.5, 0.5, 0.5]


def test_threshold_at_apcer_when_non_responses_exceed_the_target():
    # 1 of 4 attacks has no face: APCER can never go below 25 %; the best reachable point is kept.
    threshold = m.threshold_at_apcer([-INF, 0.4, 0.6, 0.8], 0.05)
    assert threshold == 0.4
    assert m.pooled_apcer([-INF, 0.4, 0.6, 0.8], threshold) == 0.25


@pytest.mark.parametrize("module", ["stasn.evaluate.metrics", "stasn.evaluate.aggregate"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    failures, tried = doctest.testmod(importlib.import_module(module))
    assert tried > 0 and failures == 0


def test_eer_midpoint_threshold_sits_in_the_middle_of_the_gap_eer_sits_on():
    # separable: eer() puts the threshold on the lowest attack; the midpoint is halfway to the highest bona fide
    assert m.eer([0.1, 0.2], [0.8, 0.9]).threshold == 0.8
    assert m.eer_midpoint_threshold([0.1, 0.2], [0.8, 0.9]) == pytest.approx(0.5)
    # not separable: the same operating point, the threshold between eer()'s score and the next lower one
    bona, attack = [0.1, 0.2, 0.3, 0.6], [0.4, 0.7, 0.8, 0.9]
    result = m.eer(bona, attack)
    middle = m.eer_midpoint_threshold(bona, attack)
    assert middle == pytest.approx((0.6 + 0.4) / 2)
    assert m.pooled_apcer(attack, middle) == result.apcer and m.bpcer(bona, middle) == result.bpcer
    # an open-ended gap (everything on one side) keeps eer()'s threshold
    assert m.eer_midpoint_threshold([0.5, 0.5], [0.5, 0.5]) == m.eer([0.5, 0.5], [0.5, 0.5]).threshold
    rng = np.random.default_rng(0)
    for _ in range(50):  # always the eer() operating point
        bona, attack = rng.random(7), rng.random(5) + 0.3
        result, middle = m.eer(bona, attack), m.eer_midpoint_threshold(bona, attack)
        assert middle <= result.threshold
        assert m.pooled_apcer(attack, middle) == result.apcer and m.bpcer(bona, middle) == result.bpcer
