"""Score files (bob.pad.base-compatible CSV) and frame -> video aggregation."""

from __future__ import annotations

import csv
import math

import pytest

from stasn.errors import DataError
from stasn.evaluate.aggregate import aggregate_videos
from stasn.evaluate.scores import COLUMNS, ScoreRow, read_scores, write_scores

HEADER = ",".join(COLUMNS)


def _rows() -> list[ScoreRow]:
    return [
        ScoreRow("v1#0", "v1", 0, "live", 0.125, 0, "s1"),
        ScoreRow("v1#4", "v1", 0, "live", 1 / 3, 4, "s1"),
        ScoreRow("v2#0", "v2", 1, "print", 0.9, 0, "s2"),
        ScoreRow("v3#0", "v3", 1, "replay", math.nan, 0, "s2", status="no_face"),
    ]


def test_scores_round_trip_exactly(tmp_path):
    path = write_scores(_rows(), tmp_path / "scores.csv")
    back = read_scores(path)
    assert [r.sample_id for r in back] == ["v1#0", "v1#4", "v2#0", "v3#0"]
    assert back[1].spoof_score == 1 / 3  # repr keeps every bit
    assert back[3].status == "no_face" and math.isnan(back[3].spoof_score) and not back[3].responded
    assert back[:3] == _rows()[:3]


def test_scores_file_has_bob_columns_and_mirrored_score(tmp_path):
    path = write_scores(_rows(), tmp_path / "scores.csv")
    with path.open(newline="") as handle:
        records = list(csv.DictReader(handle))
    assert list(records[0])[:5] == ["claimed_id", "test_label", "is_bonafide", "attack_type", "score"]
    assert records[0]["is_bonafide"] == "True" and records[2]["is_bonafide"] == "False"
    assert float(records[2]["score"]) == -0.9  # bob polarity: higher = bona fide
    assert records[3]["score"] == "" and records[3]["spoof_score"] == ""


def test_write_scores_is_atomic_and_refuses_duplicate_ids(tmp_path):
    path = tmp_path / "scores.csv"
    write_scores(_rows(), path)
    before = path.read_text()
    with pytest.raises(ValueError, match="'v1#0' appears twice"):
        write_scores([_rows()[0], _rows()[0]], path)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv"]


def test_read_scores_accepts_a_bob_written_file(tmp_path):
    path = tmp_path / "bob.csv"
    path.write_text(
        "claimed_id,test_label,is_bonafide,attack_type,score,frame\n"
        "1,a/live1,True,,0.8,3\n"
        "1,a/print1,False,print,-0.25,3\n"
        "2,a/replay1,False,replay,nan,3\n"
    )
    rows = read_scores(path)
    assert [(r.label, r.attack_type, r.spoof_score) for r in rows[:2]] == [(0, "live", -0.8), (1, "print", 0.25)]
    assert rows[2].status == "no_face" and not rows[2].responded  # bob writes nan when it has no score
    assert rows[0].video_id == "a/live1" and rows[0].subject == "1"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "empty file"),
        (HEADER + "\n", "header but no score rows"),
        ("claimed_id,test_label,label,attack_type\ns,v#0,0,live\n", r"missing column\(s\) spoof_score \(or score\)"),
        ("test_label,spoof_score,label\nv#0,0.1,0\n", r"missing column\(s\) attack_type"),
        ("test_label,spoof_score,attack_type\nv#0,0.1,live\n", r"label \(or is_bonafide\)"),
        (
            "test_label,attack_type,label,spoof_score\nv#0,live,0,0.1\nv#1,print,1,abc\n",
            r":3: column 'spoof_score': not a number: 'abc'",
        ),
        ("test_label,attack_type,label,spoof_score\nv#0,live,2,0.1\n", r":2: column 'label': expected 0 \(live\) or 1"),
        ("test_label,attack_type,label,spoof_score\nv#0,print,0,0.1\n", r":2: attack_type 'print' contradicts label 0"),
        ("test_label,attack_type,label,spoof_score\nv#0,,1,0.1\n", r":2: column 'attack_type' is empty"),
        ("test_label,attack_type,label,spoof_score,status\nv#0,live,0,,ok\n", r":2: no score but status 'ok'"),
        ("test_label,attack_type,label,spoof_score,status\nv#0,live,0,0.2,lost\n", r":2: status must be one of"),
        ("test_label,attack_type,label,spoof_score,status\nv#0,live,0,0.2,no_face\n", r"non-response but spoof_score"),
        ("test_label,attack_type,label,spoof_score\nv#0,live,0,inf\n", r"'spoof_score': 'inf' is not finite"),
        ("test_label,attack_type,label,spoof_score,score\nv#0,live,0,0.2,0.2\n", r"score 0.2 is not -spoof_score"),
        ("test_label,attack_type,is_bonafide,label,spoof_score\nv#0,live,False,0,0.2\n", "contradicts label=0"),
        (
            "test_label,attack_type,label,spoof_score\nv#0,live,0,0.2\nv#0,live,0,0.3\n",
            r":3: .*'v#0' already used on line 2",
        ),
        ("test_label,attack_type,label,spoof_score,frame_index\nv#0,live,0,0.2,x\n", r"'frame_index': not an integer"),
    ],
)
def test_read_scores_bad_input(tmp_path, body, message):
    path = tmp_path / "scores.csv"
    path.write_text(body)
    with pytest.raises(DataError, match=message) as info:
        read_scores(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_read_scores_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="score file not found"):
        read_scores(tmp_path / "nope.csv")


def test_score_row_validates_itself():
    with pytest.raises(ValueError, match="status 'ok'"):
        ScoreRow("a", "a", 0, "live", math.nan)
    with pytest.raises(ValueError, match="contradicts label 1"):
        ScoreRow("a", "a", 1, "live", 0.5)


def test_aggregate_videos_mean_and_non_responses():
    rows = [
        ScoreRow("v1#0", "v1", 1, "print", 0.2, 0),
        ScoreRow("v1#1", "v1", 1, "print", math.nan, 1, status="no_face"),
        ScoreRow("v1#2", "v1", 1, "print", 0.6, 2),
        ScoreRow("v2#0", "v2", 0, "live", math.nan, 0, status="unreadable"),
    ]
    videos = aggregate_videos(rows)
    assert [(v.sample_id, v.frame_index) for v in videos] == [("v1", -1), ("v2", -1)]
    assert videos[0].spoof_score == pytest.approx(0.4) and videos[0].responded  # the missing frame is skipped
    assert videos[1].status == "unreadable" and math.isnan(videos[1].spoof_score)
    assert aggregate_videos(rows, "max")[0].spoof_score == 0.6
    assert aggregate_videos(rows, "median")[0].spoof_score == pytest.approx(0.4)


def test_aggregate_videos_bad_input():
    with pytest.raises(ValueError, match="Unknown aggregate 'mode'. Valid values are"):
        aggregate_videos([], "mode")
    mixed = [ScoreRow("v#0", "v", 1, "print", 0.2), ScoreRow("v#1", "v", 1, "replay", 0.3)]
    with pytest.raises(DataError, match="video 'v': frames 'v#0' and 'v#1' disagree"):
        aggregate_videos(mixed)
