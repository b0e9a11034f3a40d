"""A trial (or the winner) taken into Plan: an ordinary scenario beside the plant (no Qt).

No study runs here: the trials are records as the study's storage would give them, on a
copy of the small test plant, so the files written beside it are the test's own.
"""

from __future__ import annotations

import doctest
import errno
import os
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from optimise_helpers import PLANT, SMALL_STUDY

from factory_twin.app import plan_files
from factory_twin.app.optimise import TrialRecord
from factory_twin.app.optimise_select import Candidate
from factory_twin.app.optimise_take import candidate_trial, take_trial, winner_trial
from factory_twin.app.plan_files import delete_scenario, scenarios_beside
from factory_twin.model import config
from factory_twin.model.config import atomic_write_text
from factory_twin.model.scenario import load_scenario
from factory_twin.model.study import load_study


@pytest.fixture
def study(tmp_path):
    folder = tmp_path / "plant"
    folder.mkdir()
    plant = folder / "optimise_plant.yaml"
    shutil.copy(PLANT, plant)
    path = folder / "tiny.study.yaml"
    path.write_text(SMALL_STUDY.format(plant=plant.name, trials=4) + "name: tiny\n")
    return load_study(path)


TRIAL = TrialRecord(12, {"tools/A": 3, "tools/B": 2, "tools/C": 4}, "complete",
                    [13_250_000.0, 5.4321], feasible=True)  # fmt: skip


def _tools(path: Path) -> dict[str, int]:
    plant = load_scenario(path).apply()
    return {g: sum(e.group == g for e in plant.equipment) for g in "ABC"}


def test_a_trial_becomes_a_scenario_beside_the_plant_with_its_note(study):
    plant = study.base.path
    taken = take_trial(study, study.default_out_dir(), TRIAL)
    assert taken.beside_plant and taken.written
    assert taken.path == plant.parent / "tiny_trial_12.scenario.yaml"
    doc = load_scenario(taken.path)
    assert doc.spec.name == "tiny trial 12"
    assert doc.spec.base == "optimise_plant.yaml"
    note = doc.spec.notes
    assert "optimisation study tiny (tiny.study.yaml), trial 12" in note
    assert "tools/A=3" in note and "cost 1.325e+07" in note  # the objective value
    assert "over 2 replications" in note
    assert _tools(taken.path) == {"A": 3, "B": 2, "C": 4}
    # Plan's list (and so the Compare dock) has it, beside the base
    assert ("tiny trial 12", taken.path) in scenarios_beside(plant)
    assert "saved beside the plant as tiny_trial_12.scenario.yaml" in taken.message("Trial 12")
    # nothing left in the study's folder, no temporary file beside the plant
    assert not study.default_out_dir().exists()
    assert not [p for p in plant.parent.iterdir() if p.name.endswith(".tmp")]


def test_never_overwrites_a_scenario_numbers_a_new_one_and_reuses_an_identical_one(study):
    folder = study.base.path.parent
    mine = folder / "tiny_trial_12.scenario.yaml"
    mine.write_text("name: my own edits\nbase: optimise_plant.yaml\nchanges: []\n")
    before = mine.read_text()
    first = take_trial(study, study.default_out_dir(), TRIAL)
    assert first.path.name == "tiny_trial_12_2.scenario.yaml" and first.written
    assert load_scenario(first.path).spec.name == "tiny trial 12 (2)"
    assert mine.read_text() == before
    # the same trial again: the identical file is reused, no third copy
    again = take_trial(study, study.default_out_dir(), TRIAL)
    assert (again.path, again.written) == (first.path, False)
    assert "is already beside the plant" in again.message("Trial 12")
    # once the planner edits it, taking the trial again makes a new one
    first.path.write_text(first.path.read_text().replace("tiny trial 12 (2)", "edited"))
    third = take_trial(study, study.default_out_dir(), TRIAL)
    assert third.path.name == "tiny_trial_12_3.scenario.yaml"
    names = [n for n, _ in scenarios_beside(study.base.path)]
    assert names == ["optimise_plant", "my own edits", "edited", "tiny trial 12 (3)"]
    # the Plan list's ordinary delete takes it away again (its text kept as .bak)
    bak = delete_scenario(third.path)
    assert bak.is_file() and "tiny trial 12 (3)" not in [n for n, _ in scenarios_beside(study.base.path)]  # fmt: skip


