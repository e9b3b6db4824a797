"""TASM, the temporal anti-spoofing module (Yang et al., CVPR 2019): a CNN per frame, then an LSTM over the clip.

Input ``Tensor[B, T, 3, H, W]`` -> per-frame feature maps ``Tensor[B, T, C, h, w]`` -> global average pooling ->
LSTM -> 2-way logits (index 1 = spoof) from the last step. The two halves are also callable apart —
:meth:`TASM.encode` (per distinct frame) and :meth:`TASM.classify` (per clip) — so a clip that repeats a frame, such
as a still image, runs the CNN once per distinct frame while the LSTM still gets T steps. The feature maps are
returned for RAM, and a per-frame linear head gives frame logits whose spoof-minus-live weights make RAM's
class-activation map (``attention="cam"``); that head is our addition, not the paper's.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from stasn.model.backbones import Backbone

__all__ = ["TASM", "TASMOutput", "FrameFeatures"]


class FrameFeatures(NamedTuple):
    feature_maps: torch.Tensor  # (N, C, h, w)
    pooled: torch.Tensor  # (N, C)
    frame_logits: torch.Tensor  # (N, 2) per-frame head


class TASMOutput(NamedTuple):
    logits: torch.Tensor  # (B, 2) from the LSTM's last step
    frame_logits: torch.Tensor  # (B, T, 2) per-frame head
    feature_maps: torch.Tensor  # (B, T, C, h, w)


class TASM(nn.Module):
    """Temporal anti-spoofing module.

    Args:
        backbone: per-frame CNN returning ``Tensor[N, C, h, w]``.
        hidden_size: LSTM hidden units (ours: 512).
        num_layers: LSTM layers (ours: 1).
        bidirectional: run the LSTM both ways (ours: False, so the model is causal over the clip).
        dropout: before the classifiers.
    """

    def __init__(
        self,
        backbone: Backbone,
        *,
        hidden_size: int = 512,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        channels = backbone.out_channels
        self.backbone = backbone
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.lstm = nn.LSTM(channels, hidden_size, num_layers=num_layers, batch_first=True, bidirectional=bidirectional)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size * (2 if bidirectional else 1), 2)
        self.frame_head = nn.Linear(channels, 2)

    def cam_weights(self) -> torch.Tensor:
        """``Tensor[C]``: spoof-minus-live weights of the frame head, for a class-activation map."""
        return self.frame_head.weight[1] - self.frame_head.weight[0]

    def encode(self, frames: torch.Tensor) -> FrameFeatures:
        """The per-frame half: ``frames`` ``Tensor[N, 3, H, W]`` (normalised) -> :class:`FrameFeatures`."""
        maps = self.backbone(frames)  # (N, C, h, w)
        pooled = self.pool(maps).flatten(1)  # (N, C)
        return FrameFeatures(maps, pooled, self.frame_head(self.dropout(pooled)))

    def classify(self, pooled: torch.Tensor) -> torch.Tensor:
        """The per-clip half: pooled features ``Tensor[B, T, C]`` -> logits ``Tensor[B, 2]`` (the LSTM's last step)."""
        _, (h_n, _) = self.lstm(pooled)  # h_n: (layers * dirs, B, hidden)
        last = torch.cat([h_n[-2], h_n[-1]], dim=1) if self.lstm.bidirectional else h_n[-1]
        return self.classifier(self.dropout(last))

    def forward(self, clips: torch.Tensor) -> TASMOutput:
        """``clips`` ``Tensor[B, T, 3, H, W]`` (normalised) -> :class:`TASMOutput`."""
        b, t = clips.shape[:2]
        feats = self.encode(clips.flatten(0, 1))  # maps (B*T, C, h, w)
        logits = self.classify(feats.pooled.reshape(b, t, -1))
        maps = feats.feature_maps
        return TASMOutput(logits, feats.frame_logits.reshape(b, t, 2), maps.reshape(b, t, *maps.shape[1:]))
