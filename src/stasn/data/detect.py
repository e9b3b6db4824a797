"""Face detection: a small interface and three OpenCV detectors, chosen by a spec string.

================================  ===========================================================================
spec                              detector
================================  ===========================================================================
``haar`` / ``haar:/cascade.xml``  OpenCV Haar cascade (``cv2.data.haarcascades``; needs no model file). Weakest.
``yunet`` / ``yunet:/path.onnx``  YuNet through ``cv2.FaceDetectorYN`` (recommended; five landmarks); without a
                                  path, the YuNet model shipped with stasn (``stasn/weights``, MIT)
``ssd:/path.pb,/path.pbtxt``      OpenCV's ResNet-10 SSD (TensorFlow graph) through ``cv2.dnn``
``whole``                         the whole frame is the face: for inputs that are already face crops
================================  ===========================================================================

All take ``np.ndarray[H, W, 3]`` uint8 RGB frames and return :class:`Detection` records with boxes as
``x1, y1, x2, y2`` in pixels of that frame. Frames larger than ``max_side`` are shrunk before detection (faces in
anti-spoofing data are large, and detection cost grows with the pixel count) and boxes are scaled back.

When a dataset ships face boxes or eye positions they are used instead of a detector (:func:`find_face`).
When several faces are found, the largest wins (:func:`largest_face`): the subject of an anti-spoofing capture is
the face closest to the camera; detections far less confident than the best one do not compete.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import cv2
import numpy as np

if TYPE_CHECKING:
    from stasn.datasets.base import FaceAnnotations

__all__ = [
    "WholeImageDetector",
    "GivenBox",
    "BUNDLED_YUNET",
    "Box",
    "Detection",
    "FaceDetector",
    "HaarDetector",
    "YuNetDetector",
    "SSDDetector",
    "make_detector",
    "largest_face",
    "eyes_to_box",
    "find_face",
]

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in frame pixels


class Detection(NamedTuple):
    """One detected face.

    Attributes:
        box: ``x1, y1, x2, y2`` in pixels of the frame given to ``detect``.
        score: detector confidence (higher = more likely a face); its scale depends on the detector.
        landmarks: ``np.ndarray[5, 2]`` (x, y) pixels — right eye, left eye, nose tip, right and left mouth
            corner as YuNet orders them — or ``None`` when the detector gives none.
    """

    box: Box
    score: float
    landmarks: np.ndarray | None = None


class FaceDetector:
    """Interface: ``detect(frame) -> list[Detection]``. ``name`` is what the manifest records."""

    name: str = ""

    def __init__(self, *, max_side: int | None = 640) -> None:
        if max_side is not None and max_side < 32:
            raise ValueError(f"max_side must be >= 32 pixels (or None), got {max_side}")
        self.max_side = max_side

    def detect(self, frame: np.ndarray) -> list[Detection]:
        """Faces in ``frame`` (``np.ndarray[H, W, 3]`` uint8 RGB), boxes in its pixels, best score first."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected a frame np.ndarray[H, W, 3] uint8, got {frame.dtype} {frame.shape}")
        scale = 1.0
        height, width = frame.shape[:2]
        if self.max_side is not None and max(height, width) > self.max_side:
            scale = self.max_side / max(height, width)
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        found = sorted(self._detect_bgr(bgr), key=lambda d: -d.score)
        if scale == 1.0:
            return found
        return [
            Detection(
                tuple(v / scale for v in d.box),  # type: ignore[arg-type]
                d.score,
                None if d.landmarks is None else d.landmarks / scale,
            )
            for d in found
        ]

    def _detect_bgr(self, bgr: np.ndarray) -> list[Detection]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_side={self.max_side})"


class WholeImageDetector(FaceDetector):
    """Treats the whole frame as the face (spec ``whole``): for datasets and inputs that are already face crops.

    The crop a model sees is still this box enlarged by ``crop_scale`` (edge-padded), as for any detected face; use
    ``crop_scale=1`` to keep exactly the given crop.
    """

    name = "whole"

    def __init__(self) -> None:
        super().__init__(max_side=None)

    def _detect_bgr(self, bgr: np.ndarray) -> list[Detection]:
        return [Detection((0.0, 0.0, float(bgr.shape[1]), float(bgr.shape[0])), 1.0)]


class GivenBox(FaceDetector):
    """The caller's own face box (spec-less): for users with their own detector, and evaluations that must give
    every model the same boxes. ``box`` is ``x1, y1, x2, y2`` in pixels of the frame it is used on."""

    name = "given"

    def __init__(self, box: Box | tuple[float, float, float, float]) -> None:
        super().__init__(max_side=None)
        values = tuple(float(v) for v in box)
        if len(values) != 4 or not all(np.isfinite(values)) or values[2] <= values[0] or values[3] <= values[1]:
            raise ValueError(f"face box must be 4 finite numbers x1, y1, x2, y2 with x2 > x1 and y2 > y1, got {box}")
        self.box = values

    def detect(self, frame: np.ndarray) -> list[Detection]:
        height, width = frame.shape[:2]
        x1, y1, x2, y2 = self.box
        if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
            raise ValueError(f"face box {self.box} lies outside the {width}x{height} image")
        return [Detection(self.box, 1.0)]  # type: ignore[arg-type]


