"""Optimisation studies: brute-force optimum, constraints and pruning, resume, cancel, API.

The small plant (tests/data/optimise_plant.yaml) has three groups of 1-4 tools: 64 tool sets,
cheap enough to simulate every one here with the study's own replications and seed (common
random numbers), so the optimum the study should find is computed, not written down.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from optimise_helpers import PLANT, InProcessClient, brute_force, write_small_study

from factory_twin.app.optimise import (
    OptimiseCancelled,
    Planner,
    capacity_prune,
    open_study,
    records,
    run,
)
from factory_twin.model.study import load_study
from factory_twin.sim.stats import t_interval

ROOT = Path(__file__).resolve().parents[2]


def write_study(d: Path, trials: int = 30, **extra: str) -> Path:
    fields = {"name": "small plant", "selection": "{top_k: 3, replications: 4}", "processes": "2"}
    return write_small_study(d / "small.study.yaml", trials, **(fields | extra))


@pytest.mark.slow
def test_the_study_finds_the_brute_force_optimum_and_prunes_without_simulating(tmp_path):
    study_path = write_study(tmp_path)
    truth = brute_force(study_path)
    feasible = {k: v[0] for k, v in truth.items() if v[1]}
    best_cost = min(feasible.values())
    optimum = [k for k, c in feasible.items() if c == best_cost]
    # the hand-computed answer: A 2 (69 % busy), B 1 (69 %), C 3 (74 %) at 80 % at most
    assert optimum == [(2, 1, 3)]
    assert best_cost == pytest.approx(2 * 3.5e6 + 1 * 6e6 + 3 * 2.25e6)

    client = InProcessClient()
    outcome = run(study_path, tmp_path / "out", executor=client, processes=2)
    sel = outcome.selection
    recs = outcome.trials
    assert len([r for r in recs if r.state in ("complete", "pruned")]) == 30  # the budget
    found = [sel.winner] if sel.winner is not None else sel.tied
    assert found, sel.message
    assert any(tuple(c.params[f"tools/{g}"] for g in "ABC") == (2, 1, 3) for c in found)
    # cost is exact: the cheapest feasible set beats every dearer one outright
    assert sel.winner is not None and sel.winner.cost == pytest.approx(best_cost)
    assert sel.winner.feasible and all(c <= 0 for c in sel.winner.constraints)

    # pruned trials: counted, and not one of their plants was simulated
    pruned = [r for r in recs if r.state == "pruned"]
    assert outcome.pruned == len(pruned) > 0
    sf = load_study(study_path)
    planner = Planner(sf)
    simulated = {json.dumps(p.model_dump(mode="json"), sort_keys=True) for p in client.simulated}
    for r in pruned:
        plant = planner.plant(r.params)
        assert capacity_prune(sf.spec, plant) is not None
        assert r.params["tools/A"] == 1 or r.params["tools/C"] <= 2  # over 1/0.98 loaded
        assert json.dumps(plant.model_dump(mode="json"), sort_keys=True) not in simulated
        assert not r.kpis
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["trials"]["pruned"] == len(pruned)
    assert data["winner"]["params"] == sel.winner.params
    # the winner's scenario file applies and gives the winner's tool set
    from factory_twin.model.scenario import load_plant_or_scenario

    lp = load_plant_or_scenario(sel.files["winner"])
    counts = {g: sum(e.group == g for e in lp.spec.equipment) for g in "ABC"}
    assert counts == {"A": 2, "B": 1, "C": 3}
    assert (tmp_path / "out" / "pareto.png").stat().st_size > 5000


def test_no_infeasible_winner_and_ties_are_named(tmp_path):
    """A study where no tool set can meet the utilisation limit names nothing."""
    p = write_study(tmp_path, trials=6)
    p.write_text(p.read_text().replace("max_utilisation: 0.85", "max_utilisation: 0.3"))
    outcome = run(p, tmp_path / "out", executor=InProcessClient(), processes=2)
    sel = outcome.selection
    assert sel.winner is None and not sel.tied
    assert "no" in sel.message and "constraints" in sel.message
    assert all(not r.feasible for r in outcome.trials if r.state == "complete")
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["winner"] is None
    assert not list((tmp_path / "out").glob("*.scenario.yaml"))


def test_equal_cost_candidates_are_tied_unless_significant(tmp_path):
    """Two dispatch rules: tied unless the CI of their cycle-time difference excludes 0."""
    p = tmp_path / "tie.study.yaml"
    p.write_text(
        f"base: {PLANT}\nhorizon_days: 30\nwarmup_days: 5\nreplications: 2\nseed: 4\n"
        "variables:\n  - {tools: C, min: 3, max: 3}\n  - {dispatch: A, rules: [fifo, spt]}\n"
        "objectives:\n  - {minimise: cycle_time_mean_h}\n"
        "constraints: {min_throughput_share: null}\n"
        "budget: {trials: 10}\nselection: {top_k: 2, replications: 5}\n"
    )
    outcome = run(p, tmp_path / "out", executor=InProcessClient(), processes=1)
    sel = outcome.selection
    fin = sel.finalists
    assert len(fin) == 2 and fin[0].cost == fin[1].cost
    d = t_interval(
        [
            b - a
            for a, b in zip(
                fin[0].kpis["cycle_time_mean_h"], fin[1].kpis["cycle_time_mean_h"], strict=True
            )
        ]
    )
    if d.low <= 0 <= d.high:
        assert sel.winner is None and len(sel.tied) == 2
        assert "tied" in sel.message
    else:
        assert sel.winner is not None
        lower = fin[0] if d.mean > 0 else fin[1]
        assert sel.winner is lower


def test_cancel_from_the_progress_callback_keeps_finished_trials(tmp_path):
    p = write_study(tmp_path, trials=12)
    stop = threading.Event()
    seen: list[Any] = []

    def progress(pr: Any) -> None:
        seen.append(pr)
        if pr.done >= 3 and pr.best is not None:  # the base (trial 0) is feasible
            stop.set()

    with pytest.raises(OptimiseCancelled):
        run(p, tmp_path / "out", progress=progress, cancel=stop, processes=2)
    assert seen[0].phase == "search" and seen[0].total == 12
    assert any(pr.best is not None for pr in seen)  # best-so-far reported
    sf = load_study(p)
    recs = records(open_study(sf, tmp_path / "out"))
    kept = [r for r in recs if r.state in ("complete", "pruned")]
    assert len(kept) >= 3
    assert all(r.state != "running" for r in recs)
    outcome = run(p, tmp_path / "out", executor=InProcessClient(), processes=2)
    again = {r.number: r for r in outcome.trials}
    for r in kept:
        assert again[r.number].state == r.state and again[r.number].values == r.values
    assert len([r for r in outcome.trials if r.state in ("complete", "pruned")]) == 12


@pytest.mark.slow
def test_resume_after_sigkill_keeps_finished_trials(tmp_path):
    p = write_study(tmp_path, trials=40)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "factory_twin", "optimise", str(p), "--out", str(out),
         "--processes", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    sf = load_study(p)
    before: list[Any] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if complete_trials(out) >= 4:
                break
        assert proc.poll() is None, "the study ended before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    before = [
        r for r in records(open_study_readonly(sf, out)) if r.state in ("complete", "pruned")
    ]
    assert len(before) >= 4
    outcome = run(p, out, executor=InProcessClient(), processes=2)
    after = {r.number: r for r in outcome.trials}
    for r in before:
        assert after[r.number].state == r.state
        assert after[r.number].values == r.values and after[r.number].kpis == r.kpis
    assert len([r for r in outcome.trials if r.state in ("complete", "pruned")]) == 40
    assert outcome.selection.winner is not None


def complete_trials(out: Path) -> int:
    """Complete trials in ``out``'s study storage so far, read without writing to it (a reader
    that creates the storage's tables would race the study doing the same)."""
    db = out / "study.db"
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            row = con.execute("SELECT count(*) FROM trials WHERE state = 'COMPLETE'").fetchone()
        finally:
            con.close()
    except sqlite3.Error:  # no tables yet, or busy
        return 0
    return int(row[0])


