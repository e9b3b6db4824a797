"""Device templates: videos of a real device showing the marker board, turned into per-frame screen quads, masks and
light estimates that template-mode synthesis composites live faces into (:mod:`stasn.synth.template_replay`).

``stasn templates extract VIDEO... --out TEMPLATES`` (:func:`extract_templates`) reads every frame of every video:

1. **Find the screen.** ``cv2.aruco.CharucoDetector`` finds the board's markers and its inner corners; each corner
   is refined again to a sub-pixel position (``cv2.cornerSubPix``, in a window kept inside the checker pattern); the
   corners' known screen positions (:mod:`stasn.synth.markers`) give a homography from the screen to the frame
   (RANSAC, then a least-squares fit on the inliers), and through it the screen's four corners.
   A frame is dropped, and counted, when fewer than ``min_corners`` corners are found or they span less than half
   the board in either direction (``few_markers``), or when the fit leaves an RMS error above ``max_rms`` pixels
   (``bad_fit``).
2. **Smooth.** Each corner's track is smoothed over time with a Savitzky-Golay filter (quadratic, ``smooth`` frames)
   within runs of consecutive kept frames: it removes the detector's jitter and keeps constant accelerations exact.
3. **Light.** The board's expected appearance (the board warped by the final quad) is compared with the frame in
   linear light (a 2.2 power law is assumed for the camera's tone curve): per pixel, ``frame = gain * board +
   reflection``, both smooth over the screen. ``reflection`` is the frame minus the board's expected appearance,
   blurred over about a square: the room mirrored in the glass, the glare and the panel's own black level. Pixels
   inside the quad the model cannot explain (a thumb, a sharp glare spot) are *occluders*: they are left out of the
   mask, so they stay in front of the face a template composites.

Folder layout of ``TEMPLATES``::

    board.json, boards/               the boards (stasn collect template)
    templates.json                    the index: one entry per extracted video (a "clip"), one per kept frame
    <clip>/frames/000012.jpg          the camera frame, JPEG quality 95
    <clip>/masks/000012.png           screen coverage 0-255: the anti-aliased quad minus occluders
    <clip>/light/000012.npz           gain and reflection, float16 [H/8, W/8, 3], linear light

A clip is written to a temporary folder and renamed into place, and the index is rewritten atomically, so an
interrupted extraction leaves the previous state of the folder.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import math
import shutil
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from stasn.data.video import VideoFile, read_image
from stasn.errors import DataError
from stasn.fileio import write_bytes_atomic, write_text_atomic
from stasn.synth.markers import BoardLayout, read_boards

__all__ = [
    "TEMPLATES_JSON",
    "ScreenFit",
    "BoardFinder",
    "smooth_quads",
    "quad_coverage",
    "ScreenLight",
    "screen_light",
    "ClipSummary",
    "ExtractSummary",
    "extract_templates",
    "TemplateFrame",
    "TemplateClip",
    "TemplateSet",
    "to_linear",
]

log = logging.getLogger(__name__)

TEMPLATES_JSON = "templates.json"
LIGHT_SCALE = 8  # gain and reflection are stored at 1/8 of the frame's resolution: they are smooth by construction
_GAMMA = 2.2  # the camera tone curve assumed when turning frames into linear light (and back)
_LINEAR = ((np.arange(256) / 255.0) ** _GAMMA).astype(np.float32)


def to_linear(image: np.ndarray) -> np.ndarray:
    """uint8 camera values -> linear light in [0, 1] (float32, same shape), under the assumed 2.2 power law."""
    return _LINEAR[image]


# ------------------------------------------------------------------------------------------------ finding the screen
class ScreenFit(NamedTuple):
    """Where the screen is in one frame."""

    quad: np.ndarray  # float64 [4, 2]: the screen's corners, clockwise from its top-left, frame pixels
    corners: int  # board corners found
    markers: int  # markers found
    rms: float  # RMS distance of the corners from the fitted homography, pixels


class BoardFinder:
    """Find the screen showing ``layout``'s board in frames.

    Args:
        layout: the board the screen shows.
        min_corners: fewer board corners than this drop the frame (``few_markers``).
        max_rms: a homography fit worse than this many pixels RMS drops the frame (``bad_fit``).
    """

    def __init__(self, layout: BoardLayout, *, min_corners: int = 8, max_rms: float = 1.5) -> None:
        if min_corners < 4:
            raise ValueError(f"min_corners must be >= 4 (a homography needs four points), got {min_corners}")
        self.layout = layout
        self.min_corners = min_corners
        self.max_rms = max_rms
        charuco_params = cv2.aruco.CharucoParameters()
        # A corner needs one neighbouring marker, not two, and markers missed at first are searched for again where
        # the board says they must be: on a small, blurred, compressed screen this finds ~all corners instead of
        # half. Every corner is refined on the image (cornerSubPix) and RANSAC drops the odd wrong one.
        charuco_params.minMarkers = 1
        charuco_params.tryRefineMarkers = True
        self._detector = cv2.aruco.CharucoDetector(layout.board(), charuco_params, cv2.aruco.DetectorParameters())
        self._positions = layout.corner_positions()
        self._extent = np.ptp(self._positions, axis=0)

    def find(self, grey: np.ndarray) -> tuple[ScreenFit | None, str]:
        """Locate the screen in one ``[H, W]`` uint8 grey frame.

        Returns:
            ``(fit, "ok")``, or ``(None, "few_markers" | "bad_fit")``.
        """
        corners, ids, _, marker_ids = self._detector.detectBoard(grey)
        markers = 0 if marker_ids is None else len(marker_ids)
        if ids is None or len(ids) < self.min_corners:
            return None, "few_markers"
        image_pts = corners.reshape(-1, 2).astype(np.float64)
        screen_pts = self._positions[ids.ravel()]
        if (np.ptp(screen_pts, axis=0) < 0.5 * self._extent).any():
            # Corners found on less than half the board along one side: the screen's far corners would be
            # extrapolated too far (a perspective error of a tenth of a pixel there becomes several at the corners).
            return None, "few_markers"
        hom, inliers = cv2.findHomography(screen_pts, image_pts, cv2.RANSAC, 2.0)
        if hom is None or int(inliers.sum()) < self.min_corners:
            return None, "bad_fit"
        image_pts = self._refine(grey, image_pts, screen_pts, hom)
        hom, inliers = cv2.findHomography(screen_pts, image_pts, cv2.RANSAC, 1.0)
        if hom is None or int(inliers.sum()) < self.min_corners:
            return None, "bad_fit"
        keep = inliers.ravel().astype(bool)
        hom, _ = cv2.findHomography(screen_pts[keep], image_pts[keep], 0)  # least squares (+ LM) on the inliers
        if hom is None:
            return None, "bad_fit"
        residual = _project(hom, screen_pts[keep]) - image_pts[keep]
        rms = float(np.sqrt((residual**2).sum(axis=1).mean()))
        if rms > self.max_rms:
            return None, "bad_fit"
        quad = _project(hom, self.layout.screen_corners())
        return ScreenFit(quad, int(keep.sum()), markers, rms), "ok"

    def _refine(self, grey: np.ndarray, image_pts: np.ndarray, screen_pts: np.ndarray, hom: np.ndarray) -> np.ndarray:
        """Refine every corner on the image again with a window that stays inside the checker pattern.

        ArUco markers sit 0.15 of a square's side inside their white squares; a corner window reaching into them is
        pulled towards their bits (by pixels once the image is blurred and compressed). The window's half side is
        0.15 of the square's side in the image, measured through the first fit.
        """
        step = self.layout.square_px
        here = _project(hom, screen_pts)
        side = np.minimum(
            np.linalg.norm(_project(hom, screen_pts + [step, 0]) - here, axis=1),
            np.linalg.norm(_project(hom, screen_pts + [0, step]) - here, axis=1),
        )
        half = int(np.clip(round(0.15 * float(np.median(side))), 2, 15))
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 40, 0.005)
        points = image_pts.astype(np.float32).reshape(-1, 1, 2)
        return cv2.cornerSubPix(grey, points, (half, half), (-1, -1), criteria).reshape(-1, 2).astype(np.float64)


def _project(hom: np.ndarray, points: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(points.reshape(-1, 1, 2).astype(np.float64), hom).reshape(-1, 2)


@functools.lru_cache(maxsize=8)
def _savgol(window: int) -> np.ndarray:
    """Savitzky-Golay weights (quadratic) for the centre of ``window`` samples."""
    offsets = np.arange(window) - window // 2
    basis = np.vander(offsets, 3, increasing=True).astype(np.float64)
    return np.linalg.pinv(basis)[0]


def smooth_quads(quads: Sequence[np.ndarray | None], *, window: int = 5) -> list[np.ndarray | None]:
    """Smooth each corner's track over time (Savitzky-Golay, quadratic, ``window`` frames).

    Only frames whose whole window is made of found quads (``None`` = dropped frame) are smoothed; the others, at the
    ends of runs, keep their own quad. ``window`` < 3 returns the quads unchanged.
    """
    out = [None if q is None else np.asarray(q, np.float64) for q in quads]
    if window < 3:
        return out
    if window % 2 == 0:
        raise ValueError(f"smoothing window must be odd, got {window}")
    weights = _savgol(window)
    half = window // 2
    for t in range(half, len(quads) - half):
        span = quads[t - half : t + half + 1]
        if any(q is None for q in span):
            continue
        out[t] = np.tensordot(weights, np.stack(span).astype(np.float64), axes=1)
    return out


# -------------------------------------------------------------------------------------------------- mask and light
def quad_coverage(quad: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Anti-aliased coverage of a convex quadrilateral: float32 ``[H, W]`` in [0, 1] (``size = (W, H)``).

    A pixel's coverage is ``0.5 + signed distance`` of its centre to the nearest edge, clipped: exact for straight
    edges far from corners, a one-pixel ramp across each edge.
    """
    width, height = size
    quad = np.asarray(quad, np.float64)
    if _signed_area(quad) < 0:  # make it clockwise in image coordinates (y down), so inside is on the right
        quad = quad[::-1]
    x0, y0 = (max(0, int(math.floor(v)) - 1) for v in quad.min(axis=0))
    x1, y1 = min(width, int(math.ceil(quad[:, 0].max())) + 2), min(height, int(math.ceil(quad[:, 1].max())) + 2)
    out = np.zeros((height, width), np.float32)
    if x1 <= x0 or y1 <= y0:
        return out
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    inside = np.full(xx.shape, np.inf)
    for a, b in zip(quad, np.roll(quad, -1, axis=0), strict=True):
        edge = b - a
        normal = np.array([-edge[1], edge[0]]) / max(np.hypot(*edge), 1e-9)  # points inside for a clockwise quad
        inside = np.minimum(inside, (xx - a[0]) * normal[0] + (yy - a[1]) * normal[1])
    out[y0:y1, x0:x1] = np.clip(0.5 + inside, 0.0, 1.0)
    return out


