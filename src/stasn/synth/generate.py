"""``stasn synth``: write synthesized attacks into a face-crop cache (the format of :mod:`stasn.data.manifest`).

Live sources:

* a **cache** folder (or its ``manifest.csv``): every live video (label 0) with ``ok`` frames; attacks are made from
  the stored high-res crops, all frames of a video as one clip (one device and pose per clip);
* a plain **folder of face images**: each image is a one-frame live video of split ``train`` (a non-square image is
  centre-cropped to a square, then resized to the cache's ``highres_size``).

Each live video gives ``per_live`` attack videos ``synth/<kind>/<source video_id>/<n>`` (label 1, attack type
``replay-synth`` or ``print-synth``, dataset ``synth``), with split, subject, session, protocol and fold copied from
the source so subject-disjoint splits stay disjoint. Every row's ``extra["synth"]`` holds ``kind``, ``seed``,
``number`` and ``params``, every parameter drawn (``ReplayParams.from_dict(extra["synth"]["params"])`` remakes the
attack from the source frames). The result is seeded per
source video, so it does not depend on the number of workers or the order of completion.

Rows are appended to the output cache's manifest (atomically, at the end); re-running replaces the synthesized videos
of the same ids. Paths and writes are :mod:`stasn.data.cache`'s, the writer ``stasn prepare`` uses. Do not run
``stasn prepare`` and ``stasn synth`` on the same cache at the same moment.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stasn.data.cache import remove_stale_temporaries, replace_videos, sample_id, write_crops
from stasn.data.crop import face_from_highres, resize_square
from stasn.data.manifest import (
    CACHE_INFO_NAME,
    MANIFEST_NAME,
    STATUS_OK,
    CacheInfo,
    ManifestRow,
    read_cache_info,
    read_manifest,
    rows_by_video,
    write_cache_info,
)
from stasn.data.video import read_image
from stasn.errors import DataError
from stasn.labels import LIVE, SPOOF
from stasn.media import IMAGE_SUFFIXES
from stasn.pools import run_jobs
from stasn.synth.kinds import SYNTHESIZERS
from stasn.synth.medium import image_size
from stasn.synth.printing import PrintParams, PrintRanges
from stasn.synth.replay import ReplayParams, ReplayRanges, ReplaySynthesizer

__all__ = ["SynthSummary", "LiveVideo", "find_live_videos", "synthesize_cache"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveVideo:
    """A live source video: its high-res frames (or one image) and the fields the attacks inherit."""

    video_id: str
    frames: tuple[Path, ...]  # image files, in frame order
    frame_indices: tuple[int, ...]
    sample_ids: tuple[str, ...]
    source_paths: tuple[str, ...]
    split: str
    subject: str = ""
    session: str = ""
    protocol: str = ""
    fold: str = ""
    crop_image: bool = False  # a plain image: centre-crop to a square before use


@dataclass
class SynthSummary:
    """What :func:`synthesize_cache` wrote."""

    out: Path
    manifest: Path
    kind: str
    sources: int  # live videos used
    videos: int  # attack videos written
    frames: int  # attack frames (manifest rows) written
    seconds: float
    preview: Path | None = None


# -- reading the live source ---------------------------------------------------------------------------------------
def find_live_videos(live: str | Path) -> tuple[list[LiveVideo], CacheInfo | None]:
    """List the live videos of a cache folder, a ``manifest.csv`` or a folder of face images.

    Returns:
        ``(videos sorted by video_id, the source cache's CacheInfo or None for an image folder)``.
    """
    live = Path(live)
    if live.is_file() and live.suffix == ".csv":
        return _from_cache(live.parent, live)
    if live.is_dir() and (live / CACHE_INFO_NAME).is_file():
        return _from_cache(live, live / MANIFEST_NAME)
    if live.is_dir():
        return _from_images(live), None
    raise FileNotFoundError(f"{live}: --live must be a cache folder, a manifest.csv or a folder of face images")


def _from_cache(root: Path, manifest: Path) -> tuple[list[LiveVideo], CacheInfo]:
    info = read_cache_info(root)
    rows = [r for r in read_manifest(manifest) if r.label == LIVE and r.status == STATUS_OK]
    videos = []
    for video_id, frames in sorted(rows_by_video(rows).items()):
        missing = [r for r in frames if not r.highres_path]
        if missing:
            raise DataError(f"{manifest}: live row {missing[0].sample_id!r} has no highres_path")
        first = frames[0]
        videos.append(
            LiveVideo(
                video_id=video_id,
                frames=tuple(root / r.highres_path for r in frames),
                frame_indices=tuple(r.frame_index for r in frames),
                sample_ids=tuple(r.sample_id for r in frames),
                source_paths=tuple(r.source_path for r in frames),
                split=first.split,
                subject=first.subject,
                session=first.session,
                protocol=first.protocol,
                fold=first.fold,
            )
        )
    if not videos:
        raise DataError(f"{manifest}: no live rows with status ok to synthesize from")
    return videos, info


def _from_images(folder: Path) -> list[LiveVideo]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"{folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) and no cache.json here")
    videos = []
    for path in files:
        video_id = path.relative_to(folder).with_suffix("").as_posix()
        videos.append(
            LiveVideo(
                video_id=video_id,
                frames=(path,),
                frame_indices=(0,),
                sample_ids=(f"{video_id}#0",),
                source_paths=(str(path),),
                split="train",
                crop_image=True,
            )
        )
    return videos


def _load_frame(path: Path, size: int, *, centre_crop: bool) -> np.ndarray:
    """One ``[size, size, 3]`` uint8 RGB high-res frame (a plain image is centre-cropped to a square first)."""
    image = read_image(path)
    if centre_crop:
        h, w = image.shape[:2]
        s = min(h, w)
        image = np.ascontiguousarray(image[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s])
    if image.shape[0] != image.shape[1]:
        raise DataError(f"{path}: high-res crop is {image.shape[1]}x{image.shape[0]}, expected a square")
    return resize_square(image, size)


def _load_clip(video: LiveVideo, size: int) -> np.ndarray:
    """``[T, size, size, 3]`` uint8 RGB high-res frames of a live video."""
    return np.stack([_load_frame(p, size, centre_crop=video.crop_image) for p in video.frames])


# -- one attack video ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Job:
    video: LiveVideo
    number: int  # n-th attack made from this live video
    kind: str
    seed: int
    out: Path
    info: CacheInfo
    templates: str | None = None  # replay only: real device templates (template mode)
    template_ratio: float = 0.5
    ranges: ReplayRanges | PrintRanges | None = None  # None: the kind's default ranges


def _seed_sequence(seed: int, kind: str, video_id: str, number: int) -> np.random.SeedSequence:
    """A seed that depends only on (seed, kind, source video, n): independent of workers and order."""
    digest = hashlib.sha256(f"{kind}\0{video_id}".encode()).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.SeedSequence([seed, number, *words])


def attack_video_id(kind: str, source_video_id: str, number: int) -> str:
    return f"synth/{kind}/{source_video_id}/{number}"


def _make_attack(job: _Job) -> list[ManifestRow]:
    """Synthesize one attack video, write its crops, return its manifest rows."""
    if job.templates is not None:
        synth = ReplaySynthesizer(job.ranges, templates=job.templates, template_ratio=job.template_ratio)
    else:
        synth = SYNTHESIZERS[job.kind](job.ranges)
    rng = np.random.default_rng(_seed_sequence(job.seed, job.kind, job.video.video_id, job.number))
    clip = _load_clip(job.video, job.info.highres_size)
    params = synth.sample_params(rng, image_size(clip))
    attack = synth.apply(clip, params)
    video_id = attack_video_id(job.kind, job.video.video_id, job.number)
    record = {"kind": job.kind, "seed": job.seed, "number": job.number, "params": params.to_dict()}
    if not isinstance(params, (ReplayParams, PrintParams)):  # template mode: TemplateReplayParams.from_dict remakes it
        record.update(mode="template", templates=job.templates)
    device = params.device if job.kind == "replay" else params.paper
    rows = []
    for t, frame_index in enumerate(job.video.frame_indices):
        face = face_from_highres(attack[t], job.info.face_size)
        face_rel, highres_rel = write_crops(job.out, video_id, frame_index, face, attack[t], job.info.jpeg_quality)
        rows.append(
            ManifestRow(
                sample_id=sample_id(video_id, frame_index),
                video_id=video_id,
                dataset="synth",
                source_path=job.video.source_paths[t],
                frame_index=frame_index,
                label=SPOOF,
                attack_type=synth.attack_type,
                split=job.video.split,
                subject=job.video.subject,
                session=job.video.session,
                device=f"synth-{device}",
                protocol=job.video.protocol,
                fold=job.video.fold,
                status=STATUS_OK,
                detector="synth",
                face_path=face_rel,
                highres_path=highres_rel,
                extra={
                    "synth": record,
                    "source_video_id": job.video.video_id,
                    "source_sample_id": job.video.sample_ids[t],
                },
            )
        )
    return rows


# -- the API the CLI calls -----------------------------------------------------------------------------------------
def synthesize_cache(
    live: str | Path,
    out: str | Path,
    *,
    kind: str,
    per_live: int = 1,
    seed: int = 0,
    workers: int = 1,
    preview: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    templates: str | Path | None = None,
    template_ratio: float = 0.5,
    ranges: ReplayRanges | PrintRanges | None = None,
) -> SynthSummary:
    """Synthesize ``per_live`` attacks of ``kind`` from every live video of ``live`` into the cache ``out``.

    Args:
        live: a cache folder, a ``manifest.csv`` or a folder of face images (see the module docstring).
        out: the cache to write into; may be the ``live`` cache itself (rows are appended to its manifest).
        kind: ``"replay"`` or ``"print"``.
        per_live: attack videos per live video.
        seed: base seed; each (source video, n) gets its own stream derived from it.
        workers: processes (1 = in this process).
        preview: write a contact sheet (PNG) of live inputs beside their attacks here.
        progress: called as ``progress(done, total)`` after each attack video.
        templates: replay only: a folder of real device templates (``stasn templates extract``); a share
            ``template_ratio`` of the attacks is composited into them (``extra["synth"]["mode"] == "template"``).
        template_ratio: share of template-mode attacks when ``templates`` is given.
        ranges: the parameter ranges to draw from (:class:`ReplayRanges` for ``"replay"``, :class:`PrintRanges` for
            ``"print"``); ``None`` = the kind's defaults. Each attack's drawn parameters are kept in its manifest row.

    Returns:
        :class:`SynthSummary`.
    """
    if kind not in SYNTHESIZERS:
        raise ValueError(f"Unknown attack kind {kind!r}. Valid values are {{{', '.join(SYNTHESIZERS)}}}.")
    if per_live < 1:
        raise ValueError(f"per_live must be >= 1, got {per_live}")
    if ranges is not None and not isinstance(ranges, SYNTHESIZERS[kind].ranges_type):
        wanted = SYNTHESIZERS[kind].ranges_type.__name__
        raise ValueError(f"{kind} attacks draw from {wanted}, got {type(ranges).__name__}")
    template_root = None
    if templates is not None:
        if kind != "replay":
            raise ValueError(f"templates are screens: they make replay attacks, not {kind!r}")
        # fails now on a bad folder or ratio
        ReplaySynthesizer(ranges, templates=templates, template_ratio=template_ratio)
        template_root = str(Path(templates).resolve())
    start = time.perf_counter()
    out = Path(out)
    videos, source_info = find_live_videos(live)
    if source_info is not None:
        info = source_info
        write_cache_info(out, info)  # refuses an existing cache made with other crop sizes
    else:
        info = read_cache_info(out) if (out / CACHE_INFO_NAME).is_file() else CacheInfo()
        write_cache_info(out, info)
    if removed := remove_stale_temporaries(out):
        log.info("removed %d temporary files left by an interrupted run", removed)
    jobs = [
        _Job(v, n, kind, seed, out, info, template_root, template_ratio, ranges)
        for v in videos
        for n in range(per_live)
    ]
    log.info("synthesizing %d %s attack videos from %d live videos into %s", len(jobs), kind, len(videos), out)
    new_rows: list[ManifestRow] = []
    # Workers come from a fork server and exit with this process, kill -9 included (stasn.pools).
    finished = run_jobs(_make_attack, jobs, workers=workers, preload=["stasn.synth.generate"])
    for done, (_, rows) in enumerate(finished, start=1):
        new_rows.extend(rows)
        if progress is not None:
            progress(done, len(jobs))
    new_rows.sort(key=lambda r: (r.video_id, r.frame_index))
    new_ids = {r.video_id for r in new_rows}
    manifest = replace_videos(out, new_rows)
    summary = SynthSummary(
        out=out,
        manifest=manifest,
        kind=kind,
        sources=len(videos),
        videos=len(new_ids),
        frames=len(new_rows),
        seconds=time.perf_counter() - start,
    )
    if preview is not None:
        from stasn.synth.preview import write_contact_sheet

        summary.preview = write_contact_sheet(preview, _preview_pairs(videos, new_rows, out, info, kind, per_live))
    return summary


def _preview_pairs(
    videos: list[LiveVideo],
    rows: list[ManifestRow],
    out: Path,
    info: CacheInfo,
    kind: str,
    per_live: int,
    limit: int = 8,
) -> Iterable[tuple[np.ndarray, list[np.ndarray]]]:
    """(live frame, [attack frames]) for the first ``limit`` live videos: frame 0 of each, up to 4 attacks."""
    first: dict[str, ManifestRow] = {}
    for row in rows:
        first.setdefault(row.video_id, row)
    for video in videos[:limit]:
        live = _load_frame(video.frames[0], info.highres_size, centre_crop=video.crop_image)
        attacks = [
            read_image(out / first[vid].highres_path)
            for vid in (attack_video_id(kind, video.video_id, n) for n in range(min(per_live, 4)))
            if vid in first
        ]
        yield live, attacks
