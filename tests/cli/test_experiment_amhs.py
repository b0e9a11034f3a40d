"""`factory-twin experiment` prints the OHT fleet's KPIs with their CIs when the plant runs it,
and the report lists them (the three-tool rail loop of tests/data, fleet 3 against fleet 1)."""

from __future__ import annotations

import contextlib
import io
import math
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from factory_twin.app.experiment_report import build_report
from factory_twin.app.experiment_result import load_result
from factory_twin.cli import main
from factory_twin.model.config import load_plant
from factory_twin.sim.engine import Engine
from factory_twin.sim.oht import OhtFleet

LOOP = Path(__file__).parents[1] / "data" / "amhs_loop_plant.yaml"
LABELS = {
    "amhs_transport_mean_min": "transport mean (min)",
    "amhs_transport_p95_min": "transport p95 (min)",
    "amhs_wait_vehicle_mean_min": "wait for vehicle (min)",
    "amhs_vehicle_utilisation": "vehicle utilisation",
    "amhs_empty_travel_share": "empty-travel share",
    "amhs_moves_per_h": "vehicle moves/h",
    "amhs_blocked_per_move_s": "blocked per move (s)",
    "amhs_deadlocks": "deadlocks",
}


@pytest.fixture(scope="module")
def run_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, str]:
    """Run the experiment once for the module (each test can then run alone, or on another
    worker): its file, its result folder and what it printed."""
    d = tmp_path_factory.mktemp("amhs_exp")
    one = d / "fleet1.scenario.yaml"
    one.write_text(yaml.safe_dump({"name": "fleet 1", "base": str(LOOP),
                                   "changes": [{"change": "set_amhs", "fleet": 1}]}))  # fmt: skip
    exp = d / "fleet.experiment.yaml"
    exp.write_text(yaml.safe_dump({"scenarios": [str(LOOP), str(one)], "horizon_days": 12,
                                   "warmup": 2, "replications": 4, "seed": 5,
                                   "processes": 1}))  # fmt: skip
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["experiment", exp.as_posix()])
    assert code == 0, printed.getvalue()
    return exp.as_posix(), d / "fleet.results", printed.getvalue()


def test_experiment_prints_the_fleet_kpis_with_cis(run_output) -> None:
    _, out, text = run_output
    res = load_result(out)
    summ = res.summary().set_index(["scenario", "kpi"])
    base = res.scenarios[0].name
    for kpi, label in LABELS.items():
        r = summ.loc[(base, kpi)]
        m = re.search(rf"  {re.escape(label)}\s+(\S+)(?: ± (\S+))?\n", text)
        assert m, f"{label!r} not printed:\n{text}"
        assert float(m.group(1)) == pytest.approx(r["mean"], rel=1e-3, abs=1e-9)
        if math.isfinite(r["half_width"]) and r["half_width"] > 0:
            assert float(m.group(2)) == pytest.approx(r["half_width"], rel=1e-2)
    assert "OHT vehicles" in text
    assert "differences against the base" in text
    other = res.scenarios[1].name
    assert re.search(rf"{other}\s+vehicle utilisation\s+\+\S+ ± \S+\s+higher", text)
    # hand-checked: one move per lot (lithography to etch; lots enter at and leave from their
    # tools), lots released every 4,000 s on average: 0.9 moves an hour
    moves = summ.loc[(base, "amhs_moves_per_h")]
    assert moves["low"] - 0.05 <= 0.9 <= moves["high"] + 0.05
    # a move takes at least its two hoists and the free-running loaded trip
    spec = load_plant(LOOP).spec
    assert spec.amhs is not None
    fleet = OhtFleet(spec.amhs, Engine())
    least = fleet.nominal_s("N4", "N2") / 60
    assert summ.loc[(base, "amhs_transport_mean_min")]["mean"] >= least
    # the same moves (common random numbers, no vehicle ever short) on 1 vehicle instead of 3:
    # the same busy time over a third of the fleet time
    u1 = summ.loc[(other, "amhs_vehicle_utilisation")]["mean"]
    u3 = summ.loc[(base, "amhs_vehicle_utilisation")]["mean"]
    assert u1 == pytest.approx(3 * u3, rel=1e-6)
    w1 = summ.loc[(other, "amhs_wait_vehicle_mean_min")]["mean"]
    w3 = summ.loc[(base, "amhs_wait_vehicle_mean_min")]["mean"]
    assert w1 >= w3


def test_report_lists_the_fleet_kpis(run_output) -> None:
    _, out, _ = run_output
    res = load_result(out)
    kpis = next(s for s in build_report(res) if s.title.startswith("KPIs"))
    table = kpis.tables[0][1]
    labels = set(table["KPI"])
    for label in ("OHT transport per move, mean (min)", "vehicle utilisation",
                  "wait for a vehicle (min)", "deadlocks resolved"):  # fmt: skip
        assert label in labels


def test_each_replication_keeps_its_rail_links_figures(run_output) -> None:
    """rails.parquet: per link the section's entries/h (KPI window) and blocked s/h; the
    busiest of them are the replication's KPIs."""
    _, out, _ = run_output
    res = load_result(out)
    spec = load_plant(LOOP).spec
    assert spec.amhs is not None
    sc = res.scenarios[0]
    for r in sc.replications:
        rails = pd.read_parquet(sc.rep_dir(r) / "rails.parquet")
        assert list(rails["link"]) == [lk.id for lk in spec.amhs.links]
        kp = sc.kpis().query("replication == @r").set_index("kpi")["value"]
        assert rails["entries_per_h"].max() == pytest.approx(
            kp["amhs_busiest_section_1_entries_per_h"], rel=1e-12
        )
        assert rails["blocked_s_per_h"].max() == pytest.approx(
            kp["amhs_most_blocked_section_1_s_per_h"], abs=1e-12
        )
        # one section's links share its figures
        for _, grp in rails.groupby("section"):
            assert grp["entries_per_h"].nunique() == 1
