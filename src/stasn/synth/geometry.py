"""Where the attack medium sits in front of the camera: poses, homographies, crops, bending and hand-held jitter.

Coordinates:

* *medium coordinates* ``(X, Y)``: on the screen or paper, in **content units** (the longer side of the displayed
  face image = 1), origin at the centre of that image, X right, Y down.
* *camera coordinates*: normalized image plane (focal length 1), origin on the optical axis, x right, y down.
* *sensor pixels* ``(u, v)``: the camera's pixels covering the output crop, ``sensor_px`` across; pixel ``j`` covers
  ``[j - 0.5, j + 0.5]`` (the OpenCV convention).

The medium is rotated about its centre by yaw (about the vertical axis), pitch (horizontal axis) and roll (optical
axis), in degrees, and placed ``distance`` content units in front of the camera, ``off_x``/``off_y`` degrees off the
optical axis. The output is framed like a detector's face crop: a square around the projected face image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NamedTuple

import cv2
import numpy as np

__all__ = [
    "Pose",
    "rotation_matrix",
    "plane_homography",
    "project",
    "crop_square",
    "sensor_homography",
    "plane_maps",
    "cylinder_maps",
    "SurfaceOptics",
    "surface_optics",
    "jacobian",
    "mirror_direction",
    "jitter_poses",
]


@dataclass(frozen=True)
class Pose:
    """Pose of the medium relative to the camera."""

    yaw: float = 0.0  # degrees, about the medium's vertical axis
    pitch: float = 0.0  # degrees, about its horizontal axis
    roll: float = 0.0  # degrees, about the optical axis
    distance: float = 4.0  # depth of the content centre, content units
    off_x: float = 0.0  # degrees, direction of the content centre right of the optical axis
    off_y: float = 0.0  # degrees, below the optical axis

    def __post_init__(self) -> None:
        if not self.distance > 0.5:
            raise ValueError(f"Pose.distance must be > 0.5 content units (in front of the camera), got {self.distance}")
        for name in ("yaw", "pitch"):
            if abs(getattr(self, name)) >= 80:
                raise ValueError(f"Pose.{name} must be within (-80, 80) degrees, got {getattr(self, name)}")


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """``[3, 3]`` rotation (degrees in): roll about z, after pitch about x, after yaw about y."""
    a, b, c = (math.radians(v) for v in (yaw, pitch, roll))
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return rz @ rx @ ry


def _translation(pose: Pose) -> np.ndarray:
    return pose.distance * np.array([math.tan(math.radians(pose.off_x)), math.tan(math.radians(pose.off_y)), 1.0])


def plane_homography(pose: Pose) -> np.ndarray:
    """``[3, 3]`` homography from medium coordinates ``(X, Y, 1)`` to camera coordinates."""
    rot = rotation_matrix(pose.yaw, pose.pitch, pose.roll)
    return np.column_stack([rot[:, 0], rot[:, 1], _translation(pose)])


def project(homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a homography to ``[N, 2]`` points; returns ``[N, 2]``."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    hom = np.column_stack([pts, np.ones(len(pts))]) @ np.asarray(homography, np.float64).T
    return hom[:, :2] / hom[:, 2:3]


def crop_square(points: np.ndarray, *, shift: tuple[float, float] = (0.0, 0.0), scale: float = 1.0) -> np.ndarray:
    """A detector-like square crop around ``[N, 2]`` points: ``(x0, y0, side)``.

    The square is centred on the points' bounding box (moved by ``shift`` times the side), with side ``scale`` times
    the box's longer side.
    """
    lo, hi = points.min(axis=0), points.max(axis=0)
    side = float(max(hi - lo)) * scale
    centre = (lo + hi) / 2.0 + np.asarray(shift) * side
    return np.array([centre[0] - side / 2.0, centre[1] - side / 2.0, side])


def sensor_homography(homography: np.ndarray, crop: np.ndarray, sensor_px: int) -> np.ndarray:
    """Compose a medium->camera homography with the crop, giving medium -> sensor pixels."""
    x0, y0, side = crop
    k = sensor_px / side
    to_sensor = np.array([[k, 0, -x0 * k - 0.5], [0, k, -y0 * k - 0.5], [0, 0, 1.0]])
    return to_sensor @ homography


def _sample_centres(sensor_px: int, supersample: int) -> np.ndarray:
    """Sensor-pixel coordinates of the ``supersample`` x ``supersample`` sample points inside each pixel."""
    q = np.arange(sensor_px * supersample, dtype=np.float64)
    return (q + 0.5) / supersample - 0.5


def plane_maps(sensor_to_medium: np.ndarray, sensor_px: int, supersample: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Medium coordinates seen at every sample point of the sensor (a planar medium).

    Returns:
        ``(X, Y)``, float32 ``[sensor_px * supersample, sensor_px * supersample]`` each, content units.
    """
    u = _sample_centres(sensor_px, supersample)
    h = np.asarray(sensor_to_medium, np.float64)
    row = u[None, :]
    col = u[:, None]
    w = h[2, 0] * row + (h[2, 1] * col + h[2, 2])
    x = (h[0, 0] * row + (h[0, 1] * col + h[0, 2])) / w
    y = (h[1, 0] * row + (h[1, 1] * col + h[1, 2])) / w
    return x.astype(np.float32), y.astype(np.float32)


