"""The display model: sub-pixel layouts, their optical prefilter, panel tone and gamut, backlight bleed, banding.

A panel pixel is not a uniform square: it is a few coloured emitters separated by a black matrix. We render one
period of that layout (one pixel for an RGB stripe, a 2 x 2 block for a PenTile diamond panel) at ``texels`` samples
per panel pixel, supersampled 4x inside each texel. The camera then integrates this pattern over each sensor pixel
(:func:`prefilter_tile` does the part of that integral that a sampled grid cannot resolve, analytically), which is
where moire comes from.

Units: emission is linear light relative to the panel's full white (1.0 = white at the panel's brightness).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from stasn.synth.capture import diffraction_transfer, disk_transfer
from stasn.synth.devices import LAYOUTS

__all__ = [
    "subpixel_tile",
    "tile_period",
    "prefilter_tile",
    "panel_lut",
    "gamut_matrix",
    "backlight_bleed",
    "refresh_banding",
]

_SUPERSAMPLE = 4  # coverage samples per texel side when rendering a tile


def tile_period(layout: str) -> int:
    """Panel pixels per period of the layout along each axis (1 for an RGB stripe, 2 for a PenTile diamond)."""
    if layout not in LAYOUTS:
        raise ValueError(f"Unknown sub-pixel layout {layout!r}. Valid values are {{{', '.join(LAYOUTS)}}}.")
    return 1 if layout == "rgb-stripe" else 2


def subpixel_tile(layout: str, *, texels: int = 12, fill: float = 0.75) -> np.ndarray:
    """One period of a panel's sub-pixel layout as an emission mask.

    Args:
        layout: ``"rgb-stripe"`` (LCD: three vertical R, G, B stripes per pixel) or ``"pentile-diamond"``
            (AMOLED: rows R G B G / B G R G, red and blue diamonds shared by two pixels, a small green per pixel).
        texels: samples per panel pixel along each axis.
        fill: lit fraction of each emitter's cell along its short axis (the rest is black matrix), in (0, 1].

    Returns:
        float32 array ``[P * texels, P * texels, 3]`` (P = :func:`tile_period`), RGB; each channel has mean 1, so a
        panel showing white emits 1 on average.
    """
    period = tile_period(layout)
    if texels < 4:
        raise ValueError(f"texels must be >= 4 to resolve sub-pixels, got {texels}")
    if not 0.0 < fill <= 1.0:
        raise ValueError(f"fill must be in (0, 1], got {fill}")
    n = period * texels * _SUPERSAMPLE
    centres = (np.arange(n, dtype=np.float64) + 0.5) / (texels * _SUPERSAMPLE)  # panel-pixel units
    x, y = np.meshgrid(centres, centres)
    tile = np.zeros((n, n, 3), np.float64)
    if layout == "rgb-stripe":
        frac = x % 1.0
        for c in range(3):  # stripe c occupies [c/3, (c+1)/3) of the pixel width, minus the black matrix
            centre = (c + 0.5) / 3.0
            tile[..., c] = (np.abs(frac - centre) <= fill / 6.0) & (np.abs(y % 1.0 - 0.5) <= 0.5 * (0.5 + 0.5 * fill))
    else:
        red = [(0.5, 0.5), (1.5, 1.5)]
        blue = [(1.5, 0.5), (0.5, 1.5)]
        green = [(0.0, 0.5), (1.0, 0.5), (0.0, 1.5), (1.0, 1.5), (2.0, 0.5), (2.0, 1.5)]
        half_diag = 0.5 * fill  # red/blue diamonds |dx| + |dy| <= half_diag
        for c, spots in ((0, red), (2, blue)):
            for cx, cy in spots:
                tile[..., c] += (np.abs(x - cx) + np.abs(y - cy)) <= half_diag
        green_r = 0.24 * fill
        for cx, cy in green:
            tile[..., 1] += ((x - cx) / green_r) ** 2 + ((y - cy) / (1.4 * green_r)) ** 2 <= 1.0
    tile = np.minimum(tile, 1.0).astype(np.float32)
    tile = cv2.resize(tile, (n // _SUPERSAMPLE, n // _SUPERSAMPLE), interpolation=cv2.INTER_AREA)
    return (tile / tile.reshape(-1, 3).mean(axis=0)).astype(np.float32)


def prefilter_tile(
    tile: np.ndarray,
    *,
    texels: int,
    panel_per_sensor: np.ndarray,
    box: float,
    lens_cutoff: float | None = None,
    defocus: float = 0.0,
    motion: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Convolve a periodic sub-pixel tile with the camera's footprint, exactly, in the Fourier domain.

    The camera integrates the panel's light over a sensor pixel (a box ``box`` sensor pixels wide), after the lens
    blurred it (diffraction cut off at ``lens_cutoff`` cycles per sensor pixel, a defocus disk ``defocus`` pixels
    across) and the hand moved
    it (a segment ``motion`` in sensor pixels). Mapped onto the panel by the local Jacobian, these filters have an
    exact transfer function at each of the tile's harmonics, so the tile keeps precisely the fine structure the
    sensor still sees: the part that aliases into moire when it is sampled.

    Args:
        tile: ``[h, w, 3]`` float32 from :func:`subpixel_tile`.
        texels: samples per panel pixel in ``tile``.
        panel_per_sensor: ``[2, 2]`` Jacobian d(panel px)/d(sensor px) at the screen centre (x, y order).
        box: side of the square integration footprint, sensor pixels (1 / supersampling factor).
        lens_cutoff: the lens's diffraction cutoff, cycles per sensor pixel (``None``: a perfect lens).
        defocus: diameter of the defocus disk, sensor pixels.
        motion: motion-blur segment (dx, dy), sensor pixels.

    Returns:
        float32 ``[h, w, 3]``, the filtered tile (the mean of each channel is unchanged).
    """
    h, w = tile.shape[:2]
    fy = np.fft.fftfreq(h, d=1.0 / texels)[:, None]  # cycles per panel pixel
    fx = np.fft.fftfreq(w, d=1.0 / texels)[None, :]
    jac = np.asarray(panel_per_sensor, np.float64)
    # A filter g(s) in sensor coordinates seen on the panel (x = J s) has transfer G(J^T f).
    sx = jac[0, 0] * fx + jac[1, 0] * fy  # cycles per sensor pixel
    sy = jac[0, 1] * fx + jac[1, 1] * fy
    transfer = np.sinc(box * sx) * np.sinc(box * sy)
    if lens_cutoff is not None:
        transfer = transfer * diffraction_transfer(np.hypot(sx, sy), lens_cutoff)
    if defocus > 0:
        transfer = transfer * disk_transfer(np.hypot(sx, sy), defocus)
    if motion[0] or motion[1]:
        transfer = transfer * np.sinc(motion[0] * sx + motion[1] * sy)
    spectrum = np.fft.fft2(tile.astype(np.float64), axes=(0, 1))
    return np.real(np.fft.ifft2(spectrum * transfer[..., None], axes=(0, 1))).astype(np.float32)


