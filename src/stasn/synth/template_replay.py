"""Template-mode replay synthesis: live faces composited into real device templates (:mod:`stasn.synth.templates`).

A template frame is a real camera frame of a real device held in a real room, with its screen's quad, a mask (the
screen minus what is in front of it, such as a thumb) and the light on the glass. Template mode keeps everything
around the screen as it was filmed (bezel, hand, room, the camera's own noise and codec) and replaces the screen's
content:

1. **Display.** The face image is shown on the template's panel (its pixel count is the board's screen size, so the
   real panel pitch relative to the camera's pixels sets the moire) through the display model of
   :class:`~stasn.synth.replay.ReplaySynthesizer`: transfer curve, contrast, gamut, white point, LCD bleed,
   sub-pixel layout (drawn from the template's device kind), prefiltered and sampled by the camera's pixels.
2. **Geometry.** The panel is mapped into the frame by the homography of the real quad; the output is framed like a
   face detector's crop around the displayed face image, at the template's own resolution (down to at most
   ``max_sensor_px`` pixels across, where a large crop is first area-averaged).
3. **Light.** Emission times the template's measured gain (the camera's value of the panel's white, per pixel) plus
   the stored reflection (what the glass mirrored while the board was shown), then the camera's mosaic, demosaic,
   tone curve (the 2.2 power law the extraction assumed) and noise of the template's measured level.
4. **Composite.** Inside the mask the new screen, outside it the template's pixels unchanged; optionally a JPEG pass
   whose result is kept inside the mask only.

Clips take consecutive template frames of one template clip (the real hand's motion), reflected at the clip's ends.
No accuracy or realism claim is made for this mode until real templates exist (``docs/collect.md``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from stasn.data.video import jpeg_roundtrip
from stasn.labels import AttackType
from stasn.synth import capture as cam
from stasn.synth import display
from stasn.synth._records import from_record, to_record
from stasn.synth._sampling import chance, new_seed, pick, uniform
from stasn.synth.devices import DEVICES
from stasn.synth.geometry import crop_square, jacobian, project
from stasn.synth.medium import MediumLayout, as_clip, medium_layout, rect_corners
from stasn.synth.recapture import CaptureParams, ViewParams
from stasn.synth.replay import (
    _TEXELS,
    ReplayParams,
    ReplayRanges,
    panel_emission,
    sample_panel,
    sample_recording_camera,
)
from stasn.synth.templates import TEMPLATES_JSON, TemplateFrame, TemplateSet

__all__ = ["TemplateReplayParams", "TemplateReplay", "TemplateRender", "open_templates"]

_ENCODE = ((np.arange(65536, dtype=np.float64) / 65535.0) ** (1 / 2.2) * 255.0).astype(np.float32)


@dataclass(frozen=True)
class TemplateReplayParams:
    """Everything one template-mode replay was made with (``to_dict()`` is what a manifest row records).

    ``display`` holds the panel and framing: its ``screen_mm`` is the template's screen in *pixels* and its ``ppi``
    is 25.4, so the display model's "millimetre" is one panel pixel; its capture fields give the lens, defocus,
    motion blur and demosaic of the rendered screen (the rest of the camera is the template's own).
    """

    template: str  # the template clip
    start: int  # position of the clip's first frame among the clip's kept frames
    display: ReplayParams
    reflection_gain: float = 1.0  # scales the stored reflection
    noise_seed: int = 0
    screen_jpeg: int = 100  # JPEG quality of a pass kept inside the screen only; 100 = none
    max_sensor_px: int = 512  # crops wider than this (template pixels) are area-averaged to it first

    def __post_init__(self) -> None:
        if self.start < 0:
            raise ValueError(f"TemplateReplayParams.start must be >= 0, got {self.start}")
        if not 0 <= self.reflection_gain <= 10:
            raise ValueError(f"TemplateReplayParams.reflection_gain must be in [0, 10], got {self.reflection_gain}")
        if not 1 <= self.screen_jpeg <= 100:
            raise ValueError(f"TemplateReplayParams.screen_jpeg must be in [1, 100], got {self.screen_jpeg}")
        if self.max_sensor_px < 32:
            raise ValueError(f"TemplateReplayParams.max_sensor_px must be >= 32, got {self.max_sensor_px}")

    @property
    def device(self) -> str:
        """What the manifest's ``device`` column says: ``template-<kind>``."""
        return f"template-{self.display.device}"

    def to_dict(self) -> dict:
        return to_record(self)

    @classmethod
    def from_dict(cls, record: dict) -> TemplateReplayParams:
        return from_record(cls, record)


class TemplateRender(NamedTuple):
    """What :meth:`TemplateReplay.render` made, all in output pixels (the input's size)."""

    frames: np.ndarray  # uint8 [T, h, w, 3]: the attack
    background: np.ndarray  # uint8 [T, h, w, 3]: the same crops of the template, without the face
    masks: np.ndarray  # float32 [T, h, w]: where the new screen was composited (the template's mask, resampled)
    screens: np.ndarray  # float64 [T, 4, 2]: the template's screen quad
    faces: np.ndarray  # float64 [T, 4, 2]: the displayed face box (the central face_fraction of the input)


@functools.lru_cache(maxsize=4)
def _cached_set(root: str, stamp: int) -> TemplateSet:
    return TemplateSet(root)


def open_templates(templates: str | Path | TemplateSet) -> TemplateSet:
    """A :class:`TemplateSet` for a folder: one per folder and process, so the jobs of a worker share its index and
    frame cache; a folder whose index changed since (a new extraction) is read again."""
    if isinstance(templates, TemplateSet):
        return templates
    root = Path(templates).resolve()
    index = root / TEMPLATES_JSON
    return _cached_set(str(root), index.stat().st_mtime_ns if index.is_file() else 0)


class TemplateReplay:
    """Composite live faces into device templates.

    Args:
        templates: a template folder (``stasn templates extract``) or a loaded :class:`TemplateSet`.
        ranges: where the display's parameters are drawn from (the procedural synthesizer's ranges; the device, the
            screen and the pose come from the templates).

    Example::

        synth = TemplateReplay("runs/templates")
        params = synth.sample_params(np.random.default_rng(0))
        spoof = synth.apply(live_rgb, params)   # same shape as live_rgb
    """

    kind = "replay"
    attack_type = AttackType.REPLAY_SYNTH.value

    def __init__(self, templates: str | Path | TemplateSet, ranges: ReplayRanges | None = None) -> None:
        self.templates = open_templates(templates)
        self.ranges = ranges if ranges is not None else ReplayRanges()
        self._weights = np.array([len(c.frames) for c in self.templates.clips], np.float64)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.templates!r})"

    # ------------------------------------------------------------------------------------------------ sampling
    def sample_params(self, rng: np.random.Generator, size: tuple[int, int] | None = None) -> TemplateReplayParams:
        """Draw a template frame (uniformly over all frames) and a display for it; ``size``: the output's
        ``(width, height)`` (see :meth:`ReplaySynthesizer.sample_params`)."""
        r = self.ranges
        clip = self.templates.clips[int(rng.choice(len(self._weights), p=self._weights / self._weights.sum()))]
        start = int(rng.integers(len(clip.frames)))
        preset = DEVICES[clip.layout.device]
        oled = chance(rng, preset.oled_probability)
        layout = pick(rng, preset.layouts) if oled else "rgb-stripe"
        screen = (float(clip.layout.screen[0]), float(clip.layout.screen[1]))
        view = r.view.sample(rng)  # only the crop's shift and scale are used: the pose is the template's
        capture = r.capture.sample(rng, size)
        banding = chance(rng, r.banding_probability)
        display_params = ReplayParams(
            device=clip.layout.device,
            layout=layout,
            oled=oled,
            screen_mm=screen,
            ppi=25.4,  # one "millimetre" per panel pixel (see the class docstring)
            bezel_mm=(0.0, 0.0, 0.0, 0.0),
            **sample_panel(rng, r, screen, oled=oled, banding=banding),
            view=ViewParams(crop_shift=view.crop_shift, crop_scale=view.crop_scale),
            capture=CaptureParams(
                sensor_px=256,  # unused: the template's resolution decides
                supersample=capture.supersample,
                lens_cutoff=capture.lens_cutoff,
                defocus=capture.defocus,
                motion_length=capture.motion_length,
                motion_angle=capture.motion_angle,
                demosaic=capture.demosaic,
            ),
        )
        compressed = chance(rng, 0.5)
        params = TemplateReplayParams(
            template=clip.name,
            start=start,
            display=display_params,
            reflection_gain=uniform(rng, (0.7, 1.3)),
            noise_seed=new_seed(rng),
            screen_jpeg=int(round(uniform(rng, r.capture.jpeg_quality))) if compressed else 100,
        )
        # Drawn last, so that the draws above keep their values.
        display_params = dataclasses.replace(display_params, content_denoise=uniform(rng, r.content_denoise))
        display_params = dataclasses.replace(display_params, **sample_recording_camera(rng, r))
        return dataclasses.replace(params, display=display_params)

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, TemplateReplayParams]:
        params = self.sample_params(rng)
        return self.apply(image, params), params

    # ------------------------------------------------------------------------------------------------- render
    def apply(self, image: np.ndarray, params: TemplateReplayParams) -> np.ndarray:
        """The attack of ``image`` (``[H, W, 3]`` or ``[T, H, W, 3]`` uint8 RGB); same shape out."""
        frames = self.render(image, params).frames
        return frames[0] if np.asarray(image).ndim == 3 else frames

    def render(self, image: np.ndarray, params: TemplateReplayParams) -> TemplateRender:
        """Render and return the attack with what it was composited into (for tests, previews and pictures)."""
        clip_in, _ = as_clip(image)
        num_frames, height, width = clip_in.shape[:3]
        clip = self.templates.clip(params.template)
        if params.start >= len(clip.frames):
            raise ValueError(f"template {params.template!r} has {len(clip.frames)} frames, start={params.start}")
        p = params.display
        lay = medium_layout(
            width=width,
            height=height,
            face_scale=p.face_scale,
            face_fraction=p.face_fraction,
            offset=p.screen_offset,
            area_mm=p.screen_mm,
            margin_mm=(0.0, 0.0, 0.0, 0.0),
        )
        ripple = None
        outputs = []
        for t in range(num_frames):
            frame = self.templates.frame(params.template, _bounce(params.start + t, len(clip.frames)))
            geometry = _Geometry.of(frame, lay, p, params.max_sensor_px)
            if ripple is None:  # one sub-pixel prefilter per clip, at frame 0's geometry (as the procedural mode)
                ripple = _ripple(geometry, lay, p)
            outputs.append(_render_frame(clip_in[t], t, frame, geometry, lay, params, ripple, (width, height)))
        return TemplateRender(*(np.stack(parts) for parts in zip(*outputs, strict=True)))


