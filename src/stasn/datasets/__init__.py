"""Dataset adapters: each lists one dataset's samples under its official protocols, from its on-disk layout.

Usage::

    from stasn.datasets import DATASETS, open_dataset
    ds = open_dataset("oulu-npu", root, protocol="3", fold=2, split=None)   # split None = all splits
    for sample in ds: ...                                                   # stasn.datasets.base.Sample
    ds.annotations(sample)                                                  # FaceAnnotations | None

``DATASETS`` is a plain dict ``name -> adapter class``; see ``docs/datasets.md`` for layouts and protocols.
"""

from __future__ import annotations

from pathlib import Path

from stasn.datasets.base import DatasetAdapter, FaceAnnotations, Sample
from stasn.datasets.casia import CasiaFASD
from stasn.datasets.celeba_spoof import CelebASpoof
from stasn.datasets.generic import Generic
from stasn.datasets.msu import MSUMFSD
from stasn.datasets.nuaa import NUAA
from stasn.datasets.oulu import OuluNPU
from stasn.datasets.replay_attack import ReplayAttack
from stasn.datasets.replay_mobile import ReplayMobile
from stasn.datasets.siw import SiW

__all__ = [
    "DATASETS",
    "open_dataset",
    "DatasetAdapter",
    "FaceAnnotations",
    "Sample",
    "OuluNPU",
    "SiW",
    "CasiaFASD",
    "ReplayAttack",
    "MSUMFSD",
    "ReplayMobile",
    "CelebASpoof",
    "NUAA",
    "Generic",
]

DATASETS: dict[str, type[DatasetAdapter]] = {
    "oulu-npu": OuluNPU,
    "siw": SiW,
    "casia-fasd": CasiaFASD,
    "replay-attack": ReplayAttack,
    "msu-mfsd": MSUMFSD,
    "replay-mobile": ReplayMobile,
    "celeba-spoof": CelebASpoof,
    "nuaa": NUAA,
    "generic": Generic,
}


def open_dataset(
    name: str,
    root: str | Path,
    protocol: str | int | None = None,
    fold: str | int | None = None,
    split: str | None = None,
    **options,
) -> DatasetAdapter:
    """Build the adapter ``DATASETS[name]``; ``protocol=None`` takes the adapter's default protocol.

    ``options`` are adapter-specific keywords (e.g. ``dev_fraction=0.2``, NUAA ``sequences=False``).

    Raises:
        ValueError: unknown dataset name (the message lists the available ones), protocol, fold or split.
        FileNotFoundError: the root, a sub-folder or a protocol file is missing.
    """
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}. Available: {', '.join(DATASETS)}.")
    if protocol is not None:
        options["protocol"] = protocol
    return DATASETS[name](root, fold=fold, split=split, **options)
