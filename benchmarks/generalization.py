"""Generalization to real faces the model never saw: cross-session, leave-projects-out and cross-dataset protocols,
the data claim and the model claim as ablations, every number beside the peer's on the same items.

Data (``../shared/data``; every split is grouped by project (``repo``) and by subject):

* ``nuaa-raw-train``: NUAA sessions 01-02, live and print, as captures (image sequences, every frame);
* ``replay-crops-dev`` + ``replay-crops-train``: 16 projects of live and screen-replay face crops (``nonface_crop``
  rows left out; shortcut flags reported);
* ``live-faces``: bona fide images of 3 projects (live class, and sources for synthesis).

Every item is framed the same way for both models: the YuNet face box (the whole image where YuNet finds no face;
counted), stasn's crop (box x 1.3) and the peer's own crops of that box. Every test is also scored with
``face-gain``: the whole image scaled so the face box's mean grey is 118 (gain clipped to [0.25, 4]), which takes
away the brightness shortcut of these projects (their attacks are brighter than their live faces).

Protocols (``--protocol``):

1. ``nuaa-sessions`` — train on NUAA session 01, test on session 02, and the reverse; threshold from 2 held-out
   subjects of the training session (the sessions share their 9 people: a new session, not new people). Subjects
   the training session holds as prints only are left out of its training (``--one-class-subjects drop``): trained
   on, the model learns the person as the attack and rejects their live face in the other session.
2. ``leave-projects-out`` — the 16 replay projects in 4 folds grouped by project (each held out once, never split);
   train on the other folds' projects + NUAA + live-faces, threshold on 2 training projects held out as dev, test on
   the held-out fold; per-project and mean AUC.
3. ``cross-dataset`` — train on NUAA + live-faces (+ synthesis), no real replay at all; test on all 16 projects;
   threshold on 2 NUAA subjects + 1 live-faces project held out as dev.

Ablations: ``--data real|real+synth|synth`` ((a) real attacks only, (b) real + one synthesized replay per live
training item, (c) synthesized attacks only) and ``--models frame|tasm|stasn`` (a plain frame classifier: T=1, TASM
trained alone; TASM alone at T=4; STASN: TASM + RAM + SASM), each for ``--seeds``. The recipe is
``configs/lite.yaml`` (EfficientNet-Lite0, ImageNet weights): ``--schedule joint`` (TASM + RAM + SASM together,
lite.yaml's stages) for ``--epochs`` (2); ``--schedule staged`` splits the epochs TASM -> SASM -> joint. The peer is
MiniFASNet V2 + V1SE. One seed of protocol 2 takes about 8-15 min on 2 cores (real data; real+synth about 1.5x).

    python benchmarks/generalization.py --protocol nuaa-sessions leave-projects-out cross-dataset \\
        [--models stasn frame tasm] [--data real real+synth synth] [--seeds 3] [--epochs 2] [--schedule joint]

Everything goes to ``runs/generalization/`` (ignored by git): pools of face crops made once, per-run caches (their
manifests only; crops are linked), checkpoints, and ``results/<protocol>.{md,json}``. Re-running reuses pools and
finished runs whose recorded configuration is the one asked for (a run of another recipe stops the benchmark;
delete or move ``runs/generalization/runs/<name>`` to train it again). Results keep every item's spoof score.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stasn.data.cache import cache_video_id  # noqa: E402
from stasn.data.detect import Detection, FaceDetector, WholeImageDetector, YuNetDetector  # noqa: E402
from stasn.data.manifest import (  # noqa: E402
    CacheInfo,
    ManifestRow,
    one_class_subjects,
    read_manifest,
    write_cache_info,
    write_manifest,
)
from stasn.datasets import open_dataset  # noqa: E402
from stasn.datasets.base import FaceAnnotations, Sample  # noqa: E402

if TYPE_CHECKING:
    from stasn.synth import ReplayRanges

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
YUNET = ROOT.parent / "shared" / "models" / "yunet" / "face_detection_yunet_2026may.onnx"
OUT = ROOT / "runs" / "generalization"
INFO = CacheInfo(face_size=128, highres_size=256)  # configs/lite.yaml sizes
TARGET_GREY, GAIN_RANGE = 118.0, (0.25, 4.0)
REPLAY_SETS = ("replay-crops-dev", "replay-crops-train")
MODELS = ("frame", "tasm", "stasn")
DATA = ("real", "real+synth", "synth")
PROTOCOLS = ("nuaa-sessions", "leave-projects-out", "cross-dataset")
PHOTOMETRIC = ("plain", "face-gain")


# --- items and pools ------------------------------------------------------------------------------------------------
class YuNetOrWhole(FaceDetector):
    """YuNet's largest face, or the whole image where it finds none (these sets are face crops already)."""

    name = "yunet|whole"

    def __init__(self, model: Path) -> None:
        super().__init__(max_side=640)
        self.model = model
        self._yunet: YuNetDetector | None = None

    def detect(self, frame: np.ndarray) -> list[Detection]:
        if self._yunet is None:  # built lazily: workers get a picklable object
            self._yunet = YuNetDetector(self.model)
        found = self._yunet.detect(frame)
        return found[:1] if found else WholeImageDetector().detect(frame)


def _image_samples() -> tuple[list[Sample], dict[str, dict]]:
    """Replay crops and live-faces images as one-frame samples; ``meta[video_id]`` = project, source, flags."""
    samples, meta = [], {}
    for folder in (*REPLAY_SETS, "live-faces"):
        with (SHARED / folder / "manifest.csv").open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                flags = [f for f in row.get("flags", "").split(";") if f]
                if "nonface_crop" in flags or "video" in flags:
                    continue
                label = int(row["label"])
                video_id = row["path"]
                samples.append(
                    Sample(
                        path=SHARED / folder / row["path"],
                        label=label,
                        attack_type="live" if label == 0 else "replay",
                        split="train",
                        video_id=video_id,
                        dataset=folder,
                        subject=row.get("subject", "") or row["repo"],
                        is_image=True,
                    )
                )
                meta[cache_video_id(samples[-1])] = {"project": row["repo"], "source": folder, "flags": flags}
    return samples, meta


