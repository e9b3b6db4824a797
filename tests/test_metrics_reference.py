"""stasn metrics against bob.measure and pyeer, via tests/fixtures/metric_reference.json.

The fixture is made by ``tools/make_metric_fixtures.py`` in a separate venv (bob.measure needs numpy 1.26). bob/pyeer
work on bona fide scores ``x = -spoof_score``; each of their thresholds ``t`` is stored with the stasn threshold
``nextafter(-t, +inf)`` that gives the same operating point (see the tool's docstring).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stasn.evaluate import metrics as m

FIXTURE = Path(__file__).parent / "fixtures" / "metric_reference.json"
SETS = json.loads(FIXTURE.read_text(encoding="utf-8"))["sets"]


def _arrays(entry: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.array(entry["bona_fide"]), np.array(entry["attacks"]), np.array(entry["attack_types"])


def test_fixture_covers_ties_and_several_sets():
    assert len(SETS) >= 5
    with_ties = [
        e["name"] for e in SETS if len(set(e["bona_fide"] + e["attacks"])) < len(e["bona_fide"] + e["attacks"])
    ]
    assert len(with_ties) >= 3


@pytest.mark.parametrize("entry", SETS, ids=[e["name"] for e in SETS])
def test_rates_match_bob_measure_farfrr(entry):
    bona, attacks, types = _arrays(entry)
    for point in entry["reference"]["farfrr"]:
        threshold = point["threshold"]
        per = m.apcer(attacks, types, threshold)
        assert per.per_species == point["apcer_per_species"], point["bob_threshold"]
        assert per.max == point["apcer_max"]
        assert m.pooled_apcer(attacks, threshold) == point["apcer_pooled"]
        assert m.bpcer(bona, threshold) == point["bpcer"]
        assert m.hter(bona, attacks, threshold) == pytest.approx((point["apcer_pooled"] + point["bpcer"]) / 2)
        assert m.acer(bona, attacks, types, threshold) == pytest.approx((point["apcer_max"] + point["bpcer"]) / 2)


@pytest.mark.parametrize("entry", SETS, ids=[e["name"] for e in SETS])
def test_eer_matches_bob_measure(entry):
    bona, attacks, _ = _arrays(entry)
    ref = entry["reference"]["eer"]
    ours = m.eer(bona, attacks)
    assert ours.eer == pytest.approx(ref["eer"], abs=1e-12)
    assert (ours.apcer, ours.bpcer) == pytest.approx((ref["apcer"], ref["bpcer"]), abs=1e-12)
    # Thresholds differ (bob takes midpoints, stasn score values) but classify the set identically.
    assert m.pooled_apcer(attacks, ref["threshold"]) == ours.apcer
    assert m.bpcer(bona, ref["threshold"]) == ours.bpcer


@pytest.mark.parametrize("entry", SETS, ids=[e["name"] for e in SETS])
def test_roc_auc_matches_pyeer_and_bob(entry):
    bona, attacks, _ = _arrays(entry)
    ours = m.roc_auc(bona, attacks)
    assert ours == pytest.approx(entry["reference"]["auc"]["pyeer"], abs=1e-12)
    assert ours == pytest.approx(entry["reference"]["auc"]["bob_2000_points"], abs=1e-3)  # bob samples 2000 points


@pytest.mark.parametrize("entry", SETS, ids=[e["name"] for e in SETS])
def test_rates_match_pyeer_roc(entry):
    bona, attacks, _ = _arrays(entry)
    for point in entry["reference"]["pyeer_curve"]:
        assert m.pooled_apcer(attacks, point["threshold"]) == pytest.approx(point["fmr"], abs=1e-12)
        assert m.bpcer(bona, point["threshold"]) == pytest.approx(point["fnmr"], abs=1e-12)


@pytest.mark.parametrize("entry", SETS, ids=[e["name"] for e in SETS])
def test_bpcer_at_apcer_matches_best_bob_operating_point(entry):
    bona, attacks, types = _arrays(entry)
    for ref in entry["reference"]["bpcer_at_apcer"]:
        target = ref["target"]
        ours = m.bpcer_at_apcer(bona, attacks, target, types)
        assert (ours.apcer, ours.bpcer) == pytest.approx((ref["best"]["apcer"], ref["best"]["bpcer"]), abs=1e-12)
        pooled = m.bpcer_at_apcer(bona, attacks, target)
        best_pooled = ref["best_pooled"]
        assert (pooled.apcer, pooled.bpcer) == pytest.approx((best_pooled["apcer"], best_pooled["bpcer"]), abs=1e-12)
        # bob.pad.base's apcer_threshold meets the same target but may give away BPCER; never better than ours.
        assert ref["bob_pad_apcer_threshold"]["apcer"] <= target + 1e-12
        assert ours.bpcer <= ref["bob_pad_apcer_threshold"]["bpcer"] + 1e-12


@pytest.mark.parametrize("entry", SETS, ids=[e["name"] for e in SETS])
def test_apcer_at_bpcer_matches_best_bob_operating_point(entry):
    bona, attacks, types = _arrays(entry)
    for ref in entry["reference"]["apcer_at_bpcer"]:
        best = ref["best"]
        ours = m.apcer_at_bpcer(bona, attacks, ref["target"], types)
        assert (ours.apcer, ours.bpcer) == pytest.approx((best["apcer"], best["bpcer"]), abs=1e-12)
        pooled = m.apcer_at_bpcer(bona, attacks, ref["target"])
        assert pooled.apcer == pytest.approx(best["apcer_pooled"], abs=1e-12)
