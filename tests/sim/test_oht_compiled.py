"""The compiled OHT fleet (sim/oht_fast.py, sim/oht_core.py) against the pure-Python reference.

The compiled core keys its events from the engine's own sequence, so its events order among
the engine's exactly as the Python fleet's entries do, and its kinematic profile repeats the
reference's arithmetic operation by operation: the two must give the *same* deliveries, times,
KPIs, section entries, deadlocks and positions, to the last bit (no tolerance). The hand-checked
cases of tests/sim/test_oht.py run on both fleets; here a random network with random demand
(tight sections, blocking and deadlocks) and a few hours of HVLM on its SMAT2022 layout.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from factory_twin.model.amhs import Amhs
from factory_twin.model.config import load_plant
from factory_twin.sim import oht_fast, oht_state
from factory_twin.sim.engine import Engine
from factory_twin.sim.oht import OhtFleet
from factory_twin.sim.oht_fast import CompiledOhtFleet, Fleet, new_fleet
from factory_twin.sim.oht_graph import RailGraph, profile_array
from factory_twin.sim.runner import RunOptions, run_replication

PLANT = Path(__file__).resolve().parents[2] / "plant_configs" / "smt2020_hvlm_smat2022.yaml"


def random_network(seed: int, n: int = 24, chords: int = 30) -> Amhs:
    """A one-way ring of ``n`` nodes with random chords: short links, mixed speed limits."""
    rng = random.Random(seed)
    nodes = [{"id": f"n{i}", "at_m": (rng.uniform(0, 50), rng.uniform(0, 50))} for i in range(n)]
    links = []
    pairs = [(i, (i + 1) % n) for i in range(n)]
    while len(pairs) < n + chords:
        a, b = rng.randrange(n), rng.randrange(n)
        if a != b and (a, b) not in pairs:
            pairs.append((a, b))
    for k, (a, b) in enumerate(pairs):
        links.append(
            {
                "id": f"l{k}",
                "from": f"n{a}",
                "to": f"n{b}",
                "length_m": rng.choice([0.8, 1.5, 3.0]) if k % 3 else rng.uniform(2.0, 25.0),
                "max_speed_m_s": rng.choice([1.0, 3.0, 5.0]),
            }
        )
    return Amhs(nodes=nodes, links=links, handling_s=7.0)


def drive(
    fleet_cls: type[Fleet],
    amhs: Amhs,
    seed: int,
    vehicles: int,
    horizon: float,
    start: float = 0.0,
) -> dict[str, Any]:
    """Random requests (Poisson, random ends) from ``start`` on into a fleet; everything it
    shows over time."""
    env = Engine()
    starts = [n.id for n in amhs.nodes[:vehicles]]
    f = fleet_cls(amhs, env, start_nodes=starts, fleet=vehicles)
    rng = random.Random(seed)
    ids = [n.id for n in amhs.nodes]
    done: list[tuple[Any, float]] = []
    moves = []

    def arrive(k: int) -> None:
        a, b = rng.choice(ids), rng.choice(ids)
        moves.append(f.request(a, b, k, lambda p: done.append((p, env.now_s))))
        env.call_later(rng.expovariate(1 / 9.0), arrive, k + 1)

    env.call_later(start, arrive, 0)
    seen = []
    t = start
    while t < horizon:
        t += 37.3
        env.run_until(t)
        seen.append((f.positions(), f.vehicle_rows(), len(f.pending)))
    rec = f.record()
    delivered = {p for p, _ in done}
    return {
        "done": done,
        # the compiled fleet fills a move's pick-up, loading, drop and blocked times when the
        # lot is set down (the reference as they happen): compare the delivered moves
        "moves": [
            (m.t_assign, m.t_pick, m.t_loaded, m.t_drop, m.blocked_s)
            for m in moves[: len(done)]
            if m.payload in delivered
        ],
        "seen": seen,
        "kpis": f.kpis(0, horizon),
        "days": rec.days.tolist(),
        "hist": rec.hist.tolist(),
        "entries": rec.entries.tolist(),
        "blocked_days": rec.blocked_days.tolist() if rec.blocked_days is not None else None,
        "deadlocks": (f.deadlock_count, f.deadlocks),
        "link_load": f.link_load(),
        "events": env.events_scheduled(),
    }


@pytest.mark.parametrize("dispatch", ["nearest_idle", "fifo"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_network_and_demand_give_the_same_results(seed: int, dispatch: str) -> None:
    amhs = random_network(seed).model_copy(update={"dispatch": dispatch})
    # 12 vehicles on ~50 short sections: blocking everywhere, for three hours across midnight
    # (the per-day sums roll over)
    a = drive(OhtFleet, amhs, seed, 12, 90_000.0, start=79_200.0)
    b = drive(CompiledOhtFleet, amhs, seed, 12, 90_000.0, start=79_200.0)
    assert len(a["done"]) > 800 and len(a["days"]) == 2
    assert sum(m[4] for m in a["moves"]) > 0  # vehicles did block each other
    for key in a:
        np.testing.assert_equal(b[key], a[key], err_msg=key)  # NaN equals NaN here


def test_deadlocks_come_out_the_same() -> None:
    # a dense net of 1-place sections and many vehicles: deadlocks happen and are resolved
    amhs = random_network(8, n=8, chords=10)
    a = drive(OhtFleet, amhs, 8, 8, 10_000)
    b = drive(CompiledOhtFleet, amhs, 8, 8, 10_000)
    assert a["deadlocks"][0] > 0
    np.testing.assert_equal(b, a)


def test_cache_cleared_and_grown_under_driving_vehicles_gives_the_same_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # vehicles drive the cached paths in place: a tiny cache that grows (moving the arrays)
    # and is emptied over and over while vehicles are on their way must change nothing
    monkeypatch.setattr(oht_state, "CACHE_START", (8, 64, 64))
    monkeypatch.setattr(oht_fast, "_CACHE", 25)
    seen = {"clear": 0, "regrow": 0, "driving at a clear": 0, "driving at a regrow": 0}
    clear, regrow = oht_state.clear_cache, oht_state.regrow

    def driving(i_arr: np.ndarray) -> int:
        """Vehicles on their way along a path in the cache (not in their own slots)."""
        paths = i_arr[i_arr[oht_state.O_VPATH] : i_arr[oht_state.O_VPATH] + 12]
        return int((paths >= i_arr[oht_state.H_SI]).sum())

    def counted_clear(i_arr: np.ndarray, f_arr: np.ndarray) -> None:
        seen["clear"] += 1
        seen["driving at a clear"] += driving(i_arr)
        clear(i_arr, f_arr)

    def counted_regrow(
        i_arr: np.ndarray, f_arr: np.ndarray, *size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        seen["regrow"] += 1
        if i_arr[oht_state.H_TCAP]:  # not the fleet's first (empty) cache
            seen["driving at a regrow"] += driving(i_arr)
        return regrow(i_arr, f_arr, *size)  # type: ignore[no-any-return]

    monkeypatch.setattr(oht_state, "clear_cache", counted_clear)
    monkeypatch.setattr(oht_state, "regrow", counted_regrow)
    amhs = random_network(4)
    a = drive(OhtFleet, amhs, 4, 12, 90_000.0, start=79_200.0)
    b = drive(CompiledOhtFleet, amhs, 4, 12, 90_000.0, start=79_200.0)
    assert seen["clear"] > 20 and seen["regrow"] > 3, seen
    assert seen["driving at a clear"] > 50 and seen["driving at a regrow"] > 3, seen
    assert len(a["done"]) > 800
    for key in a:
        np.testing.assert_equal(b[key], a[key], err_msg=key)


def test_packed_paths_are_the_graphs_pieces() -> None:
    spec = load_plant(PLANT).spec
    assert spec.amhs is not None
    g = RailGraph(spec.amhs)
    f = CompiledOhtFleet(spec.amhs, Engine(), graph=g, fleet=3)
    veh = spec.amhs.vehicle
    rng = random.Random(0)
    for _ in range(300):
        a, b = rng.randrange(len(g.node_ids)), rng.randrange(len(g.node_ids))
        if a == b:
            continue
        pieces = g.pieces(g.path_links(a, b))
        want = oht_state.path_array(
            [p.section for p in pieces], [p.end for p in pieces], [p.links for p in pieces]
        )
        f._cache_path(a, b)
        at = oht_state._path_at(f._i, a, b)
        npc, nl = f._i[at], f._i[at + 1]
        assert np.array_equal(f._i[at : at + 2 + npc + nl], want)
        links = g.path_links(a, b)
        ref = np.cumsum(
            profile_array(
                [g.length[k] for k in links],
                [g.vmax[k] for k in links],
                veh.accel_m_s2,
                veh.decel_m_s2,
            )
        )
        o = f._i[at - 1]  # the profile: each piece's end time, then each link's
        assert np.array_equal(f._f[o + npc : o + npc + nl], ref)  # bit for bit
        upto = want[2 : 2 + npc] >> (2 * oht_state.PIECE_BITS)
        assert np.array_equal(f._f[o : o + npc], ref[upto - 1])


def test_amhs_engine_picks_the_fleet() -> None:
    spec = load_plant(PLANT).spec
    assert spec.amhs is not None and spec.amhs.engine == "compiled"
    assert isinstance(new_fleet(spec.amhs, Engine(), fleet=2), CompiledOhtFleet)
    python = spec.amhs.model_copy(update={"engine": "python"})
    assert isinstance(new_fleet(python, Engine(), fleet=2), OhtFleet)


def test_hvlm_hours_give_the_same_run() -> None:
    spec = load_plant(PLANT).spec
    assert spec.amhs is not None
    opts = RunOptions(days=0.25, warmup_days=0.0)
    runs = [
        run_replication(
            spec.model_copy(update={"amhs": spec.amhs.model_copy(update={"engine": e})}), opts, 0
        )
        for e in ("python", "compiled")
    ]
    a, b = runs
    assert a.amhs is not None and b.amhs is not None
    assert a.kpis["amhs_moves_per_h"] > 500
    assert a.events == b.events
    np.testing.assert_equal(b.kpis, a.kpis)
    for field in ("days", "hist", "entries", "blocked_days"):
        assert np.array_equal(getattr(a.amhs, field), getattr(b.amhs, field)), field
