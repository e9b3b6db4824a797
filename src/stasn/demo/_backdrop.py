"""The room behind the procedural person and the simulated webcam that films the scene (private to the demo)."""

from __future__ import annotations

import math

import cv2
import numpy as np


def _hsv(rng_h: float, s: float, v: float) -> np.ndarray:
    px = np.uint8([[[int(rng_h) % 180, int(np.clip(s, 0, 255)), int(np.clip(v, 0, 255))]]])
    return cv2.cvtColor(px, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32) / 255.0


def _rect(img: np.ndarray, x: float, y: float, w: float, h: float, colour) -> None:
    cv2.rectangle(img, (int(x), int(y)), (int(x + w), int(y + h)), tuple(float(c) for c in colour), -1)


def _room(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """The room behind the person [h, w, 3] float 0..1: a graded wall with out-of-focus furniture, windows,
    screens, shelves, pictures, plants, lamps and doors."""
    hue, sat, val = rng.uniform(0, 180), rng.choice([rng.uniform(0, 25), rng.uniform(20, 90)]), rng.uniform(130, 255)
    c0 = _hsv(hue, sat, val)
    c1 = _hsv(hue + rng.uniform(-10, 10), sat * rng.uniform(0.6, 1.3), val * rng.uniform(0.55, 1.05))
    ang = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = np.clip((xx / w - 0.5) * math.cos(ang) + (yy / h - 0.5) * math.sin(ang) + 0.5, 0, 1)
    img = np.ascontiguousarray(c0 + (c1 - c0) * ramp[..., None], dtype=np.float32)
    s = min(h, w)
    kinds = ["furniture", "window", "screen", "shelf", "picture", "plant", "lamp", "door", "books", "notice", "cable"]
    for _ in range(int(rng.integers(4, 14))):
        kind = rng.choice(kinds)
        x0, y0 = rng.uniform(-0.1, 1.0) * w, rng.uniform(-0.1, 1.0) * h
        bw, bh = rng.uniform(0.08, 0.45) * w, rng.uniform(0.08, 0.5) * h
        col = _hsv(rng.uniform(0, 180), rng.uniform(0, 120), rng.uniform(15, 230))
        if kind == "window":
            _rect(img, x0, y0, bw, bh, _hsv(rng.uniform(90, 120), rng.uniform(0, 40), rng.uniform(225, 255)) * 1.1)
            bar = max(1, int(0.015 * s))
            _rect(img, x0 + bw / 2 - bar / 2, y0, bar, bh, col)
            _rect(img, x0, y0 + bh / 2 - bar / 2, bw, bar, col)
        elif kind == "screen":
            _rect(img, x0, y0, bw * 0.6, bh * 0.4, (0.08, 0.08, 0.09))
            glow = _hsv(rng.uniform(90, 130), rng.uniform(20, 120), rng.uniform(150, 255))
            _rect(img, x0 + 0.03 * bw, y0 + 0.03 * bh, bw * 0.54, bh * 0.34, glow)
        elif kind == "shelf":
            _rect(img, x0, y0, bw * 1.5, max(2, 0.02 * s), col * 0.8)
            for k in range(int(rng.integers(2, 7))):
                iw, ih = rng.uniform(0.02, 0.06) * w, rng.uniform(0.04, 0.12) * h
                item = _hsv(rng.uniform(0, 180), rng.uniform(40, 200), rng.uniform(60, 230))
                _rect(img, x0 + k * bw * 0.2, y0 - ih, iw, ih, item)
        elif kind == "picture":
            _rect(img, x0, y0, bw * 0.5, bh * 0.4, col * 0.5)
            inner = _hsv(rng.uniform(0, 180), rng.uniform(30, 160), rng.uniform(80, 230))
            _rect(img, x0 + 0.04 * bw, y0 + 0.04 * bh, bw * 0.42, bh * 0.32, inner)
        elif kind == "plant":  # a pot with leaves on stems fanning out of it
            green = _hsv(rng.uniform(35, 75), rng.uniform(80, 200), rng.uniform(50, 160))
            for _k in range(int(rng.integers(6, 14))):
                ang = rng.uniform(-2.6, -0.5)
                tip = (x0 + math.cos(ang) * 0.1 * s, y0 + math.sin(ang) * 0.12 * s)
                colour = tuple(float(c) for c in green * rng.uniform(0.7, 1.2))
                cv2.line(img, (int(x0), int(y0)), (int(tip[0]), int(tip[1])), colour, max(1, int(0.004 * s)))
                axes = (max(1, int(0.03 * s)), max(1, int(0.011 * s)))
                cv2.ellipse(img, (int(tip[0]), int(tip[1])), axes, math.degrees(ang), 0, 360, colour, -1)
            _rect(img, x0 - 0.04 * s, y0, 0.08 * s, 0.07 * s, col)
        elif kind == "lamp":
            bulb = tuple(float(c) for c in _hsv(rng.uniform(15, 30), 40, 255) * 1.1)
            cv2.circle(img, (int(x0), int(y0)), max(2, int(0.04 * s)), bulb, -1)
        elif kind == "books":  # a row of spines: dense vertical edges
            x = x0
            for _k in range(int(rng.integers(5, 16))):
                sw = rng.uniform(0.008, 0.025) * w
                spine = _hsv(rng.uniform(0, 180), rng.uniform(30, 220), rng.uniform(30, 220))
                _rect(img, x, y0 + rng.uniform(0, 0.03) * h, sw, 0.12 * h, spine)
                x += sw + 1
        elif kind == "notice":  # paper with lines of "text"
            _rect(img, x0, y0, 0.12 * w, 0.16 * h, _hsv(0, rng.uniform(0, 20), rng.uniform(215, 250)))
            for line in range(int(rng.integers(3, 9))):
                ly = y0 + 0.02 * h + line * 0.016 * h
                _rect(img, x0 + 0.01 * w, ly, rng.uniform(0.04, 0.1) * w, max(1, 0.005 * h), (0.2, 0.2, 0.22))
        elif kind == "cable":
            pts = np.stack([np.linspace(x0, x0 + bw, 8), y0 + np.cumsum(rng.normal(0, 0.03 * h, 8))], 1)
            cv2.polylines(
                img, [pts.astype(np.int32)], False, tuple(float(c) for c in col * 0.4), max(1, int(0.006 * s))
            )
        elif kind == "door":
            _rect(img, x0, y0, bw * 0.5, h, col)
            cv2.circle(img, (int(x0 + bw * 0.42), int(y0 + 0.5 * h)), max(1, int(0.008 * s)), (0.7, 0.65, 0.5), -1)
        else:
            _rect(img, x0, y0, bw, bh, col)
            _rect(img, x0, y0, bw, max(1, 0.01 * s), col * 1.15)
    grain = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 0.8)  # plaster, fabric
    img *= 1.0 + (0.025 * grain / (grain.std() + 1e-6))[..., None]
    return cv2.GaussianBlur(img, (0, 0), rng.uniform(0.0, 0.005) * s + 0.3)  # webcams keep most of the room sharp


