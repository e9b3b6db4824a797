"""CASIA-FASD (Zhang et al., ICB 2012): 50 subjects, 600 videos, three capture qualities and three attacks.

Layout (as released)::

    <root>/train_release/<1..20>/{1..8}.avi, HR_{1..4}.avi      20 subjects x 12 = 240 videos
    <root>/test_release/<1..30>/{1..8}.avi, HR_{1..4}.avi       30 subjects x 12 = 360 videos

Per subject folder: ``1, 2, HR_1`` live; ``3, 4, HR_2`` warped printed photo; ``5, 6, HR_3`` cut photo (eye holes);
``7, 8, HR_4`` video replay. Odd numbers are low quality, even numbers normal quality, ``HR_*`` high quality.

The dataset ships no protocol files: the seven test scenarios of the CASIA-FASD paper (quality ``low``, ``normal``,
``high``; attack ``warped``, ``cut``, ``video``; ``overall``) are encoded below. In the quality scenarios every video
of that quality (live + its three attacks) is used; in the attack scenarios all live videos plus that attack at all
qualities. The train/test folders are the official split; there is no dev split (``dev_fraction`` makes one).
"""

from __future__ import annotations

import logging
from pathlib import Path

from stasn.datasets.base import (
    DEFAULT_DEV_FRACTION,
    DatasetAdapter,
    Sample,
    check_dev_fraction,
    check_protocol_without_folds,
    check_split,
    move_subjects_to_dev,
    resolve_root,
    select_split,
)
from stasn.labels import AttackType

__all__ = ["CasiaFASD"]

logger = logging.getLogger(__name__)

_FOLDERS = {"train": "train_release", "test": "test_release"}
# file stem -> (attack type, scenario name of the attack, quality)
_FILES: dict[str, tuple[AttackType, str, str]] = {
    "1": (AttackType.LIVE, "", "low"),
    "2": (AttackType.LIVE, "", "normal"),
    "HR_1": (AttackType.LIVE, "", "high"),
    "3": (AttackType.PRINT, "warped", "low"),
    "4": (AttackType.PRINT, "warped", "normal"),
    "HR_2": (AttackType.PRINT, "warped", "high"),
    "5": (AttackType.PAPER_CUT, "cut", "low"),
    "6": (AttackType.PAPER_CUT, "cut", "normal"),
    "HR_3": (AttackType.PAPER_CUT, "cut", "high"),
    "7": (AttackType.REPLAY, "video", "low"),
    "8": (AttackType.REPLAY, "video", "normal"),
    "HR_4": (AttackType.REPLAY, "video", "high"),
}


def _in_protocol(protocol: str, attack: AttackType, scenario: str, quality: str) -> bool:
    if protocol == "overall":
        return True
    if protocol in ("low", "normal", "high"):
        return quality == protocol
    return attack is AttackType.LIVE or scenario == protocol  # attack scenarios keep every live video


class CasiaFASD(DatasetAdapter):
    """CASIA-FASD under one of the seven test scenarios of its paper.

    Args:
        root: folder holding ``train_release/`` and ``test_release/``.
        protocol: ``"overall"``, ``"low"``, ``"normal"``, ``"high"``, ``"warped"``, ``"cut"`` or ``"video"``.
        fold: must be ``None``.
        split: ``"train"``, ``"dev"``, ``"test"`` or ``None`` (all).
        dev_fraction: share of train subjects moved to "dev" (ours; CASIA-FASD has no dev split).
    """

    name = "casia-fasd"
    protocols = ("overall", "low", "normal", "high", "warped", "cut", "video")

    def __init__(
        self,
        root: str | Path,
        protocol: str = "overall",
        fold: str | int | None = None,
        split: str | None = None,
        *,
        dev_fraction: float = DEFAULT_DEV_FRACTION,
    ) -> None:
        protocol = check_protocol_without_folds("CASIA-FASD", protocol, self.protocols, fold)
        self.dev_fraction = check_dev_fraction(dev_fraction)
        self.split = check_split("CASIA-FASD", split, has_dev=self.dev_fraction > 0)
        official = list(_FOLDERS) if self.split is None else ["test" if self.split == "test" else "train"]
        self.root = resolve_root(root, "CASIA-FASD", [_FOLDERS[o] for o in official])
        self.protocol, self.fold = protocol, None
        samples = [s for o in official for s in self._scan(o)]
        self.samples = select_split(move_subjects_to_dev(samples, self.dev_fraction), self.split)

    def _scan(self, split: str) -> list[Sample]:
        folder = self.root / _FOLDERS[split]
        subjects = sorted((d for d in folder.iterdir() if d.is_dir() and d.name.isdigit()), key=lambda d: int(d.name))
        if not subjects:
            raise FileNotFoundError(f"{folder}: no subject folders (1, 2, ...) in it")
        samples, missing = [], []
        for subject_dir in subjects:
            for stem, (attack, scenario, quality) in _FILES.items():
                path = subject_dir / f"{stem}.avi"
                if not path.is_file():
                    missing.append(path)
                    continue
                if not _in_protocol(self.protocol, attack, scenario, quality):
                    continue
                samples.append(
                    Sample(
                        path=path,
                        label=attack.label,
                        attack_type=attack.value,
                        split=split,
                        video_id=f"{folder.name}/{subject_dir.name}/{stem}",
                        dataset=self.name,
                        subject=f"{folder.name}/{subject_dir.name}",  # test subject 1 is not train subject 1
                        device=quality,
                        protocol=self.protocol,
                        meta={"quality": quality, "attack": scenario or "live"},
                    )
                )
        if missing:
            logger.warning("%s: %d expected CASIA-FASD videos are missing, e.g. %s", folder, len(missing), missing[0])
        return samples
