"""Checkpoints are data, never code: a hostile pickle is refused by every command that loads one, and nothing in it
runs; stored thresholds and configs are checked; a run folder with checkpoints is not reused silently."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from stasn.cli.main import app
from stasn.errors import CheckpointError
from stasn.infer.detector import Detector
from stasn.model.checkpoint import load_checkpoint
from stasn.train.config import load_experiment
from stasn.train.run import check_run_dir, train_experiment
from tiny import TINY_MODEL, make_tiny_cache, save_tiny_checkpoint


class _Touch:
    """Pickles as ``open(marker, "w")``: unpickling it with ``weights_only=False`` creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _rewrite(path: Path, edit) -> Path:
    """Load a checkpoint as plain data, let ``edit(payload)`` change it, save it back (plain ``torch.save``)."""
    payload = torch.load(path, weights_only=True)
    edit(payload)
    torch.save(payload, path)
    return path


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "PWNED"


@pytest.fixture
def hostile(tmp_path, marker) -> Path:
    """A working tiny checkpoint with one extra metadata entry that would run ``open(marker, "w")`` when unpickled."""
    path = save_tiny_checkpoint(tmp_path / "hostile.ckpt")
    return _rewrite(path, lambda p: p["stasn"].__setitem__("note", _Touch(marker)))


def test_the_hostile_file_really_runs_code_when_loaded_unsafely(hostile, marker):
    """Guards the other tests: the payload is live (a plain ``torch.load(weights_only=False)`` runs it)."""
    torch.load(hostile, weights_only=False)
    assert marker.exists()


def test_load_checkpoint_refuses_a_hostile_file_and_runs_nothing(hostile, marker):
    with pytest.raises(CheckpointError, match=r"hostile\.ckpt: refused: the pickle holds Python objects \(.*open\)"):
        load_checkpoint(hostile)
    with pytest.raises(CheckpointError, match="refused"):
        Detector.from_checkpoint(hostile, device="cpu", detector="whole")
    assert not marker.exists()


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def _image(path: Path) -> Path:
    cv2.imwrite(str(path), np.full((64, 64, 3), 128, np.uint8))
    return path


@pytest.mark.parametrize("command", ["predict", "export", "evaluate", "serve"])
def test_every_command_refuses_a_hostile_checkpoint_in_one_line(command, hostile, marker, tmp_path):
    args = {
        "predict": ["predict", str(_image(tmp_path / "face.png")), "--checkpoint", str(hostile), "--detector", "whole"],
        "export": ["export", "--checkpoint", str(hostile), "--out", str(tmp_path / "m.onnx")],
        "evaluate": [
            "evaluate",
            "--checkpoint",
            str(hostile),
            "--cache",
            str(make_tiny_cache(tmp_path / "cache", face_size=64, highres_size=128)),
            "--out",
            str(tmp_path / "ev"),
        ],
        "serve": ["serve", "--checkpoint", str(hostile), "--detector", "whole", "--port", "1"],  # fails before binding
    }[command]
    line = _one_line_error(CliRunner().invoke(app, args))
    assert "hostile.ckpt: refused" in line
    assert not marker.exists()
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "ev").exists()


def _tiny_config(tmp_path: Path, **extra) -> Path:
    """A YAML experiment of the tiny model; the cache path need not exist for the checks that come first."""
    config = {
        "name": "tiny",
        "output_dir": str(tmp_path / "runs"),
        "model": TINY_MODEL,
        "data": {"cache": str(tmp_path / "no-cache"), "batch_size": 4, "num_workers": 0},
        "train": {"stages": [{"stage": "joint", "epochs": 1}]},
        **extra,
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def test_train_resume_refuses_a_hostile_checkpoint(hostile, marker, tmp_path):
    result = CliRunner().invoke(app, ["train", "-c", str(_tiny_config(tmp_path)), "--resume", str(hostile)])
    assert "hostile.ckpt: refused" in _one_line_error(result)
    assert not marker.exists()
    assert not (tmp_path / "runs" / "tiny" / "config.yaml").exists(), "nothing written for a refused run"


def test_resume_needs_training_state(tmp_path):
    minimal = save_tiny_checkpoint(tmp_path / "minimal.ckpt")  # weights + metadata, no loops or optimizer
    result = CliRunner().invoke(app, ["train", "-c", str(_tiny_config(tmp_path)), "--resume", str(minimal)])
    assert "holds weights but no training state" in _one_line_error(result)


@pytest.mark.parametrize(
    ("threshold", "shown"), [(7.5, "7.5"), (math.nan, "nan"), (-0.1, "-0.1"), ("0.5", "'0.5'"), (True, "True")]
)
def test_a_stored_threshold_outside_0_1_is_refused(tmp_path, threshold, shown):
    path = _rewrite(save_tiny_checkpoint(tmp_path / "t.ckpt"), lambda p: p["stasn"].__setitem__("threshold", threshold))
    with pytest.raises(CheckpointError, match=rf"t\.ckpt: stored threshold {shown} is not a number in \[0, 1\]"):
        load_checkpoint(path)
    line = _one_line_error(
        CliRunner().invoke(
            app, ["predict", str(_image(tmp_path / "f.png")), "--checkpoint", str(path), "--detector", "whole"]
        )
    )
    assert "stored threshold" in line


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("num_frames", 0, "num_frames must be >= 1"),
        ("num_frames", 2.5, "model.num_frames must be an integer, got 2.5"),
        ("dropout", float("nan"), r"dropout must be in \[0, 1\), got nan"),
        ("input_size", 10**6, "input_size=1000000 is implausible"),
        ("backbone", "resnet1000", "Unknown backbone 'resnet1000'"),
        ("no_such_key", 1, r"unknown model key\(s\) \['no_such_key'\]"),
    ],
)
def test_a_bad_stored_config_is_refused(tmp_path, key, value, message):
    path = _rewrite(
        save_tiny_checkpoint(tmp_path / "c.ckpt"), lambda p: p["stasn"]["model_config"].__setitem__(key, value)
    )
    with pytest.raises(CheckpointError, match=rf"c\.ckpt: bad stasn metadata \(.*{message}"):
        load_checkpoint(path)


