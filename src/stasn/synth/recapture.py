"""What replay and print attacks share: the medium's pose and framing, its reflections, and the camera.

Each group is a pair of frozen dataclasses: ``*Ranges`` (what to draw from, with ``sample(rng)``) and ``*Params``
(what was drawn, JSON-friendly through :func:`dataclasses.asdict`). Every default range is this project's choice
(device spec sheets, camera physics, and ``benchmarks/synth_realism.py`` against real replay crops), not a value from
the STASN paper, which gives none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from stasn.data.video import jpeg_roundtrip
from stasn.synth import capture as cam
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
from stasn.synth.geometry import (
    Pose,
    jitter_poses,
    mirror_direction,
)
from stasn.synth.reflection import environment_map

__all__ = [
    "ViewRanges",
    "ViewParams",
    "ReflectionRanges",
    "ReflectionParams",
    "CaptureRanges",
    "CaptureParams",
    "background_layer",
    "capture_clip",
]


def _check_ranges(obj: object, limits: dict[str, tuple[float, float]]) -> None:
    """Validate every ``(low, high)`` field named in ``limits`` against its physical bounds."""
    owner = type(obj).__name__
    for name, (low, high) in limits.items():
        check_range(owner, name, getattr(obj, name), low=low, high=high)


# ----------------------------------------------------------------------------------------------------------- view
@dataclass(frozen=True)
class ViewRanges:
    """How the attacker holds the medium in front of the camera, and how the detector frames it."""

    # Attackers hold the medium square to the camera, and face detectors find upright, near-frontal faces: the real
    # replay crops are upright (benchmarks/synth_realism.py: the tilted ones were among the surest-synthetic).
    yaw: tuple[float, float] = (-15.0, 15.0)  # degrees
    pitch: tuple[float, float] = (-15.0, 15.0)  # degrees
    roll: tuple[float, float] = (-8.0, 8.0)  # degrees
    distance: tuple[float, float] = (2.5, 8.0)  # content units (face image side = 1), log-uniform
    off_axis: tuple[float, float] = (-12.0, 12.0)  # degrees off the optical axis, each direction
    crop_shift: tuple[float, float] = (-0.05, 0.05)  # detector box offset, fraction of its side
    crop_scale: tuple[float, float] = (0.95, 1.15)  # detector box size relative to the projected face image
    jitter_angle: tuple[float, float] = (0.05, 0.5)  # hand tremor bound per frame, degrees (clips)
    jitter_shift: tuple[float, float] = (0.02, 0.25)  # per-frame bound of off-axis drift, degrees
    jitter_zoom: tuple[float, float] = (0.0, 0.01)  # per-frame bound of relative distance change

    def __post_init__(self) -> None:
        _check_ranges(
            self,
            {
                "yaw": (-70, 70),
                "pitch": (-70, 70),
                "roll": (-180, 180),
                "distance": (1.0, 100.0),
                "off_axis": (-40, 40),
                "crop_shift": (-0.5, 0.5),
                "crop_scale": (0.5, 2.0),
                "jitter_angle": (0, 10),
                "jitter_shift": (0, 10),
                "jitter_zoom": (0, 0.2),
            },
        )

    def sample(self, rng: np.random.Generator) -> ViewParams:
        pose = Pose(
            yaw=uniform(rng, self.yaw),
            pitch=uniform(rng, self.pitch),
            roll=uniform(rng, self.roll),
            distance=log_uniform(rng, self.distance),
            off_x=uniform(rng, self.off_axis),
            off_y=uniform(rng, self.off_axis),
        )
        return ViewParams(
            pose=pose,
            crop_shift=(uniform(rng, self.crop_shift), uniform(rng, self.crop_shift)),
            crop_scale=uniform(rng, self.crop_scale),
            jitter_angle=uniform(rng, self.jitter_angle),
            jitter_shift=uniform(rng, self.jitter_shift),
            jitter_zoom=uniform(rng, self.jitter_zoom),
            jitter_seed=new_seed(rng),
        )


@dataclass(frozen=True)
class ViewParams:
    """One clip's pose (frame 0) and framing; later frames jitter around it."""

    pose: Pose = field(default_factory=Pose)
    crop_shift: tuple[float, float] = (0.0, 0.0)
    crop_scale: float = 1.0
    jitter_angle: float = 0.0
    jitter_shift: float = 0.0
    jitter_zoom: float = 0.0
    jitter_seed: int = 0

    def poses(self, num_frames: int) -> list[Pose]:
        """The pose of every frame of a clip (frame 0 is :attr:`pose`)."""
        return jitter_poses(
            self.pose,
            num_frames,
            angle_step=self.jitter_angle,
            shift_step=self.jitter_shift,
            zoom_step=self.jitter_zoom,
            seed=self.jitter_seed,
        )


