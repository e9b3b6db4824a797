"""Generic adapter: samples.csv form and {train,dev,test}/{live,spoof} folder form."""

from __future__ import annotations

import pytest

from fake_datasets import make_generic_csv, make_generic_tree, touch
from stasn.datasets import Generic, open_dataset
from stasn.errors import DataError


def test_generic_csv_samples(tmp_path):
    ds = Generic(make_generic_csv(tmp_path))
    by_id = {s.video_id: s for s in ds}
    assert list(by_id) == ["videos/alice_live", "videos/alice_phone", "images/bob_print", "frames/carol_live"]
    live, phone, still, frames = by_id.values()
    assert (live.label, live.attack_type, live.split, live.subject) == (0, "live", "train", "alice")
    assert (phone.label, phone.attack_type) == (1, "replay")
    assert (still.split, still.attack_type, still.is_image) == ("dev", "print", True)  # 'devel' read as dev
    assert [p.name for p in frames.frame_paths] == ["frame1.png", "frame2.png", "frame10.png"]
    assert frames.path == frames.frame_paths[0] and not frames.is_image and frames.split == "test"


def test_generic_csv_annotations(tmp_path):
    ds = Generic(make_generic_csv(tmp_path))
    assert ds.annotations(ds[0]).boxes == {0: (10, 20, 110, 140), 5: (12, 22, 112, 142)}
    assert ds.annotations(ds[1]) is None
    (tmp_path / "boxes" / "alice_live.txt").write_text("0 10 20 110 140\n5 12 x 112 142\n")
    with pytest.raises(DataError, match=r"alice_live\.txt:2: expected 'frame x1 y1 x2 y2'"):
        ds.annotations(ds[0])


def test_generic_csv_defaults_and_split_filter(tmp_path):
    touch(tmp_path / "a.mp4")
    touch(tmp_path / "b.mp4")
    (tmp_path / "samples.csv").write_text("split,label,path\ntrain,0,a.mp4\ntest,1,b.mp4\n")
    ds = open_dataset("generic", tmp_path, split="test")
    assert [(s.video_id, s.attack_type, s.protocol) for s in ds] == [("b", "other", "default")]


@pytest.mark.parametrize(
    ("rows", "error", "message"),
    [
        ("path,label\na.mp4,0\n", DataError, r"samples\.csv:1: missing required column\(s\) split"),
        ("path,label,split\na.mp4,maybe,train\n", DataError, r"samples\.csv:2: cannot read a label from 'maybe'"),
        ("path,label,split\na.mp4,0,train\na.mp4,1,holdout\n", DataError, r"samples\.csv:3: split must be one of"),
        (
            "path,label,split,attack_type\na.mp4,0,train,print\n",
            DataError,
            r"samples\.csv:2: attack_type 'print' contra",
        ),
        ("path,label,split,attack_type\na.mp4,1,train,deepfake\n", DataError, r"samples\.csv:2: unknown attack_type"),
        ("path,label,split\na.mp4,0,train\na.mp4,0,test\n", DataError, r"samples\.csv:3: video_id 'a' appears twice"),
        ("path,label,split\nmissing.mp4,0,train\n", FileNotFoundError, r"samples\.csv:2: .*missing\.mp4 not found"),
        ("path,label,split\nnotes.txt,0,train\n", DataError, r"samples\.csv:2: notes\.txt is neither a video"),
        ("path,label,split,boxes\na.mp4,0,train,b.txt\n", FileNotFoundError, r"samples\.csv:2: boxes file .*b\.txt"),
    ],
)
def test_generic_csv_errors_name_file_and_line(tmp_path, rows, error, message):
    touch(tmp_path / "a.mp4")
    touch(tmp_path / "notes.txt")
    (tmp_path / "samples.csv").write_text(rows)
    with pytest.raises(error, match=message):
        Generic(tmp_path)


def test_generic_tree(tmp_path):
    ds = Generic(make_generic_tree(tmp_path))
    got = {s.video_id: (s.split, s.label, s.attack_type, s.is_image) for s in ds}
    assert got == {
        "train/live/a": ("train", 0, "live", False),
        "train/live/nested/b": ("train", 0, "live", False),
        "train/spoof/print/c": ("train", 1, "print", False),
        "train/spoof/d": ("train", 1, "other", False),
        "dev/live/e": ("dev", 0, "live", True),
        "test/spoof/replay/f": ("test", 1, "replay", False),
    }
    assert len(Generic(tmp_path, split="train")) == 4


def test_generic_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="generic dataset root folder not found"):
        Generic(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match=r"samples\.csv: not found, and no train/ dev/ test/ folders"):
        Generic(tmp_path)
    (tmp_path / "train" / "live").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no videos or images"):
        Generic(tmp_path)
    with pytest.raises(ValueError, match=r"Unknown protocol 'x' for generic"):
        Generic(tmp_path, protocol="x")
