"""STASN (Yang et al., "Face Anti-Spoofing: Model Matters, so Does Data", CVPR 2019): TASM + RAM + SASM.

Inputs are RGB in ``[0, 1]``; ImageNet normalisation happens inside the model, so every caller (training, the
predictor, ONNX) feeds the same thing:

* ``clips``   ``Tensor[B, T, 3, input_size, input_size]``: the face crops TASM sees;
* ``highres`` ``Tensor[B, T, 3, highres_size, highres_size]``: the same square face region at high resolution, which RAM
  cuts its K regions from (optional: when omitted, ``clips`` are upsampled, which adds no detail).

The output's ``spoof_score`` is ``lambda * p_TASM + (1 - lambda) * p_SASM`` with ``p = softmax(logits)[:, 1]``:
higher = more likely an attack.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from stasn.model.backbones import build_backbone
from stasn.model.config import STASNConfig
from stasn.model.ram import LearnedRAM, PeakRAM
from stasn.model.sasm import SASM
from stasn.model.tasm import TASM

__all__ = ["STASN", "STASNOutput", "STAGES", "unique_frames"]

STAGES = ("tasm", "sasm", "joint")
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class STASNOutput:
    """What one forward pass returns (the same type in training and evaluation)."""

    tasm_logits: torch.Tensor  # (B, 2), index 1 = spoof
    sasm_logits: torch.Tensor  # (B, 2)
    spoof_score: torch.Tensor  # (B,) fused probability of attack, in [0, 1]
    boxes: torch.Tensor  # (B, T, K, 4) x1, y1, x2, y2 in high-res crop pixels
    attention: torch.Tensor  # (B, T, h, w) RAM attention, each map in [0, 1]
    crops: torch.Tensor  # (B, T, K, 3, s, s) the regions RAM cut from highres (RGB in [0, 1]), what SASM saw
    frame_logits: torch.Tensor  # (B, T, 2) TASM's per-frame head
    ram_aux_loss: torch.Tensor  # scalar; learned-RAM peak supervision (0 otherwise)


def unique_frames(clips: torch.Tensor, highres: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Find frames that repeat an earlier frame of the same clip (exact equality of both inputs).

    Args:
        clips: ``Tensor[B, T, 3, s, s]``.
        highres: ``Tensor[B, T, 3, S, S]``.

    Returns:
        ``(frame_index, keep)``: ``keep`` ``Tensor[N]`` holds the flat ``b * T + t`` positions of the distinct frames
        (first occurrences, in order) and ``frame_index`` ``Tensor[B, T]`` maps each step to its row in ``keep``,
        ready for :meth:`STASN.forward_frames`.
    """
    b, t = clips.shape[:2]
    flat_c, flat_h = clips.flatten(2), highres.flatten(2)  # (B, T, D)
    first = torch.arange(t, device=clips.device).expand(b, t).clone()  # earliest equal step per step
    for step in range(t - 1, 0, -1):  # later steps first, so the earliest match wins
        for earlier in range(step - 1, -1, -1):
            same = (flat_c[:, step] == flat_c[:, earlier]).all(dim=1) & (flat_h[:, step] == flat_h[:, earlier]).all(
                dim=1
            )
            first[:, step] = torch.where(same, torch.full_like(first[:, step], earlier), first[:, step])
    is_first = first == torch.arange(t, device=clips.device)  # (B, T)
    keep = is_first.flatten().nonzero().flatten()  # (N,) flat positions
    row_of_flat = torch.cumsum(is_first.flatten().long(), 0) - 1  # position -> row in keep (valid at firsts)
    base = torch.arange(b, device=clips.device)[:, None] * t
    return row_of_flat[base + first], keep


