"""The dev -> test protocol (stasn.evaluate.evaluation) on hand-checkable score sets."""

from __future__ import annotations

import math

import pytest

from stasn.errors import DataError
from stasn.evaluate.evaluation import evaluate_scores, summarize_folds
from stasn.evaluate.scores import ScoreRow

NAN = math.nan


def _videos(spec: list[tuple[str, str, float]], frames: int = 2) -> list[ScoreRow]:
    """Rows for (video_id, attack_type, score) videos; frames at score ± 0.05 (mean = score); NaN = no face."""
    rows = []
    for video, kind, score in spec:
        label = 0 if kind == "live" else 1
        for f in range(frames):
            if math.isnan(score):
                rows.append(ScoreRow(f"{video}#{f}", video, label, kind, NAN, f, status="no_face"))
            else:
                rows.append(ScoreRow(f"{video}#{f}", video, label, kind, score + (0.05 if f % 2 else -0.05), f))
    return rows


DEV = _videos(
    [("d1", "live", 0.1), ("d2", "live", 0.2), ("d3", "live", 0.3), ("d4", "live", 0.6)]
    + [("d5", "print", 0.7), ("d6", "print", 0.8), ("d7", "replay", 0.4), ("d8", "replay", 0.9)]
)
TEST = _videos(
    [("t1", "live", 0.05), ("t2", "live", 0.5), ("t3", "live", 0.65), ("t4", "live", 0.2), ("t5", "live", NAN)]
    + [("t6", "print", 0.55), ("t7", "print", 0.95), ("t8", "replay", 0.62), ("t9", "replay", 0.3)]
    + [("t10", "replay", NAN)]
)


def test_evaluate_scores_freezes_the_dev_eer_threshold():
    result = evaluate_scores(DEV, TEST, "eer")
    assert result.threshold == pytest.approx(0.6)  # dev EER point: APCER 1/4, BPCER 1/4
    assert result.dev_curve.eer == pytest.approx(0.25)
    rates = result.test_rates
    # live: 0.65 and the no-face video are errors (2/5); print 0.55 missed (1/2); replay 0.3 and no-face (2/3)
    assert rates.bpcer == pytest.approx(2 / 5)
    assert rates.apcer_per_species == pytest.approx({"print": 1 / 2, "replay": 2 / 3})
    assert rates.apcer == pytest.approx(2 / 3)
    assert rates.apcer_pooled == pytest.approx(3 / 5)
    assert rates.acer == pytest.approx((2 / 3 + 2 / 5) / 2)
    assert rates.hter == pytest.approx((3 / 5 + 2 / 5) / 2)
    assert result.test.bona_fide_non_responses == 1
    assert result.test.attack_non_responses == {"print": 0, "replay": 1}
    assert result.test.attack_counts == {"print": 2, "replay": 3}


def test_evaluate_scores_test_oracle_is_separate_from_the_frozen_threshold():
    result = evaluate_scores(DEV, TEST, "eer")
    assert result.test_curve_oracle.eer_threshold != result.threshold
    assert set(result.test_curve_oracle.bpcer_at_apcer) == {"BPCER10", "BPCER20", "BPCER100"}
    assert 0.0 <= result.test_curve_oracle.auc <= 1.0


def test_evaluate_scores_bpcer_criteria_meet_their_dev_apcer():
    for criterion, target in (("bpcer10", 0.10), ("bpcer20", 0.05), ("bpcer100", 0.01)):
        result = evaluate_scores(DEV, TEST, criterion)
        assert result.dev_rates.apcer <= target
    # two attacks per dev species: any APCER target below 1/2 means no dev attack may be missed
    assert evaluate_scores(DEV, TEST, "bpcer20").threshold == pytest.approx(0.4)


def test_evaluate_scores_frame_level_without_aggregation():
    result = evaluate_scores(DEV, TEST, "eer", aggregate="none")
    assert result.dev.bona_fide.size == 8  # 4 videos x 2 frames
    assert result.aggregate == "none"


def test_evaluate_scores_result_to_dict_is_json_ready():
    import json

    data = evaluate_scores(DEV, TEST).to_dict()
    text = json.dumps(data, allow_nan=False)
    assert '"criterion": "eer"' in text and data["counts"]["test"]["bona_fide_non_responses"] == 1


@pytest.mark.parametrize(
    ("dev", "test", "kwargs", "error", "message"),
    [
        (DEV[:8], TEST, {}, DataError, r"dev scores have no attack \(label 1\) rows"),
        (DEV, TEST[10:], {}, DataError, r"test scores have no bona fide \(live, label 0\) rows"),
        ([], TEST, {}, DataError, "dev scores: no rows"),
        (DEV, TEST, {"criterion": "far"}, ValueError, "Unknown criterion 'far'. Valid values are"),
        (DEV, TEST, {"aggregate": "mode"}, ValueError, "Unknown aggregate 'mode'. Valid values are"),
    ],
)
def test_evaluate_scores_bad_input(dev, test, kwargs, error, message):
    with pytest.raises(error, match=message):
        evaluate_scores(dev, test, **kwargs)


def test_summarize_folds_mean_and_sample_std():
    first = evaluate_scores(DEV, TEST)
    second = evaluate_scores(TEST, DEV)  # roles swapped: a second "fold"
    summary = summarize_folds([first, second])
    values = [first.test_rates.acer, second.test_rates.acer]
    assert summary.mean["acer"] == pytest.approx(sum(values) / 2)
    assert summary.std["acer"] == pytest.approx(abs(values[0] - values[1]) / math.sqrt(2))  # ddof=1
    assert summarize_folds([first, second], ddof=0).std["acer"] == pytest.approx(abs(values[0] - values[1]) / 2)
    assert "apcer[print]" in summary.mean and "BPCER20_oracle" in summary.mean
    with pytest.raises(ValueError, match="at least 2 folds"):
        summarize_folds([first])


def test_eer_mid_criterion_moves_the_dev_threshold_into_the_gap():
    import numpy as np

    from stasn.evaluate.evaluation import ScoreSet, dev_threshold

    dev = ScoreSet("dev", np.array([0.1, 0.2]), np.array([0.8, 0.9]), np.array(["print", "print"]))
    assert dev_threshold(dev, "eer") == 0.8
    assert dev_threshold(dev, "eer-mid") == pytest.approx(0.5)
