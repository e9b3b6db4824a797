"""What a prediction returns: :class:`Prediction` and its JSON form (the schema of ``stasn predict --json`` and of
``POST /v1/predict``).

Polarity: ``spoof_score`` is in ``[0, 1]`` and higher means more likely an attack; ``is_attack`` is
``spoof_score >= threshold`` (a score exactly on the threshold counts as an attack). Boxes are ``[x1, y1, x2, y2]`` in
pixels of the input image or video frame (after EXIF/rotation is applied), where pixel ``i`` covers ``[i, i + 1)``.
A box may reach past the image border where the face was near it (the face crop is padded there).

When no decision is possible (no face, face too small, unreadable input) ``status`` says why, ``reason`` says it in
words, and ``spoof_score`` and ``is_attack`` are ``None``: an undecided input is never reported as live.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Prediction",
    "ClipScore",
    "FrameInfo",
    "STATUS_OK",
    "STATUS_NO_FACE",
    "STATUS_FACE_TOO_SMALL",
    "STATUS_UNREADABLE",
    "STATUSES",
    "SCHEMA_VERSION",
]

SCHEMA_VERSION = 1
STATUS_OK = "ok"
STATUS_NO_FACE = "no_face"  # the detector found no face (a failure to acquire)
STATUS_FACE_TOO_SMALL = "face_too_small"  # the largest face is below the detector's min_face_size
STATUS_UNREADABLE = "unreadable"  # the file is not a decodable image/video, or breaks a size limit
STATUSES = (STATUS_OK, STATUS_NO_FACE, STATUS_FACE_TOO_SMALL, STATUS_UNREADABLE)

Box = tuple[float, float, float, float]


@dataclass
class FrameInfo:
    """One frame of a scored clip: where the face and the K attended regions were (input-image pixels)."""

    index: int  # 0-based frame index in the video (0 for a still image)
    face_box: Box  # detector box
    crop_box: Box  # the square region the model saw (face box enlarged by crop_scale)
    regions: list[Box]  # RAM's K regions, in the model's picking order


@dataclass
class ClipScore:
    """One clip of T frames."""

    spoof_score: float
    tasm_score: float  # TASM's (temporal) spoof probability alone
    sasm_score: float  # SASM's (regions) spoof probability alone
    frames: list[FrameInfo]


@dataclass
class Prediction:
    """The result for one input (an image or a video).

    For a still image, ``clips`` has one clip: the image repeated T times (the model needs T frames). For a video,
    ``spoof_score`` is the mean over ``clips``; ``face_box`` and ``regions`` are those of the first frame of the
    highest-scoring clip (each clip's frames carry their own).
    """

    input: str
    kind: str  # "image" | "video" | "stream"
    status: str
    threshold: float
    reason: str | None = None
    spoof_score: float | None = None
    tasm_score: float | None = None
    sasm_score: float | None = None
    clips: list[ClipScore] = field(default_factory=list)
    image_size: tuple[int, int] | None = None  # (width, height) of the input image / video frames
    frames_read: int = 0  # frames decoded (1 for an image)
    frames_with_face: int = 0  # of the frames the clips needed, those with a usable face
    seconds: float = 0.0  # wall time for this input (decode, detect, crop, model)

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK

    @property
    def is_attack(self) -> bool | None:
        """``spoof_score >= threshold``; ``None`` when undecided."""
        return None if self.spoof_score is None else bool(self.spoof_score >= self.threshold)

    @property
    def label(self) -> str | None:
        """``"spoof"`` / ``"live"`` / ``None`` (undecided)."""
        return None if self.is_attack is None else ("spoof" if self.is_attack else "live")

    @property
    def best_clip(self) -> ClipScore | None:
        return max(self.clips, key=lambda c: c.spoof_score) if self.clips else None

    @property
    def face_box(self) -> Box | None:
        clip = self.best_clip
        return clip.frames[0].face_box if clip and clip.frames else None

    @property
    def regions(self) -> list[Box] | None:
        clip = self.best_clip
        return clip.frames[0].regions if clip and clip.frames else None

    def with_threshold(self, threshold: float) -> Prediction:
        """The same prediction judged at another threshold."""
        return Prediction(**{**self.__dict__, "threshold": float(threshold)})

    def to_dict(self, *, frames: bool = True) -> dict[str, Any]:
        """The JSON form (see ``docs/deploy.md``). ``frames=False`` leaves out the per-frame boxes of each clip."""
        return {
            "schema": SCHEMA_VERSION,
            "input": self.input,
            "kind": self.kind,
            "status": self.status,
            "reason": self.reason,
            "spoof_score": _num(self.spoof_score),
            "is_attack": self.is_attack,
            "label": self.label,
            "threshold": _num(self.threshold),
            "tasm_score": _num(self.tasm_score),
            "sasm_score": _num(self.sasm_score),
            "face_box": _box(self.face_box),
            "regions": None if self.regions is None else [_box(b) for b in self.regions],
            "image_size": None if self.image_size is None else list(self.image_size),
            "frames_read": self.frames_read,
            "frames_with_face": self.frames_with_face,
            "clips": [_clip_dict(c, frames) for c in self.clips],
            "seconds": round(self.seconds, 4),
        }


def _num(value: float | None, digits: int = 6) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value):
        raise ValueError(f"non-finite score {value!r}; the model produced NaN/inf")
    return round(float(value), digits)


def _box(box: Box | None) -> list[float] | None:
    return None if box is None else [round(float(v), 2) for v in box]


def _clip_dict(clip: ClipScore, frames: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "spoof_score": _num(clip.spoof_score),
        "tasm_score": _num(clip.tasm_score),
        "sasm_score": _num(clip.sasm_score),
        "frame_indices": [f.index for f in clip.frames],
    }
    if frames:
        out["frames"] = [
            {
                "index": f.index,
                "face_box": _box(f.face_box),
                "crop_box": _box(f.crop_box),
                "regions": [_box(b) for b in f.regions],
            }
            for f in clip.frames
        ]
    return out
