"""Reading frames of videos, image sequences and still images, all through one interface.

Frames are ``np.ndarray[H, W, 3]`` uint8 **RGB**, already turned upright: a video's display matrix (or its legacy
``rotate`` tag) is honoured, and so is a JPEG's EXIF orientation (OpenCV's ``imread`` applies it).

Videos are decoded with PyAV, seeking instead of decoding everything: one demux pass (packets only, no decoding)
lists every frame's presentation time and the keyframes; to read frame ``i`` the reader seeks to the keyframe at or
before it and decodes forward, and it keeps decoding without a new seek while the next wanted frame is in the same
group of pictures; frames nothing references and nobody asked for (most B-frames) are not decoded at all. Frame
``i`` is the ``i``-th frame in presentation order, which is what full decoding returns.

    with open_video("clip.mp4") as video:
        for index, frame in video.read([0, 30, 60]):   # frame: np.ndarray[H, W, 3] uint8 RGB
            ...
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import cv2
import numpy as np

from stasn.errors import DataError, LimitError
from stasn.fileio import atomic_path
from stasn.media import IMAGE_SUFFIXES

if TYPE_CHECKING:
    from stasn.datasets.base import Sample

__all__ = [
    "VideoWriter",
    "FrameSource",
    "VideoFile",
    "ImageSequence",
    "open_container",
    "open_video",
    "open_sample",
    "read_image",
    "encode_jpeg",
    "decode_jpeg",
    "jpeg_roundtrip",
    "av_reason",
]

log = logging.getLogger(__name__)


def read_image(path: str | Path) -> np.ndarray:
    """Read one image file as ``np.ndarray[H, W, 3]`` uint8 RGB (EXIF orientation applied)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: image file not found")
    # cv2.imdecode on the bytes instead of cv2.imread: imread cannot open non-ASCII paths on some platforms.
    image = _decode_rgb(np.fromfile(path, dtype=np.uint8))
    if image is None:
        raise DataError(f"{path}: cannot decode this image (corrupt or not an image)")
    return image


def _decode_rgb(data: np.ndarray) -> np.ndarray | None:
    """Encoded image bytes (``uint8[N]``) -> ``np.ndarray[H, W, 3]`` uint8 RGB, or ``None`` when OpenCV cannot."""
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


# One JPEG codec for every crop the model sees: the cache's crops (``stasn prepare``, ``stasn synth``), the
# predictor's round trip that makes a live crop look like a cached one, the codec steps of the synthesizers and the
# training augmentation all go through these three functions, so a crop gets the same pixels wherever it is made.
def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    """``np.ndarray[H, W, 3]`` uint8 RGB -> JPEG bytes at ``quality`` (1-100), with OpenCV's libjpeg.

    Raises:
        ValueError: ``quality`` outside [1, 100]. :class:`DataError`: OpenCV could not encode the image.
    """
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in [1, 100], got {quality}")
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV failure
        raise DataError(f"OpenCV failed to JPEG-encode a {rgb.dtype} {rgb.shape} image")
    return data.tobytes()


def decode_jpeg(data: bytes) -> np.ndarray:
    """JPEG bytes -> ``np.ndarray[H, W, 3]`` uint8 RGB, decoded as :func:`read_image` decodes a file.

    Raises:
        :class:`DataError`: the bytes are not a decodable image.
    """
    image = _decode_rgb(np.frombuffer(data, dtype=np.uint8))
    if image is None:
        raise DataError("cannot decode these bytes as an image")
    return image