def _signed_area(quad: np.ndarray) -> float:
    x, y = quad[:, 0], quad[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


class ScreenLight(NamedTuple):
    """What :func:`screen_light` estimates for one frame."""

    mask: np.ndarray  # uint8 [H, W]: screen coverage 0-255, occluders removed
    gain: np.ndarray  # float32 [H/8, W/8, 3]: linear camera value of the panel's white
    reflection: np.ndarray  # float32 [H/8, W/8, 3]: linear light added by the glass (and the panel's black)
    noise: float  # std of the camera noise on the screen, 8-bit levels
    occluded: float  # share of the quad's area taken by occluders


@functools.lru_cache(maxsize=16)
def _board_level(layout: BoardLayout, level: int) -> np.ndarray:
    """The board's image in linear light, shrunk by ``2 ** level`` (area-averaged): float32 ``[h, w, 3]``."""
    image = _LINEAR[layout.image()]
    if level > 0:
        w, h = layout.screen
        small = (max(4, round(w / 2**level)), max(4, round(h / 2**level)))
        image = cv2.resize(image, small, interpolation=cv2.INTER_AREA)
    image.flags.writeable = False
    return image


def _expected_board(layout: BoardLayout, quad: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, tuple]:
    """The board as the camera would see it through ``quad`` (linear, [0, 1], float32 ``[h, w, 3]`` over the quad's
    bounding box ``(x0, y0, x1, y1)``), blurred by about a pixel like a camera's optics."""
    width, height = size
    x0, y0 = (max(0, int(math.floor(v)) - 2) for v in quad.min(axis=0))
    x1, y1 = min(width, int(math.ceil(quad[:, 0].max())) + 3), min(height, int(math.ceil(quad[:, 1].max())) + 3)
    # A pre-shrunk board (a mipmap level) so the warp minifies by at most ~2: no aliased square edges.
    w, h = layout.screen
    projected = max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[1]), 1.0)
    image = _board_level(layout, max(0, int(math.log2(max(1.0, max(w, h) / (2.0 * projected))))))
    small = (image.shape[1], image.shape[0])
    src = np.array(
        [[-0.5, -0.5], [small[0] - 0.5, -0.5], [small[0] - 0.5, small[1] - 0.5], [-0.5, small[1] - 0.5]], np.float32
    )
    dst = (quad - np.array([x0, y0])).astype(np.float32)
    hom = cv2.getPerspectiveTransform(src, dst)
    box = (x1 - x0, y1 - y0)
    warped = cv2.warpPerspective(image, hom, box, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.GaussianBlur(warped, (0, 0), 0.8), (x0, y0, x1, y1)


def _normalized_blur(values: np.ndarray, weights: np.ndarray, sigma: float) -> np.ndarray:
    """Weighted local mean of ``values`` (``[h, w, C]``, weights of the same shape): a smooth fill of the weighted
    pixels, per channel."""
    num = cv2.GaussianBlur(values * weights, (0, 0), sigma)
    den = cv2.GaussianBlur(weights, (0, 0), sigma)
    return (num / np.maximum(den, 1e-6)).reshape(values.shape)


def screen_light(frame: np.ndarray, layout: BoardLayout, quad: np.ndarray) -> ScreenLight:
    """Estimate the screen's mask, gain and reflection in one frame (``[H, W, 3]`` uint8 RGB) from its quad."""
    height, width = frame.shape[:2]
    size = (width, height)
    coverage = quad_coverage(quad, size)
    expected, (x0, y0, x1, y1) = _expected_board(layout, quad, size)
    lin = _LINEAR[frame[y0:y1, x0:x1]]
    cover = coverage[y0:y1, x0:x1]
    # Work at 1/4 resolution (the estimates are smooth); flat = pixels whose 5 x 5 neighbourhood on the board is one
    # colour, so a slightly misplaced square edge cannot pass for a change of light.
    span = cv2.dilate(expected, np.ones((5, 5), np.uint8)) - cv2.erode(expected, np.ones((5, 5), np.uint8))
    flat = (_channel_max(span) < 0.05) & (cv2.erode(cover, np.ones((7, 7), np.uint8)) > 0.99)
    # The range a pixel may take: the board's darkest and brightest value within one pixel (the quads are good to a
    # fraction of a pixel, the expected board is already blurred like a camera).
    lo_e = cv2.erode(expected, np.ones((3, 3), np.uint8))
    hi_e = cv2.dilate(expected, np.ones((3, 3), np.uint8))
    square = layout.square_px * math.sqrt(max(abs(cv2.contourArea(quad.astype(np.float32))), 1.0)
                                          / (layout.screen[0] * layout.screen[1]))  # fmt: skip
    sigma = max(2.0, 1.5 * square / 4.0)  # 1.5 squares, at 1/4 resolution
    q = 4
    small = (max(1, (x1 - x0) // q), max(1, (y1 - y0) // q))
    shrink = functools.partial(cv2.resize, dsize=small, interpolation=cv2.INTER_AREA)
    lin_s = shrink(lin)
    is_white = expected > 0.5
    occluder = np.zeros(cover.shape, np.uint8)
    for _ in range(2):  # fit, find what the fit cannot explain, fit again without it (a thumb drags the fit down)
        usable = flat & (occluder == 0)
        white = shrink((usable[..., None] & is_white).astype(np.float32))
        black = shrink((usable[..., None] & ~is_white).astype(np.float32))
        hi, lo = _normalized_blur(lin_s, white, sigma), _normalized_blur(lin_s, black, sigma)
        gain_s = np.maximum(hi - lo, 1e-3)
        reflection_s = np.maximum(lo, 0.0)
        occluder = _occluders(lin, lo_e, hi_e, gain_s, reflection_s, cover)
    mask = np.zeros((height, width), np.uint8)
    mask[y0:y1, x0:x1] = np.clip(cover * (1 - occluder) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    # Camera noise on flat screen pixels (8-bit levels): robust std of the difference from a local mean.
    grey = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32)
    detail = (grey - cv2.GaussianBlur(grey, (0, 0), 1.5))[flat & (occluder == 0)]
    noise = float(1.4826 * np.median(np.abs(detail - np.median(detail)))) if detail.size > 50 else 0.0
    # Full-frame light maps at 1/8 resolution (outside the box: nearest values, never used under a zero mask).
    light_size = (max(1, width // LIGHT_SCALE), max(1, height // LIGHT_SCALE))
    gain = _place(gain_s, (x0, y0, x1, y1), size, light_size)
    reflection = _place(reflection_s, (x0, y0, x1, y1), size, light_size)
    area = float(cover.sum())
    occluded = float((cover * occluder).sum() / area) if area > 0 else 0.0
    return ScreenLight(mask, gain, reflection, noise, occluded)


def _occluders(
    lin: np.ndarray, lo_e: np.ndarray, hi_e: np.ndarray, gain: np.ndarray, reflection: np.ndarray, cover: np.ndarray
) -> np.ndarray:
    """uint8 ``[h, w]``, 1 where the frame leaves the range the light model predicts from the board's darkest and
    brightest value around each pixel (so an edge a pixel off is not an occluder)."""
    size = (lin.shape[1], lin.shape[0])
    gain_f = cv2.resize(gain, size, interpolation=cv2.INTER_LINEAR)
    refl_f = cv2.resize(reflection, size, interpolation=cv2.INTER_LINEAR)
    low, high = gain_f * lo_e + refl_f, gain_f * hi_e + refl_f
    deviation = _channel_max(np.maximum(low - lin, lin - high))
    inside = cv2.resize(cover, (gain.shape[1], gain.shape[0]), interpolation=cv2.INTER_AREA) > 0.5
    level = float(np.median(gain[inside])) if inside.any() else 1.0
    occluder = ((deviation > 0.2 * level) & (cover > 0)).astype(np.uint8)
    occluder = cv2.morphologyEx(occluder, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    occluder = cv2.morphologyEx(occluder, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    return cv2.dilate(occluder, np.ones((3, 3), np.uint8))


def _channel_max(image: np.ndarray) -> np.ndarray:
    """Per-pixel maximum over 3 channels (faster than ``max(axis=2)``, which numpy does not vectorize well)."""
    return np.maximum(np.maximum(image[..., 0], image[..., 1]), image[..., 2])


def _place(values: np.ndarray, box: tuple, size: tuple[int, int], out: tuple[int, int]) -> np.ndarray:
    """Resample a map covering ``box`` of a ``size`` frame onto the whole frame at resolution ``out``."""
    x0, y0, x1, y1 = box
    sx, sy = out[0] / size[0], out[1] / size[1]
    kx, ky = values.shape[1] / (x1 - x0), values.shape[0] / (y1 - y0)  # map pixels per frame pixel
    # out pixel centre u -> frame (u + 0.5) / sx - 0.5 -> map ((frame + 0.5) - x0) * kx - 0.5
    affine = np.array([[kx / sx, 0, (0.5 / sx - x0) * kx - 0.5], [0, ky / sy, (0.5 / sy - y0) * ky - 0.5]])
    return cv2.warpAffine(
        values.astype(np.float32), affine, out, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------------- extraction
@dataclass
class ClipSummary:
    """One video's extraction."""

    video: Path
    clip: str
    screen: str
    frames: int  # frames read
    kept: int
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> frames ("few_markers", "bad_fit")
    seconds: float = 0.0
    record: dict = field(default_factory=dict, repr=False)  # its entry in templates.json


@dataclass
class ExtractSummary:
    """What :func:`extract_templates` wrote."""

    out: Path
    index: Path
    clips: list[ClipSummary]
    seconds: float


def _clip_name(video: Path) -> str:
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in video.stem).lstrip(".")
    return name or "clip"


def _pick_screen(boards: dict[str, BoardLayout], screen: str | None, out: Path) -> tuple[str, BoardLayout]:
    if not boards:
        raise FileNotFoundError(
            f"{out / 'board.json'}: no boards here; make one with `stasn collect template --out {out}`"
        )
    if screen is None:
        if len(boards) > 1:
            raise ValueError(
                f"{out / 'board.json'} has several screens ({', '.join(boards)}); choose one with --screen"
            )
        return next(iter(boards.items()))
    if screen not in boards:
        raise ValueError(f"Unknown screen {screen!r}. Valid values are {{{', '.join(sorted(boards))}}}.")
    return screen, boards[screen]


def read_index(out: str | Path) -> dict:
    """The ``templates.json`` record of a folder (an empty index when there is none)."""
    path = Path(out) / TEMPLATES_JSON
    if not path.is_file():
        return {"version": 1, "clips": {}}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record.get("clips"), dict):
            raise ValueError("no 'clips' mapping")
        return record
    except (json.JSONDecodeError, ValueError, AttributeError) as exc:
        raise DataError(f"{path}: not a stasn templates index ({exc})") from None


def extract_templates(
    videos: Sequence[str | Path],
    out: str | Path,
    *,
    screen: str | None = None,
    stride: int = 1,
    max_frames: int | None = None,
    min_corners: int = 8,
    max_rms: float = 1.5,
    smooth: int = 5,
    progress: Callable[[int, int], None] | None = None,
) -> ExtractSummary:
    """Extract device templates from ``videos`` of a screen showing the board of ``out/board.json``.

    Args:
        videos: video files; each becomes a clip named after its file name (an existing clip of that name is
            replaced).
        out: the template folder (holds ``board.json`` from ``stasn collect template``).
        screen: which screen of ``board.json`` the videos show (needed when it lists several).
        stride: keep every ``stride``-th frame.
        max_frames: read at most this many frames per video (``None`` = all).
        min_corners, max_rms: see :class:`BoardFinder`.
        smooth: Savitzky-Golay window of the temporal smoothing of the quads (odd; < 3 = off).
        progress: ``progress(done, total)`` after each frame of the first pass.

    Returns:
        :class:`ExtractSummary`.

    Raises:
        FileNotFoundError: a video or the board file is missing. DataError: a video cannot be read, or none of its
        frames shows enough of the board (the other videos' clips are written).
    """
    start = time.perf_counter()
    out = Path(out)
    videos = [Path(v) for v in videos]
    if not videos:
        raise ValueError("no videos given")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    for video in videos:
        if not video.is_file():
            raise FileNotFoundError(f"{video}: video file not found")
    names = [_clip_name(v) for v in videos]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"two videos would make the same clip {twice[0]!r}; rename one of them")
    screen_name, layout = _pick_screen(read_boards(out), screen, out)
    index = read_index(out)
    finder = BoardFinder(layout, min_corners=min_corners, max_rms=max_rms)
    summaries, failed = [], []
    for video, name in zip(videos, names, strict=True):
        summary = _extract_one(video, name, out, screen_name, layout, finder, stride, max_frames, smooth, progress)
        summaries.append(summary)
        if summary.kept == 0:
            failed.append(summary)
            continue
        index = read_index(out)  # re-read: only this clip's entry changes
        index["clips"][name] = summary.record
        write_text_atomic(out / TEMPLATES_JSON, json.dumps(index, indent=1) + "\n")
    if failed:
        f = failed[0]
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(f.dropped.items())) or "none"
        raise DataError(
            f"{f.video}: no frame shows enough of the board of screen {f.screen!r} ({f.frames} frames read; dropped: "
            f"{reasons}); is it the right --screen, and is the whole board in the picture?"
        )
    return ExtractSummary(out, out / TEMPLATES_JSON, summaries, time.perf_counter() - start)


def _extract_one(
    video: Path,
    name: str,
    out: Path,
    screen_name: str,
    layout: BoardLayout,
    finder: BoardFinder,
    stride: int,
    max_frames: int | None,
    smooth: int,
    progress: Callable[[int, int], None] | None,
) -> ClipSummary:
    start = time.perf_counter()
    with VideoFile(video) as source:
        total = source.num_frames if max_frames is None else min(source.num_frames, max_frames)
        wanted = list(range(0, total, stride))
        fits: list[ScreenFit | None] = []
        dropped: dict[str, int] = {}
        for done, (_, frame) in enumerate(source.read(wanted), start=1):
            fit, reason = finder.find(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
            fits.append(fit)
            if fit is None:
                dropped[reason] = dropped.get(reason, 0) + 1
            if progress is not None:
                progress(done, len(wanted))
        quads = smooth_quads([None if f is None else f.quad for f in fits], window=smooth)
        kept = [(i, f, q) for i, f, q in zip(wanted, fits, quads, strict=True) if f is not None]
        summary = ClipSummary(video, name, screen_name, len(wanted), len(kept), dropped)
        if not kept:
            return summary
        partial = out / f".{name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        frames_record = []
        try:
            by_index = {i: (f, q) for i, f, q in kept}
            for index, frame in source.read([i for i, _, _ in kept]):
                fit, quad = by_index[index]
                frames_record.append(_write_frame(partial, index, frame, layout, quad, fit))
            size = (int(frame.shape[1]), int(frame.shape[0]))
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    final = out / name
    old = out / f".{name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    partial.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    summary.seconds = time.perf_counter() - start
    summary.record = {
        "video": str(video),
        "screen": screen_name,
        "board": layout.to_dict(),
        "size": list(size),
        "fps": source.fps,
        "frames_read": len(wanted),
        "dropped": dropped,
        "frames": frames_record,
    }
    return summary


def _write_frame(
    folder: Path, index: int, frame: np.ndarray, layout: BoardLayout, quad: np.ndarray, fit: ScreenFit
) -> dict:
    light = screen_light(frame, layout, quad)
    stem = f"{index:06d}"
    ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    ok2, png = cv2.imencode(".png", light.mask)
    if not (ok and ok2):  # pragma: no cover - OpenCV failure
        raise RuntimeError("image encoding failed")
    write_bytes_atomic(folder / "frames" / f"{stem}.jpg", jpg.tobytes())
    write_bytes_atomic(folder / "masks" / f"{stem}.png", png.tobytes())
    buffer = io.BytesIO()
    np.savez_compressed(buffer, gain=light.gain.astype(np.float16), reflection=light.reflection.astype(np.float16))
    write_bytes_atomic(folder / "light" / f"{stem}.npz", buffer.getvalue())
    return {
        "index": index,
        "name": stem,
        "quad": np.round(quad, 3).tolist(),
        "corners": fit.corners,
        "markers": fit.markers,
        "rms": round(fit.rms, 4),
        "noise": round(light.noise, 3),
        "occluded": round(light.occluded, 4),
    }


# ---------------------------------------------------------------------------------------------------------- reading
class TemplateFrame(NamedTuple):
    """One stored template frame, loaded."""

    clip: str
    index: int  # frame index in the source video
    image: np.ndarray  # uint8 [H, W, 3] RGB
    quad: np.ndarray  # float64 [4, 2], frame pixels
    mask: np.ndarray  # float32 [H, W] in [0, 1]: where the screen shows (occluders removed)
    gain: np.ndarray  # float32 [H/8, W/8, 3], linear
    reflection: np.ndarray  # float32 [H/8, W/8, 3], linear
    noise: float  # 8-bit levels
    layout: BoardLayout


@dataclass(frozen=True)
class TemplateClip:
    """One extracted video: its board and the kept frames (in order)."""

    name: str
    layout: BoardLayout
    size: tuple[int, int]
    frames: tuple[dict, ...]  # the index records: index, name, quad, corners, markers, rms, noise, occluded


class TemplateSet:
    """A template folder, read: its clips, and frames loaded on demand (the last ``cache`` frames kept in memory).

    Raises:
        FileNotFoundError: no ``templates.json`` in ``root``. DataError: it lists no frame.
    """

    def __init__(self, root: str | Path, *, cache: int = 16) -> None:
        self.root = Path(root)
        path = self.root / TEMPLATES_JSON
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: no templates here; extract them with `stasn templates extract VIDEO... --out {self.root}`"
            )
        clips = []
        for name, record in sorted(read_index(self.root)["clips"].items()):
            try:
                layout = BoardLayout.from_dict(record["board"])
                frames = tuple(record["frames"])
                size = (int(record["size"][0]), int(record["size"][1]))
            except (KeyError, TypeError, ValueError) as exc:
                raise DataError(f"{path}: clip {name!r} is not a valid entry ({exc})") from None
            if frames:
                clips.append(TemplateClip(name, layout, size, frames))
        if not clips:
            raise DataError(f"{path}: lists no template frame; extract some with `stasn templates extract`")
        self.clips = clips
        self._cache: OrderedDict[tuple[str, int], TemplateFrame] = OrderedDict()
        self._cache_size = cache

    def __len__(self) -> int:
        return sum(len(c.frames) for c in self.clips)

    def __repr__(self) -> str:
        return f"TemplateSet({str(self.root)!r}, clips={len(self.clips)}, frames={len(self)})"

    def clip(self, name: str) -> TemplateClip:
        for clip in self.clips:
            if clip.name == name:
                return clip
        raise KeyError(f"{self.root}: no template clip {name!r}")

    def frame(self, clip: str, position: int) -> TemplateFrame:
        """The ``position``-th kept frame of ``clip``, loaded from disk (or from the cache)."""
        key = (clip, position)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        info = self.clip(clip)
        record = info.frames[position]
        folder = self.root / clip
        stem = record["name"]
        image_path, mask_path, light_path = (
            folder / "frames" / f"{stem}.jpg",
            folder / "masks" / f"{stem}.png",
            folder / "light" / f"{stem}.npz",
        )
        if not (image_path.is_file() and mask_path.is_file() and light_path.is_file()):
            raise DataError(f"{folder}: template frame {stem} is missing (frames/, masks/, light/); extract it again")
        image = read_image(image_path)  # RGB; decodes from bytes, so any path works
        mask = cv2.imdecode(np.fromfile(mask_path, np.uint8), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise DataError(f"{mask_path}: cannot decode this mask")
        with np.load(light_path) as light:
            gain, reflection = light["gain"].astype(np.float32), light["reflection"].astype(np.float32)
        loaded = TemplateFrame(
            clip=clip,
            index=int(record["index"]),
            image=image,
            quad=np.asarray(record["quad"], np.float64),
            mask=mask.astype(np.float32) / 255.0,
            gain=gain,
            reflection=reflection,
            noise=float(record.get("noise", 0.0)),
            layout=info.layout,
        )
        self._cache[key] = loaded
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return loaded
