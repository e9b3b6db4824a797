"""``stasn demo``: the end-to-end demo (what ``make demo`` runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stasn.cli.common import setup_logging, user_errors

__all__ = ["register", "demo"]


def demo(
    overrides: Annotated[list[str] | None, typer.Argument(help="key=value overrides of configs/demo.yaml")] = None,
    out: Annotated[Path, typer.Option(help="Folder for everything the demo writes.")] = Path("demo-output"),
    live_dir: Annotated[
        Path | None, typer.Option(exists=True, file_okay=False, help="Real live faces: one sub-folder per subject.")
    ] = None,
    detector: Annotated[
        str, typer.Option(help="Face detector for --live-dir: yunet (shipped), yunet:/path.onnx, haar, ...")
    ] = "yunet",
    subjects: Annotated[int, typer.Option(min=5, help="Procedural identities.")] = 15,
    seed: Annotated[int, typer.Option(help="Seed for the data, the synthesis and the training.")] = 0,
) -> None:
    """Run the whole pipeline on a CPU in a few minutes: live faces -> prepare -> synthesize attacks -> train STASN
    -> evaluate on test at the dev threshold -> report -> predict.

    Example: stasn demo --live-dir ../shared/data/nuaa-raw-train/ClientRaw --detector yunet:face_detection_yunet.onnx
    """
    from stasn.demo.run import DemoOptions, run_demo

    setup_logging()
    with user_errors():
        options = DemoOptions(
            out_dir=out,
            live_dir=live_dir,
            detector=detector,
            subjects=subjects,
            seed=seed,
            overrides=list(overrides or []),
        )
        result = run_demo(options, echo=typer.echo)
    total = sum(result.seconds.values())
    typer.echo(f"\ndone in {total:.0f} s: " + ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items()))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