def panel_lut(*, gamma: float, black: float, white: float = 1.0) -> np.ndarray:
    """Lookup table from an 8-bit content value to the panel's linear emission.

    ``emission = black + (white - black) * (v / 255) ** gamma``: the panel's transfer curve (gamma ~2.2) and its
    contrast ratio ``white / black`` (LCD ~1000, OLED ~1e5).

    Returns:
        float32 ``[256, 1, 3]`` (the shape :func:`cv2.LUT` takes for a 3-channel image).
    """
    if gamma <= 0 or white <= 0 or not 0 <= black < white:
        raise ValueError(f"need gamma > 0 and 0 <= black < white, got gamma={gamma}, black={black}, white={white}")
    ramp = black + (white - black) * (np.arange(256, dtype=np.float64) / 255.0) ** gamma
    return np.repeat(ramp.astype(np.float32).reshape(256, 1, 1), 3, axis=2)


def gamut_matrix(*, saturation: float, temperature: float) -> np.ndarray:
    """3 x 3 matrix (linear RGB) for a panel whose primaries and white point differ from sRGB.

    Args:
        saturation: > 1 for wide-gamut panels (colours more saturated), < 1 for narrow ones; 1 = sRGB.
        temperature: white-point tint, about -1 (warm, ~5000 K) to +1 (cool, ~9000 K); 0 = D65.

    Returns:
        float32 ``[3, 3]``; ``out = M @ rgb``. Greys keep their luminance except for the tint.
    """
    luma = np.array([0.2126, 0.7152, 0.0722])
    mix = saturation * np.eye(3) + (1.0 - saturation) * np.outer(np.ones(3), luma)
    tint = np.array([1.0 - 0.12 * temperature, 1.0, 1.0 + 0.12 * temperature])
    tint = tint / (luma @ tint)
    return (np.diag(tint) @ mix).astype(np.float32)


