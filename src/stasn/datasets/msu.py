"""MSU-MFSD (Wen et al., IEEE TIFS 2015): 35 subjects, 280 videos from a laptop and an Android phone.

Layout (as released; see docs/datasets.md for what we could not confirm)::

    <root>/scene01/real/real_client<id>_<android|laptop>_SD_scene01.<mp4|mov>
    <root>/scene01/attack/attack_client<id>_<android|laptop>_SD_<ipad_video|iphone_video|printed_photo>_scene01.<mp4|mov>
    <root>/train_sub_list.txt   <root>/test_sub_list.txt      one subject id per line (official 15 / 20 split)
    <video stem>.face beside each video (optional)              lines 'frame, x1, y1, x2, y2'

``ipad_video`` and ``iphone_video`` are video replays, ``printed_photo`` a printed photo. The subject lists are the
official protocol; there is no dev split (``dev_fraction`` makes one from the train subjects). Android videos are
``.mp4``, laptop videos ``.mov``. Sizes: 120 train (30 live + 90 attack), 160 test (40 + 120).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from stasn.datasets._files import read_numeric_rows
from stasn.datasets.base import (
    DEFAULT_DEV_FRACTION,
    DatasetAdapter,
    FaceAnnotations,
    Sample,
    check_dev_fraction,
    check_protocol_without_folds,
    check_split,
    move_subjects_to_dev,
    read_list_file,
    resolve_root,
    select_split,
)
from stasn.errors import DataError
from stasn.labels import AttackType

__all__ = ["MSUMFSD"]

logger = logging.getLogger(__name__)

_LISTS = {"train": "train_sub_list.txt", "test": "test_sub_list.txt"}
_NAME = re.compile(
    r"^(real|attack)_client(\d+)_(android|laptop)_SD_(?:(ipad_video|iphone_video|printed_photo)_)?(scene\d+)$"
)
_INSTRUMENTS = {"ipad_video": AttackType.REPLAY, "iphone_video": AttackType.REPLAY, "printed_photo": AttackType.PRINT}


class MSUMFSD(DatasetAdapter):
    """MSU-MFSD with its official train/test subject lists.

    Args:
        root: folder holding ``scene01/`` and the two ``*_sub_list.txt`` files.
        protocol: only ``"default"`` (the official subject lists).
        fold: must be ``None``.
        split: ``"train"``, ``"dev"``, ``"test"`` or ``None`` (all).
        dev_fraction: share of train subjects moved to "dev" (ours; MSU-MFSD has no dev split).
    """

    name = "msu-mfsd"
    protocols = ("default",)

    def __init__(
        self,
        root: str | Path,
        protocol: str = "default",
        fold: str | int | None = None,
        split: str | None = None,
        *,
        dev_fraction: float = DEFAULT_DEV_FRACTION,
    ) -> None:
        protocol = check_protocol_without_folds("MSU-MFSD", protocol, self.protocols, fold)
        self.dev_fraction = check_dev_fraction(dev_fraction)
        self.split = check_split("MSU-MFSD", split, has_dev=self.dev_fraction > 0)
        self.root = resolve_root(root, "MSU-MFSD", ["scene01/real", "scene01/attack"])
        self.protocol, self.fold = protocol, None
        subject_split = self._read_subject_lists()
        samples = []
        for path in sorted(p for kind in ("real", "attack") for p in (self.root / "scene01" / kind).iterdir()):
            if path.suffix.lower() not in (".mp4", ".mov"):
                continue  # .face files and anything else beside the videos
            sample = self._sample(path, subject_split)
            if sample is not None:
                samples.append(sample)
        self.samples = select_split(move_subjects_to_dev(samples, self.dev_fraction), self.split)

    def annotations(self, sample: Sample) -> FaceAnnotations | None:
        """Boxes from ``<video stem>.face`` (``frame, x1, y1, x2, y2``); ``None`` when there is no such file."""
        path = sample.path.with_suffix(".face")
        if not path.is_file():
            return None
        rows = read_numeric_rows(path, 5, "'frame, x1, y1, x2, y2'")
        return FaceAnnotations(boxes={int(r[0]): (r[1], r[2], r[3], r[4]) for r in rows if r[3] > r[1] and r[4] > r[2]})

    def _read_subject_lists(self) -> dict[int, str]:
        subject_split: dict[int, str] = {}
        for split, name in _LISTS.items():
            list_path = self.root / name
            for number, line in read_list_file(list_path):
                if not line.isdigit():
                    raise DataError(f"{list_path}:{number}: expected a subject number (e.g. 02), got {line!r}")
                if int(line) in subject_split:
                    raise DataError(
                        f"{list_path}:{number}: subject {line} is already in the {subject_split[int(line)]} list"
                    )
                subject_split[int(line)] = split
        return subject_split

    def _sample(self, path: Path, subject_split: dict[int, str]) -> Sample | None:
        match = _NAME.match(path.stem)
        kind = path.parent.name
        if not match or match.group(1) != kind or (kind == "attack") != (match.group(4) is not None):
            raise DataError(
                f"{path}: expected 'real_client<id>_<android|laptop>_SD_scene01' or 'attack_client<id>_<android|laptop>"
                "_SD_<ipad_video|iphone_video|printed_photo>_scene01' in the matching real/ or attack/ folder"
            )
        _, client, device, instrument, scene = match.groups()
        split = subject_split.get(int(client))
        if split is None:
            logger.warning("%s: client %s is in neither subject list; skipped", path, client)
            return None
        attack = _INSTRUMENTS[instrument] if instrument else AttackType.LIVE
        return Sample(
            path=path,
            label=attack.label,
            attack_type=attack.value,
            split=split,
            video_id=path.relative_to(self.root).with_suffix("").as_posix(),
            dataset=self.name,
            subject=f"{int(client):03d}",
            session=scene,
            device=device,
            protocol=self.protocol,
            meta={"instrument": instrument or ""},
        )
