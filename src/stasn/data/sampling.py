"""Which frames of a video to use: pure functions on frame counts, and :class:`FrameSampler` that combines them.

Every function returns 0-based frame indices in increasing order. ``first_frames`` (SiW protocol 1 uses only the
first N frames of each video) is applied first, by shrinking the number of frames the policies see.

=================================  ==========================================================================
``FrameSampler(...)``              frames taken from a video of ``n`` frames
=================================  ==========================================================================
``()``                             every frame
``(count=N)``                      N frames spread evenly over the video (segment centres)
``(stride=S)``                     every S-th frame: 0, S, 2S, ...
``(count=N, stride=S)``            one run of N frames at step S, centred in the video
``(count=N, stride=S, clips=K)``   K runs of N // K frames at step S, their starts spread evenly
=================================  ==========================================================================

A video shorter than what was asked gives what it has (never repeated indices); padding a short clip is the
training dataset's job (:mod:`stasn.data.clips`).

Clips of ``T`` frames are placed by one rule wherever a video is cut into clips — in a video's frames here, and in its
usable (cached) frames by evaluation (:class:`~stasn.data.clips.ClipDataset`) and by the predictor
(:class:`stasn.infer.detector.Detector`): :func:`clip_starts` says where clips start and :func:`clip_positions` which
frames one clip takes. So the predictor scores the clips evaluation scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "FrameSampler",
    "even_indices",
    "stride_indices",
    "clip_span",
    "clip_starts",
    "clip_positions",
    "clip_indices",
    "usable_frames",
]


def usable_frames(num_frames: int, first_frames: int | None = None) -> int:
    """Number of frames a policy may draw from: ``num_frames``, capped at ``first_frames`` when given."""
    if num_frames < 0:
        raise ValueError(f"num_frames must be >= 0, got {num_frames}")
    if first_frames is None:
        return num_frames
    if first_frames < 1:
        raise ValueError(f"first_frames must be >= 1, got {first_frames}")
    return min(num_frames, first_frames)


def even_indices(num_frames: int, count: int) -> list[int]:
    """``count`` indices spread evenly over ``num_frames`` frames: the centre frame of each of ``count`` equal
    segments. Gives every frame when ``count >= num_frames``.

    >>> even_indices(10, 5)
    [1, 3, 5, 7, 9]
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    if count >= num_frames:
        return list(range(num_frames))
    centres = (np.arange(count) + 0.5) * num_frames / count
    return [int(i) for i in np.floor(centres)]


def stride_indices(num_frames: int, stride: int, *, start: int = 0, count: int | None = None) -> list[int]:
    """``start, start + stride, ...`` below ``num_frames``, at most ``count`` of them.

    >>> stride_indices(10, 3)
    [0, 3, 6, 9]
    """
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    indices = list(range(start, num_frames, stride))
    return indices if count is None else indices[:count]


def clip_span(num_frames: int, stride: int = 1) -> int:
    """Frames one clip of ``num_frames`` frames at step ``stride`` covers, first to last: ``(T - 1) * stride + 1``."""
    return (num_frames - 1) * stride + 1


