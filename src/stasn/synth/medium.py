"""The attack medium (screen or paper) as a flat layout: where the face image sits on it, how it is resampled onto the
medium's own grid, and how the medium projects into the camera and is framed by a face detector.

Medium coordinates are content units (the face image's longer side = 1), origin at the image centre, X right, Y down;
see :mod:`stasn.synth.geometry`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import cv2
import numpy as np

from stasn.synth.geometry import Pose, crop_square, plane_homography, project, rotation_matrix

if TYPE_CHECKING:
    from stasn.synth.recapture import ViewParams

__all__ = [
    "MediumLayout",
    "medium_layout",
    "max_face_scale",
    "rect_corners",
    "as_clip",
    "extend_content",
    "content_texture",
    "medium_to_camera",
    "frame_crop",
]


class MediumLayout(NamedTuple):
    """The medium in medium coordinates (content units) for one input size.

    ``area`` is the part that shows the image (a screen's active area, a print's printed area); ``body`` is the
    object around it (device body with its bezel, the paper with its white margin).
    """

    half: tuple[float, float]  # half width/height of the face image
    area: tuple[float, float, float, float]  # left, top, right, bottom
    body: tuple[float, float, float, float]
    unit_per_mm: float  # content units per millimetre on the medium


def max_face_scale(area_mm: tuple[float, float], face_fraction: float) -> float:
    """Largest ``face_scale`` (face-image width / area width) that keeps a square image's face box inside the area."""
    return min(1.0, area_mm[1] / area_mm[0]) / face_fraction


def medium_layout(
    *,
    width: int,
    height: int,
    face_scale: float,
    face_fraction: float,
    offset: tuple[float, float],
    area_mm: tuple[float, float],
    margin_mm: tuple[float, float, float, float],
) -> MediumLayout:
    """Place a ``width`` x ``height`` face image on a medium.

    Args:
        face_scale: face-image width / area width (small = face small on the screen or print).
        face_fraction: central share of the image that is the face; it is kept inside the area.
        offset: area centre relative to the face, as a fraction (-1 .. 1) of the slack that keeps the face inside.
        area_mm: the area's width and height, millimetres.
        margin_mm: body border left, top, right, bottom, millimetres.
    """
    side = float(max(width, height))
    hw, hh = width / side / 2.0, height / side / 2.0
    aw = 2.0 * hw / face_scale
    unit = aw / area_mm[0]
    ah = area_mm[1] * unit
    slack_x = max(0.0, aw / 2.0 - hw * face_fraction)
    slack_y = max(0.0, ah / 2.0 - hh * face_fraction)
    cx, cy = offset[0] * slack_x, offset[1] * slack_y
    area = (cx - aw / 2.0, cy - ah / 2.0, cx + aw / 2.0, cy + ah / 2.0)
    ml, mt, mr, mb = (v * unit for v in margin_mm)
    body = (area[0] - ml, area[1] - mt, area[2] + mr, area[3] + mb)
    return MediumLayout((hw, hh), area, body, unit)


def rect_corners(rect: tuple[float, float, float, float]) -> np.ndarray:
    """``[4, 2]`` corners (clockwise from top-left) of ``(left, top, right, bottom)``."""
    left, top, right, bottom = rect
    return np.array([[left, top], [right, top], [right, bottom], [left, bottom]], np.float64)


