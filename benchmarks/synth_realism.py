"""Can a classifier tell synthesized attacks from real ones? A learned two-sample test, split by project.

Rows (every one a binary classifier, scored out-of-fold, AUC on held-out groups; 0.5 = indistinguishable):

* ``replay: real vs synth`` — the real replay crops of the 16 projects of ``replay-crops-dev`` +
  ``replay-crops-train`` (label 0) against one :class:`stasn.synth.ReplaySynthesizer` replay made from every live
  crop of the **same projects** (label 1: same people, same cameras, same detector crops); ``k`` folds grouped by
  project (:func:`generalization.project_folds`), every project tested once;
* ``print: real vs synth`` — NUAA's print frames (``ImposterRaw``, 0) against one
  :class:`stasn.synth.PrintSynthesizer` print of every NUAA live capture (1); folds grouped by subject;
* ``control: live vs real replay`` — the anti-spoofing task on the replay projects' folds (live 0, real replay 1):
  how far real replays are from live faces, the yardstick for the first row.

Two classifiers (``--classifier``):

* ``features`` (default; minutes on one core): frozen ImageNet EfficientNet-Lite0 on the 128 px face crops, the
  mean and standard deviation over positions of four stages (strides 4, 8, 16, 32: from noise and texture to
  layout) concatenated, standardised, and an L2 logistic regression (``C`` = 0.1) per fold. Features are cached.
  A seed changes the synthesis (``--seeds`` different synthesized pools), not the classifier (which is convex).
* ``finetune`` (the issue's test; about an hour per seed on one core): the plain frame classifier of
  ``benchmarks/generalization.py`` (``configs/lite.yaml``, ``model.num_frames=1``, TASM only) fine-tuned
  ``--epochs`` epochs per fold, 2 training groups held out as dev for the checkpoint; a seed changes the training
  run (the synthesized pool is seed 0's).

Results: mean over folds of the fold AUC (pooled out-of-fold AUC beside it), mean ± std over seeds, to
``runs/synth_realism/results/<tag>-<classifier>.{json,md}`` (a run with ``--only`` keeps the other rows an earlier
run of the tag wrote with the same folds, epochs and framing). Contact sheets of the synthesized samples the
classifier is surest about (top row blocks) beside the real ones it is surest are real, to
``runs/synth_realism/sheets/`` (derived from ``../shared`` data: they stay out of the repository).

    python benchmarks/synth_realism.py [--tag current] [--classifier features|finetune] [--seeds 3] [--folds 4]
    python benchmarks/synth_realism.py --tag current --seeds 2 --probe

``--probe`` diagnoses the replay row instead (``--only print``: the print row, groups = NUAA subjects; frozen
features only, ``--seeds`` pools): the same out-of-fold test on
restricted views of the same crops — each Lite0 stage alone, grey, a high-pass (texture, noise and compression
only), the central half (the face) or the border ring alone, 8 and 16 px colour thumbnails (colour and layout only),
ten named image statistics together and one by one — with their percentiles for live / real replay / synthesized
replay, per-project AUCs, the drawn parameters ranked by how they move a synthesized sample's score
(:func:`parameter_table`: which ranges give samples away), and one sheet per project (live, real replay,
synthesized, surest-synthetic rows) to ``runs/synth_realism/sheets/<tag>-projects/``; results to
``results/<tag>-probe-s<seed>.md``.

``--centre 0.6`` runs the same test on the central 60 % of every crop's side, the ring outside it grey
(:func:`centre_only`): the face without its surroundings (hair, clothes, background, padding), which in these
projects come from another recording than the live crops the replays are synthesized from; results under
``<tag>-centre60``.

Face-crop pools are ``benchmarks/generalization.py``'s (``runs/generalization/pool-images``, ``pool-nuaa``, made
once with YuNet; reused when they exist); synthesized pools go to ``runs/synth_realism/synth-<tag>-s<seed>``
(re-made only when deleted: use a new ``--tag`` after changing the synthesizer).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generalization as gen  # noqa: E402

from stasn.data.manifest import ManifestRow, read_manifest  # noqa: E402

if TYPE_CHECKING:
    from stasn.synth import ReplayRanges

OUT = gen.ROOT / "runs" / "synth_realism"
_STAGES = (1, 2, 4, 6)  # Lite0 blocks whose outputs are pooled: strides 4, 8, 16, 32 (24, 40, 112, 320 channels)
ROWS = ("replay: real vs synth", "print: real vs synth", "control: live vs real replay")


# --- items ----------------------------------------------------------------------------------------------------------
def pools_and_meta() -> tuple[dict[str, Path], dict[str, dict]]:
    """The plain YuNet pools of generalization.py (built when missing) and every video's project/subject."""
    pools = {"images": gen.OUT / "pool-images", "nuaa": gen.OUT / "pool-nuaa"}
    if all((p / "manifest.csv").is_file() for p in pools.values()):
        meta = gen._image_samples()[1]
        meta.update(gen._nuaa_samples()[1])
        return pools, meta
    return gen.base_pools()


def synth_pools(
    pools: dict[str, Path],
    meta: dict[str, dict],
    tag: str,
    seed: int,
    framing: str,
    prints: bool = True,
    replays: bool = True,
) -> Path:
    """One replay per live item of the replay projects, one print per NUAA live capture; made once per tag/seed.

    ``framing``: ``crop`` (synthesize from our 256 px face crop: what ``stasn synth`` and generalization.py do) or
    ``source`` (replays only: synthesize from the project's own live image, then find and crop the face with the same
    YuNet pipeline as the real replays; see :func:`reframed_replays`). Prints are made from the crops either way.
    """
    from stasn.synth import synthesize_cache

    out = OUT / f"synth-{tag}-s{seed}"
    wanted = {name for name, on in (("replays", replays), ("prints", prints)) if on}
    if (out / ".done").is_file():
        made = set(_made_parts(out / ".done"))
        if not wanted <= made:
            raise SystemExit(
                f"{out}: made with {', '.join(sorted(made)) or 'nothing'} only (--only), "
                f"not {', '.join(sorted(wanted))}; use a new --tag"
            )
        return out
    live_replay = {v: "train" for v, m in meta.items() if m["source"] in gen.REPLAY_SETS}
    live_nuaa = {v: "train" for v, m in meta.items() if m["source"] == "nuaa"}
    start = time.perf_counter()
    if not replays:  # (left out while iterating on prints only: --only print)
        pass
    elif framing == "source":
        rotated = {v for v in live_replay if "rotated" in meta[v].get("flags", [])}
        reframed_replays(pools["images"], live_replay, out, seed=1000 * seed + 11, rotated=rotated)
    else:
        source = gen.run_cache("replay-projects", live_replay, [pools["images"]], root=OUT)
        synthesize_cache(source, out, kind="replay", per_live=1, seed=1000 * seed + 11, workers=2)
    if prints:  # (left out while iterating on replays only: --only replay)
        source = gen.run_cache("nuaa", live_nuaa, [pools["nuaa"]], root=OUT)
        synthesize_cache(source, out, kind="print", per_live=1, seed=1000 * seed + 12, workers=2)
    (out / ".done").write_text(f"{time.perf_counter() - start:.0f} s\n{' '.join(sorted(wanted))}\n")
    return out


