"""Guided capture from video files (no webcam here) and a fake camera: the dataset `collect live` and `collect replay`
write is read by the generic adapter, `prepare` and `train` unchanged; prompts degrade to text without a display;
bad input fails in one line with nothing half-written."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import shared_path
from stasn.cli.main import app
from stasn.collect import collect_live, collect_replay, has_display
from stasn.collect.prompts import Prompter, make_prompter
from stasn.data.manifest import CacheInfo, read_manifest
from stasn.data.prepare import prepare_dataset
from stasn.data.video import VideoFile
from stasn.datasets.generic import Generic
from stasn.errors import DataError
from stasn.synth import ReplaySynthesizer
from stasn.testing.faces import face_clip
from stasn.testing.videos import write_video

runner = CliRunner()
FPS = 10


def _live_video(path: Path, clips: int = 3, frames: int = 20, seed: int = 0) -> np.ndarray:
    """A stand-in for a camera: ``clips`` stretches of ``frames`` frames of a drawn face (moving, blinking)."""
    video = np.concatenate([face_clip(frames, 96, seed=seed + k) for k in range(clips)])
    write_video(path, video, fps=FPS)
    return video


def _replay_video(path: Path, live: np.ndarray, frames: int = 20, seed: int = 0) -> None:
    """A stand-in for filming the replays: each stretch of the live video shown on a drawn phone, one after another."""
    synth, rng = ReplaySynthesizer(), np.random.default_rng(seed)
    parts = [synth.apply(live[k : k + frames], synth.sample_params(rng)) for k in range(0, len(live), frames)]
    write_video(path, np.concatenate(parts), fps=FPS)


def _rows(root: Path) -> list[dict[str, str]]:
    with (root / "samples.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_collect_live_from_a_video_writes_a_generic_dataset(tmp_path: Path) -> None:
    _live_video(tmp_path / "cam.mp4")
    lines: list[str] = []
    out = tmp_path / "ds"
    summary = collect_live(
        tmp_path / "cam.mp4",
        "p001",
        out,
        seconds=2,
        clips=2,
        prompts=True,
        window=False,
        light="lamp",
        echo=lines.append,
    )
    assert [r["video_id"] for r in summary.written] == ["live/p001/s1_01", "live/p001/s1_02"]
    rows = _rows(out)
    assert [(r["source_start"], r["frames"], r["fps"]) for r in rows] == [("0", "20", "10"), ("20", "20", "10")]
    with VideoFile(out / "live/p001/s1_02.mp4") as video:
        assert video.num_frames == 20 and video.fps == pytest.approx(FPS)
    samples = Generic(out).samples
    assert [(s.label, s.attack_type, s.split, s.subject, s.session, s.device) for s in samples] == [
        (0, "live", "train", "p001", "s1", "video")
    ] * 2
    assert rows[0]["light"] == "lamp"
    assert any("turn your head slowly" in line for line in lines) and any("change the light" in line for line in lines)
    # A second session of the same subject continues the numbering; another subject starts at s1.
    again = collect_live(tmp_path / "cam.mp4", "p001", out, seconds=1, window=False, echo=lines.append)
    assert again.written[0]["video_id"] == "live/p001/s2_01"
    with pytest.raises(ValueError, match="already has 'live/p001/s2_01'; choose another --session"):
        collect_live(tmp_path / "cam.mp4", "p001", out, seconds=1, session="s2", window=False, echo=lines.append)


def test_collect_replay_pairs_every_replay_with_its_live_clip(tmp_path: Path) -> None:
    live = _live_video(tmp_path / "cam.mp4")
    out = tmp_path / "ds"
    collect_live(tmp_path / "cam.mp4", "p001", out, seconds=2, clips=2, window=False, echo=print)
    collect_live(tmp_path / "cam.mp4", "p002", out, seconds=2, split="dev", window=False, echo=print)
    _replay_video(tmp_path / "filmed.mp4", live)
    summary = collect_replay(out, tmp_path / "filmed.mp4", "phone-a", out, camera="cam1", window=False, echo=print)
    pairs = [(r["video_id"], r["live_video_id"], r["split"], r["subject"]) for r in summary.written]
    assert pairs == [
        ("replay/phone-a/p001/s1_01", "live/p001/s1_01", "train", "p001"),
        ("replay/phone-a/p001/s1_02", "live/p001/s1_02", "train", "p001"),
        ("replay/phone-a/p002/s1_01", "live/p002/s1_01", "dev", "p002"),
    ]
    by_id = {s.video_id: s for s in Generic(out).samples}
    replay = by_id["replay/phone-a/p002/s1_01"]
    assert (replay.label, replay.attack_type, replay.session, replay.device) == (1, "replay", "s1", "cam1")
    assert all(r["display"] == "phone-a" for r in summary.written)
    # Re-running resumes: every clip already has its replay on this display.
    rerun = collect_replay(out, tmp_path / "filmed.mp4", "phone-a", out, window=False, echo=print)
    assert not rerun.written and len(rerun.skipped) == 3
    # A source that runs out: the clips left are named, the ones recorded are kept.
    write_video(tmp_path / "short.mp4", live[:30], fps=FPS)
    partial = collect_replay(out, tmp_path / "short.mp4", "tablet", out, window=False, echo=print)
    assert [r["frames"] for r in partial.written] == ["20", "10"]
    assert partial.skipped == ["live/p002/s1_01: the source ended first"]


def test_collected_dataset_is_prepared_unchanged(tmp_path: Path) -> None:
    live = _live_video(tmp_path / "cam.mp4", clips=2)
    out = tmp_path / "ds"
    collect_live(tmp_path / "cam.mp4", "p001", out, seconds=2, clips=2, window=False, echo=print)
    _replay_video(tmp_path / "filmed.mp4", live)
    collect_replay(out, tmp_path / "filmed.mp4", "phone-a", out, window=False, echo=print)
    result = runner.invoke(
        app,
        ["prepare", "--dataset", "generic", "--root", str(out), "--out", str(tmp_path / "cache"), "--detector",
         "whole", "--frames-per-video", "4", "--face-size", "32", "--highres-size", "64", "--workers", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = read_manifest(tmp_path / "cache")
    assert len(rows) == 16 and all(r.status == "ok" for r in rows)
    assert {(r.video_id, r.label, r.attack_type, r.subject) for r in rows} == {
        ("generic/live/p001/s1_01", 0, "live", "p001"),
        ("generic/live/p001/s1_02", 0, "live", "p001"),
        ("generic/replay/phone-a/p001/s1_01", 1, "replay", "p001"),
        ("generic/replay/phone-a/p001/s1_02", 1, "replay", "p001"),
    }


def test_collect_from_a_fake_webcam_counts_down_and_waits(tmp_path: Path, monkeypatch) -> None:
    from stasn.infer import inputs

    class FakeCamera:
        def __init__(self) -> None:
            self.frames = list(face_clip(40, 96, seed=4))
            self.released = False

        def get(self, prop: int) -> float:
            return 20.0 if prop == cv2.CAP_PROP_FPS else 0.0

        def read(self):
            return (True, cv2.cvtColor(self.frames.pop(0), cv2.COLOR_RGB2BGR)) if self.frames else (False, None)

        def release(self) -> None:
            self.released = True

    camera = FakeCamera()
    monkeypatch.setattr(inputs, "open_capture", lambda index: camera)
    lines, waits, sleeps = [], [], []
    prompter = Prompter(lines.append, read_line=waits.append, sleep=sleeps.append)
    summary = collect_live("webcam:0", "p009", tmp_path / "ds", seconds=1.5, prompter=prompter)
    assert summary.written[0]["device"] == "webcam0" and summary.written[0]["frames"] == "30"
    assert summary.written[0]["fps"] == "20" and camera.released
    assert len(waits) == 1 and sleeps == [1.0, 1.0, 1.0] and "  recording" in lines


def test_prompts_fall_back_to_text_without_a_display(monkeypatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert not has_display()
    monkeypatch.setenv("DISPLAY", ":99")  # a display name, but this OpenCV has no GUI (or no server answers)
    if not has_display():
        lines: list[str] = []
        prompter = make_prompter(True, lines.append)
        assert not prompter.window and "no display here" in lines[0]


def test_collect_replay_play_needs_a_display_and_falls_back(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    live = _live_video(tmp_path / "cam.mp4", clips=1)
    collect_live(tmp_path / "cam.mp4", "p001", tmp_path / "ds", seconds=2, window=False, echo=print)
    _replay_video(tmp_path / "filmed.mp4", live)
    lines: list[str] = []
    summary = collect_replay(tmp_path / "ds", tmp_path / "filmed.mp4", "monitor", tmp_path / "ds", play=True,
                             echo=lines.append)  # fmt: skip
    assert len(summary.written) == 1 and any("--play needs a display" in line for line in lines)


def test_collect_bad_input_fails_clearly_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    with pytest.raises(FileNotFoundError, match="nope.mp4: video file not found"):
        collect_live(tmp_path / "nope.mp4", "p001", out, window=False)
    with pytest.raises(ValueError, match="subject '../x'"):
        collect_live(tmp_path / "nope.mp4", "../x", out, window=False)
    with pytest.raises(ValueError, match="Unknown split 'val'"):
        collect_live(tmp_path / "nope.mp4", "p001", out, split="val", window=False)
    assert not out.exists()
    _live_video(tmp_path / "cam.mp4", clips=1)
    collect_live(tmp_path / "cam.mp4", "p001", out, seconds=2, window=False, echo=print)
    with pytest.raises(FileNotFoundError, match="no samples.csv with live clips"):
        collect_replay(tmp_path / "empty", tmp_path / "cam.mp4", "phone", out, window=False)
    with pytest.raises(DataError, match="no live clips of subject"):
        collect_replay(out, tmp_path / "cam.mp4", "phone", out, subjects=["p404"], window=False)


def test_cli_collect_live_replay_and_errors(tmp_path: Path) -> None:
    live = _live_video(tmp_path / "cam.mp4", clips=1)
    _replay_video(tmp_path / "filmed.mp4", live)
    out = tmp_path / "ds"
    args = ["collect", "live", "--source", str(tmp_path / "cam.mp4"), "--subject", "p001", "--out", str(out)]
    result = runner.invoke(app, [*args, "--seconds", "2", "--prompts", "--text"])
    assert result.exit_code == 0, result.output
    assert "live/p001/s1_01: 20 frames" in result.output and "turn your head" in result.output
    result = runner.invoke(
        app, ["collect", "replay", "--live", str(out), "--source", str(tmp_path / "filmed.mp4"), "--device",
              "phone-a", "--out", str(out), "--text"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [r["live_video_id"] for r in _rows(out)] == ["", "live/p001/s1_01"]
    result = runner.invoke(app, ["collect", "live", "--source", str(tmp_path / "gone.mp4"), "--subject", "p2",
                                 "--out", str(tmp_path / "other")])  # fmt: skip
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"error: {tmp_path / 'gone.mp4'}: video file not found "
                                                  "(a source is webcam:N or a video file)"]  # fmt: skip
    assert not (tmp_path / "other").exists()


def test_cli_collect_template_writes_the_board(tmp_path: Path) -> None:
    result = runner.invoke(app, ["collect", "template", "--out", str(tmp_path), "--screen", "480x800", "--name",
                                 "p", "--seconds", "0.5", "--show"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "boards/p.png").is_file() and (tmp_path / "boards/p.mp4").is_file()
    assert "stasn templates extract" in " ".join(result.output.split())  # rich wraps long lines
    bad = runner.invoke(app, ["collect", "template", "--out", str(tmp_path), "--screen", "480by800"])
    assert bad.exit_code == 1 and "error: screen size '480by800'" in bad.output


@pytest.mark.shared
def test_collect_live_from_a_real_phone_video_and_yunet_finds_the_face(tmp_path: Path) -> None:
    video = shared_path("data", "live-faces", "Nertehaz2611+CNN_FaceRecognition", "checkpoints", "checkpoint-1",
                        "videos-1", "khoi.mp4")  # fmt: skip
    out = tmp_path / "ds"
    summary = collect_live(video, "khoi", out, seconds=0.5, clips=2, window=False, echo=print)
    assert [r["frames"] for r in summary.written] == ["15", "15"]
    prepared = prepare_dataset("generic", out, tmp_path / "cache", detector="yunet", frames_per_video=3)
    assert prepared.total.ok == 6


@pytest.mark.slow
def test_collected_dataset_trains_unchanged(tmp_path: Path) -> None:
    """Four subjects (train, train, dev, test), live and replay, collected from files -> prepare -> train (tiny)."""
    from stasn.evaluate.scores import read_scores
    from stasn.train.config import load_experiment
    from stasn.train.run import train_experiment
    from tiny import TINY_MODEL

    out = tmp_path / "ds"
    for k, (subject, split) in enumerate([("p1", "train"), ("p2", "train"), ("p3", "dev"), ("p4", "test")]):
        live = _live_video(tmp_path / f"{subject}.mp4", clips=2, seed=10 * k)
        collect_live(tmp_path / f"{subject}.mp4", subject, out, seconds=2, clips=2, split=split, window=False)
        _replay_video(tmp_path / f"{subject}_filmed.mp4", live, seed=k)
        collect_replay(out, tmp_path / f"{subject}_filmed.mp4", "phone-a", out, subjects=[subject], window=False)
    cache = tmp_path / "cache"
    prepare_dataset("generic", out, cache, detector="whole", frames_per_video=4,
                    cache_info=CacheInfo(face_size=64, highres_size=128))  # fmt: skip
    config = load_experiment(
        None,
        base={
            "name": "collected",
            "output_dir": str(tmp_path / "runs"),
            "model": {**TINY_MODEL, "lstm_hidden": 8},
            "data": {"cache": str(cache), "batch_size": 4, "num_workers": 0, "eval_clips_per_video": 1},
            "train": {"stages": [{"stage": "joint", "epochs": 1}], "lr": 1e-3, "log_every_n_steps": 1},
        },
    )
    result = train_experiment(config, enable_progress_bar=False)
    assert result.best_checkpoint.is_file()
    test_rows = read_scores(config.run_dir / "scores" / "test.csv")
    assert {r.label for r in test_rows} == {0, 1} and len({r.video_id for r in test_rows}) == 4


def test_window_prompts_and_play_with_a_stubbed_display(tmp_path: Path, monkeypatch) -> None:
    """The OpenCV-window path, with cv2's window functions replaced (there is no display here)."""
    from stasn.collect import prompts as prompts_module

    shown: dict[str, int] = {}
    monkeypatch.setattr(prompts_module, "has_display", lambda: True)
    for name in ("namedWindow", "setWindowProperty", "destroyAllWindows", "destroyWindow"):
        monkeypatch.setattr(cv2, name, lambda *args, **kwargs: None)
    monkeypatch.setattr(cv2, "imshow", lambda window, image: shown.__setitem__(window, shown.get(window, 0) + 1))
    monkeypatch.setattr(cv2, "waitKey", lambda delay=0: -1)
    live = _live_video(tmp_path / "cam.mp4", clips=1)
    summary = collect_live(tmp_path / "cam.mp4", "p001", tmp_path / "ds", seconds=2, prompts=True, echo=print)
    assert summary.written[0]["frames"] == "20" and shown["stasn collect"] >= 20
    _replay_video(tmp_path / "filmed.mp4", live)
    summary = collect_replay(
        tmp_path / "ds", tmp_path / "filmed.mp4", "monitor", tmp_path / "ds", play=True, echo=print
    )
    assert summary.written[0]["frames"] == "20" and shown["stasn replay"] == 20  # the live clip, frame by frame