def _bounce(position: int, length: int) -> int:
    """Walk forward through ``length`` frames and back again (0, 1, ..., n-1, n-2, ..., 1, 0, 1, ...)."""
    if length == 1:
        return 0
    period = 2 * (length - 1)
    k = position % period
    return k if k < length else period - k


class _Geometry(NamedTuple):
    medium_to_frame: np.ndarray  # [3, 3] content units -> template frame pixels
    crop: tuple[int, int, int]  # first column, first row and side of the crop, template pixels
    n: int  # sensor pixels across the crop
    to_sensor: np.ndarray  # [3, 3] template frame pixels -> sensor pixels
    hs: np.ndarray  # [3, 3] content units -> sensor pixels

    @staticmethod
    def of(frame: TemplateFrame, lay: MediumLayout, p: ReplayParams, max_px: int) -> _Geometry:
        w, h = frame.layout.screen
        unit = lay.unit_per_mm  # content units per panel pixel
        left, top = lay.area[0], lay.area[1]
        to_panel = np.array([[1 / unit, 0, -left / unit - 0.5], [0, 1 / unit, -top / unit - 0.5], [0, 0, 1.0]])
        corners = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]], np.float32)
        panel_to_frame = cv2.getPerspectiveTransform(corners, frame.quad.astype(np.float32)).astype(np.float64)
        medium_to_frame = panel_to_frame @ to_panel
        outline = project(medium_to_frame, rect_corners((-lay.half[0], -lay.half[1], lay.half[0], lay.half[1])))
        cx0, cy0, side = crop_square(outline, shift=p.view.crop_shift, scale=p.view.crop_scale)
        side_px = max(16, 2 * int(round(side / 2)))  # even: the RGGB mosaic
        i0, j0 = int(round(cx0 + 0.5)), int(round(cy0 + 0.5))  # pixel i covers [i - 0.5, i + 0.5]
        n = min(side_px, 2 * (max_px // 2))
        k = n / side_px
        to_sensor = np.array([[k, 0, -(i0 - 0.5) * k - 0.5], [0, k, -(j0 - 0.5) * k - 0.5], [0, 0, 1.0]])
        return _Geometry(medium_to_frame, (i0, j0, side_px), n, to_sensor, to_sensor @ medium_to_frame)


def _ripple(g: _Geometry, lay: MediumLayout, p: ReplayParams) -> np.ndarray:
    """The sub-pixel tile prefiltered by the camera's footprint, minus 1 (a modulation around the content's light)."""
    cap = p.capture
    pitch = lay.unit_per_mm  # content units per panel pixel
    panel_per_sensor = np.linalg.inv(jacobian(g.hs, (0.0, 0.0))) / pitch
    tile = display.subpixel_tile(p.layout, texels=_TEXELS, fill=p.subpixel_fill)
    motion = (
        cap.motion_length * math.cos(math.radians(cap.motion_angle)),
        cap.motion_length * math.sin(math.radians(cap.motion_angle)),
    )
    ripple = display.prefilter_tile(
        tile,
        texels=_TEXELS,
        panel_per_sensor=panel_per_sensor,
        box=1.0 / cap.supersample,
        lens_cutoff=cap.lens_cutoff,
        defocus=cap.defocus,
        motion=motion,
    )
    return ripple - 1.0


def _crop(image: np.ndarray, crop: tuple[int, int, int], n: int, interpolation: int) -> np.ndarray:
    """The square ``crop = (column, row, side)`` of ``image`` (edges replicated where it leaves the image), resized
    to ``n x n`` (an exact copy when ``n == side``)."""
    i0, j0, side = crop
    h, w = image.shape[:2]
    x0, y0 = min(max(i0, 0), w - 1), min(max(j0, 0), h - 1)  # at least one pixel is taken, even far outside
    x1, y1 = max(min(i0 + side, w), x0 + 1), max(min(j0 + side, h), y0 + 1)
    top, left = y0 - j0, x0 - i0
    part = image[y0:y1, x0:x1]
    pad = (max(0, top), max(0, side - (y1 - y0) - top), max(0, left), max(0, side - (x1 - x0) - left))
    if any(pad):
        part = cv2.copyMakeBorder(part, *pad, cv2.BORDER_REPLICATE)
    part = part[max(0, -top) : max(0, -top) + side, max(0, -left) : max(0, -left) + side]
    if n == side:
        return np.ascontiguousarray(part)
    return cv2.resize(part, (n, n), interpolation=interpolation)


def _light_map(values: np.ndarray, frame_size: tuple[int, int], to_sensor: np.ndarray, n: int) -> np.ndarray:
    """A 1/8-resolution light map resampled onto the sensor grid: float32 ``[n, n, 3]``."""
    lw, lh = values.shape[1], values.shape[0]
    sx, sy = lw / frame_size[0], lh / frame_size[1]
    # light pixel u <-> frame coordinate (u + 0.5) / sx - 0.5
    light_to_frame = np.array([[1 / sx, 0, 0.5 / sx - 0.5], [0, 1 / sy, 0.5 / sy - 0.5], [0, 0, 1.0]])
    m = to_sensor @ light_to_frame
    return cv2.warpAffine(values, m[:2], (n, n), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _render_frame(
    face: np.ndarray,
    t: int,
    frame: TemplateFrame,
    g: _Geometry,
    lay: MediumLayout,
    params: TemplateReplayParams,
    ripple: np.ndarray,
    out_size: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    p = params.display
    cap = p.capture
    n = g.n
    interpolation = cv2.INTER_AREA
    background = _crop(frame.image, g.crop, n, interpolation)
    cover = _crop(frame.mask, g.crop, n, interpolation)
    frame_size = (frame.image.shape[1], frame.image.shape[0])
    gain = _light_map(frame.gain, frame_size, g.to_sensor, n)
    reflection = _light_map(frame.reflection, frame_size, g.to_sensor, n)
    emission = _emission(face, t, g, lay, p, ripple)
    light = gain * emission + reflection * np.float32(params.reflection_gain)
    # The camera on the new screen light: mosaic, demosaic, tone curve, then noise of the template's level.
    raw = (np.clip(cam.bayer_mosaic(light), 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)
    rgb16 = cam.demosaic(raw, cap.demosaic) if cap.demosaic in ("bilinear", "edge-aware") else raw
    screen = _ENCODE[rgb16]
    if frame.noise > 0:
        noise_rng = np.random.default_rng([params.noise_seed, t])
        screen = screen + noise_rng.standard_normal(screen.shape, np.float32) * np.float32(frame.noise)
    screen8 = np.clip(screen + 0.5, 0, 255).astype(np.uint8)
    alpha = cover[..., None]
    composite = np.clip(background * (1.0 - alpha) + screen8 * alpha + 0.5, 0, 255).astype(np.uint8)
    if params.screen_jpeg < 100:
        coded = jpeg_roundtrip(composite, params.screen_jpeg)
        composite = np.clip(composite * (1.0 - alpha) + coded * alpha + 0.5, 0, 255).astype(np.uint8)
    out_w, out_h = out_size
    to_out = np.array([[out_w / n, 0, 0.5 * out_w / n - 0.5], [0, out_h / n, 0.5 * out_h / n - 0.5], [0, 0, 1.0]])
    hw, hh = lay.half
    ff = p.face_fraction
    faces = project(to_out @ g.hs, rect_corners((-hw * ff, -hh * ff, hw * ff, hh * ff)))
    screen_quad = project(to_out @ g.to_sensor, frame.quad)
    return (
        cam.resize_to(composite, out_w, out_h),
        cam.resize_to(background, out_w, out_h),
        cv2.resize(cover, out_size, interpolation=cv2.INTER_AREA if n > max(out_size) else cv2.INTER_LINEAR),
        screen_quad,
        faces,
    )


def _emission(face: np.ndarray, t: int, g: _Geometry, lay: MediumLayout, p: ReplayParams, ripple: np.ndarray):
    """Linear light the panel sends towards each sensor pixel, relative to its white: float32 ``[n, n, 3]``: the
    procedural mode's panel (:func:`stasn.synth.replay.panel_emission`) on the template's geometry."""
    # content units per panel pixel: the template's screen is measured in panel pixels
    return panel_emission(face, t, g.hs, np.linalg.inv(g.hs), g.n, lay, p, ripple, lay.unit_per_mm)
