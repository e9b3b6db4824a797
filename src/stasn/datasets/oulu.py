"""OULU-NPU (Boulkenafet et al., FG 2017): 4950 mobile-phone videos, 55 users, with four official protocols.

Layout (as released)::

    <root>/Train_files/<Phone>_<Session>_<User>_<File>.avi   users 01-20     + <same name>.txt eye positions
    <root>/Dev_files/...                                       users 21-35
    <root>/Test_files/...                                      users 36-55
    <root>/Protocols/Protocol_1/{Train,Dev,Test}.txt
    <root>/Protocols/Protocol_2/{Train,Dev,Test}.txt
    <root>/Protocols/Protocol_3/{Train,Dev,Test}_{1..6}.txt    fold k: phone k left out of train/dev, tested alone
    <root>/Protocols/Protocol_4/{Train,Dev,Test}_{1..6}.txt

Phones 1-6, sessions 1-3; File 1 real, 2-3 print (printer 1/2), 4-5 replay (display 1/2). Protocol lines are
``+1,1_1_01_1`` (real), ``-1,...`` (print) or ``-2,...`` (replay). The protocol files are the source of truth; the
adapter only checks that each line agrees with its file name. Eye files have lines ``frame, lx, ly, rx, ry``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from stasn.datasets._files import read_numeric_rows
from stasn.datasets.base import (
    DatasetAdapter,
    FaceAnnotations,
    Sample,
    as_choice,
    check_choice,
    check_split,
    read_list_file,
    resolve_root,
    select_split,
)
from stasn.errors import DataError
from stasn.labels import AttackType

__all__ = ["OuluNPU"]

_SPLIT_NAMES = {"train": "Train", "dev": "Dev", "test": "Test"}
_FOLDS = tuple(str(k) for k in range(1, 7))
_LINE_LABELS = {"+1": AttackType.LIVE, "1": AttackType.LIVE, "-1": AttackType.PRINT, "-2": AttackType.REPLAY}
_FILE_TYPES = {1: AttackType.LIVE, 2: AttackType.PRINT, 3: AttackType.PRINT, 4: AttackType.REPLAY, 5: AttackType.REPLAY}
_NAME = re.compile(r"^([1-6])_([1-3])_(\d{2})_([1-5])$")


class OuluNPU(DatasetAdapter):
    """OULU-NPU under one official protocol (and fold, for protocols 3 and 4).

    Args:
        root: folder holding ``Train_files/``, ``Dev_files/``, ``Test_files/`` and ``Protocols/``.
        protocol: ``"1"`` (illumination/session), ``"2"`` (unseen PAI), ``"3"`` (leave one phone out),
            ``"4"`` (all three).
        fold: ``1``-``6`` for protocols 3 and 4 (the phone left out); ``None`` for protocols 1 and 2.
        split: ``"train"``, ``"dev"``, ``"test"`` or ``None`` (all three).
    """

    name = "oulu-npu"
    protocols = ("1", "2", "3", "4")

    def __init__(
        self,
        root: str | Path,
        protocol: str | int = "1",
        fold: str | int | None = None,
        split: str | None = None,
    ) -> None:
        protocol, fold = as_choice(protocol), as_choice(fold)
        check_choice("OULU-NPU", "protocol", protocol, self.protocols)
        if protocol in ("3", "4"):
            if fold is None:
                raise ValueError(f"OULU-NPU protocol {protocol} needs a fold: one of {{{', '.join(_FOLDS)}}}")
            check_choice("OULU-NPU", "fold", fold, _FOLDS)
        elif fold is not None:
            raise ValueError(f"OULU-NPU protocol {protocol} has no folds; got fold={fold!r} (use fold=None)")
        self.split = check_split("OULU-NPU", split)
        self.root = resolve_root(root, "OULU-NPU", ["Protocols"])
        self.protocol, self.fold = protocol, fold
        splits = list(_SPLIT_NAMES) if self.split is None else [self.split]
        self.samples = select_split([s for sp in splits for s in self._read_protocol(sp)], self.split)

    def protocol_file(self, split: str) -> Path:
        """``Protocols/Protocol_<p>/<Split>[_<fold>].txt`` for one split."""
        suffix = f"_{self.fold}" if self.fold else ""
        return self.root / "Protocols" / f"Protocol_{self.protocol}" / f"{_SPLIT_NAMES[split]}{suffix}.txt"

    def annotations(self, sample: Sample) -> FaceAnnotations | None:
        """Eye centres from ``<video>.txt`` (``frame, lx, ly, rx, ry``); frames with all-zero eyes are skipped.

        The files' frame numbers are used 0-based: a file whose first frame number is 1 is shifted down by one
        (we could not confirm from the dataset documentation whether they start at 0 or 1).
        """
        path = sample.path.with_suffix(".txt")
        if not path.is_file():
            return None
        rows = read_numeric_rows(path, 5, "'frame, left_x, left_y, right_x, right_y'")
        base = 1 if rows and rows[0][0] == 1 else 0
        eyes = {int(r[0]) - base: (r[1], r[2], r[3], r[4]) for r in rows if any(r[1:5])}
        return FaceAnnotations(eyes=eyes)

    def _read_protocol(self, split: str) -> list[Sample]:
        list_path = self.protocol_file(split)
        folder = self.root / f"{_SPLIT_NAMES[split]}_files"
        lines = read_list_file(list_path)
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: missing; is {self.root} the OULU-NPU root (expected {folder.name})?")
        present = set(os.listdir(folder))
        samples, seen = [], set()
        for number, line in lines:
            where = f"{list_path}:{number}"
            attack, phone, session, user, file_type = _parse_line(line, where)
            stem = f"{phone}_{session}_{user:02d}_{file_type}"
            if stem in seen:
                raise DataError(f"{where}: video {stem} is listed twice")
            seen.add(stem)
            if f"{stem}.avi" not in present:
                raise FileNotFoundError(f"{where}: {folder / (stem + '.avi')} not found")
            pai_index = {2: 1, 3: 2, 4: 1, 5: 2}.get(file_type)  # printer / display 1 or 2
            samples.append(
                Sample(
                    path=folder / f"{stem}.avi",
                    label=attack.label,
                    attack_type=attack.value,
                    split=split,
                    video_id=f"{folder.name}/{stem}",
                    dataset=self.name,
                    subject=f"{user:02d}",
                    session=str(session),
                    device=f"phone{phone}",
                    protocol=self.protocol,
                    fold=self.fold or "",
                    meta={"phone": phone, "file": file_type, "pai_index": pai_index},
                )
            )
        return samples


def _parse_line(line: str, where: str) -> tuple[AttackType, int, int, int, int]:
    """``'-1,1_1_01_2' -> (PRINT, phone 1, session 1, user 1, file 2)``; the label must agree with the file type."""
    label_text, _, stem = (part.strip() for part in line.partition(","))
    match = _NAME.match(stem)
    if label_text not in _LINE_LABELS or not match:
        raise DataError(
            f"{where}: expected '<label>,<phone>_<session>_<user>_<file>' with label +1/-1/-2 "
            f"(e.g. '+1,1_1_01_1'), got {line!r}"
        )
    phone, session, user, file_type = (int(g) for g in match.groups())
    if _LINE_LABELS[label_text] is not _FILE_TYPES[file_type]:
        raise DataError(
            f"{where}: label {label_text} ({_LINE_LABELS[label_text].value}) contradicts file type {file_type} "
            f"({_FILE_TYPES[file_type].value}) in {stem!r}"
        )
    if not 1 <= user <= 55:
        raise DataError(f"{where}: user {user:02d} outside 01-55 in {stem!r}")
    return _FILE_TYPES[file_type], phone, session, user, file_type
