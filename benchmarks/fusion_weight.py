"""The TASM/SASM fusion weight, swept without training.

``model.fusion_weight`` (lambda in ``spoof_score = lambda * p_TASM + (1 - lambda) * p_SASM``) does not enter the
losses: TASM and SASM are trained with their own cross-entropies and the weight only combines their scores. So the
weight is an ablation of scoring, not of training: every finished STASN run of a protocol of
``benchmarks/generalization.py`` is scored once with TASM's score and once with SASM's, and each lambda is evaluated
exactly as the harness evaluates a run: threshold at the EER of that run's dev split, test plain and under face-gain,
per-project and pooled AUC, beside the peer's row of the same items (taken from the protocol's results file).

    python benchmarks/fusion_weight.py --protocol leave-projects-out --data real [--weights 0 0.25 0.5 0.75 1]

Needs the protocol's runs (``generalization.py --models stasn --data ... --seeds N`` first); writes
``runs/generalization/results/fusion-<protocol>-<data>.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generalization as gen  # noqa: E402

from stasn.data.manifest import read_manifest  # noqa: E402


def fuse(p_tasm: dict[str, float], p_sasm: dict[str, float], weight: float) -> dict[str, float]:
    """``weight * p_tasm + (1 - weight) * p_sasm`` per video (clip means are linear, so fusing means is exact)."""
    return {v: weight * p_tasm[v] + (1.0 - weight) * p_sasm[v] for v in p_tasm}


def sweep(protocol: str, data: str, weights: list[float], epochs: int = 2) -> dict:
    """Score every finished ``stasn`` run of ``protocol``/``data`` at every fusion weight; a results dict in the
    harness's format (one ``model`` per weight), so its tables apply."""
    source = gen.OUT / "results" / f"{protocol}-e{epochs}-joint.json"
    if not source.is_file():
        raise SystemExit(f"{source}: no results of {protocol}; run benchmarks/generalization.py first")
    earlier = json.loads(source.read_text())
    runs = [r for r in earlier["runs"] if r["model"] == "stasn" and r["data"] == data]
    if not runs:
        raise SystemExit(f"{source}: no stasn runs with --data {data}")
    pools, meta = gen.prepare_pools()
    manifests = [*pools.values(), *([gen.synth_pool(pools)] if data != "real" else [])]
    labels = {r.video_id: (r.label, r.attack_type) for pool in manifests for r in read_manifest(pool / "manifest.csv")}
    projects = {v: m["project"] for v, m in meta.items()}
    results = {
        "protocol": f"{protocol} fusion-weight sweep ({data})",
        "epochs": epochs,
        "schedule": "joint",
        "overrides": [],
        "splits": earlier["splits"],
        "runs": [],
    }
    for run in runs:
        checkpoint = gen.selected_checkpoint(gen.OUT / "runs" / run["name"])
        caches = {
            "dev": gen.OUT / "caches" / f"{protocol}-{run['split']}-{data}",
            "plain": gen.OUT / "caches" / f"{protocol}-{run['split']}-{data}",
            "face-gain": gen.OUT / "caches" / f"{protocol}-{run['split']}-face-gain",
        }
        scores = {}
        for part, cache in caches.items():
            split = "dev" if part == "dev" else "test"
            scores[part] = [gen.model_scores(checkpoint, cache, split, fusion_weight=w) for w in (1.0, 0.0)]
        for weight in weights:
            dev = fuse(*scores["dev"], weight)
            entry = {"split": run["split"], "data": data, "model": f"stasn lambda={weight:g}", "seed": run["seed"]}
            entry["name"] = f"{run['name']}-lambda{weight:g}"
            for ph in ("plain", "face-gain"):
                entry[ph] = gen.rates(dev, fuse(*scores[ph], weight), labels, projects)
            results["runs"].append(entry)
        print(f"{run['name']}: scored at {len(weights)} fusion weights", flush=True)
    folder = gen.OUT / "results"
    stem = f"fusion-{protocol}-{data}"
    (folder / f"{stem}.json").write_text(json.dumps(results, indent=1))
    (folder / f"{stem}.md").write_text(gen.summarize(results) + "\n")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", default="leave-projects-out", choices=gen.PROTOCOLS)
    parser.add_argument("--data", default="real", choices=gen.DATA)
    parser.add_argument("--weights", nargs="+", type=float, default=[0.0, 0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    if not all(0.0 <= w <= 1.0 for w in args.weights):
        raise SystemExit(f"--weights: every weight must be in [0, 1], got {args.weights}")
    results = sweep(args.protocol, args.data, args.weights, args.epochs)
    print(gen.summarize(results))


if __name__ == "__main__":
    main()
