"""The SMT2020 HVLM fab (Kopp et al. 2020) at full scale in the simulator.

A short run (two simulated days, 1,443 tools, 2,255 initial WIP lots) checks that the
imported testbed behaves like a fab: lots move through every area, the initial WIP
progresses along its routes, hot lots overtake regular lots and queue-time violations are
counted. The slow validation run checks the steady state: throughput equals the release
rate of ``order.txt`` within the confidence interval over replications, WIP stays put.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.sim.runner import ReplicationResult, RunOptions, run_experiment, run_replication

ROOT = Path(__file__).parents[2]
HVLM = ROOT / "plant_configs" / "smt2020_hvlm.yaml"
DAY_S = 86400.0
SHORT_DAYS = 2.0


@pytest.fixture(scope="module")
def hvlm() -> s.PlantSpec:
    """The shipped HVLM plant."""
    return load_plant(HVLM).spec


@pytest.fixture(scope="module")
def short_run(hvlm: s.PlantSpec) -> ReplicationResult:
    """Two simulated days of HVLM with the importer's dispatching rules, records kept."""
    return run_replication(hvlm, RunOptions(days=SHORT_DAYS, seed=7, keep_frames=True), 0)


def release_rate_per_day(spec: s.PlantSpec) -> float:
    """Lots released per day by the plant's constant-interval release plans."""
    rate = 0.0
    for p in spec.products:
        rel = p.release
        assert rel is not None and rel.mode == "rate", p.id
        ia = rel.interarrival
        assert ia is not None and ia.dist == "constant", (p.id, ia)
        rate += DAY_S / float(ia.value)
    return rate


def test_lots_move_through_every_area(hvlm: s.PlantSpec, short_run: ReplicationResult) -> None:
    assert short_run.frames is not None
    steps = short_run.frames["steps"]
    bay = {e.id: e.bay for e in hvlm.equipment}
    done = steps[steps["end_s"].notna()]
    per_area = done["tool"].map(bay).value_counts()
    areas = {e.bay for e in hvlm.equipment}
    assert len(areas) >= 10
    for a in areas:
        assert per_area.get(a, 0) >= 100, (
            f"area {a}: {per_area.get(a, 0)} steps in {SHORT_DAYS} days"
        )
    # moves per day in the range of a fab with ~2,300 lots and ~20-day raw process times:
    # every lot moves about once per cycle-time-per-step (a few hours)
    moves = short_run.kpis["moves_per_day"]
    assert 10_000 < moves < 60_000, moves
    # per-area KPIs exist and each area's E10 shares add up to one
    for a in areas:
        total = sum(short_run.kpis[f"e10_area.{st}/{a}"] for st in
                    ("productive", "standby", "engineering", "scheduled_down",
                     "unscheduled_down", "non_scheduled"))  # fmt: skip
        assert total == pytest.approx(1.0, abs=1e-6), a
        assert 0.0 <= short_run.kpis[f"utilisation_area/{a}"] <= 1.0


def test_initial_wip_progresses(hvlm: s.PlantSpec, short_run: ReplicationResult) -> None:
    assert short_run.frames is not None
    lots, steps = short_run.frames["lots"], short_run.frames["steps"]
    init = lots[lots["initial"]]
    assert len(init) == len(hvlm.initial_wip) == 2255
    first = {w.id: w.step for w in hvlm.initial_wip}
    done = steps[steps["end_s"].notna() & steps["lot"].isin(init["lot"])]
    reached = done.groupby("lot")["step"].max()
    # nearly every initial lot completed steps beyond the one it started at
    moved = sum(1 for lot, st in reached.items() if st >= first[lot])
    assert moved / len(init) > 0.9, f"{moved} of {len(init)} initial lots moved"
    advance = np.array([reached[lot] - first[lot] + 1 for lot in reached.index])
    assert np.median(advance) >= 3, np.median(advance)
    # the lots near the end of their routes leave the fab finished
    out = init[init["exit_s"].notna() & ~init["scrapped"]]
    assert len(out) > 20, len(out)
    # released lots join at the first step and the release plan is kept
    new = lots[~lots["initial"]]
    expect = release_rate_per_day(hvlm) * SHORT_DAYS
    assert abs(len(new) - expect) <= len(hvlm.products) + 1, (len(new), expect)