def _nuaa_samples() -> tuple[list[Sample], dict[str, dict]]:
    samples = list(open_dataset("nuaa", SHARED / "nuaa-raw-train", dev_fraction=0.0))
    meta = {
        cache_video_id(s): {
            "project": "nuaa",
            "source": "nuaa",
            "flags": [],
            "session": s.session,
            "subject": s.subject,
            "label": s.label,
        }
        for s in samples
    }
    return samples, meta


def base_pools() -> tuple[dict[str, Path], dict[str, dict]]:
    """Plain face crops of every item, made once: ``{"images", "nuaa"}`` -> cache; ``meta[video_id]``."""
    from stasn.data.prepare import prepare_samples

    images, meta = _image_samples()
    nuaa, nuaa_meta = _nuaa_samples()
    meta.update(nuaa_meta)
    pools = {"images": OUT / "pool-images", "nuaa": OUT / "pool-nuaa"}
    detector = YuNetOrWhole(YUNET)
    prepare_samples(images, pools["images"], detector=detector, cache_info=INFO, workers=2)
    prepare_samples(nuaa, pools["nuaa"], detector=detector, frames_per_video=0, cache_info=INFO, workers=2)
    return pools, meta


def prepare_pools() -> tuple[dict[str, Path], dict[str, dict]]:
    """Face crops of every item, plain and face-gain, made once: ``{"images", "nuaa", ...-face-gain}`` -> cache."""
    pools, meta = base_pools()
    for name in ("images", "nuaa"):
        pools[f"{name}-face-gain"] = _face_gain_pool(pools[name], OUT / f"pool-{name}-face-gain")
    return pools, meta


