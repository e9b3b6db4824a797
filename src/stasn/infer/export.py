"""``stasn export``: a checkpoint to one ONNX graph with a dynamic batch axis, checked against PyTorch.

The whole model — TASM, RAM's region selection (attention peaks + greedy NMS, a fixed K-step loop of argmax and
scatter), the ``roi_align`` crop and SASM — exports as **one** graph with ``torch.onnx.export(dynamo=True)``; the
older TorchScript exporter fails on RAM's in-place boolean ``scatter_``. One fix-up is applied to the exported graph:
ONNX Runtime's CPU provider has no ``Where`` kernel for boolean tensors (RAM's "fall back to the best unpicked
candidate" mask), so each boolean ``Where(c, a, b)`` is rewritten as ``Or(And(c, a), And(Not(c), b))``, which is the
same truth table.

Graph: inputs ``frames float32[frames, 3, input_size, input_size]`` and ``highres float32[frames, 3, highres_size,
highres_size]`` (RGB in [0, 1], each distinct frame once) and ``frame_index int64[batch, T]`` (which frame each clip
step is: a still image is one frame with index ``[[0] * T]``, so the CNNs run once, not T times); outputs
``spoof_score``, ``tasm_score``, ``sasm_score`` ``float32[batch]`` and ``boxes float32[batch, T, K, 4]`` (high-res crop
pixels). T, the sizes and K are fixed by the checkpoint; ``frames`` and ``batch`` are dynamic.

The file carries the checkpoint's model config, crop geometry (``CacheInfo``) and dev threshold as JSON in the ONNX
metadata (key ``stasn``), so ``Detector.from_checkpoint("model.onnx", backend="onnx")`` needs nothing else.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import json
import logging
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stasn import __version__
from stasn.fileio import atomic_path
from stasn.infer.backends import (
    INPUT_NAMES,
    OUTPUT_NAMES,
    BackendOutput,
    OnnxBackend,
    STASNScorer,
    clips_to_frames,
)
from stasn.model.checkpoint import LoadedCheckpoint, load_checkpoint

__all__ = [
    "ExportReport",
    "ParityReport",
    "export_onnx",
    "onnx_bytes",
    "check_parity",
    "compare_outputs",
    "read_onnx_metadata",
    "METADATA_KEY",
    "MIN_OPSET",
    "PARITY_TOLERANCE",
    "ONNX_FORMAT",
]

log = logging.getLogger(__name__)

METADATA_KEY = "stasn"
MIN_OPSET = 18  # the dynamo exporter's lowest native opset (RoiAlign needs >= 16, GridSample >= 16)
PARITY_TOLERANCE = 1e-3  # max relative error of the scores, ONNX Runtime vs PyTorch
ONNX_FORMAT = 2  # 1: inputs (clips, highres); 2: (frames, highres, frame_index)
_SCORE_FLOOR = 1e-3  # relative error denominator floor: scores near 0 are compared absolutely below this
_BOX_TOLERANCE = 0.5  # pixels; region boxes are whole-pixel picks, so any real disagreement is >= 1 px


@dataclass(frozen=True)
class ParityReport:
    """ONNX Runtime vs PyTorch on the same inputs.

    ``max_rel_error`` = max over the three score outputs of ``|onnx - torch| / max(|torch|, 1e-3)``;
    ``box_mismatch`` = fraction of region boxes whose corners differ by more than 0.5 px (a different peak picked).
    """

    max_rel_error: float
    max_box_error: float  # pixels
    box_mismatch: float
    batches: tuple[int, ...]  # batch sizes tried

    @property
    def ok(self) -> bool:
        return self.max_rel_error <= PARITY_TOLERANCE and self.box_mismatch == 0.0

    def describe(self) -> str:
        return (
            f"max relative score error {self.max_rel_error:.2e} (tolerance {PARITY_TOLERANCE:g}), "
            f"region boxes: {100 * self.box_mismatch:.1f}% differ, max {self.max_box_error:.2f} px; "
            f"batch sizes {list(self.batches)}"
        )


@dataclass(frozen=True)
class ExportReport:
    path: Path
    opset: int
    graphs: int  # 1: the whole model is one graph
    size_bytes: int
    seconds: float
    parity: ParityReport | None


def compare_outputs(onnx_out: BackendOutput, torch_out: BackendOutput) -> tuple[float, float, float]:
    """``(max relative score error, max box error in px, fraction of mismatching boxes)``; see :class:`ParityReport`."""
    rel = 0.0
    for name in ("spoof_score", "tasm_score", "sasm_score"):
        a, b = getattr(onnx_out, name).astype(np.float64), getattr(torch_out, name).astype(np.float64)
        rel = max(rel, float(np.max(np.abs(a - b) / np.maximum(np.abs(b), _SCORE_FLOOR), initial=0.0)))
    diff = np.abs(onnx_out.boxes.astype(np.float64) - torch_out.boxes.astype(np.float64)).max(axis=-1)  # (B,T,K)
    return rel, float(diff.max(initial=0.0)), float((diff > _BOX_TOLERANCE).mean()) if diff.size else 0.0


def _example_inputs(
    loaded: LoadedCheckpoint, batch: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random distinct frames and an index over them: clip 0 is a still (one frame repeated), the others draw frames
    at random, so both the repeated and the mixed case are exercised."""
    c = loaded.config
    g = torch.Generator().manual_seed(seed)
    count = batch * c.num_frames // 2 + 1
    frames = torch.rand(count, 3, c.input_size, c.input_size, generator=g)
    highres = torch.rand(count, 3, c.highres_size, c.highres_size, generator=g)
    index = torch.randint(0, count, (batch, c.num_frames), generator=g)
    index[0] = 0
    return frames, highres, index


