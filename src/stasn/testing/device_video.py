"""A filmed device, drawn: a phone showing an image, held in 3D in front of a camera in a room, with the camera's blur
and noise, and the exact screen quadrilateral of every frame.

Input for the tests of ``stasn templates extract`` (the truth its quads are checked against), the pictures of
``docs/collect.md`` and ``benchmarks/templates.py``. No real device or person is involved. It is not meant to look
real, only to have what matters to template extraction: a screen whose corners are known to a small fraction of a
pixel, perspective, motion between frames, a bezel, a thumb over the screen's edge, a room behind, a reflection on
the glass, blur and noise.

Coordinates: frame pixels in OpenCV's convention (pixel ``(i, j)`` centred at ``(i, j)``); the screen's panel pixels
likewise (see :mod:`stasn.synth.markers`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

from stasn.synth.geometry import project, rotation_matrix

__all__ = ["DeviceVideo", "render_device_video", "screen_homographies"]

_SUPERSAMPLE = 2  # rendered at 2x, then area-averaged: anti-aliased edges whose position stays exact
_LINEAR = ((np.arange(256) / 255.0) ** 2.2).astype(np.float32)


class DeviceVideo(NamedTuple):
    """What :func:`render_device_video` drew."""

    frames: np.ndarray  # uint8 [T, H, W, 3] RGB
    quads: np.ndarray  # float64 [T, 4, 2]: the screen's corners (clockwise from its top-left), frame pixels
    occluders: np.ndarray  # uint8 [T, H, W]: coverage (0-255) of the thumb where it lies over the screen


def screen_homographies(
    screen: tuple[int, int], size: tuple[int, int], num_frames: int, *, ppi: float, seed: int, motion: float
) -> tuple[list[np.ndarray], float]:
    """Hand-held poses of a ``screen = (W, H)`` panel filmed in a ``size = (width, height)`` frame.

    Returns:
        ``(homographies, pitch_mm)``: one ``[3, 3]`` panel pixel -> frame pixel homography per frame, and the panel's
        pixel pitch in millimetres.
    """
    rng = np.random.default_rng(seed)
    w, h = screen
    width, height = size
    pitch = 25.4 / ppi
    focal = 0.85 * width  # about 74 degrees across: a phone's or a laptop's camera
    k = np.array([[focal, 0, (width - 1) / 2], [0, focal, (height - 1) / 2], [0, 0, 1.0]])
    to_mm = np.array([[pitch, 0, (0.5 - w / 2) * pitch], [0, pitch, (0.5 - h / 2) * pitch], [0, 0, 1.0]])
    fill = rng.uniform(0.6, 0.8)
    body = np.array([w * pitch + 8.0, h * pitch + 20.0])  # bezel included, roughly
    distance = focal * max(body[0] / (fill * width), body[1] / (fill * height))
    yaw, pitch_deg, roll = rng.uniform(-25, 25), rng.uniform(-20, 20), rng.uniform(-12, 12)
    shift = rng.uniform(-0.08, 0.08, 2) * distance
    phases = rng.uniform(0, 2 * math.pi, 6)
    corners = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])
    for _ in range(20):  # move the device back until its body stays inside every frame
        out = []
        for t in range(num_frames):
            s = 2 * math.pi * t / max(num_frames, 8)  # a slow sway, about one cycle per clip
            amplitudes = (4.0, 3.0, 2.0, 0.03, 0.03, 0.04)  # degrees (yaw, pitch, roll), shares of the distance
            wobble = [motion * a * math.sin(s + p) for a, p in zip(amplitudes, phases, strict=True)]
            rot = rotation_matrix(yaw + wobble[0], pitch_deg + wobble[1], roll + wobble[2])
            z = distance * (1 + wobble[5])
            trans = np.array([shift[0] + wobble[3] * z, shift[1] + wobble[4] * z, z])
            out.append(k @ np.column_stack([rot[:, 0], rot[:, 1], trans]) @ to_mm)
        margin = 0.04 * min(width, height)
        ok = True
        for hom in out:
            quad = project(hom, corners)
            centre = quad.mean(axis=0)
            grown = centre + (quad - centre) * 1.15  # the bezel and a little room around it
            if grown.min() < margin or (grown[:, 0].max() > width - margin) or (grown[:, 1].max() > height - margin):
                ok = False
                break
        if ok:
            return out, pitch
        distance *= 1.1
        shift *= 0.8
    return out, pitch


def _encode_lut() -> np.ndarray:
    """16-bit linear -> 8-bit camera value (a 2.2 power law), as float32 ``[65536]``."""
    return ((np.arange(65536, dtype=np.float64) / 65535.0) ** (1 / 2.2) * 255.0).astype(np.float32)


def _room(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A blurred room behind the device (walls, a shelf, a window): linear light, float32 ``[height, width, 3]``."""
    small = (max(8, width // 8), max(8, height // 8))  # drawn small and blurred, then enlarged: it is out of focus
    field = rng.uniform(0.04, 0.35, (5, 8, 1)) * rng.uniform(0.7, 1.3, (1, 1, 3))
    room = cv2.resize(field.astype(np.float32), small, interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(2, 6))):
        x0, y0 = int(rng.integers(0, small[0])), int(rng.integers(0, small[1]))
        rw, rh = int(rng.integers(small[0] // 10, small[0] // 3)), int(rng.integers(small[1] // 10, small[1] // 2))
        room[y0 : y0 + rh, x0 : x0 + rw] *= rng.uniform(0.4, 2.2, 3).astype(np.float32)
    room = cv2.GaussianBlur(np.clip(room, 0.01, 1.0), (0, 0), 0.004 * small[0] + 0.7)
    return cv2.resize(room, (width, height), interpolation=cv2.INTER_LINEAR)


def _device_texture(
    screen: np.ndarray, scale: float, bezel_px: tuple[int, int, int, int], pad: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The device seen flat at ``scale`` texels per panel pixel.

    Returns:
        ``(rgb [th, tw, 3] linear, body alpha [th, tw], thumb alpha [th, tw], screen coverage [th, tw],
        texel -> panel pixel [3, 3])``.
    """
    h, w = screen.shape[:2]
    sw, sh = max(8, round(w * scale)), max(8, round(h * scale))
    left, top, right, bottom = bezel_px
    tw, th = sw + left + right + 2 * pad, sh + top + bottom + 2 * pad
    shown = cv2.resize(screen, (sw, sh), interpolation=cv2.INTER_AREA) if (sw, sh) != (w, h) else screen
    rgb = np.zeros((th, tw, 3), np.float32)
    rgb[:] = np.float32(rng.uniform(0.005, 0.03))  # a black or dark grey body, lit by the room
    x0, y0 = pad + left, pad + top
    rgb[y0 : y0 + sh, x0 : x0 + sw] = _LINEAR[shown] * np.float32(rng.uniform(0.7, 1.0))
    yy, xx = np.ogrid[0:th, 0:tw]
    radius = 0.08 * (sw + left + right)
    rect = (pad, pad, tw - pad, th - pad)
    cx, cy = (rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2
    qx = np.abs(xx + 0.5 - cx) - ((rect[2] - rect[0]) / 2 - radius)
    qy = np.abs(yy + 0.5 - cy) - ((rect[3] - rect[1]) / 2 - radius)
    sdf = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - radius
    body = np.clip(0.5 - sdf, 0, 1).astype(np.float32)
    # A thumb from the left or right edge, reaching a little over the screen (it hides the margin and may hide a
    # marker: the extraction must not take it for screen).
    side = rng.choice([-1, 1])
    ty = y0 + sh * rng.uniform(0.55, 0.85)
    tx = (x0 + sw * rng.uniform(0.06, 0.14)) if side < 0 else (x0 + sw * (1 - rng.uniform(0.06, 0.14)))
    base_x = pad - 0.3 * pad if side < 0 else tw - pad + 0.3 * pad
    thumb = np.zeros((th, tw), np.float32)
    width = 0.11 * sw
    cv2.line(thumb, (round(base_x * 16), round((ty + 0.4 * width) * 16)), (round(tx * 16), round(ty * 16)), 1.0,
             max(1, round(width)), cv2.LINE_AA, 4)  # fmt: skip
    thumb = cv2.GaussianBlur(thumb, (0, 0), 0.6)
    skin = np.array([0.55, 0.33, 0.22], np.float32) * np.float32(rng.uniform(0.25, 0.6))
    rgb = rgb * (1 - thumb[..., None]) + skin * thumb[..., None]
    to_panel = np.array([[w / sw, 0, (0.5 - x0) * w / sw - 0.5], [0, h / sh, (0.5 - y0) * h / sh - 0.5], [0, 0, 1]])
    on_screen = np.zeros((th, tw), np.float32)
    on_screen[y0 : y0 + sh, x0 : x0 + sw] = 1.0
    return rgb, np.maximum(body, thumb), thumb, on_screen, to_panel


def render_device_video(
    screen: np.ndarray,
    *,
    num_frames: int = 24,
    size: tuple[int, int] = (1280, 720),
    seed: int = 0,
    ppi: float = 400.0,
    blur: tuple[float, float] = (0.5, 1.0),
    noise: tuple[float, float] = (1.0, 3.0),
    motion: float = 1.0,
) -> DeviceVideo:
    """Film a phone showing ``screen`` (uint8 ``[H, W, 3]`` RGB, one panel pixel per image pixel).

    Args:
        num_frames: frames of the clip.
        size: ``(width, height)`` of the frames.
        seed: pose, room, thumb, light, blur and noise.
        ppi: the panel's pixel density (sets the phone's size in millimetres).
        blur: range of the camera's Gaussian blur sigma, frame pixels.
        noise: range of the sensor noise std, 8-bit levels.
        motion: amplitude of the hand's sway (1 = a few degrees and a few per cent of the distance per clip).

    Returns:
        :class:`DeviceVideo`; ``quads[t]`` are exact (the projection of the screen's corners), so blur, noise and a
        later video codec are the only things between them and what a detector can see.
    """
    if screen.dtype != np.uint8 or screen.ndim != 3 or screen.shape[2] != 3:
        raise ValueError(f"screen must be uint8 [H, W, 3] RGB, got {screen.dtype} {screen.shape}")
    rng = np.random.default_rng(seed)
    h, w = screen.shape[:2]
    width, height = size
    homs, pitch = screen_homographies((w, h), size, num_frames, ppi=ppi, seed=seed, motion=motion)
    corners = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])
    quads = np.stack([project(hm, corners) for hm in homs])
    # Texture resolution: about two texels per supersampled frame pixel (a mipmap level, so the warp never aliases).
    longest = max(float(np.linalg.norm(q[2] - q[1])) for q in quads)  # projected screen height, frame px
    scale = min(1.0, 2.0 * _SUPERSAMPLE * longest / h)
    bezel_mm = (rng.uniform(1.5, 4), rng.uniform(6, 12), rng.uniform(1.5, 4), rng.uniform(6, 12))
    bezel = tuple(max(1, round(mm / pitch * scale)) for mm in bezel_mm)
    pad = round(0.25 * w * scale)
    tex, body, thumb, on_screen, to_panel = _device_texture(screen, scale, bezel, pad, rng)  # type: ignore[arg-type]
    big = (width * _SUPERSAMPLE, height * _SUPERSAMPLE)
    room = _room(rng, *big)
    up = np.array([[_SUPERSAMPLE, 0, 0.5 * (_SUPERSAMPLE - 1)], [0, _SUPERSAMPLE, 0.5 * (_SUPERSAMPLE - 1)], [0, 0, 1]])
    glare, glare_dir = rng.uniform(0.0, 0.06), rng.uniform(-1, 1, 2) / (0.3 * big[0])
    sigma, std = rng.uniform(*blur), rng.uniform(*noise)
    gain = 0.85 / max(float(tex.max()), 1e-3)  # exposure: the screen's white just below saturation
    premultiplied = tex * body[..., None]
    alphas = np.dstack([body, on_screen, thumb])
    th, tw = tex.shape[:2]
    outline = np.array([[-0.5, -0.5], [tw - 0.5, -0.5], [tw - 0.5, th - 0.5], [-0.5, th - 0.5]])
    encode = _encode_lut()
    room_out = cv2.resize(room, size, interpolation=cv2.INTER_AREA)
    frames, occluders = [], []
    for t, hom in enumerate(homs):
        to_big = up @ hom @ to_panel
        # Draw only inside the device's bounding box, on a grid aligned with the output pixels (the rest of the
        # frame is the room, area-averaged once).
        box = project(to_big, outline)
        x0, y0 = (max(0, (int(math.floor(v)) - 2) // _SUPERSAMPLE * _SUPERSAMPLE) for v in box.min(axis=0))
        x1 = min(big[0], -(-(int(math.ceil(box[:, 0].max())) + 3) // _SUPERSAMPLE) * _SUPERSAMPLE)
        y1 = min(big[1], -(-(int(math.ceil(box[:, 1].max())) + 3) // _SUPERSAMPLE) * _SUPERSAMPLE)
        shifted = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1.0]]) @ to_big
        rgb = cv2.warpPerspective(premultiplied, shifted, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
        alpha, on, thumb_cov = cv2.split(cv2.warpPerspective(alphas, shifted, (x1 - x0, y1 - y0)))
        yy, xx = np.ogrid[y0:y1, x0:x1]
        sheen = np.float32(glare) * (0.5 + 0.5 * np.sin(xx * glare_dir[0] + yy * glare_dir[1])).astype(np.float32)
        region = room[y0:y1, x0:x1] * (1 - alpha[..., None]) + rgb + (sheen * on * (1 - thumb_cov))[..., None]
        small = (x0 // _SUPERSAMPLE, y0 // _SUPERSAMPLE, x1 // _SUPERSAMPLE, y1 // _SUPERSAMPLE)
        image = room_out.copy()
        image[small[1] : small[3], small[0] : small[2]] = cv2.resize(
            region, (small[2] - small[0], small[3] - small[1]), interpolation=cv2.INTER_AREA
        )
        if sigma > 0.3:
            image = cv2.GaussianBlur(image, (0, 0), sigma)
        encoded = encode[np.clip(image * (gain * 65535.0), 0, 65535).astype(np.uint16)]
        noisy = encoded + np.random.default_rng([seed, t]).standard_normal(encoded.shape, np.float32) * np.float32(std)
        frames.append(np.clip(noisy + 0.5, 0, 255).astype(np.uint8))
        cover = np.zeros((height, width), np.uint8)
        occ = cv2.resize(thumb_cov * on, (small[2] - small[0], small[3] - small[1]), interpolation=cv2.INTER_AREA)
        cover[small[1] : small[3], small[0] : small[2]] = np.clip(occ * 255 + 0.5, 0, 255).astype(np.uint8)
        occluders.append(cover)
    return DeviceVideo(np.stack(frames), quads, np.stack(occluders))
