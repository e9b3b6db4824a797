"""Compute reference values for stasn's PAD metrics with bob.measure and pyeer -> tests/fixtures/metric_reference.json.

bob.measure pins numpy~=1.26 and cannot be installed beside stasn (numpy 2), so this script runs in a throwaway venv
and imports nothing from stasn::

    python3 -m venv /tmp/bobenv && /tmp/bobenv/bin/pip install bob.measure pyeer
    /tmp/bobenv/bin/python tools/make_metric_fixtures.py            # writes tests/fixtures/metric_reference.json

Mirroring (stated once, used everywhere below). stasn scores are spoof scores ``s`` (higher = attack) and classify
``s >= tau`` as an attack. bob.measure and pyeer take bona fide scores ``x`` (higher = live) and accept ``x >= t`` as
bona fide; positives = bona fide, negatives = attacks, FAR = APCER, FRR = BPCER. We pass ``x = -s``. Then bob accepts
an attack iff ``s <= -t`` and rejects a bona fide sample iff ``s > -t``; stasn at ``tau = nextafter(-t, +inf)`` counts
an undetected attack iff ``s < tau`` (i.e. ``s <= -t``) and a bona fide error iff ``s >= tau`` (i.e. ``s > -t``): the
same operating point, including scores lying exactly on the threshold. Every bob threshold below is stored with its
stasn equivalent ``threshold``.

What is referenced, per seeded score set (several sets have ties):
* ``farfrr``: bob.measure.farfrr per species and pooled at a list of thresholds (some exactly on scores).
* ``eer``: bob.measure.eer_threshold + farfrr at it (the bob.measure.eer value).
* ``auc``: pyeer (trapezoid over every threshold) and bob.measure.roc_auc_score (2000-point approximation).
* ``bpcer_at_apcer`` / ``apcer_at_bpcer``: the best operating point meeting the target, found by evaluating
  bob.measure.farfrr at every achievable threshold (brute force), plus the operating point of bob.pad.base's own
  ``apcer_threshold`` (max over species of bob.measure.far_threshold) and of bob.measure.frr_threshold, which are more
  conservative than the best point; bob.pad.base itself is not installed, its one-line rule is restated here.
* ``pyeer_curve``: pyeer.eer_stats.calculate_roc (FMR = APCER pooled, FNMR = BPCER) at a sample of thresholds.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

import bob.measure
import numpy as np
from pyeer.eer_stats import calculate_roc, calculate_roc_auc

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "metric_reference.json"
TARGETS = (0.01, 0.05, 0.10, 0.20)


def stasn_threshold(bob_threshold: float) -> float:
    """The stasn spoof-score threshold with the same operating point as bob's bona fide threshold."""
    return float(np.nextafter(-bob_threshold, np.inf))


def make_sets() -> list[dict]:
    """Seeded score sets: continuous, rounded (ties across classes), integer (many ties), separable, imbalanced."""
    sets = []

    def add(name: str, seed: int, bona: np.ndarray, attacks: dict[str, np.ndarray], note: str) -> None:
        types = [t for t, s in attacks.items() for _ in range(len(s))]
        scores = np.concatenate(list(attacks.values()))
        sets.append(
            {
                "name": name,
                "seed": seed,
                "note": note,
                "bona_fide": [float(v) for v in bona],
                "attacks": [float(v) for v in scores],
                "attack_types": types,
            }
        )

    rng = np.random.default_rng(1)
    add(
        "gauss-continuous", 1, rng.normal(0.3, 0.15, 100),
        {"print": rng.normal(0.7, 0.15, 100), "replay": rng.normal(0.6, 0.2, 100)},
        "continuous scores, no ties",
    )  # fmt: skip
    rng = np.random.default_rng(2)
    add(
        "rounded-ties", 2, np.round(rng.normal(0.35, 0.15, 120), 2),
        {"print": np.round(rng.normal(0.65, 0.15, 90), 2), "replay": np.round(rng.normal(0.55, 0.2, 110), 2)},
        "scores rounded to 2 decimals: many ties inside and across classes",
    )  # fmt: skip
    rng = np.random.default_rng(3)
    add(
        "integer-ties", 3, rng.integers(0, 6, 57).astype(float),
        {
            "print": rng.integers(3, 10, 40).astype(float),
            "replay": rng.integers(2, 9, 31).astype(float),
            "mask": rng.integers(4, 10, 23).astype(float),
        },
        "integer scores 0..9: heavy ties, three species of unequal size",
    )  # fmt: skip
    rng = np.random.default_rng(4)
    add(
        "heavy-overlap", 4, np.round(rng.uniform(0, 1, 150), 3),
        {"print": np.round(rng.uniform(0.1, 1, 130), 3), "replay": np.round(rng.uniform(0, 0.9, 120), 3)},
        "uniform, strongly overlapping, 3 decimals",
    )  # fmt: skip
    rng = np.random.default_rng(5)
    add(
        "separable", 5, rng.uniform(0.0, 0.4, 60),
        {"print": rng.uniform(0.6, 1.0, 50), "replay": rng.uniform(0.5, 0.9, 40)},
        "perfectly separable: EER 0",
    )  # fmt: skip
    rng = np.random.default_rng(6)
    add(
        "imbalanced", 6, np.round(rng.beta(2, 5, 20), 2),
        {
            "print": np.round(rng.beta(5, 2, 80), 2),
            "replay": np.round(rng.beta(4, 3, 90), 2),
            "mask": np.round(rng.beta(3, 3, 70), 2),
            "paper-cut": np.round(rng.beta(6, 2, 60), 2),
        },
        "20 bona fide against 300 attacks of 4 species, ties",
    )  # fmt: skip
    return sets


