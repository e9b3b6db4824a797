"""``STASNConfig``: every size of the model in one place, loadable from YAML.

The paper (Yang et al., CVPR 2019) fixes the architecture — ResNet-50 per frame + LSTM (TASM), a region attention
module (RAM), a region CNN (SASM), binary cross-entropy on both heads and a weighted score fusion — but its exact
numbers (T, K, region size, fusion weight, LSTM size, training stages) could not be obtained. Every default below
marked "ours" is a choice of this project, not the paper's.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "STASNConfig",
    "coerce_numbers",
    "check_field_types",
    "BACKBONES",
    "IMAGENET_OFFLINE",
    "FEATURE_STRIDE",
    "RAM_MODES",
    "ATTENTION_KINDS",
    "REGION_FUSIONS",
    "TEMPORAL_FUSIONS",
]

BACKBONES = (
    "resnet50",
    "resnet18",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    "efficientnet_lite0",
    "efficientnet_lite1",
    "efficientnet_lite2",
)
IMAGENET_OFFLINE = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")  # pretrained: imagenet
FEATURE_STRIDE = 32  # every backbone's feature map (the one RAM reads) is 32x smaller than its input
RAM_MODES = ("peaks", "learned")
ATTENTION_KINDS = ("mean", "cam")
REGION_FUSIONS = ("concat", "mean", "max")
TEMPORAL_FUSIONS = ("mean", "max")


@dataclass
class STASNConfig:
    """All model sizes. Field comments say where each default comes from."""

    # --- backbones -----------------------------------------------------------------------------------------------
    backbone: str = "resnet50"  # the paper's TASM backbone
    sasm_backbone: str | None = None  # ours: None = same family as `backbone`, separate weights
    # None; "imagenet" (offline, EfficientNet-Lite only); a path to the full classifier's state_dict; or
    # "torchvision" (online download, ResNets/MobileNets)
    pretrained: str | None = None
    frozen_backbone_layers: int = 0  # leading trunk layers of both backbones kept frozen (weights and BN); ours
    # --- clip and inputs -----------------------------------------------------------------------------------------
    num_frames: int = 5  # T; ours (the paper's T unavailable)
    input_size: int = 224  # TASM frame side in pixels; ours (ImageNet size)
    highres_size: int = 448  # side of the high-resolution face crop RAM cuts from; ours (2x input_size)
    # --- TASM ----------------------------------------------------------------------------------------------------
    lstm_hidden: int = 512  # ours
    lstm_layers: int = 1  # ours
    lstm_bidirectional: bool = False  # ours: a causal model also serves streaming video
    dropout: float = 0.2  # before each classifier; ours
    # --- RAM -----------------------------------------------------------------------------------------------------
    num_regions: int = 4  # K; ours
    region_size: int = 112  # region box side in high-res pixels (1/4 of the face crop side); ours
    region_output_size: int = 112  # side SASM sees, pixels; equal to region_size = no resampling; ours
    ram_mode: str = "peaks"  # "peaks" (attention peaks + NMS) or "learned" (regressed centres); ours
    attention: str = "mean"  # "mean" (channel mean of feature maps) or "cam" (spoof-class activation map); ours
    nms_iou: float = 0.3  # peaks: two regions overlap at most this IoU (when K such regions exist); ours
    ram_peak_supervision: float = 0.0  # learned: weight of a chamfer loss pulling centres to the peaks; ours
    # --- SASM ----------------------------------------------------------------------------------------------------
    region_fusion: str = "concat"  # over K regions: "concat" keeps which region said what; ours
    temporal_fusion: str = "mean"  # over T frames; ours
    # --- scores and losses ---------------------------------------------------------------------------------------
    fusion_weight: float = 0.5  # lambda in spoof_score = lambda * p_TASM + (1 - lambda) * p_SASM; ours (equal)
    tasm_loss_weight: float = 1.0  # ours
    sasm_loss_weight: float = 1.0  # ours
    frame_loss_weight: float = 0.0  # per-frame CE on TASM's frame head; used to train the "cam" attention; ours

    def __post_init__(self) -> None:
        self.validate()

    @property
    def sasm_backbone_name(self) -> str:
        return self.sasm_backbone or self.backbone

    @property
    def feature_cells(self) -> int:
        """Side of TASM's feature map in cells: ``ceil(input_size / 32)`` (4 at 128 px, 7 at 224 px)."""
        return math.ceil(self.input_size / FEATURE_STRIDE)

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field, the value and what is allowed."""
        _choice("backbone", self.backbone, BACKBONES)
        if self.sasm_backbone is not None:
            _choice("sasm_backbone", self.sasm_backbone, BACKBONES)
        _choice("ram_mode", self.ram_mode, RAM_MODES)
        _choice("attention", self.attention, ATTENTION_KINDS)
        _choice("region_fusion", self.region_fusion, REGION_FUSIONS)
        _choice("temporal_fusion", self.temporal_fusion, TEMPORAL_FUSIONS)
        if self.pretrained == "imagenet":
            for name in {self.backbone, self.sasm_backbone_name}:
                if name not in IMAGENET_OFFLINE:
                    raise ValueError(
                        f"pretrained: imagenet exists offline only for {{{', '.join(IMAGENET_OFFLINE)}}}, not "
                        f"{name}; give a path to a torchvision state_dict, or 'torchvision' to download"
                    )
        for name in (
            "num_frames",
            "num_regions",
            "input_size",
            "highres_size",
            "region_size",
            "region_output_size",
            "lstm_hidden",
            "lstm_layers",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if int(self.frozen_backbone_layers) < 0:
            raise ValueError(f"frozen_backbone_layers must be >= 0, got {self.frozen_backbone_layers}")
        if self.input_size < FEATURE_STRIDE:
            raise ValueError(
                f"input_size must be >= {FEATURE_STRIDE} (the backbones downsample {FEATURE_STRIDE}x), "
                f"got {self.input_size}"
            )
        if self.region_size > self.highres_size:
            raise ValueError(
                f"region_size ({self.region_size}) must fit inside the high-res crop (highres_size={self.highres_size})"
            )
        cells = self.feature_cells**2  # RAM's candidates: one per cell of the 32x-downsampled map
        if self.num_regions > cells:
            raise ValueError(
                f"num_regions={self.num_regions} exceeds the {cells} feature-map cells of a {self.input_size}px input "
                f"(the backbones downsample {FEATURE_STRIDE}x); lower num_regions or raise input_size"
            )
        if not 0.0 <= self.fusion_weight <= 1.0:
            raise ValueError(f"fusion_weight must be in [0, 1], got {self.fusion_weight}")
        if not 0.0 <= self.nms_iou <= 1.0:
            raise ValueError(f"nms_iou must be in [0, 1], got {self.nms_iou}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    # --- (de)serialisation -------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None, *, source: str = "config") -> STASNConfig:
        """Build from a mapping; unknown keys are an error that lists the valid ones."""
        values = dict(values or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{source}: unknown model key(s) {unknown}. Valid keys: {sorted(known)}")
        return cls(**coerce_numbers(cls, values, source=source))

    @classmethod
    def from_yaml(cls, path: str | Path) -> STASNConfig:
        """Read the ``model:`` section of a YAML file (or the whole file when it has no such section)."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"{path}: cannot read YAML ({exc})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping at the top level")
        section = data.get("model", data)
        return cls.from_dict(section, source=str(path))


