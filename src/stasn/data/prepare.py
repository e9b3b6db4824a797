"""``stasn prepare``: decode, detect, crop and write the face-crop cache of a dataset (format: :mod:`.manifest`).

For each video (a :class:`~stasn.datasets.Sample`): sample frames (:class:`~stasn.data.sampling.FrameSampler`),
find the face in each (dataset boxes/eyes first, else the detector's largest face), cut both crops
(:func:`~stasn.data.crop.crop_face`), write them as JPEG under ``crops/<video_key>/``, and finally write the
video's rows to one part file ``parts/<video_key>.csv``. When all videos are done the part files are merged into
``manifest.csv``.

* **Resumable.** A video whose part file exists is not redone, so re-running a killed or finished run only does
  what is missing; delete a part file to redo that video. A part made with other settings (split, protocol,
  sampling, detector) stops the run with an error instead of mixing settings in one cache.
* **No half-written files.** Crops, part files and the manifest are written to a temporary name and renamed
  (:func:`stasn.fileio.atomic_path`); temporary files a hard kill left behind are removed at the next start.
* **Failures are kept.** A frame without a face is a ``no_face`` row, a frame (or video) that cannot be decoded an
  ``unreadable`` row; both are counted in the summary and stay in the manifest with their true label.

One cache holds one protocol/fold: ``split`` is stored per row. Do not run ``stasn prepare`` and ``stasn synth`` on
the same cache at the same moment (both rewrite ``manifest.csv``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

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
    write_manifest,
)
from stasn.data.sampling import FrameSampler
from stasn.data.video import open_sample
from stasn.errors import DataError
from stasn.fileio import write_bytes_atomic
from stasn.pools import process_pool

__all__ = [
    "PARTS_DIR",
    "CROPS_DIR",
    "SplitCounts",
    "PrepareSummary",
    "prepare_dataset",
    "prepare_samples",
    "cache_video_id",
    "video_key",
    "part_path",
    "merge_parts",
]

log = logging.getLogger(__name__)

PARTS_DIR = "parts"
CROPS_DIR = "crops"
_SAFE = re.compile(r"[^A-Za-z0-9._-]")

Annotations = Callable[[object], object]  # Sample -> FaceAnnotations | None


# -- naming --------------------------------------------------------------------------------------------------------
def cache_video_id(sample: object) -> str:
    """The ``video_id`` a sample gets in the cache: ``"<dataset>/<sample.video_id>"`` (unique across datasets)."""
    return f"{sample.dataset}/{sample.video_id}"  # type: ignore[attr-defined]


def video_key(video_id: str) -> str:
    """A relative folder path for a cache ``video_id``: its ``/``-separated parts with unsafe characters replaced.

    When anything had to be replaced, a short hash of the original id is appended so two ids never share a key.

    >>> video_key("nuaa/ClientRaw/0001/0001_00_00_01")
    'nuaa/ClientRaw/0001/0001_00_00_01'
    """
    parts = [_SAFE.sub("_", p) if p not in ("", ".", "..") else "_" for p in video_id.split("/")]
    key = "/".join(parts)
    if key != video_id:
        key += "-" + hashlib.sha1(video_id.encode("utf-8")).hexdigest()[:8]
    return key


def part_path(cache_dir: str | Path, video_id: str) -> Path:
    """The part file that marks ``video_id`` (a cache id) as finished."""
    return Path(cache_dir) / PARTS_DIR / (video_key(video_id) + ".csv")


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
    sample: object  # stasn.datasets.Sample
    video_id: str
    annotations: object | None  # FaceAnnotations | None


@dataclass(frozen=True)
class _Settings:
    cache_dir: Path
    info: CacheInfo
    sampler: FrameSampler
    detector_name: str  # what the manifest records for detected faces
    pad: str
    max_side: int | None


def _row(job: _Job, settings: _Settings, frame_index: int, **fields: object) -> ManifestRow:
    s = job.sample
    extra = {"sampling": settings.sampler.describe(), **fields.pop("extra", {})}  # type: ignore[dict-item]
    return ManifestRow(
        sample_id=f"{job.video_id}#{frame_index}",
        video_id=job.video_id,
        dataset=s.dataset,  # type: ignore[attr-defined]
        source_path=str(_source_path(s, frame_index)),
        frame_index=frame_index,
        label=s.label,  # type: ignore[attr-defined]
        attack_type=s.attack_type,  # type: ignore[attr-defined]
        split=s.split,  # type: ignore[attr-defined]
        subject=s.subject,  # type: ignore[attr-defined]
        session=s.session,  # type: ignore[attr-defined]
        device=s.device,  # type: ignore[attr-defined]
        protocol=_text(s.protocol),  # type: ignore[attr-defined]
        fold=_text(s.fold),  # type: ignore[attr-defined]
        extra=extra,
        **fields,  # type: ignore[arg-type]
    )


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _source_path(sample: object, frame_index: int) -> Path:
    """The file a frame came from (absolute, normalised): the video, or the frame's own image for a sequence."""
    frames = getattr(sample, "frame_paths", None)
    if frames and 0 <= frame_index < len(frames):
        return Path(os.path.abspath(frames[frame_index]))
    return Path(os.path.abspath(sample.path))  # type: ignore[attr-defined]


