"""``stasn prepare``: build the face-crop cache of a dataset (a thin shell over :func:`stasn.data.prepare`)."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from stasn.cli.common import progress_bar, setup_logging, user_errors

__all__ = ["register", "prepare"]


class Pad(str, Enum):
    edge = "edge"
    zero = "zero"


def prepare(
    dataset: Annotated[str, typer.Option(help="Adapter name: nuaa, generic, oulu-npu, siw, casia-fasd, ...")],
    root: Annotated[Path, typer.Option(exists=True, file_okay=False, help="The dataset's root folder.")],
    out: Annotated[Path, typer.Option(file_okay=False, help="Cache folder to write (re-run to resume).")],
    protocol: Annotated[str | None, typer.Option(help="Protocol; default: the adapter's first.")] = None,
    fold: Annotated[str | None, typer.Option(help="Fold of the protocol, if it has folds.")] = None,
    split: Annotated[str | None, typer.Option(help="Only this split (train/dev/test); default all.")] = None,
    detector: Annotated[
        str,
        typer.Option(help="yunet (shipped) | yunet:/path.onnx | haar | ssd:/path.pb,/path.pbtxt | whole (face crops)"),
    ] = "yunet",
    frames_per_video: Annotated[int, typer.Option(min=0, help="Frames per video (0 = every frame).")] = 0,
    frame_stride: Annotated[int | None, typer.Option(min=1, help="Take runs of frames at this step.")] = None,
    clips_per_video: Annotated[int, typer.Option(min=1, help="Runs per video (needs --frame-stride).")] = 1,
    workers: Annotated[int, typer.Option(min=0, help="Processes (0 = one per CPU core).")] = 0,
    face_size: Annotated[int, typer.Option(help="TASM crop side, pixels.")] = 224,
    highres_size: Annotated[int, typer.Option(help="High-res crop side, pixels.")] = 448,
    crop_scale: Annotated[float, typer.Option(help="Crop side / longer face-box side.")] = 1.3,
    pad: Annotated[Pad, typer.Option(help="Fill where the crop leaves the frame.")] = Pad.edge,
) -> None:
    """Decode, detect and crop every sampled frame into a cache (crops + manifest.csv) for training.

    Example: stasn prepare --dataset nuaa --root /data/NUAA --out runs/cache/nuaa --detector yunet:yunet.onnx
    """
    from stasn.data.manifest import CacheInfo
    from stasn.data.prepare import prepare_dataset
    from stasn.data.sampling import FrameSampler

    setup_logging()
    with user_errors(), progress_bar("preparing") as advance:
        summary = prepare_dataset(
            dataset, root, out, protocol=protocol, fold=fold, split=split, detector=detector,
            sampler=FrameSampler(count=frames_per_video or None, stride=frame_stride, clips=clips_per_video),
            cache_info=CacheInfo(face_size=face_size, highres_size=highres_size, crop_scale=crop_scale),
            workers=workers or os.cpu_count() or 1, pad=pad.value, progress=advance,
        )  # fmt: skip
    Console().print(summary_table(summary))


def summary_table(summary) -> Table:
    """Per-split videos, frames and failures of a :class:`~stasn.data.prepare.PrepareSummary` as a rich table."""
    title = f"{summary.manifest} ({summary.seconds:.1f} s)"
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for column in ("split", "videos", "resumed", "frames", "ok", "ok %", "no_face", "unreadable", "faceless"):
        table.add_column(column, justify="left" if column == "split" else "right", min_width=len(column))
    for name, c in [*sorted(summary.splits.items()), ("total", summary.total)]:
        counts = (c.videos, c.resumed, c.frames, c.ok, f"{100 * c.face_rate:.1f}" if c.frames else "-")
        table.add_row(name, *map(str, (*counts, c.no_face, c.unreadable, c.videos_without_face)))
    return table


def register(app: typer.Typer) -> None:
    """Add this group's commands to `app`."""
    app.command("prepare")(prepare)
