"""Run a STASN model on batches of face clips: PyTorch or ONNX Runtime behind one call signature.

Both backends take numpy arrays and return numpy arrays, so the predictor above them never touches torch. Clips are
given as their distinct frames plus an index, so a frame that several clip steps share (a still image repeated T
times, a short video stretched to T, overlapping clips) goes through the CNNs once:

* ``frames``      ``float32[N, 3, input_size, input_size]``, RGB in [0, 1], the distinct frames;
* ``highres``     ``float32[N, 3, highres_size, highres_size]``, RGB in [0, 1], the same square face regions;
* ``frame_index`` ``int64[B, T]``: step ``t`` of clip ``b`` is frame ``frame_index[b, t]``;
* returns :class:`BackendOutput`: ``spoof_score``, ``tasm_score``, ``sasm_score`` ``float32[B]`` and ``boxes``
  ``float32[B, T, K, 4]`` (x1, y1, x2, y2 in high-res crop pixels).

:meth:`score_clips` takes plain clips (``float32[B, T, 3, s, s]`` and ``[B, T, 3, S, S]``) and finds the repeated
frames by content (:func:`clips_to_frames`). :class:`STASNScorer` is the model with exactly those inputs and
outputs; it is what ``stasn export`` traces, so the ONNX graph and the PyTorch backend compute the same thing.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from stasn.model.stasn import STASN

__all__ = [
    "BackendOutput",
    "TorchBackend",
    "OnnxBackend",
    "STASNScorer",
    "INPUT_NAMES",
    "OUTPUT_NAMES",
    "resolve_device",
    "clips_to_frames",
]

log = logging.getLogger(__name__)

INPUT_NAMES = ("frames", "highres", "frame_index")
OUTPUT_NAMES = ("spoof_score", "tasm_score", "sasm_score", "boxes")


class BackendOutput(NamedTuple):
    spoof_score: np.ndarray  # (B,) fused spoof probability, higher = attack
    tasm_score: np.ndarray  # (B,) TASM's spoof probability
    sasm_score: np.ndarray  # (B,) SASM's spoof probability
    boxes: np.ndarray  # (B, T, K, 4) high-res crop pixels


class STASNScorer(nn.Module):
    """STASN whose forward returns ``(spoof_score, tasm_score, sasm_score, boxes)`` as plain float tensors.

    Args:
        model: the STASN to wrap (put in eval mode).
    """

    def __init__(self, model: STASN) -> None:
        super().__init__()
        self.model = model.eval()

    def forward(
        self, frames: torch.Tensor, highres: torch.Tensor, frame_index: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """``frames`` ``Tensor[N, 3, s, s]``, ``highres`` ``Tensor[N, 3, S, S]``, ``frame_index`` ``Tensor[B, T]``
        -> four outputs (module doc)."""
        out = self.model.forward_frames(frames, highres, frame_index)
        tasm = out.tasm_logits.float().softmax(dim=1)[:, 1]  # (B,)
        sasm = out.sasm_logits.float().softmax(dim=1)[:, 1]  # (B,)
        return out.spoof_score.float(), tasm, sasm, out.boxes.float()


def clips_to_frames(clips: np.ndarray, highres: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain clips -> ``(frames, highres, frame_index)`` with each distinct frame once (equal bytes in both arrays).

    Args:
        clips: ``float32[B, T, 3, s, s]``.
        highres: ``float32[B, T, 3, S, S]``.

    Returns:
        ``float32[N, 3, s, s]``, ``float32[N, 3, S, S]``, ``int64[B, T]`` (first occurrences kept, in order).
    """
    b, t = clips.shape[:2]
    rows: dict[bytes, int] = {}
    keep: list[int] = []
    index = np.empty((b, t), dtype=np.int64)
    for i in range(b):
        for j in range(t):
            key = hashlib.blake2b(clips[i, j].tobytes(), digest_size=16)
            key.update(highres[i, j].tobytes())
            digest = key.digest()
            if digest not in rows:
                rows[digest] = len(keep)
                keep.append(i * t + j)
            index[i, j] = rows[digest]
    flat_c, flat_h = clips.reshape(b * t, *clips.shape[2:]), highres.reshape(b * t, *highres.shape[2:])
    return flat_c[keep], flat_h[keep], index


