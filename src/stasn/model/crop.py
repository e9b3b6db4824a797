"""Cutting K square regions per image from the high-resolution face crop.

Box convention (both functions): ``Tensor[N, K, 4]`` as ``x1, y1, x2, y2`` in continuous pixel coordinates of the
image, where pixel ``i`` covers ``[i, i + 1)``. A box ``[x, y, x + s, y + s]`` with integer corners and
``output_size == s`` therefore returns exactly ``image[:, y:y + s, x:x + s]``.

``crop_regions`` uses torchvision's ``roi_align`` (gradients reach the image, not the boxes);
``crop_regions_differentiable`` uses one ``grid_sample`` for all regions so gradients also reach the box centres
(RAM's ``learned`` mode).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.ops import roi_align

__all__ = ["crop_regions", "crop_regions_differentiable"]


def _check(images: torch.Tensor, boxes: torch.Tensor) -> None:
    if images.dim() != 4:
        raise ValueError(f"images must be Tensor[N, C, H, W], got shape {tuple(images.shape)}")
    if boxes.dim() != 3 or boxes.shape[0] != images.shape[0] or boxes.shape[-1] != 4:
        raise ValueError(f"boxes must be Tensor[N, K, 4] with N={images.shape[0]}, got shape {tuple(boxes.shape)}")


def crop_regions(images: torch.Tensor, boxes: torch.Tensor, output_size: int) -> torch.Tensor:
    """Crop and resample regions with ``roi_align`` (bilinear, one sample per output pixel).

    Args:
        images: ``Tensor[N, C, H, W]``.
        boxes: ``Tensor[N, K, 4]`` (x1, y1, x2, y2) in pixels of ``images``.
        output_size: side ``s`` of each output crop in pixels.

    Returns:
        ``Tensor[N, K, C, s, s]``.
    """
    _check(images, boxes)
    n, k = boxes.shape[:2]
    index = torch.arange(n, device=boxes.device, dtype=boxes.dtype).repeat_interleave(k)[:, None]
    rois = torch.cat([index, boxes.reshape(n * k, 4)], dim=1).to(images.dtype)
    crops = roi_align(images, rois, output_size, spatial_scale=1.0, sampling_ratio=1, aligned=True)
    return crops.reshape(n, k, images.shape[1], output_size, output_size)


def crop_regions_differentiable(images: torch.Tensor, boxes: torch.Tensor, output_size: int) -> torch.Tensor:
    """Like :func:`crop_regions`, but differentiable with respect to ``boxes`` (``grid_sample``, bilinear).

    Samples at the centres of an ``s x s`` grid inside each box, the same points ``roi_align`` uses.

    Returns:
        ``Tensor[N, K, C, s, s]``.
    """
    _check(images, boxes)
    n, k = boxes.shape[:2]
    height, width = images.shape[-2:]
    steps = (torch.arange(output_size, device=boxes.device, dtype=boxes.dtype) + 0.5) / output_size  # (s,)
    x1, y1, x2, y2 = boxes.unbind(-1)  # each (N, K)
    xs = x1[..., None] + (x2 - x1)[..., None] * steps  # (N, K, s) continuous pixel coordinates
    ys = y1[..., None] + (y2 - y1)[..., None] * steps
    # grid_sample (align_corners=False): -1 is the left edge of pixel 0, +1 the right edge of the last pixel.
    gx = (2.0 * xs / width - 1.0)[:, :, None, :].expand(n, k, output_size, output_size)
    gy = (2.0 * ys / height - 1.0)[:, :, :, None].expand(n, k, output_size, output_size)
    grid = torch.stack([gx, gy], dim=-1).reshape(n, k * output_size, output_size, 2)
    sampled = F.grid_sample(
        images, grid.to(images.dtype), mode="bilinear", padding_mode="border", align_corners=False
    )  # (N, C, K*s, s)
    return sampled.reshape(n, images.shape[1], k, output_size, output_size).permute(0, 2, 1, 3, 4)
