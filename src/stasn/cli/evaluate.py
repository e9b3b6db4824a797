"""``stasn evaluate``: ISO/IEC 30107-3 metrics and reports from dev/test score files."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from stasn.cli.common import user_errors
from stasn.evaluate.evaluation import AGGREGATE_CHOICES, CRITERIA
from stasn.evaluate.paper_results import PROTOCOLS

__all__ = ["register", "evaluate"]

Criterion = Enum("Criterion", {name: name for name in CRITERIA}, type=str)  # eer | bpcer10 | bpcer20 | bpcer100
Protocol = Enum("Protocol", {name: name for name in PROTOCOLS}, type=str)
Aggregate = Enum("Aggregate", {name: name for name in AGGREGATE_CHOICES}, type=str)


def evaluate(
    dev: Annotated[
        list[Path] | None,
        typer.Option("--dev", exists=True, dir_okay=False, help="Dev score CSV (threshold). Repeat for folds."),
    ] = None,
    test: Annotated[
        list[Path] | None,
        typer.Option("--test", exists=True, dir_okay=False, help="Test score CSV, paired with --dev in order."),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Score --cache with this checkpoint first (no score files)."),
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option(exists=True, file_okay=False, help="Face-crop cache (dev + test) scored with --checkpoint."),
    ] = None,
    criterion: Annotated[
        Criterion | None,
        typer.Option(case_sensitive=False, help="How to pick the dev threshold [default: eer, or the checkpoint's]."),
    ] = None,
    protocol: Annotated[
        Protocol | None, typer.Option(case_sensitive=False, help="Add the published numbers of this protocol.")
    ] = None,
    aggregate: Annotated[
        Aggregate, typer.Option(case_sensitive=False, help="Frame -> video score rule ('none': rows as given).")
    ] = Aggregate.mean,
    out: Annotated[Path, typer.Option(file_okay=False, help="Folder for report.md, report.html, metrics.json.")] = Path(
        "evaluation"
    ),
) -> None:
    """Choose a threshold on dev, apply it to test, print the metrics and write a report.

    Several --dev/--test pairs are folds (OULU-NPU P3/P4, SiW P2/P3): each fold gets its own dev threshold and the
    report gives mean ± std.

    With --checkpoint and --cache the model scores the cache's dev and test splits first (scores/dev.csv and
    scores/test.csv under --out), then the same report is written, with RAM-region pictures.

    Example: stasn evaluate --dev scores-dev.csv --test scores-test.csv --criterion bpcer20 --protocol oulu-npu-p1

    Example: stasn evaluate --checkpoint runs/oulu_p1/checkpoints/best.ckpt --cache runs/cache/oulu_p1
    """
    from stasn.evaluate import evaluate_scores, read_scores, summarize_folds, write_folds_report, write_report
    from stasn.evaluate.report import fold_rows, metric_rows

    dev, test = list(dev or []), list(test or [])
    with user_errors():
        if checkpoint is not None or cache is not None:
            if checkpoint is None or cache is None or dev or test:
                raise ValueError("give --checkpoint together with --cache, and no --dev/--test score files")
            from stasn.train.checkpoint_eval import evaluate_checkpoint

            outcome = evaluate_checkpoint(
                checkpoint,
                cache=cache,
                out_dir=out,
                criterion=criterion.value if criterion else None,
                protocol=protocol.value if protocol else None,
                title=checkpoint.stem,
            )
            _print_table(["metric", "dev", "test"], [list(r) for r in metric_rows(outcome.result)])
            typer.echo(f"wrote {outcome.scores_dir} and {outcome.report_dir / 'report.html'}")
            return
        if not dev or not test:
            raise ValueError("give --dev and --test score files (or --checkpoint and --cache)")
        criterion = criterion or Criterion.eer
        if len(dev) != len(test):
            raise ValueError(f"got {len(dev)} --dev and {len(test)} --test files; give them in dev/test pairs")
        results = [
            evaluate_scores(read_scores(d), read_scores(t), criterion.value, aggregate=aggregate.value)
            for d, t in zip(dev, test, strict=True)
        ]
        name = protocol.value if protocol else None
        if len(results) == 1:
            files = write_report(results[0], out, protocol=name)
            header, rows = ["metric", "dev", "test"], [list(r) for r in metric_rows(results[0])]
        else:
            files = write_folds_report(results, out, protocol=name)
            header, rows = fold_rows(summarize_folds(results))
    _print_table(header, rows)
    typer.echo(f"wrote {files.markdown}, {files.html} and {files.json}")


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    table = Table(*header, title="stasn evaluate (rates in %)")
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))  # species names like "[print]" are not rich markup
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add ``stasn evaluate`` to `app`."""
    app.command("evaluate")(evaluate)
