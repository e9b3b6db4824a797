"""RAM, the region attention module: pick K local regions from TASM's feature maps, crop them from the high-res face.

Two variants (``STASNConfig.ram_mode``):

* ``peaks`` — an attention map (channel mean of the feature maps, or the spoof-class activation map of TASM's frame
  head), then the K highest cells with non-maximum suppression. Each cell proposes a square box of ``region_size``
  high-res pixels centred on the cell, shifted to lie inside the image and rounded to whole pixels, so a crop is an
  exact pixel copy. Selection is not differentiable.
* ``learned`` — a small head regresses K centres from the feature maps; crops are sampled with ``grid_sample`` so
  SASM's loss trains the head. Optionally a chamfer loss pulls the centres toward the ``peaks`` locations.

Boxes are ``Tensor[N, K, 4]`` (x1, y1, x2, y2) in pixels of the high-resolution face crop, always inside it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from stasn.model.crop import crop_regions, crop_regions_differentiable

__all__ = [
    "RAMOutput",
    "PeakRAM",
    "LearnedRAM",
    "attention_map",
    "candidate_boxes",
    "box_iou_matrix",
    "select_peaks",
]


class RAMOutput(NamedTuple):
    boxes: torch.Tensor  # (N, K, 4) high-res pixels
    crops: torch.Tensor  # (N, K, 3, s, s)
    attention: torch.Tensor  # (N, h, w), each map scaled to [0, 1]
    aux_loss: torch.Tensor  # scalar; peak supervision of the learned head (0 otherwise)


def attention_map(feature_maps: torch.Tensor, cam_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Attention over the feature-map cells, scaled to [0, 1] per map.

    Args:
        feature_maps: ``Tensor[N, C, h, w]``.
        cam_weights: ``Tensor[C]`` for a class-activation map (spoof minus live classifier weights); ``None`` for
            the channel mean.

    Returns:
        ``Tensor[N, h, w]``.
    """
    if cam_weights is None:
        raw = feature_maps.mean(dim=1)
    else:
        raw = torch.einsum("nchw,c->nhw", feature_maps, cam_weights.to(feature_maps.dtype))
    flat = raw.flatten(1).float()
    low = flat.min(dim=1, keepdim=True).values
    high = flat.max(dim=1, keepdim=True).values
    return ((flat - low) / (high - low).clamp_min(1e-6)).reshape(raw.shape)


def candidate_boxes(
    grid_h: int, grid_w: int, height: int, width: int, region_size: int, *, device: torch.device | None = None
) -> torch.Tensor:
    """One box per feature-map cell: ``region_size`` square centred on the cell, shifted inside, whole pixels.

    Returns:
        ``Tensor[grid_h * grid_w, 4]`` in row-major cell order, pixels of the ``height x width`` high-res image.
    """
    ys = (torch.arange(grid_h, device=device, dtype=torch.float32) + 0.5) * height / grid_h
    xs = (torch.arange(grid_w, device=device, dtype=torch.float32) + 0.5) * width / grid_w
    cy, cx = torch.meshgrid(ys, xs, indexing="ij")
    x1 = torch.round(cx.flatten() - region_size / 2).clamp(0, width - region_size)
    y1 = torch.round(cy.flatten() - region_size / 2).clamp(0, height - region_size)
    return torch.stack([x1, y1, x1 + region_size, y1 + region_size], dim=1)


