"""A study's output folder holds one study's results, never a mix of two.

A study resumes in its folder by design (its finished trials are kept), so the folder is not
set aside as ``simulate --out`` does; but two things mixed runs there. The earlier
selection's scenario files stayed beside a later report that named other candidates (the
Plan workspace's runs write the winner and tied finalists into the folder), and a study
changed since its trials ran (horizon, seed, objectives, ...) resumed on them: optuna loads
the stored study whatever its settings, so new trials were judged beside old ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from optimise_helpers import PLANT, InProcessClient

from factory_twin.app.optimise import open_study, records, run
from factory_twin.errors import ConfigError
from factory_twin.model.study import load_study


def write_tie_study(path: Path, trials: int, horizon_days: int = 30) -> Path:
    """Two dispatch rules on cycle time: one trial names the base; ten tie it with trial 4."""
    path.write_text(
        f"base: {PLANT}\nhorizon_days: {horizon_days}\nwarmup_days: 5\nreplications: 2\n"
        "seed: 4\nvariables:\n  - {tools: C, min: 3, max: 3}\n"
        "  - {dispatch: A, rules: [fifo, spt]}\nobjectives:\n  - {minimise: cycle_time_mean_h}\n"
        "constraints: {min_throughput_share: null}\n"
        f"budget: {{trials: {trials}}}\nselection: {{top_k: 2, replications: 5}}\n"
    )
    return path


def scenario_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.scenario.yaml"))


def test_a_resumed_study_leaves_no_scenario_of_the_earlier_selection(tmp_path):
    study, out = tmp_path / "tie.study.yaml", tmp_path / "out"
    write_tie_study(study, trials=1)
    first = run(study, out, executor=InProcessClient(), processes=1).selection
    assert first.winner is not None and scenario_files(out) == ["tie_winner.scenario.yaml"]
    taken = out / "tie_trial_0.scenario.yaml"  # a trial taken by hand (plant folder read-only)
    taken.write_text((out / "tie_winner.scenario.yaml").read_text())

    write_tie_study(study, trials=10)  # a bigger budget: the stored trial is kept
    second = run(study, out, executor=InProcessClient(), processes=1).selection
    assert second.winner is None and len(second.tied) == 2
    # was: tie_winner.scenario.yaml of the first selection stayed beside a report of a tie
    assert scenario_files(out) == [
        "tie_tied_trial_0.scenario.yaml", "tie_tied_trial_4.scenario.yaml", taken.name
    ]  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    assert report["winner"] is None


def test_a_study_changed_since_its_trials_ran_is_refused_not_mixed(tmp_path):
    study, out = tmp_path / "tie.study.yaml", tmp_path / "out"
    write_tie_study(study, trials=2)
    run(study, out, executor=InProcessClient(), processes=1)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    write_tie_study(study, trials=4, horizon_days=60)
    with pytest.raises(ConfigError) as err:  # was: resumed on the 30-day trials
        run(study, out, executor=InProcessClient(), processes=1)
    text = str(err.value)
    assert f"{out} holds the trials of a study run with other settings" in text, text
    assert "(horizon_days changed since)" in text and "study.db away" in text, text
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert len(records(open_study(load_study(write_tie_study(study, 2)), out))) == 2
