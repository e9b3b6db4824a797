"""Idiap Replay-Attack (Chingovska et al., BIOSIG 2012): 50 clients, 1200 webcam videos, print and screen attacks.

Layout (as released)::

    <root>/{train,devel,test}/real/client<id>_session01_webcam_authenticate_<light>_<take>.mov
    <root>/{train,devel,test}/attack/{fixed,hand}/attack_<device>_client<id>_session01_<sample>_<type>_<light>.mov
    <root>/face-locations/<same relative path>.face      lines 'frame x y w h' (0-based frame, pixels)

``device`` is the attack instrument: ``print`` (paper), ``mobile`` (iPhone screen) or ``highdef`` (iPad screen);
``type`` is ``photo`` or ``video``; ``light`` is ``controlled`` or ``adverse``. ``devel`` is read as split "dev";
``enroll/`` (verification enrolment videos) is not used.

The dataset ships no protocol lists; the protocols of its database package (bob.db.replay) are encoded here:
``grandtest`` (all attacks), ``print``, ``mobile``, ``highdef`` (by instrument), ``photo`` (print + screen photos),
``video`` (screen videos), ``digitalphoto`` (screen photos). Every protocol keeps all real videos.
Sizes (train/dev/test): grandtest 360/360/480 (60+300, 60+300, 80+400).
"""

from __future__ import annotations

import re
from pathlib import Path

from stasn.datasets._files import read_numeric_rows, xywh_to_xyxy
from stasn.datasets.base import (
    DatasetAdapter,
    FaceAnnotations,
    Sample,
    check_protocol_without_folds,
    check_split,
    resolve_root,
    select_split,
)
from stasn.errors import DataError
from stasn.labels import AttackType

__all__ = ["ReplayAttack", "read_idiap_face_file"]

_FOLDERS = {"train": "train", "dev": "devel", "test": "test"}
_REAL = re.compile(r"^client(\d+)_session(\d+)_webcam_(authenticate)_(controlled|adverse)_(\d+)$")
_ATTACK = re.compile(
    r"^attack_(print|mobile|highdef)_client(\d+)_session(\d+)_(\w+?)_(photo|video)_(controlled|adverse)$"
)
# protocol -> set of (instrument, photo/video) attacks it keeps
_PROTOCOLS: dict[str, set[tuple[str, str]]] = {
    "grandtest": {
        ("print", "photo"),
        ("mobile", "photo"),
        ("mobile", "video"),
        ("highdef", "photo"),
        ("highdef", "video"),
    },
    "print": {("print", "photo")},
    "mobile": {("mobile", "photo"), ("mobile", "video")},
    "highdef": {("highdef", "photo"), ("highdef", "video")},
    "photo": {("print", "photo"), ("mobile", "photo"), ("highdef", "photo")},
    "video": {("mobile", "video"), ("highdef", "video")},
    "digitalphoto": {("mobile", "photo"), ("highdef", "photo")},
}


def read_idiap_face_file(path: Path) -> FaceAnnotations:
    """Idiap ``.face`` file: lines ``frame x y w h`` (0-based frame, top-left corner and size in pixels).

    Frames where the dataset's detector found no face are written as zeros and are skipped.
    """
    rows = read_numeric_rows(path, 5, "'frame x y w h'")
    return FaceAnnotations(boxes={int(r[0]): xywh_to_xyxy(*r[1:5]) for r in rows if r[3] > 0 and r[4] > 0})


class ReplayAttack(DatasetAdapter):
    """Replay-Attack under one of the bob.db.replay protocols.

    Args:
        root: folder holding ``train/``, ``devel/``, ``test/`` (and optionally ``face-locations/``).
        protocol: ``"grandtest"``, ``"print"``, ``"mobile"``, ``"highdef"``, ``"photo"``, ``"video"`` or
            ``"digitalphoto"``.
        fold: must be ``None``.
        split: ``"train"``, ``"dev"`` (the dataset's ``devel``), ``"test"`` or ``None`` (all).
    """

    name = "replay-attack"
    protocols = tuple(_PROTOCOLS)

    def __init__(
        self,
        root: str | Path,
        protocol: str = "grandtest",
        fold: str | int | None = None,
        split: str | None = None,
    ) -> None:
        protocol = check_protocol_without_folds("Replay-Attack", protocol, self.protocols, fold)
        self.split = check_split("Replay-Attack", split)
        splits = list(_FOLDERS) if self.split is None else [self.split]
        self.root = resolve_root(root, "Replay-Attack", [_FOLDERS[s] for s in splits])
        self.protocol, self.fold = protocol, None
        self.samples = select_split([s for sp in splits for s in self._scan(sp)], self.split)

    def annotations(self, sample: Sample) -> FaceAnnotations | None:
        """Boxes from ``face-locations/<video>.face``; ``None`` when the face-locations folder is absent."""
        path = self.root / "face-locations" / f"{sample.video_id}.face"
        return read_idiap_face_file(path) if path.is_file() else None

    def _scan(self, split: str) -> list[Sample]:
        folder = self.root / _FOLDERS[split]
        for sub in ("real", "attack"):
            if not (folder / sub).is_dir():
                raise FileNotFoundError(f"{folder / sub}: missing; is {self.root} the Replay-Attack root?")
        samples = [self._real(p, split) for p in sorted((folder / "real").glob("*.mov"))]
        for support in ("fixed", "hand"):
            for path in sorted((folder / "attack" / support).glob("*.mov")):
                sample = self._attack(path, split, support)
                if sample is not None:
                    samples.append(sample)
        return samples

    def _real(self, path: Path, split: str) -> Sample:
        match = _REAL.match(path.stem)
        if not match:
            raise DataError(
                f"{path}: expected 'client<id>_session<n>_webcam_authenticate_<controlled|adverse>_<take>.mov'"
            )
        client, session, _, light, take = match.groups()
        return self._make(path, split, AttackType.LIVE, client, session, {"light": light, "take": int(take)})

    def _attack(self, path: Path, split: str, support: str) -> Sample | None:
        match = _ATTACK.match(path.stem)
        if not match:
            raise DataError(
                f"{path}: expected 'attack_<print|mobile|highdef>_client<id>_session<n>_<sample>_<photo|video>_"
                "<controlled|adverse>.mov'"
            )
        instrument, client, session, sample_device, medium, light = match.groups()
        if (instrument, medium) not in _PROTOCOLS[self.protocol]:
            return None
        attack = AttackType.PRINT if instrument == "print" else AttackType.REPLAY  # mobile/highdef: shown on a screen
        meta = {"support": support, "instrument": instrument, "sample_device": sample_device, "medium": medium}
        return self._make(path, split, attack, client, session, {**meta, "light": light})

    def _make(self, path: Path, split: str, attack: AttackType, client: str, session: str, meta: dict) -> Sample:
        return Sample(
            path=path,
            label=attack.label,
            attack_type=attack.value,
            split=split,
            video_id=path.relative_to(self.root).with_suffix("").as_posix(),
            dataset=self.name,
            subject=client,
            session=session,
            device="webcam",
            protocol=self.protocol,
            meta=meta,
        )