def test_an_onnx_graph_with_a_bad_threshold_is_refused(tmp_path):
    onnx = pytest.importorskip("onnx")
    from stasn.infer.export import METADATA_KEY, ONNX_FORMAT

    path = save_tiny_checkpoint(tmp_path / "t.ckpt")
    meta = {**torch.load(path, weights_only=True)["stasn"], "format": ONNX_FORMAT, "threshold": 7.5}
    model = onnx.helper.make_model(onnx.helper.make_graph([], "empty", [], []))
    onnx.helper.set_model_props(model, {METADATA_KEY: json.dumps(meta)})
    onnx.save(model, tmp_path / "t.onnx")
    with pytest.raises(CheckpointError, match=r"t\.onnx: stored threshold 7.5"):
        Detector.from_checkpoint(tmp_path / "t.onnx", backend="onnx", device="cpu", detector="whole")


def test_detector_refuses_a_threshold_outside_0_1(tmp_path):
    path = save_tiny_checkpoint(tmp_path / "t.ckpt")
    for bad in (1.5, math.nan):
        with pytest.raises(ValueError, match="threshold must be a number in"):
            Detector.from_checkpoint(path, device="cpu", detector="whole", threshold=bad)


def test_a_run_folder_with_checkpoints_is_not_reused_silently(tmp_path):
    config = _tiny_config(tmp_path)
    run = tmp_path / "runs" / "tiny"
    (run / "checkpoints").mkdir(parents=True)
    earlier = run / "checkpoints" / "best.ckpt"
    earlier.write_bytes(b"the earlier run's best model")
    (run / "config.yaml").write_text("earlier: config\n")

    line = _one_line_error(CliRunner().invoke(app, ["train", "-c", str(config), "train.lr=nan"]))
    assert "train.lr must be a finite number" in line  # a bad config fails before the folder is looked at
    line = _one_line_error(CliRunner().invoke(app, ["train", "-c", str(config)]))
    assert "already holds checkpoints of an earlier run (best.ckpt)" in line and "--overwrite" in line
    assert earlier.read_bytes() == b"the earlier run's best model"
    assert (run / "config.yaml").read_text() == "earlier: config\n"

    line = _one_line_error(CliRunner().invoke(app, ["train", "-c", str(config), "--resume", "auto"]))
    assert "no last.ckpt to resume from" in line
    line = _one_line_error(CliRunner().invoke(app, ["train", "-c", str(config), "--resume", "auto", "--overwrite"]))
    assert "not both" in line
    assert earlier.exists()

    (run / "scores").mkdir()
    check_run_dir(run, resume=None, overwrite=True)
    assert not (run / "checkpoints").exists() and not (run / "scores").exists()
    check_run_dir(run, resume=None, overwrite=False)  # nothing left to protect


def test_train_experiment_refuses_too(tmp_path):
    config = load_experiment([_tiny_config(tmp_path)])
    (config.run_dir / "checkpoints").mkdir(parents=True)
    (config.run_dir / "checkpoints" / "last.ckpt").write_bytes(b"x")
    with pytest.raises(ValueError, match="already holds checkpoints"):
        train_experiment(config, enable_progress_bar=False)


def test_checkpoint_bytes_that_are_not_a_dict(tmp_path):
    path = tmp_path / "list.ckpt"
    buffer = io.BytesIO()
    torch.save([1, 2, 3], buffer)
    path.write_bytes(buffer.getvalue())
    with pytest.raises(CheckpointError, match=r"list\.ckpt: not a stasn checkpoint \(holds a list"):
        load_checkpoint(path)
