"""Lots in transport ride the OHT rails between the right tools, one vehicle over each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from factory_twin.app.plant_state import PlantState
from factory_twin.model.amhs_layout import plant_rails, tool_ports
from factory_twin.model.config import load_plant
from factory_twin.model.events import LotMove
from factory_twin.sim.live import LiveSimulation
from factory_twin.sim.oht_graph import RailGraph

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "plant_configs" / "demo_fab.yaml"
LOOP = REPO / "tests" / "data" / "amhs_loop_plant.yaml"


@pytest.fixture(scope="module")
def demo():
    spec = load_plant(DEMO).spec
    sim = LiveSimulation(spec, seed=1, tag_period_s=3600.0)
    moves = [e for e in sim.advance(6 * 3600.0) if isinstance(e, LotMove)]
    moves.sort(key=lambda m: m.depart_s)
    return spec, moves


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    ab = b - a
    u = 0.0 if not ab.any() else float(np.clip(np.dot(p - a, ab) / np.dot(ab, ab), 0.0, 1.0))
    return float(np.linalg.norm(p - (a + u * ab)))


def _state_at(spec, moves: list[LotMove], t: float) -> PlantState:
    """A plant state fed the moves that started by ``t``, in batches as the app gets them."""
    st = PlantState(spec)
    done = [m for m in moves if m.depart_s <= t]
    for i in range(0, len(done), 50):
        st.apply(done[i : i + 50])
    return st


def test_carriers_ride_the_rails_between_the_right_tools(demo):
    spec, moves = demo
    rails = plant_rails(spec)
    graph = RailGraph(rails)  # the simulator's routing, built apart from the view's
    node_of = {p.tool: graph.node_index[p.node] for p in rails.ports}
    port_at = {p.tool: np.array(p.at) for p in tool_ports(spec)}
    zc = spec.transport.carrier_height_m
    checked = hoisting = 0
    for t in np.linspace(1.0, 6.0, 61)[1:] * 3600.0 + 7.3:
        st = _state_at(spec, moves, t)
        pos, _, ids = st.lot_positions(t)
        where = dict(zip(ids, pos, strict=True))
        moving = {
            lot: mv
            for lot, mv in st.lot_moves.items()
            if mv.from_equipment and mv.to_equipment and mv.depart_s < t < mv.arrive_s
        }
        vehicles = st.carrying_vehicles(t)
        # one vehicle per lot in transport, each right over its carrier
        assert len(vehicles) == len(moving)
        carriers = np.array([where[lot][:2] for lot in moving]).reshape(-1, 2)
        assert sorted(map(tuple, vehicles.round(9))) == sorted(map(tuple, carriers.round(9)))
        for lot, mv in moving.items():
            p = where[lot]
            a, b = mv.from_equipment, mv.to_equipment
            if p[2] < zc - 1e-9:  # on a hoist: over the port of one of its two tools
                hoisting += 1
                assert p[2] >= 0.9 - 1e-9
                d = min(np.linalg.norm(p[:2] - port_at[a]), np.linalg.norm(p[:2] - port_at[b]))
                assert d < 1e-9, (lot, a, b, p)
                continue
            # at the rail: on a link of the fastest path between the two tools' port nodes
            # (or on the short step between a port and the rail over it)
            segs = [(graph.node_xy[graph.frm[k]], graph.node_xy[graph.to[k]]) for k in
                    graph.path_links(node_of[a], node_of[b])]  # fmt: skip
            segs += [(port_at[a], graph.node_xy[node_of[a]])]
            segs += [(graph.node_xy[node_of[b]], port_at[b])]
            d = min(_segment_distance(p[:2], s0, s1) for s0, s1 in segs)
            assert d < 1e-6, (lot, a, b, p)
            checked += 1
    assert checked >= 20 and hoisting >= 3  # the run has enough moves in flight


def test_a_move_starts_at_its_first_tool_and_ends_at_the_second(demo):
    spec, moves = demo
    port_at = {p.tool: np.array(p.at) for p in tool_ports(spec)}
    mv = next(m for m in moves if m.from_equipment and m.to_equipment and m.arrive_s > m.depart_s)
    st = PlantState(spec)
    st.apply([mv])
    dur = mv.arrive_s - mv.depart_s
    start, _, _ = st.lot_positions(mv.depart_s + 1e-6 * dur)
    end, _, _ = st.lot_positions(mv.arrive_s - 1e-6 * dur)
    assert np.linalg.norm(start[0, :2] - port_at[mv.from_equipment]) < 1e-6
    assert np.linalg.norm(end[0, :2] - port_at[mv.to_equipment]) < 1e-6
    mid, _, _ = st.lot_positions(mv.depart_s + dur / 2)  # half-way: up at the rail
    assert mid[0, 2] == pytest.approx(spec.transport.carrier_height_m)
    after, _, _ = st.lot_positions(mv.arrive_s + 1.0)  # then on the second tool's load port
    assert after[0, 2] == pytest.approx(0.9)
    assert st.carrying_vehicles(mv.arrive_s + 1.0).shape == (0, 2)


def test_a_plant_with_its_own_rails_uses_them():
    spec = load_plant(LOOP).spec
    st = PlantState(spec)
    assert st.routes is not None and st.routes.amhs is spec.amhs
    a, b = spec.amhs.ports[0].tool, spec.amhs.ports[-1].tool
    st.apply([LotMove("L1", spec.products[0].id, a, b, 0.0, 100.0)])
    pos, _, _ = st.lot_positions(50.0)
    xy = {n.id: n.at_m for n in spec.amhs.nodes}
    d = min(
        _segment_distance(pos[0, :2], np.array(xy[lk.from_]), np.array(xy[lk.to]))
        for lk in spec.amhs.links
    )
    assert d < 1e-6 and len(st.carrying_vehicles(50.0)) == 1


def test_lots_wait_on_load_ports_then_in_front(demo):
    spec, _ = demo
    tool = spec.equipment[0]
    ports = next(p for p in tool_ports(spec) if p.tool == tool.id)
    st = PlantState(spec)
    n = len(ports.slots) + 2
    st.apply([LotMove(f"L{i}", "", spec.equipment[1].id, tool.id, 0.0, 10.0) for i in range(n)])
    pos, _, _ = st.lot_positions(20.0)
    on_ports = pos[: len(ports.slots)]
    assert np.allclose(on_ports[:, 2], 0.9)
    assert sorted(map(tuple, on_ports[:, :2].round(6))) == sorted(
        map(tuple, np.array(ports.slots).round(6))
    )
    queued = pos[len(ports.slots) :]
    assert np.all(queued[:, 2] == 0.0)  # the rest wait on the floor in front of the tool
    ahead = (queued[:, :2] - np.array(ports.at)) @ np.array(ports.facing)
    assert np.all(ahead > 0.5)
