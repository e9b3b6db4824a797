"""The DATASETS registry, open_dataset and the shared helpers of stasn.datasets.base."""

from __future__ import annotations

import pytest

from fake_datasets import make_casia_fasd, make_generic_tree, make_siw
from stasn.datasets import DATASETS, DatasetAdapter, open_dataset
from stasn.datasets.base import check_choice, dev_subjects, move_subjects_to_dev, read_list_file


def test_registry_names():
    assert list(DATASETS) == [
        "oulu-npu",
        "siw",
        "casia-fasd",
        "replay-attack",
        "msu-mfsd",
        "replay-mobile",
        "celeba-spoof",
        "nuaa",
        "generic",
    ]
    for name, cls in DATASETS.items():
        assert issubclass(cls, DatasetAdapter) and cls.name == name and cls.protocols


def test_open_dataset_unknown_name():
    with pytest.raises(ValueError, match=r"Unknown dataset 'oulu'\. Available: oulu-npu, siw, .*, generic\."):
        open_dataset("oulu", "/nowhere")


def test_open_dataset_default_protocol_and_options(tmp_path):
    ds = open_dataset("casia-fasd", make_casia_fasd(tmp_path, n_train=5, n_test=1), dev_fraction=0)
    assert ds.protocol == "overall" and len(ds) == 72
    assert open_dataset("generic", make_generic_tree(tmp_path / "g"), split="dev").protocol == "default"


def test_open_dataset_int_protocol_and_fold(tmp_path):
    ds = open_dataset("siw", make_siw(tmp_path), protocol=2, fold=3, split="test")
    assert (ds.protocol, ds.fold) == ("2", "3") and {s.fold for s in ds} == {"3"}


def test_check_choice_message():
    with pytest.raises(ValueError, match=r"^Unknown protocol '5' for OULU-NPU\. Valid values are \{1, 2, 3, 4\}\.$"):
        check_choice("OULU-NPU", "protocol", "5", ("1", "2", "3", "4"))


@pytest.mark.parametrize(
    ("n", "fraction", "expected"),
    [(9, 0.2, {"s02", "s06"}), (4, 0.2, {"s02"}), (10, 0.3, {"s01", "s05", "s08"}), (1, 0.5, set()), (5, 0.0, set())],
)
def test_dev_subjects_evenly_spread(n, fraction, expected):
    subjects = [f"s{i:02d}" for i in range(n)]
    assert dev_subjects(reversed(subjects), fraction) == expected  # input order does not matter


def test_dev_subjects_leaves_one_for_training():
    assert dev_subjects(["a", "b"], 0.9) == {"b"}


def test_move_subjects_to_dev_only_touches_train(tmp_path):
    ds = open_dataset("casia-fasd", make_casia_fasd(tmp_path, n_train=5, n_test=2), dev_fraction=0)
    moved = move_subjects_to_dev(list(ds), 0.2)
    assert {s.subject for s in moved if s.split == "dev"} == {"train_release/3"}
    assert [s for s in moved if s.split == "test"] == [s for s in ds if s.split == "test"]


def test_read_list_file(tmp_path):
    path = tmp_path / "list.txt"
    path.write_bytes(b"\xef\xbb\xbfa\r\n\r\n  b  \r\n")
    assert read_list_file(path) == [(1, "a"), (3, "b")]
    with pytest.raises(FileNotFoundError, match=r"missing\.txt: protocol/list file not found"):
        read_list_file(tmp_path / "missing.txt")
