"""Evaluation reports: ``report.md`` (+ PNG files), a self-contained ``report.html`` and ``metrics.json``.

A report holds the metrics table (dev threshold, test APCER per species, max and pooled APCER, BPCER, ACER, HTER,
non-responses, and each set's own EER / AUC / BPCER20 ...), ROC and DET curves, score histograms per attack type,
the published numbers of a known protocol beside ours, and any figures the caller adds (attention regions, ...).
Figures are drawn with matplotlib's object API (no pyplot state), so reports can be written from worker threads.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np

from stasn.evaluate import metrics
from stasn.evaluate.evaluation import EvaluationResult, FoldSummary, ScoreSet, summarize_folds
from stasn.evaluate.paper_results import PROTOCOLS, Pct, Published, published_results
from stasn.fileio import write_bytes_atomic, write_text_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "ExtraFigure",
    "ReportFiles",
    "metric_rows",
    "fold_rows",
    "paper_rows",
    "write_report",
    "write_folds_report",
]

ExtraFigure = tuple[str, Union[bytes, "Figure"]]  # (title, PNG bytes or a matplotlib Figure)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote."""

    markdown: Path
    html: Path
    json: Path
    figures: tuple[Path, ...]


# ----------------------------------------------------------------------------------------------------- formatting
def _pct(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.2f}"


def _num(value: float) -> str:
    return f"{value:.6g}" if math.isfinite(value) else str(value)


def _pct_pm(mean: float, std: float) -> str:
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


def _published(value: Pct | None) -> str:
    if value is None:
        return "not found"
    return f"{value.mean:.2f}" if value.std is None else f"{value.mean:.2f} ± {value.std:.2f}"


def metric_rows(result: EvaluationResult) -> list[tuple[str, str, str]]:
    """Rows ``(metric, dev, test)`` of the metrics table; rates in percent."""
    dev, test = result.dev_rates, result.test_rates
    species = sorted(set(dev.apcer_per_species) | set(test.apcer_per_species))
    rows = [
        (
            f"threshold (chosen on dev, {result.criterion}; score >= threshold is an attack)",
            _num(result.threshold),
            "same",
        )
    ]
    for name in species:
        rows.append(
            (f"APCER {name} (%)", _pct(dev.apcer_per_species.get(name)), _pct(test.apcer_per_species.get(name)))
        )
    rows += [
        ("APCER, max over species (ISO) (%)", _pct(dev.apcer), _pct(test.apcer)),
        ("APCER, species pooled (%)", _pct(dev.apcer_pooled), _pct(test.apcer_pooled)),
        ("BPCER (%)", _pct(dev.bpcer), _pct(test.bpcer)),
        ("ACER (%)", _pct(dev.acer), _pct(test.acer)),
        ("HTER, species pooled (%)", _pct(dev.hter), _pct(test.hter)),
    ]
    for label, attr in (("bona fide", "bona_fide"), ("attack", "attacks")):
        cells = []
        for scores in (result.dev, result.test):
            missing = (
                scores.bona_fide_non_responses if attr == "bona_fide" else sum(scores.attack_non_responses.values())
            )
            cells.append(f"{getattr(scores, attr).size} ({missing})")
        rows.append((f"{label} presentations (non-responses)", *cells))
    dc, tc = result.dev_curve, result.test_curve_oracle
    rows += [
        ("EER, own threshold (test: oracle) (%)", _pct(dc.eer), _pct(tc.eer)),
        ("EER threshold, own (test: oracle)", _num(dc.eer_threshold), _num(tc.eer_threshold)),
        ("ROC AUC (%)", _pct(dc.auc), _pct(tc.auc)),
    ]
    rows += [
        (f"{k}, own curve (test: oracle) (%)", _pct(dc.bpcer_at_apcer[k]), _pct(v))
        for k, v in tc.bpcer_at_apcer.items()
    ]
    rows += [
        (f"{k}, own curve (test: oracle) (%)", _pct(dc.apcer_at_bpcer[k]), _pct(v))
        for k, v in tc.apcer_at_bpcer.items()
    ]
    return rows


def _source(published: Published) -> str:
    return published.source + (f"; {published.note}" if published.note else "")


_FOLD_LABELS = {
    "threshold": "threshold (dev, per fold)",
    "apcer": "APCER, max over species (%)",
    "apcer_pooled": "APCER, species pooled (%)",
    "bpcer": "BPCER (%)",
    "acer": "ACER (%)",
    "hter": "HTER, species pooled (%)",
    "eer_oracle": "EER, test oracle (%)",
    "auc": "ROC AUC (%)",
}


def _fold_label(key: str) -> str:
    if key in _FOLD_LABELS:
        return _FOLD_LABELS[key]
    if key.startswith("apcer[") and key.endswith("]"):
        return f"APCER {key[6:-1]} (%)"
    if key.endswith("_oracle"):
        return f"{key.removesuffix('_oracle')}, test oracle (%)"
    return f"{key} (%)"


