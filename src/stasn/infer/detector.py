"""``stasn.Detector``: load a model once, then score images, videos and camera streams.

    import stasn
    det = stasn.Detector.from_checkpoint("best.ckpt", detector="yunet:face_detection_yunet.onnx")
    result = det.predict_image("photo.jpg")
    result.spoof_score, result.is_attack, result.face_box, result.regions

Pipeline per frame: face detection (the largest face, :mod:`stasn.data.detect`) -> the square crop the model was
trained on (face box enlarged by the checkpoint's ``crop_scale``, resized to ``input_size`` and ``highres_size``,
:func:`stasn.data.crop.crop_face`) -> STASN. RAM's region boxes (high-res crop pixels) are mapped back to input
pixels through the crop geometry.

The crops are made the way training saw them: ``stasn prepare`` stores the high-res crop as JPEG (at the cache's
``jpeg_quality``) and training derives the TASM crop from the decoded JPEG, so by default the predictor JPEG-encodes
and decodes the high-res crop too and derives the TASM crop from it (``jpeg_roundtrip=False`` skips this).

* **A still image** becomes a clip by repeating the frame T times (``num_frames`` of the checkpoint): the model
  needs T frames, and a photo has no motion, so TASM sees a motionless clip. Its result has one clip. The CNNs run
  once on the image (the LSTM still takes T steps), as they do for every frame repeated within or across clips.
* **A video** is sampled like ``stasn prepare`` samples training videos — ``video_frames`` frames spread evenly over
  it (``None``: every frame) — and scored like evaluation scores a cached video (:mod:`stasn.data.clips`):
  ``clips_per_video`` clips of T consecutive usable frames (``frame_stride`` apart, counted in sampled frames),
  placed by the rule evaluation uses (:func:`stasn.data.sampling.clip_starts`: one clip centred, several spread
  evenly); frames without a usable face are left out, and a video with fewer usable frames than a clip needs is
  stretched by repeating frames in order. ``spoof_score`` is the mean of the clip scores; each clip is
  listed with its score and frames. Defaults (10 frames, 2 clips) follow ``configs/_base.yaml``.
* **A stream** (camera) takes every ``frame_stride``-th camera frame and scores each consecutive group of T taken
  frames as it completes (usable frames stretched to T as above).

``is_attack`` is ``spoof_score >= threshold``; the threshold is the one stored in the checkpoint (fixed on the dev
set when training evaluated), unless the caller gives another. When no decision is possible the result says why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stasn.data.detect import FaceDetector, GivenBox, make_detector
from stasn.data.manifest import CacheInfo
from stasn.data.sampling import FrameSampler, clip_positions, clip_starts
from stasn.data.video import FrameSource, open_video
from stasn.errors import DataError, LimitError
from stasn.infer.backends import BackendOutput, OnnxBackend, TorchBackend
from stasn.infer.faces import (
    ArrayFrames,
    LocatedFace,
    check_frame,
    locate_face,
    to_input_pixels,
)
from stasn.infer.inputs import DEFAULT_MAX_PIXELS, load_image
from stasn.infer.result import (
    STATUS_FACE_TOO_SMALL,
    STATUS_NO_FACE,
    STATUS_OK,
    STATUS_UNREADABLE,
    ClipScore,
    FrameInfo,
    Prediction,
)
from stasn.media import VIDEO_SUFFIXES
from stasn.model.config import STASNConfig

__all__ = ["Detector", "DEFAULT_THRESHOLD", "BACKENDS"]

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5  # used only when a checkpoint stores no dev threshold (a warning says so)
BACKENDS = ("torch", "onnx")

ImageInput = str | Path | np.ndarray


class Detector:
    """A loaded anti-spoofing model plus a face detector. Build it with :meth:`from_checkpoint`.

    Args:
        backend: a :class:`~stasn.infer.backends.TorchBackend` or :class:`~stasn.infer.backends.OnnxBackend`.
        config: the model's config (T = ``num_frames``, sizes).
        cache_info: crop geometry the model was trained with (``crop_scale``, sizes).
        threshold: decision threshold on ``spoof_score``; ``None`` = :data:`DEFAULT_THRESHOLD` with a warning.
        face_detector: a :class:`~stasn.data.detect.FaceDetector` or a spec (``haar``, ``yunet:/path.onnx``, ...,
            or ``whole`` when the inputs are already face crops).
        min_face_size: faces whose longer box side is below this many pixels are not scored (ours: 40).
        video_frames: frames sampled evenly from a video (``None``: all); match ``stasn prepare --frames-per-video``.
        clips_per_video: clips scored per video (as evaluation's ``eval_clips_per_video``).
        frame_stride: step between the frames of a clip, in sampled frames (a stream: in camera frames).
        jpeg_roundtrip: pass the high-res crop through JPEG at ``cache_info.jpeg_quality``, as the training cache
            does (see the module doc).
        max_pixels: images with more pixels are refused before decoding.
    """

    def __init__(
        self,
        backend: TorchBackend | OnnxBackend,
        *,
        config: STASNConfig,
        cache_info: CacheInfo,
        threshold: float | None = None,
        threshold_source: str = "",
        face_detector: FaceDetector | str = "yunet",
        min_face_size: int = 40,
        video_frames: int | None = 10,
        clips_per_video: int = 2,
        frame_stride: int = 1,
        jpeg_roundtrip: bool = True,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        if cache_info.face_size != config.input_size or cache_info.highres_size != config.highres_size:
            raise ValueError(
                f"crop sizes {cache_info.face_size}/{cache_info.highres_size} px do not match the model's "
                f"input_size/highres_size {config.input_size}/{config.highres_size} px"
            )
        if (
            clips_per_video < 1
            or frame_stride < 1
            or min_face_size < 1
            or (video_frames is not None and video_frames < 1)
        ):
            raise ValueError(
                f"clips_per_video, frame_stride, min_face_size and video_frames must be >= 1, got {clips_per_video}, "
                f"{frame_stride}, {min_face_size}, {video_frames}"
            )
        if threshold is not None and not _is_probability(threshold):
            raise ValueError(f"threshold must be a number in [0, 1], got {threshold!r}")
        if threshold is None:
            log.warning(
                "no dev-set threshold stored with the model; using %.2f (pass threshold=...)", DEFAULT_THRESHOLD
            )
            threshold, threshold_source = DEFAULT_THRESHOLD, "default"
        self.backend = backend
        self.config = config
        self.cache_info = cache_info
        self.threshold = float(threshold)
        self.threshold_source = threshold_source or "given"
        self.face_detector = make_detector(face_detector) if isinstance(face_detector, str) else face_detector
        self.min_face_size = min_face_size
        self.sampler = FrameSampler(count=video_frames)
        self.clips_per_video = clips_per_video
        self.frame_stride = frame_stride
        self.jpeg_roundtrip = jpeg_roundtrip
        self.max_pixels = max_pixels

    # --- construction -------------------------------------------------------------------------------------------
    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        *,
        device: str = "auto",
        backend: str = "torch",
        detector: FaceDetector | str = "yunet",
        threshold: float | None = None,
        threads: int | None = None,
        **options: Any,
    ) -> Detector:
        """Load a model once.

        Args:
            path: a checkpoint (``.ckpt``, from ``stasn train``), a release (``.json`` card or ``.safetensors``
                weights, :mod:`stasn.infer.release`) or, with ``backend="onnx"``, a graph written by
                ``stasn export`` (``.onnx``, which carries its config and threshold). A checkpoint with
                ``backend="onnx"`` is exported in memory first (slow for large models; export once instead).
            device: ``auto`` (GPU when available) | ``cpu`` | ``cuda`` | ``cuda:N``.
            backend: ``torch`` | ``onnx``.
            detector: face detector spec or instance (``haar`` needs no file; ``yunet:/path.onnx`` is better).
            threshold: overrides the stored dev threshold.
            threads: CPU threads for inference (default: the library's choice).
            **options: ``min_face_size``, ``video_frames``, ``clips_per_video``, ``frame_stride``,
                ``jpeg_roundtrip``, ``max_pixels`` (see the class).

        Raises:
            FileNotFoundError, CheckpointError, ValueError: the model cannot be loaded.
        """
        from stasn.infer.export import onnx_bytes, read_onnx_metadata
        from stasn.infer.release import is_release, load_release
        from stasn.model.checkpoint import check_metadata, load_checkpoint

        if backend not in BACKENDS:
            raise ValueError(f"Unknown backend {backend!r}. Valid values are {{{', '.join(BACKENDS)}}}.")
        path = Path(path)
        is_onnx = path.suffix.lower() == ".onnx"
        if is_onnx and backend != "onnx":
            raise ValueError(f"{path}: an ONNX graph runs with backend='onnx' (--backend onnx)")
        if is_release(path) and backend == "onnx":
            raise ValueError(f"{path}: a release runs with backend='torch'; export it once for ONNX Runtime")
        if is_onnx:
            config, cache_info, stored, criterion = check_metadata(read_onnx_metadata(path), source=str(path))
            engine: TorchBackend | OnnxBackend = OnnxBackend(path, providers=_providers(device), threads=threads)
        else:
            loaded = load_release(path) if is_release(path) else load_checkpoint(path)
            config, cache_info = loaded.config, loaded.cache_info
            stored, criterion = loaded.threshold, loaded.threshold_criterion
            if backend == "onnx":
                log.info("%s: exporting to ONNX in memory (run `stasn export` once to skip this)", path)
                data = onnx_bytes(loaded, source=str(path))
                engine = OnnxBackend(data, providers=_providers(device), threads=threads)
            else:
                if threads:
                    import torch

                    torch.set_num_threads(threads)
                engine = TorchBackend(loaded.model, device=device)
        if threshold is not None:
            source = "given"
        elif stored is not None:
            threshold, source = float(stored), f"checkpoint ({criterion or 'dev'})"
        else:
            source = ""
        return cls(
            engine,
            config=config,
            cache_info=cache_info,
            threshold=threshold,
            threshold_source=source,
            face_detector=detector,
            **options,
        )

    @classmethod
    def default(cls, **kwargs: Any) -> Detector:
        """The model released with stasn (``stasn/weights``, see ``docs/model_card.md``) and the YuNet face detector
        shipped beside it: answers on the first call, no training or download. ``kwargs`` as
        :meth:`from_checkpoint` (``device``, ``threshold``, ``detector``, ...).

        Raises:
            FileNotFoundError: this install has no released model.
        """
        from stasn.infer.release import DEFAULT_RELEASE

        return cls.from_checkpoint(DEFAULT_RELEASE, **kwargs)

    # --- public API ---------------------------------------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        return self.config.num_frames

    def describe(self) -> dict[str, Any]:
        """What is loaded: backend, backbone, T, K, sizes, threshold and its source (for logs and ``/healthz``)."""
        c = self.config
        return {
            "backend": self.backend.name,
            "backbone": c.backbone,
            "num_frames": c.num_frames,
            "num_regions": c.num_regions,
            "input_size": c.input_size,
            "highres_size": c.highres_size,
            "crop_scale": self.cache_info.crop_scale,
            "video_frames": self.sampler.count,
            "clips_per_video": self.clips_per_video,
            "frame_stride": self.frame_stride,
            "threshold": self.threshold,
            "threshold_source": self.threshold_source,
            "face_detector": self.face_detector.name,
        }

    def predict_image(
        self,
        image: ImageInput,
        *,
        name: str | None = None,
        threshold: float | None = None,
        face_box: tuple[float, float, float, float] | None = None,
    ) -> Prediction:
        """Score one still image (a path, or ``np.ndarray[H, W, 3]`` uint8 RGB, or a PIL image).

        The image is repeated T times to make the clip the model needs. An unreadable file gives a prediction with
        ``status="unreadable"`` (not an exception); an array of the wrong shape or dtype is a ``ValueError``.
        ``face_box`` (``x1, y1, x2, y2`` in image pixels) scores the face the caller located instead of running the
        face detector; the crop around it is made exactly as for a detected box.
        """
        boxes = None if face_box is None else [face_box]
        return self.predict_batch(
            [image], names=None if name is None else [name], threshold=threshold, face_boxes=boxes
        )[0]

    def predict_video(
        self,
        video: str | Path | FrameSource | Sequence[np.ndarray] | np.ndarray,
        *,
        name: str | None = None,
        threshold: float | None = None,
    ) -> Prediction:
        """Score a video: a file path, an open :class:`~stasn.data.video.FrameSource`, or frames
        (``np.ndarray[N, H, W, 3]`` or a list of ``[H, W, 3]`` uint8 RGB). See the module doc for the clips used.

        An unreadable video gives a prediction with ``status="unreadable"``; a source opened with a pixel limit
        (:func:`~stasn.infer.inputs.open_video_checked`) raises :class:`~stasn.errors.LimitError` for a frame over it.
        """
        start = time.perf_counter()
        label = name or (str(video) if isinstance(video, (str, Path)) else getattr(video, "path", "frames"))
        label = str(label)
        try:
            source, owned = self._open_video(video, label)
        except (DataError, FileNotFoundError, OSError) as exc:
            return self._failed(label, "video", exc, start, threshold)
        try:
            located: list[LocatedFace] = []
            size = None
            for index, frame in source.read(self.sampler.indices(source.num_frames)):
                size = (frame.shape[1], frame.shape[0])
                located.append(self._locate(index, frame))
        except LimitError:  # a frame over the source's pixel limit: refused, not "unreadable"
            raise
        except (DataError, OSError, IndexError) as exc:
            return self._failed(label, "video", exc, start, threshold)
        finally:
            if owned:
                source.close()
        usable = [f for f in located if f.crop is not None]
        clips = [
            [usable[p] for p in clip_positions(len(usable), self.num_frames, s, self.frame_stride)]
            for s in clip_starts(len(usable), self.num_frames, self.clips_per_video, self.frame_stride)
        ]
        pred = self._decide(label, "video", clips, located, threshold)
        pred.image_size, pred.frames_read = size, len(located)
        pred.seconds = time.perf_counter() - start
        return pred

    def predict_batch(
        self,
        inputs: Sequence[ImageInput],
        *,
        names: Sequence[str] | None = None,
        threshold: float | None = None,
        face_boxes: Sequence[tuple[float, float, float, float] | None] | None = None,
    ) -> list[Prediction]:
        """Score several inputs; still images share one batched model call. Paths with a video suffix go through
        :meth:`predict_video`. Each prediction's ``seconds`` is its share of the batch's wall time. ``face_boxes``
        (one per input, ``None`` = detect) gives still images the caller's own face boxes."""
        start = time.perf_counter()
        names = list(names) if names is not None else [_name(x, i) for i, x in enumerate(inputs)]
        if len(names) != len(inputs):
            raise ValueError(f"got {len(inputs)} inputs but {len(names)} names")
        boxes = list(face_boxes) if face_boxes is not None else [None] * len(inputs)
        if len(boxes) != len(inputs):
            raise ValueError(f"got {len(inputs)} inputs but {len(boxes)} face boxes")
        given = [None if b is None else GivenBox(b) for b in boxes]  # checks each box before any work
        results: list[Prediction | None] = [None] * len(inputs)
        pending: list[tuple[int, LocatedFace, tuple[int, int]]] = []  # images with a face, to score together
        for i, (item, label) in enumerate(zip(inputs, names, strict=True)):
            if isinstance(item, (str, Path)) and Path(item).suffix.lower() in VIDEO_SUFFIXES:
                results[i] = self.predict_video(item, name=label, threshold=threshold)
                continue
            try:
                frame = self._read_image(item, label)
            except (DataError, FileNotFoundError, OSError) as exc:
                results[i] = self._failed(label, "image", exc, start, threshold)
                continue
            try:
                found = self._locate(0, frame, given[i])
            except ValueError as exc:  # a given box outside this image
                results[i] = self._failed(label, "image", ValueError(f"{label}: {exc}"), start, threshold)
                continue
            size = (frame.shape[1], frame.shape[0])
            if found.crop is None:
                results[i] = self._decide(label, "image", [], [found], threshold)
                results[i].image_size, results[i].frames_read = size, 1  # type: ignore[union-attr]
            else:
                pending.append((i, found, size))
        scored = self._score([[found] * self.num_frames for _, found, _ in pending])
        for (i, found, size), clip in zip(pending, scored, strict=True):
            results[i] = self._decide(names[i], "image", [clip], [found], threshold, scored=True)
            results[i].image_size, results[i].frames_read = size, 1  # type: ignore[union-attr]
        share = (time.perf_counter() - start) / max(1, len(inputs))
        for r in results:
            if r is not None and not r.seconds:
                r.seconds = share
        return results  # type: ignore[return-value]

    def predict_stream(
        self, frames: Iterable[np.ndarray], *, name: str = "stream", threshold: float | None = None
    ) -> Iterator[Prediction]:
        """Score a live stream: every ``frame_stride``-th frame is taken, and each group of T taken frames gives one
        prediction (``kind="stream"``, one clip) as soon as it is complete. Frame indices count from the stream's
        first frame. A group without a usable face gives a ``no_face``/``face_too_small`` prediction."""
        group: list[LocatedFace] = []
        start = time.perf_counter()
        for index, frame in enumerate(frames):
            if index % self.frame_stride:
                continue
            frame = check_frame(frame, f"{name}[{index}]")
            group.append(self._locate(index, frame))
            if len(group) < self.num_frames:
                continue
            usable = [f for f in group if f.crop is not None]
            clip = [usable[p] for p in clip_positions(len(usable), self.num_frames, 0)] if usable else []
            pred = self._decide(name, "stream", [clip] if clip else [], group, threshold)
            pred.image_size = (frame.shape[1], frame.shape[0])
            pred.frames_read, pred.seconds = len(group), time.perf_counter() - start
            yield pred
            group, start = [], time.perf_counter()

    # --- steps --------------------------------------------------------------------------------------------------
    def _open_video(self, video: Any, label: str) -> tuple[FrameSource, bool]:
        if isinstance(video, FrameSource):
            return video, False
        if isinstance(video, (str, Path)):
            return open_video(video), True
        return ArrayFrames(video, name=label), True

    def _read_image(self, item: ImageInput, label: str) -> np.ndarray:
        if isinstance(item, (str, Path)):
            return load_image(item, max_pixels=self.max_pixels)
        return check_frame(item, label)

    def _locate(self, index: int, frame: np.ndarray, given: GivenBox | None = None) -> LocatedFace:
        return locate_face(
            frame,
            index,
            given or self.face_detector,
            self.cache_info,
            min_face_size=self.min_face_size,
            jpeg_roundtrip=self.jpeg_roundtrip,
        )

    def _score(self, clips: list[list[LocatedFace]]) -> list[ClipScore]:
        """Run the model on clips of T located frames (all with crops) and map the region boxes to input pixels."""
        if not clips:
            return []
        # Each distinct located frame once: a still image is one frame repeated T times, a short video is stretched by
        # repeating frames, and a video's clips may overlap; the backend runs the CNNs per distinct frame.
        rows: dict[int, int] = {}
        distinct: list[LocatedFace] = []
        frame_index = np.empty((len(clips), self.num_frames), dtype=np.int64)
        for b, clip in enumerate(clips):
            for t, located in enumerate(clip):
                if id(located) not in rows:
                    rows[id(located)] = len(distinct)
                    distinct.append(located)
                frame_index[b, t] = rows[id(located)]
        faces = np.stack([f.crop.face for f in distinct])  # (N, s, s, 3) uint8
        highres = np.stack([f.crop.highres for f in distinct])  # (N, S, S, 3)
        out: BackendOutput = self.backend(_to_model(faces), _to_model(highres), frame_index)
        scores = []
        for b, clip in enumerate(clips):
            frames, seen = [], set()
            for t, located in enumerate(clip):
                if located.index in seen:  # a repeated (padding or still-image) frame: listed once
                    continue
                seen.add(located.index)
                region = located.crop.region
                scale = (region[2] - region[0]) / self.cache_info.highres_size
                regions = [to_input_pixels(box, region, scale) for box in out.boxes[b, t]]
                frames.append(
                    FrameInfo(located.index, tuple(located.detection.box), tuple(map(float, region)), regions)
                )
            scores.append(
                ClipScore(float(out.spoof_score[b]), float(out.tasm_score[b]), float(out.sasm_score[b]), frames)
            )
        return scores

    def _decide(
        self,
        label: str,
        kind: str,
        clips: list[list[LocatedFace]] | list[ClipScore],
        located: list[LocatedFace],
        threshold: float | None,
        *,
        scored: bool = False,
    ) -> Prediction:
        """Score the clips (unless ``scored``) and build the prediction, or say why there is none."""
        threshold = self.threshold if threshold is None else float(threshold)
        clip_scores: list[ClipScore] = list(clips) if scored else self._score(clips)  # type: ignore[arg-type]
        with_face = sum(1 for f in located if f.crop is not None)
        if not clip_scores:
            status, reason = self._why_not(located)
            return Prediction(label, kind, status, threshold, reason=reason, frames_with_face=with_face)
        mean = lambda key: float(np.mean([getattr(c, key) for c in clip_scores]))  # noqa: E731
        return Prediction(
            label,
            kind,
            STATUS_OK,
            threshold,
            spoof_score=mean("spoof_score"),
            tasm_score=mean("tasm_score"),
            sasm_score=mean("sasm_score"),
            clips=clip_scores,
            frames_with_face=with_face,
        )

    def _why_not(self, located: list[LocatedFace]) -> tuple[str, str]:
        where = "the image" if len(located) == 1 else f"the {len(located)} frames examined"
        small = [f for f in located if f.status == STATUS_FACE_TOO_SMALL]
        if small:
            side = max(
                max(f.detection.box[2] - f.detection.box[0], f.detection.box[3] - f.detection.box[1]) for f in small
            )
            return (
                STATUS_FACE_TOO_SMALL,
                f"largest face in {where} is {side:.0f} px, below min_face_size={self.min_face_size} px",
            )
        return STATUS_NO_FACE, f"no face found in {where} (detector: {self.face_detector.name})"

    def _failed(self, label: str, kind: str, exc: BaseException, start: float, threshold: float | None) -> Prediction:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, FileNotFoundError) and exc.filename and str(exc.filename) not in message:
            message = f"{exc.filename}: {message}"
        log.debug("%s: unreadable: %s", label, message)
        return Prediction(
            label,
            kind,
            STATUS_UNREADABLE,
            self.threshold if threshold is None else float(threshold),
            reason=message,
            seconds=time.perf_counter() - start,
        )


# --- small pure helpers -------------------------------------------------------------------------------------------
def _providers(device: str) -> list[str] | None:
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return None  # auto: CUDA when ONNX Runtime has it, then CPU


def _is_probability(value: Any) -> bool:
    """A number in [0, 1] (NaN and text are not)."""
    if isinstance(value, (str, bytes)):
        return False
    try:
        return 0.0 <= float(value) <= 1.0
    except (TypeError, ValueError):
        return False


def _name(item: Any, i: int) -> str:
    return str(item) if isinstance(item, (str, Path)) else f"image[{i}]"


def _to_model(images: np.ndarray) -> np.ndarray:
    """``uint8[N, H, W, 3]`` -> ``float32[N, 3, H, W]`` in [0, 1] (the model normalises inside)."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(255.0)