def face_gain(image: np.ndarray, box: tuple[float, ...]) -> np.ndarray:
    """Scale the whole image so the face box's mean grey is 118 (gain clipped to [0.25, 4])."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    region = image[max(0, y1) : max(y1 + 1, y2), max(0, x1) : max(x1 + 1, x2)].astype(np.float32)
    grey = float((region @ np.array([0.299, 0.587, 0.114], np.float32)).mean()) if region.size else TARGET_GREY
    gain = float(np.clip(TARGET_GREY / max(grey, 1e-3), *GAIN_RANGE))
    return np.clip(image.astype(np.float32) * gain + 0.5, 0, 255).astype(np.uint8)


def _face_gain_pool(plain: Path, out: Path) -> Path:
    """The same items and boxes as ``plain``, each source frame passed through :func:`face_gain` first."""
    import cv2

    from stasn.data.prepare import prepare_samples
    from stasn.infer.inputs import load_image

    if (out / "manifest.csv").is_file():
        return out
    folder = out.parent / f"{out.name}-frames"
    samples, boxes = [], {}
    for video_id, rows in _rows_by_video(read_manifest(plain / "manifest.csv")).items():
        rows = [r for r in rows if r.box is not None]
        if not rows:
            continue
        paths = []
        for i, r in enumerate(rows):
            target = folder / video_id / f"{i:03d}.png"
            if not target.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                gained = face_gain(load_image(r.source_path), r.box)
                cv2.imwrite(str(target), cv2.cvtColor(gained, cv2.COLOR_RGB2BGR))
            paths.append(target)
        first = rows[0]
        samples.append(
            Sample(
                path=paths[0],
                label=first.label,
                attack_type=first.attack_type,
                split=first.split,
                video_id=video_id.removeprefix(f"{first.dataset}/"),  # prepare prefixes the dataset again
                dataset=first.dataset,
                subject=first.subject,
                session=first.session,
                is_image=len(paths) == 1,
                frame_paths=tuple(paths) if len(paths) > 1 else None,
            )
        )
        boxes[video_id] = FaceAnnotations(boxes={i: r.box for i, r in enumerate(rows)})
    prepare_samples(samples, out, annotations=lambda s: boxes[cache_video_id(s)], cache_info=INFO, workers=2)
    return out


def _rows_by_video(rows: list[ManifestRow]) -> dict[str, list[ManifestRow]]:
    grouped: dict[str, list[ManifestRow]] = defaultdict(list)
    for r in rows:
        grouped[r.video_id].append(r)
    return dict(grouped)


# Replay ranges a named pool draws from instead of the synthesizer's defaults (any other name: the defaults of the
# day; "synth-v10" names today's). "synth-v3": the defaults from issue 16's v3 until its v5 (docs/synthesis.md);
# "synth-v4": v3 with the camera metering the screen and the darker room around it together, so the screen
# over-exposes as in the real replays; "synth-v5": v6 without the capture's noise reduction; "synth-v6": the
# defaults from v6 until v7 (screen roll +-8, white point -0.3-1.5, JPEG 0.7 / H.264 0.3, camera saturation
# 0.6-1.3); "synth-v7": the defaults from v7 until v8 (the camera's resolution absolute, 100-300 px, not 0.5-0.85
# of the image's); "synth-v8": v8's (face_scale 0.2-1.0, not 0.2-0.6); "synth-v9": v9's (no chroma noise
# reduction, not 0.5-3 px). Pinned by ranges: a pool re-made today also gets v7's single-threaded H.264 (one slice
# per frame).
_V9_REPLAY: dict = {"capture": {"chroma_denoise": (0.0, 0.0)}}
_V8_REPLAY: dict = {**_V9_REPLAY, "face_scale": (0.2, 1.0)}
_V7_REPLAY: dict = {**_V8_REPLAY, "capture": {**_V8_REPLAY["capture"], "sensor_scale": None}}
_V6_REPLAY: dict = {
    **_V8_REPLAY,
    "view": {"roll": (-8.0, 8.0)},
    "white_point": (-0.3, 1.5),
    "capture": {**_V7_REPLAY["capture"], "codec": {"jpeg": 0.7, "h264": 0.3}, "camera_saturation": (0.6, 1.3)},
}
_V3_REPLAY: dict = {
    **_V6_REPLAY,
    "meter_share": (1.0, 1.0),
    "content_denoise": (0.0, 0.0),
    "banding_probability": 0.25,
    "banding_amplitude": (0.03, 0.3),
    "reflection": {"room_level": (0.02, 0.5)},
    "capture": {
        **_V6_REPLAY["capture"],
        "exposure": (0.07, 0.3),
        "shot_noise": (5e-5, 1e-3),
        "read_noise": (5e-4, 4e-3),
        "isp_denoise": (0, 0),
    },
}
POOL_REPLAY_RANGES: dict[str, dict] = {
    "synth-v3": _V3_REPLAY,
    "synth-v4": {**_V3_REPLAY, "meter_share": (0.1, 0.6)},
    "synth-v5": {**_V6_REPLAY, "capture": {**_V6_REPLAY["capture"], "isp_denoise": (0.0, 0.0)}},
    "synth-v6": _V6_REPLAY,
    "synth-v7": _V7_REPLAY,
    "synth-v8": _V8_REPLAY,
    "synth-v9": _V9_REPLAY,
}


def replay_ranges(overrides: dict, base: ReplayRanges | None = None) -> ReplayRanges:
    """``base`` (default: the synthesizer's :class:`~stasn.synth.ReplayRanges`) with ``overrides`` merged in, nested
    by field name (``{"meter_share": (0.1, 0.6), "capture": {"exposure": (0.07, 0.3)}}``); unknown names fail with
    a ``ValueError``."""
    from stasn.synth import ReplayRanges
    from stasn.synth._records import from_record, to_record

    def merge(base: dict, new: dict) -> dict:
        out = dict(base)
        for key, value in new.items():
            nested = isinstance(value, dict) and isinstance(base.get(key), dict)
            out[key] = merge(base[key], value) if nested else list(value) if isinstance(value, tuple) else value
        return out

    return from_record(ReplayRanges, merge(to_record(base if base is not None else ReplayRanges()), overrides))


def synth_pool(pools: dict[str, Path], name: str = "synth") -> Path:
    """One synthesized replay per live item of every pool (and one print per NUAA live capture), made once with the
    synthesizer of the day (and ``POOL_REPLAY_RANGES[name]``) into ``pool-<name>``: a new ``name`` compares another
    synthesizer version."""
    from stasn.synth import synthesize_cache

    out = OUT / f"pool-{name}"
    if (out / ".done").is_file():
        return out
    ranges = replay_ranges(POOL_REPLAY_RANGES[name]) if name in POOL_REPLAY_RANGES else None
    synthesize_cache(pools["images"], out, kind="replay", per_live=1, seed=11, workers=2, ranges=ranges)
    synthesize_cache(pools["nuaa"], out, kind="replay", per_live=1, seed=12, workers=2, ranges=ranges)
    synthesize_cache(pools["nuaa"], out, kind="print", per_live=1, seed=13, workers=2)
    (out / ".done").touch()
    return out


# --- the peer -------------------------------------------------------------------------------------------------------
def peer_scores(pool: Path) -> dict[str, float]:
    """The peer's spoof score per video of ``pool`` (mean over its frames), on the pool's own boxes; cached."""
    from peer import Peer

    from stasn.infer.inputs import load_image

    cache = pool / "peer_scores.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    peer = Peer(threads=2)
    scores = {}
    for video_id, rows in _rows_by_video(read_manifest(pool / "manifest.csv")).items():
        rows = [r for r in rows if r.box is not None]
        if rows:
            images = [load_image(r.source_path) for r in rows]
            scores[video_id] = float(np.mean(peer.spoof_scores(images, [r.box for r in rows])))
    cache.write_text(json.dumps(scores))
    return scores


# --- per-run caches -------------------------------------------------------------------------------------------------
def run_cache(
    name: str, assignment: dict[str, str], pools: list[Path], labels: dict[str, int] | None = None, root: Path = OUT
) -> Path:
    """A cache whose manifest holds the rows of ``assignment``'s videos with their split; crops are symlinks.

    ``labels`` (video id -> 0/1) relabels videos for tests that are not live-vs-attack (a two-sample test: real
    replay 0 vs synthesized replay 1); a video relabelled 0 gets attack type ``live``, relabelled 1 ``replay``.
    """
    cache = root / "caches" / name
    cache.mkdir(parents=True, exist_ok=True)
    write_cache_info(cache, INFO)
    rows = []
    crops = cache / "crops"
    crops.mkdir(exist_ok=True)
    for pool in pools:
        for r in read_manifest(pool / "manifest.csv"):
            if r.video_id in assignment:
                r = dataclasses.replace(r, split=assignment[r.video_id])
                if labels is not None and labels[r.video_id] != r.label:
                    y = labels[r.video_id]
                    r = dataclasses.replace(r, label=y, attack_type="live" if y == 0 else "replay")
                rows.append(r)
        for entry in (pool / "crops").iterdir():
            link = crops / entry.name
            if not link.exists():
                os.symlink(entry.resolve(), link)
    write_manifest(rows, cache)
    return cache


def synth_sources(synth: Path) -> dict[str, str]:
    """Synthesized video id -> the live video it was made from."""
    return {r.video_id: r.extra["source_video_id"] for r in read_manifest(synth / "manifest.csv")}


def with_synth(assignment: dict[str, str], sources: dict[str, str], data: str, live: set[str]) -> dict[str, str]:
    """Add the synthesized attacks of the train/dev live items (``real+synth``, ``synth``); drop real attacks from
    train and dev for ``synth``. Test stays as it is."""
    out = dict(assignment)
    if data == "synth":
        out = {v: s for v, s in out.items() if s == "test" or v in live}
    if data in ("real+synth", "synth"):
        for fake, source in sources.items():
            if out.get(source) in ("train", "dev"):
                out[fake] = out[source]
    return out


# --- training and scoring -------------------------------------------------------------------------------------------
def model_overrides(model: str, epochs: int, schedule: str = "staged") -> tuple[dict, list[dict]]:
    """Model keys and training stages of an ablation variant (all on configs/lite.yaml). ``schedule``: ``staged``
    (STASN: TASM, then SASM, then joint, a third of the epochs each) or ``joint`` (everything from the start)."""
    if model == "frame":
        return {"num_frames": 1, "fusion_weight": 1.0}, [{"stage": "tasm", "epochs": epochs}]
    if model == "tasm":
        return {"fusion_weight": 1.0}, [{"stage": "tasm", "epochs": epochs}]
    if schedule == "joint":
        return {}, [{"stage": "joint", "epochs": epochs}]
    first = max(1, epochs // 3)
    return {}, [
        {"stage": "tasm", "epochs": first},
        {"stage": "sasm", "epochs": first},
        {"stage": "joint", "epochs": max(1, epochs - 2 * first)},
    ]


def train_run(
    name: str, cache: Path, model: str, seed: int, epochs: int, overrides: list[str], schedule: str = "staged"
) -> Path:
    """Train (or reuse) one run on ``configs/lite.yaml`` + ``overrides`` (``key=value``); returns its best checkpoint
    (lowest dev ACER). A finished run is reused only when the recipe it recorded is the one asked for: a run of an
    older default (``configs/lite.yaml`` changed since) stops the benchmark with the keys that differ."""
    from stasn.train.config import load_experiment
    from stasn.train.run import train_experiment

    run_dir = OUT / "runs" / name
    best = run_dir / "checkpoints" / "best.ckpt"
    model_keys, stages = model_overrides(model, epochs, schedule)
    config = load_experiment(
        [ROOT / "configs" / "_base.yaml", ROOT / "configs" / "lite.yaml"],
        base=None,
    )
    values = config.to_dict()
    values.update(name=name, output_dir=str(OUT / "runs"), seed=seed)
    values["model"].update(model_keys)
    values["data"].update(cache=str(cache), num_workers=0, eval_clips_per_video=1, train_clips_per_video=1)
    values["data"]["prepare"]["dataset"] = None
    values["train"].update(stages=stages, warmup_steps=20, log_every_n_steps=20)
    config = load_experiment(None, overrides=overrides, base=values)
    if best.is_file() and (run_dir / ".done").is_file():
        differences = recipe_differences(yaml.safe_load((run_dir / "config.yaml").read_text()), config.to_dict())
        if differences:
            raise SystemExit(
                f"{run_dir}: trained with another recipe ({', '.join(differences)}); move it aside to train this "
                "one, or pass the --set key=value that reproduces its recipe to reuse it"
            )
        try:
            return selected_checkpoint(run_dir)
        except UnrecoverableSelection as exc:
            print(f"{exc}: training it again", flush=True)
            (run_dir / ".done").unlink()
    train_experiment(config, overwrite=best.is_file(), evaluate_test=False, enable_progress_bar=False)
    (run_dir / ".done").touch()
    return selected_checkpoint(run_dir)


# Where a run was written, how many loader workers it had: not part of what it learned.
_NOT_RECIPE = {"name", "output_dir", "data.cache", "data.num_workers", "data.prepare.workers"}


def _flatten(values: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def recipe_differences(recorded: dict, wanted: dict) -> list[str]:
    """``key: recorded -> wanted`` for every configuration key (dotted) whose value differs between a run's recorded
    ``config.yaml`` and the configuration asked for. A key the recorded one lacks (added to stasn after the run
    trained) counts at its code default, which is what the run trained with."""
    from stasn.train.config import ExperimentConfig

    defaults = _flatten(ExperimentConfig().to_dict())
    done = _flatten(recorded or {})
    out = []
    for key, value in _flatten(wanted).items():
        if key in _NOT_RECIPE:
            continue
        before = done.get(key, defaults.get(key))
        if before != value:
            out.append(f"{key}: {before!r} -> {value!r}")
    return out


class UnrecoverableSelection(RuntimeError):
    """A run trained before the tie rule whose kept checkpoint is not the one the rule picks."""


def dev_curve(run_dir: Path, monitor: str = "dev/acer") -> dict[int, float]:
    """``monitor`` per epoch from the run's CSV logs (every version folder: a resumed run logs in a new one)."""
    import csv

    curve = {}
    for metrics in sorted((run_dir / "logs").glob("version_*/metrics.csv")):
        with open(metrics, newline="") as f:
            for row in csv.DictReader(f):
                if row.get(monitor):
                    curve[int(row["epoch"])] = float(row[monitor])
    return curve


def selected_checkpoint(run_dir: Path) -> Path:
    """The checkpoint stasn's trainer keeps as ``best.ckpt``: the lowest dev ACER, the *latest* of equal epochs.

    Runs trained before that tie rule kept the first of equals; for them the same choice is made from the logs:
    ``last.ckpt`` when the last epoch ties the minimum, else ``best.ckpt`` when it is that epoch (always so for a
    2-epoch run). Anything else cannot be recovered without training again, and says so."""
    import torch

    curve = dev_curve(run_dir)
    checkpoints = run_dir / "checkpoints"
    if not curve:
        raise RuntimeError(f"{run_dir}: no dev/acer in the logs")
    lowest = min(curve.values())
    chosen = max(e for e, v in curve.items() if v == lowest)
    for name in ("last.ckpt", "best.ckpt"):
        path = checkpoints / name
        if path.is_file() and int(torch.load(path, map_location="cpu", weights_only=True)["epoch"]) == chosen:
            return path
    raise UnrecoverableSelection(f"{run_dir}: neither checkpoint is epoch {chosen}, the latest of the best dev epochs")


def _trained_steps(checkpoint: Path) -> int:
    """Optimizer steps of the whole run (``last.ckpt`` beside ``checkpoint``): what ``train.min_steps`` stretched."""
    import torch

    last = checkpoint.parent / "last.ckpt"
    return int(torch.load(last if last.is_file() else checkpoint, map_location="cpu", weights_only=True)["global_step"])


def model_scores(checkpoint: Path, cache: Path, split: str, fusion_weight: float | None = None) -> dict[str, float]:
    """The model's spoof score per video of ``split`` (mean over its clips); ``fusion_weight`` replaces the
    checkpoint's TASM/SASM weight (1 = TASM's score alone, 0 = SASM's)."""
    from stasn.data.clips import ClipDataset
    from stasn.model.checkpoint import load_checkpoint
    from stasn.train.checkpoint_eval import score_split

    loaded = load_checkpoint(checkpoint)
    if fusion_weight is not None:
        loaded.model.fusion_weight = fusion_weight
    dataset = ClipDataset(cache, split, loaded.config.num_frames, clips_per_video=1)
    rows, _ = score_split(loaded.model, dataset, batch_size=16)
    per_video: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        per_video[r.video_id].append(r.spoof_score)
    return {v: float(np.nanmean(s)) for v, s in per_video.items()}


def rates(
    dev: dict[str, float], test: dict[str, float], labels: dict[str, tuple[int, str]], projects: dict[str, str]
) -> dict:
    """Threshold at the dev EER point (``eer-mid``: the middle of the dev score gap that gives it), applied to test:
    APCER, BPCER, ACER; AUC overall and per project; and ACER at ``eer``'s threshold (the dev score itself) beside."""
    from sklearn.metrics import roc_auc_score

    from stasn.evaluate.evaluation import evaluate_scores
    from stasn.evaluate.scores import ScoreRow

    def rows(scores: dict[str, float]) -> list[ScoreRow]:
        return [ScoreRow(v, v, labels[v][0], labels[v][1], s, -1) for v, s in scores.items()]

    result = evaluate_scores(rows(dev), rows(test), "eer-mid", aggregate="none").to_dict()
    at_score = evaluate_scores(rows(dev), rows(test), "eer", aggregate="none").to_dict()  # bob's threshold
    ids = sorted(test)
    y, s = np.array([labels[v][0] for v in ids]), np.array([test[v] for v in ids])
    per_project = {}
    for project in sorted({projects[v] for v in ids}):
        mask = np.array([projects[v] == project for v in ids])
        if len(set(y[mask])) == 2:
            per_project[project] = float(roc_auc_score(y[mask], s[mask]))
    return {
        "auc": float(roc_auc_score(y, s)),
        "threshold": result["test"]["threshold"],
        "apcer": result["test"]["apcer"],
        "bpcer": result["test"]["bpcer"],
        "acer": result["test"]["acer"],
        "acer_at_dev_score": at_score["test"]["acer"],
        "threshold_at_dev_score": at_score["test"]["threshold"],
        "per_project_auc": per_project,
        "counts": {"live": int((y == 0).sum()), "attack": int((y == 1).sum())},
    }


# --- protocols ------------------------------------------------------------------------------------------------------
def _splits_nuaa_sessions(
    meta: dict[str, dict], with_live_faces: bool = False, drop_one_class: bool = False
) -> list[tuple[str, dict[str, str]]]:
    """Train on one NUAA session (2 of its subjects as dev), test on the other; ``with_live_faces``: every
    ``live-faces`` image trains too (more people, cameras and light for the live class, as in protocols 2 and 3);
    ``drop_one_class``: the training session's subjects seen in one class only are left out of train and dev."""
    out = []
    nuaa = {v: m for v, m in meta.items() if m["source"] == "nuaa"}
    for train_session, test_session in (("01", "02"), ("02", "01")):
        subjects = sorted({m["subject"] for m in nuaa.values() if m["session"] == train_session})
        dev = set(subjects[i] for i in np.random.default_rng(0).permutation(len(subjects))[:2])
        session_items = [v for v, m in nuaa.items() if m["session"] == train_session]
        left_out = (
            set(one_class_subjects((nuaa[v]["subject"], nuaa[v]["label"]) for v in session_items))
            if drop_one_class
            else set()
        )
        assignment = {}
        for v, m in nuaa.items():
            if m["session"] == train_session and m["subject"] not in left_out:
                assignment[v] = "dev" if m["subject"] in dev else "train"
            elif m["session"] == test_session:
                assignment[v] = "test"
        if with_live_faces:
            assignment.update({v: "train" for v, m in meta.items() if m["source"] == "live-faces"})
        out.append((f"s{train_session}-to-s{test_session}", assignment))
    return out


def replay_projects(meta: dict[str, dict]) -> list[str]:
    return sorted({m["project"] for m in meta.values() if m["source"] in REPLAY_SETS})


def project_folds(meta: dict[str, dict], k: int = 4) -> list[list[str]]:
    """The replay projects in ``k`` folds of about equal item counts (largest first into the lightest fold)."""
    sizes = defaultdict(int)
    for m in meta.values():
        if m["source"] in REPLAY_SETS:
            sizes[m["project"]] += 1
    folds: list[list[str]] = [[] for _ in range(k)]
    load = [0] * k
    for project in sorted(sizes, key=lambda p: (-sizes[p], p)):
        i = int(np.argmin(load))
        folds[i].append(project)
        load[i] += sizes[project]
    return folds


def _splits_leave_projects_out(meta: dict[str, dict], with_nuaa: bool = False) -> list[tuple[str, dict[str, str]]]:
    """Each fold of replay projects held out once; the other projects (2 of them as dev) + live-faces (+ NUAA with
    ``with_nuaa``: its 1771 frames would double a fold's training time, and its attacks are prints) train."""
    out = []
    for i, held_out in enumerate(project_folds(meta)):
        training = [p for p in replay_projects(meta) if p not in held_out]
        dev = set(training[j] for j in np.random.default_rng(i).permutation(len(training))[:2])
        assignment = {}
        for v, m in meta.items():
            if m["project"] in held_out:
                assignment[v] = "test"
            elif m["project"] in dev:
                assignment[v] = "dev"
            elif m["source"] != "nuaa" or with_nuaa:
                assignment[v] = "train"  # other replay projects, live-faces (, NUAA)
        out.append((f"fold{i}", assignment))
    return out


def _splits_cross_dataset(meta: dict[str, dict]) -> list[tuple[str, dict[str, str]]]:
    nuaa_subjects = sorted({m["subject"] for m in meta.values() if m["source"] == "nuaa"})
    dev_subjects = set(nuaa_subjects[j] for j in np.random.default_rng(0).permutation(len(nuaa_subjects))[:2])
    live_projects = sorted({m["project"] for m in meta.values() if m["source"] == "live-faces"})
    dev_live = live_projects[0]
    assignment = {}
    for v, m in meta.items():
        if m["source"] in REPLAY_SETS:
            assignment[v] = "test"
        elif m["source"] == "nuaa":
            assignment[v] = "dev" if m["subject"] in dev_subjects else "train"
        else:
            assignment[v] = "dev" if m["project"] == dev_live else "train"
    return [("all", assignment)]


SPLITS = {
    "nuaa-sessions": _splits_nuaa_sessions,
    "leave-projects-out": _splits_leave_projects_out,
    "cross-dataset": _splits_cross_dataset,
}


def override_tag(override: str) -> str:
    """A run-name part for a ``key=value`` override: the key's last part and the value (``data.exposure=0.5`` ->
    ``exposure0.5``): distinct keys and values give distinct names, so a run is never reused for another recipe."""
    key, _, value = override.partition("=")
    return f"{key.split('.')[-1]}{value}".replace("/", "_")


def run_protocol(
    protocol: str,
    models: list[str],
    datas: list[str],
    seeds: int,
    epochs: int,
    overrides: list[str],
    schedule: str = "staged",
    with_nuaa: bool = False,
    synth_name: str = "synth",
    with_live_faces: bool = False,
    drop_one_class: bool = False,
) -> dict:
    pools, meta = prepare_pools()
    synth = synth_pool(pools, synth_name) if any(d != "real" for d in datas) else None
    pool_tag = "" if synth_name == "synth" else f"-{synth_name}"  # runs and caches of another synthesizer version
    sources = synth_sources(synth) if synth else {}
    labels = {}
    for pool in [*pools.values(), *([synth] if synth else [])]:
        for r in read_manifest(pool / "manifest.csv"):
            labels[r.video_id] = (r.label, r.attack_type)
    projects = {v: m["project"] for v, m in meta.items()}
    base_pools = [pools["images"], pools["nuaa"]]
    gain_pools = [pools["images-face-gain"], pools["nuaa-face-gain"]]
    peer = {"plain": {}, "face-gain": {}}
    for pool in base_pools:
        peer["plain"].update(peer_scores(pool))
    for pool in gain_pools:
        peer["face-gain"].update(peer_scores(pool))
    live = {v for v, (y, _) in labels.items() if y == 0}
    tag = "-joint" if schedule == "joint" else ""
    tag += "-nuaa" if with_nuaa and protocol == "leave-projects-out" else ""
    live_tag = "-livefaces" if with_live_faces and protocol == "nuaa-sessions" else ""
    live_tag += "-bothclasses" if drop_one_class and protocol == "nuaa-sessions" else ""
    tag += live_tag
    tag += "".join(f"-{override_tag(o)}" for o in overrides)
    results = {
        "protocol": protocol,
        "epochs": epochs,
        "schedule": schedule,
        "overrides": overrides,
        "with_nuaa": with_nuaa,
        "with_live_faces": with_live_faces,
        "drop_one_class": drop_one_class,
        "synth_pool": synth_name,
        "splits": {},
        "runs": [],
    }
    if protocol == "leave-projects-out":
        splits = SPLITS[protocol](meta, with_nuaa)
    elif protocol == "nuaa-sessions":
        splits = SPLITS[protocol](meta, with_live_faces, drop_one_class)
    else:
        splits = SPLITS[protocol](meta)
    for split_name, assignment in splits:
        test_ids = [v for v, s in assignment.items() if s == "test" and v in labels]
        dev_ids = [v for v, s in assignment.items() if s == "dev" and v in labels]
        results["splits"][split_name] = {
            "test_projects": sorted({projects[v] for v in test_ids}),
            "dev_projects": sorted({projects[v] for v in dev_ids}),
            "peer": {
                ph: rates({v: peer["plain"][v] for v in dev_ids}, {v: peer[ph][v] for v in test_ids}, labels, projects)
                for ph in PHOTOMETRIC
            },
        }
        for data in datas:
            run_assignment = with_synth(assignment, sources, data, live)
            cache = run_cache(
                f"{protocol}-{split_name}-{data}{pool_tag if data != 'real' else ''}{live_tag}",
                run_assignment,
                [*base_pools, *([synth] if synth else [])],
            )
            gain_cache = run_cache(f"{protocol}-{split_name}-face-gain", {v: "test" for v in test_ids}, gain_pools)
            for model in models:
                for seed in range(seeds):
                    pooled = pool_tag if data != "real" else ""
                    name = f"{protocol}-{split_name}-{data}-{model}-e{epochs}{tag}{pooled}-s{seed}"
                    start = time.perf_counter()
                    checkpoint = train_run(name, cache, model, seed, epochs, overrides, schedule)
                    dev = model_scores(checkpoint, cache, "dev")
                    run = {"split": split_name, "data": data, "model": model, "seed": seed, "name": name}
                    run["scores"] = {"dev": dev}  # spoof score per item: which items fail, without re-scoring
                    for ph, where in (("plain", cache), ("face-gain", gain_cache)):
                        run["scores"][ph] = model_scores(checkpoint, where, "test")
                        run[ph] = rates(dev, run["scores"][ph], labels, projects)
                    run["seconds"] = time.perf_counter() - start
                    run["steps"] = _trained_steps(checkpoint)
                    results["runs"].append(run)
                    print(
                        f"{name}: AUC {run['plain']['auc']:.3f} (face-gain {run['face-gain']['auc']:.3f}), ACER "
                        f"{100 * run['plain']['acer']:.1f} %; peer AUC "
                        f"{results['splits'][split_name]['peer']['plain']['auc']:.3f}; {run['seconds'] / 60:.1f} min",
                        flush=True,
                    )
                    _write(protocol, results)
    return results


# --- tables ---------------------------------------------------------------------------------------------------------
def _mean_std(values: list[float], digits: int = 3, unit: str = "") -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}{unit}"
    return f"{np.mean(values):.{digits}f}{unit} ± {np.std(values, ddof=1):.{digits}f}{unit}"