def fold_rows(summary: FoldSummary) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-fold table: metric, mean ± std, then one column per fold."""
    header = ["metric", "mean ± std", *[f"fold {i + 1}" for i in range(len(summary.folds))]]
    flats = [f.flat() for f in summary.folds]
    rows = []
    for key in summary.mean:
        label = _fold_label(key)
        if key == "threshold":
            cells = [f"{_num(summary.mean[key])} ± {_num(summary.std[key])}", *[_num(f[key]) for f in flats]]
        else:
            cells = [_pct_pm(summary.mean[key], summary.std[key]), *[_pct(f[key]) for f in flats]]
        rows.append([label, *cells])
    return header, rows


def paper_rows(protocol: str, ours: EvaluationResult | FoldSummary) -> tuple[list[str], list[list[str]]]:
    """Header and rows comparing our test numbers with the published ones for ``protocol`` (percent)."""
    published = published_results(protocol)
    cross = published[0].hter is not None
    if isinstance(ours, FoldSummary):
        value = {k: _pct_pm(ours.mean[k], ours.std[k]) for k in ("apcer", "bpcer", "acer", "hter")}
    else:
        r = ours.test_rates
        value = {"apcer": _pct(r.apcer), "bpcer": _pct(r.bpcer), "acer": _pct(r.acer), "hter": _pct(r.hter)}
    if cross:
        header = ["method", "HTER (%)", "source"]
        rows = [["this run (stasn)", value["hter"], "this report"]]
        rows += [[p.method, _published(p.hter), _source(p)] for p in published]
    else:
        header = ["method", "APCER (%)", "BPCER (%)", "ACER (%)", "source"]
        rows = [["this run (stasn)", value["apcer"], value["bpcer"], value["acer"], "this report"]]
        rows += [
            [p.method, _published(p.apcer), _published(p.bpcer), _published(p.acer), _source(p)] for p in published
        ]
    return header, rows


# ----------------------------------------------------------------------------------------------------- figures
def _new_figure(width: float = 6.0, height: float = 4.5) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _finite_for_plot(scores: np.ndarray) -> np.ndarray:
    return scores[np.isfinite(scores)]


def _finite_ranks(scores: np.ndarray) -> np.ndarray:
    """Non-responses (±inf) just beyond the finite extremes: sklearn's roc_curve rejects infinities."""
    finite = scores[np.isfinite(scores)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    return np.clip(scores, low - 1.0, high + 1.0)


def _plot_marks(ax, marks: Sequence[tuple[str, float, float]]) -> None:
    """Operating points at the dev threshold: annotated when alone, else coloured like the curve of the same index."""
    colors = [line.get_color() for line in ax.get_lines()]
    for i, (name, x, y) in enumerate(marks):
        if len(marks) == 1:
            ax.plot([x], [y], "o", color="black")
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(8, -12), fontsize=8)
        else:
            ax.plot([x], [y], "o", color=colors[i % len(colors)], markeredgecolor="black")


def _roc_figure(curves: Sequence[tuple[str, ScoreSet]], marks: Sequence[tuple[str, ScoreSet, float]]) -> bytes:
    """ROC with sklearn.metrics.roc_curve: attack = positive, x = BPCER, y = 1 - APCER (pooled)."""
    from sklearn.metrics import roc_curve

    fig = _new_figure()
    ax = fig.add_subplot()
    for name, scores in curves:
        y = np.concatenate([np.zeros(scores.bona_fide.size), np.ones(scores.attacks.size)])
        s = _finite_ranks(np.concatenate([scores.bona_fide, scores.attacks]))
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, label=name)
    _plot_marks(ax, [(n, metrics.bpcer(s.bona_fide, t), 1 - metrics.pooled_apcer(s.attacks, t)) for n, s, t in marks])
    ax.plot([0, 1], [0, 1], ":", color="grey", linewidth=0.8)
    ax.set(xlabel="BPCER (bona fide classified as attack)", ylabel="1 - APCER pooled (attacks detected)", title="ROC")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def _det_figure(curves: Sequence[tuple[str, ScoreSet]], marks: Sequence[tuple[str, ScoreSet, float]]) -> bytes:
    """DET on normal-deviate axes: x = APCER pooled, y = BPCER (ISO/IEC 30107-3 orientation)."""
    from scipy.stats import norm

    low = 1e-3
    ticks = [0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99]
    warp = lambda r: norm.ppf(np.clip(r, low, 1 - low))  # noqa: E731 - one-line axis transform
    fig = _new_figure()
    ax = fig.add_subplot()
    for name, scores in curves:
        _, apcer, bpcer = metrics.operating_points(scores.bona_fide, scores.attacks)
        inside = (apcer > 0) & (apcer < 1) & (bpcer > 0) & (bpcer < 1)  # 0 and 1 have no normal deviate
        ax.plot(warp(apcer[inside]), warp(bpcer[inside]), label=name, drawstyle="steps-post")
    points = [(n, metrics.pooled_apcer(s.attacks, t), metrics.bpcer(s.bona_fide, t)) for n, s, t in marks]
    _plot_marks(ax, [(n, float(warp([x])[0]), float(warp([y])[0])) for n, x, y in points])
    ax.plot(warp([low, 1 - low]), warp([low, 1 - low]), ":", color="grey", linewidth=0.8)
    ax.set_xticks(warp(ticks), [f"{100 * t:g}" for t in ticks])
    ax.set_yticks(warp(ticks), [f"{100 * t:g}" for t in ticks])
    ax.set(xlabel="APCER pooled (%)", ylabel="BPCER (%)", title="DET (normal deviate scale)")
    ax.legend(loc="upper right", fontsize=8)
    return _png(fig)


