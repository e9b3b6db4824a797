"""SASM, the spatial anti-spoofing module (Yang et al., CVPR 2019): one CNN on all T*K regions, features fused.

Input ``Tensor[B, T, K, 3, s, s]`` -> shared backbone on B*T*K crops -> pooled ``Tensor[B, T, K, C]`` -> fusion over
regions (``concat`` keeps which region said what; ``mean``/``max``) -> fusion over frames (``mean``/``max``) -> linear
-> 2-way logits (index 1 = spoof). The fusion rules are ours; the paper's exact rule could not be obtained.
:meth:`SASM.encode` (the regions of distinct frames) and :meth:`SASM.classify` (the fusion) are callable apart, so a
repeated frame's regions go through the CNN once.
"""

from __future__ import annotations

import torch
from torch import nn

from stasn.model.backbones import Backbone
from stasn.model.config import REGION_FUSIONS, TEMPORAL_FUSIONS

__all__ = ["SASM"]


class SASM(nn.Module):
    """Spatial anti-spoofing module.

    Args:
        backbone: region CNN returning ``Tensor[N, C, h, w]``, shared by all regions.
        num_regions: K.
        region_fusion: ``concat`` | ``mean`` | ``max`` over the K regions.
        temporal_fusion: ``mean`` | ``max`` over the T frames.
        dropout: before the classifier.
    """

    def __init__(
        self,
        backbone: Backbone,
        *,
        num_regions: int,
        region_fusion: str = "concat",
        temporal_fusion: str = "mean",
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        for name, value, valid in (
            ("region_fusion", region_fusion, REGION_FUSIONS),
            ("temporal_fusion", temporal_fusion, TEMPORAL_FUSIONS),
        ):
            if value not in valid:
                raise ValueError(f"Unknown {name} {value!r}. Valid values are {{{', '.join(valid)}}}.")
        self.backbone = backbone
        self.num_regions = num_regions
        self.region_fusion = region_fusion
        self.temporal_fusion = temporal_fusion
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        fused = backbone.out_channels * (num_regions if region_fusion == "concat" else 1)
        self.classifier = nn.Linear(fused, 2)

    def encode(self, crops: torch.Tensor) -> torch.Tensor:
        """Region features: ``crops`` ``Tensor[N, K, 3, s, s]`` (normalised) -> ``Tensor[N, K, C]``."""
        n, k = crops.shape[:2]
        return self.pool(self.backbone(crops.flatten(0, 1))).reshape(n, k, -1)

    def classify(self, feats: torch.Tensor) -> torch.Tensor:
        """Fuse region features ``Tensor[B, T, K, C]`` over regions, then frames -> logits ``Tensor[B, 2]``."""
        if self.region_fusion == "concat":
            per_frame = feats.flatten(2)  # (B, T, K*C)
        elif self.region_fusion == "mean":
            per_frame = feats.mean(dim=2)
        else:
            per_frame = feats.amax(dim=2)
        fused = per_frame.mean(dim=1) if self.temporal_fusion == "mean" else per_frame.amax(dim=1)
        return self.classifier(self.dropout(fused))

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """``crops`` ``Tensor[B, T, K, 3, s, s]`` (normalised) -> logits ``Tensor[B, 2]``."""
        b, t = crops.shape[:2]
        feats = self.encode(crops.flatten(0, 1))  # (B*T, K, C)
        return self.classify(feats.reshape(b, t, *feats.shape[1:]))