def jpeg_roundtrip(images: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode ``np.ndarray[H, W, 3]`` or each frame of ``np.ndarray[T, H, W, 3]`` (uint8 RGB) as JPEG at
    ``quality``: the pixels a crop has once stored in a cache, or the blocking and ringing of a compressed capture."""
    if images.ndim == 4:
        return np.stack([decode_jpeg(encode_jpeg(frame, quality)) for frame in images])
    return decode_jpeg(encode_jpeg(images, quality))


def _upright(rgb: np.ndarray, ccw_degrees: int) -> np.ndarray:
    """Rotate a decoded frame by ``ccw_degrees`` counter-clockwise (a multiple of 90) so it displays upright."""
    k = round(ccw_degrees / 90) % 4
    return rgb if k == 0 else np.ascontiguousarray(np.rot90(rgb, k))


class FrameSource:
    """Base class of the readers: a sequence of ``num_frames`` frames read by index. Use as a context manager."""

    path: Path
    num_frames: int
    fps: float | None = None

    def read(self, indices: Sequence[int]) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, frame)`` for the sorted, de-duplicated ``indices``; ``frame`` is ``np.ndarray[H, W, 3]``
        uint8 RGB. Raises :class:`DataError` naming the file when a frame cannot be decoded."""
        raise NotImplementedError

    def frame(self, index: int) -> np.ndarray:
        """One frame, ``np.ndarray[H, W, 3]`` uint8 RGB."""
        return next(iter(self.read([index])))[1]

    def _check(self, indices: Sequence[int]) -> list[int]:
        wanted = sorted(set(int(i) for i in indices))
        if wanted and (wanted[0] < 0 or wanted[-1] >= self.num_frames):
            bad = wanted[0] if wanted[0] < 0 else wanted[-1]
            raise IndexError(f"{self.path}: frame {bad} out of range, the video has {self.num_frames} frames")
        return wanted

    def close(self) -> None:
        """Release the file; the reader cannot be used afterwards."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ImageSequence(FrameSource):
    """Ordered image files read as a video (NUAA sequences); one file is a one-frame video (a still image)."""

    def __init__(self, paths: Sequence[str | Path], *, fps: float | None = None) -> None:
        if not paths:
            raise ValueError("an image sequence needs at least one file")
        self.paths = [Path(p) for p in paths]
        self.path = self.paths[0]
        self.num_frames = len(self.paths)
        self.fps = fps

    def read(self, indices: Sequence[int]) -> Iterator[tuple[int, np.ndarray]]:
        for index in self._check(indices):
            yield index, read_image(self.paths[index])


def open_container(path: str | Path, *, demuxer: str | None = None) -> av.container.InputContainer:
    """``av.open`` for reading one local file: FFmpeg may use the ``file`` protocol only (a playlist or concat list
    cannot make it fetch a URL), and with ``demuxer`` (``"mov"``, ``"matroska"``, ``"avi"``) that container format is
    forced, so a file that is really an HLS playlist or an ffconcat list is not parsed as one (it cannot open other
    files either).

    Raises:
        av.FFmpegError: FFmpeg cannot open it.
    """
    return av.open(str(path), format=demuxer, container_options={"protocol_whitelist": "file"})


def av_reason(exc: BaseException) -> str:
    """FFmpeg's reason without the file name it appends (callers name the file their own way)."""
    reason = getattr(exc, "strerror", None) or (str(exc).splitlines()[0] if str(exc) else "")
    return reason or type(exc).__name__


class VideoFile(FrameSource):
    """A video file decoded with PyAV, seeking to the wanted frames (see the module docstring).

    Args:
        path: the video file.
        threads: decoder threads; ``None`` = FFmpeg's choice. ``stasn prepare`` workers use 1 (one process per core).
        demuxer: force this FFmpeg container format (see :func:`open_container`); ``None`` = FFmpeg's guess.
        max_pixels: refuse every decoded frame larger than this (:class:`~stasn.errors.LimitError`), checked before it
            is converted to RGB; the stream header can lie or say 0x0.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        threads: int | None = None,
        demuxer: str | None = None,
        max_pixels: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.max_pixels = max_pixels
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: video file not found")
        try:
            self._container = open_container(self.path, demuxer=demuxer)
        except (av.FFmpegError, UnicodeDecodeError) as exc:
            raise DataError(f"{self.path}: cannot open as a video ({av_reason(exc)})") from None
        try:
            if not self._container.streams.video:
                raise DataError(f"{self.path}: has no video stream")
            self._stream = self._container.streams.video[0]
            if threads is not None:
                self._stream.codec_context.thread_count = threads
            rate = self._stream.average_rate or self._stream.guessed_rate
            self.fps = float(rate) if rate else None
            self._index_frames()
        except BaseException:
            self._container.close()
            raise

    def _index_frames(self) -> None:
        """One demux pass: presentation times of every frame (sorted) and of the keyframes. No decoding."""
        pts: list[int] = []
        keys: list[int] = []
        self._seekable = True
        try:
            for packet in self._container.demux(self._stream):
                if packet.size == 0 or packet.is_discard:  # flush packet; frames an edit list drops
                    continue
                if packet.pts is None:
                    self._seekable = False
                    pts.append(len(pts))  # placeholder; frames are then counted while decoding in order
                    continue
                pts.append(packet.pts)
                if packet.is_keyframe:
                    keys.append(packet.pts)
        except av.FFmpegError as exc:
            raise DataError(f"{self.path}: cannot read the video packets ({av_reason(exc)})") from None
        if not pts:
            raise DataError(f"{self.path}: the video stream has no frames")
        self._pts = sorted(pts)
        self._keys = sorted(keys)
        self.num_frames = len(self._pts)
        self._container.seek(0)

    def read(self, indices: Sequence[int]) -> Iterator[tuple[int, np.ndarray]]:
        wanted = self._check(indices)
        if not wanted:
            return
        try:
            if self._seekable:
                yield from self._read_seeking(wanted)
            else:
                yield from self._read_in_order(wanted)
        except av.FFmpegError as exc:
            raise DataError(f"{self.path}: decoding failed ({av_reason(exc)})") from None

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        # The display matrix arrives as frame side data (frame.rotation, counter-clockwise); older files may carry
        # only a clockwise "rotate" tag on the stream.
        if self.max_pixels is not None and frame.width * frame.height > self.max_pixels:
            raise LimitError(
                f"{self.path}: a decoded frame is {frame.width}x{frame.height} = {frame.width * frame.height:,} "
                f"pixels, the limit is {self.max_pixels:,}"
            )
        rotation = frame.rotation or -int(float(self._stream.metadata.get("rotate", 0) or 0))
        return _upright(frame.to_ndarray(format="rgb24"), rotation)

    def _decoded(self, keep: set[int] | None = None) -> Iterator[av.VideoFrame]:
        """Decoded frames from the current position. With ``keep`` (presentation times of the wanted frames), frames
        that nothing references (B-frames, mostly) and that are not wanted are skipped by the decoder."""
        context = self._stream.codec_context
        for packet in self._container.demux(self._stream):
            if keep is not None:
                context.skip_frame = "DEFAULT" if packet.pts is None or packet.pts in keep else "NONREF"
            yield from packet.decode()

    def _read_seeking(self, wanted: list[int]) -> Iterator[tuple[int, np.ndarray]]:
        keep = {self._pts[i] for i in wanted}
        frames: Iterator[av.VideoFrame] | None = None
        position: int | None = None  # pts of the last decoded frame
        for index in wanted:
            target = self._pts[index]
            # Seek when going backwards, or when a keyframe lies between here and the target (cheaper than decoding
            # the rest of this group of pictures); otherwise keep decoding forward.
            key = self._keys[bisect.bisect_right(self._keys, target) - 1] if self._keys else None
            fresh = frames is None or position is None or target <= position or (key is not None and key > position)
            if fresh:
                frames = self._seek(target, keep)
            while True:
                frame = next(frames, None)  # type: ignore[arg-type]
                if frame is None:
                    raise DataError(f"{self.path}: the stream ended before frame {index} (file truncated?)")
                if frame.pts is None:
                    continue
                if fresh and frame.pts > target:
                    # The demuxer's seek landed after the target (possible with B-frames): decode from the start.
                    log.debug("%s: seek to pts %d landed at %d; decoding from the start", self.path, target, frame.pts)
                    frames, fresh = self._seek(self._pts[0], keep), False
                    continue
                fresh = False
                position = frame.pts
                if frame.pts == target:
                    yield index, self._to_rgb(frame)
                    break
                if frame.pts > target:
                    raise DataError(f"{self.path}: frame {index} (pts {target}) is missing from the decoded stream")

    def _seek(self, target_pts: int, keep: set[int]) -> Iterator[av.VideoFrame]:
        self._container.seek(target_pts, stream=self._stream, backward=True, any_frame=False)
        return self._decoded(keep)

    def _read_in_order(self, wanted: list[int]) -> Iterator[tuple[int, np.ndarray]]:
        # Without timestamps a frame can only be found by counting from the start.
        self._container.seek(0)
        self._stream.codec_context.skip_frame = "DEFAULT"
        todo = iter(wanted)
        target = next(todo)
        for count, frame in enumerate(self._decoded()):
            if count == target:
                yield count, self._to_rgb(frame)
                target = next(todo, None)
                if target is None:
                    return
        raise DataError(f"{self.path}: the stream ended before frame {target} (file truncated?)")

    def close(self) -> None:
        self._container.close()


def open_video(
    path: str | Path,
    *,
    frame_paths: Sequence[str | Path] | None = None,
    is_image: bool | None = None,
    threads: int | None = None,
) -> FrameSource:
    """Open a video file, an image sequence (``frame_paths``) or a still image (a one-frame video).

    Args:
        path: the video or image file (for a sequence, its first file; only used in messages).
        frame_paths: the ordered files of an image-sequence video.
        is_image: ``path`` is a still image; ``None`` decides from the suffix.
        threads: video decoder threads (``None`` = FFmpeg's choice).

    Raises:
        FileNotFoundError: the file is missing. :class:`DataError`: it cannot be read as a video.
    """
    if frame_paths:
        return ImageSequence(frame_paths)
    path = Path(path)
    if is_image or (is_image is None and path.suffix.lower() in IMAGE_SUFFIXES):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: image file not found")
        return ImageSequence([path])
    return VideoFile(path, threads=threads)


def open_sample(sample: Sample, *, threads: int | None = None) -> FrameSource:
    """Open a :class:`stasn.datasets.Sample` (video, image sequence or still image)."""
    return open_video(sample.path, frame_paths=sample.frame_paths, is_image=sample.is_image or None, threads=threads)


def _codec() -> str:
    for name in ("libx264", "mpeg4"):
        try:
            av.codec.Codec(name, "w")
            return name
        except (av.FFmpegError, ValueError):
            continue
    raise RuntimeError("this PyAV/FFmpeg build has neither the libx264 nor the mpeg4 encoder")


class VideoWriter:
    """Frames (``np.ndarray[H, W, 3]`` uint8 RGB, all the same size) to an MP4 file with PyAV.

    Odd widths/heights are cropped by one pixel (4:2:0 chroma needs even sizes). Use as a context manager; the file
    appears under its name only when the writer closes without error and after at least one frame (``frames``).
    """

    def __init__(self, path: str | Path, *, fps: float = 30.0) -> None:
        self.path = Path(path)
        self.fps = fps if fps and fps > 0 else 30.0
        self._atomic = atomic_path(self.path)
        self._container = None
        self._stream = None
        self.frames = 0

    def __enter__(self) -> VideoWriter:
        self._tmp = self._atomic.__enter__()
        self._container = av.open(str(self._tmp), mode="w", format="mp4")
        return self

    def write(self, frame: np.ndarray) -> None:
        height, width = (frame.shape[0] // 2) * 2, (frame.shape[1] // 2) * 2
        if self._stream is None:
            codec = _codec()
            rate = Fraction(self.fps).limit_denominator(1001)
            self._stream = self._container.add_stream(codec, rate=rate)
            self._stream.width, self._stream.height, self._stream.pix_fmt = width, height, "yuv420p"
            if codec == "libx264":
                self._stream.options = {"crf": "20", "preset": "veryfast"}
            else:
                self._stream.bit_rate = 4_000_000
        av_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:height, :width]), format="rgb24")
        for packet in self._stream.encode(av_frame):
            self._container.mux(packet)
        self.frames += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        error = exc
        try:
            if exc is None and self._stream is not None:
                for packet in self._stream.encode():  # flush the encoder
                    self._container.mux(packet)
        except Exception as flush_error:  # noqa: BLE001 - re-raised below after the temp file is removed
            error = flush_error
        finally:
            self._container.close()
        if error is None and self.frames:
            self._atomic.__exit__(None, None, None)  # rename into place
            return
        if error is None:  # nothing was written: leave no file
            error = _NoFrames()
        self._atomic.__exit__(type(error), error, error.__traceback__)  # deletes the temp file
        if error is not exc and not isinstance(error, _NoFrames):
            raise error


class _NoFrames(Exception):
    """Internal: makes ``atomic_path`` discard an empty output."""
