"""Small generated videos for tests and benchmarks, written with PyAV, and a detector for them.

``numbered_frame(i)`` draws the bits of ``i`` as eight wide black/white columns (robust to lossy coding), and
``read_number(frame)`` reads them back, so a test can check *which* frame a reader returned. ``face_frame(i)``
draws a bright square that :class:`BrightBoxDetector` finds, so ``stasn prepare`` can run without a real face.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import av
import numpy as np

from stasn.data.detect import Detection, FaceDetector

__all__ = ["numbered_frame", "read_number", "write_video", "face_frame", "BrightBoxDetector"]

_BITS = 8


def numbered_frame(index: int, height: int = 96, width: int = 128) -> np.ndarray:
    """``np.ndarray[height, width, 3]`` uint8 RGB showing ``index`` (0..255) as 8 columns, bit 0 leftmost.

    The top quarter is tinted green so that a rotation or a flip is visible too.
    """
    if not 0 <= index < 2**_BITS:
        raise ValueError(f"index must be in [0, {2**_BITS}), got {index}")
    frame = np.zeros((height, width, 3), np.uint8)
    column = width // _BITS
    for bit in range(_BITS):
        if (index >> bit) & 1:
            frame[:, bit * column : (bit + 1) * column] = 255
    frame[: height // 4, :, 0] //= 2
    frame[: height // 4, :, 1] = np.maximum(frame[: height // 4, :, 1], 96)
    return frame


def read_number(frame: np.ndarray) -> int:
    """Read back the index drawn by :func:`numbered_frame` (frame as decoded, same orientation)."""
    column = frame.shape[1] // _BITS
    lower = frame[frame.shape[0] // 3 :]  # below the tinted band
    bits = [lower[:, b * column + column // 4 : (b + 1) * column - column // 4].mean() > 128 for b in range(_BITS)]
    return sum(int(v) << b for b, v in enumerate(bits))


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    *,
    fps: int = 25,
    codec: str = "libx264",
    gop: int = 12,
    rotation: int | None = None,
    crf: int = 18,
) -> Path:
    """Encode RGB frames (``np.ndarray[H, W, 3]`` uint8, even H and W) into ``path``.

    Args:
        codec: an FFmpeg encoder; ``libx264`` is given ``crf`` and two B-frames (so decode order differs from
            presentation order, as in real camera files).
        gop: keyframe interval in frames.
        rotation: display-matrix rotation, counter-clockwise degrees (as phones store portrait videos).
    """
    path = Path(path)
    with av.open(str(path), "w") as container:
        stream = None
        for frame in frames:
            if stream is None:
                stream = container.add_stream(codec, rate=fps)
                stream.height, stream.width = frame.shape[:2]
                stream.pix_fmt = "yuv420p"
                stream.gop_size = gop
                if codec == "libx264":
                    stream.options = {"crf": str(crf), "bf": "2", "preset": "veryfast"}
                if rotation is not None:
                    stream.set_display_rotation(rotation)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        if stream is None:
            raise ValueError("write_video needs at least one frame")
        for packet in stream.encode():
            container.mux(packet)
    return path


class BrightBoxDetector(FaceDetector):
    """A stand-in detector for generated frames: the bounding box of the bright pixels (gray > ``threshold``).

    Frames drawn by :func:`face_frame` have one bright square as their "face"; a frame without one gives no face.
    ``delay`` (seconds per call) makes runs slow enough to interrupt in tests.
    """

    name = "bright"

    def __init__(self, threshold: int = 200, delay: float = 0.0, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.threshold, self.delay = threshold, delay

    def _detect_bgr(self, bgr: np.ndarray) -> list[Detection]:
        if self.delay:
            time.sleep(self.delay)
        ys, xs = np.nonzero(bgr.min(axis=2) > self.threshold)
        if xs.size == 0:
            return []
        return [Detection((float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)), 1.0)]


def face_frame(index: int, height: int = 48, width: int = 64, side: int = 16, visible: bool = True) -> np.ndarray:
    """A dark ``np.ndarray[height, width, 3]`` uint8 frame with a bright ``side``-pixel square that moves one pixel
    right per frame (the "face" :class:`BrightBoxDetector` finds); ``visible=False`` leaves it out."""
    frame = np.full((height, width, 3), 30, np.uint8)
    frame[..., 2] = 60 + (index * 7) % 100  # varies per frame, stays dark
    if visible:
        x = 4 + index % max(1, width - side - 8)
        y = (height - side) // 2
        frame[y : y + side, x : x + side] = 230
    return frame
