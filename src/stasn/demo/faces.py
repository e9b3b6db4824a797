"""Procedural live faces for the demo: webcam-like clips of synthetic people, drawn with numpy + OpenCV only.

``make demo`` must run the whole pipeline on a fresh machine with no downloads, so the live class is rendered here.
The faces are not photoreal; they are a believable face layout (skin texture, soft shading, eyes that blink, hair,
glasses, clothes, a room behind) seen through a simulated webcam (white balance, vignetting, blur, sensor noise)::

    rng = np.random.default_rng(0)
    who = sample_identity(rng)
    frames, boxes = render_clip(who, num_frames=16, size=256, rng=rng)  # uint8 [16, 256, 256, 3] RGB, float [16, 4]

How a clip is made:

1. once per clip the person is painted into a *head canvas* in face-centred pixels: premultiplied albedo, alpha,
   surface normals, specular strength and a smooth depth map (head, hair, neck and shoulders);
2. per frame the eyes are repainted (blinks, gaze), the canvas is shaded (wrapped Lambert + Blinn-Phong, the light
   rotated into head coordinates) and warped into the frame by a depth-dependent remap that approximates yaw and
   pitch, followed by roll, scale and translation;
3. the head is composited over a room, then the camera acts: exposure, white balance, vignetting, lens blur, shot +
   read noise (per-pixel luma, coarser chroma), a tone curve and, for some cameras, sharpening.

Coordinates: x right, y down, z towards the camera. ``b`` is half the face height (hairline to chin), ``a`` half the
face width; facial proportions are multiples of them. Random draws come from the caller's ``np.random.Generator``
(everything that varies per clip) or from ``FaceIdentity.texture_seed`` (details that stay the same across the clips
of one person: skin texture, moles, freckles, hair strands), so output is deterministic for a seeded generator.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from stasn.demo._backdrop import _Camera, _hsv, _room
from stasn.demo._painter import _ellipse, _Eye, _Head, _lines, _Painter, _poly
from stasn.demo.identity import (
    FACIAL_HAIR,
    GLASSES_STYLES,
    HAIR_STYLES,
    SKIN_TONES,
    FaceIdentity,
    sample_identity,
)

__all__ = [
    "FaceIdentity",
    "HAIR_STYLES",
    "GLASSES_STYLES",
    "FACIAL_HAIR",
    "SKIN_TONES",
    "sample_identity",
    "render_clip",
]

# -------------------------------------------------------------------------------------------- per-frame steps


def _draw_eye(
    eye: _Eye, lash_rgb: np.ndarray, openness: float, gaze: tuple[float, float], light_x: float
) -> np.ndarray:
    """The eye patch (premultiplied albedo) with the lids at ``openness`` (1 open, 0 closed) and the iris offset by
    ``gaze`` (fractions of the eye half width)."""
    assert eye.base is not None
    patch = eye.base.copy()
    shape = patch.shape[:2]
    cx, cy = eye.cx - eye.box[0], eye.cy - eye.box[1]
    u = np.linspace(-1.0, 1.0, 17)
    f_up = (1 - u**2) ** 0.7 * (1.0 - 0.18 * u * eye.outer)  # the upper lid peaks nearer the inner corner
    f_lo = (1 - u**2) ** 0.8 * (1.0 + 0.15 * u * eye.outer)
    closed = eye.hl * 0.45 * f_lo  # where the lids meet
    upper = closed + (-eye.hu * f_up - closed) * openness
    lower = eye.hl * f_lo * (0.85 + 0.15 * openness)
    x = cx + u * eye.w
    lift = cy - eye.tilt * u * eye.w * eye.outer
    up_pts, lo_pts = np.stack([x, lift + upper], 1), np.stack([x, lift + lower], 1)
    if openness > 0.04:
        ap_sl, ap = _poly(shape, np.concatenate([up_pts, lo_pts[::-1]]))
        ball = np.empty(shape + (3,), np.float32)
        ball[:] = (0.84, 0.8, 0.78)
        ix, iy = cx + gaze[0] * eye.w * 0.35, cy + gaze[1] * eye.w * 0.2 + 0.05 * eye.w
        r = eye.iris_r
        catch = _ellipse(ix - 0.35 * r * (1 + light_x), iy - 0.35 * r, 0.2 * r, 0.2 * r, n=12)
        for pts, colour in (
            (_ellipse(ix, iy, r, r, n=24), eye.iris_rgb * 0.55),  # limbal ring
            (_ellipse(ix, iy, 0.8 * r, 0.8 * r, n=24), eye.iris_rgb),
            (_ellipse(ix, iy, 0.42 * r, 0.42 * r, n=16), np.float32([0.03, 0.03, 0.03])),  # pupil
            (catch, np.float32([1.3, 1.3, 1.3])),  # catchlight (over-bright: the shading dims it)
        ):
            sl, m = _poly(shape, pts)
            ball[sl] += (colour - ball[sl]) * m[..., None]
        sl, m = _lines(shape, [up_pts], 0.5 * eye.hu, blur=0.25 * eye.hu + 0.3)  # the upper lid's shadow
        ball[sl] *= 1.0 - 0.35 * m[..., None]
        patch[ap_sl] += (ball[ap_sl] - patch[ap_sl]) * ap[..., None]
        sl, m = _lines(shape, [lo_pts], 1, alpha=0.3)
        patch[sl] *= 1.0 - 0.25 * m[..., None]
    sl, m = _lines(shape, [up_pts], eye.w * 0.14, alpha=0.9)  # lash line
    patch[sl] += (lash_rgb - patch[sl]) * m[..., None]
    if eye.glasses_a is not None:
        patch = patch * (1.0 - eye.glasses_a) + eye.glasses_rgb
    return patch


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Head rotation, camera <- head: yaw about y, then pitch about x, then roll in the image plane (radians)."""
    cy, sy, cp, sp, cr, sr = (f(v) for v in (yaw, pitch, roll) for f in (math.cos, math.sin))
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rz @ rx @ ry