def reference(entry: dict) -> dict:
    """bob.measure / pyeer values for one score set, in bona fide polarity, each threshold mirrored to stasn's."""
    pos = -np.asarray(entry["bona_fide"])  # bona fide score x = -spoof_score
    neg_all = -np.asarray(entry["attacks"])
    types = np.asarray(entry["attack_types"])
    species = sorted(set(types))
    negs = {name: neg_all[types == name] for name in species}

    def rates(t: float) -> dict:
        per = {name: float(bob.measure.farfrr(negs[name], pos, t)[0]) for name in species}
        far, frr = bob.measure.farfrr(neg_all, pos, t)
        return {
            "bob_threshold": float(t),
            "threshold": stasn_threshold(t),
            "apcer_per_species": per,
            "apcer_max": max(per.values()),
            "apcer_pooled": float(far),
            "bpcer": float(frr),
        }

    everything = np.unique(np.concatenate([pos, neg_all]))
    candidates = np.concatenate([everything, [np.nextafter(everything[-1], np.inf)]])  # every operating point
    points = [rates(t) for t in candidates]

    quantiles = np.quantile(everything, [0.1, 0.3, 0.5, 0.7, 0.9])
    on_scores = everything[np.linspace(0, everything.size - 1, 6).astype(int)]
    farfrr = [
        rates(t) for t in np.unique(np.concatenate([quantiles, on_scores, [everything[0] - 1, everything[-1] + 1]]))
    ]

    eer_t = bob.measure.eer_threshold(neg_all, pos)
    eer_far, eer_frr = bob.measure.farfrr(neg_all, pos, eer_t)

    bpcer_at_apcer = []
    apcer_at_bpcer = []
    for target in TARGETS:
        # best point with max-over-species APCER <= target: lowest bob threshold (bob FRR grows with t)
        best = next(p for p in points if p["apcer_max"] <= target + 1e-12)
        best_pooled = next(p for p in points if p["apcer_pooled"] <= target + 1e-12)
        bob_pad_t = max(bob.measure.far_threshold(n, pos, target) for n in negs.values())  # bob.pad.base rule
        bob_pad = rates(bob_pad_t)
        bpcer_at_apcer.append(
            {
                "target": target,
                "best": {"apcer": best["apcer_max"], "bpcer": best["bpcer"]},
                "best_pooled": {"apcer": best_pooled["apcer_pooled"], "bpcer": best_pooled["bpcer"]},
                "bob_pad_apcer_threshold": {"apcer": bob_pad["apcer_max"], "bpcer": bob_pad["bpcer"]},
            }
        )
        # best point with BPCER <= target: highest bob threshold (lowest APCER)
        best_b = [p for p in points if p["bpcer"] <= target + 1e-12][-1]
        bob_frr_t = bob.measure.frr_threshold(neg_all, pos, target)
        bob_frr = rates(bob_frr_t)
        apcer_at_bpcer.append(
            {
                "target": target,
                "best": {
                    "apcer": best_b["apcer_max"],
                    "apcer_pooled": best_b["apcer_pooled"],
                    "bpcer": best_b["bpcer"],
                },
                "bob_frr_threshold": {"apcer_pooled": bob_frr["apcer_pooled"], "bpcer": bob_frr["bpcer"]},
            }
        )

    thr, fmr, fnmr = calculate_roc(pos, neg_all)  # pyeer: genuine = bona fide, impostor = attack
    pick = np.linspace(0, len(thr) - 1, 15).astype(int)
    pyeer_curve = [
        {
            "pyeer_threshold": float(thr[i]),
            "threshold": stasn_threshold(thr[i]),
            "fmr": float(fmr[i]),
            "fnmr": float(fnmr[i]),
        }
        for i in pick
    ]
    return {
        "farfrr": farfrr,
        "eer": {
            "bob_threshold": float(eer_t),
            "threshold": stasn_threshold(eer_t),
            "apcer": float(eer_far),
            "bpcer": float(eer_frr),
            "eer": float(bob.measure.eer(neg_all, pos)),
        },
        "auc": {
            "pyeer": float(calculate_roc_auc(fmr, fnmr)),
            "bob_2000_points": float(bob.measure.roc_auc_score(neg_all, pos)),
        },
        "bpcer_at_apcer": bpcer_at_apcer,
        "apcer_at_bpcer": apcer_at_bpcer,
        "pyeer_curve": pyeer_curve,
    }


def main() -> int:
    sets = make_sets()
    for entry in sets:
        entry["reference"] = reference(entry)
    document = {
        "generator": "tools/make_metric_fixtures.py",
        "versions": {name: version(name) for name in ("bob.measure", "pyeer", "numpy")},
        "mirroring": "bob/pyeer get x = -spoof_score; bob threshold t <=> stasn threshold nextafter(-t, +inf)",
        "sets": sets,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    tmp.replace(OUT)
    for entry in sets:
        ref = entry["reference"]
        print(
            f"{entry['name']:18s} n_bf={len(entry['bona_fide']):4d} n_att={len(entry['attacks']):4d} "
            f"EER={ref['eer']['eer']:.4f} AUC(pyeer)={ref['auc']['pyeer']:.4f} "
            f"AUC(bob)={ref['auc']['bob_2000_points']:.4f}"
        )
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