# ----------------------------------------------------------------------------------------------------- reflection
@dataclass(frozen=True)
class ReflectionRanges:
    """The room mirrored in the medium's surface."""

    room_level: tuple[float, float] = (0.02, 0.5)  # room brightness / panel white, log-uniform
    lights: tuple[int, int] = (0, 3)  # number of lamps/windows
    light_level: tuple[float, float] = (1.0, 40.0)  # light-source brightness / panel white, log-uniform
    light_size: tuple[float, float] = (1.5, 8.0)  # degrees
    reflectance: tuple[float, float] = (0.005, 0.05)  # at normal incidence: AR-coated .. bare glass
    matte_probability: float = 0.3  # share of anti-glare (matte) surfaces
    matte_roughness: tuple[float, float] = (4.0, 15.0)  # degrees of scatter of a matte surface
    gloss_roughness: tuple[float, float] = (0.0, 1.5)  # degrees of scatter of a glossy one
    glare_probability: float = 0.4  # a light placed where the medium mirrors it into the camera
    glare_level: tuple[float, float] = (3.0, 40.0)  # its brightness / panel white, log-uniform
    glare_size: tuple[float, float] = (1.0, 6.0)  # degrees
    glare_offset: tuple[float, float] = (-8.0, 8.0)  # degrees from the mirror direction of the face centre

    def __post_init__(self) -> None:
        _check_ranges(
            self,
            {
                "room_level": (1e-4, 10),
                "lights": (0, 10),
                "light_level": (0, 1000),
                "light_size": (0.1, 45),
                "reflectance": (0, 1),
                "matte_roughness": (0, 45),
                "gloss_roughness": (0, 45),
                "glare_level": (0, 1000),
                "glare_size": (0.1, 45),
                "glare_offset": (-90, 90),
            },
        )
        check_probability(type(self).__name__, "matte_probability", self.matte_probability)
        check_probability(type(self).__name__, "glare_probability", self.glare_probability)

    def sample(self, rng: np.random.Generator) -> ReflectionParams:
        matte = chance(rng, self.matte_probability)
        roughness = uniform(rng, self.matte_roughness if matte else self.gloss_roughness)
        return ReflectionParams(
            env_seed=new_seed(rng),
            room_level=log_uniform(rng, self.room_level),
            lights=int(rng.integers(int(self.lights[0]), int(self.lights[1]) + 1)),
            light_level=log_uniform(rng, self.light_level),
            light_size=uniform(rng, self.light_size),
            reflectance=uniform(rng, self.reflectance),
            matte=matte,
            roughness=roughness,
            glare=chance(rng, self.glare_probability),
            glare_level=log_uniform(rng, self.glare_level),
            glare_size=uniform(rng, self.glare_size),
            glare_offset=(uniform(rng, self.glare_offset), uniform(rng, self.glare_offset)),
        )


