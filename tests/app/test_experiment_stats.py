"""Experiments on the demo fab: common random numbers, layout moves, sequential replications."""

from __future__ import annotations

import math

import pytest
from experiment_helpers import (
    DEMO,
    add_tool_change,
    move_to_bay_changes,
    write_experiment,
    write_scenario,
)

from factory_twin.app.experiment import run
from factory_twin.model.config import load_plant
from factory_twin.sim.stats import t_interval


def _ratio_interval(res, kpi):
    k = res.kpis()
    w = k[k["kpi"] == kpi].pivot(index="replication", columns="scenario", values="value")
    base, other = res.names()
    return t_interval((w[other] / w[base]).to_numpy())


@pytest.mark.slow
def test_one_more_tool_in_the_bottleneck_group_crn(tmp_path):
    """One tool more in the bottleneck group (IMP, n tools): utilisation x n/(n+1), cycle
    time shorter, and the paired CI is narrower than with independent streams."""
    group = "IMP"
    n = len(load_plant(DEMO).spec.groups()[group])
    sc = write_scenario(tmp_path, "more_imp", [add_tool_change(group, "IMP-X")])
    opts = {"horizon_days": 40, "warmup": 2, "replications": 6}
    crn = run(write_experiment(tmp_path, [DEMO, sc], name="crn", **opts))
    assert crn.bottlenecks()["group"].iloc[0] == group  # it is the simulated bottleneck
    s = crn.summary().set_index(["scenario", "kpi"])
    base_u = s.loc[(crn.base.name, f"utilisation/{group}")]
    new_u = s.loc[(crn.scenarios[1].name, f"utilisation/{group}")]
    expected = base_u["mean"] * n / (n + 1)
    assert new_u["low"] <= expected <= new_u["high"], (new_u, expected)
    # per replication (CRN) the ratio is n/(n+1) to within the extra work the shorter
    # queue lets the group finish inside the window
    ratio = _ratio_interval(crn, f"utilisation/{group}")
    assert abs(ratio.mean - n / (n + 1)) < 0.01, ratio
    d = crn.differences().set_index("kpi")
    ct = d.loc["cycle_time_mean_h"]
    assert ct["high"] < 0 and ct["verdict"] == "better"
    ind = run(
        write_experiment(tmp_path, [DEMO, sc], name="ind", common_random_numbers=False, **opts)
    )
    ct_ind = ind.differences().set_index("kpi").loc["cycle_time_mean_h"]
    assert ct["half_width"] < ct_ind["half_width"]
    # the base is the same scenario in both (same seed): read from the store, not run again
    assert crn.base.key == ind.base.key
    assert ind.scenarios[1].meta["seed"] == 8 and crn.scenarios[1].meta["seed"] == 7


@pytest.mark.slow
def test_tools_moved_further_apart_mean_longer_transport(tmp_path):
    """The etchers moved from the etch bay (beside litho) to the far metrology bay, with the
    layout editor's move_tool changes: every litho -> etch -> ash move is longer, so the mean
    transport time per move goes up (paired CI above 0)."""
    etch = [e.id for e in load_plant(DEMO).spec.groups()["ETCH_SI"]]
    far = write_scenario(tmp_path, "etch_far", move_to_bay_changes(etch, "metrology"))
    res = run(write_experiment(tmp_path, [DEMO, far], horizon_days=30, warmup=2, replications=5))
    d = res.differences().set_index("kpi")
    tr = d.loc["transport_mean_min"]
    assert tr["low"] > 0 and tr["verdict"] == "worse", tr
    # The cycle time is NOT asserted: a move costs some 2 minutes more against a cycle
    # time of about 120 h, well inside the cycle time's paired CI at this horizon.


def test_sequential_replications_stop_when_the_target_is_met_and_not_before(tmp_path):
    target = 1.5
    rule = {
        "until_half_width_pct": target,
        "kpis": ["throughput_lots_per_day"],
        "min": 3,
        "max": 12,
    }
    res = run(write_experiment(tmp_path, [DEMO], horizon_days=8, warmup=1, replications=rule))
    sc = res.base
    n = len(sc.replications)
    assert sc.replications == list(range(n))
    vals = res.kpis().query("kpi == 'throughput_lots_per_day'").sort_values("replication")["value"]
    v = vals.to_numpy()

    def pct(k):
        iv = t_interval(v[:k])
        return 100 * iv.half_width / abs(iv.mean)

    if sc.meta["stop"] == "target met":
        assert pct(n) < target
        assert all(pct(k) >= target for k in range(3, n))  # not before
        assert math.isclose(sc.meta["half_width_pct"]["throughput_lots_per_day"], pct(n))
    else:
        assert sc.meta["stop"] == "cap reached" and n == 12
        assert all(pct(k) >= target for k in range(3, n + 1))
    assert n > 3, "choose a target the first replications do not already meet"


@pytest.mark.parametrize("bad", ["cycle_time_mean", "no_such_kpi"])
def test_sequential_with_an_unknown_kpi_names_it(tmp_path, bad):
    from factory_twin.errors import SimulationError

    rule = {"until_half_width_pct": 5, "kpis": [bad], "min": 2, "max": 3}
    with pytest.raises(SimulationError, match=bad):
        run(write_experiment(tmp_path, [DEMO], horizon_days=2, warmup=0, replications=rule))
    assert not any(p.name.startswith(".partial") for p in (tmp_path / "t.results").iterdir())
