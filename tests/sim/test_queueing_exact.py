"""Validation against exact queueing results beyond M/M/c: M/G/1 (Pollaczek-Khinchine),
non-preemptive priorities (Cobham), a server with calendar-time breakdowns (preemptive
resume) and a fixed-size batch server (embedded Markov chain solved here, not by the sim).

As in ``test_queueing_theory``: tiny plants built in code, independent replications with
fixed seeds, the exact value inside the 99% t interval of the replication means, and the
interval narrow enough (half-width under 20% of the value) to mean something.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from conftest import check_little
from scipy import stats as sps
from sim_plants import exp, plant

from factory_twin.sim.runner import Experiment, RunOptions, run_experiment
from factory_twin.sim.stats import t_interval

LEVEL = 0.99
WARM_DAYS = 0.5


def pk_wait(lam: float, es: float, es2: float) -> float:
    """Mean wait in queue of M/G/1, Pollaczek-Khinchine: lam E[S^2] / (2 (1 - lam E[S]))."""
    return lam * es2 / (2 * (1 - lam * es))


def _run(sp: Any, days: float, reps: int, seed: int, *, frames: bool = False) -> Experiment:
    opts = RunOptions(days=days, warmup_days=WARM_DAYS, seed=seed, keep_frames=frames)
    return run_experiment(sp, opts, reps, jobs=1)


def _check(iv: Any, exact: float, rel: float = 0.2) -> None:
    assert iv.contains(exact), (iv, exact)
    assert iv.half_width < rel * exact, (iv, exact)  # tight enough to mean something


# --------------------------------------------------------------------------- M/G/1

MEAN_S = 60.0
# (distribution, E[S^2]) with E[S] = 60 s
SERVICES: dict[str, tuple[dict[str, Any], float]] = {
    # M/D/1: E[S^2] = d^2
    "constant": ({"dist": "constant", "value": MEAN_S}, MEAN_S**2),
    # U(a, b): E[S^2] = (a^2 + a b + b^2) / 3
    "uniform": ({"dist": "uniform", "low": 20.0, "high": 100.0}, (20**2 + 20 * 100 + 100**2) / 3),
    # triangular(a, c, b): Var = (a^2 + b^2 + c^2 - a b - a c - b c) / 18
    "triangular": (
        {"dist": "triangular", "low": 10.0, "mode": 30.0, "high": 140.0},
        MEAN_S**2 + (10**2 + 30**2 + 140**2 - 10 * 30 - 10 * 140 - 30 * 140) / 18,
    ),
    # lognormal with mean m, sd s: E[S^2] = m^2 + s^2 (cv 1.5, more variable than exponential)
    "lognormal": ({"dist": "lognormal", "mean": MEAN_S, "sd": 90.0}, MEAN_S**2 + 90.0**2),
    # gamma with mean m, cv c: E[S^2] = m^2 (1 + c^2)
    "gamma": ({"dist": "gamma", "mean": MEAN_S, "cv": 0.5}, MEAN_S**2 * 1.25),
}


@pytest.mark.parametrize(
    ("name", "days", "reps", "seed"),
    [
        ("constant", 30, 10, 101),
        ("uniform", 30, 10, 102),
        ("triangular", 30, 10, 103),
        ("gamma", 30, 10, 104),
        pytest.param("lognormal", 100, 10, 105, marks=pytest.mark.slow),
    ],
)
def test_mg1_pollaczek_khinchine(name: str, days: float, reps: int, seed: int) -> None:
    """M/G/1 at rho = 0.8: Wq = lam E[S^2] / (2 (1 - rho)), Lq = lam Wq (Little).

    One seed per case: with a shared seed the cases share their arrival stream (streams are
    keyed by name), so one unlucky stream would decide them all at once.
    """
    dist, es2 = SERVICES[name]
    rho = 0.8
    lam = rho / MEAN_S
    sp = plant([{"id": "S", "time": dist}], release={"mode": "rate", "interarrival": exp(1 / lam)})
    e = _run(sp, days, reps, seed=seed)
    summ = e.summary(LEVEL)
    wq = pk_wait(lam, MEAN_S, es2)
    _check(summ["wait_h/S"], wq / 3600)
    _check(summ["queue_lots/S"], lam * wq)
    assert summ["utilisation/S"].contains(rho), summ["utilisation/S"]
    check_little(e)


def test_md1_differs_from_mm1() -> None:
    """The M/D/1 wait is half the M/M/1 wait at the same load: the interval tells them apart."""
    rho, lam = 0.8, 0.8 / MEAN_S
    sp = plant(
        [{"id": "S", "time": {"dist": "constant", "value": MEAN_S}}],
        release={"mode": "rate", "interarrival": exp(1 / lam)},
    )
    w = _run(sp, 30, 10, seed=22).summary(LEVEL)["wait_h/S"]
    assert w.contains(pk_wait(lam, MEAN_S, MEAN_S**2) / 3600)
    assert not w.contains(rho * MEAN_S / (1 - rho) / 3600)  # the M/M/1 value


@pytest.mark.parametrize(("shape", "seed"), [("constant", 24), ("gamma", 26)])
def test_gi_m1_interarrivals(shape: str, seed: int) -> None:
    """GI/M/1 at rho = 0.8 (D/M/1 and E4/M/1, gamma cv 0.5): Wq = s / (mu (1 - s)), s the
    root in (0, 1) of s = A*(mu (1 - s)), A* the interarrival LST: exp(-a x) for a constant
    a, (1 + a x / k)^-k for gamma with mean a and cv 1/sqrt(k)."""
    from scipy.optimize import brentq

    mu, a, k = 1 / MEAN_S, MEAN_S / 0.8, 4
    gamma = shape == "gamma"
    dist = {"dist": "gamma", "mean": a, "cv": 0.5} if gamma else {"dist": "constant", "value": a}

    def lst(x: float) -> float:
        return (1 + a * x / k) ** -k if gamma else math.exp(-a * x)

    sig = brentq(lambda x: x - lst(mu * (1 - x)), 1e-9, 1 - 1e-9)
    sp = plant([{"id": "S", "time": exp(MEAN_S)}], release={"mode": "rate", "interarrival": dist})
    e = _run(sp, 30, 10, seed=seed)
    _check(e.summary(LEVEL)["wait_h/S"], sig / (mu * (1 - sig)) / 3600)
    check_little(e)


def test_vehicles_are_mmv_servers() -> None:
    """Two M/M/1 stations and v = 2 vehicles with exponential trip times between them. The
    lots leaving S1 are Poisson (Burke), a vehicle carries one lot and is free at once at the
    drop-off: a lot's transport time (wait for a vehicle + trip) is the M/M/2 sojourn."""
    lam, trip = 1 / 90.0, 100.0
    sp = plant(
        [{"id": "S1", "time": exp(MEAN_S)}, {"id": "S2", "time": exp(MEAN_S)}],
        release={"mode": "rate", "interarrival": exp(1 / lam)},
        transport={"kind": "agv", "vehicles": 2, "fixed_time": exp(trip)},
    )
    e = _run(sp, 30, 10, seed=25, frames=True)
    moves = []
    for r in e.results:
        assert r.frames is not None
        st = r.frames["steps"]
        moves.append(st[(st["queue_enter_s"] >= r.warmup_s) & (st["group"] == "S2")])
    exact = erlang_c_wq(lam, 1 / trip, 2) + trip
    _check(t_interval([float(m["transport_s"].mean()) for m in moves], LEVEL), exact)
    ct = 2 / (1 / MEAN_S - lam) + exact
    _check(e.summary(LEVEL)["cycle_time_mean_h"], ct / 3600)
    check_little(e)