def _rewrite_bool_where(model: Any) -> int:
    """Replace each ``Where`` with boolean output by ``Or(And(c, a), And(Not(c), b))`` (see module doc).

    Returns the number of nodes rewritten.
    """
    import onnx
    from onnx import TensorProto, helper

    inferred = onnx.shape_inference.infer_shapes(model)
    graph = inferred.graph
    types = {v.name: v.type.tensor_type.elem_type for v in [*graph.value_info, *graph.input, *graph.output]}
    nodes, count = [], 0
    for node in model.graph.node:
        if node.op_type != "Where" or types.get(node.output[0]) != TensorProto.BOOL:
            nodes.append(node)
            continue
        cond, a, b = node.input
        p = node.name or f"bool_where_{count}"
        nodes += [
            helper.make_node("And", [cond, a], [f"{p}__ca"], name=f"{p}__and_ca"),
            helper.make_node("Not", [cond], [f"{p}__nc"], name=f"{p}__not_c"),
            helper.make_node("And", [f"{p}__nc", b], [f"{p}__ncb"], name=f"{p}__and_ncb"),
            helper.make_node("Or", [f"{p}__ca", f"{p}__ncb"], [node.output[0]], name=f"{p}__or"),
        ]
        count += 1
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return count


@contextlib.contextmanager
def _quiet_loggers() -> Iterator[None]:
    """The exporter's optimizer logs every rewrite at INFO; keep them out of the user's log while exporting."""
    loggers = [logging.getLogger(name) for name in ("onnxscript", "onnx_ir", "torch.onnx", "torch.export")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _metadata(loaded: LoadedCheckpoint, opset: int, source: str) -> dict[str, Any]:
    return {
        "format": ONNX_FORMAT,
        "model_config": loaded.config.to_dict(),
        "cache_info": dataclasses.asdict(loaded.cache_info),
        "threshold": loaded.threshold,
        "threshold_criterion": loaded.threshold_criterion,
        "opset": opset,
        "source_checkpoint": source,
        "stasn_version": __version__,
    }


def onnx_bytes(loaded: LoadedCheckpoint, *, opset: int = MIN_OPSET, source: str = "") -> bytes:
    """Export ``loaded.model`` to a serialized ONNX model (one graph, dynamic batch, stasn metadata attached).

    Raises:
        ValueError: opset too low, or the exporter failed (message names the cause).
    """
    import onnx

    if opset < MIN_OPSET:
        raise ValueError(
            f"opset {opset} is too low: stasn export needs opset >= {MIN_OPSET} (RoiAlign, dynamo exporter)"
        )
    # Trace a copy: exporting runs the model on fake tensors and must not touch the caller's module state.
    scorer = STASNScorer(copy.deepcopy(loaded.model).cpu().float()).eval()
    batch = torch.export.Dim("batch", min=1, max=4096)
    frames = torch.export.Dim("frames", min=1, max=65536)
    chatter = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(chatter), _quiet_loggers():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                scorer,
                _example_inputs(loaded, 2),
                None,
                input_names=list(INPUT_NAMES),
                output_names=list(OUTPUT_NAMES),
                dynamic_shapes=({0: frames}, {0: frames}, {0: batch}),
                opset_version=opset,
                dynamo=True,
                verbose=False,
            )
    except Exception as exc:
        log.debug("exporter output:\n%s", chatter.getvalue())
        raise ValueError(
            f"ONNX export failed at opset {opset}: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        ) from exc
    log.debug("exporter output:\n%s", chatter.getvalue())
    model = program.model_proto
    rewritten = _rewrite_bool_where(model)
    log.debug("rewrote %d boolean Where node(s)", rewritten)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(_metadata(loaded, opset, source))
    onnx.checker.check_model(model)
    return model.SerializeToString()


def check_parity(
    loaded: LoadedCheckpoint,
    model: bytes | str | Path,
    *,
    batches: tuple[int, ...] = (1, 3),
    inputs: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> ParityReport:
    """Run ONNX Runtime and PyTorch on random clips of each batch size (plus any given ``inputs``) and compare.

    Args:
        loaded: the checkpoint the graph was exported from.
        model: the ONNX model (bytes or path).
        batches: batch sizes of random inputs (seeded, so repeatable).
        inputs: extra ``(clips, highres)`` float32 arrays ``[B, T, 3, s, s]`` / ``[B, T, 3, S, S]``, e.g. real face
            crops (repeated frames are found by content, as :meth:`OnnxBackend.score_clips` does).
    """
    onnx_backend = OnnxBackend(model)
    scorer = STASNScorer(loaded.model).eval()
    cases = [tuple(t.numpy() for t in _example_inputs(loaded, b, seed=100 + b)) for b in batches]
    cases += [clips_to_frames(clips, highres) for clips, highres in inputs or []]
    worst = (0.0, 0.0, 0.0)
    for frames, highres, index in cases:
        with torch.inference_mode():
            ref = BackendOutput(*(t.numpy() for t in scorer(*(torch.from_numpy(a) for a in (frames, highres, index)))))
        got = onnx_backend(frames, highres, index)
        worst = tuple(max(w, v) for w, v in zip(worst, compare_outputs(got, ref), strict=True))  # type: ignore[assignment]
    return ParityReport(worst[0], worst[1], worst[2], tuple(len(index) for _, _, index in cases))


def export_onnx(
    checkpoint: str | Path | LoadedCheckpoint,
    out: str | Path | None = None,
    *,
    opset: int = MIN_OPSET,
    check: bool = True,
) -> ExportReport:
    """Export a checkpoint to ``out`` (default: the checkpoint path with ``.onnx``), atomically.

    Args:
        checkpoint: a checkpoint path or an already loaded one.
        out: the ``.onnx`` file to write.
        opset: ONNX opset (>= 18).
        check: compare ONNX Runtime with PyTorch first (:func:`check_parity`) and refuse to write a graph whose
            scores differ by more than ``PARITY_TOLERANCE`` or whose region boxes differ.

    Raises:
        FileNotFoundError / CheckpointError: the checkpoint cannot be read.
        ValueError: export failed or the parity check failed (nothing is written then).
    """
    start = time.perf_counter()
    if isinstance(checkpoint, LoadedCheckpoint):
        loaded, source = checkpoint, ""
        if out is None:
            raise ValueError("out is required when exporting an already loaded checkpoint")
    else:
        loaded, source = load_checkpoint(checkpoint), str(checkpoint)
    out = Path(out) if out is not None else Path(checkpoint).with_suffix(".onnx")  # type: ignore[arg-type]
    data = onnx_bytes(loaded, opset=opset, source=source)
    parity = None
    if check:
        parity = check_parity(loaded, data)
        if not parity.ok:
            raise ValueError(f"{out}: not written, ONNX Runtime disagrees with PyTorch: {parity.describe()}")
    with atomic_path(out) as tmp:
        tmp.write_bytes(data)
    return ExportReport(out, opset, 1, len(data), time.perf_counter() - start, parity)


def read_onnx_metadata(path: str | Path | bytes) -> dict[str, Any]:
    """The ``stasn`` metadata of an exported graph (model config, cache_info, threshold, ...).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not an ONNX file, or one without stasn metadata.
    """
    import onnx

    if not isinstance(path, bytes) and not Path(path).is_file():
        raise FileNotFoundError(f"{path}: ONNX model not found")
    where = "ONNX model" if isinstance(path, bytes) else str(path)
    try:
        model = (
            onnx.load_from_string(path) if isinstance(path, bytes) else onnx.load(str(path), load_external_data=False)
        )
    except Exception as exc:
        raise ValueError(f"{where}: not a readable ONNX file ({type(exc).__name__})") from None
    for entry in model.metadata_props:
        if entry.key == METADATA_KEY:
            try:
                meta = json.loads(entry.value)
            except json.JSONDecodeError:
                break
            if meta.get("format") != ONNX_FORMAT:
                raise ValueError(
                    f"{where}: written by an older stasn (graph format {meta.get('format')}, this version reads "
                    f"{ONNX_FORMAT}); export the checkpoint again with `stasn export`"
                )
            return meta
    raise ValueError(f"{where}: has no stasn metadata; export it with `stasn export` so it carries its config")
