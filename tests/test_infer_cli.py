"""stasn predict: folders with bad files, JSON lines, overlays (images, videos), webcam through an injected capture."""

from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from stasn.cli.main import app
from stasn.data.video import open_video
from stasn.infer import inputs as inputs_module
from stasn.infer.inputs import expand_inputs
from tiny import save_tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("cli") / "tiny.ckpt", threshold=0.5)


def _frames(n: int, h: int = 64, w: int = 80) -> np.ndarray:
    return np.random.default_rng(n).integers(0, 255, (n, h, w, 3), dtype=np.uint8)


def _write_video(path: Path, frames: np.ndarray) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    root = tmp_path / "inputs"
    (root / "sub").mkdir(parents=True)
    for i, frame in enumerate(_frames(2)):
        cv2.imwrite(str(root / f"face{i}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    (root / "sub" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    _write_video(root / "sub" / "clip.mp4", _frames(6))
    (root / "notes.txt").write_text("ignored: not an image or video suffix")
    return root


def test_expand_inputs_folders_globs_webcam_and_missing(folder):
    items = list(expand_inputs([str(folder), str(folder / "*.png"), "webcam:2", str(folder / "nope.jpg")]))
    kinds = [(Path(i.name).name, i.kind) for i in items]
    assert kinds[:4] == [("face0.png", "image"), ("face1.png", "image"), ("broken.jpg", "image"), ("clip.mp4", "video")]
    assert kinds[4:6] == [("face0.png", "image"), ("face1.png", "image")]
    assert items[6].kind == "webcam" and items[6].index == 2
    assert items[7].kind == "missing" and "no such file" in items[7].error
    with pytest.raises(ValueError, match="webcam:N"):
        list(expand_inputs(["webcam:front"]))


def test_predict_folder_json_lines_overlays_and_exit_status(checkpoint, folder, tmp_path):
    out = tmp_path / "overlays"
    result = CliRunner().invoke(
        app,
        [
            "predict",
            str(folder),
            "--checkpoint",
            str(checkpoint),
            "--json",
            "--detector",
            "whole",
            "--overlay",
            str(out),
        ],
    )
    assert result.exit_code == 1  # one unreadable file
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    by_name = {Path(r["input"]).name: r for r in rows}
    assert set(by_name) == {"face0.png", "face1.png", "broken.jpg", "clip.mp4"}
    assert by_name["broken.jpg"]["status"] == "unreadable" and "broken.jpg" in by_name["broken.jpg"]["reason"]
    assert by_name["face0.png"]["status"] == "ok" and by_name["face0.png"]["is_attack"] in (True, False)
    assert by_name["clip.mp4"]["kind"] == "video" and len(by_name["clip.mp4"]["clips"]) >= 2
    assert "4 prediction(s)" in result.stderr and "1 unreadable" in result.stderr
    assert {p.name for p in out.iterdir()} == {"face0.overlay.jpg", "face1.overlay.jpg", "clip.overlay.mp4"}
    overlay = cv2.imread(str(out / "face0.overlay.jpg"))
    assert overlay.shape == (64, 80, 3)
    with open_video(out / "clip.overlay.mp4") as video:
        assert video.num_frames == 6 and video.frame(0).shape == (64, 80, 3)


def test_predict_threshold_and_table_output(checkpoint, folder):
    face = str(folder / "face0.png")
    low = CliRunner().invoke(
        app, ["predict", face, "--checkpoint", str(checkpoint), "--detector", "whole", "--threshold", "0", "--json"]
    )
    assert low.exit_code == 0 and json.loads(low.stdout)["is_attack"] is True
    table = CliRunner().invoke(app, ["predict", face, "--checkpoint", str(checkpoint), "--detector", "whole"])
    assert table.exit_code == 0 and "stasn predict" in table.stdout and "│ ok " in table.stdout


class FakeCapture:
    """What cv2.VideoCapture gives: BGR frames from read(), then (False, None)."""

    def __init__(self, frames: np.ndarray) -> None:
        self.frames = list(frames)
        self.released = False

    def read(self):
        if not self.frames:
            return False, None
        return True, cv2.cvtColor(self.frames.pop(0), cv2.COLOR_RGB2BGR)

    def release(self) -> None:
        self.released = True


def test_predict_webcam_with_injected_capture(checkpoint, tmp_path, monkeypatch):
    captures = {}

    def fake_open(index: int) -> FakeCapture:
        captures[index] = FakeCapture(_frames(9))
        return captures[index]

    monkeypatch.setattr(inputs_module, "open_capture", fake_open)
    monkeypatch.setattr("stasn.infer.predict.open_capture", fake_open)
    out = tmp_path / "ov"
    result = CliRunner().invoke(
        app,
        [
            "predict",
            "webcam:1",
            "--checkpoint",
            str(checkpoint),
            "--detector",
            "whole",
            "--json",
            "--max-frames",
            "7",
            "--overlay",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 3 and all(r["kind"] == "stream" and r["input"] == "webcam:1" for r in rows)  # 7 frames, T=2
    assert captures[1].released and len(captures[1].frames) == 2  # stopped after --max-frames
    with open_video(out / "webcam_1.overlay.mp4") as video:
        assert video.num_frames == 6  # the frames of the three scored groups
