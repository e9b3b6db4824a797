"""``stasn prepare``: decode, detect, crop and write the face-crop cache of a dataset (format: :mod:`.manifest`).

For each video (a :class:`~stasn.datasets.Sample`): sample frames (:class:`~stasn.data.sampling.FrameSampler`),
find the face in each (dataset boxes/eyes first, else the detector's largest face), cut both crops
(:func:`~stasn.data.crop.crop_face`), write them as JPEG under ``crops/<video_key>/``, and finally write the
video's rows to one part file ``parts/<video_key>.csv``. When all videos are done the part files are merged into
``manifest.csv``. Every path and write is :mod:`stasn.data.cache`'s, shared with ``stasn synth``.

* **Resumable.** A video whose part file exists is not redone, so re-running a killed or finished run only does
  what is missing; delete a part file to redo that video. A part made with other settings (split, protocol,
  sampling, detector) stops the run with an error instead of mixing settings in one cache.
* **No half-written files.** Crops, part files and the manifest are written to a temporary name and renamed
  (:func:`stasn.fileio.atomic_path`); temporary files a hard kill left behind are removed at the next start.
* **Failures are kept.** A frame without a face is a ``no_face`` row, a frame (or video) that cannot be decoded an
  ``unreadable`` row; both are counted in the summary and stay in the manifest with their true label.

One cache holds one protocol/fold: ``split`` is stored per row. Do not run ``stasn prepare`` and ``stasn synth`` on
the same cache at the same moment (both rewrite ``manifest.csv``); under DDP only one process may prepare
(:meth:`stasn.data.datamodule.CacheDataModule.prepare_data` does it on one process per node).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stasn.data.cache import (
    PARTS_DIR,
    cache_video_id,
    merge_parts,
    part_path,
    remove_stale_temporaries,
    sample_id,
    video_key,
    write_crops,
    write_part,
)
from stasn.data.crop import crop_face
from stasn.data.detect import FaceDetector, find_face, make_detector
from stasn.data.manifest import (
    MANIFEST_NAME,
    STATUS_NO_FACE,
    STATUS_OK,
    STATUS_UNREADABLE,
    CacheInfo,
    ManifestRow,
    read_manifest,
    write_cache_info,
)
from stasn.data.sampling import FrameSampler
from stasn.data.video import open_sample
from stasn.errors import DataError
from stasn.pools import run_jobs

if TYPE_CHECKING:
    from stasn.datasets.base import FaceAnnotations, Sample

__all__ = ["SplitCounts", "PrepareSummary", "Annotations", "Progress", "prepare_dataset", "prepare_samples"]

log = logging.getLogger(__name__)

Annotations = Callable[["Sample"], "FaceAnnotations | None"]  # a dataset adapter's ``annotations`` method
Progress = Callable[[int, int], None]  # progress(done, total), called after each video


# -- summary -------------------------------------------------------------------------------------------------------
@dataclass
class SplitCounts:
    """Counts for one split. Frames are sampled frames (manifest rows)."""

    videos: int = 0
    resumed: int = 0  # videos found finished from an earlier run
    frames: int = 0
    ok: int = 0
    no_face: int = 0
    unreadable: int = 0
    videos_without_face: int = 0  # videos with no usable frame at all (training lists them as failures)

    def add_video(self, rows: Sequence[ManifestRow], *, resumed: bool) -> None:
        self.videos += 1
        self.resumed += int(resumed)
        self.frames += len(rows)
        ok = sum(r.status == STATUS_OK for r in rows)
        self.ok += ok
        self.no_face += sum(r.status == STATUS_NO_FACE for r in rows)
        self.unreadable += sum(r.status == STATUS_UNREADABLE for r in rows)
        self.videos_without_face += int(ok == 0)

    @property
    def face_rate(self) -> float:
        """Share of sampled frames with a face crop (``ok / frames``); NaN without frames."""
        return self.ok / self.frames if self.frames else float("nan")


@dataclass
class PrepareSummary:
    """What one ``prepare`` call did, per split."""

    cache_dir: Path
    manifest: Path
    splits: dict[str, SplitCounts] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> SplitCounts:
        total = SplitCounts()
        for counts in self.splits.values():
            for f in dataclasses.fields(SplitCounts):
                setattr(total, f.name, getattr(total, f.name) + getattr(counts, f.name))
        return total


# -- one video -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Job:
    sample: Sample
    video_id: str  # the cache's id (cache_video_id)
    annotations: FaceAnnotations | None


@dataclass(frozen=True)
class _Settings:
    cache_dir: Path
    info: CacheInfo
    sampler: FrameSampler
    detector_name: str  # what the manifest records for detected faces
    pad: str
    max_side: int | None


def _row(
    job: _Job, settings: _Settings, frame_index: int, *, extra: dict[str, Any] | None = None, **fields: Any
) -> ManifestRow:
    """The manifest row of one sampled frame; ``fields`` are the per-frame ones (status, detector, box, paths)."""
    s = job.sample
    return ManifestRow(
        sample_id=sample_id(job.video_id, frame_index),
        video_id=job.video_id,
        dataset=s.dataset,
        source_path=str(_source_path(s, frame_index)),
        frame_index=frame_index,
        label=s.label,
        attack_type=s.attack_type,
        split=s.split,
        subject=s.subject,
        session=s.session,
        device=s.device,
        protocol=_text(s.protocol),
        fold=_text(s.fold),
        extra={"sampling": settings.sampler.describe(), **(extra or {})},
        **fields,
    )


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _source_path(sample: Sample, frame_index: int) -> Path:
    """The file a frame came from (absolute, normalised): the video, or the frame's own image for a sequence."""
    frames = sample.frame_paths
    if frames and 0 <= frame_index < len(frames):
        return Path(os.path.abspath(frames[frame_index]))
    return Path(os.path.abspath(sample.path))


