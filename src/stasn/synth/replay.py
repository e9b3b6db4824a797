"""Screen-replay attacks synthesized from live faces: a display shows the face and a camera films the display.

Model, in the order light travels (``docs/synthesis.md`` has the details and the ranges):

1. **Display.** The face image (optionally JPEG-compressed, as a replayed video is) is resampled to the panel's
   resolution, passed through the panel's transfer curve, contrast ratio, gamut and white point, plus LCD
   backlight bleed. Each panel pixel emits through its sub-pixel layout (RGB stripe or PenTile diamond), rendered
   at ``texels`` samples per panel pixel.
2. **Geometry.** A phone, tablet or monitor (bezel, corner radius) is posed in 3D; the face is shown large or small
   on it; the output is framed like a detector's face crop, so bezel, background and a holding hand are sometimes
   inside it and sometimes cropped away.
3. **Re-capture.** Each sensor pixel integrates the panel's light over its footprint (``supersample`` points per
   side, plus an exact Fourier prefilter of the sub-pixel pattern for the part below that spacing), after the lens
   (diffraction-limited), defocus (a disk, whose side lobes let some moire through) and motion blur. Sampling the
   sub-pixel grid this way is what makes moire. Then RGGB Bayer mosaic, shot/read noise, demosaic, white balance,
   tone curve and JPEG or H.264 (:mod:`stasn.synth.recapture`).
4. **Reflections** of the room (Fresnel-weighted, with specular highlights of lamps and windows) add to the light
   leaving the glass.

Clips use one device, one pose and one room for the whole clip; the pose jitters by a bounded amount per frame and
the reflections move with it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from stasn.data.video import jpeg_roundtrip
from stasn.labels import AttackType
from stasn.synth import display
from stasn.synth._records import from_record, to_record
from stasn.synth._sampling import (
    chance,
    check_probability,
    check_range,
    check_weights,
    log_uniform,
    new_seed,
    pick,
    uniform,
)
from stasn.synth.capture import balance_toward, blur_linear, denoise, limit_resolution, unsharp
from stasn.synth.devices import BEZEL_COLOURS, DEVICES, LAYOUTS
from stasn.synth.geometry import (
    Pose,
    jacobian,
    plane_homography,
    plane_maps,
    project,
    sensor_homography,
    surface_optics,
)
from stasn.synth.medium import (
    MediumLayout,
    as_clip,
    content_texture,
    frame_crop,
    image_size,
    max_face_scale,
    medium_layout,
    rect_corners,
)
from stasn.synth.recapture import (
    CaptureParams,
    CaptureRanges,
    ReflectionParams,
    ReflectionRanges,
    ViewParams,
    ViewRanges,
    background_layer,
    capture_clip,
)
from stasn.synth.reflection import reflection_layer
from stasn.synth.scene import (
    HAND_SIDES,
    SKIN_TONES,
    bezel_colour,
    composite_hand,
    rounded_rect_coverage,
    sample_skin,
    sample_surroundings,
)

__all__ = [
    "ReplayRanges",
    "ReplayParams",
    "ReplaySynthesizer",
    "FrameGeometry",
    "sample_panel",
    "sample_recording_camera",
]

_TEXELS = 12  # samples per panel pixel in the sub-pixel tile
_TEXTURE_MARGIN = 1.5  # panel texture resolution, relative to the supersampled sensor's sample spacing


@dataclass(frozen=True)
class ReplayRanges:
    """Ranges the replay parameters are drawn from. ``(low, high)`` tuples; dicts are ``{choice: weight}``.

    All defaults are ours (not from the STASN paper); see ``docs/synthesis.md`` for the reasoning.
    """

    devices: dict[str, float] = field(default_factory=lambda: {"phone": 0.6, "tablet": 0.2, "monitor": 0.2})
    # Face-image width / screen width, log-uniform (1 = fills it). Attackers show the face well inside the screen: not
    # one of 96 real replay crops of the 16 projects (drawn at random) shows the screen's edge, where 0.2-1.0 put it
    # in 11 % of the synthesized ones (30-37 % of those above 0.6), the fine-tuned two-sample test's surest giveaway
    # (issue 16, v9).
    face_scale: tuple[float, float] = (0.2, 0.6)
    face_fraction: float = 1 / 1.3  # share of the input that is the face: 1 / CacheInfo.crop_scale
    panel_gamma: tuple[float, float] = (1.8, 2.6)
    lcd_contrast: tuple[float, float] = (300.0, 2000.0)  # white / black of LCDs; OLED black is ~0
    brightness: tuple[float, float] = (0.5, 1.5)  # panel white relative to nominal: sets the room/screen ratio
    gamut_saturation: tuple[float, float] = (0.85, 1.35)  # < 1 narrow gamut, > 1 wide gamut
    # warm (-1) .. cool (+1); screens are mostly cool, and a camera white-balanced for the room sees them bluer
    # (real replay crops: blue / green 0.85 / 1.03 / 1.16, 10th / 50th / 90th percentiles, vs 0.71 / 0.94 / 1.17
    # synthesized with (-0.6, 1.0), 0.82 / 0.98 / 1.10 with (-0.3, 1.5): issue 16 v7 moved it to (0.2, 1.8))
    white_point: tuple[float, float] = (0.2, 1.8)
    subpixel_fill: tuple[float, float] = (0.55, 0.9)  # lit share of each emitter cell (rest: black matrix)
    bleed_strength: tuple[float, float] = (0.0, 0.04)  # LCD edge bleed relative to white
    bleed_width: tuple[float, float] = (0.03, 0.25)  # decay length, fraction of the screen's short side
    # Rolling-shutter flicker bands: a PWM-dimmed panel filmed by a rolling shutter. None were seen in the real
    # replays of the 16 projects (per-project sheets of benchmarks/synth_realism.py), and the synthesized replays the
    # two-sample test was surest of carried strong bands (issue 16, v5): rare and faint here (were 0.25, 0.03-0.3).
    banding_probability: float = 0.05
    banding_amplitude: tuple[float, float] = (0.03, 0.15)
    banding_period: tuple[float, float] = (6.0, 60.0)  # sensor rows
    banding_drift: tuple[float, float] = (-1.5, 1.5)  # band phase change per frame, radians
    content_jpeg: tuple[float, float] = (40.0, 100.0)  # quality of the replayed media; 100 = not compressed
    # The replayed media is a recording: the recording camera's denoiser and video codec have smoothed away the fine
    # sensor noise a live frame has (real replay crops are less noisy than the same projects' live crops: fine noise
    # 0.37 / 0.66 / 1.27 vs 0.55 / 0.90 / 1.56, 10th / 50th / 90th percentiles). Edge-preserving (bilateral) filter
    # strength: its colour sigma in 8-bit levels, 0 = the live frame as it is.
    content_denoise: tuple[float, float] = (5.0, 30.0)
    # The replayed recording was made by another camera, often in another room: its white balance rendered the face
    # its own way, so a real replay need not keep the live camera's colour cast (per project, the real replay crops'
    # red / green hardly follows the live crops': 1.75 -> 1.39, 1.80 -> 1.40, 1.30 -> 1.08, 1.34 -> 1.54, where the
    # synthesized keep 1.65, 1.65, 1.19, 1.29). With ``content_balance`` > 0 the content's face colour moves by that
    # much (0: the live colour, 1: the drawn one; log space) towards a face red / green and blue / green drawn from
    # the two ranges below (around the live crops' medians, 1.28 and 0.97, without their strongly cast tail). Off by
    # default: at 0.5-1 it did not make the replays harder to tell from real ones (fine-tuned two-sample test 0.861
    # and 0.840 in two seeds vs 0.836-0.839 without, issue 16 v11a). The ranges are ours.
    content_balance: tuple[float, float] = (0.0, 0.0)
    content_red_green: tuple[float, float] = (1.1, 1.45)
    content_blue_green: tuple[float, float] = (0.85, 1.05)
    # The recording's own resolution and sharpening: a real replay's sharpness does not follow the live crops' of its
    # project either (one project's 1.57 against 2.58 live, another's 2.53 against 2.40; the synthesized keep the
    # live one). ``content_face_px``: the face's width in the recording's pixels, log-uniform (the content is shown
    # at that resolution when it is finer; None: the live image's resolution as it is); ``content_sharpen``: the
    # recording camera's unsharp-mask amount at one recording pixel. Off by default: 30-300 px with 0-1.5 made the
    # replays easier to tell from real ones (fine-tuned test 0.891, one seed, vs 0.836-0.839; issue 16 v11b). Ours.
    content_face_px: tuple[float, float] | None = None
    content_sharpen: tuple[float, float] = (0.0, 0.0)
    hand_probability: float = 0.5  # phones and tablets only; visible only when the edge is in the crop
    # The camera meters its whole frame, not our face crop: the screen (the crop's centre) gets this share of the
    # meter's weight, the room around the device the rest (at the background's level). A screen is brighter than a
    # room, so a small share over-exposes the screen: real replays are brighter than live faces (face-centre grey
    # 94 / 146 / 202 vs 65 / 102 / 157, 10th / 50th / 90th percentiles; docs/synthesis.md). 1 = metered on the crop
    # alone (no over-exposure; the default before issue 16's v5).
    meter_share: tuple[float, float] = (0.1, 0.6)
    # An attacker holds the screen level with the camera: screen roll +-3 degrees (ViewRanges' +-8 tilted the
    # replayed recording, surround and all, in the crop; |roll| was the drawn parameter that most gave a synthesized
    # replay away, issue 16 v7). Yaw and pitch keep +-15: narrowing them made the replays easier to tell apart.
    view: ViewRanges = field(default_factory=lambda: ViewRanges(roll=(-3.0, 3.0)))
    # The room is dimmer than the screen filmed in it: room surfaces under 100-500 lux reflect some 10-80 cd/m2,
    # a phone or monitor's white is 200-600 cd/m2, so 0.02-0.2 of the panel's white (ReflectionRanges' 0.5, and a
    # background up to 3x the room, made the meter under-expose a fifth of the screens: darker than any real replay).
    reflection: ReflectionRanges = field(default_factory=lambda: ReflectionRanges(room_level=(0.02, 0.2)))
    # The camera of CaptureRanges, exposed and amplified for a bright screen: a screen is filmed at low gain, so
    # its capture is less noisy than a face in room light (real replay crops' fine noise 0.37 / 0.66 / 1.27 vs
    # 0.55 / 0.90 / 1.56 for the same projects' live crops), and the exposure target sits near mid-grey (0.07, the
    # CaptureRanges floor, left a dark tail no real replay has); the ISP's noise reduction smooths what noise and
    # faint moire are left before it sharpens (bilateral colour sigma 3-15 levels: the synthesized replays' fine
    # texture was what a classifier still told from the real ones', issue 16 v6). A replay attack is usually
    # recorded as a video (the projects' attack crops are mostly frames cut from recorded videos), so H.264 is the more
    # common codec (0.6; CaptureRanges: JPEG 0.7); and the ISPs of phones and webcams do not desaturate: camera
    # saturation 0.8-1.3 (CaptureRanges' 0.6 left a washed-out tail no real replay has; issue 16 v7). The camera's
    # resolution follows the image it ends up as: 0.5-0.85 camera pixels per output pixel (an attack image is the
    # camera's own pixels, slightly enlarged by a crop pipeline; the absolute 100-300 px upsampled the synthesized
    # replays of larger images 1.8x on the median and took their finest texture, which a classifier saw first:
    # issue 16 v8). The ISP's chroma noise reduction smooths the colour of what moire is left (0.5-3 sensor px):
    # strong colourful moire was what the fine-tuned two-sample test was surest of (issue 16 v10).
    capture: CaptureRanges = field(
        default_factory=lambda: CaptureRanges(
            sensor_scale=(0.5, 0.85),
            exposure=(0.12, 0.3),
            shot_noise=(2.5e-5, 5e-4),
            read_noise=(3e-4, 2.5e-3),
            isp_denoise=(3.0, 15.0),
            codec={"jpeg": 0.4, "h264": 0.6},
            camera_saturation=(0.8, 1.3),
            chroma_denoise=(0.5, 3.0),
        )
    )

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_weights(owner, "devices", self.devices, tuple(DEVICES))
        limits = {
            "face_scale": (0.05, 1.0 / self.face_fraction if self.face_fraction > 0 else 1.0),
            "panel_gamma": (0.5, 4.0),
            "lcd_contrast": (10.0, 1e6),
            "brightness": (0.01, 100.0),
            "gamut_saturation": (0.0, 3.0),
            "white_point": (-2.0, 2.0),
            "subpixel_fill": (0.05, 1.0),
            "bleed_strength": (0.0, 1.0),
            "bleed_width": (0.001, 2.0),
            "banding_amplitude": (0.0, 0.99),
            "banding_period": (1.0, 10000.0),
            "banding_drift": (-10.0, 10.0),
            "content_jpeg": (1.0, 100.0),
            "content_denoise": (0.0, 100.0),
            "content_balance": (0.0, 1.0),
            "content_red_green": (0.2, 5.0),
            "content_blue_green": (0.2, 5.0),
            "content_sharpen": (0.0, 5.0),
        }
        if not 0.1 <= self.face_fraction <= 1.0:
            raise ValueError(f"{owner}.face_fraction: expected a value in [0.1, 1], got {self.face_fraction!r}")
        for name, (low, high) in limits.items():
            check_range(owner, name, getattr(self, name), low=low, high=high)
        check_range(owner, "meter_share", self.meter_share, low=0.01, high=1.0)
        if self.content_face_px is not None:
            check_range(owner, "content_face_px", self.content_face_px, low=8.0, high=10000.0)
        for name in ("banding_probability", "hand_probability"):
            check_probability(owner, name, getattr(self, name))


@dataclass(frozen=True)
class ReplayParams:
    """Everything one synthesized replay (image or clip) was made with. Defaults: a frontal phone, no effects."""

    device: str = "phone"
    layout: str = "rgb-stripe"
    oled: bool = False
    screen_mm: tuple[float, float] = (68.0, 150.0)  # active area width, height as held
    ppi: float = 400.0
    bezel_mm: tuple[float, float, float, float] = (2.0, 6.0, 2.0, 6.0)  # left, top, right, bottom
    body_corner_mm: float = 8.0
    screen_corner_mm: float = 4.0
    bezel_colour: str = "black"
    face_scale: float = 0.8  # face-image width / screen width
    face_fraction: float = 1 / 1.3  # share of the input that is the face (kept inside the screen)
    screen_offset: tuple[float, float] = (0.0, 0.0)  # screen centre vs face, fraction of the allowed slack
    panel_gamma: float = 2.2
    contrast: float = 1000.0  # white / black
    brightness: float = 1.0
    gamut_saturation: float = 1.0
    white_point: float = 0.0
    subpixel_fill: float = 0.75
    bleed_strength: float = 0.0
    bleed_width: float = 0.1
    bleed_seed: int = 0
    banding_amplitude: float = 0.0
    banding_period: float = 20.0
    banding_phase: float = 0.0
    banding_drift: float = 0.0
    content_jpeg: int = 100
    content_denoise: float = 0.0  # bilateral colour sigma (8-bit levels) of the replayed media; 0 = none
    # The recording camera's white balance of the face (ReplayRanges.content_balance); 0 = the live colour as it is.
    content_balance: float = 0.0
    content_red_green: float = 1.28
    content_blue_green: float = 0.97
    # The recording's face width in its pixels (0 = the live image's resolution) and its sharpening (unsharp amount).
    content_face_px: float = 0.0
    content_sharpen: float = 0.0
    hand: str = "none"  # "none", "left", "right", "bottom"
    hand_along: float = 0.0
    hand_mm: float = 20.0  # thumb width
    hand_reach_mm: float = 6.0  # thumb tip past the body edge
    skin: tuple[int, int, int] = SKIN_TONES[2]
    background_seed: int = 0
    background_level: float = 1.0  # scene behind the device relative to the room's brightness
    meter_share: float = 1.0  # the screen's share of the camera's exposure metering (the rest: the room)
    view: ViewParams = field(default_factory=ViewParams)
    reflection: ReflectionParams = field(default_factory=ReflectionParams)
    capture: CaptureParams = field(default_factory=CaptureParams)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        checks = [
            (self.device in DEVICES, f"device {self.device!r} unknown; valid: {sorted(DEVICES)}"),
            (self.layout in LAYOUTS, f"layout {self.layout!r} unknown; valid: {list(LAYOUTS)}"),
            (self.bezel_colour in BEZEL_COLOURS, f"bezel_colour {self.bezel_colour!r} unknown"),
            (self.hand in ("none", *HAND_SIDES), f"hand {self.hand!r} unknown; valid: none, {', '.join(HAND_SIDES)}"),
            (min(self.screen_mm) > 0, f"screen_mm must be positive, got {self.screen_mm}"),
            (self.ppi > 0, f"ppi must be > 0, got {self.ppi}"),
            (min(self.bezel_mm) >= 0, f"bezel_mm must be >= 0, got {self.bezel_mm}"),
            (0 < self.face_fraction <= 1, f"face_fraction must be in (0, 1], got {self.face_fraction}"),
            (
                0 < self.face_scale <= max_face_scale(self.screen_mm, self.face_fraction),
                f"face_scale={self.face_scale} puts the face (face_fraction={self.face_fraction:.3g}) outside a "
                f"{self.screen_mm[0]:g} x {self.screen_mm[1]:g} mm screen; need face_scale <= "
                f"{max_face_scale(self.screen_mm, self.face_fraction):.3g}",
            ),
            (
                max(abs(v) for v in self.screen_offset) <= 1,
                f"screen_offset must be in [-1, 1], got {self.screen_offset}",
            ),
            (self.panel_gamma > 0, f"panel_gamma must be > 0, got {self.panel_gamma}"),
            (self.contrast > 1, f"contrast must be > 1, got {self.contrast}"),
            (self.brightness > 0, f"brightness must be > 0, got {self.brightness}"),
            (0 < self.subpixel_fill <= 1, f"subpixel_fill must be in (0, 1], got {self.subpixel_fill}"),
            (0 <= self.banding_amplitude < 1, f"banding_amplitude must be in [0, 1), got {self.banding_amplitude}"),
            (self.banding_period > 0, f"banding_period must be > 0, got {self.banding_period}"),
            (1 <= self.content_jpeg <= 100, f"content_jpeg must be in [1, 100], got {self.content_jpeg}"),
            (0 <= self.content_denoise <= 100, f"content_denoise must be in [0, 100], got {self.content_denoise}"),
            (0 <= self.content_balance <= 1, f"content_balance must be in [0, 1], got {self.content_balance}"),
            (self.content_face_px >= 0, f"content_face_px must be >= 0, got {self.content_face_px}"),
            (0 <= self.content_sharpen <= 5, f"content_sharpen must be in [0, 5], got {self.content_sharpen}"),
            (
                self.content_red_green > 0 and self.content_blue_green > 0,
                f"content_red_green and content_blue_green must be > 0, got {self.content_red_green}, "
                f"{self.content_blue_green}",
            ),
            (0 < self.meter_share <= 1, f"meter_share must be in (0, 1], got {self.meter_share}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"{owner}.{message}")

    def to_dict(self) -> dict:
        """JSON-safe record (what ``stasn synth`` stores in a manifest row's ``extra``)."""
        return to_record(self)

    @classmethod
    def from_dict(cls, record: dict) -> ReplayParams:
        return from_record(cls, record)


def _layout(p: ReplayParams, width: int, height: int) -> MediumLayout:
    return medium_layout(
        width=width,
        height=height,
        face_scale=p.face_scale,
        face_fraction=p.face_fraction,
        offset=p.screen_offset,
        area_mm=p.screen_mm,
        margin_mm=p.bezel_mm,
    )


def _face_box(lay: MediumLayout, face_fraction: float) -> tuple[float, float, float, float]:
    hw, hh = lay.half
    return (-hw * face_fraction, -hh * face_fraction, hw * face_fraction, hh * face_fraction)


def _pitch(p: ReplayParams, lay: MediumLayout) -> float:
    """Panel pixel pitch in content units."""
    return 25.4 / p.ppi * lay.unit_per_mm


class FrameGeometry(NamedTuple):
    """Where things land in one output frame, in output pixel coordinates (``[4, 2]`` quads, x/y)."""

    pose: Pose
    face_image: np.ndarray  # the displayed input image's corners
    face: np.ndarray  # the face box (the central face_fraction of the image)
    screen: np.ndarray  # the active area's corners
    body: np.ndarray  # the device body's corners
    panel_px_per_sensor_px: float  # panel pixels per camera pixel at the face centre (moire scale)


def panel_emission(
    image: np.ndarray,
    t: int,
    hs: np.ndarray,
    inv: np.ndarray,
    n: int,
    lay: MediumLayout,
    p: ReplayParams,
    ripple: np.ndarray,
    pitch: float,
) -> np.ndarray:
    """Linear light the panel sends towards each of the ``n x n`` sensor pixels, relative to its white: float32
    ``[n, n, 3]``. Content texture times the prefiltered sub-pixel modulation, integrated per pixel, blurred by the
    capture's lens and motion, times the refresh banding of frame ``t``. Both lookups are perspective warps from the
    supersampled sensor grid (``hs``: medium -> sensor, ``inv`` its inverse); used by the procedural screen and by a
    filmed template's (:mod:`stasn.synth.template_replay`)."""
    cap = p.capture
    m = cap.supersample
    sensor_per_unit = float(np.linalg.svd(jacobian(hs, (0.0, 0.0)), compute_uv=False)[0])
    tex, x0, y0, kt = ReplaySynthesizer._panel_texture(image, inv, n, lay, p, _TEXTURE_MARGIN * m * sensor_per_unit)
    grid = np.array([[1.0 / m, 0, 0.5 / m - 0.5], [0, 1.0 / m, 0.5 / m - 0.5], [0, 0, 1]])  # sample -> sensor
    from_samples = inv @ grid  # supersampled sensor grid -> medium
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    to_tex = np.array([[kt, 0, -x0 * kt - 0.5], [0, kt, -y0 * kt - 0.5], [0, 0, 1]])
    content = cv2.warpPerspective(
        tex, to_tex @ from_samples, (n * m, n * m), flags=flags, borderMode=cv2.BORDER_REPLICATE
    )
    modulation = ReplaySynthesizer._modulation(ripple, from_samples, n * m, lay, pitch, display.tile_period(p.layout))
    base = cv2.resize(content, (n, n), interpolation=cv2.INTER_AREA)
    fine = cv2.resize(content * modulation, (n, n), interpolation=cv2.INTER_AREA)
    base = blur_linear(
        base,
        lens_cutoff=cap.lens_cutoff,
        defocus=cap.defocus,
        motion_length=cap.motion_length,
        motion_angle=cap.motion_angle,
    )
    emission = np.maximum(base + fine, 0.0)
    if p.banding_amplitude > 0:
        emission *= display.refresh_banding(
            n, amplitude=p.banding_amplitude, period=p.banding_period, phase=p.banding_phase + p.banding_drift * t
        )
    return emission


def sample_panel(
    rng: np.random.Generator, r: ReplayRanges, screen_mm: tuple[float, float], *, oled: bool, banding: bool
) -> dict:
    """The picture on the screen and the panel showing it, drawn one way for a procedural screen and a filmed
    template's (:mod:`stasn.synth.template_replay`): face placement, panel tone and gamut, backlight bleed, banding,
    the content's codec. Returns :class:`ReplayParams` keyword arguments, drawn in this order (so a seed keeps its
    draws)."""
    return dict(
        face_scale=min(log_uniform(rng, r.face_scale), max_face_scale(screen_mm, r.face_fraction)),
        face_fraction=r.face_fraction,
        screen_offset=(uniform(rng, (-0.5, 0.5)), uniform(rng, (-0.5, 0.5))),  # faces sit near the middle
        panel_gamma=uniform(rng, r.panel_gamma),
        contrast=1e5 if oled else log_uniform(rng, r.lcd_contrast),  # an OLED pixel turns off: no black level
        brightness=uniform(rng, r.brightness),
        gamut_saturation=uniform(rng, r.gamut_saturation),
        white_point=uniform(rng, r.white_point),
        subpixel_fill=uniform(rng, r.subpixel_fill),
        bleed_strength=0.0 if oled else uniform(rng, r.bleed_strength),  # backlight bleed is an LCD's
        bleed_width=uniform(rng, r.bleed_width),
        bleed_seed=new_seed(rng),
        banding_amplitude=uniform(rng, r.banding_amplitude) if banding else 0.0,
        banding_period=log_uniform(rng, r.banding_period),
        banding_phase=uniform(rng, (0.0, 2 * math.pi)),
        banding_drift=uniform(rng, r.banding_drift),
        content_jpeg=int(round(uniform(rng, r.content_jpeg))),
    )


def sample_recording_camera(rng: np.random.Generator, r: ReplayRanges) -> dict:
    """The recording camera's white balance, resolution and sharpening of the replayed face (:class:`ReplayParams`
    keyword arguments); what is off (the defaults) takes no draw and the record keeps its default."""
    balance = uniform(rng, r.content_balance)
    drawn: dict = dict(content_balance=balance)
    if balance > 0:
        drawn.update(
            content_red_green=log_uniform(rng, r.content_red_green),
            content_blue_green=log_uniform(rng, r.content_blue_green),
        )
    if r.content_face_px is not None:
        drawn["content_face_px"] = log_uniform(rng, r.content_face_px)
    drawn["content_sharpen"] = uniform(rng, r.content_sharpen)
    return drawn


class ReplaySynthesizer:
    """Turn live face images or clips into synthesized screen-replay attacks.

    Args:
        ranges: parameter ranges (default :class:`ReplayRanges`).
        templates: a folder of real device templates (``stasn templates extract``); a share ``template_ratio`` of
            the attacks is then composited into them (:mod:`stasn.synth.template_replay`), the rest is procedural.
        template_ratio: share of template-mode attacks when ``templates`` is given.

    Example::

        synth = ReplaySynthesizer()
        params = synth.sample_params(np.random.default_rng(0), size=(width, height))  # live_rgb's size
        spoof = synth.apply(live_rgb, params)   # same shape as live_rgb; params.to_dict() records it
    """

    kind = "replay"
    ranges_type = ReplayRanges  # what ``ranges`` takes
    attack_type = AttackType.REPLAY_SYNTH.value

    def __init__(
        self, ranges: ReplayRanges | None = None, *, templates: str | Path | None = None, template_ratio: float = 0.5
    ) -> None:
        self.ranges = ranges if ranges is not None else ReplayRanges()
        check_probability(type(self).__name__, "template_ratio", template_ratio)
        self.template_ratio = float(template_ratio)
        self.templates = None
        if templates is not None:
            from stasn.synth.template_replay import TemplateReplay  # reads the template index

            self.templates = TemplateReplay(templates, self.ranges)

    def __repr__(self) -> str:
        mode = f", templates={self.templates!r}, template_ratio={self.template_ratio}" if self.templates else ""
        return f"{type(self).__name__}(devices={self.ranges.devices}{mode})"

    # ------------------------------------------------------------------------------------------------ sampling
    def sample_params(self, rng: np.random.Generator, size: tuple[int, int] | None = None) -> ReplayParams:
        """Draw one replay's parameters (deterministic for a seeded generator); with templates, a share
        ``template_ratio`` are :class:`~stasn.synth.template_replay.TemplateReplayParams`.

        ``size``: ``(width, height)`` of the image it will be applied to, in pixels: the camera's resolution is
        drawn relative to it (``CaptureRanges.sensor_scale``); without it, from the absolute ``sensor_px`` range.
        """
        if self.templates is not None and chance(rng, self.template_ratio):
            return self.templates.sample_params(rng, size)  # type: ignore[return-value]
        r = self.ranges
        device = DEVICES[pick(rng, r.devices)]
        short = uniform(rng, device.short_side_mm)
        long = short * uniform(rng, device.aspect)
        portrait = chance(rng, device.portrait_probability)
        side = (uniform(rng, device.bezel_side_mm), uniform(rng, device.bezel_side_mm))
        end = (uniform(rng, device.bezel_end_mm), uniform(rng, device.bezel_end_mm))
        screen_mm = (short, long) if portrait else (long, short)
        bezel = (side[0], end[0], side[1], end[1]) if portrait else (end[0], side[0], end[1], side[1])
        oled = chance(rng, device.oled_probability)
        layout = pick(rng, device.layouts) if oled else "rgb-stripe"  # LCDs are RGB stripe; OLEDs often PenTile
        held = device.name != "monitor" and chance(rng, r.hand_probability)
        banding = chance(rng, r.banding_probability)
        skin = sample_skin(rng)
        params = ReplayParams(
            device=device.name,
            layout=layout,
            oled=oled,
            screen_mm=screen_mm,
            ppi=uniform(rng, device.ppi),
            bezel_mm=bezel,
            body_corner_mm=uniform(rng, device.body_corner_mm),
            screen_corner_mm=uniform(rng, device.screen_corner_mm),
            bezel_colour=str(rng.choice(list(BEZEL_COLOURS))),
            **sample_panel(rng, r, screen_mm, oled=oled, banding=banding),
            # The thumb's reach counts from the screen's edge, past the bezel (a print's counts from the sheet's
            # edge): 2-12 mm onto the picture, ours.
            **sample_surroundings(rng, held=held, reach_mm=(2.0, 12.0), skin=skin),
            view=r.view.sample(rng),
            reflection=r.reflection.sample(rng),
            capture=r.capture.sample(rng, size),
        )
        # Drawn last, so that the draws above keep their values.
        params = dataclasses.replace(params, meter_share=uniform(rng, r.meter_share))
        params = dataclasses.replace(params, content_denoise=uniform(rng, r.content_denoise))
        return dataclasses.replace(params, **sample_recording_camera(rng, r))

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ReplayParams]:
        """Sample parameters for ``image``'s size and apply them: ``(spoof, params)``."""
        params = self.sample_params(rng, image_size(image))
        return self.apply(image, params), params

    # ---------------------------------------------------------------------------------------------- geometry
    def geometry(self, params: ReplayParams, size: tuple[int, int], num_frames: int = 1) -> list[FrameGeometry]:
        """Where the face, screen and device body land in each output frame of an input of ``size=(W, H)``."""
        width, height = size
        lay = _layout(params, width, height)
        n = params.capture.sensor_px
        out = []
        hw, hh = lay.half
        ff = params.face_fraction
        pitch = _pitch(params, lay)
        for pose in params.view.poses(num_frames):
            hs = self._sensor_homography(pose, lay, params)
            to_out = np.array(
                [[width / n, 0, 0.5 * width / n - 0.5], [0, height / n, 0.5 * height / n - 0.5], [0, 0, 1]]
            )
            h_out = to_out @ hs
            jac = jacobian(hs, (0.0, 0.0))  # sensor px per content unit
            out.append(
                FrameGeometry(
                    pose=pose,
                    face_image=project(h_out, rect_corners((-hw, -hh, hw, hh))),
                    face=project(h_out, rect_corners((-hw * ff, -hh * ff, hw * ff, hh * ff))),
                    screen=project(h_out, rect_corners(lay.area)),
                    body=project(h_out, rect_corners(lay.body)),
                    panel_px_per_sensor_px=float(1.0 / (pitch * np.sqrt(abs(np.linalg.det(jac))))),
                )
            )
        return out

    def _sensor_homography(self, pose: Pose, lay: MediumLayout, params: ReplayParams) -> np.ndarray:
        crop = frame_crop(pose, lay.half, params.view)
        return sensor_homography(plane_homography(pose), crop, params.capture.sensor_px)

    # ------------------------------------------------------------------------------------------------- render
    def apply(self, image: np.ndarray, params: ReplayParams) -> np.ndarray:
        """Render the replay attack of ``image`` (``[H, W, 3]`` or ``[T, H, W, 3]`` uint8 RGB); same shape out."""
        if not isinstance(params, ReplayParams):  # template mode
            if self.templates is None:
                raise ValueError(f"{type(params).__name__} needs a ReplaySynthesizer made with templates=...")
            return self.templates.apply(image, params)
        clip, single = as_clip(image)
        num_frames, height, width = clip.shape[:3]
        p, cap = params, params.capture
        lay = _layout(p, width, height)
        poses = p.view.poses(num_frames)
        # Per clip: the sub-pixel tile prefiltered by the camera footprint at frame 0's geometry, the room.
        hs0 = self._sensor_homography(poses[0], lay, p)
        pitch = _pitch(p, lay)
        panel_per_sensor = np.linalg.inv(jacobian(hs0, (0.0, 0.0))) / pitch
        motion = (
            cap.motion_length * math.cos(math.radians(cap.motion_angle)),
            cap.motion_length * math.sin(math.radians(cap.motion_angle)),
        )
        tile = display.subpixel_tile(p.layout, texels=_TEXELS, fill=p.subpixel_fill)
        ripple = display.prefilter_tile(
            tile,
            texels=_TEXELS,
            panel_per_sensor=panel_per_sensor,
            box=1.0 / cap.supersample,
            lens_cutoff=cap.lens_cutoff,
            defocus=cap.defocus,
            motion=motion,
        )
        ripple -= 1.0  # zero-mean modulation around the content's own light
        env = p.reflection.environment(poses[0])
        linear = [self._render_frame(clip[t], t, poses[t], lay, p, ripple, env) for t in range(num_frames)]
        # The rest of the camera's frame, which the meter also sees: the scene behind the device, lit by the room.
        surround = p.reflection.room_level * p.background_level
        out = capture_clip(linear, cap, (width, height), meter=(p.meter_share, surround))
        return out[0] if single else out

    def _render_frame(
        self,
        frame: np.ndarray,
        t: int,
        pose: Pose,
        lay: MediumLayout,
        p: ReplayParams,
        ripple: np.ndarray,
        env: np.ndarray | None,
    ) -> np.ndarray:
        """Linear light reaching the sensor for one frame, ``[n, n, 3]`` float32."""
        cap = p.capture
        n = cap.sensor_px
        pitch = _pitch(p, lay)
        crop = frame_crop(pose, lay.half, p.view)
        hs = sensor_homography(plane_homography(pose), crop, n)
        inv = np.linalg.inv(hs)
        # 1. Panel emission: content texture times the prefiltered sub-pixel modulation, integrated per pixel.
        # Both lookups are perspective warps from the supersampled sensor grid (warpPerspective computes the
        # coordinates itself, much faster than building maps in numpy).
        emission = panel_emission(frame, t, hs, inv, n, lay, p, ripple, pitch)
        # 2. Reflections of the room on the glass.
        reflected = None
        if env is not None:
            reflected = reflection_layer(env, surface_optics(pose, crop, n), r0=p.reflection.reflectance)
        # 3. Device body, background and hand, only when an edge of the screen is inside the crop.
        view = project(inv, np.array([[-0.5, -0.5], [n - 0.5, -0.5], [n - 0.5, n - 0.5], [-0.5, n - 0.5]]))
        inset = p.screen_corner_mm * lay.unit_per_mm
        left, top, right, bottom = lay.area
        inside = (
            (view[:, 0] > left + inset).all()
            and (view[:, 0] < right - inset).all()
            and (view[:, 1] > top + inset).all()
            and (view[:, 1] < bottom - inset).all()
        )
        if inside:
            return emission if reflected is None else emission + reflected
        return self._composite(emission, reflected, hs, crop, lay, p)

    @staticmethod
    def _modulation(
        ripple: np.ndarray, from_samples: np.ndarray, size: int, lay: MediumLayout, pitch: float, period: int
    ) -> np.ndarray:
        """Look the periodic sub-pixel tile up at every sample point (wrapping around the tile)."""
        scale = _TEXELS / pitch  # tile texels per content unit
        corners = project(from_samples, np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float64))
        span = period * pitch  # content units per tile period
        ox = lay.area[0] + math.floor((corners[:, 0].min() - lay.area[0]) / span) * span
        oy = lay.area[1] + math.floor((corners[:, 1].min() - lay.area[1]) / span) * span
        reach = max(corners[:, 0].max() - ox, corners[:, 1].max() - oy) * scale
        to_tile = np.array([[scale, 0, -ox * scale - 0.5], [0, scale, -oy * scale - 0.5], [0, 0, 1]])
        if reach < 30000:  # OpenCV's warps keep coordinates in 16 bits: wrap them ourselves beyond that
            return cv2.warpPerspective(
                ripple,
                to_tile @ from_samples,
                (size, size),
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_WRAP,
            )
        xs, ys = plane_maps(to_tile @ from_samples, size, 1)  # supersample 1: sample q sits at coordinate q
        tile = ripple.shape[0]
        return cv2.remap(ripple, np.mod(xs, tile), np.mod(ys, tile), cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)

    def _composite(
        self,
        emission: np.ndarray,
        reflected: np.ndarray | None,
        hs: np.ndarray,
        crop: np.ndarray,
        lay: MediumLayout,
        p: ReplayParams,
    ) -> np.ndarray:
        n = p.capture.sensor_px
        xs, ys = plane_maps(np.linalg.inv(hs), n, 1)
        pixel = float(1.0 / np.sqrt(abs(np.linalg.det(jacobian(hs, (0.0, 0.0))))))  # content units per sensor px
        unit = lay.unit_per_mm
        screen = rounded_rect_coverage(xs, ys, lay.area, p.screen_corner_mm * unit, pixel)[..., None]
        body = rounded_rect_coverage(xs, ys, lay.body, p.body_corner_mm * unit, pixel)[..., None]
        room = p.reflection.room_level
        background = background_layer(p.background_seed, crop, n, room * p.background_level)
        bezel = bezel_colour(p.bezel_colour) * np.float32(room)  # a Lambertian body lit by the room
        front = emission * screen + bezel * (body - screen)
        if reflected is not None:
            front = front + reflected * body
        image = background * (1.0 - body) + front
        if p.hand != "none":
            image = composite_hand(
                image,
                xs,
                ys,
                body=lay.body,
                face=_face_box(lay, p.face_fraction),
                side=p.hand,
                along=p.hand_along,
                size=p.hand_mm * unit,
                # hand_reach_mm counts from the screen's edge: the thumb first crosses the bezel on the held side.
                wanted_reach=(p.hand_reach_mm + p.bezel_mm[("left", "top", "right", "bottom").index(p.hand)]) * unit,
                pixel=pixel,
                skin=p.skin,
                # A screen makes its own light, so the hand holding it is lit by the room alone, as the bezel is
                # (`bezel * room` above), not by the picture. The 1.5 is ours, not measured.
                skin_gain=room * 1.5,
            )
        return image.astype(np.float32)

    @staticmethod
    def _panel_texture(
        frame: np.ndarray, inv: np.ndarray, n: int, lay: MediumLayout, p: ReplayParams, cap_kt: float
    ) -> tuple[np.ndarray, float, float, float]:
        """The panel's linear emission over the visible part of the screen, one texel per panel pixel (or finer
        than the sensor's sample spacing when the panel is finer than that).

        Returns:
            ``(texture [th, tw, 3] float32, x0, y0, kt)``: texel ``(i, j)`` is centred at medium coordinates
            ``(x0 + (i + 0.5) / kt, y0 + (j + 0.5) / kt)``.
        """
        # The replayed recording's camera (ReplayRanges.content_*): resolution, white balance, denoiser, sharpening.
        if p.content_face_px > 0:
            frame = limit_resolution(frame, p.content_face_px, p.face_fraction)
        if p.content_balance > 0:
            frame = balance_toward(frame, p.content_red_green, p.content_blue_green, p.content_balance)
        if p.content_denoise > 0:  # also the recording's codec's smoothing
            frame = denoise(frame, p.content_denoise)
        if p.content_sharpen > 0:  # at one recording pixel
            pixel = frame.shape[1] * p.face_fraction / p.content_face_px if p.content_face_px > 0 else 1.0
            frame = unsharp(frame, p.content_sharpen, max(1.0, pixel))
        if p.content_jpeg < 100:  # the replayed media is itself a compressed recording
            frame = jpeg_roundtrip(frame, p.content_jpeg)
        view = project(inv, np.array([[-0.5, -0.5], [n - 0.5, -0.5], [n - 0.5, n - 0.5], [-0.5, n - 0.5]]))
        left, top, right, bottom = lay.area
        ext_l, ext_t = max(view[:, 0].min(), left), max(view[:, 1].min(), top)
        ext_r, ext_b = min(view[:, 0].max(), right), min(view[:, 1].max(), bottom)
        pitch = _pitch(p, lay)
        panel_kt = 1.0 / pitch
        kt = min(panel_kt, cap_kt)
        if kt == panel_kt:  # texels are panel pixels: align them to the panel grid
            x0 = left + math.floor((ext_l - left) / pitch) * pitch
            y0 = top + math.floor((ext_t - top) / pitch) * pitch
        else:
            x0, y0 = ext_l - 1.0 / kt, ext_t - 1.0 / kt
        tw = max(2, int(math.ceil((ext_r - x0) * kt)) + 2)
        th = max(2, int(math.ceil((ext_b - y0) * kt)) + 2)
        tex8 = content_texture(frame, lay.half, x0, y0, kt, (tw, th))
        black = p.brightness / p.contrast
        tex = cv2.LUT(tex8, display.panel_lut(gamma=p.panel_gamma, black=black, white=p.brightness))
        tex = cv2.transform(tex, display.gamut_matrix(saturation=p.gamut_saturation, temperature=p.white_point))
        if p.bleed_strength > 0:
            gw, gh = min(tw, 24), min(th, 24)
            gx = x0 + (np.linspace(0.0, tw, gw)[None, :]) / kt
            gy = y0 + (np.linspace(0.0, th, gh)[:, None]) / kt
            bleed = display.backlight_bleed(
                gx,
                gy,
                screen=lay.area,
                strength=p.bleed_strength * p.brightness,
                width=p.bleed_width,
                seed=p.bleed_seed,
            )
            tex += cv2.resize(bleed, (tw, th), interpolation=cv2.INTER_LINEAR)[..., None]
        return np.maximum(tex, 0.0), float(x0), float(y0), float(kt)
