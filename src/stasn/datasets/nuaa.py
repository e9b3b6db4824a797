"""NUAA Photograph Imposter Database (Tan et al., ECCV 2010): webcam frames of live faces and hand-held printed photos.

Layout (as released)::

    <root>/ClientRaw/<subject>/<subject>_<glasses>_<pos>_<session>_<pic>.jpg      live
    <root>/ImposterRaw/<subject>/<subject>_<glasses>_<pos>_<session>_<pic>.jpg    print attacks
    <root>/client_train_raw.txt  imposter_train_raw.txt                           official train lists
    <root>/client_test_raw.txt   imposter_test_raw.txt                            official test lists

List lines are ``<subject>/<file>.jpg`` (the original lists use ``\\``; both are accepted). The frames come from short
webcam captures, so by default the images of one (subject, glasses, pos, session) form one video-like :class:`Sample`
(``frame_paths`` in picture-number order); ``sequences=False`` gives one still-image sample per jpg.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from stasn.datasets.base import (
    DEFAULT_DEV_FRACTION,
    DatasetAdapter,
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
from stasn.labels import LIVE, SPOOF, AttackType

__all__ = ["NUAA"]

logger = logging.getLogger(__name__)

_FOLDERS = {LIVE: "ClientRaw", SPOOF: "ImposterRaw"}
_LISTS = {  # (label, split) -> official list file
    (LIVE, "train"): "client_train_raw.txt",
    (SPOOF, "train"): "imposter_train_raw.txt",
    (LIVE, "test"): "client_test_raw.txt",
    (SPOOF, "test"): "imposter_test_raw.txt",
}
# ID_glasses_pos_session_picNo, e.g. 0010_01_05_03_115.jpg (readme.txt of the dataset)
_NAME = re.compile(r"^(\d{4})_(\d{2})_(\d{2})_(\d{2})_(\d+)\.jpg$", re.IGNORECASE)


class NUAA(DatasetAdapter):
    """NUAA Photograph Imposter Database with its official train/test lists.

    Args:
        root: folder holding ``ClientRaw/``, ``ImposterRaw/`` and the ``*_raw.txt`` lists.
        protocol: only ``"default"`` (the official lists).
        fold: must be ``None``.
        split: ``"train"``, ``"dev"``, ``"test"`` or ``None`` (all splits whose lists are present; a copy without
            the test lists, like ``shared/data/nuaa-raw-train``, then gives train/dev only, with a warning).
        sequences: group the frames of one capture into one sample (default) or give one sample per image.
        dev_fraction: share of train subjects moved to "dev" (ours; NUAA has no dev split). 0 keeps train/test only.
    """

    name = "nuaa"
    protocols = ("default",)

    def __init__(
        self,
        root: str | Path,
        protocol: str = "default",
        fold: str | int | None = None,
        split: str | None = None,
        *,
        sequences: bool = True,
        dev_fraction: float = DEFAULT_DEV_FRACTION,
    ) -> None:
        protocol = check_protocol_without_folds("NUAA", protocol, self.protocols, fold)
        self.dev_fraction = check_dev_fraction(dev_fraction)
        self.split = check_split("NUAA", split, has_dev=self.dev_fraction > 0)
        self.root = resolve_root(root, "NUAA", ["ClientRaw", "ImposterRaw"])
        self.protocol, self.fold, self.sequences = protocol, None, sequences

        official_splits = ["train", "test"] if self.split is None else ["test" if self.split == "test" else "train"]
        samples: list[Sample] = []
        for official in official_splits:
            lists = [self.root / _LISTS[(label, official)] for label in (LIVE, SPOOF)]
            if self.split is None and official == "test" and not any(p.is_file() for p in lists):
                logger.warning("%s: no NUAA test lists (%s); loading the train list only", self.root, lists[0].name)
                continue
            for label, list_path in zip((LIVE, SPOOF), lists, strict=True):
                samples += self._read_list(list_path, label, official)
        samples = move_subjects_to_dev(samples, self.dev_fraction)
        self.samples = select_split(samples, self.split)

    def _read_list(self, list_path: Path, label: int, split: str) -> list[Sample]:
        folder = self.root / _FOLDERS[label]
        present: dict[str, set[str]] = {}  # subject folder -> file names, listed once (cheaper than a stat per frame)
        groups: dict[tuple[str, str, str, str], list[tuple[int, Path]]] = {}
        for number, line in read_list_file(list_path):
            subject_dir, _, file_name = line.replace("\\", "/").rpartition("/")
            match = _NAME.match(file_name)
            if not match or match.group(1) != subject_dir:
                raise DataError(
                    f"{list_path}:{number}: expected '<subject>/<subject>_<glasses>_<pos>_<session>_<pic>.jpg' "
                    f"(e.g. 0001/0001_00_00_01_0.jpg), got {line!r}"
                )
            if subject_dir not in present:
                directory = folder / subject_dir
                present[subject_dir] = set(os.listdir(directory)) if directory.is_dir() else set()
            if file_name not in present[subject_dir]:
                raise FileNotFoundError(f"{list_path}:{number}: {folder / subject_dir / file_name} not found")
            subject, glasses, pos, session, pic = match.groups()
            groups.setdefault((subject, glasses, pos, session), []).append((int(pic), folder / subject_dir / file_name))

        attack = AttackType.LIVE if label == LIVE else AttackType.PRINT
        samples = []
        for (subject, glasses, pos, session), frames in sorted(groups.items()):
            frames.sort()
            common = dict(label=label, attack_type=attack.value, split=split, dataset=self.name, subject=subject)
            common.update(session=session, device="webcam", protocol=self.protocol)
            meta = {"glasses": glasses, "pos": pos}
            stem = f"{_FOLDERS[label]}/{subject}/{subject}_{glasses}_{pos}_{session}"
            if self.sequences:
                paths = tuple(p for _, p in frames)
                samples.append(Sample(path=paths[0], video_id=stem, frame_paths=paths, meta=meta, **common))
            else:
                samples += [
                    Sample(path=p, video_id=f"{stem}_{pic}", is_image=True, meta={**meta, "pic": pic}, **common)
                    for pic, p in frames
                ]
        return samples
