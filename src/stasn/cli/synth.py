"""``stasn synth``: synthesize replay or print attacks from live faces into a face-crop cache."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from stasn.cli.common import progress_bar, setup_logging, user_errors
from stasn.synth.kinds import KINDS

__all__ = ["register", "synth"]


Kind = Enum("Kind", {kind: kind for kind in KINDS}, type=str)  # replay | print


def synth(
    live: Annotated[Path, typer.Option(exists=True, help="Live faces: a cache folder, its manifest.csv, or images.")],
    out: Annotated[Path, typer.Option(file_okay=False, help="Cache to write into (may be the --live cache).")],
    kind: Annotated[Kind, typer.Option(case_sensitive=False, help="Attack to synthesize.")] = Kind("replay"),
    per_live: Annotated[int, typer.Option(min=1, help="Attack videos per live video.")] = 1,
    seed: Annotated[int, typer.Option(help="Base seed; the output depends only on it, not on --workers.")] = 0,
    workers: Annotated[int, typer.Option(min=0, help="Processes (0 = one per CPU core).")] = 1,
    preview: Annotated[
        Path | None, typer.Option(dir_okay=False, help="Write a PNG contact sheet of live inputs and attacks.")
    ] = None,
    templates: Annotated[
        Path | None, typer.Option(file_okay=False, help="Real device templates (stasn templates extract); replay.")
    ] = None,
    template_ratio: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of replays composited into --templates.")
    ] = 0.5,
) -> None:
    """Make synthesized attacks (label 1, replay-synth / print-synth) from every live video and add them to a cache.

    Example: stasn synth --live runs/cache/nuaa --out runs/cache/nuaa --kind replay --per-live 2 --preview sheet.png
    """
    from stasn.synth.generate import synthesize_cache

    setup_logging()
    with user_errors(), progress_bar("synthesizing") as advance:
        summary = synthesize_cache(
            live, out, kind=kind.value, per_live=per_live, seed=seed, workers=workers or os.cpu_count() or 1,
            preview=preview, progress=advance, templates=templates, template_ratio=template_ratio,
        )  # fmt: skip
    console = Console()
    console.print(
        f"{summary.videos} {summary.kind} attack videos ({summary.frames} frames) from {summary.sources} live "
        f"videos -> {summary.manifest} ({summary.seconds:.1f} s)"
    )
    if summary.preview is not None:
        console.print(f"preview: {summary.preview}")


def register(app: typer.Typer) -> None:
    """Add this group's commands to `app`."""
    app.command("synth")(synth)
