"""``stasn model-summary``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from stasn.cli.common import user_errors

__all__ = ["register", "model_summary"]


def model_summary(
    config: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="YAML with a `model:` section.")
    ] = None,
    backbone: Annotated[
        str | None,
        typer.Option(help="Override the backbone (resnet50, resnet18, mobilenet_v3_large, mobilenet_v3_small)."),
    ] = None,
) -> None:
    """Print parameters, backbone passes per clip and GFLOPs per clip of a STASN configuration.

    Example: stasn model-summary --config configs/oulu_p1.yaml --backbone resnet18
    """
    from stasn.model.config import STASNConfig
    from stasn.model.summary import summarize_model

    with user_errors():
        cfg = STASNConfig.from_yaml(config) if config else STASNConfig()
        if backbone:
            cfg.backbone = backbone
            cfg.validate()
        summary = summarize_model(cfg)
    table = Table(title="STASN model summary", show_header=False)
    for name, value in summary.rows():
        table.add_row(name, value)
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("model-summary")(model_summary)
