"""stasn checkpoints: what they hold and how to read them without Lightning.

A checkpoint is a ``torch.save`` dict (Lightning's ``.ckpt`` format) with, besides Lightning's own keys:

* ``state_dict`` — the model's weights under the prefix ``model.`` (as the training system holds it);
* ``stasn`` — ``{"format": 1, "model_config": {...STASNConfig...}, "cache_info": {...CacheInfo...},
  "threshold": float | None, "threshold_criterion": "eer" | "bpcer20" | ..., "stage": ..., "stasn_version": ...}``.

``threshold`` is the decision threshold on ``spoof_score`` fixed on the **dev** set (score >= threshold => attack);
the predictor uses it unless the caller overrides it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from stasn import __version__
from stasn.data.manifest import CacheInfo
from stasn.errors import CheckpointError
from stasn.fileio import atomic_path
from stasn.model.config import STASNConfig
from stasn.model.stasn import STASN
from stasn.model.weights import load_state_dict_checked

__all__ = ["LoadedCheckpoint", "load_checkpoint", "save_checkpoint", "stasn_metadata", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = 1
_PREFIX = "model."


@dataclass
class LoadedCheckpoint:
    model: STASN  # in eval mode, on CPU
    config: STASNConfig
    cache_info: CacheInfo  # how face crops must be made for this model (sizes, crop scale)
    threshold: float | None  # dev-set threshold on spoof_score; None if the run never evaluated on dev
    threshold_criterion: str | None
    metadata: dict[str, Any]  # the whole "stasn" entry


def stasn_metadata(
    config: STASNConfig,
    cache_info: CacheInfo,
    *,
    threshold: float | None = None,
    threshold_criterion: str | None = None,
    stage: str = "joint",
) -> dict[str, Any]:
    """The ``stasn`` entry a checkpoint carries."""
    return {
        "format": CHECKPOINT_FORMAT,
        "model_config": config.to_dict(),
        "cache_info": dataclasses.asdict(cache_info),
        "threshold": None if threshold is None else float(threshold),
        "threshold_criterion": threshold_criterion,
        "stage": stage,
        "stasn_version": __version__,
    }


def save_checkpoint(
    path: str | Path,
    model: STASN,
    config: STASNConfig,
    cache_info: CacheInfo,
    *,
    threshold: float | None = None,
    threshold_criterion: str | None = None,
) -> Path:
    """Write a minimal checkpoint (same layout as the training checkpoints) atomically."""
    state = {_PREFIX + k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {
        "state_dict": state,
        "stasn": stasn_metadata(config, cache_info, threshold=threshold, threshold_criterion=threshold_criterion),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_checkpoint(path: str | Path, *, map_location: str | torch.device = "cpu") -> LoadedCheckpoint:
    """Read a checkpoint written by ``stasn train`` or :func:`save_checkpoint` and rebuild the model.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: unreadable/truncated file, not a stasn checkpoint, or weights that do not fit the config.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        # weights_only=False: Lightning checkpoints carry plain python objects (hyper-parameters, callbacks state).
        payload = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:
        raise CheckpointError(
            f"{path}: cannot read checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            "the file is damaged or not a torch checkpoint"
        ) from None
    if not isinstance(payload, dict) or "stasn" not in payload or "state_dict" not in payload:
        raise CheckpointError(f"{path}: not a stasn checkpoint (no 'stasn' metadata); was it written by `stasn train`?")
    meta = payload["stasn"]
    try:
        config = STASNConfig.from_dict({**meta["model_config"], "pretrained": None}, source=str(path))
        cache_info = CacheInfo(**meta.get("cache_info", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: bad stasn metadata ({exc})") from None
    state = {k[len(_PREFIX) :]: v for k, v in payload["state_dict"].items() if k.startswith(_PREFIX)}
    model = STASN.from_config(config)
    try:
        load_state_dict_checked(model, state, source=path)
    except ValueError as exc:
        raise CheckpointError(str(exc)) from None
    model.eval()
    return LoadedCheckpoint(model, config, cache_info, meta.get("threshold"), meta.get("threshold_criterion"), meta)
