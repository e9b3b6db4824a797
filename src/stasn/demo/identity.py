"""Who the demo's procedural people are: :class:`FaceIdentity`, its palettes, and :func:`sample_identity`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FaceIdentity", "HAIR_STYLES", "GLASSES_STYLES", "FACIAL_HAIR", "SKIN_TONES", "sample_identity"]

# Skin albedo anchors, sRGB 0-255, lightest to deepest. Chosen by eye to span human skin as webcams show it (roughly
# the span of the Monk Skin Tone scale); `FaceIdentity.skin_tone` interpolates between them.
SKIN_TONES = (
    (246, 212, 190),
    (236, 194, 166),
    (224, 178, 144),
    (208, 158, 120),
    (188, 137, 98),
    (163, 114, 80),
    (136, 91, 63),
    (108, 71, 49),
    (82, 55, 39),
    (60, 41, 31),
)
HAIR_STYLES = ("bald", "buzz", "short", "medium", "long", "curly")
GLASSES_STYLES = ("none", "round", "rect")
FACIAL_HAIR = ("none", "stubble", "beard")

_HAIR_COLOURS = {  # sRGB 0-255
    "black": (24, 20, 18),
    "dark-brown": (50, 34, 25),
    "brown": (88, 59, 40),
    "light-brown": (132, 96, 63),
    "dark-blonde": (168, 134, 90),
    "blonde": (208, 176, 122),
    "auburn": (122, 54, 32),
    "ginger": (172, 86, 42),
    "grey": (138, 134, 130),
    "white": (208, 204, 198),
}
_IRIS_COLOURS = {
    "dark-brown": (52, 30, 18),
    "brown": (96, 58, 30),
    "hazel": (118, 92, 48),
    "green": (82, 112, 68),
    "blue": (78, 118, 162),
    "grey": (118, 128, 138),
}
_FRAME_COLOURS = ((20, 20, 22), (70, 42, 28), (150, 150, 155), (176, 148, 90))  # black, brown, steel, gold
_RGB = tuple[float, float, float]
_PARTS = ("skin", "detail", "brow", "hair", "beard", "back_hair")  # identity-stable random streams
_HAIR_VOLUME = {"buzz": 0.02, "short": 0.12, "medium": 0.16, "long": 0.16, "curly": 0.42}  # x a x hair_volume


@dataclass(frozen=True)
class FaceIdentity:
    """What stays the same for one synthetic person across clips. Colours are sRGB in 0..1.

    Lengths are fractions of ``b`` (half face height, hairline to chin) or ``a`` (half face width), as marked.
    """

    # skin
    skin_tone: float  # 0 = lightest, 1 = deepest of SKIN_TONES
    skin_rgb: _RGB  # albedo after the undertone shift
    blush: float  # 0..1, redness of cheeks and nose
    freckles: float  # 0..1 density (0 for most people)
    # face shape
    face_width: float  # a / b
    jaw_squareness: float  # superellipse exponent of the lower face: 2 round .. 3 square
    chin_taper: float  # how much narrower the chin is than the cheeks, 0..0.35
    # eyes
    eye_y: float  # eye centre below the face centre, x b (negative = above)
    eye_spacing: float  # eye centre from the midline, x a
    eye_size: float  # eye half width, x a
    eye_open: float  # open aperture height / eye width
    eye_tilt: float  # radians, outer corner up
    iris_rgb: _RGB
    # brows
    brow_gap: float  # brow above the eye centre, x b
    brow_thickness: float  # x b
    brow_arch: float  # x b
    brow_rgb: _RGB
    # nose and mouth
    nose_length: float  # nose base below the eye line, x b
    nose_width: float  # half alar width, x a
    mouth_gap: float  # mouth below the nose base, x b
    mouth_width: float  # half mouth width, x a
    upper_lip: float  # x b
    lower_lip: float  # x b
    smile: float  # corner lift, x b
    lip_rgb: _RGB
    # hair
    hair_style: str  # one of HAIR_STYLES
    hair_rgb: _RGB
    hair_volume: float  # 0.5..1.5
    hairline: float  # hairline height above the face centre, x b
    fringe: bool
    facial_hair: str  # one of FACIAL_HAIR
    # glasses
    glasses: str  # one of GLASSES_STYLES
    glasses_rgb: _RGB
    texture_seed: int  # seeds identity-stable details: skin texture, moles, freckles, hair strands

    def __post_init__(self) -> None:
        for name, value, valid in (
            ("hair_style", self.hair_style, HAIR_STYLES),
            ("glasses", self.glasses, GLASSES_STYLES),
            ("facial_hair", self.facial_hair, FACIAL_HAIR),
        ):
            if value not in valid:
                raise ValueError(f"{name} must be one of {valid}, got {value!r}")
        if not 0.0 <= self.skin_tone <= 1.0:
            raise ValueError(f"skin_tone must be in [0, 1], got {self.skin_tone}")


# ----------------------------------------------------------------------------------------------------- identities


def _rgb(values) -> _RGB:
    return tuple(float(np.clip(v, 0.0, 1.0)) for v in values)  # type: ignore[return-value]


def _choice(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    p = np.array([weights[n] for n in names], dtype=float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _skin_albedo(tone: float, undertone: float) -> _RGB:
    """Interpolate SKIN_TONES at ``tone`` in [0, 1]; ``undertone`` -1 (pink) .. +1 (olive/golden) tilts the hue."""
    anchors = np.asarray(SKIN_TONES, dtype=float) / 255.0
    pos = tone * (len(anchors) - 1)
    i = min(int(pos), len(anchors) - 2)
    rgb = anchors[i] + (anchors[i + 1] - anchors[i]) * (pos - i)
    return _rgb(rgb * (1.0 + 0.04 * undertone * np.array([-0.5, 0.6, -0.2])))


def sample_identity(rng: np.random.Generator) -> FaceIdentity:
    """Draw a random synthetic person.

    Args:
        rng: source of every random draw; the same seeded generator gives the same person.

    Returns:
        A :class:`FaceIdentity`: skin tone uniform over ``SKIN_TONES``; hair, eye colour, glasses and facial hair drawn
        with fixed, roughly population-like weights (brown eyes and dark hair dominate, more so for deeper skin).
    """
    tone = float(rng.uniform(0.0, 1.0))
    deep = tone > 0.5
    hair_w = (
        {"black": 0.6, "dark-brown": 0.3, "brown": 0.03, "grey": 0.06, "white": 0.01}
        if deep
        else {"black": 0.2, "dark-brown": 0.24, "brown": 0.18, "light-brown": 0.1, "dark-blonde": 0.08}
        | {"blonde": 0.06, "auburn": 0.04, "ginger": 0.03, "grey": 0.05, "white": 0.02}
    )
    style_w = (
        {"bald": 0.05, "buzz": 0.2, "short": 0.25, "medium": 0.12, "long": 0.15, "curly": 0.23}
        if deep
        else {"bald": 0.06, "buzz": 0.08, "short": 0.32, "medium": 0.2, "long": 0.24, "curly": 0.1}
    )
    iris_w = (
        {"dark-brown": 0.7, "brown": 0.27, "hazel": 0.03}
        if tone > 0.4
        else {"dark-brown": 0.15, "brown": 0.35, "hazel": 0.13, "green": 0.1, "blue": 0.2, "grey": 0.07}
    )
    skin = _skin_albedo(tone, float(rng.uniform(-1.0, 1.0)))
    hair = np.asarray(_HAIR_COLOURS[_choice(rng, hair_w)]) / 255.0
    style = _choice(rng, style_w)
    lip = np.asarray(skin) * (0.9, 0.64, 0.66) + np.array([0.06, 0.0, 0.02]) * (1.0 - tone)
    return FaceIdentity(
        skin_tone=tone,
        skin_rgb=skin,
        blush=float(rng.uniform(0.0, 1.0) * (1.0 - 0.6 * tone)),
        freckles=float(rng.uniform(0.2, 1.0)) if tone < 0.35 and rng.random() < 0.2 else 0.0,
        face_width=float(rng.uniform(0.72, 0.84)),
        jaw_squareness=float(rng.uniform(2.0, 2.9)),
        chin_taper=float(rng.uniform(0.08, 0.3)),
        eye_y=float(rng.uniform(-0.1, -0.02)),
        eye_spacing=float(rng.uniform(0.39, 0.46)),
        eye_size=float(rng.uniform(0.18, 0.22)),
        eye_open=float(rng.uniform(0.32, 0.44)),
        eye_tilt=float(rng.uniform(-0.04, 0.12)),
        iris_rgb=_rgb(np.asarray(_IRIS_COLOURS[_choice(rng, iris_w)]) / 255.0),
        brow_gap=float(rng.uniform(0.19, 0.26)),
        brow_thickness=float(rng.uniform(0.04, 0.08)),
        brow_arch=float(rng.uniform(0.01, 0.06)),
        brow_rgb=_rgb(hair * 0.75 * min(1.0, 0.45 / (0.75 * hair.max()))),  # brows: darker than light hair, same hue
        nose_length=float(rng.uniform(0.4, 0.5)),
        nose_width=float(rng.uniform(0.21, 0.3)),
        mouth_gap=float(rng.uniform(0.2, 0.27)),
        mouth_width=float(rng.uniform(0.35, 0.46)),
        upper_lip=float(rng.uniform(0.035, 0.065)),
        lower_lip=float(rng.uniform(0.05, 0.095)),
        smile=float(rng.uniform(-0.01, 0.03)),
        lip_rgb=_rgb(lip),
        hair_style=style,
        hair_rgb=_rgb(hair),
        hair_volume=float(rng.uniform(0.5, 1.5)),
        hairline=float(rng.uniform(0.88, 1.0)),
        fringe=bool(style in ("short", "medium", "long") and rng.random() < 0.3),
        facial_hair=_choice(rng, {"none": 0.72, "stubble": 0.17, "beard": 0.11}),
        glasses=_choice(rng, {"none": 0.65, "round": 0.12, "rect": 0.23}),
        glasses_rgb=_rgb(np.asarray(_FRAME_COLOURS[int(rng.integers(len(_FRAME_COLOURS)))]) / 255.0),
        texture_seed=int(rng.integers(2**31)),
    )
