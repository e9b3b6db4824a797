"""Train-time augmentation of a clip: horizontal flip, box jitter, light brightness/contrast; optionally exposure
and JPEG re-compression.

By default mild: no strong colour changes, blur, noise or JPEG re-compression, which erase (or imitate) the cues that
separate a live face from a photo or a screen — moire, print texture, colour cast, sharpness. Two options are off by
default: ``exposure`` (a multiplicative gain, the way a camera's exposure changes a whole picture) breaks the
"attacks are brighter" shortcut of many replay datasets, and ``jpeg`` re-compresses a share of the clips, so a
difference in the capture's compression is not a cue. Every frame of a clip gets the *same* random parameters, so
the motion between frames that TASM looks at is left intact.

Augmentation runs on the high-resolution crops; the TASM crops are derived from them afterwards
(:func:`stasn.data.crop.face_from_highres`), so both inputs of one clip always show the same region.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from stasn.data.video import jpeg_roundtrip

__all__ = ["ClipAugment", "hflip", "jitter_crop", "brightness_contrast", "exposure_gain"]


def hflip(frames: np.ndarray) -> np.ndarray:
    """Mirror ``np.ndarray[T, H, W, 3]`` left-right."""
    return np.ascontiguousarray(frames[:, :, ::-1])


def jitter_crop(frames: np.ndarray, scale: float, dx: float, dy: float) -> np.ndarray:
    """Crop a square of ``scale`` times the side, shifted by ``dx, dy`` (fractions of the free margin, in [-1, 1]
    from the centre), and resize it back to the input size.

    Args:
        frames: ``np.ndarray[T, S, S, 3]`` uint8 (square crops).
        scale: side of the kept square relative to ``S``, in (0, 1].
        dx, dy: position of the kept square within the margin, -1 = left/top edge, 0 = centred, 1 = right/bottom.

    Returns:
        ``np.ndarray[T, S, S, 3]`` uint8.
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    side = frames.shape[1]
    kept = max(1, round(side * scale))
    if kept == side:
        return frames
    margin = side - kept
    left = int(round(margin / 2 * (1 + float(np.clip(dx, -1, 1)))))
    top = int(round(margin / 2 * (1 + float(np.clip(dy, -1, 1)))))
    return np.stack(
        [
            cv2.resize(f[top : top + kept, left : left + kept], (side, side), interpolation=cv2.INTER_LINEAR)
            for f in frames
        ]
    )


def brightness_contrast(frames: np.ndarray, brightness: float, contrast: float) -> np.ndarray:
    """``out = (x - mean) * contrast + mean + brightness * 255``, clipped to uint8; ``mean`` is the clip's mean.

    Args:
        frames: ``np.ndarray[T, H, W, 3]`` uint8.
        brightness: added offset as a fraction of full scale (0 = unchanged).
        contrast: gain about the clip mean (1 = unchanged).
    """
    x = frames.astype(np.float32)
    mean = float(x.mean())
    out = (x - mean) * contrast + mean + brightness * 255.0
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def exposure_gain(frames: np.ndarray, gain: float) -> np.ndarray:
    """``out = x * gain``, clipped to uint8 (a whole-picture exposure change)."""
    return np.clip(frames.astype(np.float32) * gain + 0.5, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class ClipAugment:
    """Random mild augmentation of one clip; the same parameters for all its frames.

    Attributes:
        flip: probability of a horizontal flip.
        jitter: the kept square's side is drawn from ``[1 - jitter, 1]`` of the crop and placed anywhere in the
            margin (a small box jitter). 0.08 moves the box by at most 4 % of its side.
        brightness: offset drawn from ``[-brightness, brightness]`` (fraction of full scale).
        contrast: gain drawn from ``[1 - contrast, 1 + contrast]``.
        exposure: multiplicative gain drawn log-uniformly from ``[1 / (1 + exposure), 1 + exposure]`` (0 = off).
        jpeg: probability of a JPEG round trip at a quality drawn from ``jpeg_quality``.
        jpeg_quality: ``(low, high)`` quality range.

    The defaults are ours (mild by choice), not from the paper.
    """

    flip: float = 0.5
    jitter: float = 0.08
    brightness: float = 0.08
    contrast: float = 0.1
    exposure: float = 0.0
    jpeg: float = 0.0
    jpeg_quality: tuple[int, int] = (40, 90)

    def __post_init__(self) -> None:
        if not 0 <= self.flip <= 1:
            raise ValueError(f"flip is a probability, got {self.flip}")
        for name in ("jitter", "brightness", "contrast"):
            if not 0 <= getattr(self, name) < 0.5:
                raise ValueError(f"{name} must be in [0, 0.5) to stay mild, got {getattr(self, name)}")
        if not 0 <= self.exposure <= 3:
            raise ValueError(f"exposure must be in [0, 3], got {self.exposure}")
        if not 0 <= self.jpeg <= 1:
            raise ValueError(f"jpeg is a probability, got {self.jpeg}")
        if not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise ValueError(f"jpeg_quality must be (low, high) within 1..100, got {self.jpeg_quality}")

    def __call__(self, frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augment ``np.ndarray[T, S, S, 3]`` uint8; returns the same shape and dtype."""
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"expected frames np.ndarray[T, H, W, 3] uint8, got {frames.dtype} {frames.shape}")
        if rng.random() < self.flip:
            frames = hflip(frames)
        if self.jitter > 0:
            scale = 1 - rng.uniform(0, self.jitter)
            frames = jitter_crop(frames, scale, rng.uniform(-1, 1), rng.uniform(-1, 1))
        if self.brightness > 0 or self.contrast > 0:
            brightness = rng.uniform(-self.brightness, self.brightness)
            contrast = 1 + rng.uniform(-self.contrast, self.contrast)
            frames = brightness_contrast(frames, brightness, contrast)
        if self.exposure > 0:
            frames = exposure_gain(frames, float(np.exp(rng.uniform(-1, 1) * np.log1p(self.exposure))))
        if self.jpeg > 0 and rng.random() < self.jpeg:
            frames = jpeg_roundtrip(frames, int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1)))
        return frames