_WRAP = np.array([0.45, 0.3, 0.25])  # red light wraps further into the shadow: skin scatters it below the surface


def _shade(head: _Head, eyes: list[np.ndarray], rot: np.ndarray, light: np.ndarray, lighting: dict) -> np.ndarray:
    """Shaded premultiplied colour [Hc, Wc, 3]: ambient + wrapped Lambert + Blinn-Phong highlights, with the
    camera-space ``light`` (unit) rotated into head space. ``eyes`` are this frame's eye patches."""
    l_head = rot.T @ light
    key, ambient = lighting["key"], lighting["ambient"]
    # per channel c: ambient_c + key_c * max(0, (n.l + wrap_c) / (1 + wrap_c)), as one affine transform + one max
    m = np.zeros((3, 4), np.float32)
    m[:, :3] = key[:, None] * l_head[None, :] / (1.0 + _WRAP[:, None])
    m[:, 3] = ambient + key * _WRAP / (1.0 + _WRAP)
    shade = cv2.transform(head.normals, m)
    np.maximum(shade, ambient.min(), out=shade)  # below the terminator only ambient light is left
    out = head.rgb * shade
    for eye, patch in zip(head.eyes, eyes, strict=True):
        x0, y0, x1, y1 = eye.box
        out[y0:y1, x0:x1] = patch * shade[y0:y1, x0:x1]
    half = rot.T @ (light + np.array([0.0, 0.0, 1.0]))
    ndh = cv2.transform(head.normals[head.spec_box], (half / np.linalg.norm(half)).astype(np.float32)[None])
    ndh = cv2.pow(np.maximum(ndh, 0.0), 16) * head.spec[head.spec_box]
    out[head.spec_box] += ndh[..., None] * key.astype(np.float32)
    return out