class STASN(nn.Module):
    """Spatio-temporal anti-spoofing network.

    Build it with :meth:`from_config` (or the ``stasn_*`` builders in :mod:`stasn.model`); the constructor takes
    built parts, keyword-only.
    """

    def __init__(
        self,
        *,
        tasm: TASM,
        ram: PeakRAM | LearnedRAM,
        sasm: SASM,
        num_frames: int,
        input_size: int,
        highres_size: int,
        fusion_weight: float = 0.5,
        tasm_loss_weight: float = 1.0,
        sasm_loss_weight: float = 1.0,
        frame_loss_weight: float = 0.0,
        use_cam: bool = False,
        frozen_backbone_layers: int = 0,
    ) -> None:
        super().__init__()
        self.tasm = tasm
        self.ram = ram
        self.sasm = sasm
        self.num_frames = num_frames
        self.input_size = input_size
        self.highres_size = highres_size
        self.fusion_weight = fusion_weight
        self.tasm_loss_weight = tasm_loss_weight
        self.sasm_loss_weight = sasm_loss_weight
        self.frame_loss_weight = frame_loss_weight
        self.use_cam = use_cam
        self.frozen_backbone_layers = frozen_backbone_layers
        self.register_buffer("pixel_mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.stage = "joint"
        self.set_stage("joint")

    @classmethod
    def from_config(cls, config: STASNConfig) -> STASN:
        """The one place that reads a :class:`STASNConfig`."""
        config.validate()
        tasm = TASM(
            build_backbone(config.backbone, pretrained=config.pretrained),
            hidden_size=config.lstm_hidden,
            num_layers=config.lstm_layers,
            bidirectional=config.lstm_bidirectional,
            dropout=config.dropout,
        )
        region_backbone = build_backbone(config.sasm_backbone_name, pretrained=config.pretrained)
        sasm = SASM(
            region_backbone,
            num_regions=config.num_regions,
            region_fusion=config.region_fusion,
            temporal_fusion=config.temporal_fusion,
            dropout=config.dropout,
        )
        ram_args = dict(
            num_regions=config.num_regions, region_size=config.region_size, output_size=config.region_output_size
        )
        if config.ram_mode == "peaks":
            ram = PeakRAM(**ram_args, iou_threshold=config.nms_iou)
        else:
            ram = LearnedRAM(
                tasm.backbone.out_channels,
                **ram_args,
                iou_threshold=config.nms_iou,
                peak_supervision=config.ram_peak_supervision,
            )
        return cls(
            tasm=tasm,
            ram=ram,
            sasm=sasm,
            num_frames=config.num_frames,
            input_size=config.input_size,
            highres_size=config.highres_size,
            fusion_weight=config.fusion_weight,
            tasm_loss_weight=config.tasm_loss_weight,
            sasm_loss_weight=config.sasm_loss_weight,
            frame_loss_weight=config.frame_loss_weight,
            use_cam=config.attention == "cam",
            frozen_backbone_layers=config.frozen_backbone_layers,
        )

    # --- forward ------------------------------------------------------------------------------------------------
    def _check_inputs(self, clips: torch.Tensor, highres: torch.Tensor | None) -> None:
        t, s = self.num_frames, self.input_size
        if clips.dim() != 5 or tuple(clips.shape[1:]) != (t, 3, s, s):
            raise ValueError(
                f"expected clips of shape (B, {t}, 3, {s}, {s}) (batch, frames, RGB, height, width), got "
                f"{tuple(clips.shape)}; resize faces to input_size={s} and pad or sample clips to num_frames={t}"
            )
        if highres is not None:
            hs = self.highres_size
            if tuple(highres.shape) != (clips.shape[0], t, 3, hs, hs):
                raise ValueError(
                    f"expected highres of shape ({clips.shape[0]}, {t}, 3, {hs}, {hs}), got {tuple(highres.shape)}"
                )

    def _check_frames(self, frames: torch.Tensor, highres: torch.Tensor, frame_index: torch.Tensor) -> None:
        s, hs, t = self.input_size, self.highres_size, self.num_frames
        if frames.dim() != 4 or tuple(frames.shape[1:]) != (3, s, s):
            raise ValueError(f"expected frames of shape (N, 3, {s}, {s}), got {tuple(frames.shape)}")
        if tuple(highres.shape) != (frames.shape[0], 3, hs, hs):
            raise ValueError(
                f"expected highres of shape ({frames.shape[0]}, 3, {hs}, {hs}), got {tuple(highres.shape)}"
            )
        if frame_index.dim() != 2 or frame_index.shape[1] != t or frame_index.dtype != torch.int64:
            raise ValueError(
                f"expected frame_index of shape (B, {t}) and dtype int64, got {tuple(frame_index.shape)} "
                f"{frame_index.dtype}"
            )

    def _normalise(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.pixel_mean.to(images.dtype)) / self.pixel_std.to(images.dtype)

    def forward(self, clips: torch.Tensor, highres: torch.Tensor | None = None, *, dedupe: bool = False) -> STASNOutput:
        """Score a batch of clips.

        Args:
            clips: ``Tensor[B, T, 3, input_size, input_size]``, RGB in [0, 1].
            highres: ``Tensor[B, T, 3, highres_size, highres_size]``, RGB in [0, 1], or ``None``.
            dedupe: run each distinct frame of a clip once (frames equal to an earlier frame of the same clip in both
                ``clips`` and ``highres``, such as a still image repeated T times); the result equals the plain
                path. Costs a comparison of the frames and one host sync; for evaluation, not training.

        Returns:
            :class:`STASNOutput`.
        """
        self._check_inputs(clips, highres)
        b, t = clips.shape[:2]
        if highres is None:
            highres = F.interpolate(
                clips.flatten(0, 1), size=self.highres_size, mode="bilinear", align_corners=False
            ).reshape(b, t, 3, self.highres_size, self.highres_size)
        frames, hr = clips.flatten(0, 1), highres.flatten(0, 1)  # (B*T, 3, s, s), (B*T, 3, S, S)
        if dedupe:
            frame_index, keep = unique_frames(clips, highres)
            frames, hr = frames[keep], hr[keep]
        else:
            frame_index = torch.arange(b * t, device=clips.device).reshape(b, t)
        return self.forward_frames(frames, hr, frame_index)

    def forward_frames(self, frames: torch.Tensor, highres: torch.Tensor, frame_index: torch.Tensor) -> STASNOutput:
        """Score clips given as distinct frames plus an index: each frame goes once through TASM's CNN, RAM and
        SASM's CNN; the LSTM and SASM's fusion see the T steps of each clip.

        Args:
            frames: ``Tensor[N, 3, input_size, input_size]``, RGB in [0, 1], the distinct frames.
            highres: ``Tensor[N, 3, highres_size, highres_size]``, the same frames at high resolution.
            frame_index: ``Tensor[B, T]`` (int64): clip ``b``'s step ``t`` is frame ``frame_index[b, t]``.

        Returns:
            :class:`STASNOutput` for the B clips (boxes, crops, attention and frame logits gathered per step).
        """
        self._check_frames(frames, highres, frame_index)
        feats = self.tasm.encode(self._normalise(frames))  # maps (N, C, h, w), pooled (N, C)
        tasm_logits = self.tasm.classify(feats.pooled[frame_index])  # (B, T, C) -> (B, 2)
        ram_out = self.ram(feats.feature_maps, highres, self.tasm.cam_weights() if self.use_cam else None)
        region_feats = self.sasm.encode(self._normalise(ram_out.crops))  # (N, K, C)
        sasm_logits = self.sasm.classify(region_feats[frame_index])  # (B, T, K, C) -> (B, 2)
        p_tasm = tasm_logits.float().softmax(dim=1)[:, 1]
        p_sasm = sasm_logits.float().softmax(dim=1)[:, 1]
        return STASNOutput(
            tasm_logits=tasm_logits,
            sasm_logits=sasm_logits,
            spoof_score=self.fusion_weight * p_tasm + (1.0 - self.fusion_weight) * p_sasm,
            boxes=ram_out.boxes[frame_index],  # (B, T, K, 4)
            attention=ram_out.attention[frame_index],  # (B, T, h, w)
            crops=ram_out.crops[frame_index],  # (B, T, K, 3, s, s)
            frame_logits=feats.frame_logits[frame_index],  # (B, T, 2)
            ram_aux_loss=ram_out.aux_loss,
        )

    # --- losses -------------------------------------------------------------------------------------------------
    def compute_loss(
        self, output: STASNOutput, labels: torch.Tensor, stage: str | None = None
    ) -> dict[str, torch.Tensor]:
        """Weighted binary cross-entropy of both heads (the paper's loss) plus our optional terms.

        Args:
            output: from :meth:`forward`.
            labels: ``Tensor[B]`` of 0 (live) / 1 (spoof).
            stage: ``tasm`` (TASM terms only), ``sasm`` (SASM and RAM terms), ``joint``; default the current stage.

        Returns:
            dict with ``loss`` (the total to minimise) and each term.
        """
        stage = stage or self.stage
        labels = labels.long()
        terms: dict[str, torch.Tensor] = {}
        if stage in ("tasm", "joint"):
            terms["tasm_ce"] = self.tasm_loss_weight * F.cross_entropy(output.tasm_logits.float(), labels)
            if self.frame_loss_weight > 0:
                t = output.frame_logits.shape[1]
                terms["frame_ce"] = self.frame_loss_weight * F.cross_entropy(
                    output.frame_logits.float().flatten(0, 1), labels.repeat_interleave(t)
                )
        if stage in ("sasm", "joint"):
            terms["sasm_ce"] = self.sasm_loss_weight * F.cross_entropy(output.sasm_logits.float(), labels)
            if isinstance(self.ram, LearnedRAM) and self.ram.peak_supervision > 0:
                terms["ram_aux"] = output.ram_aux_loss
        terms["loss"] = sum(terms.values())
        return terms

    # --- staged training ----------------------------------------------------------------------------------------
    def set_stage(self, stage: str) -> None:
        """Freeze for staged training: ``tasm`` trains TASM only; ``sasm`` trains SASM (and a learned RAM head) with
        TASM frozen; ``joint`` trains everything. Frozen parts also stay in eval mode (BatchNorm statistics fixed).
        """
        if stage not in STAGES:
            raise ValueError(f"Unknown stage {stage!r}. Valid values are {{{', '.join(STAGES)}}}.")
        self.stage = stage
        trainable = {"tasm": [self.tasm], "sasm": [self.sasm, self.ram], "joint": [self.tasm, self.ram, self.sasm]}
        for part in (self.tasm, self.ram, self.sasm):
            part.requires_grad_(any(part is p for p in trainable[stage]))
        for layer in self._frozen_backbone_layers():
            layer.requires_grad_(False)
        self.train(self.training)

    def _frozen_backbone_layers(self) -> list[nn.Module]:
        """The first ``frozen_backbone_layers`` layers of each backbone's trunk (a stem and early blocks), which stay
        frozen in every stage: with few training faces the ImageNet low-level filters are kept as they are."""
        if not self.frozen_backbone_layers:
            return []
        layers = []
        for backbone in (self.tasm.backbone, self.sasm.backbone):
            layers += list(backbone.body.children())[: self.frozen_backbone_layers]
        return layers

    def frozen_parts(self) -> list[nn.Module]:
        whole = [
            p
            for p in (self.tasm, self.ram, self.sasm)
            if not any(q.requires_grad for q in p.parameters()) and any(True for _ in p.parameters())
        ]
        return whole + self._frozen_backbone_layers()

    def train(self, mode: bool = True) -> STASN:
        super().train(mode)
        for part in self.frozen_parts():
            part.eval()
        return self