def _frame_row(job: _Job, settings: _Settings, detector: FaceDetector, index: int, frame: np.ndarray) -> ManifestRow:
    found, source = find_face(frame, index, detector, job.annotations)
    if found is None:
        return _row(job, settings, index, status=STATUS_NO_FACE, detector=source)
    extra: dict[str, Any] = {}
    if found.landmarks is not None:
        extra["landmarks"] = [round(float(v), 1) for v in found.landmarks.ravel()]  # source-frame pixels
    if source != "dataset":
        extra["score"] = round(found.score, 4)
    try:
        crop = crop_face(frame, found.box, settings.info, pad=settings.pad)
    except ValueError as exc:  # a dataset box outside the frame, or an empty box
        error = {"error": str(exc)}
        return _row(job, settings, index, status=STATUS_NO_FACE, detector=source, box=found.box, extra=error)
    face_rel, highres_rel = write_crops(
        settings.cache_dir, job.video_id, index, crop.face, crop.highres, settings.info.jpeg_quality
    )
    return _row(
        job,
        settings,
        index,
        status=STATUS_OK,
        detector=source,
        box=found.box,
        crop_box=tuple(float(v) for v in crop.region),
        face_path=face_rel,
        highres_path=highres_rel,
        extra=extra,
    )


def _prepare_video(job: _Job, *, settings: _Settings, detector: FaceDetector) -> list[ManifestRow]:
    """Crop every sampled frame of one video and write its part file. Returns its rows in frame order."""
    rows: dict[int, ManifestRow] = {}
    try:
        with open_sample(job.sample, threads=_DECODER_THREADS) as source:
            pending = settings.sampler.indices(source.num_frames, job.sample.first_frames)
            while pending:
                try:
                    for index, frame in source.read(pending):
                        rows[index] = _frame_row(job, settings, detector, index, frame)
                    pending = []
                except (DataError, FileNotFoundError) as exc:  # frames come in order: the first not done is bad
                    pending = [i for i in pending if i not in rows]
                    if not pending:
                        break
                    log.warning("%s", exc)
                    bad, pending = pending[0], pending[1:]
                    rows[bad] = _row(job, settings, bad, status=STATUS_UNREADABLE, extra={"error": str(exc)})
    except (DataError, FileNotFoundError) as exc:  # the video cannot be opened at all: one row records it
        log.warning("%s", exc)
        rows = {0: _row(job, settings, 0, status=STATUS_UNREADABLE, extra={"error": str(exc)})}
    ordered = [rows[i] for i in sorted(rows)]
    if not ordered:  # an empty video (or first_frames=0): still record that it was seen
        ordered = [_row(job, settings, 0, status=STATUS_UNREADABLE, extra={"error": "no frames to sample"})]
    write_part(settings.cache_dir, job.video_id, ordered)
    return ordered


