"""Run a STASN model on batches of face clips: PyTorch or ONNX Runtime behind one call signature.

Both backends take numpy arrays and return numpy arrays, so the predictor above them never touches torch:

* ``clips``   ``float32[B, T, 3, input_size, input_size]``, RGB in [0, 1];
* ``highres`` ``float32[B, T, 3, highres_size, highres_size]``, RGB in [0, 1], the same square face region;
* returns :class:`BackendOutput`: ``spoof_score``, ``tasm_score``, ``sasm_score`` ``float32[B]`` and ``boxes``
  ``float32[B, T, K, 4]`` (x1, y1, x2, y2 in high-res crop pixels).

:class:`STASNScorer` is the model with exactly those outputs; it is what ``stasn export`` traces, so the ONNX graph
and the PyTorch backend compute the same thing.
"""

from __future__ import annotations

import logging
import os
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
]

log = logging.getLogger(__name__)

INPUT_NAMES = ("clips", "highres")
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

    def forward(self, clips: torch.Tensor, highres: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``clips`` ``Tensor[B, T, 3, s, s]``, ``highres`` ``Tensor[B, T, 3, S, S]`` -> four outputs (module doc)."""
        out = self.model(clips, highres)
        tasm = out.tasm_logits.float().softmax(dim=1)[:, 1]  # (B,)
        sasm = out.sasm_logits.float().softmax(dim=1)[:, 1]  # (B,)
        return out.spoof_score.float(), tasm, sasm, out.boxes.float()


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

    def __call__(self, clips: np.ndarray, highres: np.ndarray) -> BackendOutput:
        parts = []
        with torch.inference_mode():
            for start in range(0, len(clips), self.max_batch):
                c = torch.from_numpy(np.ascontiguousarray(clips[start : start + self.max_batch])).to(self.device)
                h = torch.from_numpy(np.ascontiguousarray(highres[start : start + self.max_batch])).to(self.device)
                parts.append([t.cpu().numpy() for t in self.scorer(c, h)])
        return BackendOutput(*(np.concatenate([p[i] for p in parts]) for i in range(len(OUTPUT_NAMES))))


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

    def __call__(self, clips: np.ndarray, highres: np.ndarray) -> BackendOutput:
        parts = []
        for start in range(0, len(clips), self.max_batch):
            feed = {
                "clips": np.ascontiguousarray(clips[start : start + self.max_batch], dtype=np.float32),
                "highres": np.ascontiguousarray(highres[start : start + self.max_batch], dtype=np.float32),
            }
            parts.append(self.session.run(list(OUTPUT_NAMES), feed))
        return BackendOutput(*(np.concatenate([p[i] for p in parts]) for i in range(len(OUTPUT_NAMES))))