def jacobian(homography: np.ndarray, point: tuple[float, float]) -> np.ndarray:
    """``[2, 2]`` Jacobian of a homography at ``point``: d(out x, out y) / d(in x, in y)."""
    h = np.asarray(homography, np.float64)
    x, y = point
    a, b, w = h @ np.array([x, y, 1.0])
    return np.array(
        [
            [(h[0, 0] * w - a * h[2, 0]) / w**2, (h[0, 1] * w - a * h[2, 1]) / w**2],
            [(h[1, 0] * w - b * h[2, 0]) / w**2, (h[1, 1] * w - b * h[2, 1]) / w**2],
        ]
    )


class SurfaceOptics(NamedTuple):
    """Per-pixel optics of the medium's surface at sensor resolution (``[n, n]`` maps, ``n = sensor_px``)."""

    cos_view: np.ndarray  # cosine between the surface normal and the direction to the camera (1 = facing it)
    reflect_x: np.ndarray  # degrees: horizontal angle of the mirror-reflected view ray (0 = straight back)
    reflect_y: np.ndarray  # degrees: vertical angle of the reflected ray
    normal: np.ndarray  # [n, n, 3] unit surface normal in camera coordinates, pointing towards the camera


def _surface_lattice(
    pose: Pose, crop: np.ndarray, n: int, grid: int, curvature: float, vertical_axis: bool
) -> dict[str, np.ndarray]:
    """Intersect the camera rays of a ``grid`` x ``grid`` lattice of sample points with the (bent) medium."""
    rot = rotation_matrix(pose.yaw, pose.pitch, pose.roll)
    t = _translation(pose)
    x0, y0, side = crop
    g = np.linspace(0.0, n - 1.0, grid)  # sample indices of the lattice, first and last sample included
    gu, gv = np.meshgrid(g, g)
    cam = np.stack([x0 + (gu + 0.5) / n * side, y0 + (gv + 0.5) / n * side, np.ones_like(gu)], axis=-1)
    d = cam @ rot  # ray directions in medium coordinates (rot^T applied to row vectors)
    o = -(rot.T @ t)
    swap = [1, 0, 2]
    if not vertical_axis:  # bend along Y: swap x and y so the code below always bends along x
        d, o = d[..., swap], o[swap]
    k = curvature
    if abs(k) < 1e-6:
        lam = -o[2] / d[..., 2]
        theta = np.zeros_like(lam)
    else:
        cz = -1.0 / k  # circle centre (0, cz) in the x-z plane
        qa = d[..., 0] ** 2 + d[..., 2] ** 2
        qb = 2.0 * (o[0] * d[..., 0] + (o[2] - cz) * d[..., 2])
        qc = o[0] ** 2 + (o[2] - cz) ** 2 - 1.0 / k**2
        root = np.sqrt(np.clip(qb**2 - 4 * qa * qc, 0.0, None))
        lams = np.stack([(-qb - root) / (2 * qa), (-qb + root) / (2 * qa)])
        front = k * (o[2] + lams * d[..., 2]) + 1.0 > 0  # the half of the circle holding the sheet
        lam = np.where(front[0], lams[0], lams[1])
        px, pz = o[0] + lam * d[..., 0], o[2] + lam * d[..., 2]
        theta = np.arctan2(k * px, k * pz + 1.0)
    px, py = o[0] + lam * d[..., 0], o[1] + lam * d[..., 1]
    bent = px if abs(k) < 1e-6 else theta / k  # arc length along the bent direction
    normal = np.stack([-np.sin(theta), np.zeros_like(theta), -np.cos(theta)], axis=-1)
    if not vertical_axis:
        bent, py = py, bent
        normal = normal[..., swap]
    view = cam / np.linalg.norm(cam, axis=-1, keepdims=True)
    return {"x": bent, "y": py, "normal": normal @ rot.T, "view": view}