def test_the_winner_is_named_so_with_its_final_replications(study):
    cand = SimpleNamespace(trial=7, params={"tools/A": 2, "tools/B": 2, "tools/C": 3},
                           values=[9.5e6], feasible=True, cost=9.5e6)  # fmt: skip
    outcome = SimpleNamespace(selection=SimpleNamespace(winner=cand))
    rec = winner_trial(outcome)
    assert rec is not None and rec.number == 7
    assert winner_trial(SimpleNamespace(selection=SimpleNamespace(winner=None))) is None
    taken = take_trial(study, study.default_out_dir(), rec, winner=True)
    assert taken.path.name == "tiny_winner.scenario.yaml"
    doc = load_scenario(taken.path)
    assert doc.spec.name == "tiny winner"
    assert doc.spec.notes.startswith("the winner of the optimisation study tiny")
    assert "trial 7" in doc.spec.notes and "over 10 replications: cost 9.5e+06" in doc.spec.notes


def test_a_tied_finalist_is_named_so_and_kept_apart_from_the_trial(study):
    """The tied finalists of a study without a winner (``factory-twin optimise``)."""
    cand = Candidate("trial 12", 12, dict(TRIAL.params), {}, 13_250_000.0, values=[13_250_000.0],
                     feasible=True)  # fmt: skip
    rec = candidate_trial(cand)
    assert rec is not None and rec.number == 12
    assert candidate_trial(Candidate("base", None, {}, {}, 0.0)) is None
    tied = take_trial(study, study.default_out_dir(), rec, tied=True)
    assert tied.path.name == "tiny_tied_trial_12.scenario.yaml" and tied.written
    doc = load_scenario(tied.path)
    assert doc.spec.name == "tiny tied trial 12"
    assert doc.spec.notes.startswith(
        "a statistically tied finalist of the optimisation study tiny"
    )
    assert "over 10 replications" in doc.spec.notes  # the final selection's
    assert _tools(tied.path) == {"A": 3, "B": 2, "C": 4}
    # the same configuration taken as a trial is a file of its own
    plain = take_trial(study, study.default_out_dir(), TRIAL)
    assert plain.path.name == "tiny_trial_12.scenario.yaml" and plain.path != tied.path


def test_an_unwritable_plant_folder_falls_back_to_the_study_folder(study, monkeypatch):
    folder = study.base.path.parent
    real = tempfile.mkstemp

    def refuse(*args, dir=None, **kw):  # root ignores chmod: refuse the plant's folder here
        if Path(dir) == folder:
            raise PermissionError(errno.EACCES, "Permission denied", str(dir))
        return real(*args, dir=dir, **kw)

    monkeypatch.setattr(config.tempfile, "mkstemp", refuse)
    out = study.default_out_dir()
    taken = take_trial(study, out, TRIAL)
    assert not taken.beside_plant
    assert taken.path == out / "tiny_trial_12.scenario.yaml"
    assert f"the plant's folder {folder} cannot be written (Permission denied)" in taken.problem
    msg = taken.message("Trial 12")
    assert "not in Plan's scenario list" in msg and str(taken.path) in msg
    assert _tools(taken.path) == {"A": 3, "B": 2, "C": 4}
    assert [n for n, _ in scenarios_beside(study.base.path)] == ["optimise_plant"]


@pytest.mark.parametrize("links", [True, False])
def test_an_exclusive_atomic_write_never_replaces_a_file(tmp_path, monkeypatch, links):
    if not links:  # a file system without hard links: a check and a rename instead

        def no_link(*_a):
            raise OSError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(config.os, "link", no_link)
    target = tmp_path / "a.scenario.yaml"
    atomic_write_text(target, "one\n", exclusive=True)
    assert target.read_text() == "one\n"
    with pytest.raises(FileExistsError):
        atomic_write_text(target, "two\n", exclusive=True)
    assert target.read_text() == "one\n"
    assert os.listdir(tmp_path) == ["a.scenario.yaml"]  # no temporary file left


def test_the_examples_run():
    assert doctest.testmod(plan_files).failed == 0
