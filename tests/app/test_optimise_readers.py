"""Reading a study's folder never changes it, and one run at a time uses the folder.

``stored_trials`` (the Plan workspace's Optimise dock lists a folder's trials with it) used to
open the storage as a resuming run does, which marks every running trial failed and proposes
it again: opening the dock on a folder a ``factory-twin optimise`` run was using failed that
run's trials. It now reads the storage read-only, and every run holds the folder's lock, so a
second run (the dock's, or another command) is refused instead of failing the first one's
trials. The studies here are real ones on disk, on the small test plant copied beside them.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _optimise_gate import held_run, trial_states
from optimise_helpers import InProcessClient, write_small_study

from factory_twin.app.optimise import open_study, run
from factory_twin.app.optimise_job import stored_trials
from factory_twin.app.optimise_lock import LOCK, study_in_use
from factory_twin.errors import ConfigError
from factory_twin.model.study import load_study

ROOT = Path(__file__).resolve().parents[2]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_running_study_is_read_without_a_write_and_a_second_run_is_refused(tmp_path):
    study = write_small_study(tmp_path / "small.study.yaml", 6)
    out = tmp_path / "out"
    sf = load_study(study)
    with held_run(study, out):
        assert trial_states(out) == {0: "RUNNING"}  # the base configuration, being simulated
        before = _files(out)
        assert LOCK in before and "study.db" in before
        recs = stored_trials(sf, out)
        assert [(r.number, r.state) for r in recs] == [(0, "running")]  # was: failed
        assert _files(out) == before  # not a byte written, no journal left
        assert trial_states(out) == {0: "RUNNING"}
        assert study_in_use(out)

        with pytest.raises(ConfigError) as err:  # the Plan workspace's job runs this too
            run(study, out, executor=InProcessClient(), processes=1)
        assert str(err.value).startswith(f"another optimise run is using {out} ")
        assert f"(process {os.getpid()})" in str(err.value)
        cmd = [sys.executable, "-m", "factory_twin", "optimise", str(study), "--out", str(out)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cli = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert cli.returncode == 2, cli.stderr
        assert f"another optimise run is using {out}" in cli.stderr, cli.stderr
        assert _files(out) == before and trial_states(out) == {0: "RUNNING"}
    # the run itself, cancelled, fails its unfinished trial (a resume proposes it anew)
    assert trial_states(out) == {0: "FAIL"}
    assert not study_in_use(out)


def test_trials_a_killed_run_left_read_as_running_until_a_run_resumes(tmp_path):
    study = write_small_study(tmp_path / "small.study.yaml", 3)
    out = tmp_path / "out"
    out.mkdir()
    sf = load_study(study)
    killed = open_study(sf, out)  # what a run SIGKILLed mid-trial leaves: a RUNNING trial
    trial = killed.ask()
    for g in "ABC":
        trial.suggest_int(f"tools/{g}", 1, 4)
    before = _files(out)
    assert trial_states(out) == {0: "RUNNING"} and LOCK not in before

    assert [r.state for r in stored_trials(sf, out)] == ["running"]
    assert not study_in_use(out)  # no run holds it
    assert _files(out) == before  # no lock file created by the reader either

    outcome = run(study, out, executor=InProcessClient(), processes=1, select=False)
    states = {r.number: r.state for r in outcome.trials}
    assert states[0] == "fail"  # the resuming run failed it and proposed it again
    assert sum(s in ("complete", "pruned") for s in states.values()) == 3
    assert all(r.state != "running" for r in stored_trials(sf, out))


def test_an_unreadable_storage_reads_as_no_trials_and_is_left_alone(tmp_path, caplog):
    study = write_small_study(tmp_path / "small.study.yaml", 3)
    out = tmp_path / "out"
    out.mkdir()
    (out / "study.db").write_bytes(b"not a database, another program's file\n")
    before = _files(out)
    with caplog.at_level(logging.WARNING, logger="factory_twin.app.optimise_job"):
        assert stored_trials(load_study(study), out) == []
    assert any(f"cannot read the trials in {out}" in r.getMessage() for r in caplog.records)
    assert _files(out) == before
    (out / "study.db").unlink()
    assert stored_trials(load_study(study), out) == []
    assert not (out / "study.db").exists()  # a missing storage is not created