def _warp_maps(
    head: _Head, grid: tuple[np.ndarray, np.ndarray], pose: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse maps frame px -> canvas px for pose (yaw, pitch, roll, scale, tx, ty). Undo translation, scale and
    roll, then yaw/pitch to first order: a point at depth z moves by z sin(angle), so its source is
    x = (x' - z sin(yaw)) / cos(yaw), with z read at the target (exact for z constant, close for a smooth z)."""
    yaw, pitch, roll, s, tx, ty = pose
    ox, oy = head.origin
    px, py = (grid[0] - tx) / s, (grid[1] - ty) / s
    cr, sr = math.cos(roll), math.sin(roll)
    xr, yr = cr * px + sr * py, cr * py - sr * px
    z = cv2.remap(head.depth, xr + ox, yr + oy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return (xr - z * math.sin(yaw)) / math.cos(yaw) + ox, (yr + z * math.sin(pitch)) / math.cos(pitch) + oy


def _face_box(head: _Head, pose: tuple[float, ...], w: int, h: int) -> np.ndarray:
    """Forward-project the face oval (the inverse of :func:`_warp_maps`) and return its clipped bounding box."""
    yaw, pitch, roll, s, tx, ty = pose
    ox, oy = head.origin
    pts = head.outline
    rows = np.clip(np.round(pts[:, 1] + oy).astype(int), 0, head.depth.shape[0] - 1)
    cols = np.clip(np.round(pts[:, 0] + ox).astype(int), 0, head.depth.shape[1] - 1)
    z = head.depth[rows, cols]
    xr = pts[:, 0] * math.cos(yaw) + z * math.sin(yaw)
    yr = pts[:, 1] * math.cos(pitch) - z * math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    u, v = s * (cr * xr - sr * yr) + tx, s * (sr * xr + cr * yr) + ty
    return np.array(
        [np.clip(u.min(), 0, w), np.clip(v.min(), 0, h), np.clip(u.max(), 0, w), np.clip(v.max(), 0, h)], np.float32
    )


# --------------------------------------------------------------------------------------------- clip planning


def _track(
    rng: np.random.Generator, n: int, fps: float, std: float, *, fmin: float = 0.05, fmax: float = 0.6
) -> np.ndarray:
    """Smooth random motion [n]: three sinusoids (``fmin``..``fmax`` Hz) plus a low-passed tremor; std ~ ``std``."""
    t = np.arange(n) / fps
    f, phase, amp = rng.uniform(fmin, fmax, 3), rng.uniform(0, 2 * np.pi, 3), rng.uniform(0.4, 1.0, 3)
    x = (amp[:, None] * np.sin(2 * np.pi * f[:, None] * t + phase[:, None])).sum(0) / math.sqrt(0.5 * (amp**2).sum())
    tremor = cv2.GaussianBlur(rng.standard_normal((1, n + 24)), (0, 0), sigmaX=2.5).ravel()
    return std * (x + 0.25 * tremor[12 : 12 + n] / (tremor.std() + 1e-9))


def _blinks(rng: np.random.Generator, n: int, fps: float) -> np.ndarray:
    """Eyelid openness [n] in 0..1. Blinks start within the first 2 s and then every ~1.5-6 s; a blink closes over
    70-110 ms (2-3 frames at 25 fps), may hold up to 50 ms, then reopens over 120-220 ms; one in ten is partial."""
    t = np.arange(n) / fps
    openness = np.ones(n)
    start = rng.uniform(0.15, 2.0)
    while start < t[-1] + 0.1:
        close, hold, reopen = rng.uniform(0.07, 0.11), rng.uniform(0.0, 0.05), rng.uniform(0.12, 0.22)
        depth = 1.0 if rng.random() > 0.1 else rng.uniform(0.5, 0.8)
        knots = start + np.array([0.0, close, close + hold, close + hold + reopen])
        openness = np.minimum(openness, 1.0 - depth * np.interp(t, knots, [0.0, 1.0, 1.0, 0.0]))
        start = knots[-1] + 1.0 + rng.gamma(2.0, 1.1)
    return openness


def _gaze(rng: np.random.Generator, n: int, fps: float) -> np.ndarray:
    """Iris offset [n, 2] (fractions of the eye half width): fixations broken by quick saccades."""
    out = np.zeros((n, 2))
    cur, t_next = rng.normal(0.0, 0.25, 2), rng.uniform(0.3, 1.5)
    for k in range(n):
        if k / fps >= t_next:
            cur = np.clip(0.3 * cur + rng.normal(0.0, 0.3, 2), -0.6, 0.6)
            t_next += rng.uniform(0.4, 2.0)
        out[k] = cur
    out[1:] = 0.5 * out[1:] + 0.5 * out[:-1]  # a saccade spans about one frame
    return out


# ------------------------------------------------------------------------------------------------- the clip


def _frame_size(size: int | tuple[int, int]) -> tuple[int, int]:
    h, w = (size, size) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    if h < 32 or w < 32:
        raise ValueError(f"size must be at least 32 x 32 px, got {h} x {w}")
    if w < 0.6 * h:
        raise ValueError(f"frame too narrow for a face: width {w} < 0.6 x height {h}; use a wider size")
    return int(h), int(w)


def render_clip(
    identity: FaceIdentity,
    *,
    num_frames: int,
    size: int | tuple[int, int],
    rng: np.random.Generator,
    fps: float = 25.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Render a webcam-like clip of ``identity``: head pose drift, blinks, lighting, a room behind, camera effects.

    Args:
        identity: the person (see :func:`sample_identity`).
        num_frames: T >= 1.
        size: frame side in px, or (height, width); at least 32.
        rng: draws everything that varies per clip (placement, motion, blinks, gaze, light, room, clothes, camera,
            per-frame noise); the same seeded generator gives the same clip.
        fps: frame rate that motion and blink timing are laid out for.

    Returns:
        ``(frames, boxes)``: frames ``np.ndarray[T, H, W, 3]`` uint8 RGB; boxes ``np.ndarray[T, 4]`` float32
        ``x1, y1, x2, y2`` in frame px of the face oval (hairline to chin, cheek to cheek; ears and hair
        excluded), clipped to the frame.
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    h, w = _frame_size(size)
    n = num_frames

    # placement: face oval 34-48 % of the frame height (less in a narrow frame), a little above the middle
    b = rng.uniform(0.17, 0.24) * min(h, 1.25 * w)
    a = b * identity.face_width
    track = _track
    motion = {  # radians, px, and a scale factor around 1
        "yaw": math.radians(rng.normal(0, 4)) + track(rng, n, fps, math.radians(rng.uniform(1.5, 6))),
        "pitch": math.radians(rng.normal(0, 3)) + track(rng, n, fps, math.radians(rng.uniform(1, 4))),
        "roll": math.radians(rng.normal(0, 2)) + track(rng, n, fps, math.radians(rng.uniform(0.7, 3))),
        "scale": 1.0 + track(rng, n, fps, rng.uniform(0.003, 0.02), fmax=0.3),
        "tx": w / 2
        + float(np.clip(rng.normal(0, 0.04), -0.08, 0.08)) * w
        + track(rng, n, fps, rng.uniform(0.004, 0.02) * h),
        "ty": h * rng.uniform(0.42, 0.5) + track(rng, n, fps, rng.uniform(0.004, 0.015) * h),
    }
    for key, limit in (("yaw", 0.26), ("pitch", 0.17), ("roll", 0.12)):  # stay within ~15, 10, 7 degrees
        motion[key] = np.clip(motion[key], -limit, limit)
    s_min = float(motion["scale"].min())
    # the canvas must cover every frame px the person can reach; sin(7 deg) of the other side allows for the roll
    reach = (max(float(motion["tx"].max()), w - float(motion["tx"].min())) + 0.13 * h) / s_min + 2
    extent = (min(3.8 * a, reach), (h - float(motion["ty"].min()) + 0.13 * w) / s_min + 2)
    clip = {
        "shirt_rgb": _hsv(rng.uniform(0, 180), rng.uniform(0, 200), rng.uniform(35, 235)),
        "pattern": str(rng.choice(["solid", "solid", "solid", "stripes", "checks"])),
        "neckline": float(rng.uniform(0.1, 0.45)),
        "seed": int(rng.integers(2**31)),
    }
    head = _Painter(identity, b, extent, clip).paint()

    # lighting: a key light from the front hemisphere, above more often than not, drifting slowly
    key_dir = np.array([rng.uniform(-0.9, 0.9), rng.uniform(-0.9, 0.0), 1.0])
    temperature = rng.uniform(-1, 1)
    lighting = {
        "key": np.array([1.0 + 0.08 * temperature, 1.0, 1.0 - 0.12 * temperature]) * rng.uniform(0.5, 0.8),
        "ambient": np.array([1.0 - 0.03 * temperature, 1.0, 1.0 + 0.04 * temperature]) * rng.uniform(0.25, 0.4),
    }
    light_x = track(rng, n, fps, 0.05, fmax=0.15)
    exposure = 1.0 + track(rng, n, fps, 0.01, fmax=0.2)
    blinks = np.clip(_blinks(rng, n, fps) * (1.0 + track(rng, n, fps, 0.04, fmax=0.3)), 0.0, 1.0)
    gaze = _gaze(rng, n, fps)
    room = _room(h, w, rng) * np.float32((lighting["ambient"].mean() + 0.8 * lighting["key"].mean()) / 0.9)
    camera = _Camera(rng, h, w)

    frames = np.empty((n, h, w, 3), np.uint8)
    boxes = np.empty((n, 4), np.float32)
    grid = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    for k in range(n):
        pose = tuple(float(motion[key][k]) for key in ("yaw", "pitch", "roll", "scale", "tx", "ty"))
        yaw, pitch = pose[0], pose[1]
        # 1. eyes: lids and iris; the gaze partly counter-rotates the head (people keep looking at the screen)
        gaze_k = (gaze[k, 0] - 1.5 * yaw, gaze[k, 1] + pitch)
        eyes = [_draw_eye(e, head.lash_rgb, float(blinks[k]), gaze_k, float(key_dir[0])) for e in head.eyes]
        # 2. light, rotated into head coordinates
        light = key_dir + (light_x[k], 0.0, 0.0)
        shaded = _shade(head, eyes, _rotation(*pose[:3]), light / np.linalg.norm(light), lighting)
        # 3. warp into the frame, composite over the room, camera
        map_x, map_y = _warp_maps(head, grid, pose)
        rgba = cv2.remap(
            np.dstack([shaded, head.alpha]), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
        img = rgba[..., :3] + room * (1.0 - rgba[..., 3:])
        frames[k] = camera(img, float(exposure[k]), rng)
        boxes[k] = _face_box(head, pose, w, h)
    return frames, boxes
