"""What the predictor reads: input specs (files, folders, globs, ``webcam:N``), images with size limits, videos and
camera captures.

Frames are ``np.ndarray[H, W, 3]`` uint8 RGB everywhere, as :mod:`stasn.data.video` gives them. Image files and
uploads are checked against a pixel limit *before* they are decoded (the header is read with Pillow), so a small file
that declares enormous dimensions (a decompression bomb) is refused without allocating its pixels; decoding itself is
``cv2.imdecode``, as in :func:`stasn.data.video.read_image`, so inference sees the pixels training saw.
"""

from __future__ import annotations

import glob
import io
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

import av
import cv2
import numpy as np
from PIL import Image

from stasn.data.video import IMAGE_SUFFIXES, VideoFile
from stasn.errors import DataError

__all__ = [
    "VIDEO_SUFFIXES",
    "IMAGE_SUFFIXES",
    "DEFAULT_MAX_PIXELS",
    "LimitError",
    "InputItem",
    "Capture",
    "expand_inputs",
    "decode_image",
    "load_image",
    "open_video_checked",
    "open_capture",
    "capture_frames",
    "parse_webcam",
]

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts"}
DEFAULT_MAX_PIXELS = 50_000_000  # ~ 8660 x 5770; far above any camera frame a face model needs


class LimitError(DataError):
    """An input within the format but beyond a size limit (pixels, frames, bytes). The service answers 413."""


class InputItem(NamedTuple):
    """One input named on the command line, after folders and globs are expanded.

    ``kind`` is ``image``, ``video``, ``webcam`` (``index`` is the camera number) or ``missing`` (``error`` says why).
    """

    name: str
    kind: str
    path: Path | None = None
    index: int | None = None
    error: str | None = None


def _kind(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return None


def parse_webcam(spec: str) -> int | None:
    """``"webcam:0"`` -> 0; anything else -> ``None``. A malformed number is a ``ValueError``."""
    if not spec.lower().startswith("webcam:"):
        return None
    number = spec.split(":", 1)[1]
    if not number.isdigit():
        raise ValueError(f"{spec!r}: expected webcam:N with N a camera number, e.g. webcam:0")
    return int(number)


def expand_inputs(specs: Sequence[str | Path]) -> Iterator[InputItem]:
    """Expand each spec, in order: a file (image or video by suffix; other suffixes are tried as video), a folder
    (its image and video files, recursively, sorted), a glob pattern (``*``, ``?``, ``[``), or ``webcam:N``.

    A spec that matches nothing yields one ``missing`` item, so it is reported and counted rather than ignored.
    """
    for spec in specs:
        text = str(spec)
        camera = parse_webcam(text)
        if camera is not None:
            yield InputItem(text, "webcam", index=camera)
            continue
        path = Path(text)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _kind(p))
            if not files:
                yield InputItem(text, "missing", path, error=f"{path}: folder has no image or video files")
            for file in files:
                yield InputItem(str(file), _kind(file) or "video", file)
        elif path.is_file():
            yield InputItem(text, _kind(path) or "video", path)
        elif any(ch in text for ch in "*?["):
            files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
            if not files:
                yield InputItem(text, "missing", error=f"{text}: no file matches this pattern")
            for file in files:
                yield InputItem(str(file), _kind(file) or "video", file)
        else:
            yield InputItem(text, "missing", path, error=f"{path}: no such file or folder")


def decode_image(data: bytes, *, name: str = "image", max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode image bytes to ``np.ndarray[H, W, 3]`` uint8 RGB, refusing images over ``max_pixels`` undecoded.

    Raises:
        LimitError: width x height > ``max_pixels`` (checked from the header).
        DataError: not an image format Pillow recognises, or OpenCV cannot decode it (corrupt/truncated).
    """
    try:
        with Image.open(io.BytesIO(data)) as header:  # lazy: reads the header only
            width, height = header.size
    except Image.DecompressionBombError as exc:  # Pillow's own header check (above 2x its MAX_IMAGE_PIXELS)
        raise LimitError(f"{name}: {exc}") from None
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{name}: not a readable image ({str(exc).splitlines()[0] if str(exc) else 'unknown'})"
        ) from None
    if width * height > max_pixels:
        raise LimitError(f"{name}: image is {width}x{height} = {width * height:,} pixels, the limit is {max_pixels:,}")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise DataError(f"{name}: cannot decode this image (corrupt, truncated or an unsupported format)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def load_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file (see :func:`decode_image`). ``FileNotFoundError`` when it does not exist."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: image file not found")
    return decode_image(path.read_bytes(), name=str(path), max_pixels=max_pixels)


def open_video_checked(
    path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_frames: int | None = None, name: str | None = None
) -> VideoFile:
    """Open a video with :class:`stasn.data.video.VideoFile` after checking its frame size from the stream header.

    Args:
        path: the video file.
        max_pixels: refuse frames larger than this (before any frame is decoded).
        max_frames: refuse videos with more frames (counted by demuxing, no decoding).
        name: how messages name the file (e.g. an upload's file name); default the path.

    Raises:
        FileNotFoundError, LimitError, DataError (not a video, truncated, no frames).
    """
    path = Path(path)
    name = name or str(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: video file not found")
    # Probe with PyAV directly: VideoFile's demux pass is cheap, but the dimensions must be known before decoding.
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DataError(f"{name}: not a video (no video stream)")
            ctx = container.streams.video[0].codec_context
            width, height = int(ctx.width or 0), int(ctx.height or 0)
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise DataError(f"{name}: not a readable image or video ({str(exc).splitlines()[0]})") from None
    if width * height > max_pixels:
        raise LimitError(
            f"{name}: video frames are {width}x{height} = {width * height:,} pixels, the limit is {max_pixels:,}"
        )
    try:
        video = VideoFile(path)
    except DataError as exc:
        raise DataError(str(exc).replace(str(path), name)) from None
    if max_frames is not None and video.num_frames > max_frames:
        video.close()
        raise LimitError(f"{name}: video has {video.num_frames} frames, the limit is {max_frames}")
    return video


class Capture(Protocol):
    """What :func:`capture_frames` needs of a camera: ``cv2.VideoCapture``'s ``read`` and ``release``."""

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def release(self) -> None: ...


def open_capture(index: int) -> Capture:
    """Open camera ``index`` with ``cv2.VideoCapture``. Tests replace this function to inject a fake camera.

    Raises:
        DataError: the camera cannot be opened.
    """
    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        capture.release()
        raise DataError(f"webcam:{index}: cannot open this camera (is it connected and free?)")
    return capture


def capture_frames(capture: Capture, *, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Frames of a camera as ``np.ndarray[H, W, 3]`` uint8 RGB until it stops or ``max_frames`` were read.

    The capture is released when the iterator ends or is closed.
    """
    count = 0
    try:
        while max_frames is None or count < max_frames:
            ok, bgr = capture.read()
            if not ok or bgr is None:
                return
            count += 1
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()
