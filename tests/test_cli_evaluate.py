"""`stasn evaluate`: numbers checked through metrics.json, both reports written, bad input -> one line + exit 1."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from stasn.cli.main import app
from stasn.evaluate.scores import ScoreRow, write_scores

runner = CliRunner()


def _videos(spec: list[tuple[str, str, float]]) -> list[ScoreRow]:
    """Two frames per video at score ± 0.05 (video mean = score); NaN = no face found."""
    rows = []
    for video, kind, score in spec:
        label = 0 if kind == "live" else 1
        for f in range(2):
            if math.isnan(score):
                rows.append(ScoreRow(f"{video}#{f}", video, label, kind, math.nan, f, status="no_face"))
            else:
                rows.append(ScoreRow(f"{video}#{f}", video, label, kind, score + (0.05 if f else -0.05), f))
    return rows


DEV = [("d1", "live", 0.1), ("d2", "live", 0.2), ("d3", "live", 0.3), ("d4", "live", 0.6)] + [
    ("d5", "print", 0.7),
    ("d6", "print", 0.8),
    ("d7", "replay", 0.4),
    ("d8", "replay", 0.9),
]
TEST = [("t1", "live", 0.05), ("t2", "live", 0.5), ("t3", "live", 0.65), ("t4", "live", 0.2), ("t5", "live", math.nan)]
TEST += [("t6", "print", 0.55), ("t7", "print", 0.95), ("t8", "replay", 0.62), ("t9", "replay", 0.3)]


@pytest.fixture
def score_files(tmp_path):
    return write_scores(_videos(DEV), tmp_path / "scores-dev.csv"), write_scores(_videos(TEST), tmp_path / "test.csv")


def test_cli_evaluate_writes_both_reports_with_expected_numbers(tmp_path, score_files):
    dev, test = score_files
    out = tmp_path / "report"
    result = runner.invoke(app, ["evaluate", "--dev", str(dev), "--test", str(test), "--protocol", "oulu-npu-p1",
                                 "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    data = json.loads((out / "metrics.json").read_text())
    assert data["threshold"] == pytest.approx(0.6)  # dev EER point
    test_rates = data["test"]
    assert test_rates["bpcer"] == pytest.approx(2 / 5)  # 0.65 and the no-face live video
    assert test_rates["apcer_per_species"] == pytest.approx({"print": 0.5, "replay": 0.5})
    assert test_rates["apcer_pooled"] == pytest.approx(0.5)
    assert test_rates["acer"] == pytest.approx((0.5 + 0.4) / 2)
    assert "ACER (%)" in result.output and "45.00" in result.output


def test_cli_evaluate_criterion_and_frame_level(tmp_path, score_files):
    dev, test = score_files
    out = tmp_path / "r"
    args = ["evaluate", "--dev", str(dev), "--test", str(test), "--criterion", "BPCER20", "--aggregate", "none"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "metrics.json").read_text())
    assert data["criterion"] == "bpcer20" and data["aggregate"] == "none"
    assert data["dev"]["apcer"] <= 0.05
    assert data["counts"]["dev"]["bona_fide"] == 8  # frames, not videos


def test_cli_evaluate_folds_gives_mean_and_std(tmp_path, score_files):
    dev, test = score_files
    out = tmp_path / "folds"
    args = ["evaluate", "--dev", str(dev), "--test", str(test), "--dev", str(dev), "--test", str(dev)]
    result = runner.invoke(app, [*args, "--protocol", "oulu-npu-p3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "metrics.json").read_text())
    assert len(data["folds"]) == 2
    assert data["mean"]["acer"] == pytest.approx((0.45 + data["folds"][1]["test"]["acer"]) / 2)
    assert "mean ± std" in (out / "report.md").read_text()


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("missing-column.csv", "test_label,label,attack_type\nv#0,0,live\n", "missing column(s) spoof_score"),
        ("bad-score.csv", "test_label,label,attack_type,spoof_score\nv#0,0,live,high\n", "not a number: 'high'"),
        ("empty.csv", "", "empty file"),
        ("live-only.csv", "test_label,label,attack_type,spoof_score\nv#0,0,live,0.1\n", "dev scores have no attack"),
    ],
)
def test_cli_evaluate_bad_dev_file_fails_with_one_line(tmp_path, score_files, name, body, message):
    bad = tmp_path / name
    bad.write_text(body)
    result = runner.invoke(app, ["evaluate", "--dev", str(bad), "--test", str(score_files[1]), "--out", str(tmp_path)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
    assert not (tmp_path / "report.html").exists()


def test_cli_evaluate_unpaired_files_fail(tmp_path, score_files):
    dev, test = score_files
    result = runner.invoke(app, ["evaluate", "--dev", str(dev), "--dev", str(dev), "--test", str(test)])
    assert result.exit_code == 1
    assert "give them in dev/test pairs" in result.output