_WORKER_DETECTOR: FaceDetector | None = None
_DECODER_THREADS: int | None = None  # None in the main process: FFmpeg's choice


def _init_worker(detector: str | FaceDetector, max_side: int | None) -> None:
    global _WORKER_DETECTOR, _DECODER_THREADS
    _DECODER_THREADS = 1  # one process per core; FFmpeg's own threads would only compete
    _WORKER_DETECTOR = make_detector(detector, max_side=max_side) if isinstance(detector, str) else detector


def _worker_prepare(job: _Job, *, settings: _Settings) -> list[ManifestRow]:
    assert _WORKER_DETECTOR is not None, "worker not initialised"
    return _prepare_video(job, settings=settings, detector=_WORKER_DETECTOR)


# -- resuming and merging ------------------------------------------------------------------------------------------
def _finished_rows(job: _Job, settings: _Settings) -> list[ManifestRow] | None:
    """Rows of a finished video from its part file, or ``None``; raises when it was made with other settings."""
    path = part_path(settings.cache_dir, job.video_id)
    if not path.is_file():
        return None
    rows = read_manifest(path)
    if not rows:
        return None
    s, first = job.sample, rows[0]
    expected: dict[str, object] = {
        "split": s.split,
        "label": s.label,
        "attack_type": s.attack_type,
        "protocol": _text(s.protocol),
        "fold": _text(s.fold),
        "sampling": settings.sampler.describe(),
    }
    found = {k: (first.extra.get(k) if k == "sampling" else getattr(first, k)) for k in expected}
    detectors = {r.detector for r in rows if r.detector} - {"dataset"}
    if detectors - {settings.detector_name}:
        expected["detector"], found["detector"] = settings.detector_name, ",".join(sorted(detectors))
    differ = {k: (found.get(k), v) for k, v in expected.items() if str(found.get(k)) != str(v)}
    if differ:
        what = ", ".join(f"{k}={old!r} (now {new!r})" for k, (old, new) in differ.items())
        raise DataError(
            f"{path}: video {job.video_id!r} was prepared with {what}; use another --out for other settings "
            f"(one cache per protocol and fold), or delete {settings.cache_dir / PARTS_DIR} to redo everything"
        )
    return rows


