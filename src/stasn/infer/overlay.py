"""Overlays that show what the model looked at: the face box, the K attended regions and the score.

Colours: the face box is red for an attack, green for live, grey when undecided; RAM's regions are yellow, numbered in
the model's picking order (1 = the strongest attention peak). Images are written as JPEG/PNG, videos as H.264 MP4
(MPEG-4 Part 2 when this FFmpeg has no H.264 encoder), always to a temporary name first and then renamed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from stasn.data.video import FrameSource, VideoWriter
from stasn.fileio import write_bytes_atomic
from stasn.infer.result import FrameInfo, Prediction

__all__ = [
    "draw_prediction",
    "overlay_image",
    "write_image_overlay",
    "write_video_overlay",
    "VideoWriter",
    "StreamOverlay",
    "overlay_name",
]

log = logging.getLogger(__name__)

_RED, _GREEN, _GREY, _YELLOW = (230, 40, 40), (40, 200, 70), (160, 160, 160), (255, 220, 0)  # RGB


def _colour(is_attack: bool | None) -> tuple[int, int, int]:
    return _GREY if is_attack is None else (_RED if is_attack else _GREEN)


def _caption(score: float | None, threshold: float, status: str, reason: str | None) -> str:
    if score is None:
        return f"{status}: {reason}" if reason else status
    verdict = "ATTACK" if score >= threshold else "live"
    return f"{verdict}  spoof {score:.3f} (threshold {threshold:.3f})"


def draw_prediction(
    frame: np.ndarray,
    *,
    face_box: tuple[float, ...] | None,
    regions: list[tuple[float, ...]] | None,
    score: float | None,
    threshold: float,
    status: str = "ok",
    reason: str | None = None,
) -> np.ndarray:
    """Draw on a copy of ``frame`` (``np.ndarray[H, W, 3]`` uint8 RGB) and return it.

    Args:
        face_box: ``x1, y1, x2, y2`` pixels, or ``None``.
        regions: RAM region boxes in the same pixels (drawn in yellow, numbered from 1), or ``None``.
        score: the spoof score to print (``None``: undecided, ``status``/``reason`` are printed instead).
        threshold: the decision threshold, printed beside the score.
    """
    out = np.ascontiguousarray(frame.copy())
    height, width = out.shape[:2]
    thick = max(1, round(min(height, width) / 240))
    colour = _colour(None if score is None else score >= threshold)
    for k, box in enumerate(regions or [], start=1):
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), _YELLOW, thick)
        cv2.putText(out, str(k), (x1 + 2, y1 + 12 * thick), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thick, _YELLOW, thick)
    if face_box is not None:
        x1, y1, x2, y2 = (int(round(v)) for v in face_box)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thick + 1)
    text = _caption(score, threshold, status, reason)[:90]
    scale = 0.45 * thick
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    cv2.rectangle(out, (0, 0), (min(width, tw + 8), th + base + 8), (0, 0, 0), -1)
    cv2.putText(out, text, (4, th + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)
    return out


def overlay_image(image: np.ndarray, prediction: Prediction) -> np.ndarray:
    """The image with the prediction's face box, regions and score drawn on it."""
    return draw_prediction(
        image,
        face_box=prediction.face_box,
        regions=prediction.regions,
        score=prediction.spoof_score,
        threshold=prediction.threshold,
        status=prediction.status,
        reason=prediction.reason,
    )


def write_image_overlay(path: str | Path, image: np.ndarray, prediction: Prediction) -> Path:
    """Write :func:`overlay_image` to ``path`` (format from its suffix, e.g. ``.jpg``/``.png``), atomically."""
    path = Path(path)
    ok, data = cv2.imencode(path.suffix or ".jpg", cv2.cvtColor(overlay_image(image, prediction), cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"{path}: OpenCV cannot encode an image with this suffix; use .jpg or .png")
    return write_bytes_atomic(path, data.tobytes())


def _by_frame(prediction: Prediction) -> dict[int, tuple[FrameInfo, float]]:
    """Frame index -> (its boxes, the score of the clip it belongs to); the first clip wins for shared frames."""
    info: dict[int, tuple[FrameInfo, float]] = {}
    for clip in prediction.clips:
        for frame in clip.frames:
            info.setdefault(frame.index, (frame, clip.spoof_score))
    return info


def _draw_frame(frame: np.ndarray, prediction: Prediction, info: tuple[FrameInfo, float] | None) -> np.ndarray:
    if info is None:  # a frame no clip used: the overall verdict only
        return draw_prediction(
            frame,
            face_box=None,
            regions=None,
            score=prediction.spoof_score,
            threshold=prediction.threshold,
            status=prediction.status,
            reason=prediction.reason,
        )
    boxes, score = info
    return draw_prediction(
        frame, face_box=boxes.face_box, regions=boxes.regions, score=score, threshold=prediction.threshold
    )


def write_video_overlay(path: str | Path, source: FrameSource, prediction: Prediction) -> Path:
    """Write every frame of ``source`` annotated: frames of a scored clip get their face box, regions and the clip's
    score; the others get the overall score. The output keeps the source's frame rate (30 fps when unknown)."""
    per_frame = _by_frame(prediction)
    with VideoWriter(path, fps=source.fps or 30.0) as writer:
        for index, frame in source.read(range(source.num_frames)):
            writer.write(_draw_frame(frame, prediction, per_frame.get(index)))
    return Path(path)


class StreamOverlay:
    """Annotate a live stream as it is scored: pass the frames through :meth:`tap`, then call :meth:`add` with each
    prediction :meth:`stasn.Detector.predict_stream` yields; the frames seen since the previous prediction are drawn
    with it and appended to the video."""

    def __init__(self, writer: VideoWriter) -> None:
        self.writer = writer
        self._buffer: list[tuple[int, np.ndarray]] = []

    def tap(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for index, frame in enumerate(frames):
            self._buffer.append((index, frame))
            yield frame

    def add(self, prediction: Prediction) -> None:
        per_frame = _by_frame(prediction)
        for index, frame in self._buffer:
            self.writer.write(_draw_frame(frame, prediction, per_frame.get(index)))
        self._buffer.clear()


def overlay_name(input_name: str, kind: str, taken: set[str]) -> str:
    """File name for an input's overlay: ``<stem>.overlay.jpg`` (images) or ``.mp4`` (videos, streams), with a
    counter added when two inputs share a stem. ``taken`` collects the names used so far."""
    stem = Path(input_name.replace(":", "_")).stem or "input"
    suffix = ".jpg" if kind == "image" else ".mp4"
    name, n = f"{stem}.overlay{suffix}", 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}.overlay{suffix}"
    taken.add(name)
    return name