def _histogram_figure(panels: Sequence[tuple[str, ScoreSet, float | None]]) -> bytes:
    """Spoof-score histograms per attack type (responded samples only), one panel per score set."""
    fig = _new_figure(6.0 * len(panels), 4.0)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, scores, threshold) in zip(axes, panels, strict=True):
        groups = [("live", _finite_for_plot(scores.bona_fide))]
        groups += [(s, _finite_for_plot(scores.attacks[scores.attack_types == s])) for s in scores.species]
        everything = np.concatenate([g for _, g in groups if g.size]) if any(g.size for _, g in groups) else np.zeros(1)
        bins = np.histogram_bin_edges(everything, bins=30)
        for name, values in groups:
            if values.size:
                ax.hist(values, bins=bins, alpha=0.5, label=f"{name} (n={values.size})")
        if threshold is not None and math.isfinite(threshold):
            ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.4g}")
        ax.set(xlabel="spoof score (higher = attack)", ylabel="count", title=title)
        ax.legend(fontsize=8)
    return _png(fig)


def _extra_png(title: str, figure: bytes | Figure) -> bytes:
    if isinstance(figure, bytes | bytearray):
        if not bytes(figure).startswith(_PNG_SIGNATURE):
            raise ValueError(f"extra figure {title!r}: bytes are not a PNG image (no PNG signature)")
        return bytes(figure)
    if hasattr(figure, "savefig"):
        return _png(figure)
    raise ValueError(f"extra figure {title!r}: expected PNG bytes or a matplotlib Figure, got {type(figure).__name__}")


# ----------------------------------------------------------------------------------------------------- rendering
def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    escape = lambda cell: str(cell).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(escape, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(escape, row)) + " |" for row in rows]
    return "\n".join(lines)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:4px 10px;text-align:left}"
    "th{background:#eee}tr:nth-child(even){background:#f8f8f8}img{max-width:100%;border:1px solid #ddd}"
    "p.note{color:#555;font-size:0.9em}"
)

_CONVENTIONS = (
    "Rates in percent. Spoof scores: higher = attack; score >= threshold is classified as an attack. "
    "The threshold is chosen on dev and applied unchanged to test. APCER (ISO) is the maximum over attack species; "
    "the pooled APCER treats all attacks as one class. Non-responses (no face found) count as errors of their own "
    "class. Numbers marked 'own threshold' or 'oracle' pick their threshold on the set they are measured on."
)


@dataclass
class _Section:
    title: str
    table: tuple[Sequence[str], Sequence[Sequence[str]]] | None = None
    text: str = ""


def _render(
    out_dir: Path, title: str, sections: Sequence[_Section], figures: Sequence[tuple[str, str, bytes]], data: dict
) -> ReportFiles:
    """Write report.md (+ PNGs), report.html (PNGs inlined as base64) and metrics.json into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png_paths = tuple(write_bytes_atomic(out_dir / name, png) for _, name, png in figures)
    md = [f"# {title}", "", _CONVENTIONS, ""]
    body = [f"<h1>{html.escape(title)}</h1>", f'<p class="note">{html.escape(_CONVENTIONS)}</p>']
    for section in sections:
        md += [f"## {section.title}", ""]
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.text:
            md += [section.text, ""]
            body.append(f'<p class="note">{html.escape(section.text)}</p>')
        if section.table:
            md += [_md_table(*section.table), ""]
            body.append(_html_table(*section.table))
    md += ["## Figures", ""]
    body.append("<h2>Figures</h2>")
    for caption, name, png in figures:
        md += [f"### {caption}", "", f"![{caption}]({name})", ""]
        encoded = base64.b64encode(png).decode("ascii")
        body.append(
            f'<h3>{html.escape(caption)}</h3><img alt="{html.escape(caption)}" src="data:image/png;base64,{encoded}">'
        )
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )
    return ReportFiles(
        markdown=write_text_atomic(out_dir / "report.md", "\n".join(md)),
        html=write_text_atomic(out_dir / "report.html", page),
        json=write_text_atomic(out_dir / "metrics.json", json.dumps(_json_safe(data), indent=2, sort_keys=True) + "\n"),
        figures=png_paths,
    )


def _json_safe(value: object) -> object:
    """Infinite numbers as strings ("inf"), so metrics.json stays strict JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _extra_figures(extra_figures: Sequence[ExtraFigure]) -> list[tuple[str, str, bytes]]:
    return [(title, f"extra-{i + 1}.png", _extra_png(title, fig)) for i, (title, fig) in enumerate(extra_figures)]


