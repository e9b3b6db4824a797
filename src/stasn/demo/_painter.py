"""Painting one procedural person into a head canvas (albedo, alpha, normals, specular, depth), once per clip.

Private to :mod:`stasn.demo.faces`; see its docstring for the whole rendering model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from stasn.demo.identity import _HAIR_VOLUME, _PARTS, FaceIdentity

# ------------------------------------------------------------------------------------------ drawing primitives
# OpenCV anti-aliases only 8-bit images, so shapes are drawn as uint8 masks on a patch around the shape (sub-pixel
# vertices via `shift`) and blended into float layers. A mask is (slices into the canvas, float32 patch in 0..1).

_SHIFT = 4
_Mask = tuple[tuple[slice, slice], np.ndarray]
_EMPTY: _Mask = ((slice(0, 0), slice(0, 0)), np.zeros((0, 0), np.float32))


def _box(shape: tuple[int, int], pts: np.ndarray, margin: float) -> tuple[int, int, int, int] | None:
    """Integer x0, y0, x1, y1 around ``pts`` ([N, 2] px) plus ``margin``, clipped to ``shape``; None if empty."""
    x0 = max(int(math.floor(pts[:, 0].min() - margin)), 0)
    y0 = max(int(math.floor(pts[:, 1].min() - margin)), 0)
    x1 = min(int(math.ceil(pts[:, 0].max() + margin)) + 1, shape[1])
    y1 = min(int(math.ceil(pts[:, 1].max() + margin)) + 1, shape[0])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _draw(shape: tuple[int, int], curves: list[np.ndarray], thickness: int, blur: float, alpha: float) -> _Mask:
    """Anti-aliased mask of filled polygons (``thickness`` 0) or open polylines (``thickness`` px)."""
    box = _box(shape, np.concatenate(curves), 3 * blur + thickness + 2) if curves else None
    if box is None:
        return _EMPTY
    x0, y0, x1, y1 = box
    patch = np.zeros((y1 - y0, x1 - x0), np.uint8)
    fixed = [np.round((np.asarray(c) - (x0, y0)) * (1 << _SHIFT)).astype(np.int32) for c in curves]
    if thickness:
        cv2.polylines(patch, fixed, False, 255, thickness, cv2.LINE_AA, _SHIFT)
    else:
        cv2.fillPoly(patch, fixed, 255, cv2.LINE_AA, _SHIFT)
    mask = patch.astype(np.float32) * (alpha / 255.0)
    if blur > 0:
        mask = cv2.GaussianBlur(mask, (0, 0), blur)
    return (slice(y0, y1), slice(x0, x1)), mask


def _poly(shape: tuple[int, int], pts: np.ndarray, *, blur: float = 0.0, alpha: float = 1.0) -> _Mask:
    """Filled polygon ``pts`` ([N, 2] canvas px) as an anti-aliased mask, Gaussian-blurred by ``blur`` px."""
    return _draw(shape, [pts], 0, blur, alpha)


def _lines(shape, curves: list[np.ndarray], thickness: float, *, blur: float = 0.0, alpha: float = 1.0) -> _Mask:
    """Open polylines ([N, 2] canvas px each), ``thickness`` px (at least 1), as one anti-aliased mask."""
    return _draw(shape, curves, max(1, round(thickness)), blur, alpha)


def _ellipse(cx: float, cy: float, rx: float, ry: float, angle: float = 0.0, n: int = 48) -> np.ndarray:
    """[n, 2] points of an ellipse rotated by ``angle`` radians."""
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    x, y = rx * np.cos(t), ry * np.sin(t)
    c, s = math.cos(angle), math.sin(angle)
    return np.stack([cx + c * x - s * y, cy + s * x + c * y], axis=1)


def _gauss(shape: tuple[int, int], cx: float, cy: float, sx: float, sy: float, amp: float = 1.0) -> _Mask:
    """An axis-aligned 2-D Gaussian bump (peak ``amp``) on a patch of +-3 sigma."""
    box = _box(shape, np.array([[cx - 3 * sx, cy - 3 * sy], [cx + 3 * sx, cy + 3 * sy]]), 0)
    if box is None:
        return _EMPTY
    x0, y0, x1, y1 = box
    gx = np.exp(-0.5 * ((np.arange(x0, x1, dtype=np.float32) - cx) / sx) ** 2)
    gy = np.exp(-0.5 * ((np.arange(y0, y1, dtype=np.float32) - cy) / sy) ** 2)
    return (slice(y0, y1), slice(x0, x1)), (amp * gy[:, None] * gx[None, :]).astype(np.float32)


class _Layers:
    """A canvas being painted: premultiplied albedo, alpha, normals and specular strength ([H, W] each)."""

    def __init__(self, height: int, width: int) -> None:
        self.shape = (height, width)
        self.rgb = np.zeros((height, width, 3), np.float32)
        self.alpha = np.zeros((height, width), np.float32)
        self.normals = np.zeros((height, width, 3), np.float32)
        self.spec = np.zeros((height, width), np.float32)

    def paint(self, mask: _Mask, colour, *, normals: np.ndarray | None = None, spec: float | None = None) -> None:
        """Composite ``colour`` (an RGB triple or a full-canvas [H, W, 3] texture) over the canvas through ``mask``;
        ``normals`` ([H, W, 3] or one [3] vector) and ``spec`` go along where given."""
        sl, m = mask
        if m.size == 0:
            return
        col = colour[sl] if isinstance(colour, np.ndarray) and colour.ndim == 3 else np.asarray(colour, np.float32)
        m3 = m[..., None]
        self.rgb[sl] += (col - self.rgb[sl]) * m3
        self.alpha[sl] += (1.0 - self.alpha[sl]) * m
        if normals is not None:  # a full-canvas normal map, or one normal for the whole shape
            nrm = normals[sl] if normals.ndim == 3 else normals.astype(np.float32)
            self.normals[sl] += (nrm - self.normals[sl]) * m3
        if spec is not None:
            self.spec[sl] += (spec - self.spec[sl]) * m

    def tint(self, mask: _Mask, factor) -> None:
        """Multiply the albedo by ``factor`` (scalar or RGB) where the mask is 1 (creases, shadows, redness)."""
        sl, m = mask
        if m.size:
            self.rgb[sl] *= 1.0 + (np.asarray(factor, np.float32) - 1.0) * m[..., None]

    def add_spec(self, mask: _Mask) -> None:
        sl, m = mask
        if m.size:
            self.spec[sl] += m * self.alpha[sl]


def _normals_from_depth(depth: np.ndarray) -> np.ndarray:
    """Unit normals [H, W, 3] of a depth map z(x, y) in px (z towards the camera)."""
    gx = cv2.Sobel(depth, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(depth, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    n = np.dstack([-gx, -gy, np.ones_like(depth)])
    return n / np.linalg.norm(n, axis=2, keepdims=True)


def _cylinder_normals(xs: np.ndarray, radius: float, height: int, tilt_y: float = 0.0) -> np.ndarray:
    """Normals [H, W, 3] of an upright cylinder of ``radius`` px around x = 0 (``xs`` = x of each column)."""
    nx = np.clip(xs / radius, -0.95, 0.95).astype(np.float32)
    n = np.stack([nx, np.full_like(nx, tilt_y), np.sqrt(1.0 - nx**2)], axis=1)
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    return np.ascontiguousarray(np.broadcast_to(n[None], (height, len(xs), 3)))


# ------------------------------------------------------------------------------------------- painting a person


def _face_outline(a: float, b: float, who: FaceIdentity, n: int = 96) -> np.ndarray:
    """Face oval [n, 2] in face coordinates: elliptic forehead, superellipse jaw narrowing to the chin."""
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    e = 2.0 / who.jaw_squareness
    lower = s > 0
    x = np.where(lower, np.sign(c) * np.abs(c) ** e, c) * a
    y = np.where(lower, np.abs(s) ** e, s) * b
    x = x * np.where(lower, 1.0 - who.chin_taper * (y / b) ** 2, 1.0)
    return np.stack([x, y], axis=1)


@dataclass
class _Eye:
    """One eye in canvas px. Redrawn every frame over ``base`` (the canvas under the eye, before the glasses)."""

    cx: float
    cy: float
    w: float  # half width
    hu: float  # upper lid height above the centre, fully open
    hl: float  # lower lid depth below the centre
    tilt: float
    outer: int  # +1 when the outer corner is at +x
    iris_r: float
    iris_rgb: np.ndarray
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the redrawn patch
    base: np.ndarray | None = None  # [h, w, 3] premultiplied albedo under the eye
    glasses_rgb: np.ndarray | None = None  # premultiplied glasses over the patch
    glasses_a: np.ndarray | None = None


@dataclass
class _Head:
    """A painted person: canvas layers plus what the per-frame steps need."""

    rgb: np.ndarray  # [Hc, Wc, 3] premultiplied albedo, 0..1
    alpha: np.ndarray  # [Hc, Wc]
    normals: np.ndarray  # [Hc, Wc, 3] unit, head coordinates
    spec: np.ndarray  # [Hc, Wc] premultiplied specular strength
    spec_box: tuple[slice, slice]  # where spec > 0
    depth: np.ndarray  # [Hc, Wc] smooth depth in px, drives the yaw/pitch warp
    origin: tuple[float, float]  # canvas px of the face centre
    outline: np.ndarray  # [N, 2] face oval, face coordinates px
    eyes: list[_Eye]
    lash_rgb: np.ndarray


class _Painter:
    """Paints one person into a canvas; ``P`` maps face coordinates to canvas px. Parts run in back-to-front order."""

    def __init__(self, who: FaceIdentity, b: float, extent: tuple[float, float], clip: dict) -> None:
        self.who, self.b, self.a, self.clip = who, b, b * who.face_width, clip
        self.hair_v = _HAIR_VOLUME.get(who.hair_style, 0.0) * who.hair_volume * self.a  # hair thickness, px
        half_w, bottom = extent
        top = 1.1 * (1.35 * b + 1.3 * self.hair_v) + 2  # the top of the (ragged) hair outline
        self.ox, self.oy, self.bottom = half_w, top, bottom
        self.layers = _Layers(int(math.ceil(top + bottom)) + 1, int(math.ceil(2 * half_w)) + 1)
        self.shape = self.layers.shape
        # one stream per part, so that a part's draws (mole positions, brow hairs, the hair parting) do not shift
        # with the size-dependent draws of another (noise images): the same person looks the same in every clip
        streams = np.random.SeedSequence(who.texture_seed).spawn(len(_PARTS))
        self.rng = {part: np.random.default_rng(seq) for part, seq in zip(_PARTS, streams, strict=True)}
        self.clip_rng = np.random.default_rng(clip["seed"])  # clothes change from clip to clip
        self.px = b / 100.0  # canvas px per 1/100 face half-height: detail sizes scale with it
        self.xs = np.arange(self.shape[1], dtype=np.float32) - self.ox
        self.ey = who.eye_y * b
        self.ex, self.ew = who.eye_spacing * self.a, who.eye_size * self.a
        self.nose_y = self.ey + who.nose_length * b
        self.mouth_y = self.nose_y + who.mouth_gap * b
        self.outline = _face_outline(self.a, b, who)
        self.scalp = _ellipse(0, -0.15 * b, self.a * 1.03, b * 1.2)
        self.skin = _skin_texture(self.shape, self.rng["skin"], np.asarray(who.skin_rgb, np.float32), self.px)

    def P(self, pts) -> np.ndarray:
        return np.asarray(pts, np.float64) + (self.ox, self.oy)

    def paint(self) -> _Head:
        depth, head_mask = self._head_depth()
        head_normals = _normals_from_depth(cv2.GaussianBlur(depth, (0, 0), max(1.0, 0.03 * self.a)))
        self._body()
        if self.who.hair_style == "long":
            self._back_hair()
        self._neck_and_ears()
        L = self.layers
        face = _poly(self.shape, self.P(self.outline), blur=0.5)
        L.paint(_poly(self.shape, self.P(self.scalp), blur=0.5), self.skin, normals=head_normals, spec=0.08)
        L.paint(face, self.skin, normals=head_normals, spec=0.06)
        self._skin_detail()
        if self.who.facial_hair != "none":
            self._facial_hair()
        eyes = [self._eye_surround(side) for side in (-1, 1)]
        for side in (-1, 1):
            self._brow(side)
            self._nose_side(side)
        self._mouth()
        hair_depth = self._hair()
        for eye in eyes:  # the eye patches are cut before the glasses, which go over everything
            x0, y0, x1, y1 = eye.box
            eye.base = L.rgb[y0:y1, x0:x1].copy()
        if self.who.glasses != "none":
            g = self._glasses(eyes)
            L.rgb = L.rgb * (1.0 - g.alpha[..., None]) + g.rgb
            L.alpha = L.alpha * (1.0 - g.alpha) + g.alpha
            for eye in eyes:
                x0, y0, x1, y1 = eye.box
                eye.glasses_rgb, eye.glasses_a = g.rgb[y0:y1, x0:x1], g.alpha[y0:y1, x0:x1, None]
        warp_depth = cv2.GaussianBlur(np.maximum(depth * head_mask, hair_depth), (0, 0), max(1.0, 0.06 * self.a))
        normals = L.normals / np.maximum(np.linalg.norm(L.normals, axis=2, keepdims=True), 1e-6)
        normals[L.alpha < 1e-3] = (0.0, 0.0, 1.0)
        ys, xs = np.nonzero(L.spec > 1e-3)
        spec_box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        return _Head(
            rgb=L.rgb,
            alpha=np.clip(L.alpha, 0.0, 1.0),
            normals=np.ascontiguousarray(normals, dtype=np.float32),
            spec=L.spec,
            spec_box=spec_box,
            depth=warp_depth.astype(np.float32),
            origin=(self.ox, self.oy),
            outline=self.outline,
            eyes=eyes,
            lash_rgb=(np.minimum(np.asarray(self.who.hair_rgb) * 0.5, 0.08) + 0.02).astype(np.float32),
        )

    def _head_depth(self) -> tuple[np.ndarray, np.ndarray]:
        """Depth [Hc, Wc] (px) of face + scalp: a rounded profile from the distance to the outline, plus bumps for
        nose, brow ridge, cheekbones, lips and chin, and hollows for the eye sockets. Also the 0/1 head mask."""
        a, b, who = self.a, self.b, self.who
        mask = np.zeros(self.shape, np.uint8)
        for pts in (self.outline, self.scalp):
            cv2.fillPoly(mask, [np.round(self.P(pts)).astype(np.int32)], 255)
        u = np.clip(cv2.distanceTransform(mask, cv2.DIST_L2, 5) / a, 0.0, 1.0)
        depth = 0.95 * a * np.sqrt(2 * u - u * u)
        yy = (np.arange(self.shape[0], dtype=np.float32) - self.oy)[:, None]
        depth -= 0.12 * a * (yy / b) ** 2 * (mask > 0)  # forehead and chin recede
        ey, nose_y, nw = self.ey, self.nose_y, who.nose_width * a
        bumps = [  # x, y, sigma x, sigma y, height (face coordinates, px)
            (0, nose_y - 0.08 * b, 0.1 * a, 0.09 * b, 0.26 * a),  # nose tip
            (0, (ey + nose_y) / 2, 0.07 * a, 0.22 * b, 0.2 * a),  # nose ridge
            (-0.8 * nw, nose_y - 0.03 * b, 0.08 * a, 0.06 * b, 0.08 * a),  # alar wings
            (0.8 * nw, nose_y - 0.03 * b, 0.08 * a, 0.06 * b, 0.08 * a),
            (-self.ex, ey, 0.22 * a, 0.12 * b, -0.12 * a),  # eye sockets
            (self.ex, ey, 0.22 * a, 0.12 * b, -0.12 * a),
            (0, ey - who.brow_gap * b, 0.7 * a, 0.08 * b, 0.05 * a),  # brow ridge
            (-0.52 * a, ey + 0.17 * b, 0.2 * a, 0.14 * b, 0.05 * a),  # cheekbones
            (0.52 * a, ey + 0.17 * b, 0.2 * a, 0.14 * b, 0.05 * a),
            (0, self.mouth_y, who.mouth_width * a * 0.8, 0.07 * b, 0.06 * a),  # lips
            (0, self.mouth_y + 0.17 * b, 0.3 * a, 0.05 * b, -0.03 * a),  # groove under the lower lip
            (0, 0.86 * b, 0.3 * a, 0.1 * b, 0.06 * a),  # chin
        ]
        for bx, by, sx, sy, amp in bumps:
            sl, g = _gauss(self.shape, bx + self.ox, by + self.oy, sx, sy, amp)
            depth[sl] += g
        return np.maximum(depth, 0.0).astype(np.float32), (mask > 0).astype(np.float32)

    def _body(self) -> None:
        """Shoulders in a shirt (solid, stripes or checks) with a few soft folds."""
        a, b, L = self.a, self.b, self.layers
        yn = 1.45 * b  # neck base
        right = [(0.62, 0.0), (1.8, 0.3), (2.8, 0.65), (3.3, 1.3)]
        pts = [(x * a, yn + y * b) for x, y in right] + [(3.5 * a, self.bottom + 5), (-3.5 * a, self.bottom + 5)]
        pts += [(-x * a, yn + y * b) for x, y in reversed(right)]
        self.body_normals = _cylinder_normals(self.xs * 0.6, 3.6 * a, self.shape[0], tilt_y=-0.25)
        rng = self.clip_rng
        self.shirt = _shirt_texture(self.shape, rng, np.asarray(self.clip["shirt_rgb"]), self.clip["pattern"])
        L.paint(_poly(self.shape, self.P(pts), blur=0.6), self.shirt, normals=self.body_normals)
        for _ in range(int(rng.integers(2, 5))):
            x = rng.uniform(-2.5, 2.5) * a
            fold = self.P([(x, yn + 0.5 * b), (x * 0.7 + rng.uniform(-0.3, 0.3) * a, yn + 1.4 * b)])
            L.tint(_lines(self.shape, [fold], 2 * self.px, blur=2 * self.px + 0.5), 0.85)

    def _back_hair(self) -> None:
        """Long hair falling behind the neck onto the shoulders (painted before the neck and face cover it)."""
        a, b, rng = self.a, self.b, self.rng["back_hair"]
        v = self.hair_v
        end = rng.uniform(1.5, 2.1) * b
        pts = [(-a - v, -0.5 * b), (-1.2 * a - v, 0.8 * b), (-1.25 * a - v, end - 0.1 * b)]
        pts += [(x * a, end + rng.uniform(-0.08, 0.08) * b) for x in np.linspace(-1.2, 1.2, 9)]
        pts += [(1.25 * a + v, end - 0.1 * b), (1.2 * a + v, 0.8 * b), (a + v, -0.5 * b)]
        box = self.P([(-1.4 * a - v, -0.6 * b), (1.4 * a + v, end)]).ravel()
        hair = np.asarray(self.who.hair_rgb) * 0.8
        tex = _strands(self.shape, rng, hair, box, self.P([(0, -1.2 * b)])[0], length=0.5 * b, curl=0.08, gravity=3.0)
        normals = _cylinder_normals(self.xs, 1.5 * a, self.shape[0])
        self.layers.paint(_poly(self.shape, self.P(pts), blur=0.8), tex, normals=normals, spec=0.08)

    def _neck_and_ears(self) -> None:
        a, b, L, px = self.a, self.b, self.layers, self.px
        yn = 1.45 * b
        right = np.array([(0.56 * a, 0.2 * b), (0.62 * a, yn + 0.3 * b), (0.66 * a, yn + 0.8 * b)])
        neck = self.P(np.concatenate([right, right[::-1] * (-1, 1)]))
        normals = _cylinder_normals(self.xs, 0.66 * a, self.shape[0])
        L.paint(_poly(self.shape, neck, blur=0.6), self.skin * 0.9, normals=normals, spec=0.04)
        dip = self.clip["neckline"] * b
        collar = [(-0.8 * a, yn - 0.02 * b), (-0.3 * a, yn + 0.8 * dip), (0, yn + dip), (0.3 * a, yn + 0.8 * dip)]
        collar += [(0.8 * a, yn - 0.02 * b), (0.95 * a, yn + 1.2 * b), (-0.95 * a, yn + 1.2 * b)]
        L.paint(_poly(self.shape, self.P(collar), blur=0.5), self.shirt, normals=self.body_normals)
        L.tint(_poly(self.shape, self.P(_ellipse(0, 0.95 * b, 0.75 * a, 0.28 * b)), blur=5 * px + 1), 0.72)
        y0, y1 = self.ey - 0.02 * b, self.nose_y + 0.02 * b
        for side in (-1, 1):
            ear = self.P(_ellipse(side * 0.98 * a, (y0 + y1) / 2, 0.14 * a, (y1 - y0) / 2, side * 0.15))
            ear_normals = np.array([side * 0.55, 0.0, 0.83])  # ears face forwards and out
            L.paint(_poly(self.shape, ear, blur=0.5), self.skin * np.float32([1.02, 0.93, 0.92]), normals=ear_normals)
            inner = self.P(_ellipse(side * a, (y0 + y1) / 2, 0.06 * a, (y1 - y0) / 3.2, side * 0.15))
            L.tint(_poly(self.shape, inner, blur=1.5 * px + 0.4), 0.7)

    def _skin_detail(self) -> None:
        """Redness, moles, freckles, and shading cues baked into the albedo: nasolabial folds, shadows under nose
        and lower lip, the sides of the nose."""
        a, b, L, px, who, rng = self.a, self.b, self.layers, self.px, self.who, self.rng["detail"]
        blush = np.array([1.0 + 0.06 * who.blush, 1.0 - 0.1 * who.blush, 1.0 - 0.08 * who.blush], np.float32)
        for side in (-1, 1):
            L.tint(_gauss(self.shape, side * 0.5 * a + self.ox, self.ey + 0.3 * b + self.oy, 0.2 * a, 0.14 * b), blush)
        L.tint(_gauss(self.shape, self.ox, self.nose_y - 0.06 * b + self.oy, 0.12 * a, 0.08 * b), blush)
        dark = np.array([0.72, 0.62, 0.6], np.float32)
        for _ in range(int(rng.integers(0, 4))):  # moles
            r = rng.uniform(0.5, 1.1) * px + 0.3
            spot = _ellipse(rng.uniform(-0.75, 0.75) * a, rng.uniform(-0.6, 0.9) * b, r, r, n=12)
            L.tint(_poly(self.shape, self.P(spot), blur=0.3), dark * 0.8)
        for _ in range(int(who.freckles * 120)):
            r = rng.uniform(0.3, 0.7) * px + 0.3
            x, y = rng.choice([-1, 1]) * abs(rng.normal(0.3, 0.2)) * a, rng.normal(0.12, 0.12) * b
            L.tint(_poly(self.shape, self.P(_ellipse(x, y, r, r, n=8)), blur=0.4, alpha=rng.uniform(0.15, 0.45)), dark)
        nw, mw, ny, my = who.nose_width * a, who.mouth_width * a, self.nose_y, self.mouth_y
        for side in (-1, 1):
            fold = self.P(
                [
                    (side * nw * 1.05, ny - 0.03 * b),
                    (side * (nw + 0.1 * a), ny + 0.1 * b),
                    (side * (mw + 0.05 * a), my + 0.04 * b),
                ]
            )
            strength = rng.uniform(0.4, 1.0)
            L.tint(_lines(self.shape, [fold], 1.5 * px, blur=1.8 * px + 0.4, alpha=strength), 0.88)
            flank = self.P([(side * 0.1 * a, self.ey + 0.05 * b), (side * 0.7 * nw, ny - 0.12 * b)])
            L.tint(_lines(self.shape, [flank], 2 * px, blur=1.5 * px + 0.4, alpha=0.6), 0.88)
        L.tint(
            _poly(
                self.shape, self.P(_ellipse(0, my + (who.lower_lip + 0.03) * b, mw * 0.6, 0.03 * b)), blur=2 * px + 0.5
            ),
            0.85,
        )
        L.tint(_poly(self.shape, self.P(_ellipse(0, ny + 0.03 * b, nw * 0.9, 0.03 * b)), blur=1.5 * px + 0.5), 0.82)
        for bx, by, sx, sy, amp in [  # shine: forehead, nose, cheekbone tops
            (0, -0.55 * b, 0.35 * a, 0.2 * b, 0.1),
            (0, ny - 0.1 * b, 0.08 * a, 0.2 * b, 0.14),
            (-0.45 * a, self.ey + 0.2 * b, 0.12 * a, 0.08 * b, 0.06),
            (0.45 * a, self.ey + 0.2 * b, 0.12 * a, 0.08 * b, 0.06),
        ]:
            L.add_spec(_gauss(self.shape, bx + self.ox, by + self.oy, sx, sy, amp))

    def _facial_hair(self) -> None:
        """Stubble (a dark speckled tint) or a beard (strands) over jaw, chin and upper lip; lips come later."""
        a, b, px, rng = self.a, self.b, self.px, self.rng["beard"]
        jaw = self.outline[self.outline[:, 1] > self.nose_y + 0.05 * b]
        jaw = jaw[np.argsort(np.arctan2(jaw[:, 1], jaw[:, 0]))]
        upper = [(x * a, self.nose_y + 0.06 * b + 0.02 * b * abs(x)) for x in np.linspace(0.75, -0.75, 7)]
        region = self.P(np.concatenate([jaw[::-1], np.asarray(upper)]))
        hair = np.asarray(self.who.hair_rgb, np.float32)
        if self.who.facial_hair == "stubble":
            sl, m = _poly(self.shape, region, blur=3 * px + 0.5, alpha=0.45)
            self.layers.paint(
                (sl, m * rng.uniform(0.3, 1.0, m.shape).astype(np.float32)), np.minimum(hair, 0.25) * 0.9 + 0.05
            )
        else:
            tex = _strands(
                self.shape,
                rng,
                hair,
                _box(self.shape, region, 0),
                self.P([(0, 0)])[0],
                length=0.12 * b,
                curl=0.5,
                gravity=1.0,
                density=2.0,
            )
            self.layers.paint(_poly(self.shape, region, blur=1.5 * px + 0.5, alpha=0.95), tex, spec=0.05)

    def _eye_surround(self, side: int) -> _Eye:
        """The static parts around one eye (socket shadow, lid crease, under-eye) and the eye's geometry."""
        L, px, who, b = self.layers, self.px, self.who, self.b
        cx, ey, ew = side * self.ex, self.ey, self.ew
        hgt = who.eye_open * 2 * ew
        L.tint(
            _gauss(self.shape, cx + self.ox, ey + 0.02 * b + self.oy, 0.75 * ew, 0.6 * ew),
            np.float32([0.86, 0.82, 0.84]),
        )
        u = np.linspace(-1, 1, 13)
        crease = np.stack([cx + u * ew * 1.05, ey - 1.05 * hgt * (1 - u**2) ** 0.6 + 0.1 * ew], 1)
        L.tint(_lines(self.shape, [self.P(crease)], 0.9 * px, blur=0.6 * px + 0.3), 0.8)
        under = np.stack([cx + u * ew * 0.9, ey + 0.55 * ew + 0.25 * ew * (1 - u**2)], 1)
        L.tint(
            _lines(self.shape, [self.P(under)], 1.5 * px, blur=1.2 * px + 0.4, alpha=0.6),
            np.float32([0.88, 0.84, 0.88]),
        )
        box = _box(self.shape, self.P([(cx - 1.6 * ew, ey - 1.3 * ew), (cx + 1.6 * ew, ey + 1.0 * ew)]), 1)
        assert box is not None, "the eyes always lie inside the canvas"
        iris = np.asarray(who.iris_rgb, np.float32)
        return _Eye(cx + self.ox, ey + self.oy, ew, 0.6 * hgt, 0.4 * hgt, who.eye_tilt, side, 0.47 * ew, iris, box)

    def _brow(self, side: int) -> None:
        """A tapered band (thick at the inner end) with short strands angled outwards."""
        who, b, rng = self.who, self.b, self.rng["brow"]
        u = np.linspace(0, 1, 12)  # 0 = inner end, 1 = outer end
        x = side * self.ex - side * 1.05 * self.ew + side * u * 2.3 * self.ew
        y = self.ey - who.brow_gap * b - who.brow_arch * b * np.sin(np.pi * np.clip(u * 1.3, 0, 1)) + 0.04 * b * u**2
        th = who.brow_thickness * b * (1.0 - 0.6 * u)
        band = np.concatenate([np.stack([x, y - th / 2], 1), np.stack([x, y + th / 2], 1)[::-1]])
        colour = np.asarray(who.brow_rgb, np.float32)
        self.layers.paint(_poly(self.shape, self.P(band), blur=0.6 * self.px + 0.3, alpha=0.55), colour)
        t = rng.uniform(0, 1, 40)
        x0, y0 = np.interp(t, u, x), np.interp(t, u, y) + rng.uniform(-0.5, 0.5, 40) * np.interp(t, u, th)
        outward = np.where(side > 0, 0.0, np.pi)
        ang = np.where(t < 0.25, -np.pi / 2 + side * 0.6, outward - side * (0.35 - 0.5 * t)) + rng.normal(0, 0.15, 40)
        ln = who.brow_thickness * b * 0.8
        hairs = [
            self.P([(x0[i], y0[i]), (x0[i] + ln * np.cos(ang[i]), y0[i] + ln * np.sin(ang[i]))]) for i in range(40)
        ]
        self.layers.paint(_lines(self.shape, hairs, 1, alpha=0.7), colour * 0.8)

    def _nose_side(self, side: int) -> None:
        """Nostril and the crease around the alar wing."""
        b, px, nw, ny = self.b, self.px, self.who.nose_width * self.a, self.nose_y
        nostril = _ellipse(side * nw * 0.42, ny - 0.015 * b, nw * 0.3, 0.035 * b, side * 0.35)
        self.layers.tint(_poly(self.shape, self.P(nostril), blur=0.8 * px + 0.3), 0.35)
        t = np.linspace(-0.5, 0.9, 12) * np.pi
        wing = np.stack([side * (0.8 * nw + 0.45 * nw * np.cos(t)), ny - 0.05 * b - 0.08 * b * np.sin(t)], 1)
        self.layers.tint(_lines(self.shape, [self.P(wing)], 1.2 * px, blur=px + 0.4, alpha=0.6), 0.8)

    def _mouth(self) -> None:
        """Lips with a cupid's bow, a dark lip line and soft edges."""
        who, a, b, my, px, L = self.who, self.a, self.b, self.mouth_y, self.px, self.layers
        mw, ul, ll, sm = who.mouth_width * a, who.upper_lip * b, who.lower_lip * b, who.smile * b
        x = np.linspace(-1, 1, 21)
        lift = sm * x**2
        line_y = my - lift + 0.08 * ul * (1 - x**2)
        bow = 1 - 0.25 * np.exp(-((x / 0.18) ** 2)) + 0.1 * np.exp(-(((np.abs(x) - 0.3) / 0.15) ** 2))
        top = my - lift - ul * (1 - x**2) ** 0.5 * bow
        bottom = my - lift + ll * (1 - x**2) ** 0.6
        lip = np.asarray(who.lip_rgb, np.float32)
        lip_line = np.stack([x * mw, line_y], 1)
        L.paint(
            _poly(
                self.shape, self.P(np.concatenate([lip_line, np.stack([x * mw, bottom], 1)[::-1]])), blur=0.5 * px + 0.3
            ),
            lip,
            spec=0.14,
        )
        L.paint(
            _poly(
                self.shape, self.P(np.concatenate([np.stack([x * mw, top], 1), lip_line[::-1]])), blur=0.5 * px + 0.3
            ),
            lip * 0.88,
            spec=0.08,
        )
        L.tint(_lines(self.shape, [self.P(lip_line * (1.02, 1))], 0.8 * px, blur=0.3, alpha=0.8), 0.45)

    def _hair(self) -> np.ndarray:
        """Hair on the scalp (and down the sides of the face for medium/long/curly); returns its depth [Hc, Wc]."""
        who, a, b, px, rng, L = self.who, self.a, self.b, self.px, self.rng["hair"], self.layers
        h, w = self.shape
        style = who.hair_style
        if style == "bald":
            return np.zeros(self.shape, np.float32)
        v = self.hair_v
        cy, ra, rb = -0.15 * b - 0.3 * v, a * 1.03 + v, b * 1.2 + v
        ragged = np.convolve(rng.standard_normal(75), np.ones(3) / 3, "valid")[:72] * (0.02 + 0.05 * (style == "curly"))
        outer = (_ellipse(0, 0, ra, rb, n=72) * (1.0 + ragged[:, None])) + (0, cy)
        xs = np.linspace(-1.0, 1.0, 15)
        hl = who.hairline * b
        line = -hl + (hl - 0.32 * b) * np.abs(xs) ** 3
        if who.fringe:
            line = np.clip(-0.48 * b + 0.05 * b * np.sin(xs * 9) + 0.25 * b * xs**2, -hl, -0.36 * b)
        side_x = {"buzz": 1.03, "short": 1.03, "medium": 0.9, "long": 0.88, "curly": 0.92}[style] * a
        end = {"buzz": 0.05, "short": 0.1, "medium": 0.55, "long": 0.9, "curly": 0.35}[style] * b
        end = max(end, self.ey + 0.05 * b) if style in ("buzz", "short") else end
        hairline = np.stack([xs * side_x, line], 1)
        cut = np.concatenate([hairline, [(side_x, end), (side_x + 0.5 * a, end), (side_x + 0.5 * a, 4 * b)]])
        cut = np.concatenate([cut, [(-side_x - 0.5 * a, 4 * b), (-side_x - 0.5 * a, end), (-side_x, end)]])
        shapes = [outer]
        if style in ("medium", "long", "curly"):  # curtains down the sides of the face, over the ears
            for s in (-1, 1):
                shapes.append(
                    np.array(
                        [
                            (s * 0.8 * a, -0.6 * b),
                            (s * (a + v), -0.3 * b),
                            (s * (a + 0.9 * v), end - 0.05 * b),
                            (s * (side_x + 0.15 * a), end + 0.05 * b),
                            (s * 0.85 * a, end),
                        ]
                    )
                )
        inside = np.zeros(self.shape, np.float32)
        for pts in shapes:
            cv2.fillPoly(inside, [np.round(self.P(pts) * 16).astype(np.int32)], 1.0, cv2.LINE_8, 4)
        cut_mask = np.zeros(self.shape, np.float32)
        cv2.fillPoly(cut_mask, [np.round(self.P(cut) * 16).astype(np.int32)], 1.0, cv2.LINE_8, 4)
        mask = cv2.GaussianBlur(np.clip(inside - cut_mask, 0.0, 1.0), (0, 0), 0.6 + 0.5 * px)
        everywhere = (slice(0, h), slice(0, w))
        hair = np.asarray(who.hair_rgb, np.float32)
        yy = (np.arange(h, dtype=np.float32) - self.oy - cy)[:, None] + np.zeros((1, w), np.float32)
        xx = np.zeros((h, 1), np.float32) + self.xs[None, :]
        z = np.sqrt(np.clip(1.0 - (xx / ra) ** 2 - (yy / rb) ** 2, 0.0, 1.0)) * ra
        normals = np.dstack([xx / ra**2, yy / rb**2, z / ra**2 + 0.05 / ra])
        normals /= np.linalg.norm(normals, axis=2, keepdims=True)
        if style == "buzz":
            grain = rng.uniform(0.0, 1.0, self.shape).astype(np.float32)
            L.paint(
                (everywhere, mask * (0.55 + 0.4 * grain)),
                hair * (0.8 + 0.4 * grain[..., None]),
                normals=normals,
                spec=0.04,
            )
            return (z * mask).astype(np.float32)
        box = _box(self.shape, self.P(np.concatenate([outer, [(0, end + 0.2 * b)]])), 0)
        curly = style == "curly"
        part = self.P([(rng.choice([-0.35, 0.0, 0.35]) * a, -1.3 * b)])[0]
        tex = _strands(
            self.shape,
            rng,
            hair,
            box,
            part,
            length=(0.1 if curly else 0.35) * b,
            curl=0.9 if curly else 0.12,
            gravity=0.3 if curly else 0.5,
            density=2.0 if curly else 1.5,
            contrast=0.45 if curly else 0.35,
        )
        L.paint((everywhere, mask), tex, normals=normals, spec=0.12)
        shadow = np.zeros(self.shape, np.float32)  # the hair's soft shadow on the forehead
        cv2.polylines(
            shadow, [np.round(self.P(hairline) * 16).astype(np.int32)], False, 1.0, max(1, round(3 * px)), cv2.LINE_8, 4
        )
        L.tint((everywhere, cv2.GaussianBlur(shadow, (0, 0), 2 * px + 0.5) * (1 - mask) * 0.5), 0.7)
        return (z * 0.95 * mask).astype(np.float32)

    def _glasses(self, eyes: list[_Eye]) -> _Layers:
        """Glasses on their own layer: lens tint and glare, rims, bridge and temples."""
        g = _Layers(*self.shape)
        frame = np.asarray(self.who.glasses_rgb, np.float32)
        thick = (1.8 if frame.mean() < 0.4 else 1.0) * self.px  # plastic frames are thicker than metal ones
        rims = []
        for eye in sorted(eyes, key=lambda e: e.cx):
            rx, ry, cy = eye.w * 1.55, eye.w * 1.12, eye.cy + 0.1 * eye.w
            if self.who.glasses == "round":
                rim = _ellipse(eye.cx, cy, rx, ry)
            else:
                t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
                c, s = np.cos(t), np.sin(t)
                rim = np.stack(
                    [eye.cx + rx * np.sign(c) * np.abs(c) ** 0.4, cy + ry * np.sign(s) * np.abs(s) ** 0.5], 1
                )
            rims.append(rim)
            g.paint(_poly(self.shape, rim, alpha=0.08), (0.9, 0.95, 1.0))
            glare = np.array([(-0.5, -0.7), (-0.15, -0.8), (0.5, 0.45), (0.25, 0.6)]) * (rx, ry) + (eye.cx, cy)
            g.paint(_poly(self.shape, glare, blur=1.5 * self.px + 0.5, alpha=0.12), (1.0, 1.0, 1.0))
        left, right = rims
        y = eyes[0].cy - 0.2 * eyes[0].w
        mid = (left[:, 0].max() + right[:, 0].min()) / 2
        bridge = np.array([(left[:, 0].max() - 1, y), (mid, y - 0.2 * eyes[0].w), (right[:, 0].min() + 1, y)])
        temple_y = eyes[0].cy - 0.3 * eyes[0].w
        temples = [np.array([(left[:, 0].min(), temple_y), (self.ox - 0.98 * self.a, temple_y + 0.1 * eyes[0].w)])]
        temples += [np.array([(right[:, 0].max(), temple_y), (self.ox + 0.98 * self.a, temple_y + 0.1 * eyes[0].w)])]
        g.paint(
            _lines(self.shape, [np.vstack([r, r[:1]]) for r in rims] + [bridge] + temples, thick, alpha=0.95), frame
        )
        return g


