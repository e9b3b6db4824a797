"""Reflections on the glass of a screen (or the gloss of a print): the room behind the camera, mirrored.

The room is an *environment map* indexed by direction (angles of a ray leaving the medium towards the camera side,
``[-90, 90]`` degrees both ways; 0 = straight back at the camera). It holds a dim, blurry room, the attacker's dark
silhouette right behind the camera, and a few bright light sources (lamps, windows) that become specular highlights.
:func:`stasn.synth.geometry.surface_optics` says which direction each pixel mirrors, so when the device tilts by an
angle, its reflection sweeps by twice that angle: reflections move consistently within a clip.

Strength follows Fresnel's law (Schlick's approximation): about ``r0`` (4 % for glass) facing the camera, rising
towards grazing angles. Matte (anti-glare) surfaces scatter: the map is blurred by their roughness.
"""

from __future__ import annotations

import cv2
import numpy as np

from stasn.synth.geometry import SurfaceOptics

__all__ = ["environment_map", "fresnel", "reflection_layer", "ENV_FIELD_DEG"]

ENV_FIELD_DEG = 180.0  # the map spans [-90, 90] degrees in both directions


def environment_map(
    seed: int,
    *,
    size: int = 128,
    level: float,
    lights: int,
    light_level: float,
    light_size: float,
    roughness: float,
    silhouette: bool = True,
    glare: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """A random room, as linear light relative to the screen's white.

    Args:
        seed: seed of the room's layout (fixed per clip, so reflections are consistent).
        size: map side in pixels (``ENV_FIELD_DEG / size`` degrees per pixel).
        level: mean brightness of the room relative to the panel's white (0.05 dim office .. 1 bright day).
        lights: number of light sources (lamps, windows) in the map.
        light_level: brightness of the light sources relative to the panel's white (> 1 saturates the camera).
        light_size: typical angular size of a light source, degrees.
        roughness: angular blur of the surface (0 = mirror-like glass, 10+ = matte), degrees.
        silhouette: draw the attacker's dark body behind the camera.
        glare: one more light ``(x degrees, y degrees, level, size degrees)`` placed where the medium mirrors it
            into the camera (a visible specular highlight), or ``None``.

    Returns:
        float32 ``[size, size, 3]``, >= 0.
    """
    if size < 16 or level < 0 or lights < 0 or light_level < 0 or light_size <= 0 or roughness < 0:
        raise ValueError(
            f"environment_map: need size >= 16 and non-negative levels, got size={size}, level={level}, "
            f"lights={lights}, light_level={light_level}, light_size={light_size}, roughness={roughness}"
        )
    rng = np.random.default_rng(seed)
    deg_per_px = ENV_FIELD_DEG / size
    tone = rng.uniform(0.6, 1.4, 3) * np.array([1.05, 1.0, 0.9])  # rooms are warmer than D65
    coarse = rng.uniform(0.3, 1.7, (4, 4, 1)) * tone.reshape(1, 1, 3)
    room = cv2.resize(coarse.astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(2, 6))):  # furniture, doors, shelves: flat patches of other brightness
        x0, y0 = rng.integers(0, size, 2)
        w, h = rng.integers(size // 16, size // 3, 2)
        room[y0 : y0 + h, x0 : x0 + w] *= rng.uniform(0.3, 1.6)
    room = np.clip(room, 0.0, None) * level
    if silhouette:  # the attacker, behind the camera: a dark head and shoulders near the map's centre
        cx, cy = size / 2 + rng.normal(0, size / 20), size / 2 + rng.normal(0, size / 20)
        head = int(rng.uniform(10.0, 25.0) / deg_per_px)
        mask = np.zeros((size, size), np.float32)
        cv2.ellipse(mask, (int(cx), int(cy)), (head, int(head * 1.25)), 0, 0, 360, 1.0, -1)
        cv2.ellipse(mask, (int(cx), int(cy + 2.6 * head)), (int(2.6 * head), int(1.6 * head)), 0, 180, 360, 1.0, -1)
        room *= (1.0 - rng.uniform(0.5, 0.9) * mask)[..., None]
    spots = []
    for _ in range(lights):
        # A light seen at angle a lands at a on the map; most lights are above the camera (ceiling, windows).
        ax, ay = rng.normal(0.0, 35.0), rng.normal(-20.0, 30.0)
        spots.append((ax, ay, light_level * rng.uniform(0.3, 1.0), light_size * rng.uniform(0.5, 1.5)))
    if glare is not None:
        spots.append(glare)
    for ax, ay, brightness, extent in spots:
        radius = max(1.0, extent / deg_per_px)
        centre = (int((ax + 90.0) / deg_per_px), int((ay + 90.0) / deg_per_px))
        colour = brightness * rng.uniform(0.85, 1.15, 3)
        blob = np.zeros((size, size), np.float32)
        if rng.random() < 0.5:  # round lamp
            cv2.circle(blob, centre, int(radius), 1.0, -1)
        else:  # window or panel light: a tilted rectangle
            box = ((centre[0], centre[1]), (2 * radius, radius * rng.uniform(0.5, 3)), rng.uniform(0, 180))
            cv2.fillConvexPoly(blob, cv2.boxPoints(box).astype(np.int32), 1.0)
        room += blob[..., None] * colour.astype(np.float32)
    blur = max(roughness, 0.5) / deg_per_px  # even glass blurs a little: the camera focuses on the screen
    step = max(1, int(blur / 1.5))  # wide blurs are done on a smaller map (same result, far cheaper)
    if step > 1:
        small = cv2.resize(room, (size // step, size // step), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), blur / step, borderType=cv2.BORDER_REFLECT)
        room = cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR)
    else:
        room = cv2.GaussianBlur(room, (0, 0), blur, borderType=cv2.BORDER_REFLECT)
    return room.astype(np.float32)


def fresnel(cos_view: np.ndarray, r0: float) -> np.ndarray:
    """Schlick's approximation of the reflectance of a dielectric: ``r0 + (1 - r0) (1 - cos)^5``."""
    if not 0.0 <= r0 <= 1.0:
        raise ValueError(f"r0 must be in [0, 1], got {r0}")
    return (r0 + (1.0 - r0) * (1.0 - np.clip(cos_view, 0.0, 1.0)) ** 5).astype(np.float32)


def reflection_layer(env: np.ndarray, optics: SurfaceOptics, *, r0: float, strength: float = 1.0) -> np.ndarray:
    """Reflected light reaching each sensor pixel, ``[n, n, 3]`` float32 (linear, relative to panel white).

    Args:
        env: environment map from :func:`environment_map`.
        optics: from :func:`stasn.synth.geometry.surface_optics` for the same pose and crop.
        r0: reflectance at normal incidence (0.04 bare glass, 0.005-0.02 anti-reflective coating).
        strength: extra factor (e.g. a print's gloss).
    """
    size = env.shape[0]
    scale = size / ENV_FIELD_DEG
    map_x = ((optics.reflect_x + 90.0) * scale - 0.5).astype(np.float32)
    map_y = ((optics.reflect_y + 90.0) * scale - 0.5).astype(np.float32)
    seen = cv2.remap(env, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    weight = fresnel(optics.cos_view, r0) * np.float32(strength)
    return seen * weight[..., None]
