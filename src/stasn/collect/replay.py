"""``stasn collect replay``: the attack half of a capture. Every live clip of a dataset is replayed on a display (a
phone, tablet or monitor) and filmed; each replay is paired with its live clip in ``samples.csv``.

Two ways to show the clip:

* **guided** (default): the operator plays ``live/<subject>/<clip>.mp4`` full screen on the device and holds it in
  front of the camera; stasn says which clip, waits for Enter, counts down and records as long as the clip lasts;
* **play** (``play=True``, needs a display): this machine shows the clip full screen itself while the camera films
  its screen (the display is this machine's monitor). Without a display it falls back to guided, with a warning.

With a video file as the source, the file holds the recorded replays one after another: each replay takes the next
stretch of the file as long as its live clip (at the file's frame rate). A replay already recorded for the same
display is skipped, so an interrupted session resumes where it stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from stasn.collect.dataset import check_name, read_samples, samples_path, write_samples
from stasn.collect.prompts import Prompter, make_prompter
from stasn.collect.record import CollectSummary, record_clip, utc_now
from stasn.collect.sources import open_source
from stasn.data.video import VideoFile
from stasn.errors import DataError
from stasn.labels import LIVE, SPOOF, AttackType, parse_label

__all__ = ["collect_replay"]

log = logging.getLogger(__name__)


def _live_clips(live: Path, subjects: Sequence[str] | None) -> list[dict[str, str]]:
    rows = read_samples(live)
    if not rows:
        raise FileNotFoundError(
            f"{samples_path(live)}: no samples.csv with live clips; record some with `stasn collect live`"
        )
    clips = []
    for row in rows:
        try:
            label = parse_label(row["label"])
        except ValueError as exc:
            raise DataError(f"{samples_path(live)}: {exc}") from None
        if label == LIVE and (not subjects or row.get("subject") in subjects):
            clips.append(row)
    if not clips:
        who = f" of subject(s) {', '.join(subjects)}" if subjects else ""
        raise DataError(f"{samples_path(live)}: no live clips{who} to replay")
    return clips


def _video_id(row: dict[str, str]) -> str:
    return row.get("video_id") or Path(row["path"]).with_suffix("").as_posix()


def _duration(live: Path, row: dict[str, str]) -> tuple[float, int, float]:
    """``(seconds, frames, fps)`` of a live clip, from its row or, failing that, from the file."""
    try:
        frames, fps = int(row["frames"]), float(row["fps"])
        if frames > 0 and fps > 0:
            return frames / fps, frames, fps
    except (KeyError, ValueError):
        pass
    path = live / row["path"]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: live clip listed in {samples_path(live)} not found")
    with VideoFile(path) as video:
        fps = float(video.fps or 30.0)
        return video.num_frames / fps, video.num_frames, fps


def _frames_of(path: Path) -> Iterator[np.ndarray]:
    with VideoFile(path) as video:
        for _, frame in video.read(range(video.num_frames)):
            yield frame


def collect_replay(
    live: str | Path,
    source: str | Path,
    display: str,
    out: str | Path,
    *,
    camera: str | None = None,
    subjects: Sequence[str] | None = None,
    play: bool = False,
    window: bool | None = None,
    countdown: int = 3,
    redo: bool = False,
    prompter: Prompter | None = None,
    echo: Callable[[str], None] | None = None,
) -> CollectSummary:
    """Film a replay of every live clip of ``live`` shown on ``display``, into the dataset ``out``.

    Args:
        live: a dataset with live clips (``stasn collect live``; any generic ``samples.csv``).
        source: ``"webcam:N"`` or a video file holding the replays one after another.
        display: the device the clips are shown on (``"phone-a"``, ``"ipad"``, ``"monitor-27"``): the ``display``
            column and a folder name.
        out: the dataset to add the replays to; usually ``live`` itself (``prepare`` then reads both halves).
        camera: the capture camera's name (``device`` column; default ``webcam<N>`` or ``video``).
        subjects: only these subjects' clips.
        play: show each clip full screen on this machine while recording (needs a display).
        window: prompts on an OpenCV window (``None``: when there is a display).
        countdown: seconds counted down before each replay from a camera.
        redo: record again the clips that already have a replay on this display.
        prompter, echo: see :func:`stasn.collect.collect_live`.

    Returns:
        :class:`CollectSummary`; ``skipped`` names the live clips left without a replay (the source ended).
    """
    start = time.perf_counter()
    live, out = Path(live), Path(out)
    check_name("display", display)
    clips = _live_clips(live, subjects)
    rows = read_samples(out)
    done = {r.get("live_video_id") for r in rows if r.get("display") == display and r.get("live_video_id")}
    todo = [c for c in clips if redo or _video_id(c) not in done]
    summary = CollectSummary(out, samples_path(out))
    summary.skipped.extend(f"{_video_id(c)}: already replayed on {display}" for c in clips if c not in todo)
    if not todo:
        return summary
    with open_source(source) as src:
        camera = check_name("camera", camera or (f"webcam{src.spec.split(':', 1)[1]}" if src.is_camera else "video"))
        prompter = prompter or make_prompter(True if play else window, echo)
        if play and not prompter.window:
            prompter.say("--play needs a display: play each clip on the device yourself")
            play = False
        try:
            for n, clip in enumerate(todo, start=1):
                live_id = _video_id(clip)
                seconds, _, live_fps = _duration(live, clip)
                count = max(1, round(seconds * src.fps))
                how = "this screen shows it" if play else f"play {live / clip['path']} full screen on the {display}"
                prompter.say(f"replay {n}/{len(todo)} of {live_id} ({seconds:.1f} s): {how}, hold it to the camera")
                if src.is_camera:
                    prompter.wait("ready")
                    prompter.countdown(countdown)
                video_id = f"replay/{display}/{live_id.removeprefix('live/')}"
                taken = {_video_id(r) for r in rows}
                base, k = video_id, 2
                while video_id in taken:  # --redo: a second take gets its own id
                    video_id, k = f"{base}-{k}", k + 1
                first = src.position
                frames = record_clip(
                    src,
                    out / f"{video_id}.mp4",
                    count,
                    prompter,
                    play=_frames_of(live / clip["path"]) if play else None,
                    play_ratio=live_fps / src.fps,
                )
                if frames == 0:
                    summary.skipped.extend(f"{_video_id(c)}: the source ended first" for c in todo[n - 1 :])
                    break
                row = {
                    "path": f"{video_id}.mp4",
                    "label": str(SPOOF),
                    "split": clip.get("split", ""),
                    "attack_type": AttackType.REPLAY.value,
                    "subject": clip.get("subject", ""),
                    "session": clip.get("session", ""),
                    "device": camera,
                    "video_id": video_id,
                    "display": display,
                    "live_video_id": live_id,
                    "light": clip.get("light", ""),
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
                    summary.skipped.extend(f"{_video_id(c)}: the source ended first" for c in todo[n:])
                    break
        finally:
            prompter.close()
    if not summary.written:
        raise DataError(f"{source}: no frames to record a replay from (is the file empty or already used up?)")
    summary.seconds = time.perf_counter() - start
    return summary
