"""CelebA-Spoof (Zhang et al., ECCV 2020): 625k still images of 10,177 subjects with 43 attributes each.

Layout (as released)::

    <root>/Data/{train,test}/<subject id>/{live,spoof}/<n>.jpg|png     + <n>_BB.txt  'x y w h score'
    <root>/metas/intra_test/train_label.json    {"Data/train/<id>/<live|spoof>/<n>.jpg": [44 values], ...}
    <root>/metas/intra_test/test_label.json

Label vector: index 40 the spoof type (0 live, 1 photo, 2 poster, 3 A4, 4 face mask, 5 upper-body mask, 6 region mask,
7 PC screen, 8 pad, 9 phone, 10 3D mask), 41 illumination, 42 environment, 43 live/spoof (0 live, 1 spoof).
``_BB.txt`` boxes are given in a 224 x 224 frame; :meth:`CelebASpoof.annotations` scales them to the image's size.
Each image is a one-frame sample (``is_image=True``). Only the intra-dataset protocol (``intra_test``) is
implemented. There is no dev split (``dev_fraction`` makes one from the train subjects).
"""

from __future__ import annotations

import json
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
    resolve_root,
    select_split,
)
from stasn.errors import DataError
from stasn.labels import LIVE, SPOOF, AttackType

__all__ = ["CelebASpoof", "SPOOF_TYPES"]

BOX_FRAME = 224  # _BB.txt coordinates refer to a 224 x 224 version of the image (CelebA-Spoof README)
# index 40 -> (name, stasn attack type); grouping follows the paper's print / paper-cut / replay / 3D-mask families
SPOOF_TYPES: dict[int, tuple[str, AttackType]] = {
    0: ("live", AttackType.LIVE),
    1: ("photo", AttackType.PRINT),
    2: ("poster", AttackType.PRINT),
    3: ("a4", AttackType.PRINT),
    4: ("face-mask", AttackType.PAPER_CUT),
    5: ("upper-body-mask", AttackType.PAPER_CUT),
    6: ("region-mask", AttackType.PAPER_CUT),
    7: ("pc", AttackType.REPLAY),
    8: ("pad", AttackType.REPLAY),
    9: ("phone", AttackType.REPLAY),
    10: ("3d-mask", AttackType.MASK),
}
_N_VALUES = 44


class CelebASpoof(DatasetAdapter):
    """CelebA-Spoof under its intra-dataset protocol (``metas/intra_test``).

    Args:
        root: folder holding ``Data/`` and ``metas/``.
        protocol: only ``"intra_test"``.
        fold: must be ``None``.
        split: ``"train"``, ``"dev"``, ``"test"`` or ``None`` (all).
        dev_fraction: share of train subjects moved to "dev" (ours; CelebA-Spoof has no dev split).

    Listed images are not checked for existence here (600k stat calls); a missing one fails when it is decoded.
    """

    name = "celeba-spoof"
    protocols = ("intra_test",)

    def __init__(
        self,
        root: str | Path,
        protocol: str = "intra_test",
        fold: str | int | None = None,
        split: str | None = None,
        *,
        dev_fraction: float = DEFAULT_DEV_FRACTION,
    ) -> None:
        protocol = check_protocol_without_folds("CelebA-Spoof", protocol, self.protocols, fold)
        self.dev_fraction = check_dev_fraction(dev_fraction)
        self.split = check_split("CelebA-Spoof", split, has_dev=self.dev_fraction > 0)
        self.root = resolve_root(root, "CelebA-Spoof", ["Data", f"metas/{protocol}"])
        self.protocol, self.fold = protocol, None
        official = ["train", "test"] if self.split is None else ["test" if self.split == "test" else "train"]
        samples = [s for o in official for s in self._read_labels(o)]
        self.samples = select_split(move_subjects_to_dev(samples, self.dev_fraction), self.split)

    def annotations(self, sample: Sample) -> FaceAnnotations | None:
        """The ``<n>_BB.txt`` box of the image, scaled from the 224 x 224 frame to the image's pixels (frame 0)."""
        path = sample.path.with_name(f"{sample.path.stem}_BB.txt")
        if not path.is_file():
            return None
        rows = read_numeric_rows(path, 4, "'x y w h score'")
        if not rows:
            return FaceAnnotations()
        from PIL import Image  # reads the header only; PIL is imported lazily as only this method needs it

        with Image.open(sample.path) as image:
            width, height = image.size
        x, y, w, h = rows[0][:4]
        sx, sy = width / BOX_FRAME, height / BOX_FRAME
        return FaceAnnotations(boxes={0: (x * sx, y * sy, (x + w) * sx, (y + h) * sy)})

    def _read_labels(self, split: str) -> list[Sample]:
        json_path = self.root / "metas" / self.protocol / f"{split}_label.json"
        if not json_path.is_file():
            raise FileNotFoundError(f"{json_path}: protocol/list file not found")
        try:
            labels = json.loads(json_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{json_path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(labels, dict):
            raise DataError(f"{json_path}: expected a JSON object mapping image paths to label lists")
        return [self._sample(key, values, split, json_path) for key, values in sorted(labels.items())]

    def _sample(self, key: str, values: object, split: str, json_path: Path) -> Sample:
        where = f"{json_path}: entry {key!r}"
        key = key.replace("\\", "/").removeprefix("./")
        key = key if key.startswith("Data/") else f"Data/{key}"  # tolerate keys written relative to Data/
        parts = key.split("/")
        if len(parts) != 5 or parts[1] != split or parts[3] not in ("live", "spoof"):
            raise DataError(f"{where}: expected a key 'Data/{split}/<subject>/<live|spoof>/<n>.<jpg|png>'")
        if not isinstance(values, list) or len(values) != _N_VALUES:
            raise DataError(f"{where}: expected a list of {_N_VALUES} labels")
        spoof_type, label = values[40], values[43]
        if spoof_type not in SPOOF_TYPES or label not in (LIVE, SPOOF):
            raise DataError(f"{where}: spoof type (index 40) {spoof_type!r} or label (index 43) {label!r} out of range")
        type_name, attack = SPOOF_TYPES[spoof_type]
        if attack.label != label or (parts[3] == "live") != (label == LIVE):
            raise DataError(f"{where}: spoof type {spoof_type} ({type_name}), label {label} and folder disagree")
        return Sample(
            path=self.root / key,
            label=label,
            attack_type=attack.value,
            split=split,
            video_id=key.rsplit(".", 1)[0],
            dataset=self.name,
            subject=parts[2],
            protocol=self.protocol,
            is_image=True,
            meta={
                "spoof_type": spoof_type,
                "spoof_type_name": type_name,
                "illumination": values[41],
                "environment": values[42],
            },
        )