def _made_parts(done: Path) -> list[str]:
    """What a synthesized pool holds (``replays``, ``prints``), from its ``.done``; a pool finished before that was
    recorded holds both."""
    lines = done.read_text().splitlines()
    return lines[1].split() if len(lines) > 1 else ["prints", "replays"]


def _upright_turns(image: np.ndarray, detector, sideways: bool = False) -> int:
    """Quarter turns (``np.rot90``'s ``k``) that make the face in ``image`` upright: 0 when YuNet finds an upright
    face (eyes above the mouth); else the turn under which YuNet finds the surest one (0 when it finds none).

    ``sideways``: the image is known to be turned by 90 degrees (the data's ``rotated`` flag, set by eye): only the
    two quarter turns are tried (YuNet finds an "upright" face in some sideways crops), the surest upright one
    taken, else the surest detection of the two, else 1."""
    best, turns = 0.0, 0
    if sideways:
        found = {k: detector.detect(np.ascontiguousarray(np.rot90(image, k))) for k in (1, 3)}
        upright = {
            k: f[0].score
            for k, f in found.items()
            if f and f[0].landmarks is not None and f[0].landmarks[3:, 1].mean() > f[0].landmarks[:2, 1].mean()
        }
        pool = upright or {k: f[0].score for k, f in found.items() if f}
        return max(pool, key=pool.get) if pool else 1
    for k in (0, 1, 3, 2):
        found = detector.detect(np.ascontiguousarray(np.rot90(image, k)))
        if found and found[0].landmarks is not None:
            lm = found[0].landmarks
            eyes_y, mouth_y = lm[:2, 1].mean(), lm[3:, 1].mean()
            if mouth_y > eyes_y and found[0].score > best:
                best, turns = float(found[0].score), k
                if k == 0:
                    break
    return turns


_FACE_SHARE = 0.9  # the projects' live images are tight detector boxes: the face is ~0.9 of the image
_BOX_SCALE = (0.9, 1.05)  # the projects' detector boxes of the filmed face, relative to the displayed image
_MARGIN = 0.15  # the displayed frame reaches this far (share of the image's longer side) beyond the live image
_RANGE_OVERRIDES: dict = {}  # --replay-ranges / --meter-share: ReplayRanges fields for the source framing


def source_ranges(ranges: ReplayRanges | None = None) -> ReplayRanges:
    """``ranges`` (default: the synthesizer's) for a live image padded by :func:`source_replay`: the face is
    ``_FACE_SHARE`` of the live image, the frame is ``_BOX_SCALE`` x the live image (not the padded one)."""
    from stasn.synth import ReplayRanges

    r = ranges if ranges is not None else ReplayRanges()
    if _RANGE_OVERRIDES:  # --replay-ranges, --meter-share
        r = gen.replay_ranges(_RANGE_OVERRIDES, r)
    padded = 1.0 + 2.0 * _MARGIN
    view = dataclasses.replace(r.view, crop_scale=tuple(v / padded for v in _BOX_SCALE))
    return dataclasses.replace(r, face_fraction=_FACE_SHARE / padded, view=view)


def source_replay(image: np.ndarray, synth, rng: np.random.Generator) -> tuple[np.ndarray, object, int]:
    """A replay of a project's live image, framed like the project's real replay crops: ``(attack, params, side)``.

    The real replays are the projects' tight face crops of a camera frame that filmed the replayed video, so their
    borders are the filmed background just outside the face box. The synthesizer is given the live image padded to
    a square with ``_MARGIN`` more on every side by edge replication (what the screen shows just beyond the box;
    the synthesizer's own blurred surround, feathered into the image's border, would otherwise make the crop's
    border and the pool's edge padding a smooth colour wash), it frames ``_BOX_SCALE`` x the live image's square
    (``synth`` made with :func:`source_ranges`), and the output's central window of the live image's aspect is
    resized to its size (the synthesizer's output is square: resizing it whole would squeeze a portrait crop).
    """
    import cv2

    h, w = image.shape[:2]
    longer = max(h, w)
    side = int(round(longer * (1.0 + 2.0 * _MARGIN)))
    side += side % 2  # even: H.264
    top, left = (side - h) // 2, (side - w) // 2
    square = cv2.copyMakeBorder(image, top, side - h - top, left, side - w - left, cv2.BORDER_REPLICATE)
    # The camera's pixels are counted against the live image's size, which is what the replay ends up as (the real
    # replays are the projects' own images of the filmed screen), not against the padded square it is rendered on.
    params = synth.sample_params(rng, (w, h))
    attack = synth.apply(square, params)
    wh, hh = round(side * w / longer), round(side * h / longer)
    y0, x0 = (side - hh) // 2, (side - wh) // 2
    window = attack[y0 : y0 + hh, x0 : x0 + wh]
    return cv2.resize(window, (w, h), interpolation=cv2.INTER_AREA), params, side


def _reframe_one(job: tuple[str, str, int, str, bool]) -> tuple[str, dict]:
    """Synthesize one replay of a live image file (:func:`source_replay`); write it as PNG. ``(png path, record)``.

    An attacker holds the screen so that the face is upright for the camera: a few projects saved their live crops
    turned by 90 degrees (``rotated`` in the data's manifest) while their real replays are upright, so the source
    is turned upright first (YuNet finds the turn, :func:`_upright_turns`).
    """
    import zlib

    import cv2

    from stasn.infer.inputs import load_image
    from stasn.synth import ReplaySynthesizer

    global _DETECTOR
    source, video_id, seed, target, sideways = job
    synth = ReplaySynthesizer(source_ranges())
    image = load_image(source)
    if _DETECTOR is None:
        _DETECTOR = gen.YuNetDetector(gen.YUNET)
    turns = _upright_turns(image, _DETECTOR, sideways)
    image = np.ascontiguousarray(np.rot90(image, turns))
    rng = np.random.default_rng([seed, zlib.crc32(video_id.encode())])
    attack, params, side = source_replay(image, synth, rng)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(target, cv2.cvtColor(attack, cv2.COLOR_RGB2BGR))
    return target, {"params": params.to_dict(), "upright_turns": turns, "square_side": side}


