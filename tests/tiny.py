"""Tiny test fixtures: a face-crop cache written straight through the manifest API, and a tiny checkpoint.

Live "faces" are smooth blobs; attacks carry a fine stripe pattern (a crude stand-in for moire), so a tiny model can
learn something within a few steps. Subjects are disjoint across splits.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from stasn.data.manifest import CacheInfo, ManifestRow, write_cache_info, write_manifest


def _image(rng: np.random.Generator, size: int, spoof: bool) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([0.6 + 0.2 * np.sin(3 * xx + c) * np.cos(2 * yy) for c in rng.uniform(0, 3, 3)], -1)
    if spoof:
        base = base + 0.15 * np.sin(2 * np.pi * xx * size / 3.0)[..., None]
    base = base + rng.normal(0, 0.02, base.shape)
    return (np.clip(base, 0, 1) * 255).astype(np.uint8)


def make_tiny_cache(
    root: Path,
    *,
    face_size: int = 32,
    highres_size: int = 64,
    frames: int = 3,
    subjects: dict[str, int] | None = None,
    no_face_video: bool = True,
    seed: int = 0,
) -> Path:
    """Write a cache with 2 live + 2 print videos per subject; returns its folder."""
    subjects = subjects or {"train": 4, "dev": 2, "test": 2}
    rng = np.random.default_rng(seed)
    info = CacheInfo(face_size=face_size, highres_size=highres_size)
    write_cache_info(root, info)
    rows = []
    subject_id = 0
    for split, count in subjects.items():
        for _ in range(count):
            subject_id += 1
            for v, (label, attack) in enumerate([(0, "live"), (0, "live"), (1, "print"), (1, "print")]):
                video_id = f"s{subject_id}_{attack}_{v}"
                for f in range(frames):
                    highres = _image(rng, highres_size, spoof=label == 1)
                    face = cv2.resize(highres, (face_size, face_size), interpolation=cv2.INTER_AREA)
                    rel = Path("crops") / video_id
                    (root / rel).mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(root / rel / f"{f}_highres.png"), highres[..., ::-1])
                    cv2.imwrite(str(root / rel / f"{f}_face.png"), face[..., ::-1])
                    rows.append(
                        ManifestRow(
                            sample_id=f"{video_id}#{f}",
                            video_id=video_id,
                            dataset="tiny",
                            source_path=f"{video_id}.avi",
                            frame_index=f,
                            label=label,
                            attack_type=attack,
                            split=split,
                            subject=f"s{subject_id}",
                            box=(0, 0, 10, 10),
                            crop_box=(0, 0, 13, 13),
                            face_path=str(rel / f"{f}_face.png"),
                            highres_path=str(rel / f"{f}_highres.png"),
                        )
                    )
            if no_face_video and split == "test":
                rows.append(
                    ManifestRow(
                        sample_id=f"s{subject_id}_noface#0",
                        video_id=f"s{subject_id}_noface",
                        dataset="tiny",
                        source_path="x.avi",
                        frame_index=0,
                        label=1,
                        attack_type="print",
                        split=split,
                        subject=f"s{subject_id}",
                        status="no_face",
                    )
                )
    write_manifest(rows, root)
    return root


# A 64 px STASN that runs in milliseconds. ResNet-18, not MobileNetV3-Small: at 64 px a randomly initialised
# MobileNetV3-Small gives the same score for every input, which would hide bugs in tests that compare scores.
TINY_MODEL = dict(
    backbone="resnet18",
    num_frames=2,
    input_size=64,
    highres_size=128,
    num_regions=2,
    region_size=32,
    region_output_size=32,
    lstm_hidden=16,
)


def save_tiny_checkpoint(
    path: Path, *, threshold: float | None = 0.5, threshold_criterion: str | None = "eer", seed: int = 0, **overrides
) -> Path:
    """A checkpoint of a randomly initialised tiny STASN (``TINY_MODEL`` updated by ``overrides``)."""
    import torch

    from stasn.model import STASN, STASNConfig
    from stasn.model.checkpoint import save_checkpoint

    torch.manual_seed(seed)
    config = STASNConfig(**{**TINY_MODEL, **overrides})
    info = CacheInfo(face_size=config.input_size, highres_size=config.highres_size)
    return save_checkpoint(
        path,
        STASN.from_config(config).eval(),
        config,
        info,
        threshold=threshold,
        threshold_criterion=threshold_criterion,
    )
