"""Anyone's own data, in one of two forms.

1. ``<root>/samples.csv`` with columns ``path,label,split`` (required) and optionally
   ``attack_type,subject,session,device,video_id,boxes``::

       path,label,split,attack_type,subject,boxes
       videos/alice_live.mp4,live,train,,alice,boxes/alice_live.txt
       videos/alice_phone.mp4,1,train,replay,alice,

   ``path`` and ``boxes`` are relative to ``root``; ``path`` may be a video, an image, or a folder of frame images
   (an image-sequence video). ``label`` is 0/1 or live/spoof; ``attack_type`` (an :class:`~stasn.labels.AttackType`
   value) defaults to ``live`` for label 0 and ``other`` for label 1. ``split`` is train/dev/test (``devel``, ``val``
   and ``validation`` are read as dev). ``boxes`` names a text file of dataset-provided face boxes, one line per
   frame: ``frame x1 y1 x2 y2`` (0-based frame index, pixels).
2. A folder tree ``<root>/{train,dev,test}/{live,spoof}/**`` of videos and images; under ``spoof/`` a first
   sub-folder named after an attack type (``spoof/print/...``, ``spoof/replay/...``) sets ``attack_type``, otherwise
   it is ``other``.

``samples.csv`` wins when both are present.
"""

from __future__ import annotations

import csv
from pathlib import Path

from stasn.datasets._files import natural_key, read_numeric_rows, relative_id
from stasn.datasets.base import (
    SPLITS,
    DatasetAdapter,
    FaceAnnotations,
    Sample,
    check_protocol_without_folds,
    check_split,
    select_split,
)
from stasn.errors import DataError
from stasn.labels import LIVE, AttackType, parse_label
from stasn.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES

__all__ = ["Generic", "SAMPLES_CSV"]

SAMPLES_CSV = "samples.csv"
_REQUIRED = ("path", "label", "split")
_OPTIONAL = ("attack_type", "subject", "session", "device", "video_id", "boxes")
_SPLIT_ALIASES = {"devel": "dev", "val": "dev", "valid": "dev", "validation": "dev"}
_MEDIA = VIDEO_SUFFIXES | IMAGE_SUFFIXES


