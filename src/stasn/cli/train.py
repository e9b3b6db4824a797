"""``stasn train``: run a training experiment from YAML configs plus ``key=value`` overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stasn.cli.common import setup_logging, user_errors

__all__ = ["register", "train"]


def train(
    overrides: Annotated[list[str] | None, typer.Argument(help="key=value overrides, e.g. train.lr=3e-4")] = None,
    config: Annotated[
        list[Path] | None,
        typer.Option(
            "--config", "-c", exists=True, dir_okay=False, help="YAML config; repeat to layer partial configs."
        ),
    ] = None,
    resume: Annotated[str | None, typer.Option(help="'auto' (continue the run's last.ckpt if any) or a path.")] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an earlier run of this name (its checkpoints are deleted).")
    ] = False,
    no_test: Annotated[bool, typer.Option("--no-test", help="Skip scoring the test split at the end.")] = False,
) -> None:
    """Train STASN (stages tasm -> sasm -> joint as configured), keep the best checkpoint on dev, then score the test
    split at the dev threshold and write scores and a report under <output_dir>/<name>/. A run folder that holds
    checkpoints is only reused with --resume (continue) or --overwrite (replace).

    Example: stasn train -c configs/oulu_p1.yaml -c configs/fast.yaml data.prepare.root=/data/OULU-NPU --resume auto
    """
    from stasn.train.config import load_experiment
    from stasn.train.run import train_experiment

    setup_logging()
    with user_errors():
        experiment = load_experiment(list(config or []), list(overrides or []))
        result = train_experiment(experiment, resume=resume, overwrite=overwrite, evaluate_test=not no_test)
    typer.echo(f"best checkpoint: {result.best_checkpoint}")
    if result.threshold is not None:
        typer.echo(f"dev threshold ({experiment.train.criterion}): {result.threshold:.4f}")
    if result.report_dir is not None:
        typer.echo(f"report: {result.report_dir / 'report.html'}")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
