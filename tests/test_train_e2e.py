"""End to end: a tiny STASN trained through every stage on a tiny cache; resume; scores and report; checkpoints."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from stasn.errors import CheckpointError
from stasn.evaluate.scores import read_scores
from stasn.model.checkpoint import load_checkpoint
from stasn.train.config import load_experiment
from stasn.train.run import train_experiment
from tiny import make_tiny_cache

TINY_MODEL = {
    "backbone": "resnet18",
    "num_frames": 2,
    "input_size": 64,
    "highres_size": 128,
    "num_regions": 2,
    "region_size": 32,
    "region_output_size": 32,
    "lstm_hidden": 8,
}


def tiny_experiment(tmp_path, *, as_dict: bool = False, **train):
    cache = make_tiny_cache(tmp_path / "cache", face_size=64, highres_size=128)
    base = {
        "name": "tiny",
        "output_dir": str(tmp_path / "runs"),
        "seed": 0,
        "model": TINY_MODEL,
        "data": {"cache": str(cache), "batch_size": 4, "num_workers": 0, "eval_clips_per_video": 2},
        "train": {
            "stages": [{"stage": "tasm", "epochs": 1}, {"stage": "sasm", "epochs": 1}, {"stage": "joint", "epochs": 1}],
            "lr": 1e-3,
            "log_every_n_steps": 1,
            **train,
        },
    }
    return base if as_dict else load_experiment(None, base=base)


@pytest.mark.slow
def test_tiny_run_every_stage_checkpoint_resume_scores_report(tmp_path):
    config = tiny_experiment(tmp_path)
    result = train_experiment(config, enable_progress_bar=False)
    run = config.run_dir
    assert result.best_checkpoint.is_file() and result.last_checkpoint.is_file()
    assert (run / "logs" / "version_0" / "metrics.csv").is_file()
    assert (run / "report" / "report.html").is_file() and (run / "report" / "report.md").is_file()
    test_rows = read_scores(run / "scores" / "test.csv")
    assert {r.label for r in test_rows} == {0, 1}
    assert any(r.status == "no_face" and math.isnan(r.spoof_score) for r in test_rows), "failure kept as no_face"
    assert result.threshold is not None and math.isfinite(result.threshold)

    # every stage ran: the schedule logs the stage index per epoch
    metrics = (run / "logs" / "version_0" / "metrics.csv").read_text()
    assert "stage_index" in metrics

    # checkpoint round trip keeps the config and the dev threshold
    loaded = load_checkpoint(result.last_checkpoint)
    assert loaded.config.backbone == "resnet18" and loaded.config.num_frames == 2
    assert loaded.threshold is not None and loaded.threshold_criterion == "eer"
    assert loaded.cache_info.face_size == 64

    # `stasn evaluate --checkpoint --cache` scores the cache with the checkpoint and writes the same report
    from typer.testing import CliRunner

    from stasn.cli.main import app

    out = tmp_path / "evaluation"
    cli = CliRunner().invoke(
        app,
        ["evaluate", "--checkpoint", str(result.best_checkpoint), "--cache", str(config.data.cache), "--out", str(out)],
    )
    assert cli.exit_code == 0, cli.output
    assert (out / "report" / "report.html").is_file()
    assert {r.video_id for r in read_scores(out / "scores" / "test.csv")} == {r.video_id for r in test_rows}

    # resume: one more joint epoch continues from last.ckpt (epoch counter carries on)
    longer = tiny_experiment(
        tmp_path,
        stages=[{"stage": "tasm", "epochs": 1}, {"stage": "sasm", "epochs": 1}, {"stage": "joint", "epochs": 2}],
    )
    before = torch.load(result.last_checkpoint, weights_only=True)["epoch"]
    train_experiment(longer, resume="auto", evaluate_test=False, enable_progress_bar=False)
    after = torch.load(longer.run_dir / "checkpoints" / "last.ckpt", weights_only=True)["epoch"]
    assert after == before + 1
    assert (longer.run_dir / "logs" / "version_1" / "metrics.csv").is_file(), "a resumed run keeps earlier logs"


def test_corrupted_checkpoint_fails_clearly(tmp_path):
    path = tmp_path / "broken.ckpt"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match=r"broken\.ckpt: cannot read checkpoint"):
        load_checkpoint(path)
    torch.save({"state_dict": {}}, path)
    with pytest.raises(CheckpointError, match=r"broken\.ckpt: not a stasn checkpoint"):
        load_checkpoint(path)


def test_resume_from_missing_checkpoint_fails(tmp_path):
    from stasn.train.run import resolve_resume

    with pytest.raises(FileNotFoundError, match="nope.ckpt: checkpoint to resume from not found"):
        resolve_resume(tmp_path / "nope.ckpt", tmp_path)
    assert resolve_resume("auto", tmp_path) is None


@pytest.mark.slow
def test_training_with_on_the_fly_synthesis_and_live_camera(tmp_path):
    config = tiny_experiment(tmp_path, stages=[{"stage": "joint", "epochs": 1}])
    config.synth.fraction = 0.3
    config.synth.live_camera = 0.5
    result = train_experiment(config, evaluate_test=False, enable_progress_bar=False)
    assert result.last_checkpoint.is_file()
    metrics = next((config.run_dir / "logs").glob("version_*/metrics.csv")).read_text()
    assert "train/loss" in metrics and "dev/acer" in metrics


# Trains the config given as argv[1]; before each training step it writes "<epoch> <batch>" to argv[2] and sleeps, so
# the test can kill it in the middle of an epoch.
_KILLABLE_TRAIN = """
import sys, time
from pathlib import Path
import stasn.train.system as system
from stasn.train.config import load_experiment
from stasn.train.run import train_experiment
step = system.STASNSystem.training_step
def slow_step(self, batch, batch_idx):
    Path(sys.argv[2]).write_text(f"{self.current_epoch} {batch_idx}")
    time.sleep(0.3)
    return step(self, batch, batch_idx)