# -- the entry points ----------------------------------------------------------------------------------------------
def prepare_samples(
    samples: Iterable[Sample],
    out: str | Path,
    *,
    annotations: Annotations | None = None,
    detector: str | FaceDetector = "yunet",
    sampler: FrameSampler | None = None,
    frames_per_video: int | None = None,
    cache_info: CacheInfo | None = None,
    workers: int = 1,
    pad: str = "edge",
    max_side: int | None = 640,
    progress: Progress | None = None,
) -> PrepareSummary:
    """Write the face-crop cache for ``samples`` into ``out`` (resumable; see the module docstring).

    Args:
        samples: :class:`~stasn.datasets.Sample` records (video, image sequence or still image each).
        out: the cache folder (created if needed).
        annotations: ``sample -> FaceAnnotations | None`` (an adapter's ``annotations`` method).
        detector: a detector spec (:func:`~stasn.data.detect.make_detector`) or a :class:`FaceDetector` (picklable
            when ``workers > 1``), for frames the dataset has no box for.
        sampler: which frames of each video; default every frame.
        frames_per_video: shorthand for ``sampler=FrameSampler(count=frames_per_video)`` (evenly spread);
            0 or ``None`` = every frame. Give ``sampler`` or this, not both.
        cache_info: crop sizes and scale; must match an existing ``cache.json``. Default :class:`CacheInfo`.
        workers: processes; 1 runs in this process.
        pad: ``"edge"`` or ``"zero"`` padding where the crop leaves the frame.
        max_side: frames are shrunk to this longest side for detection only (crops come from the full frame).
        progress: called as ``progress(done, total)`` after each video prepared in this call (resumed videos are
            not counted); the CLI draws its bar with it.

    Returns:
        :class:`PrepareSummary` with per-split counts of videos, frames and failures.

    Raises:
        ValueError / DataError: bad arguments, duplicate video ids, or a cache made with other settings.
        FileNotFoundError: a detector model file is missing.
    """
    start = time.perf_counter()
    out = Path(out)
    if sampler is not None and frames_per_video:
        raise ValueError("give sampler or frames_per_video, not both")
    sampler = sampler or FrameSampler(count=frames_per_video or None)
    info = cache_info or CacheInfo()
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    # Built here even with workers > 1: a bad spec or a missing model fails before any work starts.
    detector_obj = make_detector(detector, max_side=max_side) if isinstance(detector, str) else detector
    jobs: list[_Job] = []
    seen: dict[str, Path] = {}
    for sample in samples:
        video_id = cache_video_id(sample)
        key = video_key(video_id)
        if key in seen:
            raise DataError(f"{sample.path}: video_id {video_id!r} is not unique (also {seen[key]})")
        seen[key] = sample.path
        jobs.append(_Job(sample, video_id, annotations(sample) if annotations else None))

    out.mkdir(parents=True, exist_ok=True)
    write_cache_info(out, info)
    if removed := remove_stale_temporaries(out):
        log.info("removed %d temporary files left by an interrupted run", removed)
    settings = _Settings(out, info, sampler, detector_obj.name, pad, max_side)

    summary = PrepareSummary(cache_dir=out, manifest=out / MANIFEST_NAME)
    todo = []
    for job in jobs:
        rows = _finished_rows(job, settings)
        if rows is None:
            todo.append(job)
        else:
            summary.splits.setdefault(job.sample.split, SplitCounts()).add_video(rows, resumed=True)
    if len(jobs) > len(todo):
        log.info("%d of %d videos already prepared in %s; skipping them", len(jobs) - len(todo), len(jobs), out)

    # Workers come from a fork server, build their own detector from the spec, and exit with this process, kill -9
    # included (stasn.pools); in this process the detector built above is used.
    finished = run_jobs(
        functools.partial(_worker_prepare, settings=settings),
        todo,
        workers=workers,
        in_process=functools.partial(_prepare_video, settings=settings, detector=detector_obj),
        initializer=_init_worker,
        initargs=(detector, max_side),
        preload=["stasn.data.prepare", "stasn.datasets"],
    )
    for done, (job, rows) in enumerate(finished, start=1):
        summary.splits.setdefault(job.sample.split, SplitCounts()).add_video(rows, resumed=False)
        if progress is not None:
            progress(done, len(todo))
    summary.manifest = merge_parts(out)
    summary.seconds = time.perf_counter() - start
    return summary


def prepare_dataset(
    dataset: str,
    root: str | Path,
    out: str | Path,
    *,
    protocol: str | None = None,
    fold: str | None = None,
    split: str | None = None,
    dataset_options: dict[str, Any] | None = None,
    **kwargs: Any,
) -> PrepareSummary:
    """Open a dataset with its adapter and prepare its samples (:func:`prepare_samples` takes ``kwargs``).

    Example::

        summary = prepare_dataset("nuaa", "/data/nuaa", "cache/nuaa", detector="yunet:/models/yunet.onnx",
                                  sampler=FrameSampler(count=16), workers=2)
        print(summary.total.face_rate)

    Args:
        dataset: adapter name (``stasn.datasets.DATASETS``), e.g. ``"nuaa"``, ``"oulu-npu"``, ``"generic"``.
        root: the dataset's root folder.
        out: the cache folder.
        protocol, fold, split: passed to the adapter (``None`` = its default protocol, no fold, every split).
        dataset_options: adapter-specific keywords (e.g. ``{"dev_fraction": 0.2}``).
    """
    from stasn.datasets import open_dataset

    adapter = open_dataset(dataset, root, protocol=protocol, fold=fold, split=split, **(dataset_options or {}))
    return prepare_samples(adapter, out, annotations=adapter.annotations, **kwargs)
