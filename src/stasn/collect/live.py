"""``stasn collect live``: guided capture of bona fide clips into a generic dataset (:mod:`stasn.collect.dataset`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from stasn.collect.dataset import check_name, next_session, read_samples, samples_path, write_samples
from stasn.collect.prompts import LIVE_PROMPTS, Prompter, make_prompter
from stasn.collect.record import CollectSummary, record_clip, utc_now
from stasn.collect.sources import open_source
from stasn.datasets.base import SPLITS
from stasn.errors import DataError
from stasn.labels import LIVE, AttackType

__all__ = ["collect_live"]

log = logging.getLogger(__name__)


def collect_live(
    source: str | Path,
    subject: str,
    out: str | Path,
    *,
    seconds: float = 10.0,
    clips: int = 1,
    session: str | None = None,
    split: str = "train",
    camera: str | None = None,
    light: str = "",
    prompts: bool = False,
    window: bool | None = None,
    countdown: int = 3,
    prompter: Prompter | None = None,
    echo: Callable[[str], None] | None = None,
) -> CollectSummary:
    """Record ``clips`` bona fide clips of ``subject`` from ``source`` into the dataset ``out``.

    Args:
        source: ``"webcam:N"`` or a video file (read from its start; each clip continues where the last stopped).
        subject: the person's id (a folder name; pseudonymous ids, never names, see ``docs/collect.md``).
        out: the dataset folder (created; an existing ``samples.csv`` is extended).
        seconds: length of each clip; a clip has ``round(seconds * fps)`` frames of the source.
        clips: clips to record in this session.
        session: session id (default: ``s<N>``, the subject's next free number).
        split: ``train``, ``dev`` or ``test``; keep each subject in one split.
        camera: the capture camera's name, written to the ``device`` column (default ``webcam<N>`` or ``video``).
        light: the operator's note on the light (``"daylight, window left"``).
        prompts: tell the subject to turn, move and change the light during each clip (:data:`LIVE_PROMPTS`).
        window: prompts on an OpenCV window (``None``: when there is a display); text otherwise.
        countdown: seconds counted down before each clip from a camera.
        prompter: use this instead of making one (tests).
        echo: where text prompts go (default: logging).

    Returns:
        :class:`CollectSummary` with one row per clip written.

    Raises:
        FileNotFoundError / DataError: the source cannot be opened, or a file source has no frames left.
        ValueError: a bad name, split or length, or a clip id already in ``samples.csv``.
    """
    start = time.perf_counter()
    out = Path(out)
    check_name("subject", subject)
    if session is not None:
        check_name("session", session)
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}. Valid values are {{{', '.join(SPLITS)}}}.")
    if not seconds > 0 or clips < 1:
        raise ValueError(f"need seconds > 0 and clips >= 1, got seconds={seconds}, clips={clips}")
    rows = read_samples(out)
    session = session or next_session(rows, subject)
    ids = [f"live/{subject}/{session}_{n:02d}" for n in range(1, clips + 1)]
    taken = {r.get("video_id") or Path(r["path"]).with_suffix("").as_posix() for r in rows}
    clash = [i for i in ids if i in taken]
    if clash:
        raise ValueError(f"{samples_path(out)} already has {clash[0]!r}; choose another --session")
    summary = CollectSummary(out, samples_path(out))
    with open_source(source) as src:
        camera = check_name("camera", camera or (f"webcam{src.spec.split(':', 1)[1]}" if src.is_camera else "video"))
        prompter = prompter or make_prompter(window, echo)
        count = max(1, round(seconds * src.fps))
        try:
            for n, video_id in enumerate(ids, start=1):
                prompter.say(f"live clip {n}/{clips}: subject {subject}, session {session}, {count / src.fps:.1f} s")
                if src.is_camera:
                    prompter.wait("face the camera")
                    prompter.countdown(countdown)
                first = src.position
                frames = record_clip(
                    src, out / f"{video_id}.mp4", count, prompter, prompts=LIVE_PROMPTS if prompts else ()
                )
                if frames == 0 and not summary.written:
                    raise DataError(f"{src.spec}: no frames left to record clip {video_id} (the file ended?)")
                if frames == 0:
                    summary.skipped.extend(f"{i}: not recorded (the source ended)" for i in ids[n - 1 :])
                    break
                if frames < count:
                    summary.skipped.append(f"{video_id}: {frames} of {count} frames (the source ended or you stopped)")
                row = {
                    "path": f"{video_id}.mp4",
                    "label": str(LIVE),
                    "split": split,
                    "attack_type": AttackType.LIVE.value,
                    "subject": subject,
                    "session": session,
                    "device": camera,
                    "video_id": video_id,
                    "light": light,
                    "source": src.spec,
                    "source_start": str(first),
                    "frames": str(frames),
                    "fps": f"{src.fps:g}",
                    "recorded": utc_now(),
                }
                rows.append(row)
                write_samples(out, rows)
                summary.written.append(row)
                if frames < count:
                    break
        finally:
            prompter.close()
    summary.seconds = time.perf_counter() - start
    return summary