def test_hot_lots_overtake_regular_lots(short_run: ReplicationResult) -> None:
    assert short_run.frames is not None
    lots, steps = short_run.frames["lots"], short_run.frames["steps"]
    st = steps[steps["start_s"].notna()].merge(lots[["lot", "priority"]], on="lot")
    wait_h = (st["start_s"] - st["queue_enter_s"]) / 3600.0
    hot = wait_h[st["priority"] > 10]
    regular = wait_h[st["priority"] == 10]
    assert len(hot) > 500 and len(regular) > 10_000
    # a hot lot jumps the queue: it waits a fraction of a regular lot's wait per step
    assert hot.mean() < 0.5 * regular.mean(), (hot.mean(), regular.mean())
    # and so it advances more steps per day
    done = steps[steps["end_s"].notna()].merge(lots[["lot", "priority"]], on="lot")
    per_lot = done.groupby("lot").agg(n=("step", "size"), priority=("priority", "first"))
    rate = per_lot.groupby(per_lot["priority"] > 10)["n"].mean()
    assert rate[True] > 1.3 * rate[False], rate.to_dict()


def test_queue_time_violations_are_counted(short_run: ReplicationResult) -> None:
    assert short_run.frames is not None
    qt = short_run.frames["qtime"]
    assert len(qt) > 0
    assert short_run.kpis["qtime_violations"] == len(qt)
    assert (qt["excess_s"] > 0).all()
    assert (qt["to_step"] > qt["from_step"]).all()
    assert ((qt["time_s"] >= 0) & (qt["time_s"] <= SHORT_DAYS * DAY_S)).all()


def test_kpis_report_products_and_bottleneck(
    hvlm: s.PlantSpec, short_run: ReplicationResult
) -> None:
    k = short_run.kpis
    for p in hvlm.products:
        assert f"x_factor/{p.id}" in k and f"cycle_time_mean_h/{p.id}" in k
        assert f"throughput_lots_per_day/{p.id}" in k
    bn = short_run.bottleneck
    assert bn is not None
    assert bn.area in {e.bay for e in hvlm.equipment}
    assert bn.busy > 0.5


@pytest.mark.slow
@pytest.mark.timeout(3600)  # 3 x 150 simulated days of the full fab: ~10 min on 2 cores
def test_steady_state_delivers_the_release_rate(hvlm: s.PlantSpec) -> None:
    """Throughput equals the release rate within its CI; WIP neither grows nor drains.

    Three replications of 150 days, the first 50 deleted (the runs of the README's table):
    the release rate of ``order.txt`` must lie in the 95% t-interval of the throughput.
    """
    opts = RunOptions(days=150, warmup_days=50, seed=1)
    exp = run_experiment(hvlm, opts, 3, jobs=None)
    summ = exp.summary()
    tp = summ["throughput_lots_per_day"]
    lam = release_rate_per_day(hvlm)
    assert tp.low <= lam <= tp.high, (tp, lam)
    wip = summ["wip_lots"]
    n0 = len(hvlm.initial_wip)
    assert abs(wip.mean - n0) / n0 < 0.15, (wip.mean, n0)
    # no area is overloaded: every area's productive share is below one
    for key, iv in summ.items():
        if key.startswith("utilisation_area/"):
            assert iv.mean < 0.97, (key, iv.mean)
    assert math.isfinite(summ["x_factor"].mean) and summ["x_factor"].mean > 1.0
    frames = pd.DataFrame({"tp": exp.values("throughput_lots_per_day")})
    assert (frames["tp"] > 0.9 * lam).all()
