"""Hand-computed deterministic cases: batches, setups, failures, PM, transport, rules."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from sim_plants import plant

from factory_twin.errors import SimulationError
from factory_twin.model import schema as s
from factory_twin.sim.model import FabModel


def run(spec: s.PlantSpec, until: float, **kw: Any) -> dict[str, pd.DataFrame]:
    m = FabModel(spec, **kw)
    m.run(until)
    m.finalize()
    return m.rec.frames()


def starts(frames: dict[str, pd.DataFrame], step: int = 1) -> dict[str, tuple[float, float]]:
    st = frames["steps"]
    st = st[st["step"] == step]
    return {r.lot: (r.start_s, r.end_s) for r in st.itertuples()}


def intervals(frames: dict[str, pd.DataFrame], tool: str) -> list[tuple[str, str, float, float]]:
    st = frames["states"]
    st = st[st["tool"] == tool]
    return [(r.state, r.substate, r.start_s, r.end_s) for r in st.itertuples()]


# --------------------------------------------------------------------------- batches


def batch_plant(wait: float, times: list[float]) -> s.PlantSpec:
    return plant(
        [
            {
                "id": "B",
                "time": 100.0,
                "per": "batch",
                "recipe": "OX",
                "batch": {"min_wafers": 2, "max_wafers": 3},
            }
        ],
        release={"mode": "schedule", "times_s": times},
        tool_groups=[{"id": "B", "batch_wait_s": wait}],
    )


def test_batch_forms_full_at_max_and_waits_for_min() -> None:
    f = run(batch_plant(50.0, [0, 10, 20, 30, 200]), 1000)
    got = starts(f)
    assert got["p.1"] == got["p.2"] == got["p.3"] == (20.0, 120.0)  # full at max: no wait
    assert got["p.4"] == got["p.5"] == (250.0, 350.0)  # min at 200, waited 50 for more
    jobs = f["steps"].groupby("job")["lot"].count().sort_values().tolist()
    assert jobs == [2, 3]


def test_batch_wait_zero_starts_at_min() -> None:
    got = starts(run(batch_plant(0.0, [0, 10, 20, 30]), 1000))
    assert got["p.1"] == got["p.2"] == (10.0, 110.0)
    assert got["p.3"] == got["p.4"] == (110.0, 210.0)


def test_cascading_batches_and_wafers() -> None:
    sp = plant(
        [{"id": "B", "time": 100.0, "per": "batch", "batch_interval_s": 30.0, "batch": {"min_wafers": 1, "max_wafers": 1}},
         {"id": "W", "time": 10.0, "per": "wafer", "wafer_interval_s": 2.0}],
        release={"mode": "schedule", "times_s": [0, 0]},
        wafers=1,
    )  # fmt: skip
    got = starts(run(sp, 1000))
    assert got["p.1"] == (0.0, 100.0)
    assert got["p.2"] == (30.0, 130.0)  # the tool took the next batch 30 s after the first
    sp = plant([{"id": "W", "time": 10.0, "per": "wafer", "wafer_interval_s": 2.0}],
               release={"mode": "schedule", "times_s": [0]}, wafers=25)  # fmt: skip
    assert starts(run(sp, 1000))["p.1"] == (0.0, 10.0 + 24 * 2.0)
    sp = plant(
        [{"id": "W", "time": 10.0, "per": "wafer"}],
        release={"mode": "schedule", "times_s": [0]},
        wafers=25,
    )
    assert starts(run(sp, 1000))["p.1"] == (0.0, 250.0)


def test_cascading_tool_takes_the_next_lot_after_the_last_wafer_entered() -> None:
    # 25 wafers, first wafer 10 s, one more every 2 s: a lot takes 10 + 24 * 2 = 58 s, plus
    # 3 s load + unload. A cascading tool (2 lots at once) takes the next lot 25 * 2 = 50 s
    # after the previous one started (loading overlaps); a plain tool after 61 s.
    def starts_for(cascade: int) -> list[tuple[float, float]]:
        sp = plant(
            [{"id": "W", "time": 10.0, "per": "wafer", "wafer_interval_s": 2.0}],
            release={"mode": "schedule", "times_s": [0, 0, 0, 0]},
            wafers=25,
            tool_groups=[{"id": "W", "cascade_lots": cascade, "load_s": 1.0, "unload_s": 2.0}],
        )
        f = run(sp, 10_000)
        got = starts(f)
        busy = f["states"][f["states"]["state"] == "productive"]
        assert (busy["end_s"] - busy["start_s"]).sum() == pytest.approx(
            max(e for _, e in got.values())
        )
        return [got[f"p.{k}"] for k in range(1, 5)]

    assert starts_for(2) == [(0.0, 61.0), (50.0, 111.0), (100.0, 161.0), (150.0, 211.0)]
    assert starts_for(1) == [(0.0, 61.0), (61.0, 122.0), (122.0, 183.0), (183.0, 244.0)]


def test_cascading_tool_never_holds_more_lots_than_its_capacity() -> None:
    # the next-lot time (25 * 1 s) is far shorter than a lot (100 + 24 s): without the cap a
    # third lot would enter at 50 s; with 2 lots at once it waits for the first to finish
    sp = plant(
        [{"id": "W", "time": 100.0, "per": "wafer", "wafer_interval_s": 1.0}],
        release={"mode": "schedule", "times_s": [0, 0, 0]},
        wafers=25,
        tool_groups=[{"id": "W", "cascade_lots": 2}],
    )
    got = starts(run(sp, 10_000))
    assert got["p.1"] == (0.0, 124.0)
    assert got["p.2"] == (25.0, 149.0)
    assert got["p.3"] == (124.0, 248.0)


def test_impossible_batch_is_rejected_before_the_run() -> None:
    sp = plant(
        [
            {
                "id": "B",
                "time": 100.0,
                "per": "batch",
                "batch": {"min_wafers": 10, "max_wafers": 20},
            }
        ],
        release={"mode": "schedule", "times_s": [0]},
        wafers=25,
    )
    with pytest.raises(SimulationError, match=r"impossible batch size.*25 wafers"):
        FabModel(sp)


# --------------------------------------------------------------------------- setups


def setup_plant(rule: str = "fifo", min_run: int = 1) -> s.PlantSpec:
    doc = plant(
        [{"id": "T", "time": 100.0}], release={"mode": "schedule", "times_s": [0]}
    ).model_dump()
    doc["routes"] = [
        {
            "id": "ra",
            "steps": [{"tool_group": "T", "process_time": 100.0, "setup": "A", "recipe": "A"}],
        },
        {
            "id": "rb",
            "steps": [{"tool_group": "T", "process_time": 100.0, "setup": "B", "recipe": "B"}],
        },
    ]
    doc["products"] = [
        {"id": "pa", "route": "ra", "release": {"mode": "schedule", "times_s": [0, 10]}},
        {"id": "pb", "route": "rb", "release": {"mode": "schedule", "times_s": [5]}},
    ]
    doc["tool_groups"] = [
        {"id": "T", "dispatch": rule, "min_run_lots": min_run, "setup_default": 30.0,
         "setups": [{"from_setup": "A", "to_setup": "B", "time": 50.0}]}
    ]  # fmt: skip
    return s.PlantSpec.model_validate(doc)


def test_setup_fifo_changes_twice() -> None:
    f = run(setup_plant("fifo"), 1000)
    got = starts(f)
    assert got == {"pa.1": (0.0, 130.0), "pb.1": (130.0, 280.0), "pa.2": (280.0, 410.0)}
    setups = [iv for iv in intervals(f, "T-1") if iv[1] == "setup"]
    assert [(a, b) for *_, a, b in setups] == [(0.0, 30.0), (130.0, 180.0), (280.0, 310.0)]
    assert all(iv[0] == "scheduled_down" for iv in setups)


@pytest.mark.parametrize(("rule", "min_run"), [("setup_avoid", 1), ("fifo", 2)])
def test_setup_avoid_and_min_run_keep_the_setup(rule: str, min_run: int) -> None:
    got = starts(run(setup_plant(rule, min_run), 1000))
    assert got == {"pa.1": (0.0, 130.0), "pa.2": (130.0, 230.0), "pb.1": (230.0, 380.0)}


# --------------------------------------------------------------------------- failures and PM


def test_calendar_failures_preempt_and_pm_with_qualification() -> None:
    sp = plant(
        [{"id": "T", "time": 100.0,
          "reliability": {"mtbf": 1000.0, "mttr": 100.0},
          "pm": [{"name": "weekly", "interval": 5000.0, "duration": 200.0, "qualification": 50.0}]}],
        release={"mode": "schedule", "times_s": [950]},
    )  # fmt: skip
    f = run(sp, 6000)
    assert starts(f)["p.1"] == (950.0, 1150.0)  # 50 s done, 100 s repair, 50 s more
    iv = intervals(f, "T-1")
    assert ("unscheduled_down", "repair", 1000.0, 1100.0) in iv
    assert ("unscheduled_down", "repair", 2100.0, 2200.0) in iv
    assert ("scheduled_down", "pm", 5000.0, 5200.0) in iv
    assert ("engineering", "qualification", 5200.0, 5250.0) in iv
    assert ("unscheduled_down", "repair", 5400.0, 5500.0) in iv


def test_timers_days_ahead_fire_on_time() -> None:
    # Failures and PMs due more than 6 h ahead wait outside the event queue until they come
    # due: they must still fire at their exact times, also on the window's boundaries
    # (21,600 s, 43,200 s, ...) and in SimPy's order against a job ending at the same time.
    sp = plant(
        [{"id": "T", "time": 100.0,
          "reliability": {"mtbf": 30000.0, "mttr": 600.0},
          "pm": [{"name": "shift", "interval": 21600.0, "duration": 300.0}]}],
        release={"mode": "schedule", "times_s": [21500.0, 64700.0]},
    )  # fmt: skip
    f = run(sp, 100000)
    assert starts(f) == {"p.1": (21500.0, 21600.0), "p.2": (64700.0, 64800.0)}
    iv = intervals(f, "T-1")
    downs = [(st, a, b) for st, _, a, b in iv if st in ("scheduled_down", "unscheduled_down")]
    assert downs == [
        ("scheduled_down", 21600.0, 21900.0),  # due as the job ends: it waits for the job
        ("unscheduled_down", 30000.0, 30600.0),
        ("scheduled_down", 43200.0, 43500.0),
        ("unscheduled_down", 60600.0, 61200.0),
        ("scheduled_down", 64800.0, 65100.0),
        ("scheduled_down", 86400.0, 86700.0),
        ("unscheduled_down", 91200.0, 91800.0),
    ]


def test_busy_basis_failures_count_only_processing_time() -> None:
    sp = plant(
        [
            {
                "id": "T",
                "time": 200.0,
                "reliability": {"mtbf": 250.0, "mttr": 100.0, "basis": "busy"},
            }
        ],
        release={"mode": "schedule", "times_s": [0, 0, 0]},
    )
    f = run(sp, 2000)
    assert starts(f) == {"p.1": (0.0, 200.0), "p.2": (200.0, 500.0), "p.3": (500.0, 800.0)}
    downs = [(a, b) for st, _, a, b in intervals(f, "T-1") if st == "unscheduled_down"]
    assert downs == [(250.0, 350.0), (600.0, 700.0)]


def test_wafer_count_pm() -> None:
    sp = plant(
        [
            {
                "id": "T",
                "time": 100.0,
                "pm": [{"name": "clean", "basis": "wafers", "interval": 50, "duration": 30.0}],
            }
        ],
        release={"mode": "schedule", "times_s": [0, 0, 0]},
        wafers=25,
    )
    f = run(sp, 2000)
    assert starts(f)["p.3"] == (230.0, 330.0)
    assert ("scheduled_down", "pm", 200.0, 230.0) in intervals(f, "T-1")


def test_every_e10_state_appears_on_a_busy_plant() -> None:
    sp = plant(
        [{"id": "T", "time": {"dist": "exponential", "mean": 600.0}, "setup": "X",
          "reliability": {"mtbf": {"dist": "exponential", "mean": 20000.0}, "mttr": 900.0},
          "pm": [{"name": "pm", "interval": 40000.0, "duration": 1800.0, "qualification": 600.0}]}],
        release={"mode": "rate", "interarrival": {"dist": "exponential", "mean": 1000.0}},
        tool_groups=[{"id": "T", "setup_default": 120.0}],
    )  # fmt: skip
    m = FabModel(sp, seed=2)
    m.run(86400)
    m.hold("T-1")
    m.run(90000)
    m.resume("T-1")
    m.run(200000)
    m.finalize()
    seen = set(m.rec.frames()["states"]["state"])
    assert {"productive", "standby", "engineering", "scheduled_down", "unscheduled_down"} <= seen


# --------------------------------------------------------------------------- transport


def test_transport_manhattan_and_fixed_and_vehicles() -> None:
    stations = [{"id": "S1", "time": 100.0}, {"id": "S2", "time": 100.0}]
    rel = {"mode": "schedule", "times_s": [0]}
    f = run(
        plant(
            stations, release=rel, transport={"kind": "agv", "speed_m_s": 1.0, "handling_s": 30.0}
        ),
        1000,
    )
    st = f["steps"].set_index("step")
    assert st.at[2, "transport_s"] == pytest.approx(35.0)  # 30 s handling + 5 m at 1 m/s
    assert st.at[2, "queue_enter_s"] == pytest.approx(135.0)
    f = run(plant(stations, release=rel, transport={"fixed_time": 77.0}), 1000)
    assert f["steps"].set_index("step").at[2, "transport_s"] == pytest.approx(77.0)
    # one vehicle, two lots finishing together: the second waits for the vehicle
    tr = {"kind": "agv", "speed_m_s": 1.0, "handling_s": 30.0, "vehicles": 1}
    two = [{"id": "S1", "tools": 2, "time": 100.0}, {"id": "S2", "tools": 2, "time": 100.0}]
    f = run(plant(two, release={"mode": "schedule", "times_s": [0, 0]}, transport=tr), 1000)
    st = f["steps"][f["steps"]["step"] == 2].sort_values("queue_enter_s")
    assert st["queue_enter_s"].tolist() == pytest.approx([135.0, 171.0], abs=1.0)


# --------------------------------------------------------------------------- rules and hot lots


def rule_plant(rule: str) -> s.PlantSpec:
    doc = plant(
        [{"id": "T", "time": 100.0}], release={"mode": "schedule", "times_s": [0]}
    ).model_dump()
    doc["routes"] = [
        {"id": "long", "steps": [{"tool_group": "T", "process_time": 300.0}, {"tool_group": "T", "process_time": 1.0}]},
        {"id": "short", "steps": [{"tool_group": "T", "process_time": 50.0}]},
        {"id": "first", "steps": [{"tool_group": "T", "process_time": 100.0}]},
    ]  # fmt: skip
    doc["products"] = [
        {"id": "blocker", "route": "first", "release": {"mode": "schedule", "times_s": [0]}},
        {"id": "late_long", "route": "long", "due_after_s": 5000, "release": {"mode": "schedule", "times_s": [1]}},
        {"id": "early_short", "route": "short", "due_after_s": 20000, "release": {"mode": "schedule", "times_s": [2]}},
        {"id": "tight", "route": "first", "due_after_s": 600, "release": {"mode": "schedule", "times_s": [3]}},
    ]  # fmt: skip
    doc["tool_groups"] = [{"id": "T", "dispatch": rule}]
    return s.PlantSpec.model_validate(doc)


@pytest.mark.parametrize(
    ("rule", "order"),
    [
        ("fifo", ["late_long.1", "early_short.1", "tight.1"]),
        ("spt", ["early_short.1", "tight.1", "late_long.1"]),
        ("edd", ["tight.1", "late_long.1", "early_short.1"]),
        ("cr", ["tight.1", "late_long.1", "early_short.1"]),
        ("priority", ["late_long.1", "early_short.1", "tight.1"]),
    ],
)
def test_dispatch_rules_order(rule: str, order: list[str]) -> None:
    f = run(rule_plant(rule), 100)
    st = f["steps"]
    waiting = st[(st["step"] == 1) & (st["lot"] != "blocker.1")]
    assert len(waiting) == 3
    m = FabModel(rule_plant(rule))
    m.run(100000)
    m.finalize()
    st = m.rec.frames()["steps"]
    first = st[(st["step"] == 1) & (st["lot"] != "blocker.1")].sort_values("start_s")
    assert first["lot"].tolist() == order


def test_cli_rule_overrides_group_rule() -> None:
    m = FabModel(rule_plant("fifo"), rule="spt")
    m.run(100000)
    m.finalize()
    st = m.rec.frames()["steps"]
    first = st[(st["step"] == 1) & (st["lot"] != "blocker.1")].sort_values("start_s")
    assert first["lot"].iloc[0] == "early_short.1"


@pytest.mark.parametrize("rule", ["fifo", "spt", "edd", "cr", "setup_avoid", "priority"])
def test_hot_lot_goes_first_under_every_rule(rule: str) -> None:
    doc = rule_plant(rule).model_dump()
    doc["products"].append(
        {
            "id": "hot",
            "route": "long",
            "priority": 90,
            "release": {"mode": "schedule", "times_s": [50]},
        }
    )
    m = FabModel(s.PlantSpec.model_validate(doc))
    m.run(100000)
    m.finalize()
    st = m.rec.frames()["steps"]
    first = st[(st["step"] == 1) & (st["lot"] != "blocker.1")].sort_values("start_s")
    assert first["lot"].iloc[0] == "hot.1"


def test_unknown_rule_and_missing_tools_are_clear_errors() -> None:
    with pytest.raises(SimulationError, match="unknown dispatching rule 'fastest'"):
        FabModel(rule_plant("fifo"), rule="fastest")
    doc = rule_plant("fifo").model_dump()
    doc["routes"][0]["steps"].append({"tool_group": "NOWHERE", "process_time": 1.0})
    with pytest.raises(SimulationError, match=r"route long step 3.*no tool can run it.*NOWHERE"):
        FabModel(s.PlantSpec.model_validate(doc))


# --------------------------------------------------------------------------- yield, sampling, limits


def test_rework_scrap_and_sampling_rates() -> None:
    sp = plant(
        [{"id": "A", "time": 1.0, "scrap_probability": 0.1},
         {"id": "B", "time": 1.0, "sample_pct": 30.0},
         {"id": "C", "time": 1.0, "rework": {"probability": 0.2, "to_step": 2}}],
        release={"mode": "rate", "interarrival": 100.0},
    )  # fmt: skip
    f = run(sp, 4000 * 100.0, seed=4)
    lots = f["lots"].dropna(subset=["exit_s"])
    n = len(lots)
    scrap = lots["scrapped"].mean()
    assert scrap == pytest.approx(0.1, abs=4 * math.sqrt(0.09 / n))
    st = f["steps"].dropna(subset=["end_s"])
    first_c = st[st["step"] == 3].groupby("lot").size()
    # visits to C per surviving lot: geometric with p = 0.8 -> mean 1.25
    assert first_c.mean() == pytest.approx(1.25, abs=0.05)
    # B is sampled 30% of the time on a lot's first pass; a rework always goes back to it
    b_visits = int((st["step"] == 2).sum())
    reworks = int(((st["step"] == 3) & (st["outcome"] == 1)).sum())
    first_pass = int((~lots["scrapped"]).sum())
    rate = (b_visits - reworks) / first_pass
    assert rate == pytest.approx(0.3, abs=4 * math.sqrt(0.21 / first_pass))


def test_queue_time_violations_are_counted() -> None:
    sp = plant(
        [{"id": "A", "tools": 2, "time": 100.0, "queue_time_limit": {"to_step": 2, "limit_s": 150.0}},
         {"id": "B", "time": 200.0}],
        release={"mode": "schedule", "times_s": [0, 0, 0]},
    )  # fmt: skip
    f = run(sp, 5000)
    q = f["qtime"]
    # A ends lots at 100, 100, 200; B starts them at 100, 300, 500
    assert sorted(q["excess_s"].tolist()) == pytest.approx([50.0, 150.0])


def test_initial_wip_and_conwip_release() -> None:
    sp = plant(
        [{"id": "A", "time": 100.0}, {"id": "B", "time": 100.0}],
        release={"mode": "conwip", "wip_lots": 2},
        initial_wip=[{"id": "OLD-1", "product": "p", "step": 2}],
    )
    f = run(sp, 1000)
    got = starts(f, 2)
    assert got["OLD-1"] == (0.0, 100.0)
    lots = f["lots"]
    assert bool(lots.set_index("lot").at["OLD-1", "initial"])
    wip = f["wip"]["delta"].cumsum()
    assert wip.min() >= 0 and wip.max() == 3


def test_due_dates_and_priorities_recorded() -> None:
    doc = plant(
        [{"id": "A", "time": 10.0}], release={"mode": "schedule", "times_s": [100]}
    ).model_dump()
    doc["products"][0].update(due_after_s=5000, priority=33)
    f = run(s.PlantSpec.model_validate(doc), 1000)
    row = f["lots"].iloc[0]
    assert row["due_s"] == 5100 and row["priority"] == 33


def test_a_plant_without_products_is_an_availability_study(tmp_path) -> None:
    """Failing tools and no products: simulate reports E10 shares (availability = MTBF / (MTBF + MTTR))."""
    from sim_plants import exp, plant

    from factory_twin.cli import main
    from factory_twin.sim.runner import RunOptions, run_experiment

    sp = plant(
        [{"id": "S", "tools": 3, "time": exp(60),
          "reliability": {"mtbf": exp(36000), "mttr": exp(3600)}}],
        release={"mode": "rate", "interarrival": exp(100)},
    )  # fmt: skip
    sp = sp.model_copy(update={"products": [], "routes": []})
    e = run_experiment(sp, RunOptions(days=100, seed=2), 6, jobs=1)
    summ = e.summary()
    av = summ["availability/S"]
    assert av.contains(36000 / (36000 + 3600)), av
    assert av.half_width < 0.02
    assert summ["e10.unscheduled_down/S"].mean == pytest.approx(1 - av.mean, abs=1e-9)
    assert summ["throughput_lots_per_day"].mean == 0
    import yaml

    path = tmp_path / "avail.yaml"
    path.write_text(yaml.safe_dump(sp.model_dump(mode="json", exclude_none=True)))
    assert main(["simulate", str(path), "--days", "20", "--replications", "2", "--jobs", "1"]) == 0