_DETECTOR = None  # one YuNet per worker process


def reframed_replays(
    pool: Path, live: dict[str, str], out: Path, *, seed: int, rotated: frozenset[str] | set[str] = frozenset()
) -> None:
    """Replays framed like the real ones: synthesize from each live item's source image (the project's own crop,
    turned upright, framed by :func:`source_replay`), then let YuNet find the face and crop it x1.3 (edge padding)
    exactly as the real replay crops were made.

    The real replays of these projects are the projects' tight face crops of a camera frame that filmed a screen;
    synthesizing from our padded 1.3x crop instead films the padding too (tilted, blurred), a framing the real
    replays never have. Each row's ``extra`` keeps ``source_video_id`` and the replay parameters.
    """
    import multiprocessing

    from stasn.data.manifest import write_manifest
    from stasn.data.prepare import prepare_samples
    from stasn.datasets.base import Sample

    rows = [r for r in read_manifest(pool / "manifest.csv") if r.video_id in live and r.label == 0]
    frames = out.parent / f"{out.name}-frames"
    jobs = [
        (r.source_path, r.video_id, seed, str(frames / f"{i:05d}.png"), r.video_id in rotated)
        for i, r in enumerate(rows)
    ]
    with multiprocessing.get_context("fork").Pool(2) as workers:  # fork: this script's function, OpenCV per process
        made = dict(workers.imap_unordered(_reframe_one, jobs, chunksize=8))
    samples, sources = [], {}
    for (_, video_id, _, target, _), r in zip(jobs, rows, strict=True):
        sample = Sample(
            path=Path(target),
            label=1,
            attack_type="replay-synth",
            split="train",
            video_id=f"replay/{video_id}",
            dataset="synth",
            subject=r.subject,
            is_image=True,
        )
        samples.append(sample)
        sources[f"synth/replay/{video_id}"] = (video_id, made[target])
    prepare_samples(samples, out, detector=gen.YuNetOrWhole(gen.YUNET), cache_info=gen.INFO, workers=2)
    rows_out = []
    for r in read_manifest(out / "manifest.csv"):
        video_id, made_with = sources[r.video_id]
        extra = {**r.extra, "source_video_id": video_id, "synth": {"kind": "replay", "seed": seed, **made_with}}
        rows_out.append(dataclasses.replace(r, extra=extra))
    write_manifest(rows_out, out)


def item_rows(pools: dict[str, Path], synth: Path, meta: dict[str, dict]) -> dict[str, list[tuple[ManifestRow, Path]]]:
    """The four groups of frames: real live / real replay (replay projects), NUAA print, synth replay / print."""
    groups: dict[str, list[tuple[ManifestRow, Path]]] = defaultdict(list)
    for r in read_manifest(pools["images"] / "manifest.csv"):
        if r.status == "ok" and meta.get(r.video_id, {}).get("source") in gen.REPLAY_SETS:
            groups["real replay" if r.label else "real live"].append((r, pools["images"]))
    for r in read_manifest(pools["nuaa"] / "manifest.csv"):
        if r.status == "ok":
            groups["nuaa print" if r.label else "nuaa live"].append((r, pools["nuaa"]))
    for r in read_manifest(synth / "manifest.csv"):
        groups["synth replay" if r.attack_type == "replay-synth" else "synth print"].append((r, synth))
    return groups


def group_of(row: ManifestRow, meta: dict[str, dict]) -> str:
    """The fold-grouping key: the project (replay sets) or the subject (NUAA), for real and synthesized rows."""
    source = row.extra.get("source_video_id", row.video_id)
    m = meta[source]
    return m["subject"] if m["source"] == "nuaa" else m["project"]


# --- features -------------------------------------------------------------------------------------------------------
def lite0_features(paths: list[Path], cache: Path) -> np.ndarray:
    """``[N, 2 * 496]`` float32: mean and std over positions of Lite0 (ImageNet) stages 1, 2, 4, 6 of each 128 px
    face crop (ImageNet-normalised RGB). Cached in ``cache`` (an ``.npz`` keyed by path and mtime)."""
    import cv2
    import torch

    from stasn.model.backbones import build_backbone

    known: dict[str, np.ndarray] = {}
    if cache.is_file():
        with np.load(cache) as stored:
            known = dict(zip(stored["paths"].tolist(), stored["features"], strict=True))
    keys = [f"{p}@{p.stat().st_mtime_ns}" for p in paths]  # a re-made pool's crops are new files
    todo = [(key, str(p)) for key, p in dict.fromkeys(zip(keys, paths, strict=True)) if key not in known]
    if todo:
        torch.set_num_threads(1)
        body = build_backbone("efficientnet_lite0", pretrained="imagenet").eval().body
        trunk = torch.nn.Sequential(body[0], body[1])  # conv_stem, bn1 (the blocks follow at body[2:9])
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        for start in range(0, len(todo), 64):
            batch = todo[start : start + 64]
            images = [cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB) for _, p in batch]
            x = torch.from_numpy(np.stack([cv2.resize(im, (128, 128)) for im in images])).permute(0, 3, 1, 2)
            x = (x.float() / 255.0 - mean) / std
            pooled = []
            with torch.inference_mode():
                h = trunk(x)
                for i in range(7):
                    h = body[2 + i](h)
                    if i in _STAGES:
                        pooled += [h.mean(dim=(2, 3)), h.std(dim=(2, 3))]
            for (key, _), f in zip(batch, torch.cat(pooled, dim=1).numpy(), strict=True):
                known[key] = f.astype(np.float32)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, paths=np.array(list(known)), features=np.stack(list(known.values())))
    return np.stack([known[key] for key in keys])


def _logistic_scores(x_train, y_train, x_test) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x_train)
    model = LogisticRegression(C=0.1, max_iter=3000).fit(scaler.transform(x_train), y_train)
    return model.predict_proba(scaler.transform(x_test))[:, 1]


# --- the test -------------------------------------------------------------------------------------------------------
def folds_of(groups: list[str], k: int) -> list[list[str]]:
    """``groups`` (one per item) in ``k`` folds of about equal item counts, largest group first into the lightest."""
    sizes: dict[str, int] = defaultdict(int)
    for g in groups:
        sizes[g] += 1
    folds: list[list[str]] = [[] for _ in range(k)]
    load = [0] * k
    for g in sorted(sizes, key=lambda g: (-sizes[g], g)):
        i = int(np.argmin(load))
        folds[i].append(g)
        load[i] += sizes[g]
    return folds


