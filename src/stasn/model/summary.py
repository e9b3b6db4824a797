"""Size and cost of a STASN configuration: parameters, backbone passes per clip, GFLOPs per clip."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from stasn.model.config import STASNConfig
from stasn.model.stasn import STASN

__all__ = ["ModelSummary", "summarize_model"]


@dataclass(frozen=True)
class ModelSummary:
    config: STASNConfig
    parameters: dict[str, int]  # per part (tasm, ram, sasm) and "total"
    backbone_passes_per_clip: dict[str, int]  # TASM: T frames; SASM: T*K regions
    gflops_per_clip: dict[str, float]  # forward pass, multiply-add counted as 2 FLOPs
    gflops_per_image: float  # a still image: each CNN runs once (STASN.forward_frames), the LSTM T steps

    def rows(self) -> list[tuple[str, str]]:
        c = self.config
        p, g, n = self.parameters, self.gflops_per_clip, self.backbone_passes_per_clip
        return [
            ("backbone (TASM / SASM)", f"{c.backbone} / {c.sasm_backbone_name}"),
            ("clip", f"T={c.num_frames} frames, {c.input_size}px; high-res {c.highres_size}px"),
            ("regions", f"K={c.num_regions}, {c.region_size}px -> {c.region_output_size}px, RAM={c.ram_mode}"),
            ("parameters TASM", f"{p['tasm']:,}"),
            ("parameters RAM", f"{p['ram']:,}"),
            ("parameters SASM", f"{p['sasm']:,}"),
            ("parameters total", f"{p['total']:,}"),
            (
                "backbone passes / clip",
                f"{n['total']} (TASM {n['tasm']} at {c.input_size}px + SASM {n['sasm']} at {c.region_output_size}px)",
            ),
            (
                "GFLOPs / clip",
                f"{g['total']:.2f} (TASM {g['tasm']:.2f}, SASM {g['sasm']:.2f}, "
                f"other {max(0.0, g['total'] - g['tasm'] - g['sasm']):.2f})",
            ),
            ("GFLOPs / still image", f"{self.gflops_per_image:.2f} (each frame once: 1 + K backbone passes)"),
        ]


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _gflops(fn, *args) -> float:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        fn(*args)
    return counter.get_total_flops() / 1e9


def summarize_model(config: STASNConfig, model: STASN | None = None) -> ModelSummary:
    """Count parameters and measure FLOPs of one clip's forward pass on CPU (random weights suffice)."""
    model = model if model is not None else STASN.from_config(config)
    model.eval()
    t, k = config.num_frames, config.num_regions
    clips = torch.rand(1, t, 3, config.input_size, config.input_size)
    highres = torch.rand(1, t, 3, config.highres_size, config.highres_size)
    crops = torch.rand(1, t, k, 3, config.region_output_size, config.region_output_size)
    params = {"tasm": _count(model.tasm), "ram": _count(model.ram), "sasm": _count(model.sasm), "total": _count(model)}
    flops = {
        "tasm": _gflops(model.tasm, clips),
        "sasm": _gflops(model.sasm, crops),
        "total": _gflops(model, clips, highres),
    }
    passes = {"tasm": t, "sasm": t * k, "total": t * (1 + k)}
    still = _gflops(model.forward_frames, clips[:, 0], highres[:, 0], torch.zeros(1, t, dtype=torch.int64))
    return ModelSummary(config, params, passes, flops, still)
