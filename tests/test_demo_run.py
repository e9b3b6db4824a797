"""The demo's --live-dir input: a folder of real live faces becomes a subject-split generic dataset."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from stasn.datasets import open_dataset
from stasn.demo.run import live_dir_dataset


def _faces(root, subjects: int, images: int = 2) -> None:
    for s in range(subjects):
        folder = root / f"person{s}"
        folder.mkdir(parents=True)
        for i in range(images):
            Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(folder / f"{i}.jpg")


def test_live_dir_becomes_a_subject_split_generic_dataset(tmp_path):
    _faces(tmp_path / "faces", subjects=5)
    root = live_dir_dataset(tmp_path / "faces", tmp_path / "out")
    rows = list(csv.DictReader((root / "samples.csv").open()))
    assert len(rows) == 5 and {r["label"] for r in rows} == {"0"}
    splits = {r["subject"]: r["split"] for r in rows}
    assert set(splits.values()) == {"train", "dev", "test"}
    dataset = open_dataset("generic", root)
    assert len(dataset) == 5
    assert all(sample.frame_paths and len(sample.frame_paths) == 2 for sample in dataset)


def test_live_dir_needs_three_subjects(tmp_path):
    _faces(tmp_path / "faces", subjects=2)
    with pytest.raises(ValueError, match="needs at least 3 sub-folders"):
        live_dir_dataset(tmp_path / "faces", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        live_dir_dataset(tmp_path / "nope", tmp_path / "out")