def clip_starts(num_available: int, num_frames: int, clips: int, stride: int = 1) -> list[int]:
    """Where ``clips`` clips of ``num_frames`` frames (step ``stride``) start among ``num_available`` frames.

    One clip is centred; several have their starts spread evenly from the first frame to the last start that fits
    (rounded half to even, as numpy rounds; equal starts are merged). When not even one clip fits, the one clip
    starts at 0 (:func:`clip_positions` then stretches it); no frame gives no clip.

    >>> clip_starts(10, 5, 1)
    [2]
    >>> clip_starts(10, 5, 3)
    [0, 2, 5]
    >>> clip_starts(3, 5, 2)
    [0]
    """
    if num_frames < 1 or clips < 1 or stride < 1:
        raise ValueError(f"need num_frames, clips, stride >= 1, got {num_frames}, {clips}, {stride}")
    if num_available < 1:
        return []
    last = max(0, num_available - clip_span(num_frames, stride))
    if clips == 1:
        return [last // 2]
    return [int(s) for s in np.unique(np.round(np.linspace(0, last, clips)).astype(int))]


def clip_positions(num_available: int, num_frames: int, start: int, stride: int = 1) -> list[int]:
    """The frames (positions among ``num_available``) one clip of ``num_frames`` frames starting at ``start`` takes.

    ``start, start + stride, ...`` when they fit; otherwise ``num_frames`` positions spread over all frames in order,
    repeating some (a short video is stretched, not looped).

    >>> clip_positions(10, 4, 2)
    [2, 3, 4, 5]
    >>> clip_positions(3, 5, 0)
    [0, 0, 1, 2, 2]
    """
    if num_available < 1 or num_frames < 1 or stride < 1:
        raise ValueError(f"need num_available, num_frames, stride >= 1, got {num_available}, {num_frames}, {stride}")
    span = clip_span(num_frames, stride)
    if span <= num_available:
        if not 0 <= start <= num_available - span:
            raise ValueError(f"clip start {start} outside [0, {num_available - span}]")
        return list(range(start, start + span, stride))
    return [int(p) for p in np.round(np.linspace(0, num_available - 1, num_frames))]


def clip_indices(num_frames: int, clip_len: int, num_clips: int = 1, stride: int = 1) -> list[list[int]]:
    """``num_clips`` runs of ``clip_len`` frames at step ``stride``, placed by :func:`clip_starts` (one run is
    centred, several spread evenly).

    A video too short for one full run gives one shorter run (sampling never repeats a frame); runs may overlap when
    the video is short.

    >>> clip_indices(20, 3, num_clips=2, stride=2)
    [[0, 2, 4], [15, 17, 19]]
    """
    if clip_len < 1 or num_clips < 1:
        raise ValueError(f"clip_len and num_clips must be >= 1, got {clip_len} and {num_clips}")
    span = clip_span(clip_len, stride)
    if 0 < num_frames < span:
        return [stride_indices(num_frames, stride, count=clip_len)]
    return [list(range(start, start + span, stride)) for start in clip_starts(num_frames, clip_len, num_clips, stride)]


@dataclass(frozen=True)
class FrameSampler:
    """A frame-sampling policy (see the module table).

    Attributes:
        count: frames to take per video (all clips together); ``None`` = no limit.
        stride: step between frames of a run; ``None`` = spread ``count`` evenly over the whole video.
        clips: number of runs; needs ``count`` and ``stride``, and ``count`` must be a multiple of it.
    """

    count: int | None = None
    stride: int | None = None
    clips: int = 1

    def __post_init__(self) -> None:
        if self.count is not None and self.count < 1:
            raise ValueError(f"count must be >= 1 (or None for every frame), got {self.count}")
        if self.stride is not None and self.stride < 1:
            raise ValueError(f"stride must be >= 1, got {self.stride}")
        if self.clips < 1:
            raise ValueError(f"clips must be >= 1, got {self.clips}")
        if self.clips > 1 and (self.count is None or self.stride is None):
            raise ValueError(f"clips={self.clips} needs both count and stride (K runs of count // K frames at stride)")
        if self.clips > 1 and self.count % self.clips:  # type: ignore[operator]
            raise ValueError(f"count={self.count} is not a multiple of clips={self.clips}")

    def indices(self, num_frames: int, first_frames: int | None = None) -> list[int]:
        """Sorted frame indices for a video of ``num_frames`` frames (only its first ``first_frames`` if given)."""
        n = usable_frames(num_frames, first_frames)
        if self.count is None:
            return stride_indices(n, self.stride or 1)
        if self.stride is None:
            return even_indices(n, self.count)
        runs = clip_indices(n, self.count // self.clips, self.clips, self.stride)
        return sorted({i for run in runs for i in run})

    def describe(self) -> str:
        """A short human-readable form, e.g. ``"16 evenly spread"``."""
        if self.count is None:
            return "every frame" if (self.stride or 1) == 1 else f"every {self.stride}th frame"
        if self.stride is None:
            return f"{self.count} evenly spread"
        return f"{self.clips} run(s) of {self.count // self.clips} frames at stride {self.stride}"
