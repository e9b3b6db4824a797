"""Print attacks synthesized from live faces: the face is printed, held up (often bent) and filmed.

Model (``docs/synthesis.md`` has the details and the ranges):

1. **Print.** ONE frame of the live input (a print cannot blink or speak) is separated into C, M, Y, K ink
   coverages, halftoned at the printer's resolution (``"am"`` clustered dots of ``cell_dots`` printer dots, rotated
   per ink, or ``"dither"``, an ordered 8 x 8 pattern of single dots) or, for a photo lab's print on photo paper,
   continuous tone (``"contone"``: no dots), and rendered as reflectance with imperfect inks (colour shift, a grey
   black) on tinted paper with a fibre texture. Optionally the eyes are cut out, so the attacker's real, shadowed
   eyes show through.
2. **Geometry.** The sheet is bent into a cylinder (about a vertical or horizontal axis) and posed in 3D; paper
   margins, background and a holding hand are visible when the detector's crop reaches the sheet's edge.
3. **Light.** The print is lit by the room: an ambient part and a directional part that follows the bend (Lambert),
   a brightness falloff across the sheet, and gloss: the room's reflection weighted by Fresnel's law, sharp on
   glossy photo paper and diffuse on office paper.
4. **Re-capture** as for replays (:mod:`stasn.synth.recapture`): area sampling of the halftone (which aliases into
   moire when the dots are near the camera's pixel size), blur, Bayer, noise, demosaic, tone, codec.

In a clip the same print moves rigidly: one pose with hand-held jitter, no change of expression.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from stasn.labels import AttackType
from stasn.synth import halftone as ht
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
from stasn.synth.camera import srgb_to_linear_image
from stasn.synth.capture import blur_linear
from stasn.synth.geometry import cylinder_maps, jacobian, plane_homography, sensor_homography, surface_optics
from stasn.synth.medium import (
    MediumLayout,
    as_clip,
    content_texture,
    frame_crop,
    image_size,
    max_face_scale,
    medium_layout,
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
    composite_hand,
    rounded_rect_coverage,
    sample_skin,
    sample_surroundings,
)

__all__ = ["PaperPreset", "PAPERS", "PROCESSES", "PrintRanges", "PrintParams", "PrintSynthesizer"]

# How the tones are put on paper: a halftone screen of binary dots (halftone.HALFTONES), or continuous tone ("contone":
# a photo lab's silver-halide or dye-sublimation print, whose dye density varies per point: no dots to resolve).
PROCESSES = (*ht.HALFTONES, "contone")

_MIN_CELL_TEXELS = 2.5  # an AM cell needs this many texels to be drawn as dots; finer screens print as flat tone


@dataclass(frozen=True)
class PaperPreset:
    """A kind of paper. Ranges are ``(low, high)``; numbers are ours (typical of consumer papers)."""

    name: str
    sizes_mm: tuple[tuple[float, float], ...]  # sheet sizes, short x long side
    margin_mm: tuple[float, float]  # white border around the printed image
    white: tuple[float, float]  # reflectance of bare paper
    fibre: tuple[float, float]  # amplitude of the paper's texture
    dmax_reflectance: tuple[float, float]  # reflectance of solid black ink
    gloss: tuple[float, float]  # reflectance at normal incidence of the surface (Fresnel r0)
    roughness: tuple[float, float]  # angular scatter of that reflection, degrees


PAPERS: dict[str, PaperPreset] = {
    # dmax: black-ink density about 1.9-2.4 on glossy photo paper, 1.5-1.9 on matte, 1.15-1.5 on plain office paper
    # (reflectance 10 ** -D); the old 0.05-0.12 for office paper (D 0.9-1.3) printed black as grey.
    "photo-glossy": PaperPreset(
        "photo-glossy", ((102, 152), (127, 178), (152, 203)), (0.0, 3.0), (0.88, 0.93), (0.0, 0.01), (0.004, 0.012),
        (0.03, 0.05), (0.3, 3.0),
    ),
    "photo-matte": PaperPreset(
        "photo-matte", ((102, 152), (127, 178), (210, 297)), (0.0, 5.0), (0.85, 0.92), (0.01, 0.03), (0.012, 0.03),
        (0.02, 0.04), (6.0, 15.0),
    ),
    "office": PaperPreset(
        "office", ((210, 297), (216, 279), (148, 210)), (4.0, 20.0), (0.82, 0.92), (0.02, 0.06), (0.03, 0.07),
        (0.01, 0.03), (12.0, 25.0),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class PrintRanges:
    """Ranges the print parameters are drawn from. All defaults are ours (not from the STASN paper)."""

    papers: dict[str, float] = field(default_factory=lambda: {"photo-glossy": 0.35, "photo-matte": 0.25, "office": 0.4})
    # A print on photo paper comes from a photo lab (continuous tone, "contone") with this probability, else from
    # an inkjet or laser printer (a halftone). NUAA's real prints were photo-lab prints (6.8 x 10.2 cm, "traditional
    # development") and A4 prints from an HP colour printer; at webcam resolution neither shows dots.
    photo_lab_probability: float = 0.7
    # Printer resolution, log-uniform: office lasers and inkjets print at 600-1200 dots per inch (150-300 dpi
    # printers are gone; a 150-dpi print of a face shows its dots to the naked eye).
    dpi: tuple[float, float] = (600.0, 1200.0)
    halftones: dict[str, float] = field(default_factory=lambda: {"am": 0.6, "dither": 0.4})
    # AM screen ruling, lines per inch (cell_dots = dpi / lpi): laser printers screen at 100-200 lpi. The old range
    # (4-10 dots at 150-1200 dpi: 15-300 lpi) made coarse, visible dots that real prints do not show.
    lpi: tuple[float, float] = (100.0, 200.0)
    # face-image width / printed-area width, log-uniform. An attacker prints a portrait in which the face fills
    # most of the photo: in NUAA's real prints the detector's 1.3 x face box spans about half to three quarters of
    # the print's width (from their raw frames), so the crop rarely reaches the paper's edge. The old 0.25-1.2 put
    # small faces on big sheets (the crop saw the halftone magnified and the print's surroundings of the source
    # frame) and large ones whose paper edge cut through the crop.
    face_scale: tuple[float, float] = (0.45, 0.8)
    face_fraction: float = 1 / 1.3  # share of the input that is the face: 1 / CacheInfo.crop_scale
    ink_purity: tuple[float, float] = (0.6, 0.95)
    black_generation: tuple[float, float] = (0.2, 0.9)
    dot_gain: tuple[float, float] = (0.0, 0.2)  # mid-tone darkening from ink spreading
    # Printer tone calibration (PrintSynthesizer._calibration_lut): printers and labs are calibrated, some better
    # than others. Without it blacks printed grey: NUAA's real print crops have 2nd-percentile grey 3 / 16 / 31 (10th
    # / 50th / 90th percentiles), the synthesized ones had 50 / 82 / 112.
    calibration: tuple[float, float] = (0.6, 1.0)
    # Density correction of the print (photo labs' and printer drivers' automatic correction, or the attacker's
    # choice of a well-exposed photo): the face's average linear level, relative to paper white. A webcam frame's
    # face is dark (NUAA live face-centre grey median 83); NUAA's real prints show bright faces (147) at a camera
    # exposure that keeps their blacks black (2nd-percentile grey median 16), i.e. the faces were bright on paper.
    print_exposure: tuple[float, float] = (0.2, 0.45)
    curvature: tuple[float, float] = (0.0, 0.8)  # |1 / bend radius|, inverse content units
    vertical_bend_probability: float = 0.7  # bent about a vertical axis (held by the sides)
    cut_eyes_probability: float = 0.15
    ambient: tuple[float, float] = (0.3, 0.8)  # share of light that is diffuse (no direction)
    light_azimuth: tuple[float, float] = (-60.0, 60.0)  # directional light, degrees from the camera axis
    light_elevation: tuple[float, float] = (-10.0, 60.0)  # degrees above the camera axis
    falloff: tuple[float, float] = (0.0, 0.3)  # brightness drop across the sheet
    hand_probability: float = 0.6
    # Strength of the camera's grey-world auto white balance on the print, 0 (none) .. 1 (the frame's mean colour
    # made neutral). A print held close fills the webcam's frame, and a grey-world AWB pulls a skin-coloured frame
    # towards grey: NUAA's real prints come out near neutral (red / green median 1.02, blue / green 1.01) where its
    # live faces are warm (1.33, 0.93).
    awb: tuple[float, float] = (0.5, 1.0)
    view: ViewRanges = field(default_factory=ViewRanges)
    # The room mirrored in the paper (reflectance and roughness come from the paper). The room's surfaces are lit by
    # the same light as the sheet and reflect less of it than white paper: 0.05-0.5 of paper white (was 0.2-1.2, a
    # veil that lifted the printed blacks).
    reflection: ReflectionRanges = field(
        default_factory=lambda: ReflectionRanges(room_level=(0.05, 0.5), lights=(0, 2), light_level=(3.0, 60.0))
    )
    # The camera as for replays (CaptureRanges' defaults, fitted to real replays), but exposed and coloured for a
    # print: a lit sheet of paper held in front of the attacker fills much of the webcam's frame and comes out
    # bright and pale. Fitted to NUAA's real print crops (benchmarks/synth_realism.py --probe --only print, 10th /
    # 50th / 90th percentiles, real vs synthesized with the replay camera): face-centre grey 120 / 147 / 174 vs
    # 81 / 102 / 143, centre saturation 12 / 27 / 55 vs 13 / 32 / 78. NUAA's print crops are 176 / 255 / 355 webcam
    # pixels wide (the crop boxes of pool-nuaa), so the sensor spans 160-340 px (the replay camera's 100-300 made
    # them softer: log10 var Laplacian 2.31 vs 2.46 median); flare 0-2 % (a lit print has no dark surround to veil).
    capture: CaptureRanges = field(
        default_factory=lambda: CaptureRanges(
            sensor_px=(160.0, 340.0), exposure=(0.2, 0.45), camera_saturation=(0.3, 0.9), flare=(0.0, 0.02)
        )
    )

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_weights(owner, "papers", self.papers, tuple(PAPERS))
        check_weights(owner, "halftones", self.halftones, ht.HALFTONES)
        check_probability(owner, "photo_lab_probability", self.photo_lab_probability)
        if not 0.1 <= self.face_fraction <= 1.0:
            raise ValueError(f"{owner}.face_fraction: expected a value in [0.1, 1], got {self.face_fraction!r}")
        limits = {
            "dpi": (10.0, 10000.0),
            "lpi": (5.0, 1000.0),
            "face_scale": (0.05, 1.0 / self.face_fraction),
            "ink_purity": (0.01, 1.0),
            "black_generation": (0.0, 1.0),
            "dot_gain": (0.0, 1.0),
            "calibration": (0.0, 1.0),
            "print_exposure": (0.0, 1.0),
            "curvature": (0.0, 3.0),
            "ambient": (0.0, 1.0),
            "light_azimuth": (-89.0, 89.0),
            "light_elevation": (-89.0, 89.0),
            "falloff": (0.0, 1.0),
            "awb": (0.0, 1.0),
        }
        for name, (low, high) in limits.items():
            check_range(owner, name, getattr(self, name), low=low, high=high)
        for name in ("vertical_bend_probability", "cut_eyes_probability", "hand_probability"):
            check_probability(owner, name, getattr(self, name))


@dataclass(frozen=True)
class PrintParams:
    """Everything one synthesized print attack was made with. Defaults: a flat, frontal photo, no effects."""

    paper: str = "photo-glossy"
    area_mm: tuple[float, float] = (102.0, 152.0)  # printed image, width x height as held
    margin_mm: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # white border left, top, right, bottom
    paper_white: tuple[float, float, float] = (0.9, 0.9, 0.9)
    fibre: float = 0.0
    fibre_seed: int = 0
    dpi: float = 300.0
    halftone: str = "am"  # "am", "dither" or "contone" (PROCESSES)
    cell_dots: float = 6.0  # AM cell side in printer dots (lpi = dpi / cell_dots)
    screen_phase: tuple[float, float] = (0.0, 0.0)  # halftone screen offset, in cells
    face_scale: float = 0.6
    face_fraction: float = 1 / 1.3
    print_offset: tuple[float, float] = (0.0, 0.0)  # printed area centre vs face, fraction of the slack
    ink_purity: float = 0.9
    black_generation: float = 0.5
    dot_gain: float = 0.0
    calibration: float = 0.0  # how fully the printer's tone curve compensates its inks, 0-1 (_calibration_lut)
    print_exposure: float = 0.0  # face-centre linear level the print's density correction sets (0: none)
    dmax_reflectance: float = 0.03
    curvature: float = 0.0  # signed, inverse content units (> 0: edges towards the camera)
    vertical_axis: bool = True
    cut_eyes: bool = False
    eye_size: float = 1.0  # scale of the cut-out holes
    ambient: float = 1.0
    light_azimuth: float = 0.0
    light_elevation: float = 30.0
    falloff: float = 0.0
    falloff_angle: float = 0.0  # direction of the falloff, degrees
    hand: str = "none"
    hand_along: float = 0.0
    hand_mm: float = 20.0
    hand_reach_mm: float = 8.0
    skin: tuple[int, int, int] = SKIN_TONES[2]
    background_seed: int = 0
    background_level: float = 1.0
    source_frame: float = 0.0  # which frame of a clip is printed, as a fraction of its length
    awb: float = 0.0  # grey-world auto white balance strength, 0-1 (metered on frame 0, then locked)
    view: ViewParams = field(default_factory=ViewParams)
    reflection: ReflectionParams = field(default_factory=ReflectionParams)
    capture: CaptureParams = field(default_factory=CaptureParams)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        checks = [
            (self.paper in PAPERS, f"paper {self.paper!r} unknown; valid: {sorted(PAPERS)}"),
            (self.halftone in PROCESSES, f"halftone {self.halftone!r} unknown; valid: {list(PROCESSES)}"),
            (self.dpi > 0, f"dpi must be > 0, got {self.dpi}"),
            (self.cell_dots >= 1, f"cell_dots must be >= 1, got {self.cell_dots}"),
            (min(self.area_mm) > 0, f"area_mm must be positive, got {self.area_mm}"),
            (min(self.margin_mm) >= 0, f"margin_mm must be >= 0, got {self.margin_mm}"),
            (0 < self.face_fraction <= 1, f"face_fraction must be in (0, 1], got {self.face_fraction}"),
            (
                0 < self.face_scale <= max_face_scale(self.area_mm, self.face_fraction),
                f"face_scale={self.face_scale} puts the face outside a {self.area_mm[0]:g} x {self.area_mm[1]:g} mm "
                f"print; need face_scale <= {max_face_scale(self.area_mm, self.face_fraction):.3g}",
            ),
            (0 < self.ink_purity <= 1, f"ink_purity must be in (0, 1], got {self.ink_purity}"),
            (0 < self.dmax_reflectance < min(self.paper_white), "dmax_reflectance must be in (0, paper white)"),
            (abs(self.curvature) <= 3, f"curvature must be within [-3, 3] (1/content units), got {self.curvature}"),
            (0 <= self.ambient <= 1, f"ambient must be in [0, 1], got {self.ambient}"),
            (0 <= self.source_frame < 1, f"source_frame must be in [0, 1), got {self.source_frame}"),
            (0 <= self.awb <= 1, f"awb must be in [0, 1], got {self.awb}"),
            (0 <= self.calibration <= 1, f"calibration must be in [0, 1], got {self.calibration}"),
            (0 <= self.print_exposure <= 1, f"print_exposure must be in [0, 1], got {self.print_exposure}"),
            (self.hand in ("none", *HAND_SIDES), f"hand {self.hand!r} unknown; valid: none, {', '.join(HAND_SIDES)}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"{owner}.{message}")

    def to_dict(self) -> dict:
        return to_record(self)

    @classmethod
    def from_dict(cls, record: dict) -> PrintParams:
        return from_record(cls, record)


class PrintSynthesizer:
    """Turn live face images or clips into synthesized print attacks.

    Example::

        synth = PrintSynthesizer()
        spoof, params = synth(live_rgb, np.random.default_rng(0))
    """

    kind = "print"
    ranges_type = PrintRanges  # what ``ranges`` takes
    attack_type = AttackType.PRINT_SYNTH.value

    def __init__(self, ranges: PrintRanges | None = None) -> None:
        self.ranges = ranges if ranges is not None else PrintRanges()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(papers={self.ranges.papers})"

    def sample_params(self, rng: np.random.Generator, size: tuple[int, int] | None = None) -> PrintParams:
        """Draw one print attack's parameters (deterministic for a seeded generator); ``size``: the output's
        ``(width, height)`` (see :meth:`~stasn.synth.ReplaySynthesizer.sample_params`)."""
        r = self.ranges
        paper = PAPERS[pick(rng, r.papers)]
        short, long = paper.sizes_mm[int(rng.integers(len(paper.sizes_mm)))]
        portrait = chance(rng, 0.75)
        margins = tuple(uniform(rng, paper.margin_mm) for _ in range(4))
        sheet = (short, long) if portrait else (long, short)
        area = (max(10.0, sheet[0] - margins[0] - margins[2]), max(10.0, sheet[1] - margins[1] - margins[3]))
        white = uniform(rng, paper.white)
        tint = rng.uniform(-0.02, 0.02, 3) + np.array([0.0, 0.0, 0.01])  # optical brighteners look bluish
        reflection = dataclasses.replace(
            r.reflection.sample(rng),
            reflectance=uniform(rng, paper.gloss),
            roughness=uniform(rng, paper.roughness),
            matte=paper.name != "photo-glossy",
        )
        held = chance(rng, r.hand_probability)
        skin = sample_skin(rng)
        dpi = log_uniform(rng, r.dpi)
        lab = paper.name != "office" and chance(rng, r.photo_lab_probability)
        return PrintParams(
            paper=paper.name,
            area_mm=area,
            margin_mm=margins,
            paper_white=tuple(float(v) for v in np.clip(white + tint, 0.5, 0.98)),
            fibre=uniform(rng, paper.fibre),
            fibre_seed=new_seed(rng),
            dpi=dpi,
            halftone="contone" if lab else pick(rng, r.halftones),
            cell_dots=dpi / log_uniform(rng, r.lpi),
            screen_phase=(uniform(rng, (0.0, 1.0)), uniform(rng, (0.0, 1.0))),
            face_scale=min(log_uniform(rng, r.face_scale), max_face_scale(area, r.face_fraction)),
            face_fraction=r.face_fraction,
            print_offset=(uniform(rng, (-1.0, 1.0)), uniform(rng, (-1.0, 1.0))),
            ink_purity=uniform(rng, r.ink_purity),
            black_generation=uniform(rng, r.black_generation),
            dot_gain=uniform(rng, r.dot_gain),
            dmax_reflectance=uniform(rng, paper.dmax_reflectance),
            curvature=uniform(rng, r.curvature) * (1.0 if chance(rng, 0.7) else -1.0),
            vertical_axis=chance(rng, r.vertical_bend_probability),
            cut_eyes=chance(rng, r.cut_eyes_probability),
            eye_size=uniform(rng, (0.8, 1.3)),
            ambient=uniform(rng, r.ambient),
            light_azimuth=uniform(rng, r.light_azimuth),
            light_elevation=uniform(rng, r.light_elevation),
            falloff=uniform(rng, r.falloff),
            falloff_angle=uniform(rng, (0.0, 360.0)),
            # The thumb's reach counts from the sheet's edge, its white margin included (a replay's counts from the
            # screen's edge, past the bezel): 4-20 mm, ours.
            **sample_surroundings(rng, held=held, reach_mm=(4.0, 20.0), skin=skin),
            source_frame=uniform(rng, (0.0, 0.999)),
            view=r.view.sample(rng),
            reflection=reflection,
            capture=r.capture.sample(rng, size),
            awb=uniform(rng, r.awb),  # drawn last: the draws before it keep their values
            calibration=uniform(rng, r.calibration),
            print_exposure=uniform(rng, r.print_exposure),
        )

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, PrintParams]:
        params = self.sample_params(rng, image_size(image))
        return self.apply(image, params), params

    # ------------------------------------------------------------------------------------------------- render
    def halftone_period_px(self, params: PrintParams, size: tuple[int, int]) -> float:
        """Period of the halftone screen in output pixels at the face centre of frame 0 (for checks and docs)."""
        lay = self._layout(params, *size)
        crop = frame_crop(params.view.pose, lay.half, params.view)
        hs = sensor_homography(plane_homography(params.view.pose), crop, params.capture.sensor_px)
        sensor_per_unit = math.sqrt(abs(np.linalg.det(jacobian(hs, (0.0, 0.0)))))
        dots = 1.0 if params.halftone == "dither" else params.cell_dots
        return dots / self._dots_per_unit(params, lay) * sensor_per_unit * size[0] / params.capture.sensor_px

    @staticmethod
    def _layout(p: PrintParams, width: int, height: int) -> MediumLayout:
        return medium_layout(
            width=width,
            height=height,
            face_scale=p.face_scale,
            face_fraction=p.face_fraction,
            offset=p.print_offset,
            area_mm=p.area_mm,
            margin_mm=p.margin_mm,
        )

    @staticmethod
    def _dots_per_unit(p: PrintParams, lay: MediumLayout) -> float:
        return p.dpi / 25.4 / lay.unit_per_mm

    def apply(self, image: np.ndarray, params: PrintParams) -> np.ndarray:
        """Render the print attack of ``image`` (``[H, W, 3]`` or ``[T, H, W, 3]`` uint8 RGB); same shape out.

        A clip's frames are all made from ONE input frame (``params.source_frame``): a print does not move inside.
        """
        clip, single = as_clip(image)
        num_frames, height, width = clip.shape[:3]
        p, cap = params, params.capture
        n, m = cap.sensor_px, cap.supersample
        source = clip[min(int(p.source_frame * num_frames), num_frames - 1)]
        lay = self._layout(p, width, height)
        poses = p.view.poses(num_frames)
        bend = {"curvature": p.curvature, "vertical_axis": p.vertical_axis}
        crops = [frame_crop(pose, lay.half, p.view, **bend) for pose in poses]
        maps = [cylinder_maps(pose, crop, n, supersample=m, **bend) for pose, crop in zip(poses, crops, strict=True)]
        # The printed sheet, once per clip, over everything any frame sees.
        xs_all = np.array([[mx.min(), mx.max()] for mx, _ in maps])
        ys_all = np.array([[my.min(), my.max()] for _, my in maps])
        left, top, right, bottom = lay.area
        extent = (
            max(left, xs_all[:, 0].min()),
            max(top, ys_all[:, 0].min()),
            min(right, xs_all[:, 1].max()),
            min(bottom, ys_all[:, 1].max()),
        )
        hs0 = sensor_homography(plane_homography(poses[0]), crops[0], n)
        sensor_per_unit = float(np.linalg.svd(jacobian(hs0, (0.0, 0.0)), compute_uv=False)[0])
        texture, x0, y0, kt = self._print_texture(source, lay, p, extent, 1.5 * m * sensor_per_unit)
        env = p.reflection.environment(poses[0])
        linear = []
        for pose, crop, (mx, my) in zip(poses, crops, maps, strict=True):
            reflectance = cv2.remap(
                texture, (mx - x0) * kt - 0.5, (my - y0) * kt - 0.5, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
            reflectance = blur_linear(
                reflectance,
                lens_cutoff=None if cap.lens_cutoff is None else cap.lens_cutoff / m,
                defocus=cap.defocus * m,
                motion_length=cap.motion_length * m,
                motion_angle=cap.motion_angle,
            )
            reflectance = cv2.resize(reflectance, (n, n), interpolation=cv2.INTER_AREA)
            xs = cv2.resize(mx, (n, n), interpolation=cv2.INTER_AREA)
            ys = cv2.resize(my, (n, n), interpolation=cv2.INTER_AREA)
            optics = surface_optics(pose, crop, n, **bend)
            light = self._illumination(p, optics.normal, xs, ys, lay)
            linear.append(self._composite(reflectance, light, optics, env, xs, ys, crop, lay, p))
        if p.awb > 0:  # grey-world white balance, metered on frame 0 and locked (as the exposure)
            mean = linear[0].reshape(-1, 3).mean(axis=0) + 1e-6
            gains = ((mean[1] / mean) ** p.awb).astype(np.float32)
            linear = [frame * gains for frame in linear]
        out = capture_clip(linear, cap, (width, height))
        return out[0] if single else out

    def _print_texture(
        self, frame: np.ndarray, lay: MediumLayout, p: PrintParams, extent: tuple, cap_kt: float
    ) -> tuple[np.ndarray, float, float, float]:
        """Linear reflectance of the printed area, ``([th, tw, 3] float32, x0, y0, kt)`` as in the replay texture."""
        dots_per_unit = self._dots_per_unit(p, lay)
        kt = min(cap_kt, 4.0 * dots_per_unit)  # never finer than a quarter printer dot
        ext_l, ext_t, ext_r, ext_b = extent
        x0, y0 = ext_l - 2.0 / kt, ext_t - 2.0 / kt
        tw = max(2, int(math.ceil((ext_r - x0) * kt)) + 3)
        th = max(2, int(math.ceil((ext_b - y0) * kt)) + 3)
        ink = {"purity": p.ink_purity, "dmax_reflectance": p.dmax_reflectance, "paper": p.paper_white}
        if p.print_exposure > 0:
            frame = self._print_exposure(frame, p.print_exposure)
        if p.calibration > 0:
            frame = self._calibration_lut(p, ink)[frame]
        # Inks are separated at the image's own resolution (cheaper), then placed on the texture.
        cover = self._coverage(frame, p)
        dot_texels = kt / dots_per_unit
        period = p.cell_dots * dot_texels if p.halftone == "am" else dot_texels
        resolved = period >= _MIN_CELL_TEXELS if p.halftone == "am" else dot_texels >= 1.0
        resolved = resolved and p.halftone != "contone"
        if resolved:
            # Screens are anchored to the printed area's corner, so a clip's frames share one dot pattern.
            cell = p.cell_dots * dot_texels
            shift = (
                (x0 - lay.area[0]) * kt + p.screen_phase[0] * cell,
                (y0 - lay.area[1]) * kt + p.screen_phase[1] * cell,
            )
            screens = np.stack(
                [
                    ht.screen_thresholds((th, tw), kind=p.halftone, period=period, angle=angle, offset=shift)
                    for angle in ht.SCREEN_ANGLES
                ],
                axis=-1,
            )
            coverage = content_texture(cover, lay.half, x0, y0, kt, (tw, th))
            reflectance = ht.halftone_reflectance(coverage, screens, ht.neugebauer_primaries(**ink))
        else:  # continuous tone, or dots far below the camera's resolution: only their average survives
            reflectance = content_texture(ht.ink_reflectance(cover, **ink), lay.half, x0, y0, kt, (tw, th))
        reflectance *= ht.paper_texture(
            (th, tw), texels_per_mm=kt * lay.unit_per_mm, amplitude=p.fibre, seed=p.fibre_seed
        )[..., None]
        if p.cut_eyes:
            behind = (frame.astype(np.float32) / 255.0) ** 2.2 * 0.45  # real eyes, shadowed by the sheet
            behind = content_texture(behind, lay.half, x0, y0, kt, (tw, th))
            reflectance = self._cut_eyes(reflectance, behind, lay, p, x0, y0, kt)
        return reflectance.astype(np.float32), float(x0), float(y0), float(kt)

    @staticmethod
    def _print_exposure(frame: np.ndarray, level: float) -> np.ndarray:
        """The print's density correction: the image's linear light scaled so that its central half (the face)
        averages ``level`` of paper white; brighter parts clip to paper white."""
        linear = srgb_to_linear_image(frame)
        h, w = frame.shape[:2]
        centre = linear[h // 4 : h - h // 4, w // 4 : w - w // 4] @ np.array([0.2126, 0.7152, 0.0722], np.float32)
        linear = np.clip(linear * np.float32(level / max(float(centre.mean()), 1e-4)), 0.0, 1.0)
        return np.round(255.0 * (1.055 * linear ** (1 / 2.4) - 0.055)).clip(0, 255).astype(np.uint8)

    @staticmethod
    def _coverage(frame: np.ndarray, p: PrintParams) -> np.ndarray:
        """C, M, Y, K ink coverages of a uint8 RGB image, dot gain included."""
        cover = ht.cmyk_coverage(frame, black_generation=p.black_generation)
        if p.dot_gain > 0:
            cover = np.clip(cover + np.float32(4.0 * p.dot_gain) * cover * (1.0 - cover), 0.0, 1.0)
        return cover

    @classmethod
    def _calibration_lut(cls, p: PrintParams, ink: dict) -> np.ndarray:
        """The printer's tone calibration, a uint8 LUT applied to the image before its inks are separated.

        Uncalibrated, our naive separation (CMY complement, partial black, imperfect inks, dot gain) prints the grey
        ramp with lifted, flat shadows: a black 12/255 came out at a reflectance of ~0.08, twice the paper's
        ``dmax``. Printers and photo labs are calibrated so that the printed grey ramp follows the image's tones
        (sRGB to linear) from paper white down to the darkest black the inks reach; ``calibration`` blends that
        correction (1) with none (0).
        """
        ramp = np.repeat(np.arange(256, dtype=np.uint8)[:, None, None], 3, axis=2)  # [256, 1, 3] greys
        reflectance = ht.ink_reflectance(cls._coverage(ramp, p), **ink)[:, 0]
        luma = np.maximum.accumulate(reflectance @ np.array([0.2126, 0.7152, 0.0722], np.float32))
        linear = srgb_to_linear_image(np.arange(256, dtype=np.uint8)).astype(np.float64)
        target = luma[0] + (luma[-1] - luma[0]) * linear
        wanted = np.interp(target, luma + np.arange(256) * 1e-9, np.arange(256.0))  # strictly increasing for interp
        lut = (1.0 - p.calibration) * np.arange(256.0) + p.calibration * wanted
        return np.clip(np.round(lut), 0, 255).astype(np.uint8)

    @staticmethod
    def _cut_eyes(
        reflectance: np.ndarray, behind: np.ndarray, lay: MediumLayout, p: PrintParams, x0: float, y0: float, kt: float
    ) -> np.ndarray:
        """Holes at the eyes: the attacker's own eyes show through, in the shadow of the sheet, with a dark rim."""
        hw, hh = lay.half
        ff = p.face_fraction
        # Eye positions of a typical detector face box (ours): 38 % down the box, 21 % of its width off centre.
        eye_y = -hh * ff + 0.76 * hh * ff
        holes = np.zeros(reflectance.shape[:2], np.float32)
        rim = np.zeros_like(holes)
        for side in (-1, 1):
            cx, cy = (side * 0.42 * hw * ff - x0) * kt, (eye_y - y0) * kt
            axes = (0.15 * hw * ff * kt * p.eye_size, 0.08 * hh * ff * kt * p.eye_size)
            centre = (int(round(cx * 4)), int(round(cy * 4)))
            size = (max(1, int(round(axes[0] * 4))), max(1, int(round(axes[1] * 4))))
            cv2.ellipse(holes, centre, size, 0, 0, 360, 1.0, -1, cv2.LINE_AA, 2)
            thick = max(1, int(round(0.015 * hw * kt * 4)))
            cv2.ellipse(rim, centre, size, 0, 0, 360, 1.0, thick, cv2.LINE_AA, 2)
        holes = holes[..., None]
        out = reflectance * (1.0 - holes) + behind * holes
        return out * (1.0 - 0.7 * rim[..., None])

    @staticmethod
    def _illumination(
        p: PrintParams, normal: np.ndarray, xs: np.ndarray, ys: np.ndarray, lay: MediumLayout
    ) -> np.ndarray:
        """Irradiance on the sheet relative to a flat, frontal sheet: ambient + Lambert + falloff, ``[n, n, 1]``."""
        az, el = math.radians(p.light_azimuth), math.radians(p.light_elevation)
        towards_light = np.array([math.sin(az) * math.cos(el), -math.sin(el), -math.cos(az) * math.cos(el)])
        lambert = np.clip(normal @ towards_light.astype(np.float32), 0.0, None) / max(math.cos(az) * math.cos(el), 0.2)
        light = p.ambient + (1.0 - p.ambient) * lambert
        if p.falloff > 0:
            a = math.radians(p.falloff_angle)
            span = max(lay.body[2] - lay.body[0], lay.body[3] - lay.body[1])
            light = light * (1.0 - p.falloff * (0.5 + (xs * math.cos(a) + ys * math.sin(a)) / span))
        return np.clip(light, 0.0, None)[..., None].astype(np.float32)

    @staticmethod
    def _composite(
        reflectance: np.ndarray,
        light: np.ndarray,
        optics,
        env: np.ndarray | None,
        xs: np.ndarray,
        ys: np.ndarray,
        crop: np.ndarray,
        lay: MediumLayout,
        p: PrintParams,
    ) -> np.ndarray:
        n = p.capture.sensor_px
        pixel = float(crop[2] / n * p.view.pose.distance)  # medium units per sensor pixel (near the centre)
        gloss = None
        if env is not None:
            gloss = reflection_layer(env, optics, r0=p.reflection.reflectance)
        left, top, right, bottom = lay.area
        inside = xs.min() > left and xs.max() < right and ys.min() > top and ys.max() < bottom
        if inside:
            image = reflectance * light
            return image if gloss is None else image + gloss
        area = rounded_rect_coverage(xs, ys, lay.area, 0.0, pixel)[..., None]
        sheet = rounded_rect_coverage(xs, ys, lay.body, 0.5 * lay.unit_per_mm, pixel)[..., None]
        paper = np.asarray(p.paper_white, np.float32)
        room = p.reflection.room_level
        background = background_layer(p.background_seed, crop, n, room * p.background_level)
        front = (reflectance * area + paper * (sheet - area)) * light
        if gloss is not None:
            front = front + gloss * sheet
        image = background * (1.0 - sheet) + front
        if p.hand != "none":
            unit = lay.unit_per_mm
            hw, hh = lay.half
            ff = p.face_fraction
            image = composite_hand(
                image,
                xs,
                ys,
                body=lay.body,
                face=(-hw * ff, -hh * ff, hw * ff, hh * ff),
                side=p.hand,
                along=p.hand_along,
                size=p.hand_mm * unit,
                wanted_reach=p.hand_reach_mm * unit,  # from the sheet's edge (see sample_params)
                pixel=pixel,
                skin=p.skin,
                # A print is lit, not luminous, so the hand holding it is lit like the sheet: it takes the sheet's
                # illumination `light` (ambient + directional + falloff), which a replay's hand does not. Its gain,
                # max(room, 0.3) * 1.2, is ours, not measured; the 0.3 floor keeps the hand from going black in a
                # dim room (room_level is drawn from 0.2 up).
                skin_gain=max(room, 0.3) * 1.2,
                light=light,
            )
        return image.astype(np.float32)
