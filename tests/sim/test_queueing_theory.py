"""Validation against queueing theory: M/M/1, M/M/c, Jackson tandem, CONWIP, and Ciw.

Each check builds a tiny plant in code (exponential times, no transport), runs independent
replications, and asserts the exact value lies in the 99% t confidence interval of the
replication means. Seeds are fixed, so the outcome is deterministic; the interval widths are
checked too, so a test cannot pass by being vague.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import check_little
from sim_plants import exp, plant

from factory_twin.sim.runner import RunOptions, run_experiment
from factory_twin.sim.stats import t_interval

SERVICE_S = 60.0
LEVEL = 0.99


def erlang_c_wq(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of M/M/c (Erlang C)."""
    a = lam / mu
    rho = a / c
    s = sum(a**k / math.factorial(k) for k in range(c))
    last = a**c / (math.factorial(c) * (1 - rho))
    pw = last / (s + last)
    return pw / (c * mu - lam)


def _mmc(rho: float, c: int, days: float, reps: int):
    lam = rho * c / SERVICE_S
    sp = plant(
        [{"id": "S", "tools": c, "time": exp(SERVICE_S)}],
        release={"mode": "rate", "interarrival": exp(1 / lam)},
    )
    e = run_experiment(sp, RunOptions(days=days, warmup_days=0.5, seed=7), reps, jobs=1)
    wq_h = erlang_c_wq(lam, 1 / SERVICE_S, c) / 3600
    lq = lam * wq_h * 3600
    return e, wq_h, lq


@pytest.mark.parametrize(
    ("rho", "c", "days", "reps"),
    [
        (0.5, 1, 6, 6),
        (0.8, 1, 10, 8),
        pytest.param(0.9, 1, 40, 10, marks=pytest.mark.slow),
        (0.8, 3, 4, 6),
        pytest.param(0.5, 3, 10, 8, marks=pytest.mark.slow),
        pytest.param(0.9, 3, 20, 10, marks=pytest.mark.slow),
    ],
)
def test_mmc_wait_and_queue_length(rho: float, c: int, days: float, reps: int) -> None:
    e, wq_h, lq = _mmc(rho, c, days, reps)
    summ = e.summary(LEVEL)
    w, q = summ["wait_h/S"], summ["queue_lots/S"]
    assert w.contains(wq_h), (w, wq_h)
    assert q.contains(lq), (q, lq)
    assert w.half_width < 0.2 * wq_h  # tight enough to mean something
    assert summ["utilisation/S"].contains(rho)
    check_little(e)


def test_jackson_tandem_line() -> None:
    """Open tandem line of M/M/1 stations: sojourn W_i = 1 / (mu_i - lambda), product form."""
    lam = 1 / 100.0
    means = [50.0, 70.0, 60.0]
    sp = plant(
        [{"id": f"S{i + 1}", "time": exp(m)} for i, m in enumerate(means)],
        release={"mode": "rate", "interarrival": exp(1 / lam)},
    )
    e = run_experiment(
        sp, RunOptions(days=8, warmup_days=0.5, seed=3, keep_frames=True), 6, jobs=1
    )
    per_station: dict[str, list[float]] = {}
    for r in e.results:
        assert r.frames is not None
        st = r.frames["steps"]
        st = st[(st["queue_enter_s"] >= r.warmup_s) & st["end_s"].notna()]
        soj = (st["end_s"] - st["queue_enter_s"]).groupby(st["group"]).mean()
        for g, v in soj.items():
            per_station.setdefault(str(g), []).append(float(v))
    total = 0.0
    for i, m in enumerate(means):
        exact = 1 / (1 / m - lam)
        total += exact
        iv = t_interval(per_station[f"S{i + 1}"], LEVEL)
        assert iv.contains(exact), (i, iv, exact)
        assert iv.half_width < 0.15 * exact
    ct = e.summary(LEVEL)["cycle_time_mean_h"]
    assert ct.contains(total / 3600), (ct, total / 3600)
    check_little(e)


def test_conwip_practical_worst_case() -> None:
    """Closed balanced exponential line = Hopp & Spearman's practical worst case."""
    t, n, w = 600.0, 3, 5
    rb, t0, w0 = 1 / t, n * t, n
    sp = plant(
        [{"id": f"S{i + 1}", "time": exp(t)} for i in range(n)],
        release={"mode": "conwip", "wip_lots": w},
    )
    e = run_experiment(sp, RunOptions(days=20, warmup_days=1, seed=11), 6, jobs=1)
    summ = e.summary(LEVEL)
    th_day = w / (w0 + w - 1) * rb * 86400
    ct_h = (t0 + (w - 1) / rb) / 3600
    assert summ["throughput_lots_per_day"].contains(th_day), (
        summ["throughput_lots_per_day"],
        th_day,
    )
    assert summ["cycle_time_mean_h"].contains(ct_h), (summ["cycle_time_mean_h"], ct_h)
    assert summ["wip_lots"].mean == pytest.approx(w, abs=1e-6)  # CONWIP holds WIP exactly
    check_little(e, rel_tol=0.02)


def _ciw_sojourns(
    lam: float, means: list[float], servers: list[int], days: float, reps: int, warm: float
):
    import ciw

    horizon = days * 86400
    per: list[list[float]] = [[] for _ in means]
    for r in range(reps):
        n = len(means)
        routing = [[1.0 if j == i + 1 else 0.0 for j in range(n)] for i in range(n)]
        net = ciw.create_network(
            arrival_distributions=[ciw.dists.Exponential(lam)] + [None] * (n - 1),
            service_distributions=[ciw.dists.Exponential(1 / m) for m in means],
            number_of_servers=servers,
            routing=routing,
        )
        ciw.seed(1000 + r)
        q = ciw.Simulation(net)
        q.simulate_until_max_time(horizon)
        recs = [
            x for x in q.get_all_records() if x.arrival_date >= warm and x.record_type == "service"
        ]
        for i in range(n):
            soj = [x.exit_date - x.arrival_date for x in recs if x.node == i + 1]
            per[i].append(float(np.mean(soj)))
    return per


def test_same_network_as_ciw() -> None:
    """A three-station line (2, 1, 2 servers) against Ciw: means inside each other's CIs."""
    lam = 1 / 80.0
    means, servers = [120.0, 60.0, 140.0], [2, 1, 2]
    days, reps, warm = 4, 6, 43200.0
    sp = plant(
        [
            {"id": f"S{i + 1}", "tools": c, "time": exp(m)}
            for i, (m, c) in enumerate(zip(means, servers, strict=True))
        ],
        release={"mode": "rate", "interarrival": exp(1 / lam)},
    )
    e = run_experiment(
        sp, RunOptions(days=days, warmup_days=warm / 86400, seed=5, keep_frames=True), reps, jobs=1
    )
    ours: list[list[float]] = [[] for _ in means]
    for r in e.results:
        assert r.frames is not None
        st = r.frames["steps"]
        st = st[(st["queue_enter_s"] >= warm) & st["end_s"].notna()]
        soj = (st["end_s"] - st["queue_enter_s"]).groupby(st["group"]).mean()
        for i in range(len(means)):
            ours[i].append(float(soj[f"S{i + 1}"]))
    theirs = _ciw_sojourns(lam, means, servers, days, reps, warm)
    for i in range(len(means)):
        a, b = t_interval(ours[i], LEVEL), t_interval(theirs[i], LEVEL)
        assert a.contains(b.mean), (i, a, b)
        assert b.contains(a.mean), (i, a, b)