def auc_table(y: np.ndarray, scores: np.ndarray, groups: list[str], folds: list[list[str]]) -> dict:
    """Fold AUCs (test fold = its groups), their mean, and the pooled out-of-fold AUC."""
    from sklearn.metrics import roc_auc_score

    g = np.array(groups)
    per_fold = []
    for fold in folds:
        mask = np.isin(g, fold)
        if len(set(y[mask])) == 2:
            per_fold.append(float(roc_auc_score(y[mask], scores[mask])))
    return {"fold_auc": per_fold, "auc": float(np.mean(per_fold)), "pooled_auc": float(roc_auc_score(y, scores))}


def features_test(items: list[tuple[ManifestRow, Path]], y: np.ndarray, groups: list[str], k: int) -> tuple:
    """Out-of-fold spoof-side scores (higher = class 1) of the frozen-feature classifier; ``(scores, folds)``."""
    x = lite0_features([pool / r.face_path for r, pool in items], OUT / "features" / "lite0.npz")
    folds = folds_of(groups, k)
    scores = np.zeros(len(items))
    g = np.array(groups)
    for fold in folds:
        test = np.isin(g, fold)
        scores[test] = _logistic_scores(x[~test], y[~test], x[test])
    return scores, folds


def finetune_test(
    name: str, items: list[tuple[ManifestRow, Path]], y: np.ndarray, groups: list[str], k: int, seed: int, epochs: int
) -> tuple:
    """Out-of-fold scores of the fine-tuned frame classifier (one run per fold, 2 training groups as dev)."""
    folds = folds_of(groups, k)
    labels = {r.video_id: int(t) for (r, _), t in zip(items, y, strict=True)}
    group_of_video = {r.video_id: g for (r, _), g in zip(items, groups, strict=True)}
    pools = sorted({pool for _, pool in items})
    per_video: dict[str, float] = {}
    for i, fold in enumerate(folds):
        training = sorted({g for g in groups if g not in fold})
        dev = set(training[j] for j in np.random.default_rng(i).permutation(len(training))[:2])
        assignment = {v: "test" if g in fold else "dev" if g in dev else "train" for v, g in group_of_video.items()}
        cache = gen.run_cache(f"{name}-fold{i}", assignment, pools, labels=labels, root=OUT)
        run = f"synth-realism-{name}-fold{i}-e{epochs}-s{seed}"
        checkpoint = gen.train_run(run, cache, "frame", seed, epochs, [])
        per_video.update(gen.model_scores(checkpoint, cache, "test"))
    return np.array([per_video[r.video_id] for r, _ in items]), folds


def centre_only(source: Path, target: Path, keep: float) -> Path:
    """A copy of the pool ``source`` at ``target`` in which every crop (``*.jpg``: face and high-res) keeps only its
    central ``keep`` share of each side; the ring outside it is mid-grey (128). Made once per ``keep``.

    The ring of these crops holds the surroundings of the face (hair, clothes, background, the pool's edge padding).
    In the replay projects the live and the attack videos are different recordings (``replay-crops-train``'s
    SOURCES.md): what the ring shows differs between a project's live crops, which the replays are synthesized from,
    and its real replays (one project's live crops show a magenta turban, its replayed video a blue one), which no
    synthesizer of the live crops can reproduce.
    """
    import shutil

    import cv2

    marker = target / ".centre"
    if marker.is_file() and marker.read_text().strip() == f"{keep}":
        return target
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial, symlinks=False)
    for path in sorted(partial.rglob("*.jpg")):
        image = cv2.imread(str(path))
        h, w = image.shape[:2]
        y0, x0 = int(h * (1 - keep) / 2), int(w * (1 - keep) / 2)
        masked = np.full_like(image, 128)
        masked[y0 : h - y0, x0 : w - x0] = image[y0 : h - y0, x0 : w - x0]
        cv2.imwrite(str(path), masked, [cv2.IMWRITE_JPEG_QUALITY, 95])
    (partial / ".centre").write_text(f"{keep}\n")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def run(
    tag: str,
    classifier: str,
    seeds: int,
    k: int,
    epochs: int,
    framing: str,
    only: list[str],
    sheets: bool = True,
    centre: float | None = None,
) -> dict:
    """The rows of ``only`` (all when empty) for ``seeds`` seeds; ``centre``: the same test on the central ``centre``
    share of every crop (:func:`centre_only`; results under ``<tag>-centre<percent>``)."""
    pools, meta = pools_and_meta()
    sources = dict(pools)  # what replays and prints are synthesized from: the crops whole
    suffix = "" if centre is None else f"-centre{round(100 * centre)}"
    name = tag + suffix
    if centre is not None:  # (NUAA's pool only where a print row runs)
        for p in [p for p in pools if p == "images" or not only or "print" in only]:
            pools[p] = centre_only(pools[p], OUT / f"pool-{p}{suffix}", centre)
    results: dict = {"tag": name, "classifier": classifier, "folds": k, "epochs": epochs, "framing": framing}
    results["rows"] = {}
    planned = [row for row in ROWS if not only or row.split(":")[0] in only]
    for seed in range(seeds):
        prints = not only or "print" in only
        replays = not only or "replay" in only
        synth = synth_pools(sources, meta, tag, seed if classifier == "features" else 0, framing, prints, replays)
        if centre is not None:
            synth = centre_only(synth, synth.with_name(synth.name + suffix), centre)
        g = item_rows(pools, synth, meta)
        tests = {
            ROWS[0]: (g["real replay"], g["synth replay"]),
            ROWS[1]: (g["nuaa print"], g["synth print"]),
            ROWS[2]: (g["real live"], g["real replay"]),
        }
        for row_name, (negatives, positives) in tests.items():
            if only and row_name.split(":")[0] not in only:
                continue
            if row_name == ROWS[2] and classifier == "features" and seed > 0:
                continue  # the control has no synthesis in it: the frozen-feature test gives the same every seed
            items = [*negatives, *positives]
            y = np.array([0] * len(negatives) + [1] * len(positives))
            groups = [group_of(r, meta) for r, _ in items]
            start = time.perf_counter()
            if classifier == "features":
                scores, folds = features_test(items, y, groups, k)
            else:
                short = {ROWS[0]: "replay", ROWS[1]: "print", ROWS[2]: "control"}[row_name]
                scores, folds = finetune_test(f"{name}-{short}", items, y, groups, k, seed, epochs)
            table = auc_table(y, scores, groups, folds)
            table.update(seed=seed, n=[len(negatives), len(positives)], seconds=time.perf_counter() - start)
            results["rows"].setdefault(row_name, []).append(table)
            print(f"{name} {classifier} s{seed} {row_name}: AUC {table['auc']:.3f} (pooled {table['pooled_auc']:.3f})")
            if sheets and seed == 0:
                contact_sheet(items, y, scores, OUT / "sheets" / f"{name}-{classifier}-{row_name.split(':')[0]}.png")
        _write(results, planned)
    return results