class HaarDetector(FaceDetector):
    """OpenCV's frontal-face Haar cascade. ``score`` is the number of neighbouring detections merged into the box.

    Args:
        cascade: cascade XML; default ``haarcascade_frontalface_default.xml`` from ``cv2.data.haarcascades``.
        min_neighbors: OpenCV's ``minNeighbors``; higher = fewer false faces.
        min_face: smallest face side as a fraction of the shorter frame side.
    """

    name = "haar"

    def __init__(
        self,
        cascade: str | Path | None = None,
        *,
        min_neighbors: int = 5,
        min_face: float = 0.1,
        max_side: int | None = 640,
    ) -> None:
        super().__init__(max_side=max_side)
        if cascade is None:
            data = getattr(cv2, "data", None)
            if data is None:  # OpenCV 5 wheels ship no cascades
                raise FileNotFoundError("this OpenCV has no bundled Haar cascades; use yunet:/path.onnx")
            cascade = Path(data.haarcascades) / "haarcascade_frontalface_default.xml"
        cascade = Path(cascade)
        if not cascade.is_file():
            raise FileNotFoundError(f"{cascade}: Haar cascade file not found")
        self._cascade = cv2.CascadeClassifier(str(cascade))
        if self._cascade.empty():
            raise ValueError(f"{cascade}: not a Haar cascade OpenCV can load")
        self.min_neighbors = min_neighbors
        self.min_face = min_face

    def _detect_bgr(self, bgr: np.ndarray) -> list[Detection]:
        gray = cv2.equalizeHist(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
        side = max(1, int(self.min_face * min(gray.shape)))
        boxes, neighbours = self._cascade.detectMultiScale2(
            gray, scaleFactor=1.1, minNeighbors=self.min_neighbors, minSize=(side, side)
        )
        return [
            Detection((float(x), float(y), float(x + w), float(y + h)), float(n))
            for (x, y, w, h), n in zip(boxes, neighbours, strict=True)
        ]


class YuNetDetector(FaceDetector):
    """YuNet (``cv2.FaceDetectorYN``): boxes, five landmarks and a score in [0, 1].

    Args:
        model: the YuNet ONNX file.
        score_threshold: drop faces scoring below it. 0.6 is a guess that keeps faces on printed photos, whose
            scores run lower than live faces (not tuned on a benchmark).
        nms_threshold: IoU above which overlapping boxes are merged.
    """

    name = "yunet"

    def __init__(
        self,
        model: str | Path,
        *,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        max_side: int | None = 640,
    ) -> None:
        super().__init__(max_side=max_side)
        model = Path(model)
        if not model.is_file():
            raise FileNotFoundError(f"{model}: YuNet ONNX model not found")
        try:
            self._net = cv2.FaceDetectorYN.create(str(model), "", (320, 320), score_threshold, nms_threshold, 5000)
        except cv2.error as exc:
            raise ValueError(f"{model}: OpenCV cannot load this as a YuNet model ({exc.err})") from None
        self._size = (320, 320)
        self.model = model

    def _detect_bgr(self, bgr: np.ndarray) -> list[Detection]:
        size = (bgr.shape[1], bgr.shape[0])
        if size != self._size:
            self._net.setInputSize(size)
            self._size = size
        _, faces = self._net.detect(bgr)
        if faces is None:
            return []
        return [
            Detection(
                (float(f[0]), float(f[1]), float(f[0] + f[2]), float(f[1] + f[3])),
                float(f[14]),
                np.asarray(f[4:14], dtype=np.float64).reshape(5, 2),
            )
            for f in faces
        ]


class SSDDetector(FaceDetector):
    """OpenCV's ResNet-10 SSD face detector (TensorFlow ``.pb`` + ``.pbtxt``), run at 300 x 300 with ``cv2.dnn``.

    Args:
        model: the ``opencv_face_detector_uint8.pb`` graph.
        config: the matching ``opencv_face_detector.pbtxt``.
        score_threshold: drop faces scoring below it (OpenCV's sample uses 0.5).
    """

    name = "ssd"
    _MEAN = (104.0, 117.0, 123.0)  # BGR means the model was trained with (OpenCV's sample)

    def __init__(
        self,
        model: str | Path,
        config: str | Path,
        *,
        score_threshold: float = 0.5,
        max_side: int | None = 640,
    ) -> None:
        super().__init__(max_side=max_side)
        model, config = Path(model), Path(config)
        for path in (model, config):
            if not path.is_file():
                raise FileNotFoundError(f"{path}: SSD face detector file not found")
        try:
            self._net = cv2.dnn.readNetFromTensorflow(str(model), str(config))
        except cv2.error as exc:
            raise ValueError(f"{model}: OpenCV cannot load this TensorFlow face detector ({exc.err})") from None
        self.score_threshold = score_threshold

    def _detect_bgr(self, bgr: np.ndarray) -> list[Detection]:
        height, width = bgr.shape[:2]
        blob = cv2.dnn.blobFromImage(bgr, 1.0, (300, 300), self._MEAN, swapRB=False, crop=False)
        self._net.setInput(blob)
        out = self._net.forward().reshape(-1, 7)  # (N, 7): image id, class, score, x1, y1, x2, y2 (0..1)
        found = []
        for score, x1, y1, x2, y2 in out[:, 2:7]:
            if score < self.score_threshold:
                continue
            box = (
                float(np.clip(x1, 0, 1) * width),
                float(np.clip(y1, 0, 1) * height),
                float(np.clip(x2, 0, 1) * width),
                float(np.clip(y2, 0, 1) * height),
            )
            if box[2] > box[0] and box[3] > box[1]:
                found.append(Detection(box, float(score)))
        return found


_SPECS = "haar, haar:/cascade.xml, yunet, yunet:/path.onnx, ssd:/path.pb,/path.pbtxt, whole"
BUNDLED_YUNET = Path(__file__).resolve().parents[1] / "weights" / "face_detection_yunet_2026may.onnx"  # MIT


def make_detector(spec: str, *, max_side: int | None = 640) -> FaceDetector:
    """Build a detector from a spec string (see the module table).

    Raises:
        ValueError: an unknown detector name or a wrong number of paths. FileNotFoundError: a missing model file.
    """
    name, _, arg = spec.strip().partition(":")
    name = name.lower()
    paths = [p.strip() for p in arg.split(",") if p.strip()] if arg else []
    if name == "whole" and not paths:
        return WholeImageDetector()
    if name == "haar" and len(paths) <= 1:
        return HaarDetector(paths[0] if paths else None, max_side=max_side)
    if name == "yunet" and len(paths) <= 1:
        return YuNetDetector(paths[0] if paths else BUNDLED_YUNET, max_side=max_side)
    if name == "ssd" and len(paths) == 2:
        return SSDDetector(paths[0], paths[1], max_side=max_side)
    if name in ("haar", "yunet", "ssd", "whole"):
        raise ValueError(f"detector {spec!r}: wrong number of paths. Valid forms: {_SPECS}")
    raise ValueError(f"Unknown detector {name!r}. Valid forms: {_SPECS}")


def largest_face(detections: list[Detection], *, min_relative_score: float = 0.8) -> Detection | None:
    """The detection with the largest box area among those scoring at least ``min_relative_score`` times the best
    score (ties: the higher score); ``None`` for an empty list.

    Area picks the subject over smaller faces behind it; the score floor keeps a large, doubtful detection from
    winning over a confident face (on NUAA, YuNet scores a hand holding the photo 0.64-0.72 and the face 0.94).
    The 0.8 is ours, chosen on that case. ``min_relative_score=0`` gives the plain largest box.
    """
    if not detections:
        return None
    floor = min_relative_score * max(d.score for d in detections)
    candidates = [d for d in detections if d.score >= floor]
    return max(candidates, key=lambda d: ((d.box[2] - d.box[0]) * (d.box[3] - d.box[1]), d.score))


def eyes_to_box(eyes: tuple[float, float, float, float]) -> Box:
    """A face box from two eye centres ``(x_a, y_a, x_b, y_b)`` in pixels (either order).

    Heuristic, not from the paper: the box is square with side 2.2 x the eye distance (an adult face is about 2.2
    eye-distances wide), centred half an eye distance below the eyes' midpoint (eyes sit in the upper part of the
    face). :func:`stasn.data.crop.square_region` then adds ``crop_scale`` context on top.
    """
    xa, ya, xb, yb = (float(v) for v in eyes)
    distance = float(np.hypot(xb - xa, yb - ya))
    if distance <= 0:
        raise ValueError(f"eye positions {eyes} coincide; cannot derive a face box")
    cx, cy = (xa + xb) / 2, (ya + yb) / 2 + 0.5 * distance
    half = 1.1 * distance
    return (cx - half, cy - half, cx + half, cy + half)


def find_face(
    frame: np.ndarray,
    frame_index: int,
    detector: FaceDetector | None,
    annotations: FaceAnnotations | None = None,
) -> tuple[Detection | None, str]:
    """The face to crop in one frame, and where it came from.

    Dataset-provided boxes win, then dataset-provided eyes (:func:`eyes_to_box`), then the detector's largest face.

    Args:
        frame: ``np.ndarray[H, W, 3]`` uint8 RGB.
        frame_index: 0-based index of ``frame`` in its video (the key of the annotations).
        detector: used when the dataset has nothing for this frame; ``None`` = annotations only.
        annotations: a :class:`stasn.datasets.FaceAnnotations` or ``None``.

    Returns:
        ``(detection or None, source)`` with source ``"dataset"`` or the detector's name.
    """
    if annotations is not None:
        box = annotations.boxes.get(frame_index)
        if box is not None:
            x1, y1, x2, y2 = (float(v) for v in box)
            return Detection((x1, y1, x2, y2), 1.0), "dataset"
        eyes = annotations.eyes.get(frame_index)
        if eyes is not None:
            return Detection(eyes_to_box(eyes), 1.0), "dataset"
    if detector is None:
        return None, "dataset"
    return largest_face(detector.detect(frame)), detector.name