def coerce_numbers(cls: type, values: dict[str, Any], *, source: str = "config") -> dict[str, Any]:
    """Turn strings such as ``"1e-4"`` into floats for fields annotated ``float`` (YAML reads ``1e-4`` as text)."""
    out = dict(values)
    for f in dataclasses.fields(cls):
        annotation = str(f.type)
        value = out.get(f.name)
        if annotation.startswith("float") and isinstance(value, (str, int)) and not isinstance(value, bool):
            try:
                out[f.name] = float(value)
            except ValueError:
                raise ValueError(f"{source}: {f.name} must be a number, got {value!r}") from None
        elif annotation.startswith("int") and isinstance(value, str):
            try:
                out[f.name] = int(value)
            except ValueError:
                raise ValueError(f"{source}: {f.name} must be an integer, got {value!r}") from None
    return out


def check_field_types(obj: Any, where: str) -> None:
    """Check a config dataclass's values against their annotations: ``int`` fields hold integers (not ``2.5``,
    not ``true``), ``float`` fields finite numbers, ``bool`` fields booleans; ``| None`` allows null. Other fields
    (text, ``Any``, lists) are left to their own checks (a fold may be written ``2`` or ``"2"``).

    Raises:
        ValueError: ``"<where>.<field> must be ..., got ..."``.
    """
    for f in dataclasses.fields(obj):
        annotation = str(f.type).replace(" ", "")
        value = getattr(obj, f.name)
        base, optional = annotation.removesuffix("|None"), annotation.endswith("|None")
        if optional and value is None:
            continue
        key = f"{where}.{f.name}" if where else f.name
        if base == "int" and (not isinstance(value, int) or isinstance(value, bool)):
            raise ValueError(f"{key} must be an integer, got {value!r}")
        if base == "float" and (
            not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
        ):
            raise ValueError(f"{key} must be a finite number, got {value!r}")
        if base == "bool" and not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false, got {value!r}")


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"Unknown {name} {value!r}. Valid values are {{{', '.join(allowed)}}}.")