def as_clip(image: np.ndarray) -> tuple[np.ndarray, bool]:
    """Accept ``[H, W, 3]`` or ``[T, H, W, 3]`` uint8 RGB; return a clip and whether the input was a single image."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim not in (3, 4) or arr.shape[-1] != 3:
        raise ValueError(
            f"expected a uint8 RGB image [H, W, 3] or clip [T, H, W, 3], got {arr.dtype} array of shape {arr.shape}"
        )
    clip = arr[None] if arr.ndim == 3 else arr
    if clip.shape[0] < 1 or min(clip.shape[1:3]) < 16:
        raise ValueError(f"expected at least one frame of at least 16 x 16 pixels, got shape {arr.shape}")
    return clip, arr.ndim == 3


def image_size(image: np.ndarray) -> tuple[int, int]:
    """``(width, height)`` in pixels of an ``[H, W, 3]`` image or ``[T, H, W, 3]`` clip."""
    shape = np.shape(image)
    return int(shape[-2]), int(shape[-3])


def extend_content(image: np.ndarray, pad: int) -> np.ndarray:
    """Surround a face image with ``pad`` pixels of what the rest of its frame might look like.

    The screen (or print) shows the whole frame the face crop came from, which we do not have. Mirroring the crop
    would show mirrored faces (an artifact a model could learn), so the surround is a very blurred mirror of the
    crop's colours, and the crop's border is feathered into it.
    """
    h, w = image.shape[:2]
    tiny = cv2.resize(image, (8, 8), interpolation=cv2.INTER_AREA)
    cells = int(math.ceil(pad / min(h / 8, w / 8))) + 1
    tiny = cv2.copyMakeBorder(tiny, cells, cells, cells, cells, cv2.BORDER_REFLECT_101)
    cell_w, cell_h = w / 8, h / 8
    full = cv2.resize(
        tiny, (round(tiny.shape[1] * cell_w), round(tiny.shape[0] * cell_h)), interpolation=cv2.INTER_LINEAR
    )
    oy, ox = round(cells * cell_h) - pad, round(cells * cell_w) - pad
    out = np.ascontiguousarray(full[oy : oy + h + 2 * pad, ox : ox + w + 2 * pad])
    feather = max(2.0, 0.04 * min(h, w))
    ramp_x = np.clip((np.minimum(np.arange(w), w - 1 - np.arange(w)) + 1) / feather, 0, 1)
    ramp_y = np.clip((np.minimum(np.arange(h), h - 1 - np.arange(h)) + 1) / feather, 0, 1)
    weight = (ramp_y[:, None] * ramp_x[None, :])[..., None].astype(np.float32)
    inner = out[pad : pad + h, pad : pad + w].astype(np.float32)
    out[pad : pad + h, pad : pad + w] = (image * weight + inner * (1.0 - weight)).astype(image.dtype)
    return out


def content_texture(
    frame: np.ndarray,
    half: tuple[float, float],
    x0: float,
    y0: float,
    kt: float,
    size: tuple[int, int],
) -> np.ndarray:
    """Resample the face image onto a texture grid of the medium.

    Texel ``(i, j)`` is centred at medium coordinates ``(x0 + (i + 0.5) / kt, y0 + (j + 0.5) / kt)``; the face image
    spans ``[-half[0], half[0]] x [-half[1], half[1]]``. Shrinking averages first (as a display scaler or a print
    driver does); beyond the image, :func:`extend_content` supplies a plausible surround.

    Returns:
        ``[size[1], size[0], C]``, the dtype and channels of ``frame`` (uint8 RGB, or float32 coverages...).
    """
    height, width = frame.shape[:2]
    tw, th = size
    side = float(max(width, height))  # source pixels per content unit
    hw, hh = half
    src, fx, fy = frame, 1.0, 1.0
    if kt < side:
        sw, sh = max(1, round(width * kt / side)), max(1, round(height * kt / side))
        src = cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA)
        fx, fy = sw / width, sh / height
    # How far (source pixels) the texture reaches beyond the image on its worst side.
    over = max(-hw - x0, -hh - y0, x0 + tw / kt - hw, y0 + th / kt - hh) * side * max(fx, fy)
    pad = 0
    if over > -1.0:  # the texture reaches beyond the image
        pad = int(math.ceil(over)) + 3
        src = extend_content(src, pad)
    affine = np.array(
        [
            [side * fx / kt, 0.0, (x0 + 0.5 / kt + hw) * side * fx - 0.5 + pad],
            [0.0, side * fy / kt, (y0 + 0.5 / kt + hh) * side * fy - 0.5 + pad],
        ]
    )
    return cv2.warpAffine(
        src, affine, (tw, th), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )


def medium_to_camera(
    pose: Pose, points: np.ndarray, *, curvature: float = 0.0, vertical_axis: bool = True
) -> np.ndarray:
    """Project ``[N, 2]`` medium points (content units; arc lengths on a bent sheet) to camera coordinates."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if abs(curvature) < 1e-6:
        xyz = np.column_stack([pts, np.zeros(len(pts))])
    else:
        s = pts[:, 0] if vertical_axis else pts[:, 1]
        bent = np.sin(curvature * s) / curvature
        depth = -(1.0 - np.cos(curvature * s)) / curvature
        xyz = np.column_stack([bent, pts[:, 1], depth]) if vertical_axis else np.column_stack([pts[:, 0], bent, depth])
    rot = rotation_matrix(pose.yaw, pose.pitch, pose.roll)
    t = pose.distance * np.array([math.tan(math.radians(pose.off_x)), math.tan(math.radians(pose.off_y)), 1.0])
    world = xyz @ rot.T + t
    return world[:, :2] / world[:, 2:3]


def frame_crop(
    pose: Pose,
    half_size: tuple[float, float],
    view: ViewParams,
    *,
    curvature: float = 0.0,
    vertical_axis: bool = True,
) -> np.ndarray:
    """The detector's square crop ``(x0, y0, side)`` (camera coordinates) around the projected face image."""
    hw, hh = half_size
    edge = np.linspace(-1.0, 1.0, 5)
    outline = np.concatenate(
        [
            np.column_stack([edge * hw, -np.ones(5) * hh]),
            np.column_stack([edge * hw, np.ones(5) * hh]),
            np.column_stack([-np.ones(5) * hw, edge * hh]),
            np.column_stack([np.ones(5) * hw, edge * hh]),
        ]
    )
    if abs(curvature) < 1e-6:
        cam_pts = project(plane_homography(pose), outline)
    else:
        cam_pts = medium_to_camera(pose, outline, curvature=curvature, vertical_axis=vertical_axis)
    return crop_square(cam_pts, shift=view.crop_shift, scale=view.crop_scale)
