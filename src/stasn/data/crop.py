"""Cutting the face crops the cache stores: one square region per frame, saved at two sizes.

The region is the face box's square hull enlarged by ``CacheInfo.crop_scale`` about the box centre, in whole
pixels. Where it leaves the frame it is padded (edge pixels repeated by default, or zeros). It is resized to
``highres_size`` (the image RAM cuts regions from), and the TASM crop (``face_size``) is made *from that high-res
crop*. Deriving the small crop from the large one everywhere — here, in training after synthesis, at inference —
keeps one resampling path for every sample, so the model cannot learn the pipeline instead of the face.

Downscaling uses ``cv2.INTER_AREA`` (no aliasing: aliasing would add moire-like patterns that are a spoof cue);
upscaling a small face uses ``cv2.INTER_CUBIC``.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from stasn.data.manifest import CacheInfo

__all__ = ["FaceCrop", "square_region", "crop_square", "resize_square", "face_from_highres", "crop_face"]

Region = tuple[int, int, int, int]  # x1, y1, x2, y2 in whole pixels; x2 - x1 == y2 - y1


class FaceCrop(NamedTuple):
    """The two crops of one frame and the region they cover.

    Attributes:
        face: ``np.ndarray[face_size, face_size, 3]`` uint8 RGB, TASM input.
        highres: ``np.ndarray[highres_size, highres_size, 3]`` uint8 RGB, the same region at high resolution.
        region: ``(x1, y1, x2, y2)`` square region of the source frame that was cropped, whole pixels (may extend
            past the frame; that part is padding).
    """

    face: np.ndarray
    highres: np.ndarray
    region: Region


def square_region(box: tuple[float, float, float, float], crop_scale: float) -> Region:
    """The square region to crop: side ``round(crop_scale * max(w, h))`` pixels, centred on the box.

    Args:
        box: face box ``x1, y1, x2, y2`` in pixels (pixel ``i`` covers ``[i, i + 1)``).
        crop_scale: side of the square relative to the longer box side (> 0).

    Returns:
        ``(x1, y1, x1 + side, y1 + side)`` in whole pixels; may reach outside the frame.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    if not (x2 > x1 and y2 > y1):
        raise ValueError(f"face box must have x2 > x1 and y2 > y1, got {box}")
    if crop_scale <= 0:
        raise ValueError(f"crop_scale must be > 0, got {crop_scale}")
    side = max(1, round(crop_scale * max(x2 - x1, y2 - y1)))
    left = round((x1 + x2) / 2 - side / 2)
    top = round((y1 + y2) / 2 - side / 2)
    return (left, top, left + side, top + side)


def crop_square(frame: np.ndarray, region: Region, *, pad: str = "edge") -> np.ndarray:
    """Cut ``region`` out of ``frame``, padding the part outside it.

    Args:
        frame: ``np.ndarray[H, W, C]``.
        region: ``(x1, y1, x2, y2)`` whole pixels, from :func:`square_region`.
        pad: ``"edge"`` repeats the border pixels, ``"zero"`` fills with 0.

    Returns:
        ``np.ndarray[y2 - y1, x2 - x1, C]``, same dtype as ``frame``.
    """
    if pad not in ("edge", "zero"):
        raise ValueError(f"Unknown pad {pad!r}. Valid values are {{edge, zero}}.")
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = region
    inner = frame[max(y1, 0) : min(y2, height), max(x1, 0) : min(x2, width)]
    if inner.size == 0:
        raise ValueError(f"crop region {region} lies outside the {width}x{height} frame")
    top, bottom = max(0, -y1), max(0, y2 - height)
    left, right = max(0, -x1), max(0, x2 - width)
    if not (top or bottom or left or right):
        return inner
    border = cv2.BORDER_REPLICATE if pad == "edge" else cv2.BORDER_CONSTANT
    return cv2.copyMakeBorder(inner, top, bottom, left, right, border, value=0)


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize a square image to ``size x size``: ``INTER_AREA`` when shrinking, ``INTER_CUBIC`` when enlarging."""
    if image.shape[0] == size and image.shape[1] == size:
        return image
    interpolation = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(image, (size, size), interpolation=interpolation)


def face_from_highres(highres: np.ndarray, face_size: int) -> np.ndarray:
    """The TASM crop from a high-res crop (``np.ndarray[S, S, 3]`` -> ``np.ndarray[face_size, face_size, 3]``).

    Used by ``stasn prepare``, by the training dataset after synthesis, and at inference, so every face crop is
    made the same way.
    """
    return resize_square(highres, face_size)


def crop_face(
    frame: np.ndarray, box: tuple[float, float, float, float], info: CacheInfo, *, pad: str = "edge"
) -> FaceCrop:
    """Both crops of one frame.

    Args:
        frame: ``np.ndarray[H, W, 3]`` uint8 RGB.
        box: face box ``x1, y1, x2, y2`` in frame pixels.
        info: sizes and ``crop_scale`` of the cache.
        pad: ``"edge"`` or ``"zero"``, see :func:`crop_square`.

    Returns:
        :class:`FaceCrop` with ``face`` ``[face_size, face_size, 3]`` and ``highres`` ``[highres_size,
        highres_size, 3]``, uint8 RGB.
    """
    region = square_region(box, info.crop_scale)
    highres = resize_square(crop_square(frame, region, pad=pad), info.highres_size)
    return FaceCrop(face_from_highres(highres, info.face_size), np.ascontiguousarray(highres), region)