def _project_mean(rates_of_splits: list[dict]) -> float:
    """Mean over every test project (of all splits) of that project's own AUC."""
    return float(np.mean([auc for r in rates_of_splits for auc in r["per_project_auc"].values()]))


_TABLE_RATES = (  # (photometric variant, rate) of the summary table's columns after the two project AUCs
    ("plain", "auc"),
    ("face-gain", "auc"),
    ("plain", "acer"),
    ("face-gain", "acer"),
    ("plain", "acer_at_dev_score"),
)


def summarize(results: dict) -> str:
    """Markdown: per (data, model) the mean over splits of AUC and ACER, mean ± std over seeds; the peer's rows."""
    recipe = " ".join(["configs/lite.yaml", *results.get("overrides", [])])
    recipe += "; train + live-faces" if results.get("with_live_faces") else ""
    lines = [
        f"### {results['protocol']} ({results['epochs']} epochs, {results.get('schedule', 'staged')}; {recipe})",
        "",
        "| model | data | seeds | project AUC | project AUC face-gain | pooled AUC | pooled AUC face-gain "
        "| ACER @ dev thr. | ACER face-gain | ACER, thr. = a dev score |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for run in results["runs"]:
        groups[(run["model"], run["data"])][run["seed"]].append(run)
    splits = results["splits"]
    for (model, data), per_seed in groups.items():
        complete = {s: runs for s, runs in per_seed.items() if len(runs) == len(splits)}
        if not complete:
            continue
        cells = [
            _mean_std([_project_mean([r[ph] for r in runs]) for runs in complete.values()])
            for ph in ("plain", "face-gain")
        ]
        for ph, key in _TABLE_RATES:
            if any(key not in r[ph] for runs in complete.values() for r in runs):
                cells.append("-")  # scored before the column existed
                continue
            per = [float(np.mean([r[ph][key] for r in runs])) for runs in complete.values()]
            cells.append(
                _mean_std(per)
                if key == "auc"
                else _mean_std([100 * p for p in per], digits=1).replace(" ±", " % ±") + " %"
            )
        lines.append(f"| {model} | {data} | {len(complete)} | " + " | ".join(cells) + " |")
    peer = [
        float(np.mean([s["peer"][ph].get(key, np.nan) for s in splits.values()])) * (1 if key == "auc" else 100)
        for ph, key in _TABLE_RATES
    ]
    peer_projects = [_project_mean([s["peer"][ph] for s in splits.values()]) for ph in ("plain", "face-gain")]
    lines.append(
        f"| **peer** MiniFASNet V2+V1SE | - | - | {peer_projects[0]:.3f} | {peer_projects[1]:.3f} | {peer[0]:.3f} "
        f"| {peer[1]:.3f} | {peer[2]:.1f} % | {peer[3]:.1f} % | {peer[4]:.1f} % |"
    )
    lines += [
        "",
        "project AUC: each test project's own AUC (its live vs its attacks), averaged over projects (the protocol-2 "
        "target); pooled AUC: all test items of a split together, averaged over splits; ACER at the threshold fixed "
        "on the dev split (its EER point, threshold in the middle of the dev score gap: `eer-mid`; last column: the "
        "threshold on the dev score itself, `eer`); mean ± std over seeds.",
    ]
    lines += ["", "Per split (test projects, items; AUC of each run's seeds, mean):", ""]
    for name, split in splits.items():
        counts = split["peer"]["plain"]["counts"]
        parts = []
        for (model, data), per_seed in groups.items():
            aucs = [r["plain"]["auc"] for runs in per_seed.values() for r in runs if r["split"] == name]
            if aucs:
                parts.append(f"{model}/{data} {np.mean(aucs):.3f}")
        lines.append(
            f"- {name}: {len(split['test_projects'])} test project(s), {counts['live']} live / {counts['attack']} "
            f"attack items; peer {split['peer']['plain']['auc']:.3f}; " + ", ".join(parts)
        )
    return "\n".join(lines)


def per_project_table(results: dict) -> str:
    """Markdown: AUC per held-out project, each (model, data) averaged over seeds, beside the peer's."""
    columns = sorted({(r["model"], r["data"]) for r in results["runs"]})
    header = "| project | " + " | ".join(f"{m}/{d}" for m, d in columns) + " | peer |"
    lines = [header, "|" + "---|" * (len(columns) + 2)]
    for split_name, split in results["splits"].items():
        for project, peer_auc in split["peer"]["plain"]["per_project_auc"].items():
            cells = []
            for model, data in columns:
                values = [
                    r["plain"]["per_project_auc"].get(project)
                    for r in results["runs"]
                    if (r["model"], r["data"], r["split"]) == (model, data, split_name)
                    and project in r["plain"]["per_project_auc"]
                ]
                cells.append(f"{np.mean(values):.3f}" if values else "-")
            lines.append(f"| {project} ({split_name}) | " + " | ".join(cells) + f" | {peer_auc:.3f} |")
    return "\n".join(lines)


def _write(protocol: str, results: dict) -> None:
    folder = OUT / "results"
    folder.mkdir(parents=True, exist_ok=True)
    schedule = "-joint" if results.get("schedule") == "joint" else ""
    schedule += "-nuaa" if results.get("with_nuaa") and protocol == "leave-projects-out" else ""
    schedule += "-livefaces" if results.get("with_live_faces") and protocol == "nuaa-sessions" else ""
    schedule += "-bothclasses" if results.get("drop_one_class") and protocol == "nuaa-sessions" else ""
    stem = f"{protocol}-e{results['epochs']}{schedule}" + "".join(f"-{o}" for o in results["overrides"])
    stem += "" if results.get("synth_pool", "synth") == "synth" else f"-{results['synth_pool']}"
    path = folder / f"{stem}.json"
    if path.is_file():  # keep the runs of other variants (models, data, seeds) run by earlier invocations
        earlier = json.loads(path.read_text())
        names = {r["name"] for r in results["runs"]}
        kept = [r for r in earlier.get("runs", []) if r["name"] not in names]
        results = {**results, "runs": kept + results["runs"], "splits": {**earlier["splits"], **results["splits"]}}
    write_text_atomic(path, json.dumps(results, indent=1))
    write_text_atomic(folder / f"{stem}.md", summarize(results) + "\n\n" + per_project_table(results) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """``text`` to ``path`` through ``<path>.partial`` and a rename: a killed run leaves the old file or the new."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", nargs="+", default=list(PROTOCOLS), choices=PROTOCOLS)
    parser.add_argument("--models", nargs="+", default=["stasn"], choices=MODELS)
    parser.add_argument("--data", nargs="+", default=["real+synth"], choices=DATA)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides (recipe ablations)")
    parser.add_argument(
        "--schedule", default="joint", choices=["staged", "joint"], help="STASN: staged TASM/SASM/joint or joint only"
    )
    parser.add_argument(
        "--with-nuaa", action="store_true", help="leave-projects-out: train on NUAA too (about twice the time)"
    )
    parser.add_argument(
        "--with-live-faces",
        action="store_true",
        help="nuaa-sessions: train on the live-faces images too (as protocols 2 and 3 do)",
    )
    parser.add_argument(
        "--one-class-subjects",
        default="drop",
        choices=["drop", "keep"],
        help="nuaa-sessions: the training session's subjects seen in one class only (0008 in session 01, 0002 and 0003 "
        "in session 02: prints only) are left out of training (drop; runs tagged -bothclasses) or kept",
    )
    parser.add_argument(
        "--synth-pool",
        default="synth",
        help="name of the synthesized pool (runs/generalization/pool-<name>, made once with the current synthesizer): "
        "a new name measures another synthesizer version; its runs and result files carry the name. synth-v4: "
        "replays with the screen over-exposed as the real ones are (meter_share 0.1-0.6)",
    )
    parser.add_argument(
        "--tables", action="store_true", help="only rewrite results/*.md from the results/*.json already there"
    )
    args = parser.parse_args()
    if args.tables:
        for path in sorted((OUT / "results").glob("*.json")):
            results = json.loads(path.read_text())
            path.with_suffix(".md").write_text(summarize(results) + "\n\n" + per_project_table(results) + "\n")
            print(f"{path.with_suffix('.md')}")
        return
    if not (SHARED / "nuaa-raw-train").is_dir():
        raise SystemExit(f"{SHARED}: not found; this benchmark needs ../shared beside the checkout")
    OUT.mkdir(parents=True, exist_ok=True)
    for protocol in args.protocol:
        datas = args.data if protocol != "nuaa-sessions" else [d for d in args.data if d != "synth"] or ["real"]
        results = run_protocol(
            protocol,
            args.models,
            datas,
            args.seeds,
            args.epochs,
            args.set,
            args.schedule,
            args.with_nuaa,
            args.synth_pool,
            args.with_live_faces,
            args.one_class_subjects == "drop",
        )
        print("\n" + summarize(results) + "\n")


if __name__ == "__main__":
    main()
