"""From a frame to the crops the model scores, for inference: find the face, cut it as training did, map boxes back.

Detection and cropping are :mod:`stasn.data.detect` and :mod:`stasn.data.crop`, the code ``stasn prepare`` runs; this
module adds what only inference needs: a "the whole frame is the face" detector for inputs that are already face
crops, the JPEG round trip that makes a crop look like a cached one, frames held in memory, and the mapping of RAM's
region boxes from high-res crop pixels back to input pixels.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stasn.data import video
from stasn.data.crop import FaceCrop, crop_face, face_from_highres
from stasn.data.detect import Detection, FaceDetector, WholeImageDetector, largest_face
from stasn.data.manifest import CacheInfo
from stasn.data.video import FrameSource
from stasn.infer.result import STATUS_FACE_TOO_SMALL, STATUS_NO_FACE, STATUS_OK

__all__ = [
    "ArrayFrames",
    "LocatedFace",
    "WholeImageDetector",
    "check_frame",
    "locate_face",
    "to_input_pixels",
]


def check_frame(frame: Any, name: str) -> np.ndarray:
    """Return ``frame`` as ``np.ndarray[H, W, 3]`` uint8 RGB (a PIL image is converted); ``ValueError`` otherwise."""
    if hasattr(frame, "convert") and not isinstance(frame, np.ndarray):  # a PIL image
        frame = np.asarray(frame.convert("RGB"))
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        got = f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
        raise ValueError(f"{name}: expected an RGB frame np.ndarray[H, W, 3] uint8, got {got}")
    return frame


class ArrayFrames(FrameSource):
    """In-memory frames (``np.ndarray[N, H, W, 3]`` or a list of ``[H, W, 3]``, uint8 RGB) read as a video."""

    def __init__(self, frames: Sequence[np.ndarray] | np.ndarray, *, name: str = "frames", fps: float | None = None):
        self.frames = [check_frame(f, f"{name}[{i}]") for i, f in enumerate(frames)]
        if not self.frames:
            raise ValueError(f"{name}: no frames given")
        self.path = Path(name)
        self.num_frames = len(self.frames)
        self.fps = fps

    def read(self, indices: Sequence[int]) -> Iterator[tuple[int, np.ndarray]]:
        for index in self._check(indices):
            yield index, self.frames[index]


@dataclass(frozen=True)
class LocatedFace:
    """One frame after face detection: the crops to score, or (``crop is None``) why there are none."""

    index: int  # frame index in its video (0 for a still image)
    detection: Detection | None  # the largest face, if any
    crop: FaceCrop | None  # None unless status is "ok"
    status: str  # "ok" | "no_face" | "face_too_small"


def locate_face(
    frame: np.ndarray,
    index: int,
    detector: FaceDetector,
    info: CacheInfo,
    *,
    min_face_size: int,
    jpeg_roundtrip: bool = True,
) -> LocatedFace:
    """Detect the largest face and cut the model's two crops (:func:`stasn.data.crop.crop_face`).

    Args:
        frame: ``np.ndarray[H, W, 3]`` uint8 RGB.
        index: the frame's index (recorded, not used).
        detector: any face detector.
        info: crop geometry of the model's training cache.
        min_face_size: a face whose longer box side is shorter (pixels) gives ``face_too_small``.
        jpeg_roundtrip: pass the high-res crop through JPEG at ``info.jpeg_quality`` and derive the TASM crop from
            it, as the training cache and dataset do.
    """
    face = largest_face(detector.detect(frame))
    if face is None:
        return LocatedFace(index, None, None, STATUS_NO_FACE)
    x1, y1, x2, y2 = face.box
    if max(x2 - x1, y2 - y1) < min_face_size:
        return LocatedFace(index, face, None, STATUS_FACE_TOO_SMALL)
    crop = crop_face(frame, face.box, info)
    if jpeg_roundtrip:
        highres = video.jpeg_roundtrip(crop.highres, info.jpeg_quality)  # the pixels a cached crop has
        crop = FaceCrop(face_from_highres(highres, info.face_size), highres, crop.region)
    return LocatedFace(index, face, crop, STATUS_OK)


def to_input_pixels(box: np.ndarray, region: tuple[int, int, int, int], scale: float) -> tuple[float, ...]:
    """A box in high-res crop pixels -> input pixels: ``region origin + box * scale``.

    Args:
        box: ``x1, y1, x2, y2`` in pixels of the high-res crop.
        region: the square region of the input the crop was cut from (:attr:`FaceCrop.region`).
        scale: region side / ``highres_size``.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    return (region[0] + x1 * scale, region[1] + y1 * scale, region[0] + x2 * scale, region[1] + y2 * scale)