def contact_sheet(items, y: np.ndarray, scores: np.ndarray, path: Path, per_row: int = 12) -> None:
    """Rows 1-3: the class-1 items scored highest (surest synthetic); rows 4-5: class-1 items scored lowest (best
    hidden); rows 6-7: the class-0 items scored lowest (surest real). 128 px face crops."""
    import cv2

    order = np.argsort(scores)
    pos = [i for i in order[::-1] if y[i] == 1]
    neg = [i for i in order if y[i] == 0]
    picks = [pos[: 3 * per_row], pos[::-1][: 2 * per_row], neg[: 2 * per_row]]
    tile = 128
    rows = []
    for block in picks:
        for start in range(0, len(block), per_row):
            row = np.full((tile, per_row * tile, 3), 30, np.uint8)
            for c, i in enumerate(block[start : start + per_row]):
                r, pool = items[i]
                image = cv2.imread(str(pool / r.face_path))
                row[:, c * tile : (c + 1) * tile] = cv2.resize(image, (tile, tile))
            rows.append(row)
        rows.append(np.full((6, per_row * tile, 3), 255, np.uint8))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.concatenate(rows))


# --- probe: what separates real from synthesized replays ------------------------------------------------------------
# Restricted views of the same face crops, each tested like the headline row (same folds, same logistic regression):
# if a view that keeps only colour and layout, or only fine texture, or only the border ring, separates the classes,
# that is where the giveaway is.
_VIEW_TRANSFORMS = ("rgb", "grey", "highpass")
_REGIONS = ("all", "centre", "ring")  # whole map; the central half (side / 2: the face); everything outside it


def _view_input(image: np.ndarray, transform: str) -> np.ndarray:
    """A 128 px RGB crop reduced to one kind of information: ``rgb`` (all), ``grey`` (no colour), ``highpass``
    (texture, noise and compression only: the crop minus its Gaussian blur, sigma 1.5 px, x4 around mid-grey)."""
    import cv2

    if transform == "rgb":
        return image
    if transform == "grey":
        return np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    if transform == "highpass":
        x = image.astype(np.float32)
        return np.clip(128.0 + 4.0 * (x - cv2.GaussianBlur(x, (0, 0), 1.5)), 0, 255).astype(np.uint8)
    raise ValueError(f"unknown view transform {transform!r}")


def _region_mask(size: int, region: str):
    import torch

    centre = torch.zeros(size, size, dtype=torch.bool)
    lo, hi = size // 4, size - size // 4
    centre[lo:hi, lo:hi] = True
    return {"all": torch.ones(size, size, dtype=torch.bool), "centre": centre, "ring": ~centre}[region]


def lite0_views(paths: list[Path], cache: Path) -> dict[str, np.ndarray]:
    """Per view ``"<transform>/<region>/s<stage>"``: ``[N, 2 C]`` mean and std over the region's positions of one
    Lite0 stage (ImageNet weights; the headline's features are ``rgb/all`` of all four stages). Cached."""
    import cv2
    import torch

    from stasn.model.backbones import build_backbone

    names = [f"{t}/{r}/s{s}" for t in _VIEW_TRANSFORMS for r in _REGIONS for s in _STAGES]
    known: dict[str, dict[str, np.ndarray]] = {}
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as stored:
            keys = stored["keys"].tolist()
            for name in names:
                for key, f in zip(keys, stored[name], strict=True):
                    known.setdefault(key, {})[name] = f
    keys = [f"{p}@{p.stat().st_mtime_ns}" for p in paths]
    todo = [(key, str(p)) for key, p in dict.fromkeys(zip(keys, paths, strict=True)) if key not in known]
    if todo:
        torch.set_num_threads(1)
        body = build_backbone("efficientnet_lite0", pretrained="imagenet").eval().body
        trunk = torch.nn.Sequential(body[0], body[1])
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        for start in range(0, len(todo), 64):
            batch = todo[start : start + 64]
            images = [cv2.resize(cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB), (128, 128)) for _, p in batch]
            for transform in _VIEW_TRANSFORMS:
                x = np.stack([_view_input(im, transform) for im in images])
                x = (torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255.0 - mean) / std
                with torch.inference_mode():
                    h = trunk(x)
                    for i in range(7):
                        h = body[2 + i](h)
                        if i not in _STAGES:
                            continue
                        for region in _REGIONS:
                            m = _region_mask(h.shape[-1], region)
                            v = h[:, :, m]  # [N, C, positions]
                            f = torch.cat([v.mean(dim=2), v.std(dim=2)], dim=1).numpy()
                            for (key, _), row in zip(batch, f, strict=True):
                                known.setdefault(key, {})[f"{transform}/{region}/s{i}"] = row.astype(np.float32)
        cache.parent.mkdir(parents=True, exist_ok=True)
        stored_keys = list(known)
        np.savez(cache, keys=np.array(stored_keys), **{n: np.stack([known[k][n] for k in stored_keys]) for n in names})
    return {n: np.stack([known[k][n] for k in keys]) for n in names}


SPECTRUM_BANDS = ((1, 4), (4, 8), (8, 16), (16, 24), (24, 32), (32, 40), (40, 48), (48, 56), (56, 63))


def spectrum_bands(image: np.ndarray, bands=SPECTRUM_BANDS) -> np.ndarray:
    """Fine-to-coarse texture of a crop: the radially averaged power spectrum of its grey 128 px version (mean
    removed, Hann window), log10 power averaged over each band ``[low, high)`` of cycles per crop. ``[len(bands)]``.
    A camera whose pixels are upsampled onto a larger image loses power in the top bands (issue 16, v8)."""
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    grey = cv2.resize(grey, (128, 128), interpolation=cv2.INTER_AREA).astype(np.float64)
    window = np.outer(np.hanning(128), np.hanning(128))
    power = np.abs(np.fft.fftshift(np.fft.fft2((grey - grey.mean()) * window))) ** 2
    yy, xx = np.indices(power.shape)
    radius = np.hypot(yy - 64, xx - 64).astype(int).ravel()
    radial = np.bincount(radius, power.ravel()) / np.bincount(radius)
    logs = np.log10(radial + 1e-6)
    return np.array([logs[low:high].mean() for low, high in bands])


