"""SiW, Spoof in the Wild (Liu et al., CVPR 2018): 165 subjects, live, print and replay videos, three protocols.

Layout (as released)::

    <root>/Train/live/<subject>/<subject>-<sensor>-<type>-<medium>-<session>.mov   + <same stem>.face
    <root>/Train/spoof/<subject>/...
    <root>/Test/live|spoof/<subject>/...

``type`` 1 live, 2 print, 3 replay; ``medium`` numbers the print quality or the replay device; ``.face`` files hold
one face box per frame, ``x1 y1 x2 y2`` (line i = frame i).

SiW ships no protocol files. The rules of its paper (section 5.1), encoded here:

* protocol ``1``: train on the first 60 frames of every Train video (``Sample.first_frames = 60``), test on all
  Test videos.
* protocol ``2`` (folds 1-4): leave one replay medium out; train on Train live + replay videos of the other three
  media, test on Test live + replay videos of medium ``fold``. Print videos are not used.
* protocol ``3`` (folds 1-2): cross PAI; fold 1 trains on live + print and tests on live + replay, fold 2 the reverse.

There is no dev split; ``dev_fraction`` moves a subject-disjoint part of the Train subjects to "dev" (in protocol 1
those keep ``first_frames = 60``).
"""

from __future__ import annotations

import re
from pathlib import Path

from stasn.datasets._files import read_numeric_rows
from stasn.datasets.base import (
    DEFAULT_DEV_FRACTION,
    DatasetAdapter,
    FaceAnnotations,
    Sample,
    as_choice,
    check_choice,
    check_dev_fraction,
    check_split,
    move_subjects_to_dev,
    resolve_root,
    select_split,
)
from stasn.errors import DataError
from stasn.labels import AttackType

__all__ = ["SiW"]

_FOLDERS = {"train": "Train", "test": "Test"}
_FOLDS = {"1": (), "2": ("1", "2", "3", "4"), "3": ("1", "2")}
_TYPES = {1: AttackType.LIVE, 2: AttackType.PRINT, 3: AttackType.REPLAY}
# Some copies name live videos '<stem>.m.mov'; the optional '.m' is tolerated.
_NAME = re.compile(r"^(\d+)-(\d+)-([123])-(\d+)-(\d+)(?:\.m)?$")
P1_FIRST_FRAMES = 60  # protocol 1 trains on the first 60 frames of each training video (SiW paper)


def _in_protocol(protocol: str, fold: str | None, split: str, attack: AttackType, medium: int) -> bool:
    if protocol == "1" or attack is AttackType.LIVE:
        return True
    if protocol == "2":
        return attack is AttackType.REPLAY and (str(medium) != fold if split == "train" else str(medium) == fold)
    train_pai = AttackType.PRINT if fold == "1" else AttackType.REPLAY  # protocol 3
    return (attack is train_pai) == (split == "train")


class SiW(DatasetAdapter):
    """SiW under protocol 1, 2 (folds 1-4) or 3 (folds 1-2), rules encoded from the SiW paper.

    Args:
        root: folder holding ``Train/`` and ``Test/``.
        protocol: ``"1"``, ``"2"`` or ``"3"``.
        fold: ``None`` for protocol 1; ``1``-``4`` (held-out replay medium) for protocol 2; ``1`` (train print, test
            replay) or ``2`` (the reverse) for protocol 3.
        split: ``"train"``, ``"dev"``, ``"test"`` or ``None`` (all).
        dev_fraction: share of train subjects moved to "dev" (ours; SiW has no dev split).
    """

    name = "siw"
    protocols = ("1", "2", "3")

    def __init__(
        self,
        root: str | Path,
        protocol: str | int = "1",
        fold: str | int | None = None,
        split: str | None = None,
        *,
        dev_fraction: float = DEFAULT_DEV_FRACTION,
    ) -> None:
        protocol, fold = as_choice(protocol), as_choice(fold)
        check_choice("SiW", "protocol", protocol, self.protocols)
        if _FOLDS[protocol]:
            if fold is None:
                raise ValueError(f"SiW protocol {protocol} needs a fold: one of {{{', '.join(_FOLDS[protocol])}}}")
            check_choice("SiW", "fold", fold, _FOLDS[protocol])
        elif fold is not None:
            raise ValueError(f"SiW protocol {protocol} has no folds; got fold={fold!r} (use fold=None)")
        self.dev_fraction = check_dev_fraction(dev_fraction)
        self.split = check_split("SiW", split, has_dev=self.dev_fraction > 0)
        official = list(_FOLDERS) if self.split is None else ["test" if self.split == "test" else "train"]
        self.root = resolve_root(root, "SiW", [_FOLDERS[o] for o in official])
        self.protocol, self.fold = protocol, fold
        samples = [s for o in official for s in self._scan(o)]
        self.samples = select_split(move_subjects_to_dev(samples, self.dev_fraction), self.split)

    def annotations(self, sample: Sample) -> FaceAnnotations | None:
        """Boxes from ``<video>.face`` (one ``x1 y1 x2 y2`` line per frame, 0-based); all-zero lines are skipped."""
        path = sample.path.with_suffix(".face")
        if not path.is_file():
            return None
        rows = read_numeric_rows(path, 4, "'x1 y1 x2 y2'")
        return FaceAnnotations(boxes={i: (r[0], r[1], r[2], r[3]) for i, r in enumerate(rows) if any(r)})

    def _scan(self, split: str) -> list[Sample]:
        folder = self.root / _FOLDERS[split]
        samples = []
        for kind in ("live", "spoof"):
            if not (folder / kind).is_dir():
                raise FileNotFoundError(f"{folder / kind}: missing; is {self.root} the SiW root?")
            for path in sorted((folder / kind).glob("*/*.mov")):
                sample = self._sample(path, split, kind)
                if sample is not None:
                    samples.append(sample)
        return samples

    def _sample(self, path: Path, split: str, kind: str) -> Sample | None:
        match = _NAME.match(path.stem)
        if not match:
            raise DataError(
                f"{path}: expected '<subject>-<sensor>-<type>-<medium>-<session>.mov', e.g. 006-1-1-1-1.mov"
            )
        subject, sensor, type_id, medium, session = match.groups()
        attack = _TYPES[int(type_id)]
        if (attack is AttackType.LIVE) != (kind == "live") or subject != path.parent.name:
            raise DataError(
                f"{path}: type {type_id} / subject {subject} do not match its folder {kind}/{path.parent.name}"
            )
        if not _in_protocol(self.protocol, self.fold, split, attack, int(medium)):
            return None
        return Sample(
            path=path,
            label=attack.label,
            attack_type=attack.value,
            split=split,
            video_id=path.relative_to(self.root).with_suffix("").as_posix(),
            dataset=self.name,
            subject=subject,
            session=session,
            device=f"sensor{sensor}",
            protocol=self.protocol,
            fold=self.fold or "",
            first_frames=P1_FIRST_FRAMES if self.protocol == "1" and split == "train" else None,
            meta={"sensor": int(sensor), "medium": int(medium)},
        )
