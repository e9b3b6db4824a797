"""CLI commands of the `synth` group (work in progress: filled in by the synth work)."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this group's commands to `app`."""