def open_study_readonly(sf: Any, out: Path) -> Any:
    import optuna

    return optuna.load_study(study_name="factory-twin", storage=f"sqlite:///{out / 'study.db'}")


def test_added_tools_stand_free_and_the_scenario_applies(tmp_path):
    p = tmp_path / "grow.study.yaml"
    p.write_text(
        f"base: {PLANT}\nhorizon_days: 10\nvariables:\n  - {{tools: C, min: 3, max: 6}}\n"
        "objectives:\n  - {minimise: cost}\n"
    )
    sf = load_study(p)
    planner = Planner(sf)
    changes = planner.changes({"tools/C": 6})
    added = [c for c in changes if c["change"] == "add_tool"]
    assert len(added) == 3 and all(c["like"] == "C-03" for c in added)
    from factory_twin.model.scenario import loads_scenario

    doc = loads_scenario(
        json.dumps({"base": str(PLANT), "changes": changes}),
        source="grow",
        path=tmp_path / "g.scenario.yaml",
    )
    plant = doc.apply()  # no overlap, inside the bay: the loader's own checks
    assert sum(e.group == "C" for e in plant.equipment) == 6
    assert planner.cost({"tools/C": 6}) - planner.cost({"tools/C": 3}) == pytest.approx(3 * 2.25e6)