class _Camera:
    """A webcam: white-balance error, exposure, vignetting, lens blur, shot + read noise, tone curve, sharpening.
    Noise is cut per frame from a 2x-size bank drawn once per clip (a fresh random window each frame) so that the
    per-frame cost stays low."""

    def __init__(self, rng: np.random.Generator, h: int, w: int) -> None:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / (0.25 * (w * w + h * h))
        wb = np.exp(rng.normal(0.0, 0.05, 3)).astype(np.float32)
        gain = (1.0 - rng.uniform(0.0, 0.35) * r2)[..., None] * (wb / wb.mean()) * rng.uniform(0.9, 1.12)
        self.gain = np.ascontiguousarray(gain, dtype=np.float32)
        self.blur = float(rng.uniform(0.25, 0.6) * max(min(h, w) / 256.0, 0.5))
        self.read, self.shot = float(rng.uniform(0.0015, 0.004)), float(rng.uniform(0.00002, 0.00012))
        x = np.arange(256) / 255.0
        curve = x ** rng.uniform(0.85, 1.05)
        curve = curve + rng.uniform(0.2, 0.9) * (curve - curve**2) * (curve - 0.5)  # mild S-curve
        self.lut = np.clip(curve * 255 + 0.5, 0, 255).astype(np.uint8)
        self.sharpen = float(rng.uniform(0.3, 1.0)) if rng.random() < 0.6 else 0.0  # webcam ISPs often oversharpen
        self.luma = rng.standard_normal((2 * h, 2 * w), dtype=np.float32)
        chroma = rng.standard_normal((h, w, 3), dtype=np.float32)  # half resolution: demosaicking smears colour
        self.chroma = cv2.resize(chroma, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR) * 0.35

    def __call__(self, img: np.ndarray, exposure: float, rng: np.random.Generator) -> np.ndarray:
        """Linear-ish float frame [H, W, 3] -> uint8 RGB."""
        h, w = img.shape[:2]
        img = cv2.GaussianBlur(cv2.multiply(img, self.gain, scale=exposure), (0, 0), self.blur)
        sigma = np.sqrt(self.read**2 + self.shot * np.maximum(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), 0.0))
        y0, x0 = int(rng.integers(0, h + 1)), int(rng.integers(0, w + 1))
        noise = self.luma[y0 : y0 + h, x0 : x0 + w, None] + self.chroma[y0 : y0 + h, x0 : x0 + w]
        img += noise * sigma[..., None]
        out = cv2.LUT(np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8), self.lut)
        if self.sharpen:
            out = cv2.addWeighted(out, 1 + self.sharpen, cv2.GaussianBlur(out, (0, 0), 1.0), -self.sharpen, 0)
        return out
