"""stasn checkpoints: what they hold and how to read them without Lightning.

``stasn train`` writes them and inference (:mod:`stasn.infer`) reads them; this module sits with the model so that
reading one needs neither the training package nor Lightning.

A checkpoint is a ``torch.save`` dict (Lightning's ``.ckpt`` format) with, besides Lightning's own keys:

* ``state_dict`` — the model's weights under the prefix ``model.`` (as the training system holds it);
* ``stasn`` — ``{"format": 1, "model_config": {...STASNConfig...}, "cache_info": {...CacheInfo...},
  "threshold": float | None, "threshold_criterion": "eer" | "bpcer20" | ..., "stage": ..., "stasn_version": ...}``.

``threshold`` is the decision threshold on ``spoof_score`` fixed on the **dev** set (score >= threshold => attack);
the predictor uses it unless the caller overrides it.

**Checkpoints are data, never code.** Every read goes through :func:`read_checkpoint_file`, which unpickles with
``torch.load(weights_only=True)``: tensors, dicts, lists, strings and numbers only. A file whose pickle names any
other Python callable (a ``__reduce__`` calling ``os.system``, say) is refused before anything in it runs, with one
line naming the file. Lightning's own ``.ckpt`` contents (loop and callback state, hyper-parameters) are plain data
too, so training checkpoints need no allow-list. The ``stasn`` entry is then checked (:func:`check_metadata`): the
model config is validated, sizes must be plausible, and the stored threshold must be a number in [0, 1].
"""

from __future__ import annotations

import dataclasses
import io
import math
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from stasn import __version__
from stasn.data.manifest import CacheInfo
from stasn.errors import CheckpointError
from stasn.fileio import write_bytes_atomic
from stasn.model.config import STASNConfig, check_field_types
from stasn.model.stasn import STASN
from stasn.model.weights import load_state_dict_checked

__all__ = [
    "LoadedCheckpoint",
    "load_checkpoint",
    "save_checkpoint",
    "stasn_metadata",
    "read_checkpoint_file",
    "check_metadata",
    "check_threshold",
    "CHECKPOINT_FORMAT",
]

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
    # Serialised in memory first: torch.save reports a full disk as a RuntimeError, a plain write as an OSError.
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return write_bytes_atomic(path, buffer.getbuffer())


def read_checkpoint_file(path: str | Path, *, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Unpickle a checkpoint as plain data (``weights_only=True``): nothing in the file can run.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: the pickle names Python callables or classes (refused, nothing executed), or the file is
            damaged / not a torch file, or it does not hold a dict.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError, ... for damaged files
        text = str(exc)
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
        if isinstance(exc, pickle.UnpicklingError) and found:
            raise CheckpointError(
                f"{path}: refused: the pickle holds Python objects ({found.group(1)}) where a checkpoint holds only "
                "tensors and plain data; nothing in it was run. Load only checkpoints written by `stasn train` or "
                "`save_checkpoint`"
            ) from None
        detail = re.search(r"WeightsUnpickler error:\s*([^\n]+)", text)
        first = detail.group(1).strip() if detail else (text.splitlines()[0] if text else "")
        raise CheckpointError(
            f"{path}: cannot read checkpoint ({type(exc).__name__}: {first}); the file is damaged or not a torch "
            "checkpoint"
        ) from None
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path}: not a stasn checkpoint (holds a {type(payload).__name__}, not a dict)")
    return payload


def check_threshold(value: Any, *, source: str) -> float | None:
    """A stored decision threshold: ``None`` or a finite number in [0, 1] (``bool`` is not a number here).

    Raises:
        CheckpointError: anything else (7.5 or NaN would make every input live or every input an attack).
    """
    if value is None:
        return None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or not 0 <= value <= 1:
        raise CheckpointError(
            f"{source}: stored threshold {value!r} is not a number in [0, 1]; the file is damaged or was edited "
            "(pass --threshold to override it, or re-run `stasn train`)"
        )
    return float(value)


# Plausible upper bounds of a checkpoint's sizes (a model far beyond them would not fit in memory anyway): a config
# edited to absurd sizes fails here with one line instead of allocating gigabytes while the model is built.
_MAX_SIZES = {
    "num_frames": 256,
    "num_regions": 256,
    "input_size": 2048,
    "highres_size": 4096,
    "region_size": 4096,
    "region_output_size": 1024,
    "lstm_hidden": 65536,
    "lstm_layers": 64,
}


def check_metadata(meta: Any, *, source: str) -> tuple[STASNConfig, CacheInfo, float | None, str | None]:
    """Validate a checkpoint's (or an exported graph's) ``stasn`` entry.

    Returns:
        ``(config, cache_info, threshold, threshold_criterion)``; ``config.pretrained`` is ``None`` (the weights
        come from the file).

    Raises:
        CheckpointError: a missing or malformed entry, an invalid or implausible config, a bad threshold.
    """
    if not isinstance(meta, dict) or not isinstance(meta.get("model_config"), dict):
        raise CheckpointError(f"{source}: bad stasn metadata (no model_config mapping)")
    sizes = meta["model_config"]
    for key, limit in _MAX_SIZES.items():
        value = sizes.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > limit:
            raise CheckpointError(f"{source}: bad stasn metadata ({key}={value} is implausible, the limit is {limit})")
    try:
        config = STASNConfig.from_dict({**sizes, "pretrained": None}, source=source)
        check_field_types(config, "model")  # STASNConfig alone would take num_frames=2.5
        cache_info = CacheInfo(**dict(meta.get("cache_info") or {}))
        check_field_types(cache_info, "cache_info")
    except (KeyError, TypeError, ValueError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{source}: bad stasn metadata ({message.removeprefix(source + ': ')})") from None
    threshold = check_threshold(meta.get("threshold"), source=source)
    criterion = meta.get("threshold_criterion")
    if criterion is not None and not isinstance(criterion, str):
        raise CheckpointError(f"{source}: bad stasn metadata (threshold_criterion {criterion!r} is not a name)")
    return config, cache_info, threshold, criterion


def load_checkpoint(path: str | Path, *, map_location: str | torch.device = "cpu") -> LoadedCheckpoint:
    """Read a checkpoint written by ``stasn train`` or :func:`save_checkpoint` and rebuild the model.

    The file is unpickled as plain data only (:func:`read_checkpoint_file`) and its metadata checked
    (:func:`check_metadata`) before the model is built.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: a file that would run code (refused), an unreadable/truncated file, not a stasn checkpoint,
            bad metadata (config, threshold), or weights that do not fit the config.
    """
    path = Path(path)
    payload = read_checkpoint_file(path, map_location=map_location)
    if "stasn" not in payload or not isinstance(payload.get("state_dict"), dict):
        raise CheckpointError(f"{path}: not a stasn checkpoint (no 'stasn' metadata); was it written by `stasn train`?")
    meta = payload["stasn"]
    config, cache_info, threshold, criterion = check_metadata(meta, source=str(path))
    state = {k[len(_PREFIX) :]: v for k, v in payload["state_dict"].items() if k.startswith(_PREFIX)}
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: bad state_dict (some weights are not tensors)")
    model = STASN.from_config(config)
    try:
        load_state_dict_checked(model, state, source=path)
    except ValueError as exc:
        raise CheckpointError(str(exc)) from None
    model.eval()
    return LoadedCheckpoint(model, config, cache_info, threshold, criterion, meta)