def _write_jpeg(path: Path, rgb: np.ndarray, quality: int) -> None:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise DataError(f"{path}: JPEG encoding failed")
    write_bytes_atomic(path, data.tobytes())


def _frame_row(job: _Job, settings: _Settings, detector: FaceDetector, index: int, frame: np.ndarray) -> ManifestRow:
    found, source = find_face(frame, index, detector, job.annotations)
    if found is None:
        return _row(job, settings, index, status=STATUS_NO_FACE, detector=source)
    extra: dict = {}
    if found.landmarks is not None:
        extra["landmarks"] = [round(float(v), 1) for v in found.landmarks.ravel()]  # source-frame pixels
    if source != "dataset":
        extra["score"] = round(found.score, 4)
    try:
        crop = crop_face(frame, found.box, settings.info, pad=settings.pad)
    except ValueError as exc:  # a dataset box outside the frame, or an empty box
        error = {"error": str(exc)}
        return _row(job, settings, index, status=STATUS_NO_FACE, detector=source, box=found.box, extra=error)
    key = video_key(job.video_id)
    face_rel = f"{CROPS_DIR}/{key}/{index:06d}_face.jpg"
    highres_rel = f"{CROPS_DIR}/{key}/{index:06d}_highres.jpg"
    _write_jpeg(settings.cache_dir / face_rel, crop.face, settings.info.jpeg_quality)
    _write_jpeg(settings.cache_dir / highres_rel, crop.highres, settings.info.jpeg_quality)
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


def _prepare_video(job: _Job, settings: _Settings, detector: FaceDetector) -> list[ManifestRow]:
    """Crop every sampled frame of one video and write its part file. Returns its rows in frame order."""
    rows: dict[int, ManifestRow] = {}
    try:
        with open_sample(job.sample, threads=_DECODER_THREADS) as source:
            pending = settings.sampler.indices(source.num_frames, getattr(job.sample, "first_frames", None))
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
    write_manifest(ordered, part_path(settings.cache_dir, job.video_id))
    return ordered


_WORKER_DETECTOR: FaceDetector | None = None
_DECODER_THREADS: int | None = None  # None in the main process: FFmpeg's choice


def _init_worker(detector: str | FaceDetector, max_side: int | None) -> None:
    global _WORKER_DETECTOR, _DECODER_THREADS
    cv2.setNumThreads(1)  # one process per core; OpenCV's and FFmpeg's own threads would only compete
    _DECODER_THREADS = 1
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    _WORKER_DETECTOR = make_detector(detector, max_side=max_side) if isinstance(detector, str) else detector


