"""Scoring many inputs in one go — what ``stasn predict`` runs: folders, globs, videos and cameras, with overlays.

An input that cannot be read is reported as a prediction with ``status="unreadable"`` and counted; it never stops
the run. Still images are scored in batches of ``batch_size`` (one model call each); videos one by one.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stasn.data.video import open_video
from stasn.errors import DataError
from stasn.infer.detector import Detector
from stasn.infer.inputs import InputItem, capture_frames, load_image, open_capture
from stasn.infer.overlay import StreamOverlay, VideoWriter, overlay_name, write_image_overlay, write_video_overlay
from stasn.infer.result import STATUS_OK, STATUS_UNREADABLE, Prediction

__all__ = ["PredictSummary", "predict_inputs", "read_face_boxes"]

log = logging.getLogger(__name__)


@dataclass
class PredictSummary:
    """Counts over a run. ``failed`` = unreadable inputs (the CLI exits 1 when there is any)."""

    total: int = 0
    attacks: int = 0
    live: int = 0
    undecided: int = 0  # no face / face too small
    failed: int = 0
    failures: list[str] = field(default_factory=list)  # "input: reason" of the unreadable ones
    overlays: list[Path] = field(default_factory=list)

    def add(self, prediction: Prediction) -> None:
        self.total += 1
        if prediction.status == STATUS_UNREADABLE:
            self.failed += 1
            self.failures.append(f"{prediction.input}: {prediction.reason}")
        elif prediction.status != STATUS_OK:
            self.undecided += 1
        elif prediction.is_attack:
            self.attacks += 1
        else:
            self.live += 1

    def describe(self) -> str:
        return (
            f"{self.total} prediction(s): {self.attacks} attack, {self.live} live, {self.undecided} undecided "
            f"(no usable face), {self.failed} unreadable"
        )


def predict_inputs(
    detector: Detector,
    items: Sequence[InputItem],
    *,
    threshold: float | None = None,
    batch_size: int = 8,
    overlay_dir: str | Path | None = None,
    stream_frames: int | None = None,
    summary: PredictSummary | None = None,
    on_item_done: Callable[[], None] | None = None,
    face_boxes: dict[str, tuple[float, float, float, float]] | None = None,
) -> Iterator[Prediction]:
    """Yield one prediction per input (one per clip for a camera), in input order.

    Args:
        detector: the loaded model.
        items: from :func:`stasn.infer.inputs.expand_inputs`.
        threshold: overrides the detector's threshold.
        batch_size: still images per model call.
        overlay_dir: write an overlay per input here (``<stem>.overlay.jpg`` / ``.mp4``).
        stream_frames: stop a camera after this many frames (``None``: until the camera stops).
        summary: counts are added to it as predictions are made.
        on_item_done: called once per finished input (progress bars).
        face_boxes: the caller's face box per still image, by input name or path (:func:`read_face_boxes`); images
            not listed go through the face detector.
    """
    summary = summary if summary is not None else PredictSummary()
    out_dir = Path(overlay_dir) if overlay_dir is not None else None
    taken: set[str] = set()
    batch: list[InputItem] = []

    def flush() -> Iterator[Prediction]:
        if not batch:
            return
        boxes = [_box_for(item, face_boxes) for item in batch]
        preds = detector.predict_batch(
            [i.path for i in batch], names=[i.name for i in batch], threshold=threshold, face_boxes=boxes
        )
        for item, pred in zip(batch, preds, strict=True):
            _finish(pred, summary)
            if out_dir is not None and pred.status != STATUS_UNREADABLE:
                _image_overlay(out_dir / overlay_name(item.name, "image", taken), item, pred, summary)
            yield pred
            if on_item_done:
                on_item_done()
        batch.clear()

    for item in items:
        if item.kind == "image":
            batch.append(item)
            if len(batch) >= batch_size:
                yield from flush()
            continue
        yield from flush()
        if item.kind == "missing":
            pred = Prediction(item.name, "image", STATUS_UNREADABLE, detector.threshold, reason=item.error)
            _finish(pred, summary)
            yield pred
        elif item.kind == "webcam":
            yield from _stream(detector, item, threshold, out_dir, taken, stream_frames, summary)
        else:
            pred = detector.predict_video(item.path, name=item.name, threshold=threshold)
            _finish(pred, summary)
            if out_dir is not None and pred.status != STATUS_UNREADABLE:
                _video_overlay(out_dir / overlay_name(item.name, "video", taken), item, pred, summary)
            yield pred
        if on_item_done:
            on_item_done()
    yield from flush()


def _finish(prediction: Prediction, summary: PredictSummary) -> None:
    summary.add(prediction)
    if prediction.status == STATUS_UNREADABLE:
        log.warning("skipped %s", prediction.reason)


def _image_overlay(path: Path, item: InputItem, pred: Prediction, summary: PredictSummary) -> None:
    try:
        write_image_overlay(path, load_image(item.path, max_pixels=2**62), pred)
        summary.overlays.append(path)
    except (DataError, OSError, ValueError) as exc:
        log.warning("%s: overlay not written (%s)", item.name, exc)


def _video_overlay(path: Path, item: InputItem, pred: Prediction, summary: PredictSummary) -> None:
    try:
        with open_video(item.path) as source:
            write_video_overlay(path, source, pred)
        summary.overlays.append(path)
    except (DataError, OSError, ValueError) as exc:
        log.warning("%s: overlay not written (%s)", item.name, exc)


def _stream(
    detector: Detector,
    item: InputItem,
    threshold: float | None,
    out_dir: Path | None,
    taken: set[str],
    max_frames: int | None,
    summary: PredictSummary,
) -> Iterator[Prediction]:
    try:
        frames = capture_frames(open_capture(item.index), max_frames=max_frames)  # type: ignore[arg-type]
    except DataError as exc:
        pred = Prediction(item.name, "stream", STATUS_UNREADABLE, detector.threshold, reason=str(exc))
        _finish(pred, summary)
        yield pred
        return
    if out_dir is None:
        for pred in detector.predict_stream(frames, name=item.name, threshold=threshold):
            _finish(pred, summary)
            yield pred
        return
    path = out_dir / overlay_name(item.name, "stream", taken)
    with VideoWriter(path, fps=30.0) as writer:
        overlay = StreamOverlay(writer)
        for pred in detector.predict_stream(overlay.tap(frames), name=item.name, threshold=threshold):
            overlay.add(pred)
            _finish(pred, summary)
            yield pred
    if writer.frames:
        summary.overlays.append(path)


def _box_for(
    item: InputItem, boxes: dict[str, tuple[float, float, float, float]] | None
) -> tuple[float, float, float, float] | None:
    if not boxes:
        return None
    for key in (item.name, str(item.path), str(Path(item.path).resolve()) if item.path else None):
        if key in boxes:
            return boxes[key]
    return None


def read_face_boxes(path: str | Path) -> dict[str, tuple[float, float, float, float]]:
    """Read a JSON-lines file of face boxes: one ``{"input": "face.jpg", "box": [x1, y1, x2, y2]}`` per line (pixels
    of that image). Keys are the input as written and its resolved path.

    Raises:
        FileNotFoundError: no such file.
        DataError: a line that is not such an object (the message names file:line).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: boxes file not found")
    boxes: dict[str, tuple[float, float, float, float]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            name, box = str(record["input"]), tuple(float(v) for v in record["box"])
            if len(box) != 4 or not all(math.isfinite(v) for v in box) or box[2] <= box[0] or box[3] <= box[1]:
                raise ValueError("box must be x1, y1, x2, y2 with x2 > x1 and y2 > y1")
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f'{path}:{number}: expected {{"input": "image.jpg", "box": [x1, y1, x2, y2]}} ({exc})'
            ) from None
        boxes[name] = box  # type: ignore[assignment]
        boxes[str(Path(name).resolve())] = box  # type: ignore[assignment]
    return boxes
