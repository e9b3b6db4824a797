"""Reports: report.md + PNGs, self-contained report.html, metrics.json; published numbers side by side."""

from __future__ import annotations

import base64
import json
import math
import re

import numpy as np
import pytest

from stasn.evaluate.evaluation import evaluate_scores, summarize_folds
from stasn.evaluate.paper_results import PAPER_RESULTS, PROTOCOLS, published_results
from stasn.evaluate.report import fold_rows, metric_rows, paper_rows, write_folds_report, write_report
from stasn.evaluate.scores import ScoreRow


def _split(seed: int, n_live: int = 20, n_attack: int = 30) -> list[ScoreRow]:
    rng = np.random.default_rng(seed)
    rows = [ScoreRow(f"l{i}", f"l{i}", 0, "live", float(rng.normal(0.3, 0.15))) for i in range(n_live)]
    rows += [
        ScoreRow(f"a{i}", f"a{i}", 1, ("print", "replay")[i % 2], float(rng.normal(0.65, 0.15)))
        for i in range(n_attack)
    ]
    rows.append(ScoreRow("nf", "nf", 1, "replay", math.nan, status="no_face"))
    return rows


@pytest.fixture(scope="module")
def result():
    return evaluate_scores(_split(1), _split(2), "eer", aggregate="none")


def _tiny_png() -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1))
    fig.add_subplot().plot([0, 1], [1, 0])
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def test_write_report_writes_markdown_html_json_and_figures(tmp_path, result):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 2))
    figure.add_subplot().imshow(np.eye(4))
    files = write_report(
        result,
        tmp_path / "out",
        protocol="oulu-npu-p1",
        extra_figures=[("attention regions", _tiny_png()), ("a matplotlib figure", figure)],
    )
    assert [p.name for p in files.figures] == ["roc.png", "det.png", "histograms.png", "extra-1.png", "extra-2.png"]
    for png in files.figures:
        assert png.read_bytes().startswith(b"\x89PNG")
    markdown = files.markdown.read_text()
    assert "| APCER, max over species (ISO) (%) |" in markdown and "](roc.png)" in markdown
    assert "| STASN | 1.20 | 0.80 | 1.00 |" in markdown  # published row beside ours
    page = files.html.read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 5 and base64.b64decode(images[0]).startswith(b"\x89PNG")
    assert not re.search(r'(src|href)="(?!data:)', page)  # self-contained: nothing loaded from elsewhere
    data = json.loads(files.json.read_text())
    assert data["protocol"] == "oulu-npu-p1" and data["criterion"] == "eer"
    assert data["test"]["acer"] == pytest.approx(result.test_rates.acer)
    assert data["counts"]["test"]["attack_non_responses"] == {"print": 0, "replay": 1}


def test_metric_rows_show_dev_and_test_in_percent(result):
    rows = {name: (dev, test) for name, dev, test in metric_rows(result)}
    assert rows["ACER (%)"] == (f"{100 * result.dev_rates.acer:.2f}", f"{100 * result.test_rates.acer:.2f}")
    assert rows["attack presentations (non-responses)"] == ("31 (1)", "31 (1)")
    assert "APCER print (%)" in rows and "BPCER20, own curve (test: oracle) (%)" in rows


def test_write_report_rejects_bad_extra_figures_and_protocols(tmp_path, result):
    with pytest.raises(ValueError, match="not a PNG image"):
        write_report(result, tmp_path, extra_figures=[("bad", b"GIF89a")])
    with pytest.raises(ValueError, match="expected PNG bytes or a matplotlib Figure"):
        write_report(result, tmp_path, extra_figures=[("bad", "picture.png")])
    with pytest.raises(ValueError, match="Unknown protocol 'oulu-p9'. Valid values are"):
        write_report(result, tmp_path, protocol="oulu-p9")
    assert not (tmp_path / "report.html").exists()


def test_paper_rows_cross_dataset_uses_hter(result):
    header, rows = paper_rows("casia-to-replay", result)
    assert header == ["method", "HTER (%)", "source"]
    assert rows[0][:2] == ["this run (stasn)", f"{100 * result.test_rates.hter:.2f}"]
    assert rows[1][:2] == ["STASN", "31.50"]


def test_paper_results_cover_every_protocol_and_say_not_found():
    assert set(PAPER_RESULTS) == set(PROTOCOLS)
    for protocol, entries in PAPER_RESULTS.items():
        assert entries[0].method == "STASN", protocol
        for entry in entries:
            assert entry.source, (protocol, entry.method)
    missing = published_results("siw-p2")[0]
    assert missing.source == "not found" and missing.acer is None
    header, rows = paper_rows("siw-p2", evaluate_scores(_split(3), _split(4), aggregate="none"))
    assert rows[1][1:4] == ["not found"] * 3


def test_write_folds_report_gives_mean_and_std(tmp_path):
    results = [evaluate_scores(_split(10 + i), _split(20 + i), "bpcer20", aggregate="none") for i in range(3)]
    files = write_folds_report(results, tmp_path, protocol="oulu-npu-p3")
    header, rows = fold_rows(summarize_folds(results))
    assert header == ["metric", "mean ± std", "fold 1", "fold 2", "fold 3"]
    acer = next(r for r in rows if r[0] == "ACER (%)")
    assert acer[1] == f"{100 * np.mean([r.test_rates.acer for r in results]):.2f} ± " + (
        f"{100 * np.std([r.test_rates.acer for r in results], ddof=1):.2f}"
    )
    markdown = files.markdown.read_text()
    assert "| STASN | 1.40 ± 1.40 | 3.60 ± 4.60 | 2.50 ± 2.20 |" in markdown
    data = json.loads(files.json.read_text())
    assert len(data["folds"]) == 3 and data["ddof"] == 1