# --------------------------------------------------------------------------- priorities


@pytest.mark.parametrize(("c", "seed"), [(1, 31), (2, 32)])
def test_nonpreemptive_priority_cobham(c: int, seed: int) -> None:
    """Two classes on c exponential servers, the hot class first, never preempting.

    The queue orders lots by product priority, then FIFO; a lot in process is never
    interrupted (a lot arriving at a busy group only joins the queue). Cobham (1954), for
    M/M/c with one service rate mu for all classes (Gross & Harris):
    W_k = W0 / ((1 - s_{k-1}) (1 - s_k)), s_k = (lam_1 + ... + lam_k) / (c mu),
    W0 = P(wait) / (c mu), P(wait) by Erlang C; with c = 1, W0 = sum lam_i E[S_i^2] / 2.
    """
    l1, l2 = 0.3 * c / MEAN_S, 0.5 * c / MEAN_S
    s1, rho = l1 * MEAN_S / c, (l1 + l2) * MEAN_S / c
    products = [
        {"id": "hot", "route": "r", "wafers_per_lot": 1, "priority": 50,
         "release": {"mode": "rate", "interarrival": exp(1 / l1)}},
        {"id": "std", "route": "r", "wafers_per_lot": 1, "priority": 10,
         "release": {"mode": "rate", "interarrival": exp(1 / l2)}},
    ]  # fmt: skip
    sp = plant(
        [{"id": "S", "tools": c, "time": exp(MEAN_S)}],
        release={"mode": "rate", "interarrival": exp(1.0)},
        products=products,
    )
    e = _run(sp, 30 / c, 10, seed=seed, frames=True)
    fifo = erlang_c_wq(l1 + l2, 1 / MEAN_S, c)
    w0 = fifo * (1 - rho)  # P(wait) / (c mu) = Erlang C wait x (1 - rho)
    if c == 1:
        assert w0 == pytest.approx((l1 + l2) * 2 * MEAN_S**2 / 2)
    exact = {"hot": w0 / (1 - s1), "std": w0 / ((1 - s1) * (1 - rho))}
    per: dict[str, list[float]] = {"hot": [], "std": []}
    for r in e.results:
        assert r.frames is not None
        st = r.frames["steps"]
        st = st[(st["start_s"] >= r.warmup_s) & st["start_s"].notna()]
        w = (st["start_s"] - st["queue_enter_s"]).groupby(st["product"]).mean()
        for p in per:
            per[p].append(float(w[p]))
    for p, v in per.items():
        _check(t_interval(v, LEVEL), exact[p])
    # the conservation law: the load-weighted mean wait is that of FIFO M/M/c
    mix = (l1 * exact["hot"] + l2 * exact["std"]) / (l1 + l2)
    assert mix == pytest.approx(fifo)
    _check(e.summary(LEVEL)["wait_h/S"], fifo / 3600)
    check_little(e)


