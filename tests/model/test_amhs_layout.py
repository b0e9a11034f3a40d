"""OHT rails generated from the layout: a loop per bay's rows, a spine, every port reachable."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from factory_twin.model import schema as s
from factory_twin.model.amhs import check_amhs
from factory_twin.model.amhs_layout import (
    ROW_TOLERANCE_M,
    generated_amhs,
    plant_rails,
    tool_ports,
)
from factory_twin.model.config import load_plant

REPO = Path(__file__).resolve().parents[2]
PLANTS = REPO / "plant_configs"
OTHER_KINDS = (".scenario.yaml", ".experiment.yaml", ".study.yaml")
SHIPPED = sorted(p for p in PLANTS.glob("*.yaml") if not p.name.endswith(OTHER_KINDS))
MINI = REPO / "tests" / "data" / "mini_plant.yaml"


def _strong_components(amhs) -> int:
    """Number of strongly connected components (Kosaraju, written out: no library to trust)."""
    ids = [n.id for n in amhs.nodes]
    succ: dict[str, list[str]] = {i: [] for i in ids}
    pred: dict[str, list[str]] = {i: [] for i in ids}
    for lk in amhs.links:
        succ[lk.from_].append(lk.to)
        pred[lk.to].append(lk.from_)
    order: list[str] = []
    seen: set[str] = set()
    for root in ids:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(succ[root]))]
        while stack:
            node, it = stack[-1]
            nxt = next((m for m in it if m not in seen), None)
            if nxt is None:
                stack.pop()
                order.append(node)
            else:
                seen.add(nxt)
                stack.append((nxt, iter(succ[nxt])))
    comp: dict[str, int] = {}
    count = 0
    for root in reversed(order):
        if root in comp:
            continue
        comp[root] = count
        todo = [root]
        while todo:
            for m in pred[todo.pop()]:
                if m not in comp:
                    comp[m] = count
                    todo.append(m)
        count += 1
    return count


def _check_network(spec: s.PlantSpec) -> None:
    am = generated_amhs(spec)
    assert am.model == "simple"  # the simulation keeps its transport times
    assert _strong_components(am) == 1
    tools = {e.id for e in spec.equipment}
    # the same checks as a plant file's amhs section, as if its fleet ran on these rails
    assert check_amhs(am.model_copy(update={"model": "oht"}), tools) == []
    assert {p.tool for p in am.ports} == tools
    nodes = {n.id: n for n in am.nodes}
    bay_of = {e.id: e.bay for e in spec.equipment}
    loop_from = {(lk.from_, lk.bay) for lk in am.links if lk.bay and not lk.curve}
    at = {p.tool: p.at for p in tool_ports(spec)}
    for p in am.ports:
        node = nodes[p.node]
        # on a loop of its own bay: the node's bay, and a one-way loop link of that bay leaves it
        assert node.bay == bay_of[p.tool]
        assert (p.node, node.bay) in loop_from
        # over the tool's load port (the rail runs over its row, ports within a row tolerance)
        assert math.dist(node.at_m, at[p.tool]) <= ROW_TOLERANCE_M, p.tool


@pytest.mark.parametrize("path", [*SHIPPED, MINI], ids=lambda p: p.name)
def test_rails_for_every_shipped_plant(path: Path):
    spec = load_plant(path).spec
    if spec.amhs is not None and spec.amhs.links:
        assert plant_rails(spec) is spec.amhs  # a plant file's own rails are drawn as they are
        spec = spec.model_copy(update={"amhs": None})
    _check_network(spec)


def test_loops_are_one_way_and_connections_two_way():
    spec = load_plant(PLANTS / "demo_fab.yaml").spec
    am = generated_amhs(spec)
    pairs = {(lk.from_, lk.to) for lk in am.links}
    loop = [lk for lk in am.links if lk.bay and not lk.curve]
    assert loop and all((lk.to, lk.from_) not in pairs for lk in loop)
    rest = [lk for lk in am.links if not (lk.bay and not lk.curve)]
    assert rest and all((lk.to, lk.from_) in pairs for lk in rest)
    # the demo fab's two rows of bays are joined by one spine along the central aisle
    spine = [n for n in am.nodes if n.id.startswith("S")]
    assert spine and {n.at_m[1] for n in spine} == {25.0}
    assert not any(n.id.startswith("S2") for n in am.nodes)


def test_deterministic():
    spec = load_plant(PLANTS / "led_line.yaml").spec
    assert generated_amhs(spec).model_dump() == generated_amhs(spec).model_dump()


def test_tools_outside_their_bays_and_a_single_bay():
    spec = load_plant(PLANTS / "demo_fab.yaml").spec
    # every tool in one bay, scattered over the floor: rows and loops come from the ports
    one = spec.model_copy(
        update={"equipment": [e.model_copy(update={"bay": "etch"}) for e in spec.equipment]}
    )
    _check_network(one)
    # tools outside their bay's rectangle (moved 30 m to the right)
    moved = spec.model_copy(
        update={
            "equipment": [
                e.model_copy(update={"position_m": (e.position_m[0] + 30, e.position_m[1])})
                for e in spec.equipment
            ]
        }
    )
    _check_network(moved)


def test_turned_tools_and_a_lone_tool():
    spec = load_plant(MINI).spec
    eq = spec.equipment
    turned = [
        eq[0].model_copy(update={"rotation_deg": 90.0}),
        eq[1].model_copy(update={"rotation_deg": 37.0}),
        eq[2],
    ]
    _check_network(spec.model_copy(update={"equipment": turned}))
    lone = spec.model_copy(update={"equipment": [eq[0]]})
    am = generated_amhs(lone)
    assert _strong_components(am) == 1 and len(am.ports) == 1