def _protocol_section(protocol: str | None, ours: EvaluationResult | FoldSummary) -> list[_Section]:
    if protocol is None:
        return []
    return [
        _Section(
            f"Published results: {PROTOCOLS[protocol] if protocol in PROTOCOLS else protocol}",
            paper_rows(protocol, ours),
            "Published numbers as printed (percent), from the sources named; see docs/paper_results.md. Each paper "
            "used its own threshold and APCER definition; our APCER is the maximum over species.",
        )
    ]


def write_report(
    result: EvaluationResult,
    out_dir: str | Path,
    *,
    protocol: str | None = None,
    extra_figures: Sequence[ExtraFigure] = (),
    title: str = "stasn evaluation",
) -> ReportFiles:
    """Write ``report.md``, ``report.html``, ``metrics.json`` and the PNG figures for one dev/test evaluation.

    Args:
        result: from :func:`stasn.evaluate.evaluation.evaluate_scores`.
        out_dir: folder to write into (created); existing reports there are replaced atomically.
        protocol: a key of :data:`stasn.evaluate.paper_results.PROTOCOLS` to add the published numbers beside ours.
        extra_figures: ``(title, PNG bytes or matplotlib Figure)`` pairs to embed after the standard figures.
        title: report heading.
    """
    if protocol is not None:
        published_results(protocol)  # fail before drawing anything
    extras = _extra_figures(extra_figures)
    sections = [
        _Section("Metrics", (["metric", "dev", "test"], metric_rows(result))),
        *_protocol_section(protocol, result),
    ]
    marks = [("test @ dev threshold", result.test, result.threshold)]
    figures = [
        ("ROC (dev and test)", "roc.png", _roc_figure([("dev", result.dev), ("test", result.test)], marks)),
        ("DET (dev and test)", "det.png", _det_figure([("dev", result.dev), ("test", result.test)], marks)),
        (
            "Spoof-score histograms per attack type",
            "histograms.png",
            _histogram_figure([("dev", result.dev, result.threshold), ("test", result.test, result.threshold)]),
        ),
        *extras,
    ]
    data = {"protocol": protocol, **result.to_dict()}
    return _render(Path(out_dir), title, sections, figures, data)


def write_folds_report(
    results: Sequence[EvaluationResult],
    out_dir: str | Path,
    *,
    protocol: str | None = None,
    extra_figures: Sequence[ExtraFigure] = (),
    title: str = "stasn evaluation over folds",
    ddof: int = 1,
) -> ReportFiles:
    """Like :func:`write_report` for several folds (each with its own dev threshold): mean ± std and every fold."""
    if protocol is not None:
        published_results(protocol)
    summary = summarize_folds(results, ddof=ddof)
    extras = _extra_figures(extra_figures)
    sections = [
        _Section(
            "Test metrics over folds",
            fold_rows(summary),
            f"Each fold's threshold is chosen on its own dev set ({results[0].criterion}); std with ddof={ddof}.",
        ),
        *_protocol_section(protocol, summary),
    ]
    tests = [(f"fold {i + 1} test", r.test) for i, r in enumerate(results)]
    marks = [(f"fold {i + 1}", r.test, r.threshold) for i, r in enumerate(results)]  # dots: each dev threshold
    figures = [
        ("ROC of each fold's test set (dots: at the fold's dev threshold)", "roc.png", _roc_figure(tests, marks)),
        ("DET of each fold's test set (dots: at the fold's dev threshold)", "det.png", _det_figure(tests, marks)),
        (
            "Test spoof-score histograms per attack type, fold 1 (dashed: its dev threshold)",
            "histograms.png",
            _histogram_figure([("fold 1 test", results[0].test, results[0].threshold)]),
        ),
        *extras,
    ]
    data = {
        "protocol": protocol,
        "ddof": ddof,
        "mean": summary.mean,
        "std": summary.std,
        "folds": [r.to_dict() for r in results],
    }
    return _render(Path(out_dir), title, sections, figures, data)
