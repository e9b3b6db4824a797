"""Re-filming LIVE faces with a random camera: the counterpart of the attack synthesizers' last stage.

Every synthesized attack ends with the same camera model (:func:`stasn.synth.recapture.capture_clip`: sensor size,
exposure, white balance, Bayer mosaic, noise, demosaic, tone curve, sharpening, JPEG/H.264). If only attacks went
through it, a model could learn "looks like a different camera => attack" — which fails on real live faces from
other cameras. :class:`SimulateCamera` puts live clips through a random camera too (no screen, no print), so the
cues left to learn are the medium's: sub-pixel moiré, bezels, glare, halftone, paper. This is our addition; the paper
does not describe it.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from stasn.synth import capture as cam
from stasn.synth.recapture import CaptureRanges, capture_clip

__all__ = ["SimulateCamera", "srgb_to_linear_image"]


def _srgb_lut() -> np.ndarray:
    v = np.arange(256, dtype=np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


_SRGB_TO_LINEAR = _srgb_lut()


def srgb_to_linear_image(image: np.ndarray) -> np.ndarray:
    """uint8 sRGB ``[H, W, 3]`` -> float32 linear light in [0, 1] (the IEC 61966-2-1 curve)."""
    return _SRGB_TO_LINEAR[image]


class SimulateCamera:
    """``(frames uint8 [T, H, W, 3], rng) -> frames``: the same live face, filmed by a randomly drawn camera.

    Args:
        ranges: camera parameter ranges; default :class:`CaptureRanges` (the attacks' own ranges), with the sensor
            no finer than the input (a camera cannot add detail the live crop lacks).
    """

    def __init__(self, ranges: CaptureRanges | None = None) -> None:
        self.ranges = ranges or CaptureRanges()

    def __call__(self, frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"expected uint8 frames [T, H, W, 3], got {frames.dtype} {frames.shape}")
        _, height, width, _ = frames.shape
        params = self.ranges.sample(rng, (width, height))
        sensor = int(min(params.sensor_px, 2 * (min(height, width) // 2)))
        params = replace(params, sensor_px=max(16, sensor))
        linear = []
        for frame in frames:
            image = cv2.resize(
                srgb_to_linear_image(frame), (params.sensor_px, params.sensor_px), interpolation=cv2.INTER_AREA
            )
            linear.append(
                cam.blur_linear(
                    image,
                    lens_cutoff=params.lens_cutoff,
                    defocus=params.defocus,
                    motion_length=params.motion_length,
                    motion_angle=params.motion_angle,
                )
            )
        return capture_clip(linear, params, (width, height))
