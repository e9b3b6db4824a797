"""What the predictor reads: input specs (files, folders, globs, ``webcam:N``), images with size limits, videos and
camera captures, and the container of an upload decided from its bytes.

Frames are ``np.ndarray[H, W, 3]`` uint8 RGB everywhere, as :mod:`stasn.data.video` gives them. Image files and
uploads are checked against a pixel limit *before* they are decoded (the header is read with Pillow), so a small file
that declares enormous dimensions (a decompression bomb) is refused without allocating its pixels, and once more
after decoding (a header can lie); decoding itself is ``cv2.imdecode``, as in :func:`stasn.data.video.read_image`,
so inference sees the pixels training saw.

**Uploads** (:func:`sniff_media`) are typed by their first bytes, never by the client's file name: images JPEG,
PNG, WebP, BMP and TIFF; videos MP4/MOV (ISO base media, ``ftyp``), WebM/MKV (EBML) and AVI (RIFF ``AVI``).
Anything else — an HLS playlist, an ffconcat list, SVG, GIF, text — is refused before any decoder sees it (the
service answers 415). A video upload is written to a temporary file with the suffix of its sniffed type and opened
with that demuxer forced and FFmpeg limited to the ``file`` protocol (:func:`stasn.data.video.open_container`).
GIF is not accepted: OpenCV decodes only its first frame and an animation is neither a photo nor a video here.
"""

from __future__ import annotations

import glob
import io
import logging
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

import av
import cv2
import numpy as np
from PIL import Image

from stasn.data.video import VideoFile, av_reason, open_container
from stasn.errors import DataError, LimitError
from stasn.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "LimitError",
    "MediaType",
    "sniff_media",
    "UPLOAD_FORMATS",
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

DEFAULT_MAX_PIXELS = 50_000_000  # ~ 8660 x 5770; far above any camera frame a face model needs


class MediaType(NamedTuple):
    """What :func:`sniff_media` recognised in an upload's first bytes."""

    kind: str  # "image" or "video"
    name: str  # "jpeg", "png", "webp", "bmp", "tiff", "mp4", "mov", "webm", "mkv", "avi"
    suffix: str  # the suffix a temporary file of this type gets (".jpg", ".mp4", ...)
    demuxer: str | None = None  # the FFmpeg demuxer forced for a video ("mov", "matroska", "avi"); None for images


UPLOAD_FORMATS = "an image (JPEG, PNG, WebP, BMP, TIFF) or a video (MP4/MOV, WebM/MKV, AVI)"
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}  # the DIB header sizes Windows and OS/2 bitmaps use
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}  # QuickTime files without an ftyp box


def sniff_media(data: bytes) -> MediaType | None:
    """The container of ``data`` from its magic numbers, or ``None`` when it is none of the accepted types.

    >>> sniff_media(b"\\xff\\xd8\\xff\\xe0" + bytes(16)).name
    'jpeg'
    >>> sniff_media(b"#EXTM3U\\n/etc/passwd\\n") is None
    True
    """
    head = bytes(data[:64])
    if head.startswith(b"\xff\xd8\xff"):
        return MediaType("image", "jpeg", ".jpg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaType("image", "png", ".png")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaType("image", "webp", ".webp")
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return MediaType("image", "bmp", ".bmp")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return MediaType("image", "tiff", ".tif")
    if (head[4:8] == b"ftyp" and head[8:12] == b"qt  ") or head[4:8] in _QUICKTIME_ATOMS:
        return MediaType("video", "mov", ".mov", "mov")
    if head[4:8] == b"ftyp":  # ISO base media: mp4, m4v, 3gp, ... (FFmpeg's "mov" demuxer reads them all)
        return MediaType("video", "mp4", ".mp4", "mov")
    if head[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in bytes(data[:256]):  # EBML with DocType "webm"
        return MediaType("video", "webm", ".webm", "matroska")
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska
        return MediaType("video", "mkv", ".mkv", "matroska")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return MediaType("video", "avi", ".avi", "avi")
    return None


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
        LimitError: width x height > ``max_pixels`` (checked from the header, and again on the decoded pixels).
        DataError: empty, not an image format Pillow recognises, or OpenCV cannot decode it (corrupt/truncated).
    """
    if not data:
        raise DataError(f"{name}: the file is empty")
    try:
        with Image.open(io.BytesIO(data)) as header:  # lazy: reads the header only
            width, height = header.size
    except Image.DecompressionBombError as exc:  # Pillow's own header check (above 2x its MAX_IMAGE_PIXELS)
        raise LimitError(f"{name}: {exc}") from None
    except Image.UnidentifiedImageError:
        raise DataError(f"{name}: not a readable image (no image format recognised)") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{name}: not a readable image ({_first_line(exc)})") from None
    _check_pixels(name, "image", width, height, max_pixels)
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"{name}: cannot decode this image (corrupt, truncated or an unsupported format)")
    _check_pixels(name, "decoded image", image.shape[1], image.shape[0], max_pixels)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _check_pixels(name: str, what: str, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise LimitError(f"{name}: {what} is {width}x{height} = {width * height:,} pixels, the limit is {max_pixels:,}")


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message, without the repr of an in-memory buffer Pillow may put in it."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return re.sub(r"<_io\.\w+ object at 0x[0-9a-f]+>", "the data", text)


def load_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file (see :func:`decode_image`). ``FileNotFoundError`` when it does not exist."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: image file not found")
    return decode_image(path.read_bytes(), name=str(path), max_pixels=max_pixels)


def open_video_checked(
    path: str | Path,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_frames: int | None = None,
    name: str | None = None,
    demuxer: str | None = None,
) -> VideoFile:
    """Open a video with :class:`stasn.data.video.VideoFile` after checking its frame size from the stream header;
    every decoded frame is checked against ``max_pixels`` again (a header may say 0x0 or lie).

    Args:
        path: the video file.
        max_pixels: refuse frames larger than this (from the header before any decoding, then per decoded frame).
        max_frames: refuse videos with more frames (counted by demuxing, no decoding).
        name: how messages name the file (e.g. an upload's file name); default the path.
        demuxer: force this FFmpeg container format (an upload's sniffed type, :class:`MediaType`).

    Raises:
        FileNotFoundError, LimitError, DataError (not a video, truncated, no frames).
    """
    path = Path(path)
    name = name or str(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: video file not found")
    # Probe with PyAV directly: VideoFile's demux pass is cheap, but the dimensions must be known before decoding.
    try:
        with open_container(path, demuxer=demuxer) as container:
            if not container.streams.video:
                raise DataError(f"{name}: not a video (no video stream)")
            ctx = container.streams.video[0].codec_context
            width, height = int(ctx.width or 0), int(ctx.height or 0)
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise DataError(f"{name}: not a readable image or video ({av_reason(exc)})") from None
    _check_pixels(name, "a video frame", width, height, max_pixels)
    try:
        video = VideoFile(path, demuxer=demuxer, max_pixels=max_pixels)
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