system.STASNSystem.training_step = slow_step
train_experiment(load_experiment([sys.argv[1]]), evaluate_test=False, enable_progress_bar=False)
"""


@pytest.mark.slow
def test_resume_after_a_kill_in_the_middle_of_an_epoch(tmp_path):
    """A real ``kill -9`` of a training process in its second epoch; ``--resume auto`` then finishes the schedule
    from the last completed epoch: no epoch lost, none trained twice, the earlier logs kept."""
    config_path = tmp_path / "tiny.yaml"
    config_path.write_text(json.dumps(tiny_experiment(tmp_path, as_dict=True)))  # JSON is YAML
    config = load_experiment([config_path])
    last = config.run_dir / "checkpoints" / "last.ckpt"
    progress = tmp_path / "progress.txt"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLABLE_TRAIN, str(config_path), str(progress)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            epoch, batch = map(int, (progress.read_text() if progress.exists() else "0 0").split() or (0, 0))
            if epoch == 1 and batch >= 1 and last.is_file():
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"training ended before the kill: {proc.stderr.read().decode()[-2000:]}"
        assert time.monotonic() < deadline, "training did not reach its second epoch in 300 s"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    killed = torch.load(last, weights_only=True)  # complete: written at the end of epoch 0, never half-written
    assert killed["epoch"] == 0 and killed["global_step"] > 0
    steps_per_epoch = killed["global_step"]

    result = train_experiment(config, resume="auto", evaluate_test=False, enable_progress_bar=False)
    final = torch.load(result.last_checkpoint, weights_only=True)
    assert final["epoch"] == 2, "the schedule has 3 epochs (0, 1, 2)"
    assert final["global_step"] == 3 * steps_per_epoch, "the 3 epochs counted once each: none lost, none doubled"
    assert load_checkpoint(result.best_checkpoint).threshold is not None
    logs = sorted(p.parent.name for p in (config.run_dir / "logs").glob("version_*/metrics.csv"))
    assert logs == ["version_0", "version_1"], "the killed run's log is kept beside the resumed one"
    assert Path(config.run_dir / "config.yaml").is_file()


def test_min_steps_stretches_a_short_schedule_on_a_small_training_set(tmp_path, monkeypatch):
    """One epoch of the tiny cache is a few steps; ``train.min_steps`` multiplies the epochs until the run has at least
    that many optimizer steps, and the learning-rate schedule spans the stretched run."""
    from stasn.train.system import STASNSystem

    planned = []
    configure = STASNSystem.configure_optimizers

    def recording(self):
        planned.append(self.trainer.estimated_stepping_batches)  # the cosine schedule's length
        return configure(self)

    monkeypatch.setattr(STASNSystem, "configure_optimizers", recording)
    config = tiny_experiment(tmp_path, stages=[{"stage": "joint", "epochs": 1}], min_steps=7, warmup_steps=2)
    train_experiment(config, evaluate_test=False, enable_progress_bar=False)
    last = torch.load(config.run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    epochs, steps = last["epoch"] + 1, last["global_step"]
    steps_per_epoch = steps // epochs
    assert steps_per_epoch * epochs == steps and steps_per_epoch < 7, "the tiny cache must need stretching"
    assert steps >= 7 and steps - steps_per_epoch < 7, (epochs, steps)  # the fewest whole epochs reaching 7 steps
    assert planned == [steps], "the learning-rate schedule must span the stretched run, not the first epoch"
