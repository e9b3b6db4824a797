"""Make the pictures of docs/collect.md with the project itself: the marker board, a drawn phone showing it (no real
device), what `stasn templates extract` finds in it, and template-mode replays of a drawn face (no real person).

Run from the repository root::

    .venv/bin/python docs/img/make_collect_images.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from stasn.synth import ReplaySynthesizer
from stasn.synth.markers import write_board
from stasn.synth.template_replay import TemplateReplay
from stasn.synth.templates import TemplateSet, extract_templates
from stasn.testing.device_video import render_device_video
from stasn.testing.faces import draw_face
from stasn.testing.videos import write_video

OUT = Path(__file__).resolve().parent
TILE = 200


def save(name: str, rgb: np.ndarray) -> None:
    # A 256-colour palette without dithering keeps the files small.
    image = Image.fromarray(rgb).quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    image.save(OUT / name, optimize=True)
    print(OUT / name)


def fit(image: np.ndarray, height: int) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (round(w * height / h), height), interpolation=cv2.INTER_AREA)


def label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 18), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        layout, _ = write_board(root, "phone", 1080, 2340, seconds=0)
        video = render_device_video(layout.image(), num_frames=30, seed=3)
        path = write_video(root / "phone_room.mp4", video.frames, crf=20)
        extract_templates([path], root)
        templates = TemplateSet(root)

        # 1. The board, a filmed frame, what extraction finds (quad, mask without the thumb, glass light).
        frame = templates.frame("phone_room", 12)
        found = frame.image.copy()
        cv2.polylines(found, [np.round(frame.quad * 4).astype(np.int32)], True, (0, 255, 0), 2, cv2.LINE_AA, 2)
        x0, y0 = np.floor(frame.quad.min(axis=0)).astype(int) - 40
        x1, y1 = np.ceil(frame.quad.max(axis=0)).astype(int) + 40
        x0, y0 = max(0, x0), max(0, y0)
        crop = (slice(y0, y1), slice(x0, x1))
        mask = frame.image.copy() // 4
        inside = frame.mask > 0.5
        mask[inside] = (0.5 * frame.image[inside] + [0, 110, 0]).clip(0, 255).astype(np.uint8)
        light = cv2.resize(frame.reflection, (frame.image.shape[1], frame.image.shape[0]))
        light = (np.clip(light / max(float(light[inside].max()), 1e-3), 0, 1) ** (1 / 2.2) * 255).astype(np.uint8)
        light[~inside] //= 4
        height = 300
        panels = [
            label(fit(layout.image(), height), "board (1080x2340)"),
            label(fit(found[crop], height), "filmed, quad found"),
            label(fit(mask[crop], height), "mask (thumb left out)"),
            label(fit(light[crop], height), "glass reflection"),
        ]
        save("collect_templates.png", np.hstack(panels))

        # 2. Template-mode replays of a drawn face (two of them with the bezel or thumb in the crop), the template
        # crops they were composited into, and a procedural replay of the same face.
        synth = TemplateReplay(templates)
        face = draw_face(256, seed=1)
        rng = np.random.default_rng(7)
        results, edges = [], 0
        while len(results) < 4:
            result = synth.render(face, synth.sample_params(rng))
            at_edge = result.masks[0].mean() < 0.9
            if at_edge or len(results) - edges < 2:
                results.append(result)
                edges += at_edge
        small = lambda image: cv2.resize(image, (TILE, TILE), interpolation=cv2.INTER_AREA)  # noqa: E731
        top = [label(small(face), "live input")] + [label(small(r.frames[0]), "template mode") for r in results]
        spoof = ReplaySynthesizer()(face, rng)[0]
        bottom = [label(small(spoof), "procedural")] + [label(small(r.background[0]), "its template") for r in results]
        save("collect_template_replays.png", np.vstack([np.hstack(top), np.hstack(bottom)]))


if __name__ == "__main__":
    main()
