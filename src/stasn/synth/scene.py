"""Things around the attack medium: the device body (bezel), the paper's edge, the hand holding it.

Shapes are signed-distance functions evaluated at the medium coordinates every sensor pixel sees, turned into
anti-aliased coverage (1 inside, 0 outside, a ramp one sensor pixel wide at the edge). They are drawn in medium
coordinates, so they move with the device.

Replays and prints share the hand and the background: :func:`sample_skin` and :func:`sample_surroundings` draw their
parameters, :func:`composite_hand` paints the hand. What differs between the two media is passed in by the caller,
with the reason written there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stasn.synth._sampling import log_uniform, new_seed, uniform
from stasn.synth.devices import BEZEL_COLOURS

__all__ = [
    "SKIN_TONES",
    "HAND_SIDES",
    "srgb_to_linear",
    "rounded_rect_coverage",
    "hand_coverage",
    "thumb_reach",
    "composite_hand",
    "sample_skin",
    "sample_surroundings",
    "bezel_colour",
]

# sRGB skin tones from light to dark (a spread of the Fitzpatrick scale).
SKIN_TONES: tuple[tuple[int, int, int], ...] = (
    (250, 222, 196),
    (238, 193, 165),
    (222, 170, 136),
    (196, 136, 100),
    (158, 104, 70),
    (110, 72, 48),
)
HAND_SIDES = ("left", "right", "bottom")


def srgb_to_linear(rgb: tuple[float, float, float]) -> np.ndarray:
    """sRGB 0-255 colour to linear light 0-1 (float32 ``[3]``)."""
    c = np.asarray(rgb, np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def bezel_colour(name: str) -> np.ndarray:
    """Linear reflectance of a device body colour (float32 ``[3]``)."""
    if name not in BEZEL_COLOURS:
        raise ValueError(f"Unknown bezel colour {name!r}. Valid values are {{{', '.join(BEZEL_COLOURS)}}}.")
    return srgb_to_linear(BEZEL_COLOURS[name])


def rounded_rect_coverage(
    xs: np.ndarray, ys: np.ndarray, rect: tuple[float, float, float, float], radius: float, pixel: float
) -> np.ndarray:
    """Coverage of a rounded rectangle ``(left, top, right, bottom)`` with corner ``radius``.

    Args:
        xs, ys: medium coordinates of the sensor pixels, ``[n, n]``.
        pixel: size of one sensor pixel in medium units (the width of the anti-aliasing ramp).

    Returns:
        float32 ``[n, n]`` in [0, 1].
    """
    left, top, right, bottom = rect
    radius = float(np.clip(radius, 0.0, 0.5 * min(right - left, bottom - top)))
    cx, cy = (left + right) / 2.0, (top + bottom) / 2.0
    qx = np.abs(xs - cx) - ((right - left) / 2.0 - radius)
    qy = np.abs(ys - cy) - ((bottom - top) / 2.0 - radius)
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    inside = np.minimum(np.maximum(qx, qy), 0.0)
    sdf = outside + inside - radius
    return np.clip(0.5 - sdf / max(pixel, 1e-9), 0.0, 1.0).astype(np.float32)


def _capsule_sdf(xs: np.ndarray, ys: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float) -> np.ndarray:
    ab = b - a
    t = np.clip(((xs - a[0]) * ab[0] + (ys - a[1]) * ab[1]) / float(ab @ ab), 0.0, 1.0)
    return np.hypot(xs - (a[0] + t * ab[0]), ys - (a[1] + t * ab[1])) - radius


def hand_coverage(
    xs: np.ndarray,
    ys: np.ndarray,
    *,
    body: tuple[float, float, float, float],
    side: str,
    along: float,
    size: float,
    reach: float,
    pixel: float,
) -> tuple[np.ndarray, np.ndarray]:
    """A hand holding the device (or print) by one edge: a palm beyond the edge and a thumb over the border.

    Args:
        xs, ys: medium coordinates of the sensor pixels, ``[n, n]``.
        body: the held object's outline ``(left, top, right, bottom)``.
        side: which edge is held: ``"left"``, ``"right"`` or ``"bottom"``.
        along: where along that edge, -0.5 .. 0.5 of its length.
        size: thumb width in medium units (palm and reach scale with it).
        reach: how far the thumb tip goes past the edge onto the object, medium units.
        pixel: size of one sensor pixel in medium units.

    Returns:
        ``(coverage, shading)``: float32 ``[n, n]`` each; shading is a soft light falloff across the hand.
    """
    if side not in HAND_SIDES:
        raise ValueError(f"Unknown hand side {side!r}. Valid values are {{{', '.join(HAND_SIDES)}}}.")
    left, top, right, bottom = body
    # Work in a frame where the held edge is vertical at u = 0 and the object lies at u > 0.
    if side == "left":
        u, v, mid = xs - left, ys, (top + bottom) / 2 + along * (bottom - top)
    elif side == "right":
        u, v, mid = right - xs, ys, (top + bottom) / 2 + along * (bottom - top)
    else:
        u, v, mid = bottom - ys, xs, (left + right) / 2 + along * (right - left)
    tip = np.array([reach, mid - 0.6 * size])
    base = np.array([-1.6 * size, mid + 1.2 * size])
    thumb = _capsule_sdf(u, v, base, tip, 0.5 * size)
    palm = (np.hypot((u + 2.6 * size) / (2.4 * size), (v - mid - 1.8 * size) / (3.6 * size)) - 1.0) * 2.4 * size
    sdf = np.minimum(thumb, palm)
    coverage = np.clip(0.5 - sdf / max(pixel, 1e-9), 0.0, 1.0).astype(np.float32)
    shading = (0.75 + 0.25 * np.tanh(-(sdf + 0.25 * size) / (0.5 * size))).astype(np.float32)  # darker at edges
    return coverage, shading


def thumb_reach(
    *,
    body: tuple[float, float, float, float],
    face: tuple[float, float, float, float],
    side: str,
    size: float,
    wanted: float,
) -> float:
    """How far the thumb tip may go past the held edge: ``wanted``, but never onto the face box.

    Attackers hold the medium so that the face stays visible; the thumb (``size`` wide) stops a little short of the
    face box ``(left, top, right, bottom)``.
    """
    if side not in HAND_SIDES:
        raise ValueError(f"Unknown hand side {side!r}. Valid values are {{{', '.join(HAND_SIDES)}}}.")
    gap = {"left": face[0] - body[0], "right": body[2] - face[2], "bottom": body[3] - face[3]}[side]
    return min(wanted, gap - 0.6 * size)


def composite_hand(
    image: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    *,
    body: tuple[float, float, float, float],
    face: tuple[float, float, float, float],
    side: str,
    along: float,
    size: float,
    wanted_reach: float,
    pixel: float,
    skin: tuple[int, int, int],
    skin_gain: float,
    light: np.ndarray | None = None,
) -> np.ndarray:
    """Paint the hand that holds the medium by one edge over the scene.

    The hand is :func:`hand_coverage`'s palm and thumb; the thumb reaches ``wanted_reach`` past the held edge, but
    stops short of the face box (:func:`thumb_reach`). Its light is the skin colour (linear) times ``skin_gain`` times
    the hand's own shading, times ``light`` when given.

    Args:
        image: the scene's linear light, float32 ``[n, n, 3]``.
        xs, ys: medium coordinates of the sensor pixels, ``[n, n]``.
        body: the held object's outline ``(left, top, right, bottom)``, medium units.
        face: the face box on the medium ``(left, top, right, bottom)``, medium units.
        side, along, size: as :func:`hand_coverage` (``size`` is the thumb width, medium units).
        wanted_reach: how far the thumb would go past the edge, medium units.
        pixel: size of one sensor pixel in medium units.
        skin: sRGB 0-255 skin colour.
        skin_gain: light falling on the hand, relative to the scene's white.
        light: float32 ``[n, n, 1]`` that lights the hand like the medium (prints), or ``None``.

    Returns:
        float32 ``[n, n, 3]``: ``image`` where the hand is not, the hand where it is (anti-aliased edge).
    """
    reach = thumb_reach(body=body, face=face, side=side, size=size, wanted=wanted_reach)
    cover, shade = hand_coverage(xs, ys, body=body, side=side, along=along, size=size, reach=reach, pixel=pixel)
    hand = (shade[..., None] * (srgb_to_linear(skin) * np.float32(skin_gain))) * cover[..., None]
    if light is not None:
        hand = hand * light
    return image * (1.0 - cover[..., None]) + hand


def sample_skin(rng: np.random.Generator) -> tuple[int, int, int]:
    """A skin colour for the hand: one of :data:`SKIN_TONES`, each channel scaled by 0.9-1.1 (sRGB 0-255).

    Each synthesizer draws it right after deciding whether a hand holds the medium, even when none does, so the draws
    after it do not depend on that decision; keep it there: the order of draws is part of what a seed makes.
    """
    skin = np.asarray(SKIN_TONES[int(rng.integers(len(SKIN_TONES)))]) * rng.uniform(0.9, 1.1, 3)
    red, green, blue = (int(v) for v in np.clip(skin, 0, 255))
    return red, green, blue


def sample_surroundings(
    rng: np.random.Generator, *, held: bool, reach_mm: tuple[float, float], skin: tuple[int, int, int]
) -> dict[str, Any]:
    """The parameters replays and prints share for what is around the medium: the hand holding it (when ``held``)
    and the scene behind it. Returned as keyword arguments of ``ReplayParams`` / ``PrintParams``; drawn in this
    order (part of what a seed makes), whether or not a hand holds the medium.

    Args:
        held: a hand holds the medium (otherwise ``hand="none"``; the other hand values are drawn all the same).
        reach_mm: range of the thumb's reach past the held edge, mm (the media measure it from different edges).
        skin: the hand's colour, from :func:`sample_skin`.
    """
    return {
        "hand": str(rng.choice(HAND_SIDES)) if held else "none",
        "hand_along": uniform(rng, (-0.35, 0.35)),  # where along the edge, share of its length
        "hand_mm": uniform(rng, (16.0, 24.0)),  # thumb width of an adult
        "hand_reach_mm": uniform(rng, reach_mm),
        "skin": skin,
        "background_seed": new_seed(rng),
        "background_level": log_uniform(rng, (0.3, 3.0)),  # behind the medium, relative to the room's brightness
    }
