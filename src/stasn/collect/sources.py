"""Where captured frames come from: a camera (``webcam:N``) or a video file standing in for one.

A file source is read from its first frame on, and every clip recorded from it continues where the previous one
stopped, so one long video can stand for a whole session (and tests need no camera). Frames are ``np.ndarray[H, W,
3]`` uint8 RGB, as everywhere in stasn. Cameras are opened with :func:`stasn.infer.inputs.open_capture` (tests
replace it with a fake camera), files with :class:`stasn.data.video.VideoFile`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from stasn.data.video import VideoFile
from stasn.errors import DataError
from stasn.infer import inputs

__all__ = ["CaptureSource", "open_source"]

_DEFAULT_FPS = 30.0


class CaptureSource:
    """Frames to record, read in order.

    Attributes:
        spec: what the user named (``"webcam:0"`` or a path).
        is_camera: a live camera (the operator needs a countdown) rather than a file.
        fps: frames per second of the source (a camera's nominal rate; 30 when it does not say).
        position: frames handed out so far.
    """

    def __init__(self, spec: str, *, camera=None, video: VideoFile | None = None) -> None:
        self.spec = spec
        self.is_camera = camera is not None
        self._camera = camera
        self._video = video
        self.position = 0
        if video is not None:
            self.fps = float(video.fps or _DEFAULT_FPS)
            self.total: int | None = video.num_frames
        else:
            reported = camera.get(cv2.CAP_PROP_FPS) if hasattr(camera, "get") else 0.0
            self.fps = float(reported) if reported and 1.0 <= reported <= 240.0 else _DEFAULT_FPS
            self.total = None

    def __repr__(self) -> str:
        return f"CaptureSource({self.spec!r}, fps={self.fps:g}, position={self.position})"

    @property
    def remaining(self) -> int | None:
        """Frames left in a file (``None`` for a camera)."""
        return None if self.total is None else self.total - self.position

    def take(self, count: int) -> Iterator[np.ndarray]:
        """The next ``count`` frames (fewer when a file ends or a camera stops delivering)."""
        if count <= 0:
            return
        if self._video is not None:
            end = min(self.position + count, self._video.num_frames)
            for index, frame in self._video.read(range(self.position, end)):
                self.position = index + 1
                yield frame
            return
        for _ in range(count):
            ok, bgr = self._camera.read()
            if not ok or bgr is None:
                return
            self.position += 1
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        if self._video is not None:
            self._video.close()
        if self._camera is not None:
            self._camera.release()

    def __enter__(self) -> CaptureSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_source(spec: str | Path) -> CaptureSource:
    """Open ``webcam:N`` or a video file.

    Raises:
        FileNotFoundError: the video file does not exist. DataError: it is not a readable video, or the camera cannot
        be opened. ValueError: ``webcam:`` without a number.
    """
    text = str(spec)
    index = inputs.parse_webcam(text)
    if index is not None:
        return CaptureSource(text, camera=inputs.open_capture(index))
    path = Path(text)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: video file not found (a source is webcam:N or a video file)")
    video = VideoFile(path)
    if video.num_frames == 0:  # pragma: no cover - VideoFile refuses streams without frames already
        video.close()
        raise DataError(f"{path}: the video has no frames")
    return CaptureSource(text, video=video)
