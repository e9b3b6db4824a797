"""Make the pictures of docs/synthesis.md from the drawn face of stasn.testing.faces (no real person).

Run from the repository root::

    .venv/bin/python docs/img/make_synth_images.py
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from stasn.synth import PrintSynthesizer, ReplayParams, ReplaySynthesizer
from stasn.synth.display import subpixel_tile
from stasn.synth.geometry import Pose
from stasn.synth.recapture import CaptureParams, ViewParams
from stasn.testing.faces import draw_face

OUT = Path(__file__).resolve().parent
TILE = 160


def save(name: str, rgb: np.ndarray) -> None:
    # A 256-colour palette without dithering keeps the files small (dithering would add a fake halftone).
    image = Image.fromarray(rgb).quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    image.save(OUT / name, optimize=True)
    print(OUT / name)


def grid(images: list[np.ndarray], columns: int) -> np.ndarray:
    cells = [cv2.resize(i, (TILE, TILE), interpolation=cv2.INTER_AREA) for i in images]
    rows = [np.hstack(cells[i : i + columns]) for i in range(0, len(cells), columns)]
    return np.vstack(rows)


def main() -> None:
    face = draw_face(256, seed=1)
    rng = np.random.default_rng(2024)
    replay = ReplaySynthesizer()
    save("synth_replay_examples.png", grid([face] + [replay(face, rng)[0] for _ in range(7)], 4))
    printer = PrintSynthesizer()
    save("synth_print_examples.png", grid([face] + [printer(face, rng)[0] for _ in range(7)], 4))

    # Sub-pixel layouts, magnified: 3 x 3 panel pixels of each.
    tiles = []
    for layout in ("rgb-stripe", "pentile-diamond"):
        tile = subpixel_tile(layout, texels=16)
        reps = 3 if layout == "rgb-stripe" else 2
        big = np.tile(tile, (reps, reps, 1))
        tiles.append(np.clip(big / big.max() * 255, 0, 255).astype(np.uint8))
    save("synth_subpixels.png", grid(tiles, 2))

    # Moire: a frontal RGB-stripe phone at 1.25 panel px per camera px, vs. a plain resize of the same face.
    n = 256
    params = ReplayParams(
        ppi=1.25 * n / (0.8 * 68.0) * 25.4,
        face_scale=0.8,
        screen_mm=(68.0, 150.0),
        view=ViewParams(pose=Pose(distance=6.0)),
        capture=CaptureParams(sensor_px=n, codec="none"),
    )
    tilted = dataclasses.replace(params, view=ViewParams(pose=Pose(distance=6.0, yaw=12.0, roll=4.0)))
    centre = slice(n // 2 - TILE // 2, n // 2 + TILE // 2)  # 1:1 crops: the moire period is a few pixels
    shots = [face, replay.apply(face, params), replay.apply(face, tilted)]
    save("synth_moire.png", np.hstack([shot[centre, centre] for shot in shots]))


if __name__ == "__main__":
    main()