def _upsampler(grid: int, n: int):
    # Bilinear interpolation from the lattice to every sample (remap: the lattice's end points are exact).
    idx = np.arange(n, dtype=np.float32) * np.float32((grid - 1) / max(n - 1, 1))
    map_x = np.ascontiguousarray(np.broadcast_to(idx[None, :], (n, n)))
    map_y = np.ascontiguousarray(np.broadcast_to(idx[:, None], (n, n)))

    def up(a: np.ndarray) -> np.ndarray:
        return cv2.remap(a.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    return up


def cylinder_maps(
    pose: Pose,
    crop: np.ndarray,
    sensor_px: int,
    *,
    curvature: float,
    vertical_axis: bool,
    supersample: int = 1,
    grid: int = 33,
) -> tuple[np.ndarray, np.ndarray]:
    """Paper coordinates seen at every sensor sample point, for a sheet bent into a cylinder.

    The sheet is flat along the bending axis and bent along the other, with ``curvature`` = 1 / radius in inverse
    content units (> 0: its edges come towards the camera, as when it is held by its sides). Paper coordinates are
    arc lengths, so the printed image is not stretched. Rays are intersected with the cylinder exactly on a
    ``grid`` x ``grid`` lattice and the maps interpolated in between (they are smooth).

    Returns:
        ``(X, Y)``: float32 maps ``[sensor_px * supersample] * 2`` of paper coordinates (content units).
    """
    n = sensor_px * supersample
    lattice = _surface_lattice(pose, crop, n, grid, curvature, vertical_axis)
    up = _upsampler(grid, n)
    return up(lattice["x"]), up(lattice["y"])


def surface_optics(
    pose: Pose, crop: np.ndarray, sensor_px: int, *, curvature: float = 0.0, vertical_axis: bool = True, grid: int = 9
) -> SurfaceOptics:
    """Normals, viewing angle and mirror-reflected ray directions at every sensor pixel (planar or bent medium)."""
    lattice = _surface_lattice(pose, crop, sensor_px, grid, curvature, vertical_axis)
    normal, view = lattice["normal"], lattice["view"]
    dot = np.sum(view * normal, axis=-1, keepdims=True)
    reflected = view - 2.0 * dot * normal
    up = _upsampler(grid, sensor_px)
    return SurfaceOptics(
        cos_view=up(np.clip(-dot[..., 0], 0.0, 1.0)),
        reflect_x=up(np.degrees(np.arctan2(reflected[..., 0], -reflected[..., 2]))),
        reflect_y=up(np.degrees(np.arctan2(reflected[..., 1], -reflected[..., 2]))),
        normal=np.stack([up(normal[..., i]) for i in range(3)], axis=-1),
    )


def mirror_direction(pose: Pose) -> tuple[float, float]:
    """Angles (degrees, as in :class:`SurfaceOptics`) of the view ray to the medium's centre after mirroring on it."""
    view = _translation(pose)
    view = view / np.linalg.norm(view)
    normal = rotation_matrix(pose.yaw, pose.pitch, pose.roll) @ np.array([0.0, 0.0, -1.0])
    reflected = view - 2.0 * float(view @ normal) * normal
    return (
        math.degrees(math.atan2(reflected[0], -reflected[2])),
        math.degrees(math.atan2(reflected[1], -reflected[2])),
    )


def jitter_poses(
    base: Pose, num_frames: int, *, angle_step: float, shift_step: float, zoom_step: float, seed: int
) -> list[Pose]:
    """Hand-held motion: one pose per frame, starting at ``base``, moving by at most the given bound per frame.

    A mean-reverting random walk (hands tremble around where they hold the device; they do not drift away). Each
    frame-to-frame change is clipped to ``angle_step`` degrees (yaw, pitch, roll), ``shift_step`` degrees (off-axis
    direction) and ``zoom_step`` (relative change of distance).
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if min(angle_step, shift_step, zoom_step) < 0:
        raise ValueError("jitter bounds must be >= 0")
    rng = np.random.default_rng(seed)
    bounds = np.array([angle_step, angle_step, angle_step, shift_step, shift_step, zoom_step])
    state = np.zeros(6)
    poses = [base]
    for _ in range(num_frames - 1):
        target = 0.8 * state + rng.normal(0.0, 0.6, 6) * bounds
        state = state + np.clip(target - state, -bounds, bounds)
        poses.append(
            replace(
                base,
                yaw=base.yaw + state[0],
                pitch=base.pitch + state[1],
                roll=base.roll + state[2],
                off_x=base.off_x + state[3],
                off_y=base.off_y + state[4],
                distance=base.distance * (1.0 + state[5]),
            )
        )
    return poses
