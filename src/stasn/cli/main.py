"""The ``stasn`` command: a thin shell over the Python API. Each command group lives in its own module."""

from __future__ import annotations

import typer

from stasn import __version__
from stasn.cli import collect as collect_cmds
from stasn.cli import data as data_cmds
from stasn.cli import demo as demo_cmds
from stasn.cli import evaluate as evaluate_cmds
from stasn.cli import infer as infer_cmds
from stasn.cli import model as model_cmds
from stasn.cli import synth as synth_cmds
from stasn.cli import train as train_cmds

app = typer.Typer(
    name="stasn",
    help="Face anti-spoofing with STASN: prepare data, synthesize attacks, train, evaluate, predict, serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def version() -> None:
    """Print the stasn version."""
    typer.echo(__version__)


for _group in (model_cmds, data_cmds, collect_cmds, synth_cmds, evaluate_cmds, train_cmds, infer_cmds, demo_cmds):
    _group.register(app)
