"""Train the model stasn ships (``src/stasn/weights/stasn_lite0.*``) on everything the developers hold.

Data (``../shared/data``, the same pools and boxes as ``benchmarks/generalization.py``): NUAA (every frame of every
capture), ``replay-crops-train`` + ``replay-crops-dev`` (16 projects; ``nonface_crop`` rows out), ``live-faces``, and
one synthesized replay per live item (one replay and one print per NUAA live capture). A small dev split, disjoint by
project and subject, fixes the threshold: 2 replay projects, 1 live-faces project and 2 NUAA subjects are held out
of training. The recipe is ``configs/lite.yaml`` (EfficientNet-Lite0 from ImageNet weights) with ``--epochs`` of
``--schedule`` (``joint``: TASM, RAM and SASM trained together from the start, which a 2-core machine affords).

    python benchmarks/train_release.py [--epochs 2] [--schedule joint] [--seed 0]
        [--out src/stasn/weights/stasn_lite0.json]

Writes the release (weights as float16 safetensors + JSON card with config, crop sizes, dev threshold, training data
summary and SHA-256) after checking that float16 storage moves scores by less than 1e-3. Re-running gives the same
model up to run-to-run variation (CPU kernels are not bit-exact across machines).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generalization as g  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "src" / "stasn" / "weights" / "stasn_lite0.json"
DEV_REPLAY_PROJECTS = ("TrickyF0x/twoFactorLivenessDetection", "nurcanyardimci/LivenessDetection")


def release_assignment(meta: dict[str, dict]) -> dict[str, str]:
    """Everything trains except the dev split: 2 replay projects, 1 live-faces project, 2 NUAA subjects."""
    nuaa_subjects = sorted({m["subject"] for m in meta.values() if m["source"] == "nuaa"})
    dev_nuaa = {nuaa_subjects[i] for i in np.random.default_rng(7).permutation(len(nuaa_subjects))[:2]}
    live_projects = sorted({m["project"] for m in meta.values() if m["source"] == "live-faces"})
    dev_projects = {*DEV_REPLAY_PROJECTS, live_projects[-1]}
    out = {}
    for v, m in meta.items():
        held = m["project"] in dev_projects or (m["source"] == "nuaa" and m["subject"] in dev_nuaa)
        out[v] = "dev" if held else "train"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--schedule", default="joint", choices=["staged", "joint"], help="see generalization.py")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides")
    args = parser.parse_args()
    if not (g.SHARED / "nuaa-raw-train").is_dir():
        raise SystemExit(f"{g.SHARED}: not found; the release is trained on ../shared beside the checkout")

    from stasn.data.manifest import read_manifest
    from stasn.infer.release import save_release, score_drift
    from stasn.model.checkpoint import load_checkpoint

    start = time.perf_counter()
    pools, meta = g.prepare_pools()
    synth = g.synth_pool(pools)
    sources = g.synth_sources(synth)
    live = {r.video_id for p in (pools["images"], pools["nuaa"]) for r in read_manifest(p) if r.label == 0}
    assignment = g.with_synth(release_assignment(meta), sources, "real+synth", live)
    cache = g.run_cache(f"release-s{args.seed}", assignment, [pools["images"], pools["nuaa"], synth])
    name = f"release-e{args.epochs}-{args.schedule}-s{args.seed}" + "".join(f"-{o}" for o in args.set)
    checkpoint = g.train_run(name, cache, "stasn", args.seed, args.epochs, args.set, args.schedule)
    loaded = load_checkpoint(checkpoint)

    rows = {r.video_id: r for r in read_manifest(cache)}
    counts: Counter = Counter()
    for v, split in assignment.items():
        if v in rows:
            source = "synthesized" if v.startswith("synth/") else meta[v]["source"]
            counts[f"{split} {source} {'live' if rows[v].label == 0 else rows[v].attack_type}"] += 1
    training = {
        "recipe": "configs/lite.yaml" + "".join(f" {o}" for o in args.set),
        "epochs": args.epochs,
        "schedule": args.schedule,
        "seed": args.seed,
        "command": "python benchmarks/train_release.py " + " ".join(sys.argv[1:]),
        "items_by_split_source_class": dict(sorted(counts.items())),
        "dev_split": {
            "replay_projects": list(DEV_REPLAY_PROJECTS),
            "rule": "2 replay projects, 1 live-faces project, 2 NUAA subjects held out of training",
        },
        "dev_metrics": loaded.metadata.get("dev_metrics", {}),
        "data_terms": "NUAA: research use only; the replay and live-faces crops carry no data licence and show "
        "identifiable people: research, non-commercial use (docs/model_card.md)",
        "minutes": round((time.perf_counter() - start) / 60, 1),
    }
    card = save_release(loaded, args.out, training=training)
    drift = score_drift(loaded, card)
    print(
        f"wrote {card} and {card.with_suffix('.safetensors')} (threshold {loaded.threshold:.4f}, float16 drift "
        f"{drift:.1e}, {training['minutes']} min)"
    )


if __name__ == "__main__":
    main()