def image_statistics(image: np.ndarray) -> dict[str, float]:
    """A few named statistics of a 128 px RGB crop, the words for what a view finds (all on the uint8 crop):
    face-centre grey (central half), its saturation (HSV, 0-255), blue / green and red / green of the centre,
    whole-crop contrast (std of grey), sharpness (log10 variance of the Laplacian of grey), fine noise (mean
    absolute difference of grey and its 3x3 median, a noise estimate), 8x8 blockiness (mean |step| across 8 px
    block borders over mean |step| elsewhere), border-ring grey minus centre grey, and edge density of the ring."""
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    n = grey.shape[0]
    lo, hi = n // 4, n - n // 4
    centre = image[lo:hi, lo:hi].reshape(-1, 3).astype(np.float32)
    ring = np.ones((n, n), bool)
    ring[lo:hi, lo:hi] = False
    hsv = cv2.cvtColor(image[lo:hi, lo:hi], cv2.COLOR_RGB2HSV)
    steps = np.abs(np.diff(grey, axis=1))
    at_border = steps[:, 7::8].mean()
    elsewhere = np.delete(steps, np.s_[7::8], axis=1).mean()
    edges = cv2.Canny(image, 60, 150) > 0
    rgb_mean = centre.mean(axis=0) + 1.0
    return {
        "centre grey": float(grey[lo:hi, lo:hi].mean()),
        "centre saturation": float(hsv[..., 1].mean()),
        "blue/green": float(rgb_mean[2] / rgb_mean[1]),
        "red/green": float(rgb_mean[0] / rgb_mean[1]),
        "contrast": float(grey.std()),
        "sharpness": float(np.log10(cv2.Laplacian(grey, cv2.CV_32F).var() + 1.0)),
        "noise": float(np.mean(np.abs(grey - cv2.medianBlur(grey.astype(np.uint8), 3).astype(np.float32)))),
        "blockiness": float(at_border / max(elsewhere, 1e-3)),
        "ring - centre grey": float(grey[ring].mean() - grey[lo:hi, lo:hi].mean()),
        "ring edges": float(edges[ring].mean()),
    }


def _oof_auc(x: np.ndarray, y: np.ndarray, groups: list[str], folds: list[list[str]]) -> tuple[float, np.ndarray]:
    g = np.array(groups)
    scores = np.zeros(len(y))
    for fold in folds:
        test = np.isin(g, fold)
        scores[test] = _logistic_scores(x[~test], y[~test], x[test])
    return auc_table(y, scores, groups, folds)["auc"], scores


_PROBE_GROUPS = {  # kind -> (real attacks, synthesized attacks, the live items they were made from), item_rows' names
    "replay": ("real replay", "synth replay", "real live"),
    "print": ("nuaa print", "synth print", "nuaa live"),
}


def probe(tag: str, seed: int, k: int, kind: str = "replay") -> str:
    """The replay (or print) row on restricted views (see the module's ``--probe``); writes
    ``results/<tag>-probe[-print]-s<seed>.md`` and per-group contact sheets (``sheets/<tag>-projects/``, prints:
    ``sheets/<tag>-subjects/``: a group is a project, or a NUAA subject for prints); returns the markdown."""
    import cv2

    pools, meta = pools_and_meta()
    synth = synth_pools(pools, meta, tag, seed, "source", prints=kind == "print", replays=kind == "replay")
    g = item_rows(pools, synth, meta)
    real_name, synth_name, live_name = _PROBE_GROUPS[kind]
    items = [*g[real_name], *g[synth_name]]
    y = np.array([0] * len(g[real_name]) + [1] * len(g[synth_name]))
    groups = [group_of(r, meta) for r, _ in items]
    folds = folds_of(groups, k)
    live = g[live_name]
    paths = [pool / r.face_path for r, pool in [*items, *live]]
    views = lite0_views(paths, OUT / "features" / "lite0-views.npz")
    images = [cv2.resize(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB), (128, 128)) for p in paths]
    n = len(items)

    rows: list[tuple[str, float]] = []

    def test(name: str, x: np.ndarray) -> np.ndarray:
        auc, scores = _oof_auc(x[:n], y, groups, folds)
        rows.append((name, auc))
        print(f"probe {tag} s{seed} {name}: AUC {auc:.3f}", flush=True)
        return scores

    stack = lambda names: np.concatenate([views[v] for v in names], axis=1)  # noqa: E731
    headline = test("Lite0 rgb, whole crop, 4 stages (the headline)", stack([f"rgb/all/s{s}" for s in _STAGES]))
    for s, stride in zip(_STAGES, (4, 8, 16, 32), strict=True):
        test(f"Lite0 rgb, whole crop, stage {s} only (stride {stride})", views[f"rgb/all/s{s}"])
    test("Lite0 grey, whole crop", stack([f"grey/all/s{s}" for s in _STAGES]))
    test("Lite0 high-pass (crop minus blur), whole crop", stack([f"highpass/all/s{s}" for s in _STAGES]))
    for region, words in (("centre", "central half (face)"), ("ring", "border ring (outside the central half)")):
        test(f"Lite0 rgb, {words}", stack([f"rgb/{region}/s{s}" for s in _STAGES]))
        test(f"Lite0 high-pass, {words}", stack([f"highpass/{region}/s{s}" for s in _STAGES]))
    for side in (8, 16):
        thumbs = np.stack([cv2.resize(im, (side, side), interpolation=cv2.INTER_AREA) for im in images])
        test(f"{side} x {side} colour thumbnail (pixels)", thumbs.reshape(len(images), -1).astype(np.float32))
    stats = [image_statistics(im) for im in images]
    names = list(stats[0])
    table = np.array([[s[k] for k in names] for s in stats], np.float32)
    test(f"{len(names)} image statistics together", table)
    for j, name in enumerate(names):
        test(f"statistic: {name}", table[:, j : j + 1])
    spectra = np.stack([spectrum_bands(im) for im in images]).astype(np.float32)
    for j, (low, high) in enumerate(SPECTRUM_BANDS):
        test(f"spectrum: log power, {low}-{high} cycles per crop", spectra[:, j : j + 1])

    # Per-project: the headline's out-of-fold scores, AUC of each project's real vs synthesized replays.
    from sklearn.metrics import roc_auc_score

    per_project = []
    for project in sorted(set(groups)):
        mask = np.array(groups) == project
        if len(set(y[mask])) == 2:
            per_project.append(
                (
                    project,
                    int((y[mask] == 0).sum()),
                    int(mask.sum() - (y[mask] == 0).sum()),
                    float(roc_auc_score(y[mask], headline[mask])),
                )
            )
    by = "project" if kind == "replay" else "subject"
    lines = [
        f"### probe `{tag}` seed {seed}: {real_name} (0) vs {synth_name} (1), {k} folds by {by}",
        "",
        "| view | AUC (mean of folds) |",
        "|---|---|",
        *[f"| {name} | {auc:.3f} |" for name, auc in rows],
        "",
        "Image statistics (10th / 50th / 90th percentiles of the 128 px crops):",
        "",
        f"| statistic | {live_name} | {real_name} | {synth_name} |",
        "|---|---|---|---|",
    ]
    sets = {
        live_name: slice(n, None),
        real_name: slice(0, len(g[real_name])),
        synth_name: slice(len(g[real_name]), n),
    }
    for j, name in enumerate(names):
        cells = []
        for part in sets.values():
            q = np.percentile(table[part, j], [10, 50, 90])
            cells.append(" / ".join(f"{v:.3g}" for v in q))
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lines += [
        "",
        "Power spectrum (median log10 power of the grey 128 px crops per band, cycles per crop; spectrum_bands):",
        "",
        f"| band | {' | '.join(sets)} |",
        "|---|---|---|---|",
    ]
    for j, (low, high) in enumerate(SPECTRUM_BANDS):
        cells = " | ".join(f"{np.median(spectra[part, j]):.2f}" for part in sets.values())
        lines.append(f"| {low}-{high} | {cells} |")
    lines += [
        "",
        f"Per {by} (headline scores, out of fold):",
        "",
        f"| {by} | real | synth | AUC |",
        "|---|---|---|---|",
    ]
    lines += [f"| {p} | {a} | {b} | {auc:.3f} |" for p, a, b, auc in per_project]
    synthetic = np.flatnonzero(y == 1)
    records = [items[i][0].extra.get("synth", {}).get("params") for i in synthetic]
    if all(isinstance(r, dict) for r in records):
        lines += ["", *parameter_table(records, headline[synthetic])]
    text = "\n".join(lines)
    folder = OUT / "results"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "" if kind == "replay" else f"-{kind}"
    (folder / f"{tag}-probe{suffix}-s{seed}.md").write_text(text + "\n")
    project_sheets(items, y, headline, live, groups, meta, OUT / "sheets" / f"{tag}-{by}s")
    return text


