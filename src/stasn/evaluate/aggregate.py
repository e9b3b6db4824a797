"""Frame (or clip) scores -> one score per video.

Video-level evaluation is the convention on OULU-NPU, SiW, CASIA-FASD and Replay-Attack: every presentation (video)
counts once, however many frames were scored. The default is the mean of the frame scores.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from stasn.errors import DataError
from stasn.evaluate.scores import STATUS_OK, ScoreRow

__all__ = ["AGGREGATES", "aggregate_videos"]

AGGREGATES: dict[str, Callable[[np.ndarray], float]] = {
    "mean": lambda s: float(np.mean(s)),
    "median": lambda s: float(np.median(s)),
    "max": lambda s: float(np.max(s)),  # a video is as suspicious as its most suspicious frame
    "min": lambda s: float(np.min(s)),
}


def aggregate_videos(rows: Sequence[ScoreRow], method: str = "mean") -> list[ScoreRow]:
    """One row per ``video_id``, its score the ``method`` of the frames that responded.

    Frames that are non-responses are left out; a video none of whose frames responded is itself a non-response
    (status of its first frame). All frames of a video must agree on label, attack type and subject.

    Args:
        rows: frame or clip rows, in any order.
        method: one of ``mean``, ``median``, ``max``, ``min``.

    Returns:
        Rows with ``sample_id = video_id`` and ``frame_index = -1``, in order of first appearance.

    Example:
        >>> frames = [ScoreRow("v#0", "v", 1, "print", 0.2), ScoreRow("v#1", "v", 1, "print", 0.6)]
        >>> aggregate_videos(frames)[0].spoof_score
        0.4
    """
    if method not in AGGREGATES:
        raise ValueError(f"Unknown aggregate {method!r}. Valid values are {{{', '.join(AGGREGATES)}}}.")
    reduce = AGGREGATES[method]
    groups: dict[str, list[ScoreRow]] = {}
    for row in rows:
        groups.setdefault(row.video_id, []).append(row)
    videos = []
    for video_id, frames in groups.items():
        first = frames[0]
        for frame in frames[1:]:
            if (frame.label, frame.attack_type, frame.subject) != (first.label, first.attack_type, first.subject):
                raise DataError(
                    f"video {video_id!r}: frames {first.sample_id!r} and {frame.sample_id!r} disagree on "
                    "label/attack_type/subject; one video must have one label"
                )
        scores = np.array([f.spoof_score for f in frames if f.responded])
        responded = scores.size > 0
        videos.append(
            ScoreRow(
                sample_id=video_id,
                video_id=video_id,
                label=first.label,
                attack_type=first.attack_type,
                spoof_score=reduce(scores) if responded else math.nan,
                frame_index=-1,
                subject=first.subject,
                status=STATUS_OK if responded else first.status,
            )
        )
    return videos
