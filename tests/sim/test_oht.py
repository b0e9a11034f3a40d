"""The OHT fleet on hand-made rail graphs: kinematics, headway, capacity, demand, deadlock.

Every expected time is worked out by hand from constant-acceleration kinematics (top speed 5
m/s, 2 m/s^2 up, 3.5 m/s^2 down, as SMAT2022's OHTV0) and the traffic rules of
:mod:`factory_twin.sim.oht`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from factory_twin.model.amhs import Amhs
from factory_twin.sim.engine import Engine
from factory_twin.sim.oht import OhtFleet
from factory_twin.sim.oht_fast import CompiledOhtFleet, Fleet
from factory_twin.sim.oht_graph import RailGraph, profile_times

A, D, V = 2.0, 3.5, 5.0
PITCH = 0.784 + 0.125
H = 15.0  # handling (hoist) time


def run_from_rest(length: float, v: float = V) -> float:
    """Time over ``length`` metres from rest to rest at top speed ``v`` (long enough to cruise)."""
    da, dd = v * v / (2 * A), v * v / (2 * D)
    assert length >= da + dd
    return v / A + v / D + (length - da - dd) / v


def ring(
    n: int, length: float = 10.0, extra: list[tuple[str, str, float]] | None = None, **kw: Any
) -> Amhs:
    nodes = [{"id": f"n{i}", "at_m": (i * length, 0.0)} for i in range(n)]
    links = [
        {
            "id": f"l{i}",
            "from": f"n{i}",
            "to": f"n{(i + 1) % n}",
            "length_m": length,
            "max_speed_m_s": V,
        }
        for i in range(n)
    ]
    for k, (a, b, ln) in enumerate(extra or []):
        if b not in {x["id"] for x in nodes}:
            nodes.append({"id": b, "at_m": (0.0, 5.0 + k)})
        links.append({"id": f"x{k}", "from": a, "to": b, "length_m": ln, "max_speed_m_s": V})
    return Amhs(nodes=nodes, links=links, handling_s=H, **kw)


MakeFleet = Callable[[Amhs, list[str]], tuple[Engine, Fleet, list[Any]]]


@pytest.fixture(params=["python", "compiled"])
def fleet(request: pytest.FixtureRequest) -> MakeFleet:
    """Every case runs on both fleets: the pure-Python reference and the compiled one."""
    cls = OhtFleet if request.param == "python" else CompiledOhtFleet

    def make(amhs: Amhs, start: list[str]) -> tuple[Engine, Fleet, list[Any]]:
        env = Engine()
        return env, cls(amhs, env, start_nodes=start, fleet=len(start)), []

    return make


def test_profile_of_one_link_is_the_textbook_trapezoid() -> None:
    assert profile_times([40.0], [V], A, D)[0] == pytest.approx(run_from_rest(40.0), abs=1e-12)
    # too short to reach top speed: a triangle, peak v with v^2/2A + v^2/2D = L
    vp = math.sqrt(2 * A * D * 2.0 / (A + D))
    assert profile_times([2.0], [V], A, D)[0] == pytest.approx(vp / A + vp / D, abs=1e-12)


def test_curve_speed_limit_by_hand() -> None:
    # 10 m straight (5 m/s), 2 m curve (1 m/s), 10 m straight: enter and leave the curve at 1 m/s
    t = profile_times([10.0, 2.0, 10.0], [V, 1.0, V], A, D)
    t1 = 5 / A + (5 - 1) / D + (10 - 25 / (2 * A) - (25 - 1) / (2 * D)) / 5
    t3 = (5 - 1) / A + 5 / D + (10 - (25 - 1) / (2 * A) - 25 / (2 * D)) / 5
    assert t == pytest.approx([t1, 2.0, t3], abs=1e-12)


def test_one_vehicle_on_a_ring_takes_the_exact_kinematic_time(fleet: MakeFleet) -> None:
    env, f, done = fleet(ring(10), ["n2"])
    f.request("n5", "n9", "lot", lambda p: done.append((p, env.now_s)))
    env.run_until(10_000)
    # empty 30 m to the pick-up, hoist, loaded 40 m, lower
    expected = run_from_rest(30.0) + H + run_from_rest(40.0) + H
    assert done == [("lot", pytest.approx(expected, abs=1e-9))]
    k = f.kpis(0, 10_000)
    assert k["amhs_transport_mean_min"] * 60 == pytest.approx(expected, abs=1e-9)
    assert k["amhs_empty_travel_share"] == pytest.approx(
        run_from_rest(30.0) / (run_from_rest(30.0) + run_from_rest(40.0))
    )
    assert k["amhs_blocked_per_move_s"] == 0.0


def test_a_ring_around_twice_the_length_takes_the_cruise_difference(fleet: MakeFleet) -> None:
    env, f, done = fleet(ring(20), ["n0"])
    f.request("n0", "n19", 1, lambda p: done.append(env.now_s))
    env.run_until(10_000)
    assert done[0] == pytest.approx(2 * H + run_from_rest(190.0), abs=1e-9)


def test_two_vehicles_leave_a_section_one_headway_apart(fleet: MakeFleet) -> None:
    # a spur n5 -> s -> n0 makes n5 and n0 junctions: sections n0..n5 and n5..n0
    amhs = ring(10, extra=[("n5", "s", 3.0), ("s", "n0", 3.0)], dispatch="fifo")
    g = RailGraph(amhs)
    assert sorted(len(s) for s in g.sections) == [2, 5, 5]
    env, f, done = fleet(amhs, ["n0", "n0"])
    moves = [f.request("n0", "n8", k, lambda p: done.append((p, env.now_s))) for k in "ab"]
    env.run_until(10_000)
    t5 = H + 5 / A + (50 - 25 / (2 * A)) / V  # both reach n5 cruising, 11.25 s after the hoist
    headway = PITCH / V
    a_done = H + run_from_rest(80.0) + H
    b_done = t5 + headway + run_from_rest(30.0) + H  # stops, waits one headway, restarts
    assert done == [("a", pytest.approx(a_done, abs=1e-9)), ("b", pytest.approx(b_done, abs=1e-9))]
    assert moves[0].blocked_s == 0.0
    assert moves[1].blocked_s == pytest.approx(headway, abs=1e-9)


def test_a_full_section_stops_the_vehicle_behind_until_a_place_frees(fleet: MakeFleet) -> None:
    # the 1 m spur holds one vehicle; B wants it while A is hoisting on it
    amhs = ring(10, extra=[("n5", "s", 1.0), ("s", "n0", 20.0), ("s", "n5", 1.0)], dispatch="fifo")
    g = RailGraph(amhs)
    spur = g.section_of[g.link_ids.index("x0")]
    assert g.capacity[spur] == 1
    env, f, done = fleet(amhs, ["n5", "n5"])
    f.request("s", "n0", "a", lambda p: done.append((p, env.now_s)))  # A hoists at s
    f.request("s", "n0", "b", lambda p: done.append((p, env.now_s)))
    env.run_until(10_000)
    vp = math.sqrt(2 * A * D * 1.0 / (A + D))
    t_s = vp / A + vp / D  # 1 m from rest to rest
    a_leaves_spur = t_s + H  # A hoists at s (the spur's end), then leaves it
    assert done[0] == ("a", pytest.approx(a_leaves_spur + run_from_rest(20.0) + H, abs=1e-9))
    # B enters the spur the moment A leaves it, then hoists, then travels the same way
    assert done[1] == (
        "b",
        pytest.approx(a_leaves_spur + t_s + H + run_from_rest(20.0) + H, abs=1e-9),
    )


def test_a_far_too_small_fleet_lets_the_queue_grow_without_bound(fleet: MakeFleet) -> None:
    env, f, _ = fleet(ring(10), ["n0"])
    period = 20.0  # a move every 20 s; one move takes over 2 x 15 s of hoisting alone
    move_s = 2 * H + run_from_rest(30.0)

    def arrive(k: int) -> None:
        f.request("n0", "n3", k, lambda p: None)
        env.call_later(period, arrive, k + 1)

    env.call_later(0.0, arrive, 0)
    sizes = []
    for t in (2_000.0, 4_000.0, 8_000.0, 16_000.0):
        env.run_until(t)
        sizes.append(len(f.pending))
    assert sizes == sorted(sizes) and sizes[0] > 0
    # after the first move the vehicle also returns empty (n3 -> n0: 70 m round the ring)
    cycle = move_s + run_from_rest(70.0)
    rate = 1 / period - 1 / cycle
    assert sizes[-1] == pytest.approx(16_000 * rate, rel=0.05)


def test_a_deadlock_is_detected_reported_and_resolved(fleet: MakeFleet) -> None:
    # two 1 m sections n0 -> n1 and n1 -> n0, one place each; spurs make both ends junctions
    nodes = [{"id": n, "at_m": (float(i), 0.0)} for i, n in enumerate(["n0", "n1", "p", "q"])]
    links = [
        {"id": "a", "from": "n0", "to": "n1", "length_m": 1.0, "max_speed_m_s": V},
        {"id": "b", "from": "n1", "to": "n0", "length_m": 1.0, "max_speed_m_s": V},
        {"id": "c", "from": "n0", "to": "p", "length_m": 5.0, "max_speed_m_s": V},
        {"id": "d", "from": "p", "to": "n0", "length_m": 5.0, "max_speed_m_s": V},
        {"id": "e", "from": "n1", "to": "q", "length_m": 5.0, "max_speed_m_s": V},
        {"id": "f", "from": "q", "to": "n1", "length_m": 5.0, "max_speed_m_s": V},
    ]
    amhs = Amhs(nodes=nodes, links=links, handling_s=H, dispatch="fifo")
    env, f, done = fleet(amhs, ["n0", "n1"])
    # vehicle 0 drives n0 -> n1 (holding a), hoists, then needs b; vehicle 1 the mirror image
    f.request("n1", "n0", "x", lambda p: done.append(p))
    f.request("n0", "n1", "y", lambda p: done.append(p))
    env.run_until(1_000)
    assert f.deadlock_count == 1
    t, sections = f.deadlocks[0]
    assert sorted(sections) == ["a", "b"] and t == pytest.approx(H + f.graph.run_time_s([0]))
    assert sorted(done) == ["x", "y"]  # both delivered: nothing hangs


def test_positions_follow_the_rail(fleet: MakeFleet) -> None:
    env, f, _ = fleet(ring(10), ["n0"])
    f.request("n0", "n5", 1, lambda p: None)
    env.run_until(H + 2.5 + 3.75 / V)  # hoisted, accelerated over 6.25 m, cruised 3.75 m
    ((vid, x, y, loaded, state),) = f.positions()
    assert (vid, loaded, state) == (0, True, "loaded")
    assert x == pytest.approx(10.0, abs=1e-6) and y == 0.0


def test_section_entries_are_counted_per_day(fleet: MakeFleet) -> None:
    # sections: A = n0..n5, B = n5..n0, the spur; one vehicle parked at n0
    amhs = ring(10, extra=[("n5", "s", 3.0), ("s", "n0", 3.0)], dispatch="fifo")
    env, f, _ = fleet(amhs, ["n0"])
    g = f.graph
    a, b, spur = (g.section_of[g.link_ids.index(k)] for k in ("l0", "l5", "x0"))
    f.request("n0", "n8", 1, lambda p: None)  # loaded n0 -> n8: enters A, then B
    env.run_until(1_000)
    day0 = f.record().entries
    assert day0.shape == (1, 3)
    assert (day0[0, a], day0[0, b], day0[0, spur]) == (1, 1, 0)
    env.run_until(86_400 + 100)
    # day 1: empty n8 -> n0 (enters B from the parking spur), loaded n0 -> n8 (A, then B)
    f.request("n0", "n8", 2, lambda p: None)
    env.run_until(86_400 + 1_000)
    e = f.record().entries
    assert e.shape == (2, 3)
    assert (e[0, a], e[0, b], e[0, spur]) == (1, 1, 0)  # day 0 unchanged
    assert (e[1, a], e[1, b], e[1, spur]) == (1, 2, 0)


def test_link_load_gives_each_link_its_sections_entries_and_blocked_time(
    fleet: MakeFleet,
) -> None:
    # the headway case: B stands one headway at the end of section n0..n5, behind A
    amhs = ring(10, extra=[("n5", "s", 3.0), ("s", "n0", 3.0)], dispatch="fifo")
    env, f, done = fleet(amhs, ["n0", "n0"])  # both fleets
    g = f.graph
    moves = [f.request("n0", "n8", k, lambda p: done.append(p)) for k in "ab"]
    env.run_until(10_000)
    entries, blocked = f.link_load()
    assert entries.shape == blocked.shape == (len(amhs.links),)
    a, b = g.section_of[g.link_ids.index("l0")], g.section_of[g.link_ids.index("l5")]
    for k, lk in enumerate(g.link_ids):
        sec = g.section_of[k]
        # both vehicles ran n0 -> n8 loaded: two entries into A and B, none into the spur
        assert entries[k] == (2 if sec in (a, b) else 0), lk
        assert blocked[k] == pytest.approx(PITCH / V if sec == a else 0.0, abs=1e-12), lk
    # the per-section sums are the moves' own blocked time
    per_section = {g.section_of[k]: blocked[k] for k in range(len(g.link_ids))}
    assert sum(per_section.values()) == pytest.approx(sum(m.blocked_s for m in moves), abs=1e-12)


def test_blocked_time_is_kept_per_day_for_the_kpi_window(fleet: MakeFleet) -> None:
    # the headway case on day 0 (B stands one headway), one unhindered move on day 1: a KPI
    # window of day 1 alone (as after a warm-up) sees no blocked time
    day = 86_400.0
    amhs = ring(10, extra=[("n5", "s", 3.0), ("s", "n0", 3.0)], dispatch="fifo")
    env, f, done = fleet(amhs, ["n0", "n0"])
    for k in "ab":
        f.request("n0", "n8", k, lambda p: done.append(p))
    env.call_at(day + 100.0, lambda _: f.request("n0", "n8", "c", lambda p: done.append(p)), None)
    env.run_until(day + 10_000.0)
    assert done == ["a", "b", "c"]
    rec = f.record()
    assert rec.blocked_days is not None and rec.blocked is not None
    assert rec.blocked_days.shape == rec.entries.shape == (2, len(f.graph.sections))
    assert rec.blocked_days.sum(axis=0) == pytest.approx(rec.blocked, abs=1e-12)
    assert rec.blocked_days[0].sum() == pytest.approx(PITCH / V, abs=1e-12)
    assert rec.blocked_days[1].sum() == 0.0
    both = rec.kpis(0.0, 2 * day)["amhs_most_blocked_section_1_s_per_h"]
    assert both == pytest.approx(PITCH / V / 48.0, rel=1e-12)
    assert rec.kpis(day, 2 * day)["amhs_most_blocked_section_1_s_per_h"] == 0.0
    table = rec.link_table(day, 2 * day)
    assert max(table["blocked_s_per_h"]) == 0.0
    assert max(rec.link_table(0.0, 2 * day)["blocked_s_per_h"]) == pytest.approx(both)
