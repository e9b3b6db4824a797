"""OULU-NPU adapter on a full-size fake name set whose protocol files follow the official rules."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from fake_datasets import make_oulu_npu
from stasn.datasets import OuluNPU, open_dataset
from stasn.errors import DataError

# (train, dev, test) videos per protocol (per fold for 3 and 4): Boulkenafet et al., FG 2017, Table 2
OFFICIAL_SIZES = {"1": (1200, 900, 600), "2": (1080, 810, 1080), "3": (1500, 1125, 300), "4": (600, 450, 60)}


@pytest.fixture(scope="module")
def oulu_root(tmp_path_factory):
    return make_oulu_npu(tmp_path_factory.mktemp("oulu"))


def _sizes(ds) -> tuple[int, int, int]:
    counts = Counter(s.split for s in ds)
    return counts["train"], counts["dev"], counts["test"]


@pytest.mark.parametrize("protocol", ["1", "2"])
def test_oulu_protocol_sizes(oulu_root, protocol):
    assert _sizes(OuluNPU(oulu_root, protocol=protocol)) == OFFICIAL_SIZES[protocol]


@pytest.mark.parametrize("protocol", ["3", "4"])
def test_oulu_protocol_sizes_every_fold(oulu_root, protocol):
    for fold in range(1, 7):
        assert _sizes(OuluNPU(oulu_root, protocol=protocol, fold=fold)) == OFFICIAL_SIZES[protocol], fold


def test_oulu_labels_and_attack_types_follow_file_numbers(oulu_root):
    ds = OuluNPU(oulu_root, protocol="1")
    expected = {1: ("live", 0, None), 2: ("print", 1, 1), 3: ("print", 1, 2), 4: ("replay", 1, 1), 5: ("replay", 1, 2)}
    for s in ds:
        assert (s.attack_type, s.label, s.meta["pai_index"]) == expected[s.meta["file"]]
    assert Counter(s.attack_type for s in ds if s.split == "train") == {"live": 240, "print": 480, "replay": 480}


def test_oulu_protocol_3_fold_k_tests_only_phone_k(oulu_root):
    for fold in range(1, 7):
        ds = OuluNPU(oulu_root, protocol="3", fold=fold)
        assert {s.device for s in ds if s.split == "test"} == {f"phone{fold}"}
        assert f"phone{fold}" not in {s.device for s in ds if s.split != "test"}


def test_oulu_protocol_4_tests_only_session_3_unseen_pai(oulu_root):
    ds = OuluNPU(oulu_root, protocol="4", fold=2)
    test = [s for s in ds if s.split == "test"]
    assert {s.session for s in test} == {"3"} and {s.device for s in test} == {"phone2"}
    assert {s.meta["pai_index"] for s in test} == {None, 2}
    assert {s.meta["pai_index"] for s in ds if s.split == "train"} == {None, 1}


def test_oulu_protocol_3_fold_2_has_no_user_overlap(oulu_root):
    ds = OuluNPU(oulu_root, protocol="3", fold=2)
    users = {split: {s.subject for s in ds if s.split == split} for split in ("train", "dev", "test")}
    assert users["train"] == {f"{u:02d}" for u in range(1, 21)}
    assert users["dev"] == {f"{u:02d}" for u in range(21, 36)}
    assert users["test"] == {f"{u:02d}" for u in range(36, 56)}


def test_oulu_sample_fields(oulu_root):
    s = OuluNPU(oulu_root, protocol="3", fold=4, split="test")[0]
    assert s.path.is_file() and s.path.parent.name == "Test_files"
    assert s.video_id == f"Test_files/{s.path.stem}" and s.dataset == "oulu-npu"
    assert (s.protocol, s.fold, s.split) == ("3", "4", "test")
    assert len({x.video_id for x in OuluNPU(oulu_root, protocol="1")}) == 2700


def test_oulu_split_filter_and_open_dataset(oulu_root):
    dev = open_dataset("oulu-npu", oulu_root, protocol=3, fold="2", split="dev")
    assert len(dev) == 1125 and {s.split for s in dev} == {"dev"}


def test_oulu_eye_annotations(oulu_root):
    ds = OuluNPU(oulu_root, protocol="1", split="train")
    with_eyes = next(s for s in ds if s.subject == "01")
    ann = ds.annotations(with_eyes)
    assert ann.eyes == {0: (100, 200, 150, 201), 2: (101, 202, 151, 203)}  # frame 1 is all zeros: no eyes
    assert ds.annotations(next(s for s in ds if s.subject == "02")) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"protocol": "5"}, r"Unknown protocol '5' for OULU-NPU\. Valid values are \{1, 2, 3, 4\}\."),
        ({"protocol": "3"}, r"protocol 3 needs a fold"),
        ({"protocol": "4", "fold": 7}, r"Unknown fold '7' for OULU-NPU"),
        ({"protocol": "1", "fold": 1}, r"protocol 1 has no folds"),
        (
            {"protocol": "1", "split": "val"},
            r"Unknown split 'val' for OULU-NPU\. Valid values are \{train, dev, test\}",
        ),
    ],
)
def test_oulu_bad_arguments(oulu_root, kwargs, message):
    with pytest.raises(ValueError, match=message):
        OuluNPU(oulu_root, **kwargs)


def test_oulu_missing_root_and_renamed_folder(tmp_path, oulu_root):
    with pytest.raises(FileNotFoundError, match="OULU-NPU root folder not found"):
        OuluNPU(tmp_path / "nope")
    root = tmp_path / "copy"
    (root / "Protocols" / "Protocol_1").mkdir(parents=True)
    for name in ("Train.txt", "Dev.txt", "Test.txt"):
        shutil.copy(oulu_root / "Protocols" / "Protocol_1" / name, root / "Protocols" / "Protocol_1" / name)
    (root / "train_files").mkdir()  # wrong case: the release uses Train_files
    with pytest.raises(FileNotFoundError, match="Train_files: missing"):
        OuluNPU(root, protocol="1")
    with pytest.raises(FileNotFoundError, match=r"Protocol_2/Train\.txt: protocol/list file not found"):
        OuluNPU(root, protocol="2")


def _tiny_root(tmp_path, train_lines: str):
    """Protocol 1 with one Train_files video and the given Train.txt."""
    (tmp_path / "Train_files").mkdir()
    (tmp_path / "Train_files" / "1_1_01_1.avi").write_bytes(b"x")
    (tmp_path / "Train_files" / "1_1_01_2.avi").write_bytes(b"x")
    (tmp_path / "Protocols" / "Protocol_1").mkdir(parents=True)
    (tmp_path / "Protocols" / "Protocol_1" / "Train.txt").write_text(train_lines)
    return tmp_path


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("+1,1_1_01_1\n+1 1_1_01_1\n", r"Train\.txt:2: expected '<label>,<phone>_<session>_<user>_<file>'"),
        ("+1,1_1_01_1\r\n\r\n+2,1_1_01_1\r\n", r"Train\.txt:3: expected"),
        ("-2,1_1_01_2\n", r"Train\.txt:1: label -2 \(replay\) contradicts file type 2 \(print\)"),
        ("+1,1_1_01_1\n+1,1_1_01_1\n", r"Train\.txt:2: video 1_1_01_1 is listed twice"),
    ],
)
def test_oulu_malformed_protocol_line_names_file_and_line(tmp_path, lines, message):
    root = _tiny_root(tmp_path, lines)
    with pytest.raises(DataError, match=message):
        OuluNPU(root, protocol="1", split="train")


def test_oulu_listed_video_missing(tmp_path):
    root = _tiny_root(tmp_path, "+1,1_1_01_1\n-1,1_1_01_3\n")
    with pytest.raises(FileNotFoundError, match=r"Train\.txt:2: .*Train_files/1_1_01_3\.avi not found"):
        OuluNPU(root, protocol="1", split="train")
