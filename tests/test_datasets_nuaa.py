"""NUAA adapter: a small exact-format fake tree, and the real train split in ../shared when present."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from conftest import shared_path
from fake_datasets import make_nuaa
from stasn.datasets import NUAA, open_dataset
from stasn.errors import DataError


@pytest.fixture
def nuaa_root(tmp_path):
    return make_nuaa(tmp_path / "nuaa")


def test_nuaa_sequences_group_frames_in_picture_order(nuaa_root):
    ds = NUAA(nuaa_root, dev_fraction=0)
    assert len(ds) == 11  # one sample per (folder, subject, glasses, pos, session)
    first = next(s for s in ds if s.video_id == "ClientRaw/0001/0001_00_00_01")
    assert [p.name for p in first.frame_paths] == ["0001_00_00_01_0.jpg", "0001_00_00_01_5.jpg", "0001_00_00_01_12.jpg"]
    assert first.path == first.frame_paths[0] and not first.is_image
    assert (first.label, first.attack_type, first.split, first.subject, first.session) == (
        0,
        "live",
        "train",
        "0001",
        "01",
    )
    assert first.meta == {"glasses": "00", "pos": "00"}


def test_nuaa_counts_and_labels(nuaa_root):
    frames = Counter()
    for s in NUAA(nuaa_root, dev_fraction=0):
        frames[(s.split, s.attack_type)] += len(s.frame_paths)
        assert s.label == (0 if s.attack_type == "live" else 1)
    assert frames == {("train", "live"): 10, ("train", "print"): 7, ("test", "live"): 2, ("test", "print"): 3}


def test_nuaa_still_images(nuaa_root):
    ds = NUAA(nuaa_root, sequences=False, dev_fraction=0, split="train")
    assert len(ds) == 17 and all(s.is_image and s.frame_paths is None for s in ds)
    assert len({s.video_id for s in ds}) == 17
    assert "ImposterRaw/0001/0001_00_01_02_100" in {s.video_id for s in ds}


def test_nuaa_dev_split_is_subject_disjoint_and_deterministic(nuaa_root):
    ds = NUAA(nuaa_root)
    subjects = {split: {s.subject for s in ds if s.split == split} for split in ("train", "dev")}
    assert subjects["dev"] == {"0003"}  # 4 train subjects * 0.2 -> 1, the middle one of the sorted ids
    assert not subjects["dev"] & subjects["train"]
    assert [s.video_id for s in NUAA(nuaa_root, split="dev")] == [s.video_id for s in ds if s.split == "dev"]
    with pytest.raises(ValueError, match="no dev split when dev_fraction=0"):
        NUAA(nuaa_root, split="dev", dev_fraction=0)


def test_nuaa_without_test_lists_loads_train_with_warning(tmp_path, caplog):
    root = make_nuaa(tmp_path / "nuaa", with_test=False)
    with caplog.at_level(logging.WARNING):
        ds = NUAA(root, dev_fraction=0)
    assert {s.split for s in ds} == {"train"} and "no NUAA test lists" in caplog.text
    with pytest.raises(FileNotFoundError, match=r"client_test_raw\.txt: protocol/list file not found"):
        NUAA(root, split="test")


def test_nuaa_errors(nuaa_root, tmp_path):
    with pytest.raises(ValueError, match=r"Unknown protocol 'official' for NUAA\. Valid values are \{default\}\."):
        NUAA(nuaa_root, protocol="official")
    with pytest.raises(ValueError, match="NUAA has no folds"):
        NUAA(nuaa_root, fold=1)
    with pytest.raises(FileNotFoundError, match="ImposterRaw: missing"):
        (nuaa_root / "ImposterRaw").rename(nuaa_root / "imposter")
        NUAA(nuaa_root)


def test_nuaa_malformed_and_missing_list_entries(nuaa_root):
    lst = nuaa_root / "client_train_raw.txt"
    lst.write_text("0001/0001_00_00_01_0.jpg\n0001/0001_00_00_01.jpg\n")
    with pytest.raises(DataError, match=r"client_train_raw\.txt:2: expected '<subject>/<subject>_<glasses>"):
        NUAA(nuaa_root, split="train")
    lst.write_text("0001/0001_00_00_01_0.jpg\n0002/0001_00_00_01_0.jpg\n")  # subject folder and id disagree
    with pytest.raises(DataError, match=r"client_train_raw\.txt:2:"):
        NUAA(nuaa_root, split="train")
    lst.write_text("0001/0001_00_00_01_0.jpg\n0001/0001_00_00_01_999.jpg\n")
    with pytest.raises(FileNotFoundError, match=r"client_train_raw\.txt:2: .*0001_00_00_01_999\.jpg not found"):
        NUAA(nuaa_root, split="train")


@pytest.mark.shared
def test_nuaa_real_train_split():
    root = shared_path("data", "nuaa-raw-train")
    ds = open_dataset("nuaa", root, dev_fraction=0)
    frames = Counter()
    for s in ds:
        frames[s.attack_type] += len(s.frame_paths)
        assert all(p.is_file() for p in s.frame_paths)
    assert frames == {"live": 878, "print": 893}
    listed = {
        line.split("/")[0]
        for name in ("client_train_raw.txt", "imposter_train_raw.txt")
        for line in (root / name).read_text().split()
    }
    assert {s.subject for s in ds} == listed
    images = NUAA(root, sequences=False, dev_fraction=0)
    assert Counter(s.label for s in images) == {0: 878, 1: 893}
    dev = {s.subject for s in NUAA(root, split="dev")}
    assert dev and not dev & {s.subject for s in NUAA(root, split="train")}
