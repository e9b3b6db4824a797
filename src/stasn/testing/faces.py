"""A simple drawn face: input for tests, benchmarks and the pictures in ``docs/`` (no real person involved).

It is not meant to look real, only to have what matters to the synthesizers: skin-coloured smooth regions, sharp
edges (eyes, hair line), fine texture (skin pores, hair strands) and a face framed like a detector crop.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["draw_face", "face_clip"]


def draw_face(
    size: int = 256,
    *,
    seed: int = 0,
    blink: float = 0.0,
    mouth_open: float = 0.0,
    shift: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Draw a face crop.

    Args:
        size: side in pixels (>= 32).
        seed: picks skin tone, hair, background and texture.
        blink: 0 = eyes open, 1 = closed.
        mouth_open: 0 = closed, 1 = wide open.
        shift: head offset, fraction of ``size`` (a live subject moves a little).

    Returns:
        uint8 ``[size, size, 3]`` RGB.
    """
    if size < 32:
        raise ValueError(f"size must be >= 32, got {size}")
    rng = np.random.default_rng(seed)
    s = size / 256.0  # everything below is laid out for 256 px
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    top, bottom = rng.uniform(120, 230, 3), rng.uniform(60, 200, 3)
    img = top[None, None, :] * (1 - yy[..., None] / size) + bottom[None, None, :] * (yy[..., None] / size)
    img = img.astype(np.float32)
    cx, cy = size / 2 + shift[0] * size, size * 0.53 + shift[1] * size
    skin = np.array([rng.uniform(150, 240), rng.uniform(110, 190), rng.uniform(80, 160)], np.float32)
    hair = rng.uniform(10, 90, 3).astype(np.float32)

    def ellipse(mask_img: np.ndarray, centre, axes, colour, angle=0.0) -> None:
        cv2.ellipse(
            mask_img,
            (int(round(centre[0] * 16)), int(round(centre[1] * 16))),
            (max(1, int(round(axes[0] * 16))), max(1, int(round(axes[1] * 16)))),
            angle,
            0,
            360,
            colour,
            -1,
            cv2.LINE_AA,
            4,
        )

    ellipse(img, (cx, cy - 18 * s), (88 * s, 96 * s), hair.tolist())  # hair mass
    ellipse(img, (cx, cy + 95 * s), (110 * s, 40 * s), (rng.uniform(20, 200, 3)).tolist())  # shoulders
    ellipse(img, (cx, cy + 60 * s), (26 * s, 40 * s), (skin * 0.85).tolist())  # neck
    ellipse(img, (cx, cy), (72 * s, 92 * s), skin.tolist())  # face
    ellipse(img, (cx, cy - 78 * s), (74 * s, 30 * s), hair.tolist())  # fringe
    # Shading: light from the upper left.
    shade = 1.0 + 0.18 * np.tanh(((cx - xx) + (cy - yy)) / (70 * s))
    face_mask = np.zeros((size, size), np.float32)
    ellipse(face_mask, (cx, cy), (72 * s, 92 * s), 1.0)
    img *= (1 + (shade - 1) * face_mask)[..., None]
    for side in (-1, 1):
        ex, ey = cx + side * 30 * s, cy - 12 * s
        ellipse(img, (ex, ey - 20 * s), (18 * s, 4 * s), (hair * 0.8).tolist(), angle=-side * 8)  # brow
        open_h = max(0.6, 9 * s * (1 - blink))
        ellipse(img, (ex, ey), (15 * s, open_h), (235, 235, 230))  # sclera
        if blink < 0.8:
            ellipse(img, (ex, ey), (7 * s, min(7 * s, open_h)), (rng.uniform(30, 120, 3)).tolist())  # iris
            ellipse(img, (ex, ey), (3 * s, min(3 * s, open_h)), (10, 10, 10))  # pupil
            ellipse(img, (ex - 2 * s, ey - 2 * s), (1.5 * s, 1.5 * s), (255, 255, 255))  # catch light
        cv2.line(
            img,
            (int(ex - 16 * s), int(ey - open_h)),
            (int(ex + 16 * s), int(ey - open_h)),
            (hair * 0.6).tolist(),
            max(1, int(2 * s)),
            cv2.LINE_AA,
        )  # eyelid line
    cv2.line(
        img, (int(cx), int(cy - 8 * s)), (int(cx - 6 * s), int(cy + 22 * s)), (skin * 0.7).tolist(), max(1, int(2 * s))
    )
    ellipse(img, (cx, cy + 25 * s), (10 * s, 4 * s), (skin * 0.75).tolist())  # nostrils
    ellipse(img, (cx, cy + 48 * s), (24 * s, 3 * s + 12 * s * mouth_open), (150, 60, 70))  # lips
    if mouth_open > 0.1:
        ellipse(img, (cx, cy + 48 * s), (18 * s, 10 * s * mouth_open), (40, 10, 15))
    # Fine texture: pores and strands (high spatial frequencies that recapture destroys or aliases).
    texture = rng.normal(0, 6, (size, size, 1)).astype(np.float32)
    texture = cv2.GaussianBlur(texture, (0, 0), 0.7 * max(s, 0.5))[..., None]
    img += texture * 1.5
    return np.clip(img, 0, 255).astype(np.uint8)


def face_clip(num_frames: int = 8, size: int = 256, *, seed: int = 0) -> np.ndarray:
    """A live-looking clip of the drawn face: small head motion, a blink in the middle, speech.

    Returns:
        uint8 ``[num_frames, size, size, 3]``.
    """
    frames = []
    for t in range(num_frames):
        phase = t / max(num_frames - 1, 1)
        blink = max(0.0, 1.0 - abs(phase - 0.5) * 8.0)
        frames.append(
            draw_face(
                size,
                seed=seed,
                blink=blink,
                mouth_open=0.3 * (1 + np.sin(6.0 * phase)) / 2,
                shift=(0.01 * np.sin(4.0 * phase), 0.008 * np.cos(3.0 * phase)),
            )
        )
    return np.stack(frames)
