"""Loading weights from a user-given path, loudly: the error names the file and the mismatching keys."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from stasn.errors import WeightsError

__all__ = ["read_state_dict", "load_state_dict_checked"]


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state_dict saved with ``torch.save``; accepts ``{"state_dict": ...}`` / ``{"model": ...}`` wrappers.

    Raises:
        FileNotFoundError: the file does not exist.
        WeightsError: the file is not a readable torch file (truncated, wrong format) or holds no tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: weights file not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, EOFError, UnpicklingError, ... for damaged files
        raise WeightsError(f"{path}: cannot read weights ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    for key in ("state_dict", "model"):
        if isinstance(obj, Mapping) and key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
    if not isinstance(obj, Mapping) or not any(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path}: holds no state_dict (expected a mapping of parameter names to tensors)")
    return dict(obj)


def load_state_dict_checked(module: nn.Module, state_dict: Mapping[str, torch.Tensor], *, source: str | Path) -> None:
    """``module.load_state_dict(state_dict, strict=True)`` with an error that names ``source`` and the keys.

    Raises:
        WeightsError: keys missing, unexpected, or of another shape.
    """
    expected = module.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    wrong_shape = [
        f"{k} {tuple(state_dict[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or wrong_shape:
        parts = [f"{source}: has {len(state_dict)} keys, {type(module).__name__} expects {len(expected)}"]
        if missing:
            parts.append(f"missing {len(missing)} (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} (e.g. {', '.join(unexpected[:3])})")
        if wrong_shape:
            parts.append(f"wrong shape {len(wrong_shape)} (e.g. {'; '.join(wrong_shape[:2])})")
        raise WeightsError("; ".join(parts))
    module.load_state_dict(state_dict, strict=True)
