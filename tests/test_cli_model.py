"""The CLI skeleton: help, version, model-summary."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from stasn import __version__
from stasn.cli.main import app

runner = CliRunner()


def test_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        "version",
        "model-summary",
        "prepare",
        "synth",
        "train",
        "evaluate",
        "predict",
        "export",
        "serve",
        "demo",
    ):
        assert command in result.output, f"`stasn --help` does not list {command}"


def test_version():
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0 and result.output.strip() == __version__


@pytest.mark.parametrize("backbone", ["mobilenet_v3_small", "resnet18"])
def test_model_summary_per_backbone(backbone):
    result = runner.invoke(app, ["model-summary", "--backbone", backbone])
    assert result.exit_code == 0, result.output
    assert "backbone passes / clip" in result.output and "25 (TASM 5" in result.output
    assert "GFLOPs / clip" in result.output


def test_model_summary_reads_a_config(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  backbone: mobilenet_v3_small\n  num_frames: 2\n  num_regions: 3\n")
    result = runner.invoke(app, ["model-summary", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "8 (TASM 2" in result.output  # T * (1 + K) = 2 * 4


def test_model_summary_bad_backbone_is_one_line():
    result = runner.invoke(app, ["model-summary", "--backbone", "vgg16"])
    assert result.exit_code == 1
    assert "error: Unknown backbone 'vgg16'" in result.output
    assert "Traceback" not in result.output