class Generic(DatasetAdapter):
    """Your own data as ``samples.csv`` or a ``{train,dev,test}/{live,spoof}`` folder tree (see the module doc).

    Args:
        root: the folder holding ``samples.csv`` or the ``train/ dev/ test/`` folders.
        protocol: only ``"default"``.
        fold: must be ``None``.
        split: ``"train"``, ``"dev"``, ``"test"`` or ``None`` (all).
    """

    name = "generic"
    protocols = ("default",)

    def __init__(
        self,
        root: str | Path,
        protocol: str = "default",
        fold: str | int | None = None,
        split: str | None = None,
    ) -> None:
        protocol = check_protocol_without_folds("generic", protocol, self.protocols, fold)
        self.split = check_split("generic", split)
        self.root = Path(root)
        self.protocol, self.fold = protocol, None
        self._boxes: dict[str, Path] = {}  # video_id -> boxes file
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: generic dataset root folder not found")
        if (self.root / SAMPLES_CSV).is_file():
            samples = self._read_csv(self.root / SAMPLES_CSV)
        elif any((self.root / s).is_dir() for s in SPLITS):
            samples = self._scan_tree()
        else:
            raise FileNotFoundError(
                f"{self.root / SAMPLES_CSV}: not found, and no train/ dev/ test/ folders in {self.root}; "
                "a generic dataset is a samples.csv or a {train,dev,test}/{live,spoof}/ tree"
            )
        self.samples = select_split(samples, self.split)

    def annotations(self, sample: Sample) -> FaceAnnotations | None:
        """Boxes from the sample's ``boxes`` file (``frame x1 y1 x2 y2`` lines), or ``None`` when it has none."""
        path = self._boxes.get(sample.video_id)
        if path is None:
            return None
        rows = read_numeric_rows(path, 5, "'frame x1 y1 x2 y2'")
        return FaceAnnotations(boxes={int(r[0]): (r[1], r[2], r[3], r[4]) for r in rows})

    # -- form 1: samples.csv ------------------------------------------------------------------------------------------
    def _read_csv(self, csv_path: Path) -> list[Sample]:
        with csv_path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip() for c in reader.fieldnames or []]
            missing = [c for c in _REQUIRED if c not in columns]
            if missing:
                raise DataError(f"{csv_path}:1: missing required column(s) {', '.join(missing)}; header is {columns}")
            reader.fieldnames = columns
            samples, seen = [], set()
            for line, record in enumerate(reader, start=2):
                where = f"{csv_path}:{line}"
                sample = self._csv_sample({k: (v or "").strip() for k, v in record.items() if k}, where)
                if sample.video_id in seen:
                    raise DataError(f"{where}: video_id {sample.video_id!r} appears twice; ids must be unique")
                seen.add(sample.video_id)
                samples.append(sample)
        return samples

    def _csv_sample(self, rec: dict[str, str], where: str) -> Sample:
        for column in _REQUIRED:
            if not rec.get(column):
                raise DataError(f"{where}: empty {column!r}")
        try:
            label = parse_label(rec["label"])
        except ValueError as exc:
            raise DataError(f"{where}: {exc}") from None
        attack = _attack_type(rec.get("attack_type", ""), label, where)
        split = _SPLIT_ALIASES.get(rec["split"].lower(), rec["split"].lower())
        if split not in SPLITS:
            raise DataError(f"{where}: split must be one of train, dev, test; got {rec['split']!r}")
        path = self.root / rec["path"]
        if not path.exists():
            raise FileNotFoundError(f"{where}: {path} not found")
        frame_paths = None
        if path.is_dir():  # a folder of frames = an image-sequence video
            frame_paths = tuple(
                sorted(
                    (p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                    key=lambda p: natural_key(p.name),
                )
            )
            if not frame_paths:
                raise DataError(f"{where}: {path} is a folder without images")
        elif path.suffix.lower() not in _MEDIA:
            raise DataError(f"{where}: {path.name} is neither a video ({_fmt(VIDEO_SUFFIXES)}) nor an image")
        video_id = rec.get("video_id") or Path(rec["path"]).with_suffix("").as_posix()
        if rec.get("boxes"):
            boxes = self.root / rec["boxes"]
            if not boxes.is_file():
                raise FileNotFoundError(f"{where}: boxes file {boxes} not found")
            self._boxes[video_id] = boxes
        return Sample(
            path=frame_paths[0] if frame_paths else path,
            label=label,
            attack_type=attack,
            split=split,
            video_id=video_id,
            dataset=self.name,
            subject=rec.get("subject", ""),
            session=rec.get("session", ""),
            device=rec.get("device", ""),
            protocol=self.protocol,
            is_image=frame_paths is None and path.suffix.lower() in IMAGE_SUFFIXES,
            frame_paths=frame_paths,
        )

    # -- form 2: folder tree ------------------------------------------------------------------------------------------
    def _scan_tree(self) -> list[Sample]:
        samples = []
        for split in SPLITS:
            for kind in ("live", "spoof"):
                folder = self.root / split / kind
                if not folder.is_dir():
                    continue
                for path in sorted(folder.rglob("*")):
                    if not path.is_file() or path.suffix.lower() not in _MEDIA:
                        continue
                    attack = AttackType.LIVE.value if kind == "live" else _attack_from_folder(path, folder)
                    samples.append(
                        Sample(
                            path=path,
                            label=AttackType(attack).label,
                            attack_type=attack,
                            split=split,
                            video_id=relative_id(path, self.root),
                            dataset=self.name,
                            protocol=self.protocol,
                            is_image=path.suffix.lower() in IMAGE_SUFFIXES,
                        )
                    )
        if not samples:
            raise FileNotFoundError(f"{self.root}: no videos or images under {{train,dev,test}}/{{live,spoof}}/")
        return samples


def _attack_type(text: str, label: int, where: str) -> str:
    if not text:
        return AttackType.LIVE.value if label == LIVE else AttackType.OTHER.value
    try:
        attack = AttackType(text.lower())
    except ValueError:
        raise DataError(f"{where}: unknown attack_type {text!r}; valid: {_fmt(a.value for a in AttackType)}") from None
    if attack.label != label:
        raise DataError(f"{where}: attack_type {attack.value!r} contradicts label {label}")
    return attack.value


def _attack_from_folder(path: Path, spoof_folder: Path) -> str:
    parts = path.relative_to(spoof_folder).parts
    if len(parts) > 1 and parts[0].lower() in {a.value for a in AttackType if a is not AttackType.LIVE}:
        return parts[0].lower()
    return AttackType.OTHER.value


def _fmt(values) -> str:
    return ", ".join(sorted(values))
