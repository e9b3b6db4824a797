"""Recording one clip: frames from a source into an MP4 file, with prompts and a preview on the way.

Live clips and replays go through the same writer (H.264 at the same quality, :class:`stasn.data.video.
VideoWriter`), so the codec cannot tell the classes apart; only what was in front of the camera can.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stasn.collect.prompts import Prompter, spread
from stasn.collect.sources import CaptureSource
from stasn.data.video import VideoWriter

__all__ = ["CollectSummary", "record_clip", "utc_now"]


@dataclass
class CollectSummary:
    """What a capture wrote."""

    out: Path
    samples: Path  # the dataset's samples.csv
    written: list[dict[str, str]] = field(default_factory=list)  # the rows added, one per clip
    skipped: list[str] = field(default_factory=list)  # what was not recorded, and why (one line each)
    seconds: float = 0.0


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def record_clip(
    source: CaptureSource,
    path: Path,
    count: int,
    prompter: Prompter,
    *,
    prompts: Sequence[str] = (),
    play: Iterator[np.ndarray] | None = None,
    play_ratio: float = 1.0,
) -> int:
    """Record the next ``count`` frames of ``source`` into ``path`` (an MP4 at the source's frame rate).

    Args:
        prompts: shown to the subject, spread evenly over the clip.
        play: frames of a clip to show full screen on this machine while recording (replays filmed off this
            machine's own screen); ``play_ratio`` of them per recorded frame (their fps / the source's).

    Returns:
        Frames written (fewer than ``count`` when a file source ends or the operator stops; 0 writes no file).
    """
    schedule = spread(prompts, count)
    shown = -1
    with VideoWriter(path, fps=source.fps) as writer:
        for k, frame in enumerate(source.take(count)):
            if k in schedule:
                prompter.prompt(k / source.fps, schedule[k])
            if play is not None:
                wanted = int(k * play_ratio)
                while shown < wanted:
                    current = next(play, None)
                    shown += 1
                    if current is None:
                        play = None
                        break
                    if shown == wanted:
                        prompter.play(current)
            writer.write(frame)
            if not prompter.show(frame):
                prompter.say("stopped by the operator")
                break
    return writer.frames