def erlang_c_wq(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of M/M/c (Erlang C)."""
    a = lam / mu
    s = sum(a**k / math.factorial(k) for k in range(c))
    last = a**c / (math.factorial(c) * (1 - a / c))
    return last / (s + last) / (c * mu - lam)


def test_batch_arrivals_mx_m1() -> None:
    """M^X/M/1: k lots released together (lots_per_release), FIFO inside a release.

    Per lot (Gross & Harris, M^X/G/1): Wq = lam E[X] E[S^2] / (2 (1 - rho))
    + E[S] (E[X^2] - E[X]) / (2 E[X] (1 - rho)); with X = k and exponential S:
    Wq = rho E[S] / (1 - rho) + E[S] (k - 1) / (2 (1 - rho)).
    """
    k, rho = 3, 0.7
    lam = rho / MEAN_S / k
    sp = plant(
        [{"id": "S", "time": exp(MEAN_S)}],
        release={"mode": "rate", "interarrival": exp(1 / lam), "lots_per_release": k},
    )
    e = _run(sp, 30, 10, seed=33)
    summ = e.summary(LEVEL)
    wq = rho * MEAN_S / (1 - rho) + MEAN_S * (k - 1) / (2 * (1 - rho))
    _check(summ["wait_h/S"], wq / 3600)
    _check(summ["queue_lots/S"], lam * k * wq)
    check_little(e)


def test_bernoulli_feedback_rework() -> None:
    """M/M/1 with rework back to the same step with probability p (Jackson feedback).

    Visits arrive at lam / (1 - p); each visit's sojourn is 1 / (mu - lam / (1 - p)); a lot
    makes 1 / (1 - p) visits on average, so its cycle time is that over (1 - p).
    """
    p, lam = 0.25, 0.6 / MEAN_S
    sp = plant(
        [{"id": "S", "time": exp(MEAN_S), "rework": {"probability": p, "to_step": 1}}],
        release={"mode": "rate", "interarrival": exp(1 / lam)},
    )
    e = _run(sp, 30, 10, seed=34)
    summ = e.summary(LEVEL)
    leff = lam / (1 - p)
    rho = leff * MEAN_S
    _check(summ["wait_h/S"], rho * MEAN_S / (1 - rho) / 3600)
    _check(summ["cycle_time_mean_h"], 1 / (1 / MEAN_S - leff) / (1 - p) / 3600)
    assert summ["utilisation/S"].contains(rho), summ["utilisation/S"]
    check_little(e)


# --------------------------------------------------------------------------- breakdowns


def breakdown_wait(lam: float, s: float, f: float, r: float) -> float:
    """Mean wait of M/M/1 whose server fails in calendar time, preemptive resume.

    Model (what the simulator does, ``sim/model_equipment.py``): up times ~ Exp(rate f),
    counted while up, busy or idle; repairs ~ Exp(mean r); no failure during a repair; a
    failure suspends the lot in process and it resumes where it stopped. A lot's
    completion time T = S + the repairs of the failures during S (Poisson, rate f S):
        E[T] = E[S] (1 + f r),  E[T^2] = E[S^2] (1 + f r)^2 + f E[S] E[R^2].
    A lot arriving at an empty system finds the server down with probability
    p = f / (lam + f + 1/r) (the two-state chain, started up at the last departure, seen
    after an Exp(lam) idle time) and then waits a residual repair D0 ~ Exp(mean r). That is
    M/G/1 with service T and a setup D0 before each busy period (Takagi; by mean value
    analysis, P0 = (1 - rho) / (1 + lam E[D0])):
        Wq = lam E[T^2] / (2 (1 - rho)) + (2 E[D0] + lam E[D0^2]) / (2 (1 + lam E[D0])),
    rho = lam E[T], E[D0] = p r, E[D0^2] = 2 p r^2.
    """
    et, et2 = s * (1 + f * r), 2 * s**2 * (1 + f * r) ** 2 + f * s * 2 * r**2
    rho = lam * et
    p = f / (lam + f + 1 / r)
    ed, ed2 = p * r, 2 * p * r**2
    return lam * et2 / (2 * (1 - rho)) + (2 * ed + lam * ed2) / (2 * (1 + lam * ed))


MTTF, MTTR = 3600.0, 600.0


def _breakdown_plant(lam: float, basis: str = "calendar") -> Any:
    rel = {"mtbf": exp(MTTF), "mttr": exp(MTTR), "basis": basis}
    return plant(
        [{"id": "S", "time": exp(MEAN_S), "reliability": rel}],
        release={"mode": "rate", "interarrival": exp(1 / lam)},
    )


def test_breakdown_availability() -> None:
    """E10 shares of an idle-or-busy tool failing in calendar time: MTTF / (MTTF + MTTR) up."""
    lam = 0.3 / MEAN_S
    summ = _run(_breakdown_plant(lam), 40, 10, seed=41).summary(LEVEL)
    down = MTTR / (MTTF + MTTR)
    _check(summ["e10.unscheduled_down/S"], down, rel=0.1)
    _check(summ["availability/S"], 1 - down, rel=0.05)
    assert summ["utilisation/S"].contains(lam * MEAN_S), summ["utilisation/S"]
    assert summ["e10.standby/S"].contains(1 - down - lam * MEAN_S), summ["e10.standby/S"]


def test_breakdown_preemptive_resume_wait() -> None:
    """Mean wait with calendar-time failures (see :func:`breakdown_wait`), load 0.7."""
    lam = 0.01  # rho = lam E[T] = 0.01 * 60 * 7/6 = 0.7
    e = _run(_breakdown_plant(lam), 80, 10, seed=42)
    summ = e.summary(LEVEL)
    wq = breakdown_wait(lam, MEAN_S, 1 / MTTF, MTTR)
    _check(summ["wait_h/S"], wq / 3600)
    _check(summ["queue_lots/S"], lam * wq)
    # without the repairs a lot finds at an empty tool the formula would be 19% lower
    assert not summ["wait_h/S"].contains(pk_wait(lam, *completion_moments(lam)) / 3600)
    check_little(e)


def completion_moments(lam: float) -> tuple[float, float]:
    """E[T], E[T^2] of a lot's completion time with exponential S, f = 1/MTTF, R ~ Exp(MTTR)."""
    f, es, es2, er, er2 = 1 / MTTF, MEAN_S, 2 * MEAN_S**2, MTTR, 2 * MTTR**2
    return es * (1 + f * er), es2 * (1 + f * er) ** 2 + f * es * er2


def test_busy_basis_failures_are_mg1_with_completion_times() -> None:
    """Failures counted in busy time: the tool never fails idle, so a lot arriving at an empty
    tool starts at once and the queue is exactly M/G/1 with the completion time T
    (Pollaczek-Khinchine with E[T], E[T^2] of :func:`completion_moments`). The tool is down
    a share lam E[S] r / MTTF of the time (failures at rate 1/MTTF of productive time)."""
    lam = 0.01
    e = _run(_breakdown_plant(lam, basis="busy"), 80, 10, seed=43)
    summ = e.summary(LEVEL)
    wq = pk_wait(lam, *completion_moments(lam))
    _check(summ["wait_h/S"], wq / 3600)
    _check(summ["queue_lots/S"], lam * wq)
    _check(summ["e10.unscheduled_down/S"], lam * MEAN_S * MTTR / MTTF, rel=0.1)
    assert summ["utilisation/S"].contains(lam * MEAN_S), summ["utilisation/S"]
    check_little(e)


# --------------------------------------------------------------------------- batches


def batch_wait(lam: float, d: float, bmin: int, bmax: int, n: int = 600) -> tuple[float, float]:
    """Mean wait and utilisation of a batch tool: Poisson lots, batches of bmin..bmax lots
    for a fixed time d, a batch starting as soon as bmin lots wait (no waiting for more).

    Embedded chain at departures: Q' = max(Q - bmax, 0) + A, A ~ Poisson(lam d), solved on
    0..n-1. A cycle from a departure with Q queued: if Q < bmin the tool idles until bmin
    lots are there (queue area sum_{k=Q}^{bmin-1} k / lam); it then serves d with
    max(Q - bmax, 0) lots left plus the arrivals (area max(Q - bmax, 0) d + lam d^2 / 2) and
    min(max(Q, bmin), bmax) lots in the batch. Renewal reward: Lq = E[area] / E[cycle],
    Wq = Lq / lam, utilisation d / E[cycle]; E[lots per batch] / E[cycle] = lam checks it.
    """
    pa = sps.poisson.pmf(np.arange(n), lam * d)
    p = np.zeros((n, n))
    for q in range(n):
        base = max(q - bmax, 0)
        p[q, base:] = pa[: n - base]
        p[q, n - 1] += 1 - p[q].sum()
    a = np.vstack([(p.T - np.eye(n))[:-1], np.ones(n)])
    rhs = np.zeros(n)
    rhs[-1] = 1.0
    pi = np.linalg.solve(a, rhs)
    q = np.arange(n)
    idle = np.maximum(bmin - q, 0) / lam
    idle_area = np.array([sum(range(k, bmin)) / lam for k in q])
    area = idle_area + np.maximum(q - bmax, 0) * d + lam * d**2 / 2
    cycle = float(pi @ (idle + d))
    served = float(pi @ np.minimum(np.maximum(q, bmin), bmax))
    assert served / cycle == pytest.approx(lam, rel=1e-9)  # all lots get served
    return float(pi @ area) / cycle / lam, d / cycle


@pytest.mark.parametrize(
    ("bmin", "bmax", "rho", "seed"), [(3, 3, 0.8, 51), (5, 5, 0.6, 52), (1, 4, 0.9, 53)]
)
def test_batch_server(bmin: int, bmax: int, rho: float, seed: int) -> None:
    """Poisson lots, one batch tool (1-wafer lots, min and max batch in lots) with a fixed
    time per batch; rho = lam d / bmax. With min = max = b every batch holds exactly b."""
    d = 150.0
    lam = rho * bmax / d
    wq, util = batch_wait(lam, d, bmin, bmax)
    if bmin == bmax:
        assert util == pytest.approx(rho, rel=1e-9)
    sp = plant(
        [{"id": "B", "time": {"dist": "constant", "value": d}, "per": "batch",
          "batch": {"min_wafers": bmin, "max_wafers": bmax}}],
        release={"mode": "rate", "interarrival": exp(1 / lam)},
    )  # fmt: skip
    e = _run(sp, 40, 10, seed=seed)
    summ = e.summary(LEVEL)
    _check(summ["wait_h/B"], wq / 3600)
    _check(summ["queue_lots/B"], lam * wq)
    assert summ["utilisation/B"].contains(util), (summ["utilisation/B"], util)
    check_little(e)
