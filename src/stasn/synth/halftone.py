"""Printing a face: CMYK separation, halftone screens at a printer resolution, ink on paper, paper texture.

A printer puts down binary dots at ``dpi`` dots per inch. Tones are made by a *halftone*:

* ``"am"`` (clustered dot, offset and laser printers): per ink a grid of round dots whose size follows the tone,
  one dot per cell of ``cell_dots`` x ``cell_dots`` printer dots, rotated to the classic screen angles
  (C 15, M 75, Y 0, K 45 degrees). The screen period is ``cell_dots / dpi`` inches (``dpi / cell_dots`` lines per
  inch).
* ``"dither"`` (ordered dithering, simple inkjet and thermal printers): each printer dot is on or off by an 8 x 8
  Bayer threshold matrix; the pattern repeats every 8 dots.

Inks are imperfect filters (the Neugebauer idea, simplified: each ink multiplies the reflectance by its
transmittance where it covers), so prints have a smaller gamut and a grey, not black, black (``dmax``).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = [
    "HALFTONES",
    "SCREEN_ANGLES",
    "spot_tile",
    "screen_thresholds",
    "cmyk_coverage",
    "ink_reflectance",
    "neugebauer_primaries",
    "halftone_reflectance",
    "paper_texture",
]

HALFTONES = ("am", "dither")
SCREEN_ANGLES = (15.0, 75.0, 0.0, 45.0)  # C, M, Y, K, degrees
_TILE = 64  # samples per side of one screen cell's threshold tile
_BAYER8 = np.array(
    [
        [0, 32, 8, 40, 2, 34, 10, 42],
        [48, 16, 56, 24, 50, 18, 58, 26],
        [12, 44, 4, 36, 14, 46, 6, 38],
        [60, 28, 52, 20, 62, 30, 54, 22],
        [3, 35, 11, 43, 1, 33, 9, 41],
        [51, 19, 59, 27, 49, 17, 57, 25],
        [15, 47, 7, 39, 13, 45, 5, 37],
        [63, 31, 55, 23, 61, 29, 53, 21],
    ],
    np.float32,
)


def spot_tile(size: int = _TILE) -> np.ndarray:
    """Thresholds of one AM cell: a round dot that grows from the cell centre, equalized to be uniform in [0, 1).

    Coverage ``a`` is printed where ``a > threshold``, so a flat tone ``a`` inks exactly the fraction ``a`` of the
    cell (the histogram equalization makes the tone scale linear).
    """
    c = (np.arange(size, dtype=np.float64) + 0.5) / size
    x, y = np.meshgrid(c, c)
    # Classic Euclidean-ish spot: dots at cell centres, merging into a checkerboard at 50 %.
    spot = -(np.cos(2 * math.pi * x) + np.cos(2 * math.pi * y))
    order = np.argsort(spot, axis=None, kind="stable")
    ranks = np.empty(size * size, np.float64)
    ranks[order] = (np.arange(size * size) + 0.5) / (size * size)
    return ranks.reshape(size, size).astype(np.float32)


def screen_thresholds(
    shape: tuple[int, int], *, kind: str, period: float, angle: float = 0.0, offset: tuple[float, float] = (0, 0)
) -> np.ndarray:
    """Threshold map of a halftone screen over a texture.

    Args:
        shape: ``(height, width)`` of the texture.
        kind: ``"am"`` or ``"dither"``.
        period: texels per AM cell, or texels per printer dot for ``"dither"``.
        angle: screen rotation, degrees (AM only).
        offset: screen phase, texels.

    Returns:
        float32 ``[height, width]`` in [0, 1).
    """
    if kind not in HALFTONES:
        raise ValueError(f"Unknown halftone {kind!r}. Valid values are {{{', '.join(HALFTONES)}}}.")
    if period <= 0:
        raise ValueError(f"halftone period must be > 0 texels, got {period}")
    h, w = shape
    if kind == "am":
        tile, cell, flags = spot_tile(), period, cv2.INTER_LINEAR
        theta = math.radians(angle)
    else:
        tile, cell, flags = (_BAYER8 + 0.5) / 64.0, 8 * period, cv2.INTER_NEAREST
        theta = 0.0
    k = tile.shape[0] / cell  # tile samples per texel
    cos, sin = math.cos(theta) * k, math.sin(theta) * k
    # texel (x, y) -> tile coordinates: rotate into the screen's axes, scale to tile samples (inverse map).
    affine = np.array(
        [[cos, sin, -0.5 + cos * offset[0] + sin * offset[1]], [-sin, cos, -0.5 - sin * offset[0] + cos * offset[1]]],
        np.float64,
    )
    affine[:, 2] += affine[:, :2] @ np.array([0.5, 0.5])  # sample at texel centres
    return cv2.warpAffine(tile, affine, (w, h), flags=flags | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_WRAP).astype(
        np.float32
    )


def cmyk_coverage(rgb: np.ndarray, *, black_generation: float = 0.5) -> np.ndarray:
    """Ink coverages from an sRGB image: simple CMY complement with grey-component replacement by K.

    Black ink starts where the common CMY grey ``m`` passes ``1 - black_generation`` and rises linearly to 100 % at
    black (a printer driver's GCR curve: no black in the highlights, full black in the shadows), so that black
    prints as solid K, the inks' darkest (an older ``k = black_generation * m`` never printed full black and left a
    printed black at about twice the paper's dmax).

    Args:
        rgb: uint8 ``[h, w, 3]``.
        black_generation: how far into the lighter tones black ink reaches, in [0, 1] (0: no black ink).

    Returns:
        float32 ``[h, w, 4]`` coverages C, M, Y, K in [0, 1].
    """
    cmy = 1.0 - rgb.astype(np.float32) * np.float32(1.0 / 255.0)
    m = np.minimum(np.minimum(cmy[..., 0], cmy[..., 1]), cmy[..., 2])[..., None]
    bg = np.float32(black_generation)
    k = np.clip((m - (1.0 - bg)) / max(bg, np.float32(1e-6)), 0.0, 1.0) if black_generation > 0 else m * 0.0
    cmy = (cmy - k) / np.maximum(1.0 - k, np.float32(1e-3))
    return np.concatenate([cmy, k], axis=-1)


def _ink_transmittance(purity: float) -> np.ndarray:
    """Transmittance ``[3 inks, 3 colours]`` of C, M, Y in R, G, B: an imperfect ink also absorbs some of the
    other colours and passes some of its own."""
    leak = 1.0 - purity
    return np.array(
        [
            [0.05 + 0.25 * leak, 1.0 - 0.35 * leak, 1.0 - 0.15 * leak],
            [1.0 - 0.2 * leak, 0.08 + 0.3 * leak, 1.0 - 0.4 * leak],
            [1.0 - 0.05 * leak, 1.0 - 0.15 * leak, 0.06 + 0.3 * leak],
        ],
        np.float32,
    )


def ink_reflectance(
    ink: np.ndarray, *, purity: float, dmax_reflectance: float, paper: tuple[float, float, float]
) -> np.ndarray:
    """Reflectance of inked paper (linear RGB) from per-ink coverage ``[..., 4]`` (C, M, Y, K) in [0, 1].

    Each ink multiplies the reflectance by ``1 - coverage * (1 - transmittance)``; for binary coverage this gives the
    16 Neugebauer primaries of :func:`neugebauer_primaries`.

    Args:
        purity: how well each coloured ink absorbs only its own third of the spectrum, (0, 1].
        dmax_reflectance: reflectance of solid black ink (0.02 glossy photo .. 0.1 office paper).
        paper: reflectance of the bare paper (its white and tint).

    Returns:
        float32 ``[..., 3]``.
    """
    if not 0.0 < purity <= 1.0 or not 0.0 < dmax_reflectance < min(paper):
        raise ValueError(
            f"need 0 < purity <= 1 and 0 < dmax_reflectance < paper white, got {purity}, {dmax_reflectance}"
        )
    trans = _ink_transmittance(purity)
    out = np.ones(ink.shape[:-1] + (3,), np.float32) * np.asarray(paper, np.float32)
    for c in range(3):
        out *= 1.0 - ink[..., c : c + 1] * (1.0 - trans[c])
    out *= 1.0 - ink[..., 3:4] * np.float32(1.0 - dmax_reflectance / max(paper))
    return np.maximum(out, np.float32(dmax_reflectance * 0.5))


def neugebauer_primaries(*, purity: float, dmax_reflectance: float, paper: tuple[float, float, float]) -> np.ndarray:
    """Reflectance of the 16 combinations of solid inks, ``[16, 3]``; row ``c + 2 m + 4 y + 8 k``."""
    bits = ((np.arange(16)[:, None] >> np.arange(4)[None, :]) & 1).astype(np.float32)
    return ink_reflectance(bits, purity=purity, dmax_reflectance=dmax_reflectance, paper=paper)


def halftone_reflectance(coverage: np.ndarray, thresholds: np.ndarray, primaries: np.ndarray) -> np.ndarray:
    """Print ``[h, w, 4]`` ink coverages through ``[h, w, 4]`` screens: each texel shows one Neugebauer primary.

    Returns:
        float32 ``[h, w, 3]`` reflectance.
    """
    bits = (coverage > thresholds).astype(np.uint8)
    index = cv2.transform(bits, np.array([[1.0, 2.0, 4.0, 8.0]], np.float32))
    return primaries[index.reshape(bits.shape[:2])]


def paper_texture(shape: tuple[int, int], *, texels_per_mm: float, amplitude: float, seed: int) -> np.ndarray:
    """Multiplicative paper structure: fibres and fill about 0.2 mm across, ``1 + amplitude * noise``.

    Returns:
        float32 ``[h, w]`` around 1.
    """
    if amplitude <= 0:
        return np.ones(shape, np.float32)
    rng = np.random.default_rng(seed)
    sigma = 0.1 * texels_per_mm  # fibre scale: ~0.1 mm blur of white noise
    step = max(1, int(sigma))  # draw the noise coarser when it would be blurred anyway (speed)
    small = rng.standard_normal((shape[0] // step + 2, shape[1] // step + 2), dtype=np.float32)
    if sigma / step > 0.3:
        small = cv2.GaussianBlur(small, (0, 0), sigma / step)
    small /= max(float(small.std()), 1e-6)
    noise = cv2.resize(small, (shape[1] // step * step + 2 * step, shape[0] // step * step + 2 * step))
    return (1.0 + np.float32(amplitude) * noise[: shape[0], : shape[1]]).astype(np.float32)