def flat_parameters(record: dict, prefix: str = "") -> dict[str, float | str]:
    """A synthesized sample's parameter record (nested dicts, lists) as ``{"a.b": value}``: numbers (bools as 0/1)
    and, for lists of numbers, one entry per element (``"a.0"``); strings kept as categories; others dropped."""
    flat: dict[str, float | str] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flat_parameters(value, f"{name}."))
        elif isinstance(value, bool | int | float):
            flat[name] = float(value)
        elif isinstance(value, str):
            flat[name] = value
        elif isinstance(value, list | tuple) and value and all(isinstance(v, int | float) for v in value):
            flat.update({f"{name}.{i}": float(v) for i, v in enumerate(value)})
    return flat


def parameter_table(records: list[dict], scores: np.ndarray, top: int = 25) -> list[str]:
    """Which drawn parameters make a synthesized sample look synthetic: markdown lines.

    ``records``: the parameter records of the synthesized samples, ``scores`` their out-of-fold synthetic-side
    scores. The parameters are drawn independently of the content, so a parameter that correlates with the score
    is one whose values give the sample away (signed ones also by their size, ``|name|``). Numeric parameters:
    Spearman rho with the score, and the median among the quarter scored most real-looking vs the quarter scored
    surest synthetic (a range to move is one whose real-looking quarter sits at one end); categories: the mean score
    rank of each value. The ``top`` numbers by |rho|.
    """
    from scipy.stats import spearmanr

    flat = [flat_parameters(r) for r in records]
    # Signed parameters (angles, offsets) often matter by their size: |x| as a parameter of its own.
    signed = {k for f in flat for k, v in f.items() if isinstance(v, float) and v < 0}
    for f in flat:
        f.update({f"|{k}|": abs(f[k]) for k in signed if k in f})
    names = sorted({k for f in flat for k in f})
    rank = np.argsort(np.argsort(scores)) / max(len(scores) - 1, 1)  # 0 = most real-looking, 1 = surest synthetic
    low, high = rank <= 0.25, rank >= 0.75
    numeric, categorical = [], []
    for name in names:
        values = [f.get(name) for f in flat]
        present = np.array([v is not None for v in values])
        if present.sum() < 20:
            continue
        if all(isinstance(v, float) for v in values if v is not None):
            x = np.array([v if v is not None else np.nan for v in values], float)
            if np.ptp(x[present]) == 0:
                continue
            rho = float(spearmanr(x[present], rank[present]).statistic)
            q = np.nanpercentile(x, [5, 95])
            med_low = float(np.nanmedian(x[present & low])) if (present & low).any() else float("nan")
            med_high = float(np.nanmedian(x[present & high])) if (present & high).any() else float("nan")
            numeric.append(
                (
                    abs(rho),
                    f"| {name} | {int(present.sum())} | {rho:+.3f} | {q[0]:.4g} - {q[1]:.4g} "
                    f"| {med_low:.4g} | {med_high:.4g} |",
                )
            )
        else:
            counts: dict[str, list[float]] = defaultdict(list)
            for v, r in zip(values, rank, strict=True):
                counts[str(v)].append(float(r))
            if len(counts) > 1:
                cells = ", ".join(f"{k} {np.mean(v):.2f} (n {len(v)})" for k, v in sorted(counts.items()))
                categorical.append(f"| {name} | {cells} |")
    numeric.sort(key=lambda t: -t[0])
    return [
        "Drawn parameters vs the headline's synthetic score (rank 0 = most real-looking, 1 = surest synthetic):",
        "",
        "| parameter | n | Spearman rho | 5-95 % drawn | median, most real-looking quarter | median, surest quarter |",
        "|---|---|---|---|---|---|",
        *[line for _, line in numeric[:top]],
        "",
        "| category | mean rank per value |",
        "|---|---|",
        *categorical,
    ]