@dataclass(frozen=True)
class ReflectionParams:
    env_seed: int = 0
    room_level: float = 0.1
    lights: int = 0
    light_level: float = 10.0
    light_size: float = 4.0
    reflectance: float = 0.0  # 0 switches reflections off
    matte: bool = False
    roughness: float = 1.0
    glare: bool = False  # a light source mirrored near the face (a specular highlight)
    glare_level: float = 10.0
    glare_size: float = 3.0  # degrees
    glare_offset: tuple[float, float] = (0.0, 0.0)  # degrees from the mirror direction of the face centre

    def environment(self, pose: Pose) -> np.ndarray | None:
        """The room map for a clip whose first frame has ``pose`` (``None`` when reflections are off)."""
        if self.reflectance <= 0:
            return None
        glare = None
        if self.glare:
            mx, my = mirror_direction(pose)
            glare = (mx + self.glare_offset[0], my + self.glare_offset[1], self.glare_level, self.glare_size)
        return environment_map(
            self.env_seed,
            level=self.room_level,
            lights=self.lights,
            light_level=self.light_level,
            light_size=self.light_size,
            roughness=self.roughness,
            glare=glare,
        )


# --------------------------------------------------------------------------------------------------------- camera
@dataclass(frozen=True)
class CaptureRanges:
    """The camera filming the attack and the face crop taken from its frames."""

    # Camera pixels across the face crop, log-uniform: the real replay crops of 16 projects are the cameras' own
    # pixels, 119 / 196 / 268 px high (10th / 50th / 90th percentiles); 48-400 made a third of the synthesized
    # replays blurry upscales (under 100 px) and a seventh crisp downscales (over 300 px).
    sensor_px: tuple[float, float] = (100.0, 300.0)
    # Or, when set, camera pixels per output pixel, log-uniform: ``sensor_px`` = this x the output's longer side
    # (given to ``sample(rng, size=...)``; without a size the absolute range above is used). A real attack image is
    # about the camera's own pixels (a crop pipeline resizes it a little); an absolute sensor on a much larger output
    # upsamples it, a blur no real image of that size shows.
    sensor_scale: tuple[float, float] | None = None
    supersample: int = 2  # sample points per sensor pixel side where panel light is integrated
    # Blur, sharpening, colour and tone fitted to the real replay crops of 16 projects (benchmarks/synth_realism.py
    # --probe, 10th / 50th / 90th percentiles of the 128 px crops, real vs synthesized before this fit): sharpness
    # (log10 var Laplacian) 1.54 / 2.11 / 2.63 vs 0.84 / 1.58 / 2.08, grey std 42 / 61 / 87 vs 26 / 40 / 58,
    # saturation 35 / 62 / 111 vs 35 / 79 / 135, red / green 1.06 / 1.23 / 1.53 vs 1.05 / 1.30 / 1.71. Webcams and
    # phones focus on a screen held up to them, sharpen and tone-map everything, and their auto white balance is
    # off by percents, not tens of percents.
    lens_cutoff: tuple[float, float] = (1.2, 3.0)  # diffraction cutoff, cycles per sensor pixel, log-uniform
    defocus_probability: float = 0.25  # share of captures not quite in focus
    defocus: tuple[float, float] = (0.5, 2.5)  # diameter of the defocus disk when out of focus, sensor pixels
    motion_probability: float = 0.2
    motion_length: tuple[float, float] = (0.5, 3.0)  # camera-shake streak, sensor pixels
    exposure: tuple[float, float] = (0.07, 0.30)  # auto-exposure target, linear mean of the central region
    flare: tuple[float, float] = (0.0, 0.05)  # veiling glare: share of the mean light spread over the frame
    wb_gain: tuple[float, float] = (0.8, 1.25)  # white-balance error of red and of blue relative to green
    # Noise left after the ISP's denoising (the real crops' fine noise, mean |grey - median3|: 0.37 / 0.66 / 1.27;
    # 0.47 / 0.87 / 1.41 synthesized with twice these levels)
    shot_noise: tuple[float, float] = (5e-5, 1e-3)  # variance per unit signal, log-uniform
    read_noise: tuple[float, float] = (5e-4, 4e-3)  # std, log-uniform
    demosaic: dict[str, float] = field(default_factory=lambda: {"bilinear": 0.5, "edge-aware": 0.5})
    camera_gamma: tuple[float, float] = (1.9, 2.5)
    tone_contrast: tuple[float, float] = (0.2, 0.8)  # S-curve strength of the camera's tone curve (capture.tone_lut)
    camera_saturation: tuple[float, float] = (0.6, 1.3)
    sharpen: tuple[float, float] = (0.3, 1.5)  # unsharp-mask amount of the camera's processing: all ISPs sharpen
    codec: dict[str, float] = field(default_factory=lambda: {"jpeg": 0.7, "h264": 0.3})
    jpeg_quality: tuple[float, float] = (35.0, 95.0)
    crf: tuple[float, float] = (20.0, 36.0)  # H.264 constant rate factor
    # The ISP's spatial noise reduction before sharpening (capture.denoise: bilateral colour sigma, 8-bit levels;
    # 0 = none, the noise ranges above being what is left after it). Off here; replays set their own.
    isp_denoise: tuple[float, float] = (0.0, 0.0)
    # The ISP's chroma noise reduction (capture.chroma_smooth: Gaussian sigma of the colour channels, sensor pixels;
    # 0 = none). Off here; replays set their own (ReplayRanges: 0.5-3 px, issue 16 v10).
    chroma_denoise: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        _check_ranges(
            self,
            {
                "sensor_px": (16, 4096),
                "lens_cutoff": (0.05, 100),
                "defocus": (0, 50),
                "motion_length": (0, 50),
                "exposure": (1e-3, 1),
                "flare": (0, 1),
                "wb_gain": (0.2, 5),
                "shot_noise": (0, 0.1),
                "read_noise": (0, 0.2),
                "camera_gamma": (0.5, 4),
                "tone_contrast": (0, 1),
                "camera_saturation": (0, 3),
                "sharpen": (0, 5),
                "jpeg_quality": (1, 100),
                "crf": (0, 51),
                "isp_denoise": (0, 100),
                "chroma_denoise": (0, 20),
            },
        )
        if self.sensor_scale is not None:
            _check_ranges(self, {"sensor_scale": (0.05, 8)})
        if not isinstance(self.supersample, int) or not 1 <= self.supersample <= 8:
            raise ValueError(f"{owner}.supersample: expected an integer in [1, 8], got {self.supersample!r}")
        check_probability(owner, "motion_probability", self.motion_probability)
        check_probability(owner, "defocus_probability", self.defocus_probability)
        check_weights(owner, "demosaic", self.demosaic, cam.DEMOSAIC)
        check_weights(owner, "codec", self.codec, cam.CODECS)

    def sample(self, rng: np.random.Generator, size: tuple[int, int] | None = None) -> CaptureParams:
        """Draw one camera. ``size``: ``(width, height)`` of the output in pixels, used with ``sensor_scale``."""
        moving = chance(rng, self.motion_probability)
        blurred = chance(rng, self.defocus_probability)
        return CaptureParams(
            sensor_px=self._sensor_px(rng, size),
            supersample=self.supersample,
            lens_cutoff=log_uniform(rng, self.lens_cutoff),
            defocus=uniform(rng, self.defocus) if blurred else 0.0,
            motion_length=uniform(rng, self.motion_length) if moving else 0.0,
            motion_angle=uniform(rng, (0.0, 180.0)),
            exposure=uniform(rng, self.exposure),
            flare=uniform(rng, self.flare),
            wb_red=log_uniform(rng, self.wb_gain),
            wb_blue=log_uniform(rng, self.wb_gain),
            shot_noise=log_uniform(rng, self.shot_noise),
            read_noise=log_uniform(rng, self.read_noise),
            demosaic=pick(rng, self.demosaic),
            camera_gamma=uniform(rng, self.camera_gamma),
            camera_saturation=uniform(rng, self.camera_saturation),
            sharpen=uniform(rng, self.sharpen),
            codec=pick(rng, self.codec),
            jpeg_quality=int(round(uniform(rng, self.jpeg_quality))),
            crf=int(round(uniform(rng, self.crf))),
            noise_seed=new_seed(rng),
            tone_contrast=uniform(rng, self.tone_contrast),  # drawn late: the draws before it keep their values
            isp_denoise=uniform(rng, self.isp_denoise),  # drawn late, for the same reason
            chroma_denoise=uniform(rng, self.chroma_denoise),  # drawn last, for the same reason
        )

    def _sensor_px(self, rng: np.random.Generator, size: tuple[int, int] | None) -> int:
        """Camera pixels across the output crop, even (Bayer tiles and H.264); one draw either way."""
        if self.sensor_scale is None or size is None:
            px = log_uniform(rng, self.sensor_px)
        else:
            px = min(max(16.0, log_uniform(rng, self.sensor_scale) * max(size)), 4096.0)
        return 2 * int(round(px / 2))


