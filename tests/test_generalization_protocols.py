"""The split rules of benchmarks/generalization.py: projects never split, each held out once, dev from training side.

These rules decide whether a generalization number measures liveness or the recording, so they are tested on a
made-up item table (no data needed).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "generalization.py"


@pytest.fixture(scope="module")
def gen():
    spec = importlib.util.spec_from_file_location("generalization_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _meta() -> dict[str, dict]:
    meta = {}
    for p in range(16):  # replay projects of unequal size, live and attack items each
        source = "replay-crops-dev" if p < 6 else "replay-crops-train"
        for i in range(10 + 7 * (p % 5)):
            meta[f"r{p}-{i}"] = {"source": source, "project": f"proj{p:02d}", "subject": f"proj{p:02d}"}
    for s in range(9):
        for session in ("01", "02"):
            meta[f"n{s}-{session}"] = {"source": "nuaa", "project": "nuaa", "subject": f"{s:04d}", "session": session}
    for p in range(3):
        for i in range(5):
            meta[f"l{p}-{i}"] = {"source": "live-faces", "project": f"live{p}", "subject": f"live{p}"}
    return meta


@pytest.mark.parametrize("with_nuaa", [False, True])
def test_leave_projects_out_holds_each_project_out_once_and_never_splits_it(gen, with_nuaa):
    meta = _meta()
    splits = gen._splits_leave_projects_out(meta, with_nuaa)
    assert 4 <= len(splits) <= 8
    held_out: list[str] = []
    for _, assignment in splits:
        by_project: dict[str, set[str]] = {}
        for v, split in assignment.items():
            by_project.setdefault(meta[v]["project"], set()).add(split)
        assert all(len(s) == 1 for s in by_project.values()), "a project is split across train/dev/test"
        test = {p for p, s in by_project.items() if s == {"test"}}
        dev = {p for p, s in by_project.items() if s == {"dev"}}
        assert test and len(dev) == 2 and not test & dev
        assert all(meta[v]["source"].startswith("replay") for v, s in assignment.items() if s in ("test", "dev"))
        assert ("nuaa" in by_project) == with_nuaa
        assert all(by_project[f"live{p}"] == {"train"} for p in range(3))
        held_out += sorted(test)
    assert sorted(held_out) == sorted({m["project"] for m in meta.values() if m["source"].startswith("replay")})


def test_cross_dataset_tests_every_replay_project_and_trains_on_none(gen):
    meta = _meta()
    [(_, assignment)] = gen._splits_cross_dataset(meta)
    for v, split in assignment.items():
        assert (split == "test") == meta[v]["source"].startswith("replay")


@pytest.mark.parametrize("with_live_faces", [False, True])
def test_nuaa_sessions_dev_subjects_come_from_the_training_session(gen, with_live_faces):
    meta = _meta()
    for name, assignment in gen._splits_nuaa_sessions(meta, with_live_faces):
        train_session = name[1:3]
        for v, split in assignment.items():
            if meta[v]["source"] == "live-faces":
                assert split == "train"  # extra live faces train; dev and test stay NUAA
                continue
            assert meta[v]["source"] == "nuaa"
            assert (split == "test") == (meta[v]["session"] != train_session)
        assert len({meta[v]["subject"] for v, s in assignment.items() if s == "dev"}) == 2
        live_faces = {v for v, m in meta.items() if m["source"] == "live-faces"}
        assert (live_faces <= set(assignment)) == with_live_faces


def test_synth_variants_add_attacks_of_training_live_items_only(gen):
    assignment = {"live-a": "train", "live-b": "dev", "live-c": "test", "att-a": "train", "att-c": "test"}
    sources = {"syn-a": "live-a", "syn-b": "live-b", "syn-c": "live-c"}
    live = {"live-a", "live-b", "live-c"}
    both = gen.with_synth(assignment, sources, "real+synth", live)
    assert both == {**assignment, "syn-a": "train", "syn-b": "dev"}  # never a synthesized test item
    only = gen.with_synth(assignment, sources, "synth", live)
    assert "att-a" not in only and only["att-c"] == "test" and only["syn-a"] == "train"


def test_project_mean_averages_projects_not_items(gen):
    rates = [{"per_project_auc": {"a": 1.0, "b": 0.5}}, {"per_project_auc": {"c": 0.6}}]
    assert gen._project_mean(rates) == pytest.approx(0.7)


def _fake_run(root: Path, acer_per_epoch: list[float], best_epoch: int) -> Path:
    import torch

    run = root / "run"
    (run / "logs" / "version_0").mkdir(parents=True)
    (run / "checkpoints").mkdir()
    lines = ["dev/acer,epoch,step"] + [f"{acer},{e},{10 * (e + 1)}" for e, acer in enumerate(acer_per_epoch)]
    (run / "logs" / "version_0" / "metrics.csv").write_text("\n".join(lines) + "\n")
    torch.save({"epoch": best_epoch}, run / "checkpoints" / "best.ckpt")
    torch.save({"epoch": len(acer_per_epoch) - 1}, run / "checkpoints" / "last.ckpt")
    return run


@pytest.mark.parametrize(
    "acer, best_epoch, expected",
    [
        ([0.0, 0.0], 0, "last.ckpt"),  # a tie: the latest of equals, not the first (trained before the tie rule)
        ([0.1, 0.0], 1, "last.ckpt"),
        ([0.0, 0.1], 0, "best.ckpt"),
        ([0.2, 0.0, 0.0, 0.1], 2, "best.ckpt"),  # trained with the tie rule: best.ckpt is already the latest of equals
    ],
)
def test_selected_checkpoint_is_the_latest_of_the_best_dev_epochs(gen, tmp_path, acer, best_epoch, expected):
    assert gen.selected_checkpoint(_fake_run(tmp_path, acer, best_epoch)).name == expected


def test_selected_checkpoint_refuses_a_run_it_cannot_recover(gen, tmp_path):
    run = _fake_run(tmp_path, [0.2, 0.0, 0.0, 0.1], best_epoch=1)  # first of equals kept, last epoch worse
    with pytest.raises(RuntimeError, match="epoch 2"):
        gen.selected_checkpoint(run)


def test_override_tags_keep_keys_and_values_apart(gen):
    tags = {gen.override_tag(o) for o in ("data.exposure=0.5", "data.jpeg=0.5", "data.jpeg=0.25", "model.dropout=0.5")}
    assert len(tags) == 4
    assert gen.override_tag("data.exposure=0.5") == "exposure0.5"


def test_recipe_differences_name_the_changed_keys(gen):
    from stasn.train.config import ExperimentConfig

    wanted = ExperimentConfig().to_dict()
    wanted["data"]["exposure"] = 0.5
    recorded = ExperimentConfig().to_dict()
    recorded.update(name="elsewhere", output_dir="/somewhere/else")  # where a run lives is not its recipe
    assert gen.recipe_differences(recorded, wanted) == ["data.exposure: 0.0 -> 0.5"]
    recorded["data"]["exposure"] = 0.5
    assert gen.recipe_differences(recorded, wanted) == []
    del recorded["train"]["min_steps"]  # a key added after the run trained counts at its default
    wanted["train"]["min_steps"] = 150
    assert gen.recipe_differences(recorded, wanted) == ["train.min_steps: 0 -> 150"]


def test_a_finished_run_of_another_recipe_is_not_reused(gen, tmp_path, monkeypatch):
    import yaml

    from stasn.train.config import ExperimentConfig

    monkeypatch.setattr(gen, "OUT", tmp_path)
    run = tmp_path / "runs" / "old-default-s0"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "best.ckpt").write_bytes(b"")
    (run / ".done").touch()
    recorded = ExperimentConfig().to_dict()  # trained before lite.yaml's recipe: another backbone, no exposure
    (run / "config.yaml").write_text(yaml.safe_dump(recorded, sort_keys=False))
    with pytest.raises(SystemExit, match=r"old-default-s0: trained with another recipe \(model.backbone"):
        gen.train_run("old-default-s0", tmp_path / "cache", "stasn", 0, 2, [], "joint")


def test_one_class_subjects_are_left_out_of_training_only(gen):
    meta = {}
    for s in range(9):
        for session in ("01", "02"):
            for label in (0, 1):
                if (s, session, label) in {(7, "01", 0), (1, "02", 0)}:  # as NUAA: a person printed, never live
                    continue
                meta[f"n{s}-{session}-{label}"] = {
                    "source": "nuaa",
                    "project": "nuaa",
                    "subject": f"{s:04d}",
                    "session": session,
                    "label": label,
                }
    session_01 = [(m["subject"], m["label"]) for v, m in meta.items() if m["session"] == "01"]
    assert gen.one_class_subjects(session_01) == {"0007": 1}
    kept = dict(gen._splits_nuaa_sessions(meta))
    dropped = dict(gen._splits_nuaa_sessions(meta, drop_one_class=True))
    assert kept["s01-to-s02"]["n7-01-1"] in ("train", "dev") and "n7-01-1" not in dropped["s01-to-s02"]
    assert "n1-02-1" not in dropped["s02-to-s01"] and dropped["s02-to-s01"]["n1-01-0"] == "test"  # test keeps all
    assert {v for v, s in dropped["s01-to-s02"].items() if s == "test"} == {
        v for v, s in kept["s01-to-s02"].items() if s == "test"
    }