def project_sheets(items, y, scores, live, groups, meta, folder: Path, per_row: int = 8) -> None:
    """One sheet per project: a row of its live crops, a row of its real replays, a row of its synthesized replays
    (random picks), then the synthesized ones scored surest-synthetic. 128 px tiles."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    g = np.array(groups)
    live_groups = np.array([group_of(r, meta) for r, _ in live])
    for project in sorted(set(groups)):

        def tiles(entries):
            row = np.full((128, per_row * 128, 3), 30, np.uint8)
            for c, (r, pool) in enumerate(entries[:per_row]):
                row[:, c * 128 : (c + 1) * 128] = cv2.resize(cv2.imread(str(pool / r.face_path)), (128, 128))
            return row

        def pick(idx):
            return [items[i] for i in rng.permutation(idx)] if len(idx) else []

        real = np.flatnonzero((g == project) & (y == 0))
        synth = np.flatnonzero((g == project) & (y == 1))
        surest = synth[np.argsort(-scores[synth])]
        own_live = [live[i] for i in rng.permutation(np.flatnonzero(live_groups == project))]
        sep = np.full((4, per_row * 128, 3), 255, np.uint8)
        sheet = np.concatenate(
            [tiles(own_live), sep, tiles(pick(real)), sep, tiles(pick(synth)), sep, tiles([items[i] for i in surest])]
        )
        cv2.imwrite(str(folder / f"{project.replace('/', '+')}.png"), sheet)


def _mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}"


def summarize(results: dict) -> str:
    what = (
        "frozen Lite0 features + logistic regression; seeds = synthesized pools"
        if results["classifier"] == "features"
        else f"fine-tuned Lite0 frame classifier, {results['epochs']} epoch(s); seeds = training runs"
    )
    lines = [
        f"### synthesis `{results['tag']}`: {what}; {results['folds']} folds by project (NUAA: by subject)",
        "",
        "| test | n (class 0 / class 1) | seeds | AUC (mean of folds) | pooled AUC | fold AUCs (seed 0) |",
        "|---|---|---|---|---|---|",
    ]
    for name, runs in results["rows"].items():
        n = "/".join(str(v) for v in runs[0]["n"])
        folds = ", ".join(f"{a:.2f}" for a in runs[0]["fold_auc"])
        lines.append(
            f"| {name} | {n} | {len(runs)} | {_mean_std([r['auc'] for r in runs])} "
            f"| {_mean_std([r['pooled_auc'] for r in runs])} | {folds} |"
        )
    return "\n".join(lines)


def merged_results(results: dict, earlier: dict | None, planned: list[str]) -> dict:
    """``results`` with the rows of an ``earlier`` file of the same tag and classifier that this run does not
    compute (not in ``planned``), so that ``--only control`` after ``--only replay`` keeps the replay row. Rows of a
    run with other settings (folds, epochs, framing) are not kept: they would not be the same test."""
    if not earlier or any(earlier.get(key) != results[key] for key in ("folds", "epochs", "framing")):
        return results
    rows = {**{n: r for n, r in earlier.get("rows", {}).items() if n not in planned}, **results["rows"]}
    order = [n for n in ROWS if n in rows] + [n for n in rows if n not in ROWS]
    return {**results, "rows": {n: rows[n] for n in order}}


def _write(results: dict, planned: list[str] | None = None) -> None:
    """``results/<tag>-<classifier>.{json,md}``, each written under a temporary name and renamed; rows that an
    earlier run of the tag wrote and this one does not compute (``planned``: those it does) are kept."""
    folder = OUT / "results"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{results['tag']}-{results['classifier']}"
    path = folder / f"{stem}.json"
    try:
        earlier = json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        earlier = None  # an unreadable file is replaced, as before
    results = merged_results(results, earlier, list(ROWS) if planned is None else planned)
    gen.write_text_atomic(path, json.dumps(results, indent=1))
    gen.write_text_atomic(folder / f"{stem}.md", summarize(results) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tag", default="current", help="name of this synthesizer version (its pools, results)")
    parser.add_argument("--classifier", default="features", choices=["features", "finetune"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2, help="finetune: epochs per fold")
    parser.add_argument(
        "--framing", default="source", choices=["source", "crop"], help="replays from source images or from crops"
    )
    parser.add_argument("--only", nargs="*", default=[], choices=["replay", "print", "control"])
    parser.add_argument(
        "--probe",
        action="store_true",
        help="diagnose the replay row (--only print: the print row) instead: the same test on restricted views "
        "(stages, grey, high-pass, centre, ring, thumbnails, image statistics), per-group AUCs and sheets; features "
        "only, --seeds pools",
    )
    parser.add_argument(
        "--meter-share",
        nargs=2,
        type=float,
        metavar=("LOW", "HIGH"),
        help="replays (source framing): ReplayRanges.meter_share instead of the default (e.g. 0.1 0.6: the camera "
        "meters the room around the screen too, and over-exposes it)",
    )
    parser.add_argument(
        "--replay-ranges",
        metavar="JSON",
        help='replays (source framing): ReplayRanges fields to override, nested by name, e.g. \'{"meter_share": '
        '[0.1, 0.6], "reflection": {"room_level": [0.02, 0.2]}}\'; use a new --tag for each',
    )
    parser.add_argument(
        "--centre",
        type=float,
        metavar="SHARE",
        help="run the test on the central SHARE of every crop's side (e.g. 0.6: the face), the ring outside it grey: "
        "without the surroundings, which in these projects come from another recording than the live crops; "
        "results and caches under <tag>-centre<percent>",
    )
    args = parser.parse_args()
    try:
        overrides = json.loads(args.replay_ranges) if args.replay_ranges else {}
        if not isinstance(overrides, dict):
            raise ValueError("expected a JSON object")
        if args.meter_share:
            overrides["meter_share"] = list(args.meter_share)
        gen.replay_ranges(overrides)
    except ValueError as error:
        raise SystemExit(f"--replay-ranges: {error}") from None
    _RANGE_OVERRIDES.update(overrides)
    if not (gen.SHARED / "nuaa-raw-train").is_dir():
        raise SystemExit(f"{gen.SHARED}: not found; this benchmark needs ../shared beside the checkout")
    if args.centre is not None and not 0.0 < args.centre < 1.0:
        raise SystemExit(f"--centre: {args.centre} is not a share between 0 and 1")
    if args.centre is not None and args.probe:
        raise SystemExit("--centre: not with --probe (the probe has its own centre and ring views)")
    if args.probe:
        # One probe per pool: a tag's pool holds what its first probe made (replays unless --only print).
        kinds = [k for k in ("replay", "print") if k in args.only] or ["replay"]
        if len(kinds) > 1:
            raise SystemExit("--probe: --only replay or --only print, not both (a tag's pool holds one of them)")
        for kind in kinds:
            for seed in range(args.seeds):
                print("\n" + probe(args.tag, seed, args.folds, kind))
        return
    results = run(
        args.tag, args.classifier, args.seeds, args.folds, args.epochs, args.framing, args.only, centre=args.centre
    )
    print("\n" + summarize(results))


if __name__ == "__main__":
    main()