def box_iou_matrix(boxes: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU of ``Tensor[M, 4]`` boxes -> ``Tensor[M, M]``."""
    x1 = torch.maximum(boxes[:, None, 0], boxes[None, :, 0])
    y1 = torch.maximum(boxes[:, None, 1], boxes[None, :, 1])
    x2 = torch.minimum(boxes[:, None, 2], boxes[None, :, 2])
    y2 = torch.minimum(boxes[:, None, 3], boxes[None, :, 3])
    inter = (x2 - x1).clamp_min(0) * (y2 - y1).clamp_min(0)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / (area[:, None] + area[None, :] - inter)


def select_peaks(scores: torch.Tensor, iou: torch.Tensor, k: int, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression over shared candidates, batched over images, without host syncs.

    torchvision's ``nms`` handles one image per call and returns a variable-length result; here all N images share
    the same M candidate boxes, so one precomputed ``iou`` matrix serves the whole batch in K vectorised steps.

    Args:
        scores: ``Tensor[N, M]`` attention per candidate.
        iou: ``Tensor[M, M]`` pairwise IoU of the candidates.
        k: regions to pick (``k <= M``).
        iou_threshold: a candidate overlapping an already picked one by more than this is suppressed. When fewer
            than ``k`` candidates survive, the remaining picks are the highest-scoring unpicked candidates.

    Returns:
        ``Tensor[N, k]`` candidate indices, in picking order.
    """
    n, m = scores.shape
    if k > m:
        raise ValueError(f"cannot pick {k} regions from {m} candidate cells; lower num_regions")
    scores = scores.float()
    neg_inf = torch.finfo(scores.dtype).min
    picked = torch.zeros(n, m, dtype=torch.bool, device=scores.device)
    suppressed = torch.zeros_like(picked)
    indices = []
    for _ in range(k):
        allowed = ~(picked | suppressed)
        any_allowed = allowed.any(dim=1, keepdim=True)
        # Fallback (too few separated candidates): take the best not yet picked.
        allowed = torch.where(any_allowed, allowed, ~picked)
        idx = torch.where(allowed, scores, torch.full_like(scores, neg_inf)).argmax(dim=1)  # (N,)
        indices.append(idx)
        picked.scatter_(1, idx[:, None], True)
        suppressed |= iou[idx] > iou_threshold
    return torch.stack(indices, dim=1)


class PeakRAM(nn.Module):
    """RAM ``peaks`` variant: attention peaks with NMS (not differentiable)."""

    def __init__(self, *, num_regions: int, region_size: int, output_size: int, iou_threshold: float) -> None:
        super().__init__()
        self.num_regions = num_regions
        self.region_size = region_size
        self.output_size = output_size
        self.iou_threshold = iou_threshold
        self._cache: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    def _candidates(self, grid: tuple[int, int], image: tuple[int, int], device: torch.device):
        key = (grid, image, str(device))
        if key not in self._cache:
            boxes = candidate_boxes(*grid, *image, self.region_size, device=device)
            self._cache[key] = (boxes, box_iou_matrix(boxes))
        return self._cache[key]

    @torch.no_grad()
    def select(
        self, feature_maps: torch.Tensor, image_size: tuple[int, int], cam_weights: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Boxes ``Tensor[N, K, 4]`` (high-res pixels) and attention ``Tensor[N, h, w]``, without cropping."""
        attention = attention_map(feature_maps.detach(), None if cam_weights is None else cam_weights.detach())
        boxes, iou = self._candidates(tuple(attention.shape[-2:]), tuple(image_size), feature_maps.device)
        idx = select_peaks(attention.flatten(1), iou, self.num_regions, self.iou_threshold)  # (N, K)
        return boxes[idx], attention

    def forward(
        self, feature_maps: torch.Tensor, highres: torch.Tensor, cam_weights: torch.Tensor | None = None
    ) -> RAMOutput:
        """``feature_maps`` ``Tensor[N, C, h, w]``, ``highres`` ``Tensor[N, 3, H, W]`` -> :class:`RAMOutput`."""
        boxes, attention = self.select(feature_maps, tuple(highres.shape[-2:]), cam_weights)
        crops = crop_regions(highres, boxes.to(highres.dtype), self.output_size)
        return RAMOutput(boxes, crops, attention, highres.new_zeros((), dtype=torch.float32))

    def extra_repr(self) -> str:
        return (
            f"num_regions={self.num_regions}, region_size={self.region_size}, "
            f"output_size={self.output_size}, iou_threshold={self.iou_threshold}"
        )


class LearnedRAM(nn.Module):
    """RAM ``learned`` variant: a head regresses K centres; crops via ``grid_sample`` so gradients reach the head."""

    def __init__(
        self,
        in_channels: int,
        *,
        num_regions: int,
        region_size: int,
        output_size: int,
        peak_supervision: float = 0.0,
        iou_threshold: float = 0.3,
        hidden: int = 256,
    ) -> None:
        super().__init__()
        self.num_regions = num_regions
        self.region_size = region_size
        self.output_size = output_size
        self.peak_supervision = peak_supervision
        self.head = nn.Sequential(
            nn.Conv2d(in_channels, hidden, kernel_size=1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(hidden, 2 * num_regions),
        )
        self.peaks = PeakRAM(
            num_regions=num_regions, region_size=region_size, output_size=output_size, iou_threshold=iou_threshold
        )
        self._init_spread()

    def _init_spread(self) -> None:
        # Start with the K centres spread on a grid over the face rather than all in the middle.
        last = self.head[-1]
        nn.init.normal_(last.weight, std=1e-3)  # small, not zero: zero would block gradients to the conv
        side = math.ceil(math.sqrt(self.num_regions))
        fractions = []
        for i in range(self.num_regions):
            row, col = divmod(i, side)
            fractions += [(col + 0.5) / side, (row + 0.5) / side]  # x, y
        with torch.no_grad():
            last.bias.copy_(torch.logit(torch.tensor(fractions).clamp(0.05, 0.95)))

    def forward(
        self, feature_maps: torch.Tensor, highres: torch.Tensor, cam_weights: torch.Tensor | None = None
    ) -> RAMOutput:
        """``feature_maps`` ``Tensor[N, C, h, w]``, ``highres`` ``Tensor[N, 3, H, W]`` -> :class:`RAMOutput`."""
        n = feature_maps.shape[0]
        height, width = highres.shape[-2:]
        s = self.region_size
        fractions = torch.sigmoid(self.head(feature_maps).float()).reshape(n, self.num_regions, 2)
        # Centres stay at least s/2 from the border, so every box lies inside the image.
        cx = s / 2 + fractions[..., 0] * (width - s)
        cy = s / 2 + fractions[..., 1] * (height - s)
        boxes = torch.stack([cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2], dim=-1)  # (N, K, 4)
        crops = crop_regions_differentiable(highres, boxes.to(highres.dtype), self.output_size)
        peak_boxes, attention = self.peaks.select(feature_maps, (height, width), cam_weights)
        aux = highres.new_zeros((), dtype=torch.float32)
        if self.peak_supervision > 0:
            target = (peak_boxes[..., :2] + peak_boxes[..., 2:]) / 2  # (N, K, 2) peak centres
            aux = self.peak_supervision * _chamfer(torch.stack([cx, cy], -1) / width, target / width)
        return RAMOutput(boxes, crops, attention, aux)


def _chamfer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Symmetric chamfer distance between point sets ``Tensor[N, K, 2]`` (order-free matching)."""
    dist = torch.cdist(a, b.to(a.dtype))  # (N, K, K)
    return 0.5 * (dist.min(dim=2).values.mean() + dist.min(dim=1).values.mean())
