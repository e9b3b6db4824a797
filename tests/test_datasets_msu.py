"""MSU-MFSD adapter on the full fake name set (280 placeholder videos) with the official subject lists."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from fake_datasets import MSU_TEST_SUBJECTS, MSU_TRAIN_SUBJECTS, make_msu_mfsd, touch
from stasn.datasets import MSUMFSD
from stasn.errors import DataError


@pytest.fixture
def msu_root(tmp_path):
    return make_msu_mfsd(tmp_path / "msu")


def test_msu_official_split_sizes_and_types(msu_root):
    ds = MSUMFSD(msu_root, dev_fraction=0)
    assert Counter((s.split, s.attack_type) for s in ds) == {
        ("train", "live"): 30,
        ("train", "replay"): 60,
        ("train", "print"): 30,
        ("test", "live"): 40,
        ("test", "replay"): 80,
        ("test", "print"): 40,
    }
    assert {s.subject for s in ds if s.split == "train"} == {f"{c:03d}" for c in MSU_TRAIN_SUBJECTS}
    assert {s.subject for s in ds if s.split == "test"} == {f"{c:03d}" for c in MSU_TEST_SUBJECTS}


def test_msu_fields_annotations_and_dev(msu_root):
    ds = MSUMFSD(msu_root)
    s = next(x for x in ds if x.video_id == "scene01/real/real_client002_android_SD_scene01")
    assert (s.device, s.session, s.path.suffix) == ("android", "scene01", ".mp4")
    assert ds.annotations(s).boxes == {0: (10, 20, 110, 140)}  # frame 1 is all zeros: no face
    attack = next(x for x in ds if x.meta["instrument"] == "iphone_video")
    assert attack.attack_type == "replay" and ds.annotations(attack) is None
    dev = {x.subject for x in ds if x.split == "dev"}
    assert len(dev) == 3 and dev.isdisjoint({x.subject for x in ds if x.split == "train"})


def test_msu_errors(msu_root, caplog):
    with pytest.raises(ValueError, match=r"Unknown protocol 'grandtest' for MSU-MFSD\. Valid values are \{default\}"):
        MSUMFSD(msu_root, protocol="grandtest")
    touch(msu_root / "scene01" / "real" / "real_client099_android_SD_scene01.mp4")
    with caplog.at_level(logging.WARNING):
        assert len(MSUMFSD(msu_root)) == 280
    assert "client 099 is in neither subject list" in caplog.text
    (msu_root / "test_sub_list.txt").write_text("01\n13\nfourteen\n")
    with pytest.raises(DataError, match=r"test_sub_list\.txt:3: expected a subject number"):
        MSUMFSD(msu_root)
    (msu_root / "test_sub_list.txt").write_text("01\n02\n")
    with pytest.raises(DataError, match=r"test_sub_list\.txt:2: subject 02 is already in the train list"):
        MSUMFSD(msu_root)
    (msu_root / "test_sub_list.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"test_sub_list\.txt: protocol/list file not found"):
        MSUMFSD(msu_root)


def test_msu_bad_file_name_and_missing_folder(msu_root):
    touch(msu_root / "scene01" / "attack" / "real_client002_laptop_SD_scene01.mov")
    with pytest.raises(DataError, match=r"real_client002_laptop_SD_scene01\.mov: expected"):
        MSUMFSD(msu_root)
    (msu_root / "scene01" / "attack").rename(msu_root / "scene01" / "spoof")
    with pytest.raises(FileNotFoundError, match="scene01/attack: missing"):
        MSUMFSD(msu_root)