def backlight_bleed(
    xs: np.ndarray,
    ys: np.ndarray,
    *,
    screen: tuple[float, float, float, float],
    strength: float,
    width: float,
    seed: int,
) -> np.ndarray:
    """LCD backlight bleed: light leaking at the panel edges plus cloudy patches, added to the emission.

    Args:
        xs, ys: coordinates (any units, same as ``screen``) where to evaluate, broadcastable arrays.
        screen: active area ``(left, top, right, bottom)``.
        strength: bleed at the very edge, relative to full white (a few percent on real LCDs).
        width: decay length of the edge glow as a fraction of the screen's short side.
        seed: seed of the cloud pattern (fixed per device, so it does not move within a clip).

    Returns:
        float32 array of the broadcast shape, >= 0.
    """
    left, top, right, bottom = screen
    short = min(right - left, bottom - top)
    dist = np.minimum(np.minimum(xs - left, right - xs), np.minimum(ys - top, bottom - ys)) / short
    glow = np.exp(-np.clip(dist, 0.0, None) / max(width, 1e-3))
    # Clouding: a coarse random field over the screen, interpolated (cv2.remap keeps this a single fast call).
    rng = np.random.default_rng(seed)
    grid = rng.random((6, 6)).astype(np.float32)
    u = np.clip((xs - left) / (right - left), 0, 1) * 5.0
    v = np.clip((ys - top) / (bottom - top), 0, 1) * 5.0
    u, v = np.broadcast_arrays(u, v)
    cloud = cv2.remap(grid, u.astype(np.float32), v.astype(np.float32), cv2.INTER_LINEAR, cv2.BORDER_REPLICATE)
    return (strength * (0.7 * glow + 0.3 * glow * cloud + 0.15 * cloud)).astype(np.float32)


def refresh_banding(rows: int, *, amplitude: float, period: float, phase: float) -> np.ndarray:
    """Rolling-shutter banding of a flickering (PWM-dimmed or refreshing) panel: one gain per sensor row.

    Args:
        rows: number of sensor rows.
        amplitude: depth of the dark bands in [0, 1).
        period: band period, sensor rows.
        phase: band position, radians (advances from frame to frame when the rates differ).

    Returns:
        float32 ``[rows, 1, 1]`` gains in ``[1 - amplitude, 1]``.
    """
    if not 0.0 <= amplitude < 1.0 or period <= 0:
        raise ValueError(f"need 0 <= amplitude < 1 and period > 0, got amplitude={amplitude}, period={period}")
    y = np.arange(rows, dtype=np.float64)
    gain = 1.0 - amplitude * 0.5 * (1.0 + np.sin(2.0 * math.pi * y / period + phase))
    return gain.astype(np.float32).reshape(rows, 1, 1)