@dataclass(frozen=True)
class CaptureParams:
    sensor_px: int = 256
    supersample: int = 2
    lens_cutoff: float | None = None  # diffraction cutoff, cycles per sensor pixel; None = a perfect lens
    defocus: float = 0.0  # defocus disk diameter, sensor pixels
    motion_length: float = 0.0
    motion_angle: float = 0.0
    exposure: float = 0.18
    flare: float = 0.0
    wb_red: float = 1.0
    wb_blue: float = 1.0
    shot_noise: float = 0.0
    read_noise: float = 0.0
    demosaic: str = "bilinear"
    camera_gamma: float = 2.2
    tone_contrast: float = 0.0  # S-curve strength of the camera's tone curve, 0-1 (capture.tone_lut)
    camera_saturation: float = 1.0
    sharpen: float = 0.0
    codec: str = "none"
    jpeg_quality: int = 90
    crf: int = 23
    noise_seed: int = 0
    isp_denoise: float = 0.0  # bilateral colour sigma of the ISP's noise reduction, 8-bit levels; 0 = none
    chroma_denoise: float = 0.0  # Gaussian sigma of the ISP's chroma noise reduction, sensor pixels; 0 = none

    def __post_init__(self) -> None:
        owner = type(self).__name__
        if self.sensor_px < 16 or self.sensor_px % 2:
            raise ValueError(f"{owner}.sensor_px must be an even number >= 16, got {self.sensor_px}")
        if not 1 <= self.supersample <= 8:
            raise ValueError(f"{owner}.supersample must be in [1, 8], got {self.supersample}")
        if self.demosaic not in cam.DEMOSAIC:
            raise ValueError(f"{owner}.demosaic: unknown {self.demosaic!r}. Valid values are {set(cam.DEMOSAIC)}.")
        if self.codec not in cam.CODECS:
            raise ValueError(f"{owner}.codec: unknown {self.codec!r}. Valid values are {set(cam.CODECS)}.")
        if not 0 <= self.isp_denoise <= 100:
            raise ValueError(f"{owner}.isp_denoise must be in [0, 100], got {self.isp_denoise}")
        if not 0 <= self.chroma_denoise <= 20:
            raise ValueError(f"{owner}.chroma_denoise must be in [0, 20], got {self.chroma_denoise}")
        if not 0 <= self.tone_contrast <= 1:
            raise ValueError(f"{owner}.tone_contrast must be in [0, 1], got {self.tone_contrast}")
        if self.lens_cutoff is not None and not self.lens_cutoff > 0:
            raise ValueError(f"{owner}.lens_cutoff must be > 0 cycles/pixel (or None), got {self.lens_cutoff}")
        if min(self.defocus, self.motion_length) < 0 or self.exposure <= 0 or not 0 <= self.flare < 1:
            raise ValueError(
                f"{owner}: need defocus, motion_length >= 0, exposure > 0 and 0 <= flare < 1, got "
                f"{self.defocus}, {self.motion_length}, {self.exposure}, {self.flare}"
            )


