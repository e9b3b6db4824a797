"""Backbones from torchvision that return their last feature map.

``build_backbone("resnet50", pretrained=...)`` gives a module mapping ``Tensor[N, 3, H, W]`` to
``Tensor[N, C, H/32, W/32]`` and its channel count ``C``. Weights: ``None`` (random init), a path to a
torchvision-format state_dict of the *full* classifier (e.g. ``resnet50-0676ba61.pth``), or ``"torchvision"``
for torchvision's own download (needs the internet).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torchvision
from torch import nn

from stasn.model.weights import load_state_dict_checked, read_state_dict

__all__ = ["Backbone", "build_backbone", "BACKBONE_CHANNELS"]

BACKBONE_CHANNELS = {"resnet50": 2048, "resnet18": 512, "mobilenet_v3_large": 960, "mobilenet_v3_small": 576}

_BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "resnet50": torchvision.models.resnet50,
    "resnet18": torchvision.models.resnet18,
    "mobilenet_v3_large": torchvision.models.mobilenet_v3_large,
    "mobilenet_v3_small": torchvision.models.mobilenet_v3_small,
}


class Backbone(nn.Module):
    """The convolutional trunk of a torchvision classifier (its pooling and classifier removed)."""

    def __init__(self, body: nn.Module, out_channels: int, name: str) -> None:
        super().__init__()
        self.body = body
        self.out_channels = out_channels
        self.name = name

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``Tensor[N, 3, H, W]`` (ImageNet-normalised) -> ``Tensor[N, C, H/32, W/32]``."""
        # After model.to(memory_format=torch.channels_last) the weights are NHWC; feed NHWC too, or every
        # convolution converts its input back and forth (the input is built NCHW by cropping and reshaping).
        if next(self.body.parameters()).is_contiguous(memory_format=torch.channels_last):
            images = images.contiguous(memory_format=torch.channels_last)
        return self.body(images)


def _trunk(name: str, classifier: nn.Module) -> nn.Module:
    if name.startswith("resnet"):
        c = classifier
        return nn.Sequential(c.conv1, c.bn1, c.relu, c.maxpool, c.layer1, c.layer2, c.layer3, c.layer4)
    return classifier.features  # MobileNetV3: features end with the 1x1 conv to 960/576 channels


def build_backbone(name: str, *, pretrained: str | Path | None = None) -> Backbone:
    """Build a backbone by name and load its weights.

    Args:
        name: one of ``resnet50``, ``resnet18``, ``mobilenet_v3_large``, ``mobilenet_v3_small``.
        pretrained: ``None``; a path to a torchvision-format state_dict (classifier keys included, loaded strictly);
            or ``"torchvision"`` to download the IMAGENET1K default weights.

    Raises:
        ValueError: unknown name.
        FileNotFoundError / WeightsError: the weights file is missing, damaged or does not match.
    """
    if name not in _BUILDERS:
        raise ValueError(f"Unknown backbone {name!r}. Valid values are {{{', '.join(_BUILDERS)}}}.")
    builder = _BUILDERS[name]
    if pretrained == "torchvision":
        classifier = builder(weights="DEFAULT")
    else:
        classifier = builder(weights=None)
        if pretrained is not None:
            load_state_dict_checked(classifier, read_state_dict(pretrained), source=pretrained)
    return Backbone(_trunk(name, classifier), BACKBONE_CHANNELS[name], name)
