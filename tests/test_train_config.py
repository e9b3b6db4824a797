"""Experiment configs: layering, overrides, validation; the stage schedule."""

from __future__ import annotations

from pathlib import Path

import pytest

from stasn.train.config import load_experiment
from stasn.train.stages import StageSchedule, stage_for_epoch

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_loads(path):
    config = load_experiment([path])
    assert config.model.num_frames >= 1


def test_layered_configs_and_overrides():
    config = load_experiment(
        [CONFIGS / "oulu_p1.yaml", CONFIGS / "fast.yaml", CONFIGS / "with_synth.yaml"],
        ["train.lr=3e-4", "train.stages=[{stage: joint, epochs: 1}]", "data.prepare.fold=2"],
    )
    assert config.model.backbone == "resnet18"  # fast.yaml
    assert config.model.num_regions == 4  # kept from oulu_p1.yaml
    assert config.synth.fraction == pytest.approx(0.3)
    assert config.train.lr == pytest.approx(3e-4)  # "3e-4" is text to YAML; numbers are coerced
    assert [(s.stage, s.epochs) for s in config.train.stages] == [("joint", 1)]
    assert config.data.prepare.fold == 2
    assert config.run_dir == Path("runs/oulu_p1")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.lrr=1", r"unknown key\(s\) \['lrr'\]"),
        ("model.num_frame=3", r"unknown model key\(s\) \['num_frame'\]"),
        ("train.stages=[{stage: all, epochs: 1}]", "Unknown stage 'all'"),
        ("synth.fraction=2", r"synth.fraction must be in \[0, 1\]"),
        ("train.lr=fast", "lr must be a number, got 'fast'"),
        ("train.monitor=auc", "train.monitor must be 'acer' or 'eer'"),
        ("lr", "is not key=value"),
        ("train.lr=0", r"train.lr must be > 0, got 0"),
        ("train.lr=-1e-3", r"train.lr must be > 0, got -0.001"),
        ("train.lr=nan", r"train.lr must be a finite number, got nan"),
        ("train.lr=.inf", r"train.lr must be a finite number, got inf"),
        ("data.batch_size=2.5", r"data.batch_size must be an integer, got 2.5"),
        ("data.batch_size=0", r"data.batch_size must be >= 1, got 0"),
        ("data.num_workers=true", r"data.num_workers must be an integer, got True"),
        ("model.num_frames=2.5", r"model.num_frames must be an integer, got 2.5"),
        ("train.stages=[{stage: joint, epochs: 1.5}]", r"epochs must be an integer >= 0, got 1.5"),
        ("train.gradient_clip_val=0", r"train.gradient_clip_val must be > 0 or null"),
        ("seed=1.5", r"seed must be an integer"),
    ],
)
def test_bad_overrides_fail_clearly(override, message):
    with pytest.raises(ValueError, match=message):
        load_experiment([CONFIGS / "_base.yaml"], [override])


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.yaml: config file not found"):
        load_experiment([tmp_path / "nope.yaml"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ValueError, match="bad.yaml: not valid YAML"):
        load_experiment([bad])


def test_stage_for_epoch_walks_the_schedule():
    stages = [("tasm", 2), ("sasm", 1), ("joint", 2)]
    assert [stage_for_epoch(stages, e) for e in range(6)] == ["tasm", "tasm", "sasm", "joint", "joint", "joint"]
    assert StageSchedule(stages + [("joint", 0)]).total_epochs == 5
    with pytest.raises(ValueError, match="no training stage"):
        StageSchedule([("tasm", 0)])


def test_stretch_factor_reaches_min_steps_with_whole_multiples():
    from stasn.train.stages import stretch_factor

    assert stretch_factor(2, 10, 150) == 8  # 16 epochs, 160 steps
    assert stretch_factor(2, 91 // 2, 150) == 2
    assert stretch_factor(2, 100, 150) == 1  # already long enough
    assert stretch_factor(2, 10, 0) == 1 and stretch_factor(0, 10, 150) == 1
    for epochs, per_epoch, minimum in [(1, 3, 7), (3, 7, 200), (5, 1, 1)]:
        factor = stretch_factor(epochs, per_epoch, minimum)
        assert factor * epochs * per_epoch >= minimum > (factor - 1) * epochs * per_epoch
    with pytest.raises(ValueError, match="min_steps"):
        StageSchedule([("joint", 2)], min_steps=-1)


def test_best_checkpoint_keeps_the_latest_of_equally_good_epochs(tmp_path):
    """A tie on the monitored dev value replaces the best checkpoint (Lightning keeps the first of equals)."""
    from types import SimpleNamespace

    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint

    from stasn.train.run import _latest_of_best_checkpoint

    trainer = SimpleNamespace(strategy=SimpleNamespace(reduce_boolean_decision=lambda decision: decision))
    ours = _latest_of_best_checkpoint(dirpath=tmp_path, monitor="dev/acer", mode="min", save_top_k=1)
    plain = ModelCheckpoint(dirpath=tmp_path, monitor="dev/acer", mode="min", save_top_k=1)
    for callback in (ours, plain):
        callback.best_k_models = {"epoch0.ckpt": torch.tensor(0.0)}
        callback.kth_best_model_path = "epoch0.ckpt"
    assert ours.check_monitor_top_k(trainer, torch.tensor(0.0)) is True
    assert plain.check_monitor_top_k(trainer, torch.tensor(0.0)) is False  # why ours exists
    assert ours.check_monitor_top_k(trainer, torch.tensor(0.01)) is False
    assert ours.check_monitor_top_k(trainer, torch.tensor(-0.01)) is True
    assert ours.check_monitor_top_k(trainer, None) is False