def _run_in_chunks(
    run: Callable[[np.ndarray, np.ndarray, np.ndarray], list[np.ndarray]],
    frames: np.ndarray,
    highres: np.ndarray,
    frame_index: np.ndarray,
    max_batch: int,
) -> BackendOutput:
    """Run at most ``max_batch`` clips at a time, each chunk with only the frames it uses (bounds memory)."""
    if frame_index.ndim != 2 or len(frames) != len(highres):
        raise ValueError(
            f"expected frames (N, ...), highres (N, ...) and frame_index (B, T), got {frames.shape}, "
            f"{highres.shape}, {frame_index.shape}"
        )
    if frame_index.size and (frame_index.min() < 0 or frame_index.max() >= len(frames)):
        raise ValueError(f"frame_index refers to frames outside 0..{len(frames) - 1}")
    parts = []
    for start in range(0, len(frame_index), max_batch):
        chunk = frame_index[start : start + max_batch]
        used, local = np.unique(chunk, return_inverse=True)
        parts.append(run(frames[used], highres[used], local.reshape(chunk.shape).astype(np.int64)))
    return BackendOutput(*(np.concatenate([p[i] for p in parts]) for i in range(len(OUTPUT_NAMES))))


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` -> ``"cuda"`` when a GPU is visible, else ``"cpu"``; other values are checked and returned."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch sees no CUDA GPU; use device='cpu' or 'auto'")
    if not (device == "cpu" or device.startswith("cuda") or device == "mps"):
        raise ValueError(f"Unknown device {device!r}. Valid values are {{auto, cpu, cuda, cuda:N, mps}}.")
    return device


class TorchBackend:
    """PyTorch inference (``torch.inference_mode``) on one device.

    Args:
        model: a STASN in eval mode (its weights are moved to ``device``).
        device: ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` | ``mps``.
        max_batch: clips per forward pass; larger batches are split (bounds memory).
    """

    name = "torch"

    def __init__(self, model: STASN, *, device: str = "auto", max_batch: int = 16) -> None:
        self.device = resolve_device(device)
        self.scorer = STASNScorer(model).to(self.device).eval()
        self.max_batch = max_batch

    def __call__(self, frames: np.ndarray, highres: np.ndarray, frame_index: np.ndarray) -> BackendOutput:
        """Score clips given as distinct frames + index (module doc)."""

        def run(f: np.ndarray, h: np.ndarray, idx: np.ndarray) -> list[np.ndarray]:
            tensors = (torch.from_numpy(np.ascontiguousarray(a)).to(self.device) for a in (f, h, idx))
            with torch.inference_mode():
                return [t.cpu().numpy() for t in self.scorer(*tensors)]

        return _run_in_chunks(run, frames, highres, frame_index, self.max_batch)

    def score_clips(self, clips: np.ndarray, highres: np.ndarray) -> BackendOutput:
        """Score plain clips ``float32[B, T, 3, s, s]`` / ``[B, T, 3, S, S]``; repeated frames run once."""
        return self(*clips_to_frames(clips, highres))


class OnnxBackend:
    """ONNX Runtime inference of a graph written by ``stasn export`` (inputs/outputs named as in this module).

    Args:
        model: path to the ``.onnx`` file, or its bytes.
        providers: ONNX Runtime execution providers; default CUDA when available, then CPU.
        threads: intra-op threads (default: ONNX Runtime's choice, all cores).
        max_batch: clips per run; larger batches are split.
    """

    name = "onnx"

    def __init__(
        self,
        model: str | Path | bytes,
        *,
        providers: list[str] | None = None,
        threads: int | None = None,
        max_batch: int = 16,
    ) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3  # errors only: ORT warns about unused initializers of exported graphs
        available = ort.get_available_providers()
        if providers is None:
            providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        source = model if isinstance(model, bytes) else os.fspath(model)
        try:
            self.session = ort.InferenceSession(source, sess_options=options, providers=providers)
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph/NoSuchFile classes
            where = "ONNX model" if isinstance(model, bytes) else str(model)
            raise ValueError(f"{where}: ONNX Runtime cannot load it ({str(exc).splitlines()[0]})") from None
        names_in = tuple(i.name for i in self.session.get_inputs())
        names_out = tuple(o.name for o in self.session.get_outputs())
        if names_in != INPUT_NAMES or names_out != OUTPUT_NAMES:
            raise ValueError(
                f"ONNX model has inputs {names_in} and outputs {names_out}, expected {INPUT_NAMES} -> {OUTPUT_NAMES}; "
                "was it written by `stasn export`?"
            )
        self.max_batch = max_batch

    def __call__(self, frames: np.ndarray, highres: np.ndarray, frame_index: np.ndarray) -> BackendOutput:
        """Score clips given as distinct frames + index (module doc)."""

        def run(f: np.ndarray, h: np.ndarray, idx: np.ndarray) -> list[np.ndarray]:
            feed = {
                "frames": np.ascontiguousarray(f, dtype=np.float32),
                "highres": np.ascontiguousarray(h, dtype=np.float32),
                "frame_index": np.ascontiguousarray(idx, dtype=np.int64),
            }
            return self.session.run(list(OUTPUT_NAMES), feed)

        return _run_in_chunks(run, frames, highres, frame_index, self.max_batch)

    def score_clips(self, clips: np.ndarray, highres: np.ndarray) -> BackendOutput:
        """Score plain clips ``float32[B, T, 3, s, s]`` / ``[B, T, 3, S, S]``; repeated frames run once."""
        return self(*clips_to_frames(clips, highres))
