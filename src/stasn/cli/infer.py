"""``stasn predict``, ``stasn export`` and ``stasn serve``: thin shells over :mod:`stasn.infer`."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from stasn.cli.common import setup_logging, user_errors

if TYPE_CHECKING:
    from stasn.infer.detector import Detector
    from stasn.infer.result import Prediction

__all__ = ["register", "predict", "export", "serve"]


class Backend(str, Enum):
    torch = "torch"
    onnx = "onnx"


class ExportFormat(str, Enum):
    onnx = "onnx"


CheckpointOpt = Annotated[
    Path | None,
    typer.Option(
        exists=True,
        dir_okay=False,
        help="A checkpoint (.ckpt), an exported graph (.onnx) or a release (.json); default: the model released "
        "with stasn.",
    ),
]
BackendOpt = Annotated[
    Backend | None, typer.Option(case_sensitive=False, help="torch or onnx; default: onnx for a .onnx file.")
]
DeviceOpt = Annotated[str, typer.Option(help="auto (GPU when available), cpu, cuda, cuda:N.")]
DetectorOpt = Annotated[
    str,
    typer.Option(
        help="Face detector: yunet (shipped with stasn), yunet:/path.onnx, haar, ssd:/model.pb,/config.pbtxt, or "
        "whole (inputs are face crops)."
    ),
]
ThresholdOpt = Annotated[
    float | None, typer.Option(min=0.0, max=1.0, help="Decision threshold on spoof_score (default: the stored one).")
]


def _load(checkpoint: Path | None, backend: Backend | None, device: str, detector: str, **options) -> Detector:
    from stasn.infer.detector import Detector
    from stasn.infer.release import DEFAULT_RELEASE

    checkpoint = checkpoint or DEFAULT_RELEASE
    chosen = backend.value if backend else ("onnx" if checkpoint.suffix.lower() == ".onnx" else "torch")
    return Detector.from_checkpoint(checkpoint, backend=chosen, device=device, detector=detector, **options)


def predict(
    inputs: Annotated[list[str], typer.Argument(help="Images, videos, folders, glob patterns, or webcam:N.")],
    checkpoint: CheckpointOpt = None,
    threshold: ThresholdOpt = None,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON line per prediction on stdout.")] = False,
    overlay: Annotated[Path | None, typer.Option(file_okay=False, help="Write overlays into this folder.")] = None,
    backend: BackendOpt = None,
    device: DeviceOpt = "auto",
    detector: DetectorOpt = "yunet",
    video_frames: Annotated[int, typer.Option(min=0, help="Frames sampled evenly per video (0: all).")] = 10,
    clips: Annotated[int, typer.Option(min=1, help="Clips scored per video.")] = 2,
    frame_stride: Annotated[int, typer.Option(min=1, help="Sampled frames between a clip's frames.")] = 1,
    min_face_size: Annotated[int, typer.Option(min=1, help="Smaller faces (longer side, px) are not scored.")] = 40,
    batch_size: Annotated[int, typer.Option(min=1, help="Still images per model call.")] = 8,
    max_frames: Annotated[int | None, typer.Option(min=1, help="Stop a webcam after this many frames.")] = None,
    boxes: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help='Your own face boxes: JSON lines {"input": "a.jpg", "box": [x1, y1, x2, y2]}.',
        ),
    ] = None,
) -> None:
    """Score images, videos, folders or a webcam; exit status 1 if any input could not be read.

    Without --checkpoint the model released with stasn answers. Example:
    stasn predict photos/ clip.mp4 --json --overlay overlays/
    """
    from stasn.infer.inputs import expand_inputs
    from stasn.infer.predict import PredictSummary, predict_inputs, read_face_boxes

    setup_logging()
    err = Console(stderr=True)
    with user_errors():
        face_boxes = read_face_boxes(boxes) if boxes is not None else None
        model = _load(
            checkpoint,
            backend,
            device,
            detector,
            threshold=threshold,
            video_frames=video_frames or None,
            clips_per_video=clips,
            frame_stride=frame_stride,
            min_face_size=min_face_size,
        )
        items = list(expand_inputs(inputs))
        summary, rows = PredictSummary(), []
        with _Progress(err, len(items)) as (bar, task):
            for pred in predict_inputs(
                model,
                items,
                batch_size=batch_size,
                overlay_dir=overlay,
                stream_frames=max_frames,
                summary=summary,
                on_item_done=lambda: bar.advance(task),
                face_boxes=face_boxes,
            ):
                if json_lines:
                    typer.echo(json.dumps(pred.to_dict()))
                else:
                    rows.append(pred)
    if rows:
        Console().print(_table(rows))
    err.print(summary.describe() + (f"; overlays in {overlay}" if overlay and summary.overlays else ""), soft_wrap=True)
    if summary.failed:
        raise typer.Exit(code=1)


def export(
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="The checkpoint (.ckpt) or release (.json) to export; default: the model released with stasn.",
        ),
    ] = None,
    format: Annotated[ExportFormat, typer.Option("--format", case_sensitive=False)] = ExportFormat.onnx,
    opset: Annotated[int, typer.Option(help="ONNX opset (>= 18).")] = 18,
    out: Annotated[
        Path | None, typer.Option(dir_okay=False, help="Output file; default <checkpoint>.onnx (stasn_lite0.onnx).")
    ] = None,
    check: Annotated[bool, typer.Option(help="Compare ONNX Runtime with PyTorch before writing.")] = True,
) -> None:
    """Export a checkpoint to one ONNX graph (dynamic batch axis), checked against PyTorch.

    Example: stasn export --checkpoint best.ckpt --format onnx --out best.onnx
    """
    from stasn.infer.export import export_onnx
    from stasn.infer.release import DEFAULT_RELEASE, is_release, load_release

    setup_logging()
    with user_errors():
        source = checkpoint or DEFAULT_RELEASE
        if is_release(source):  # a release's own folder is the package's: write beside the caller by default
            out = out or Path(source.with_suffix(".onnx").name)
            report = export_onnx(load_release(source), out, opset=opset, check=check)
        else:
            report = export_onnx(source, out, opset=opset, check=check)
    typer.echo(
        f"wrote {report.path} ({report.size_bytes / 2**20:.1f} MiB, {report.graphs} graph, opset {report.opset}, "
        f"{report.seconds:.1f} s)"
    )
    if report.parity is not None:
        typer.echo(f"parity with PyTorch: {report.parity.describe()}")


def serve(
    checkpoint: CheckpointOpt = None,
    host: Annotated[str, typer.Option(help="Address to bind; keep 127.0.0.1 behind a reverse proxy.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    backend: BackendOpt = None,
    device: DeviceOpt = "auto",
    detector: DetectorOpt = "yunet",
    threshold: ThresholdOpt = None,
    max_upload_mb: Annotated[float, typer.Option(min=0.01, help="Largest request body, MiB.")] = 20.0,
    max_pixels: Annotated[int, typer.Option(min=1, help="Largest image / video frame, pixels.")] = 4096 * 4096,
    max_frames: Annotated[int, typer.Option(min=1, help="Longest video, frames.")] = 900,
    timeout: Annotated[float, typer.Option(min=0.1, help="Per-request time limit, seconds (504 after).")] = 30.0,
    max_queue: Annotated[int, typer.Option(min=1, help="Requests admitted to the model at once; more get 503.")] = 8,
    max_batch: Annotated[int, typer.Option(min=1, help="Waiting still images scored per model call (1: off).")] = 8,
    max_uploads: Annotated[int, typer.Option(min=1, help="Request bodies received at once; more get 503.")] = 32,
    read_timeout: Annotated[float, typer.Option(min=0.1, help="Seconds for a request body to arrive (408).")] = 30.0,
    header_timeout: Annotated[float, typer.Option(min=0.1, help="Seconds for request headers to arrive.")] = 10.0,
    max_connections: Annotated[int, typer.Option(min=1, help="Open connections accepted.")] = 1024,
) -> None:
    """Serve POST /v1/predict (multipart field 'file': image or short video) and GET /healthz.

    Example: stasn serve --checkpoint best.onnx --port 8000
    """
    from stasn.infer.serve import ServeLimits
    from stasn.infer.serve import serve as run_server

    setup_logging()
    with user_errors():
        limits = ServeLimits(
            max_upload_bytes=int(max_upload_mb * 2**20),
            max_pixels=max_pixels,
            max_frames=max_frames,
            request_timeout=timeout,
            max_queue=max_queue,
            max_batch=max_batch,
            max_uploads=max_uploads,
            read_timeout=read_timeout,
            header_timeout=header_timeout,
            max_connections=max_connections,
        )
        model = _load(checkpoint, backend, device, detector, threshold=threshold, max_pixels=max_pixels)
    run_server(model, host=host, port=port, limits=limits)


class _Progress:
    """A rich progress bar on stderr (hidden when stderr is not a terminal); yields ``(progress, task)``."""

    def __init__(self, console: Console, total: int) -> None:
        self.bar = Progress(
            TextColumn("predict"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self.total = total

    def __enter__(self):
        self.bar.__enter__()
        return self.bar, self.bar.add_task("predict", total=self.total)

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)


def _table(predictions: list[Prediction]) -> Table:
    table = Table(title="stasn predict")
    for column in ("input", "status", "spoof score", "verdict", "face box"):
        table.add_column(column, overflow="fold")
    for p in predictions:
        score = "" if p.spoof_score is None else f"{p.spoof_score:.3f}"
        verdict = (p.reason or "") if p.label is None else f"{p.label} (t={p.threshold:.3f})"
        box = "" if p.face_box is None else " ".join(f"{v:.0f}" for v in p.face_box)
        table.add_row(p.input, p.status, score, verdict, box)
    return table


def register(app: typer.Typer) -> None:
    """Add ``predict``, ``export`` and ``serve`` to ``app``."""
    app.command("predict")(predict)
    app.command("export")(export)
    app.command("serve")(serve)
