"""The released model format: weights only (safetensors, no pickled code), a JSON card, and a SHA-256 checked at load.

A release is two files side by side:

* ``<name>.safetensors`` — the STASN state_dict, floating tensors stored as float16 (half the size; scores stay within
  1e-3 of float32, checked when the release is written), loaded back as float32;
* ``<name>.json`` — ``{"format": 1, "weights": "<name>.safetensors", "sha256": ..., "model_config": {...},
  "cache_info": {...}, "threshold": float, "threshold_criterion": ..., "training": {...}, "stasn_version": ...}``.

Nothing in either file can execute: safetensors holds tensors and a string map, JSON holds data. A changed or truncated
weights file fails the SHA-256 check with one line; a card whose threshold or config is invalid is refused.

The model shipped with stasn lives in ``stasn/weights/`` (:data:`DEFAULT_RELEASE`), produced by
``benchmarks/train_release.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from stasn import __version__
from stasn.data.detect import BUNDLED_YUNET
from stasn.errors import CheckpointError
from stasn.fileio import atomic_path
from stasn.model.checkpoint import LoadedCheckpoint, check_metadata, check_threshold
from stasn.model.stasn import STASN
from stasn.model.weights import load_state_dict_checked

__all__ = [
    "RELEASE_FORMAT",
    "WEIGHTS_DIR",
    "DEFAULT_RELEASE",
    "YUNET_MODEL",
    "save_release",
    "load_release",
    "score_drift",
    "sha256_of",
    "is_release",
]

RELEASE_FORMAT = 1
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_RELEASE = WEIGHTS_DIR / "stasn_lite0.json"
YUNET_MODEL = BUNDLED_YUNET  # the default face detector (MIT, LICENSE-yunet)


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_release(path: str | Path) -> bool:
    """A release card (``.json``) or its weights (``.safetensors``)."""
    return Path(path).suffix.lower() in (".json", ".safetensors")


def save_release(
    loaded: LoadedCheckpoint,
    card: str | Path,
    *,
    training: dict[str, Any] | None = None,
    half: bool = True,
) -> Path:
    """Write ``loaded`` (a model with its config, crop geometry and dev threshold) as a release.

    Args:
        loaded: e.g. :func:`stasn.model.checkpoint.load_checkpoint` of the best training checkpoint.
        card: the ``.json`` card to write; the weights go beside it as ``<stem>.safetensors``.
        training: what the model was trained on (data, counts, recipe, commands); stored in the card.
        half: store floating tensors as float16.

    Returns:
        The card's path.

    Raises:
        ValueError: the model has no valid dev threshold.
    """
    from safetensors.torch import save_file

    if check_threshold(loaded.threshold, source=str(card)) is None:
        raise ValueError(f"{card}: the model has no dev threshold; a release must carry one")
    card = Path(card)
    weights = card.with_suffix(".safetensors")
    state = {
        k: (v.half() if half and v.is_floating_point() else v).contiguous().cpu()
        for k, v in loaded.model.state_dict().items()
    }
    with atomic_path(weights) as tmp:
        save_file(state, str(tmp))
    meta = {
        "format": RELEASE_FORMAT,
        "weights": weights.name,
        "sha256": sha256_of(weights),
        "bytes": weights.stat().st_size,
        "dtype": "float16" if half else "float32",
        "model_config": {**loaded.config.to_dict(), "pretrained": None},
        "cache_info": dataclasses.asdict(loaded.cache_info),
        "threshold": float(loaded.threshold),  # type: ignore[arg-type]
        "threshold_criterion": loaded.threshold_criterion,
        "training": training or {},
        "stasn_version": __version__,
    }
    with atomic_path(card) as tmp:
        tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return card


def load_release(path: str | Path = DEFAULT_RELEASE) -> LoadedCheckpoint:
    """Load a release (its ``.json`` card, or the ``.safetensors`` beside it) into a float32 model on CPU.

    Raises:
        FileNotFoundError: the card or the weights file is missing.
        CheckpointError: the weights do not match the card's SHA-256, the card is malformed, or its threshold or
            config is invalid.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    card = Path(path).with_suffix(".json")
    if not card.is_file():
        raise FileNotFoundError(f"{card}: release card not found")
    try:
        meta = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{card}: not a readable release card ({type(exc).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != RELEASE_FORMAT:
        raise CheckpointError(f"{card}: not a stasn release card (format {RELEASE_FORMAT} expected)")
    weights = card.parent / str(meta.get("weights", ""))
    if weights.parent != card.parent or not weights.name.endswith(".safetensors"):
        raise CheckpointError(f"{card}: 'weights' must name a .safetensors file beside the card")
    if not weights.is_file():
        raise FileNotFoundError(f"{weights}: release weights not found")
    if sha256_of(weights) != meta.get("sha256"):
        raise CheckpointError(
            f"{weights}: SHA-256 does not match {card.name}; the file was changed or truncated (reinstall stasn or "
            "restore the file)"
        )
    config, cache_info, threshold, _ = check_metadata(meta, source=str(card))  # sizes, types, threshold in [0, 1]
    if threshold is None:
        raise CheckpointError(f"{card}: a release must carry its dev threshold")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{weights}: not a readable safetensors file ({exc})") from None
    model = STASN.from_config(config)
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    load_state_dict_checked(model, state, source=weights)
    return LoadedCheckpoint(
        model=model.eval(),
        config=config,
        cache_info=cache_info,
        threshold=float(threshold),
        threshold_criterion=meta.get("threshold_criterion"),
        metadata=meta,
    )


def score_drift(loaded: LoadedCheckpoint, card: str | Path, tolerance: float = 1e-3) -> float:
    """Max |score(float16 weights) - score(float32)| on random clips; raises when above ``tolerance``."""
    released = load_release(card).model
    c = loaded.config
    g = torch.Generator().manual_seed(0)
    clips = torch.rand(4, c.num_frames, 3, c.input_size, c.input_size, generator=g)
    highres = torch.rand(4, c.num_frames, 3, c.highres_size, c.highres_size, generator=g)
    with torch.no_grad():
        diff = (released(clips, highres).spoof_score - loaded.model.eval()(clips, highres).spoof_score).abs().max()
    if float(diff) > tolerance:
        raise ValueError(f"{card}: float16 weights move scores by {float(diff):.2e} > {tolerance}; use half=False")
    return float(diff)
