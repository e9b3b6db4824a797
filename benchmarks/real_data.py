"""Real-data runs (issue "Training STASN at any scale"): needs ../shared; CPU, about 10-20 minutes each.

1. ``nuaa`` — train STASN on NUAA (live vs printed-photo attacks), threshold fixed on dev, ACER / EER / AUC on test,
   for each ``--models`` variant (``lite0-imagenet``: EfficientNet-Lite0 with the offline ImageNet weights;
   ``lite0-scratch``: the same from random weights; ``r18-scratch``: ResNet-18 from random weights; all at the sizes
   of ``configs/lite.yaml``: 128 px, high-res 256, T=4, K=3, regions 64 px) and each ``--splits`` rule (the shared
   copy has only the official *train* list, sessions 01-02, so every split comes from it):
   ``subject`` = subject-disjoint 60 / 20 / 20 % train / dev / test; ``session01`` = train on session 01 (dev: 2 of its
   9 subjects, held out), test on all of session 02; ``session02`` = the reverse. The cross-session splits share
   subjects between train and test (NUAA has the same 9 people in both sessions): they test a new session's light,
   place and prints, not new people.
2. ``claim`` — the paper's data claim on real attacks: train on NUAA's LIVE faces only plus attacks synthesized from
   them (replay + print, cached and on the fly; no real replay and no real print; every live clip re-filmed by a
   random camera, :class:`stasn.synth.camera.SimulateCamera`; zoom-in box jitter 0.3), then score the real live and
   replay face crops of ``../shared/data/replay-crops-dev/`` at the threshold fixed on the synthetic dev split;
   report AUC, APCER, BPCER.

``claim`` uses the demo-sized model (ResNet-18, 96 px, T=4, K=3) trained from scratch. Results go to
``runs/real-data/`` (ignored by git).

    python benchmarks/real_data.py nuaa [--models lite0-imagenet lite0-scratch r18-scratch]
        [--splits subject session01 session02] [--epochs 6]
    python benchmarks/real_data.py claim [--epochs 12]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import shutil
import time
from pathlib import Path

import numpy as np

from stasn.data.manifest import CacheInfo
from stasn.data.prepare import prepare_samples
from stasn.datasets import open_dataset
from stasn.datasets.base import Sample

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
NUAA = SHARED / "data" / "nuaa-raw-train"
CROPS = SHARED / "data" / "replay-crops-dev"
YUNET = SHARED / "models" / "yunet" / "face_detection_yunet_2026may.onnx"
OUT = ROOT / "runs" / "real-data"
MODEL = {
    "backbone": "resnet18",
    "num_frames": 4,
    "input_size": 96,
    "highres_size": 192,
    "num_regions": 3,
    "region_size": 48,
    "region_output_size": 48,
    "lstm_hidden": 64,
    "dropout": 0.1,
}
INFO = CacheInfo(face_size=96, highres_size=192)
LITE_SIZES = {
    "num_frames": 4,
    "input_size": 128,
    "highres_size": 256,
    "num_regions": 3,
    "region_size": 64,
    "region_output_size": 64,
    "lstm_hidden": 128,
    "dropout": 0.2,
}
NUAA_MODELS = {  # name -> (model overrides, learning rate)
    "lite0-imagenet": ({**LITE_SIZES, "backbone": "efficientnet_lite0", "pretrained": "imagenet"}, 3e-4),
    "lite0-scratch": ({**LITE_SIZES, "backbone": "efficientnet_lite0"}, 1e-3),
    "r18-scratch": ({**LITE_SIZES, "backbone": "resnet18"}, 1e-3),
}
NUAA_SPLITS = ("subject", "session01", "session02")
LITE_INFO = CacheInfo(face_size=128, highres_size=256)


def split_by_subject(samples: list[Sample], fractions=(0.6, 0.2, 0.2), seed: int = 0) -> list[Sample]:
    """Reassign splits subject-disjointly (sorted subjects, seeded shuffle)."""
    subjects = sorted({s.subject for s in samples})
    order = np.random.default_rng(seed).permutation(len(subjects))
    n_train = round(fractions[0] * len(subjects))
    n_dev = round(fractions[1] * len(subjects))
    split = {}
    for rank, idx in enumerate(order):
        split[subjects[idx]] = "train" if rank < n_train else ("dev" if rank < n_train + n_dev else "test")
    return [dataclasses.replace(s, split=split[s.subject]) for s in samples]


def split_by_session(samples: list[Sample], train_session: str, dev_subjects: int = 2, seed: int = 0) -> list[Sample]:
    """Train on ``train_session`` (``dev_subjects`` of its subjects held out as dev), test on every other session."""
    subjects = sorted({s.subject for s in samples if s.session == train_session})
    dev = {subjects[i] for i in np.random.default_rng(seed).permutation(len(subjects))[:dev_subjects]}
    out = []
    for s in samples:
        split = ("dev" if s.subject in dev else "train") if s.session == train_session else "test"
        out.append(dataclasses.replace(s, split=split))
    return out


def experiment(
    name: str,
    cache: Path,
    epochs: int,
    synth_fraction: float = 0.0,
    live_camera: float = 0.0,
    box_jitter: float = 0.08,
    model: dict | None = None,
    lr: float = 1e-3,
):
    from stasn.train.config import load_experiment

    per = max(1, epochs // 3)
    return load_experiment(
        None,
        base={
            "name": name,
            "output_dir": str(OUT / "runs"),
            "seed": 0,
            "model": model or MODEL,
            "data": {
                "cache": str(cache),
                "batch_size": 8,
                "num_workers": 0,
                "eval_clips_per_video": 2,
                "train_clips_per_video": 8,
                "box_jitter": box_jitter,
            },
            "synth": {"fraction": synth_fraction, "live_camera": live_camera},
            "train": {
                "stages": [
                    {"stage": "tasm", "epochs": per},
                    {"stage": "sasm", "epochs": per},
                    {"stage": "joint", "epochs": epochs - 2 * per},
                ],
                "lr": lr,
                "warmup_steps": 10,
                "log_every_n_steps": 10,
            },
        },
    )


def run_nuaa(epochs: int, models: list[str], splits: list[str]) -> dict:
    """Every model variant on every split rule; returns ``{split: {model: outcome}}``."""
    from stasn.train.run import train_experiment

    everything = list(open_dataset("nuaa", NUAA, dev_fraction=0.0))
    outcome: dict = {}
    for split in splits:
        if split == "subject":
            samples = split_by_subject(everything)
        else:
            samples = split_by_session(everything, train_session=split.removeprefix("session"))
        cache = OUT / f"cache-nuaa-{split}"
        summary = prepare_samples(
            samples, cache, detector=f"yunet:{YUNET}", frames_per_video=8, cache_info=LITE_INFO, workers=2
        )
        outcome[split] = {}
        for name in models:
            model, lr = NUAA_MODELS[name]
            start = time.perf_counter()
            run = experiment(f"nuaa-{split}-{name}", cache, epochs, model=model, lr=lr)
            result = train_experiment(run, overwrite=True, enable_progress_bar=False)
            outcome[split][name] = {
                "prepare": {k: dataclasses.asdict(v) for k, v in summary.splits.items()},
                "dev_threshold": result.threshold,
                "test": result.test_metrics,
                "seconds": time.perf_counter() - start,
            }
            _print_result(f"{split} / {name}", result.test_metrics)
    return outcome


def _print_result(title: str, evaluation: dict) -> None:
    rates, curve, counts = evaluation["test"], evaluation["test_curve_oracle"], evaluation["counts"]["test"]
    print(f"{title}: {counts['bona_fide']} live, {counts['attacks']} attacks; dev threshold {rates['threshold']:.4f}")
    print(
        f"  APCER {100 * rates['apcer']:.1f} %  BPCER {100 * rates['bpcer']:.1f} %  "
        f"ACER {100 * rates['acer']:.1f} %  EER (oracle) {100 * curve['eer']:.1f} %  "
        f"AUC {100 * curve['auc']:.1f} %",
        flush=True,
    )


def _nuaa_table(outcome: dict) -> str:
    lines = [
        "| split | model | test live / attacks (captures) | dev threshold | APCER | BPCER | ACER | AUC | minutes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for split, per_model in outcome.items():
        for name, o in per_model.items():
            rates, curve, counts = o["test"]["test"], o["test"]["test_curve_oracle"], o["test"]["counts"]["test"]
            lines.append(
                f"| {split} | {name} | {counts['bona_fide']} / {counts['attacks']} | {o['dev_threshold']:.3f} | "
                f"{100 * rates['apcer']:.1f} % | {100 * rates['bpcer']:.1f} % | {100 * rates['acer']:.1f} % | "
                f"{curve['auc']:.3f} | {o['seconds'] / 60:.1f} |"
            )
    return "\n".join(lines)


def _crop_samples() -> list[Sample]:
    samples = []
    with (CROPS / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            label = int(row["label"])
            samples.append(
                Sample(
                    path=CROPS / row["path"],
                    label=label,
                    attack_type="live" if label == 0 else "replay",
                    split="test",
                    video_id=row["path"],
                    dataset="replay-crops-dev",
                    subject=row["repo"],
                    is_image=True,
                )
            )
    return samples


def run_claim(epochs: int, *, live_camera: float = 1.0, box_jitter: float = 0.3) -> dict:
    from stasn.data.clips import ClipDataset
    from stasn.evaluate.evaluation import evaluate_scores
    from stasn.evaluate.report import write_report
    from stasn.model.checkpoint import load_checkpoint
    from stasn.synth import synthesize_cache
    from stasn.train.checkpoint_eval import region_figure, score_split
    from stasn.train.run import train_experiment

    live = [s for s in split_by_subject(list(open_dataset("nuaa", NUAA, dev_fraction=0.0))) if s.label == 0]
    cache = OUT / "cache-claim"
    for stale in (cache, OUT / "runs" / "claim"):  # synthesis appends to a cache: start clean so a re-run is the same
        shutil.rmtree(stale, ignore_errors=True)
    prepare_samples(live, cache, detector=f"yunet:{YUNET}", frames_per_video=16, cache_info=INFO, workers=2)
    made = {}
    for kind in ("replay", "print"):
        made[kind] = synthesize_cache(cache, cache, kind=kind, per_live=1, seed=1, workers=2).videos
    # On top of the cached attacks, 30 % of live training clips become fresh attacks on the fly, and the clips that
    # stay live are re-filmed by a random camera, so the camera alone cannot separate the classes.
    claim = experiment("claim", cache, epochs, synth_fraction=0.3, live_camera=live_camera, box_jitter=box_jitter)
    result = train_experiment(claim, overwrite=True, evaluate_test=False, enable_progress_bar=False)

    # The real crops are already faces. Two framings: re-detect with the training detector and crop as in training
    # (box x 1.3, edge-padded where the crop ends), or take each crop as given (detector "whole", crop_scale 1).
    loaded = load_checkpoint(result.best_checkpoint)
    t = loaded.config.num_frames
    dev_rows, _ = score_split(loaded.model, ClipDataset(cache, "dev", t, clips_per_video=2))
    outcome = {"synthesized_videos": made, "framings": {}}
    for framing, detector, info in (
        ("redetected", f"yunet:{YUNET}", INFO),
        ("as-given", "whole", dataclasses.replace(INFO, crop_scale=1.0)),
    ):
        real_cache = OUT / f"cache-replay-crops-{framing}"
        prep = prepare_samples(
            _crop_samples(), real_cache, detector=detector, frames_per_video=1, cache_info=info, workers=2
        )
        test_rows, examples = score_split(loaded.model, ClipDataset(real_cache, "test", t), examples=4)
        evaluation = evaluate_scores(dev_rows, test_rows, "eer")
        figure = region_figure(examples, threshold=evaluation.threshold)
        write_report(
            evaluation,
            OUT / f"claim-report-{framing}",
            extra_figures=[("RAM regions on real crops", figure)],
            title=f"live NUAA + synthesized attacks -> real replay crops ({framing})",
        )
        outcome["framings"][framing] = {
            "prepare": {k: dataclasses.asdict(v) for k, v in prep.splits.items()},
            "evaluation": evaluation.to_dict(),
        }
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", choices=["nuaa", "claim"])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--models", nargs="+", default=list(NUAA_MODELS), choices=list(NUAA_MODELS), help="nuaa")
    parser.add_argument("--splits", nargs="+", default=list(NUAA_SPLITS), choices=NUAA_SPLITS, help="nuaa")
    parser.add_argument("--live-camera", type=float, default=1.0, help="claim: share of live clips re-filmed")
    parser.add_argument("--box-jitter", type=float, default=0.3, help="claim: crops keep [1 - j, 1] of the face")
    args = parser.parse_args()
    if not NUAA.is_dir():
        raise SystemExit(f"{NUAA}: not found; these runs need ../shared beside the checkout")
    OUT.mkdir(parents=True, exist_ok=True)
    for name in args.runs:
        start = time.perf_counter()
        if name == "nuaa":
            outcome = run_nuaa(args.epochs, args.models, args.splits)
        else:
            outcome = run_claim(args.epochs, live_camera=args.live_camera, box_jitter=args.box_jitter)
        outcome["seconds"] = time.perf_counter() - start
        (OUT / f"{name}.json").write_text(json.dumps(outcome, indent=2, default=str))
        print(f"\n== {name} ({outcome['seconds']:.0f} s) ==")
        if name == "nuaa":
            print(_nuaa_table({k: v for k, v in outcome.items() if k != "seconds"}))
            continue
        for title, evaluation in ((f"real crops, {k}", v["evaluation"]) for k, v in outcome["framings"].items()):
            _print_result(title, evaluation)


if __name__ == "__main__":
    main()
