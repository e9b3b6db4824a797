"""``stasn demo``: the whole path on a fresh machine, with no downloads and no ``../shared``.

1. live faces: procedural clips (:mod:`stasn.demo.livedata`), or real ones from ``--live-dir``;
2. ``prepare``: face crops into a cache (subject-disjoint train/dev/test);
3. ``synth``: replay and print attacks synthesized from every live video, in every split;
4. ``train``: a small STASN (EfficientNet-Lite0 with ImageNet weights, 96 px) through the stages TASM -> SASM ->
   joint, on CPU;
5. ``evaluate``: test scored at the threshold fixed on dev; report with the RAM regions drawn;
6. ``predict``: one test video through :class:`stasn.Detector`, as a user would.

The attacks in dev and test are synthesized too, so the numbers show that the pipeline works, not how well a model
would reject real attacks.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stasn.data.manifest import CacheInfo
from stasn.fileio import atomic_path
from stasn.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES

__all__ = ["DemoOptions", "DemoResult", "run_demo", "live_dir_dataset"]

log = logging.getLogger(__name__)
DEMO_CONFIG = Path(__file__).resolve().parents[3] / "configs" / "demo.yaml"


@dataclass
class DemoOptions:
    out_dir: Path = Path("demo-output")
    live_dir: Path | None = None  # real live faces: <dir>/<subject>/{videos or images}
    detector: str = "yunet"  # used for --live-dir (procedural faces come with their boxes)
    subjects: int = 15  # procedural identities (subject-disjoint 60/20/20 split)
    videos_per_subject: int = 2
    frames: int = 16  # frames per procedural video
    frames_per_video: int = 8  # frames sampled into the cache per video
    seed: int = 0
    overrides: list[str] = field(default_factory=list)  # key=value for the demo's training config
    config: Path = DEMO_CONFIG


@dataclass
class DemoResult:
    run_dir: Path
    checkpoint: Path
    report: Path
    test_metrics: dict[str, Any]
    prediction: dict[str, Any] | None
    seconds: dict[str, float]


def live_dir_dataset(live_dir: Path, out_dir: Path, *, splits=(0.6, 0.2, 0.2)) -> Path:
    """Describe a folder of real live faces as a generic-format dataset (``samples.csv``), split by subject.

    Each sub-folder of ``live_dir`` is one subject; each video in it is one video, and its images together form one
    image-sequence video. Returns the folder holding ``samples.csv`` (``out_dir``).
    """
    from stasn.demo.livedata import split_subjects

    live_dir = Path(live_dir).resolve()
    if not live_dir.is_dir():
        raise FileNotFoundError(f"{live_dir}: --live-dir is not a folder")
    subjects = sorted(p for p in live_dir.iterdir() if p.is_dir())
    if len(subjects) < 3:
        raise ValueError(
            f"{live_dir}: needs at least 3 sub-folders (one per subject) for train/dev/test, found {len(subjects)}"
        )
    split_of = split_subjects([s.name for s in subjects], splits, np.random.default_rng(0))
    rows = []
    for subject in subjects:
        videos = sorted(p for p in subject.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
        images = sorted(p for p in subject.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        entries = [(v, f"{subject.name}/{v.stem}") for v in videos]
        if images:
            entries.append((subject, f"{subject.name}/images"))
        for path, video_id in entries:
            rows.append(
                {
                    "path": str(path),
                    "label": 0,
                    "attack_type": "live",
                    "split": split_of[subject.name],
                    "subject": subject.name,
                    "session": "",
                    "device": "",
                    "video_id": video_id,
                    "boxes": "",
                }
            )
    if not rows:
        raise ValueError(f"{live_dir}: no videos or images found in its sub-folders")
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "samples.csv") as tmp:
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return out_dir


def run_demo(options: DemoOptions, *, echo: Callable[[str], None] = print) -> DemoResult:
    """Run the six demo steps, printing each; returns where everything went."""
    from stasn.data.prepare import prepare_dataset
    from stasn.demo.livedata import write_live_dataset
    from stasn.synth import synthesize_cache
    from stasn.synth.kinds import KINDS
    from stasn.train.config import load_experiment
    from stasn.train.run import train_experiment

    out = Path(options.out_dir)
    seconds: dict[str, float] = {}
    config = load_experiment(
        [options.config],
        [f"output_dir={out / 'runs'}", f"data.cache={out / 'cache'}", f"seed={options.seed}", *options.overrides],
    )
    info = CacheInfo(face_size=config.model.input_size, highres_size=config.model.highres_size)
    cache = Path(config.data.cache)
    if cache.exists():  # a demo always starts from scratch: its data is cheap and must match the config
        shutil.rmtree(cache)

    def step(number: int, title: str) -> float:
        echo(f"\n[{number}/6] {title}")
        return time.perf_counter()

    t = step(1, "live faces")
    if options.live_dir is None:
        live_root = write_live_dataset(
            out / "live",
            num_subjects=options.subjects,
            videos_per_subject=options.videos_per_subject,
            num_frames=options.frames,
            size=(240, 240),
            seed=options.seed,
            overwrite=True,
        )
        echo(
            f"  {options.subjects} procedural identities x {options.videos_per_subject} videos x {options.frames} "
            f"frames -> {live_root}"
        )
    else:
        live_root = live_dir_dataset(options.live_dir, out / "live-real")
        echo(f"  real live faces from {options.live_dir} -> {live_root / 'samples.csv'}")
    seconds["live"] = time.perf_counter() - t

    t = step(2, "prepare: detect faces and crop them into the cache")
    summary = prepare_dataset(
        "generic",
        live_root,
        cache,
        detector=options.detector,
        frames_per_video=options.frames_per_video,
        cache_info=info,
        workers=2,
    )
    for split, counts in sorted(summary.splits.items()):
        echo(f"  {split:<5} {counts}")
    seconds["prepare"] = time.perf_counter() - t

    t = step(3, "synth: replay and print attacks from every live video")
    for kind in KINDS:
        made = synthesize_cache(
            cache, cache, kind=kind, per_live=1, seed=options.seed, workers=2, preview=out / f"synth-{kind}-preview.png"
        )
        echo(
            f"  {kind}: {made.videos} attack videos ({made.frames} frames) in {made.seconds:.1f} s; "
            f"preview {made.preview}"
        )
    seconds["synth"] = time.perf_counter() - t

    t = step(
        4,
        f"train: STASN {config.model.backbone} {config.model.input_size}px, T={config.model.num_frames}, "
        f"K={config.model.num_regions}, stages " + " -> ".join(f"{s.stage}x{s.epochs}" for s in config.train.stages),
    )
    result = train_experiment(config, overwrite=True, enable_progress_bar=False)  # a demo starts from scratch
    seconds["train+evaluate"] = time.perf_counter() - t
    echo(f"  best checkpoint {result.best_checkpoint} (dev threshold {result.threshold:.4f})")

    step(5, "evaluate: test at the dev threshold")
    test = result.test_metrics.get("test", {})
    auc = result.test_metrics.get("test_curve_oracle", {}).get("auc", float("nan"))
    nan = float("nan")
    echo(
        f"  test APCER {100 * test.get('apcer', nan):.1f} %  BPCER {100 * test.get('bpcer', nan):.1f} %  "
        f"ACER {100 * test.get('acer', nan):.1f} %  (AUC {100 * auc:.1f} %)"
    )
    echo(f"  report: {result.report_dir / 'report.html'}")

    t = step(6, "predict: one test video through stasn.Detector")
    prediction = _predict_one(result.best_checkpoint, live_root, options)
    seconds["predict"] = time.perf_counter() - t
    if prediction is not None:
        echo("  " + json.dumps(prediction)[:400])
    echo(
        "\nThe attacks in this demo are synthesized, in training and in test alike: these numbers show the pipeline "
        "works end to end,\nnot how well a model rejects real attacks. Train on a real dataset for that "
        "(docs/training.md)."
    )
    return DemoResult(
        result.run_dir,
        result.best_checkpoint,
        result.report_dir / "report.html",
        result.test_metrics,
        prediction,
        seconds,
    )


def _predict_one(checkpoint: Path, live_root: Path, options: DemoOptions) -> dict[str, Any] | None:
    from stasn.infer.detector import Detector

    with (live_root / "samples.csv").open(newline="", encoding="utf-8") as handle:
        test = [row for row in csv.DictReader(handle) if row["split"] == "test"]
    if not test:
        return None
    path = Path(test[0]["path"])
    path = path if path.is_absolute() else live_root / path
    detector = Detector.from_checkpoint(checkpoint, detector=options.detector)
    if path.is_dir():  # an image sequence (--live-dir): its frames, in order, are the video
        from stasn.data.video import read_image

        images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:30]
        return detector.predict_video(np.stack([read_image(p) for p in images])).to_dict()
    return detector.predict_video(path).to_dict()