def background_layer(seed: int, crop: np.ndarray, sensor_px: int, level: float) -> np.ndarray:
    """The scene behind the medium (a wall, shelves), out of focus, fixed in camera coordinates.

    Returns:
        float32 ``[sensor_px, sensor_px, 3]`` linear light relative to the panel's white.
    """
    rng = np.random.default_rng(seed)
    size = 48  # covers camera coordinates [-0.8, 0.8]: about +-39 degrees
    field_ = rng.uniform(0.3, 1.5, (6, 6, 1)) * rng.uniform(0.7, 1.3, (1, 1, 3))
    image = cv2.resize(field_.astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(1, 5))):
        x0, y0 = (int(v) for v in rng.integers(0, size, 2))
        w, h = (int(v) for v in rng.integers(3, size // 2, 2))
        image[y0 : y0 + h, x0 : x0 + w] *= rng.uniform(0.3, 1.8, 3).astype(np.float32)
    image = cv2.GaussianBlur(np.clip(image, 0.05, None), (0, 0), 1.0)
    x0, y0, side = crop
    k = size / 1.6
    # camera coordinate c -> background pixel (c + 0.8) * k - 0.5; sensor pixel u -> camera x0 + (u + 0.5) side / n
    a = side / sensor_px * k
    m = np.array([[a, 0, (x0 + 0.8) * k - 0.5 + 0.5 * a], [0, a, (y0 + 0.8) * k - 0.5 + 0.5 * a]], np.float32)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    out = cv2.warpAffine(image, m, (sensor_px, sensor_px), flags=flags, borderMode=cv2.BORDER_REFLECT)
    return out * np.float32(level)


def capture_clip(
    linear: Sequence[np.ndarray],
    params: CaptureParams,
    out_size: tuple[int, int],
    *,
    meter: tuple[float, float] = (1.0, 0.0),
) -> np.ndarray:
    """Film linear-light frames with the camera and crop them like a face pipeline.

    Steps per frame: veiling glare (lens flare: a share of the mean light spread evenly), auto exposure (metered
    on frame 0, then locked, as webcams settle), white-balance error, RGGB mosaic, shot + read noise, demosaic, tone
    curve, noise reduction, chroma noise reduction, saturation, sharpening; then JPEG per frame or H.264 over the
    clip (at sensor resolution, where a camera compresses), then resize to ``out_size``.

    Args:
        linear: frames ``[n, n, 3]`` float32 (``n = params.sensor_px``), light reaching the sensor.
        params: the camera.
        out_size: ``(width, height)`` of the output frames.
        meter: ``(share, surround)``: the auto exposure meters the crop's centre with weight ``share`` and the rest
            of the camera's frame at linear level ``surround`` (:func:`stasn.synth.capture.auto_exposure_gain`);
            the default meters the crop alone.

    Returns:
        uint8 ``[T, height, width, 3]`` RGB.
    """
    if params.flare > 0:
        linear = [f + np.float32(params.flare) * f.reshape(-1, 3).mean(axis=0) for f in linear]
    gain = cam.auto_exposure_gain(linear[0], params.exposure, share=meter[0], surround=meter[1])
    wb = np.array([params.wb_red, 1.0, params.wb_blue], np.float32) * np.float32(gain)
    lut = cam.tone_lut(params.camera_gamma, params.tone_contrast)
    frames = []
    for t, image in enumerate(linear):
        rng = np.random.default_rng([params.noise_seed, t])
        raw = image * wb
        if params.demosaic == "none":
            noisy = cam.add_sensor_noise(raw, shot=params.shot_noise, read=params.read_noise, rng=rng)
            rgb16 = (noisy * 65535.0 + 0.5).astype(np.uint16)
        else:
            mosaic = cam.add_sensor_noise(
                cam.bayer_mosaic(raw), shot=params.shot_noise, read=params.read_noise, rng=rng
            )
            rgb16 = cam.demosaic((mosaic * 65535.0 + 0.5).astype(np.uint16), params.demosaic)
        out = cam.chroma_smooth(cam.denoise(lut[rgb16], params.isp_denoise), params.chroma_denoise)
        out = cam.unsharp(cam.adjust_saturation(out, params.camera_saturation), params.sharpen)
        frames.append(out)
    clip = np.stack(frames)
    if params.codec == "jpeg":
        clip = np.stack([jpeg_roundtrip(f, params.jpeg_quality) for f in clip])
    elif params.codec == "h264":
        clip = cam.h264_roundtrip(clip, params.crf)
    return np.stack([cam.resize_to(f, *out_size) for f in clip])