def _worker_prepare(job: _Job, settings: _Settings) -> list[ManifestRow]:
    assert _WORKER_DETECTOR is not None, "worker not initialised"
    return _prepare_video(job, settings, _WORKER_DETECTOR)


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
    expected = {
        "split": s.split,  # type: ignore[attr-defined]
        "label": s.label,  # type: ignore[attr-defined]
        "attack_type": s.attack_type,  # type: ignore[attr-defined]
        "protocol": _text(s.protocol),  # type: ignore[attr-defined]
        "fold": _text(s.fold),  # type: ignore[attr-defined]
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


def merge_parts(cache_dir: str | Path) -> Path:
    """Rebuild ``manifest.csv`` from every part file, keeping rows of videos that have no part (e.g. written by
    ``stasn synth``). Atomic; returns the manifest path."""
    cache_dir = Path(cache_dir)
    from_parts: dict[str, list[ManifestRow]] = {}
    for path in sorted((cache_dir / PARTS_DIR).rglob("*.csv")):
        if path.name.startswith("."):  # a temporary file of an interrupted write
            continue
        rows = read_manifest(path)
        if rows:
            from_parts[rows[0].video_id] = rows
    manifest = cache_dir / MANIFEST_NAME
    kept = [r for r in read_manifest(manifest) if r.video_id not in from_parts] if manifest.is_file() else []
    return write_manifest(kept + [r for vid in sorted(from_parts) for r in from_parts[vid]], manifest)


def _remove_stale_temporaries(cache_dir: Path) -> int:
    """Delete temporary files (``.<name>.<random>.tmp<suffix>``) a killed run left in ``crops/`` and ``parts/``."""
    removed = 0
    for folder in (cache_dir / CROPS_DIR, cache_dir / PARTS_DIR):
        if folder.is_dir():
            for path in folder.rglob(".*.tmp*"):
                path.unlink(missing_ok=True)
                removed += 1
    for path in cache_dir.glob(f".{MANIFEST_NAME}.*.tmp*"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


# -- the entry points ----------------------------------------------------------------------------------------------
def prepare_samples(
    samples: Iterable[object],
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
    progress: bool = False,
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
        progress: show a progress bar (rich) on the terminal.

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
    samples = list(samples)
    jobs, seen = [], {}
    for sample in samples:
        video_id = cache_video_id(sample)
        key = video_key(video_id)
        if key in seen:
            raise DataError(f"{sample.path}: video_id {video_id!r} is not unique (also {seen[key]})")  # type: ignore[attr-defined]
        seen[key] = sample.path  # type: ignore[attr-defined]
        jobs.append(_Job(sample, video_id, annotations(sample) if annotations else None))

    out.mkdir(parents=True, exist_ok=True)
    write_cache_info(out, info)
    if removed := _remove_stale_temporaries(out):
        log.info("removed %d temporary files left by an interrupted run", removed)
    settings = _Settings(out, info, sampler, detector_obj.name, pad, max_side)

    summary = PrepareSummary(cache_dir=out, manifest=out / MANIFEST_NAME)
    todo = []
    for job in jobs:
        rows = _finished_rows(job, settings)
        if rows is None:
            todo.append(job)
        else:
            summary.splits.setdefault(job.sample.split, SplitCounts()).add_video(rows, resumed=True)  # type: ignore[attr-defined]
    if len(jobs) > len(todo):
        log.info("%d of %d videos already prepared in %s; skipping them", len(jobs) - len(todo), len(jobs), out)

    with _progress(progress, len(todo)) as advance:
        for job, rows in _run(todo, settings, detector, detector_obj, workers):
            summary.splits.setdefault(job.sample.split, SplitCounts()).add_video(rows, resumed=False)  # type: ignore[attr-defined]
            advance()
    summary.manifest = merge_parts(out)
    summary.seconds = time.perf_counter() - start
    return summary


def _run(todo: list[_Job], settings: _Settings, spec: str | FaceDetector, detector: FaceDetector, workers: int):
    """Yield ``(job, rows)`` as videos finish, in this process or in ``workers`` processes."""
    if workers == 1 or len(todo) <= 1:
        for job in todo:
            yield job, _prepare_video(job, settings, detector)
        return
    # Workers come from a fork server and exit with this process, kill -9 included (stasn.pools).
    with process_pool(
        min(workers, len(todo)),
        initializer=_init_worker,
        initargs=(spec, settings.max_side),
        preload=["stasn.data.prepare", "stasn.datasets"],
    ) as pool:
        futures = {pool.submit(_worker_prepare, job, settings): job for job in todo}
        try:
            for future in concurrent.futures.as_completed(futures):
                yield futures[future], future.result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


@contextlib.contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[], None]]:
    """A rich progress bar over videos when ``enabled``; yields the function that advances it."""
    if not enabled or total == 0:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("preparing"), BarColumn(), MofNCompleteColumn(), TextColumn("videos"), TimeRemainingColumn())
    with Progress(*columns) as bar:
        task = bar.add_task("prepare", total=total)
        yield lambda: bar.advance(task)


def prepare_dataset(
    dataset: str,
    root: str | Path,
    out: str | Path,
    *,
    protocol: str | None = None,
    fold: str | None = None,
    split: str | None = None,
    dataset_options: dict | None = None,
    **kwargs: object,
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
    return prepare_samples(adapter, out, annotations=adapter.annotations, **kwargs)  # type: ignore[arg-type]
