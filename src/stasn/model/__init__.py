"""The STASN model: backbones, TASM, RAM, SASM and their wiring.

The registry is a plain dict::

    from stasn.model import build_model
    model = build_model("stasn_r50")                      # the paper's backbone
    model = build_model("stasn_r18", num_frames=3)        # keyword overrides go to STASNConfig
    model = build_model("stasn_lite0", backbone_weights="imagenet")  # offline ImageNet weights
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from stasn.model.backbones import Backbone, build_backbone
from stasn.model.config import STASNConfig
from stasn.model.crop import crop_regions, crop_regions_differentiable
from stasn.model.ram import LearnedRAM, PeakRAM
from stasn.model.sasm import SASM
from stasn.model.stasn import STAGES, STASN, STASNOutput
from stasn.model.tasm import TASM
from stasn.model.weights import load_state_dict_checked, read_state_dict

__all__ = [
    "MODELS",
    "build_model",
    "stasn_resnet50",
    "stasn_resnet18",
    "stasn_mobilenet_v3",
    "stasn_mobilenet_v3_small",
    "stasn_efficientnet_lite0",
    "STASN",
    "STASNConfig",
    "STASNOutput",
    "STAGES",
    "TASM",
    "SASM",
    "PeakRAM",
    "LearnedRAM",
    "Backbone",
    "build_backbone",
    "crop_regions",
    "crop_regions_differentiable",
    "load_state_dict_checked",
    "read_state_dict",
]


def _stasn(backbone: str, weights: str | Path | None, backbone_weights: str | Path | None, **kwargs: Any) -> STASN:
    config = STASNConfig(
        backbone=backbone, pretrained=None if backbone_weights is None else str(backbone_weights), **kwargs
    )
    model = STASN.from_config(config)
    if weights is not None:
        load_state_dict_checked(model, read_state_dict(weights), source=weights)
    return model


def stasn_resnet50(
    *, weights: str | Path | None = None, backbone_weights: str | Path | None = None, **kwargs: Any
) -> STASN:
    """STASN with ResNet-50 backbones (the paper's). ``weights``: a full STASN state_dict; ``backbone_weights``:
    torchvision ImageNet weights for both backbones (a path, or ``"torchvision"`` to download)."""
    return _stasn("resnet50", weights, backbone_weights, **kwargs)


def stasn_resnet18(
    *, weights: str | Path | None = None, backbone_weights: str | Path | None = None, **kwargs: Any
) -> STASN:
    """STASN with ResNet-18 backbones (ours: the ``fast`` variant)."""
    return _stasn("resnet18", weights, backbone_weights, **kwargs)


def stasn_mobilenet_v3(
    *, weights: str | Path | None = None, backbone_weights: str | Path | None = None, **kwargs: Any
) -> STASN:
    """STASN with MobileNetV3-Large backbones (ours: for CPUs and phones)."""
    return _stasn("mobilenet_v3_large", weights, backbone_weights, **kwargs)


def stasn_mobilenet_v3_small(
    *, weights: str | Path | None = None, backbone_weights: str | Path | None = None, **kwargs: Any
) -> STASN:
    """STASN with MobileNetV3-Small backbones (ours: the smallest, for tests and demos)."""
    return _stasn("mobilenet_v3_small", weights, backbone_weights, **kwargs)


def stasn_efficientnet_lite0(
    *, weights: str | Path | None = None, backbone_weights: str | Path | None = None, **kwargs: Any
) -> STASN:
    """STASN with EfficientNet-Lite0 backbones (ours: ``backbone_weights="imagenet"`` loads ImageNet weights offline;
    ``configs/lite.yaml`` holds the recommended sizes)."""
    return _stasn("efficientnet_lite0", weights, backbone_weights, **kwargs)


MODELS: dict[str, Callable[..., STASN]] = {
    "stasn_r50": stasn_resnet50,
    "stasn_r18": stasn_resnet18,
    "stasn_mnv3": stasn_mobilenet_v3,
    "stasn_mnv3s": stasn_mobilenet_v3_small,
    "stasn_lite0": stasn_efficientnet_lite0,
}


def build_model(name: str, **kwargs: Any) -> STASN:
    """Build a registered model; unknown names list the available ones."""
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}. Available: {', '.join(sorted(MODELS))}.")
    return MODELS[name](**kwargs)