def test_the_command_runs_a_tiny_study_end_to_end(tmp_path, capsys):
    """The winner is saved beside the plant like a trial Plan takes; a user's file is kept."""
    import shutil

    from factory_twin.cli import main
    from factory_twin.model.scenario import load_scenario

    folder = tmp_path / "plant"
    folder.mkdir()
    shutil.copy(PLANT, folder / "optimise_plant.yaml")
    p = folder / "small.study.yaml"
    p.write_text(  # cost alone: the cheaper C count wins outright
        "name: small plant\nbase: optimise_plant.yaml\nhorizon_days: 10\nwarmup_days: 2\n"
        "replications: 2\nseed: 11\nvariables:\n  - {tools: C, min: 3, max: 4}\n"
        "objectives:\n  - {minimise: cost}\nselection: {top_k: 2, replications: 3}\n"
        "budget: {trials: 4}\n"
    )
    mine = folder / "small_plant_winner.scenario.yaml"  # the user's own file of that name
    mine.write_text("name: my edits\nbase: optimise_plant.yaml\nchanges: []\n")
    before = mine.read_text()
    code = main(["optimise", str(p), "--out", str(tmp_path / "o"), "--processes", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "trials: 4 (" in out and "report, plot and storage in" in out
    data = json.loads((tmp_path / "o" / "report.json").read_text())
    assert data["trials"]["total"] == 4
    assert data["winner"]["params"] == {"tools/C": 3}
    won = folder / "small_plant_winner_2.scenario.yaml"
    assert data["winner"]["scenario_file"] == str(won)
    assert f"The winner saved beside the plant as {won}" in out
    assert mine.read_text() == before  # never overwritten
    doc = load_scenario(won)
    assert doc.spec.name == "small plant winner (2)" and doc.spec.base == "optimise_plant.yaml"
    note = doc.spec.notes
    assert "the winner of the optimisation study small plant (small.study.yaml)" in note
    assert f"trial {data['winner']['trial']}" in note and "over 3 replications: cost" in note
    plant = doc.apply()
    assert sum(e.group == "C" for e in plant.equipment) == 3
    assert not list((tmp_path / "o").glob("*.scenario.yaml"))  # none in the study's folder
    assert not [q for q in folder.iterdir() if q.name.endswith(".tmp")]
    assert (tmp_path / "o" / "pareto.png").stat().st_size > 5000
    # run again: the study is resumed, nothing new is simulated, the budget is already
    # spent; the identical winner file is reused, not copied, and the user's file is kept
    assert main(["optimise", str(p), "--out", str(tmp_path / "o"), "--processes", "1"]) == 0
    out = capsys.readouterr().out
    assert json.loads((tmp_path / "o" / "report.json").read_text())["trials"]["total"] == 4
    assert f"The winner is already beside the plant as {won}" in out
    assert sorted(q.name for q in folder.glob("*.scenario.yaml")) == [mine.name, won.name]
    assert mine.read_text() == before


def test_release_conwip_and_vehicle_variables_become_scenario_changes(tmp_path):
    p = tmp_path / "kinds.study.yaml"
    p.write_text(
        f"base: {PLANT}\nhorizon_days: 10\nvariables:\n"
        "  - {release: p1, min: 20, max: 30, step: 2}\n"
        "  - {dispatch: B, rules: [fifo, spt]}\n"
        "objectives:\n  - {maximise: throughput_lots_per_day}\n"
    )
    sf = load_study(p)
    planner = Planner(sf)
    assert planner.base_params() == {"release/p1": pytest.approx(24.0), "dispatch/B": "fifo"}
    plant = planner.plant({"release/p1": 28.0, "dispatch/B": "spt"})
    assert 86400.0 / plant.products[0].release.interarrival.mean == pytest.approx(28.0)
    assert next(g for g in plant.tool_groups if g.id == "B").dispatch.value == "spt"
    # CONWIP and vehicles, on the demo fab (an OHS with a fleet)
    q = tmp_path / "fleet.study.yaml"
    q.write_text(
        f"base: {ROOT / 'plant_configs' / 'demo_fab.yaml'}\nhorizon_days: 10\nvariables:\n"
        "  - {conwip: NOR-B, min: 20, max: 60, step: 10}\n  - {vehicles: {min: 4, max: 16}}\n"
        "objectives:\n  - {minimise: cycle_time_mean_h/NOR-B}\n"
    )
    planner = Planner(load_study(q))
    assert planner.base_params() is None  # NOR-B is rate-released in the file: outside the set
    plant = planner.plant({"conwip/NOR-B": 40, "vehicles": 6})
    nor = next(pr for pr in plant.products if pr.id == "NOR-B")
    assert nor.release.mode == "conwip" and nor.release.wip_lots == 40
    assert plant.transport.vehicles == 6
    changes = planner.changes({"conwip/NOR-B": 40, "vehicles": 6})
    assert {"change": "set_transport", "vehicles": 6} in changes


def test_the_wall_time_budget_stops_the_search(tmp_path):
    p = write_study(tmp_path, trials=50)
    p.write_text(p.read_text().replace("budget: {trials: 50}", "budget: {trials: 50, wall_minutes: 0.002}"))  # fmt: skip
    seen: list[Any] = []
    outcome = run(p, tmp_path / "out", executor=InProcessClient(), processes=1,
                  progress=seen.append)  # fmt: skip
    spent = [r for r in outcome.trials if r.state in ("complete", "pruned")]
    assert 1 <= len(spent) < 50
    assert seen[-1].phase in ("search", "selection")
    search = [pr for pr in seen if pr.phase == "search"]
    assert search[-1].points and all(len(v) == 1 for _, v, _ in search[-1].points)