def _skin_texture(shape: tuple[int, int], rng: np.random.Generator, skin: np.ndarray, px: float) -> np.ndarray:
    """Skin albedo [H, W, 3]: blotchy low-frequency tone variation plus pore-scale noise (``px`` = px per b/100)."""
    h, w = shape
    cell = max(px * 8.0, 2.0)
    low = cv2.resize(
        rng.standard_normal((int(h / cell) + 2, int(w / cell) + 2, 3)).astype(np.float32),
        (w, h),
        interpolation=cv2.INTER_CUBIC,
    )
    low = low[..., :1] * 0.8 + low * 0.2  # mostly brightness, a little hue
    mid = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), max(px * 1.2, 0.8))
    pores = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), max(0.5 * px, 0.5))
    detail = 0.014 * mid / (mid.std() + 1e-6) + 0.016 * pores / (pores.std() + 1e-6)
    return (skin * (1.0 + 0.03 * low) * (1.0 + detail[..., None])).astype(np.float32)


def _shirt_texture(shape: tuple[int, int], rng: np.random.Generator, shirt: np.ndarray, pattern: str) -> np.ndarray:
    h, w = shape
    weave = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 0.7)
    tex = (shirt * (1.0 + 0.04 * weave / (weave.std() + 1e-6))[..., None]).astype(np.float32)
    if pattern in ("stripes", "checks"):
        period = rng.uniform(0.015, 0.04) * h + 2
        other = np.clip(shirt * rng.uniform(0.5, 1.5, 3), 0, 1).astype(np.float32)
        rows = (np.arange(h) // period) % 2 == 0
        tex[rows] = tex[rows] * 0.4 + other * 0.6
        if pattern == "checks":
            cols = (np.arange(w) // period) % 2 == 0
            tex[:, cols] = tex[:, cols] * 0.6 + other * 0.4
    return tex


def _strands(
    shape: tuple[int, int],
    rng: np.random.Generator,
    rgb: np.ndarray,
    box,
    origin: np.ndarray,
    *,
    length: float,
    curl: float,
    gravity: float,
    density: float = 1.2,
    contrast: float = 0.35,
) -> np.ndarray:
    """Hair texture [H, W, 3]: thin anti-aliased strands, flowing away from ``origin`` (bent down by ``gravity``,
    wiggling by ``curl`` radians per step), seeded over ``box`` = (x0, y0, x1, y1) canvas px."""
    base = np.asarray(rgb, np.float32)
    tex = np.empty(shape + (3,), np.uint8)
    tex[:] = np.clip(base * (1.0 - 0.4 * contrast) * 255, 0, 255).astype(np.uint8)
    x0, y0, x1, y1 = box
    per_tone = int(density * max(x1 - x0, 1) * max(y1 - y0, 1) / max(length, 1.0)) // 7
    for tone in np.linspace(1.0 - contrast, 1.0 + contrast, 7):
        start = np.stack([rng.uniform(x0, x1, per_tone), rng.uniform(y0, y1, per_tone)], axis=1)
        d = start - origin
        ang = np.arctan2(
            d[:, 1] / (np.linalg.norm(d, axis=1) + 1e-6) + gravity, d[:, 0] / (np.linalg.norm(d, axis=1) + 1e-6)
        )
        ang = ang[:, None] + np.cumsum(rng.normal(0.0, curl, (per_tone, 5)), axis=1)
        steps = length / 5 * np.stack([np.cos(ang), np.sin(ang)], axis=2)
        pts = np.concatenate([start[:, None], start[:, None] + np.cumsum(steps, axis=1)], axis=1)
        colour = tuple(int(c) for c in np.clip(base * tone * 255, 0, 255))
        cv2.polylines(tex, list(np.round(pts * 16).astype(np.int32)), False, colour, 1, cv2.LINE_AA, 4)
    return tex.astype(np.float32) / 255.0
