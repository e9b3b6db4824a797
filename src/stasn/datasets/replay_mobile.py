"""Idiap Replay-Mobile (Costa-Pazo et al., BIOSIG 2016): 40 clients, 1030 videos from a smartphone and a tablet.

Layout (as we understand the release; see docs/datasets.md for what we could not confirm)::

    <root>/{train,devel,test}/real/client<id>_session<n>_authenticate_<mobile|tablet>_<light>.mov
    <root>/{train,devel,test}/attack/attack_client<id>_session<n>_<print|mattescreen>_<fixed|hand>_
                                    <mobile|tablet>_<photo|video>_<light>.mov
    <root>/faceloc/rect/<same relative path>.face        lines 'frame x y w h' (0-based frame, pixels)

Clients are split 12 train / 16 devel / 12 test by folder; ``devel`` is read as split "dev"; ``enroll/`` is not used.
Protocols (those of its database package, bob.db.replaymobile): ``grandtest`` (all attacks), ``print`` (printed
photos) and ``mattescreen`` (photos and videos on a matte screen); every protocol keeps all real videos.
Sizes (train/dev/test): grandtest 312/416/302 (120+192, 160+256, 110+192).
"""

from __future__ import annotations

import re
from pathlib import Path

from stasn.datasets.base import (
    DatasetAdapter,
    FaceAnnotations,
    Sample,
    check_protocol_without_folds,
    check_split,
    resolve_root,
    select_split,
)
from stasn.datasets.replay_attack import read_idiap_face_file
from stasn.errors import DataError
from stasn.labels import AttackType

__all__ = ["ReplayMobile"]

_FOLDERS = {"train": "train", "dev": "devel", "test": "test"}
_REAL = re.compile(r"^client(\d+)_session(\d+)_(authenticate)_(mobile|tablet)_([a-z]+)$")
_ATTACK = re.compile(
    r"^attack_client(\d+)_session(\d+)_(print|mattescreen)_(fixed|hand)_(mobile|tablet)_(photo|video)_([a-z]+)$"
)
_PROTOCOLS = {"grandtest": {"print", "mattescreen"}, "print": {"print"}, "mattescreen": {"mattescreen"}}


class ReplayMobile(DatasetAdapter):
    """Replay-Mobile under one of the bob.db.replaymobile protocols.

    Args:
        root: folder holding ``train/``, ``devel/``, ``test/`` (and optionally ``faceloc/rect/``).
        protocol: ``"grandtest"``, ``"print"`` or ``"mattescreen"``.
        fold: must be ``None``.
        split: ``"train"``, ``"dev"`` (the dataset's ``devel``), ``"test"`` or ``None`` (all).

    ``Sample.device`` is the capture device (``mobile`` or ``tablet``). The database package flips the frames of
    ``mobile`` videos when it decodes them (their stored orientation differs); stasn leaves decoding to ``stasn.data``,
    so ``meta["capture_device"]`` carries it for whoever needs it.
    """

    name = "replay-mobile"
    protocols = tuple(_PROTOCOLS)

    def __init__(
        self,
        root: str | Path,
        protocol: str = "grandtest",
        fold: str | int | None = None,
        split: str | None = None,
    ) -> None:
        protocol = check_protocol_without_folds("Replay-Mobile", protocol, self.protocols, fold)
        self.split = check_split("Replay-Mobile", split)
        splits = list(_FOLDERS) if self.split is None else [self.split]
        self.root = resolve_root(root, "Replay-Mobile", [_FOLDERS[s] for s in splits])
        self.protocol, self.fold = protocol, None
        self.samples = select_split([s for sp in splits for s in self._scan(sp)], self.split)

    def annotations(self, sample: Sample) -> FaceAnnotations | None:
        """Boxes from ``faceloc/rect/<video>.face``; ``None`` when that folder is absent."""
        path = self.root / "faceloc" / "rect" / f"{sample.video_id}.face"
        return read_idiap_face_file(path) if path.is_file() else None

    def _scan(self, split: str) -> list[Sample]:
        folder = self.root / _FOLDERS[split]
        for sub in ("real", "attack"):
            if not (folder / sub).is_dir():
                raise FileNotFoundError(f"{folder / sub}: missing; is {self.root} the Replay-Mobile root?")
        samples = []
        for path in sorted((folder / "real").glob("*.mov")):
            match = _REAL.match(path.stem)
            if not match:
                raise DataError(f"{path}: expected 'client<id>_session<n>_authenticate_<mobile|tablet>_<light>.mov'")
            client, session, _, device, light = match.groups()
            samples.append(self._make(path, split, AttackType.LIVE, client, session, device, {"light": light}))
        for path in sorted((folder / "attack").rglob("*.mov")):
            match = _ATTACK.match(path.stem)
            if not match:
                raise DataError(
                    f"{path}: expected 'attack_client<id>_session<n>_<print|mattescreen>_<fixed|hand>_"
                    "<mobile|tablet>_<photo|video>_<light>.mov'"
                )
            client, session, instrument, support, device, medium, light = match.groups()
            if instrument not in _PROTOCOLS[self.protocol]:
                continue
            attack = AttackType.PRINT if instrument == "print" else AttackType.REPLAY
            meta = {"instrument": instrument, "support": support, "medium": medium, "light": light}
            samples.append(self._make(path, split, attack, client, session, device, meta))
        return samples

    def _make(
        self, path: Path, split: str, attack: AttackType, client: str, session: str, device: str, meta: dict
    ) -> Sample:
        return Sample(
            path=path,
            label=attack.label,
            attack_type=attack.value,
            split=split,
            video_id=path.relative_to(self.root).with_suffix("").as_posix(),
            dataset=self.name,
            subject=client,
            session=session,
            device=device,
            protocol=self.protocol,
            meta={**meta, "capture_device": device},
        )
