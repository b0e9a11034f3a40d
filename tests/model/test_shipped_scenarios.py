"""The shipped scenarios of the demo fab validate and are laid out like the shipped plants."""

from __future__ import annotations

from pathlib import Path

import pytest

from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.model.layout import footprint_polygon
from factory_twin.model.scenario import load_scenario

PLANTS = Path(__file__).resolve().parents[2] / "plant_configs"
SCENARIOS = sorted(PLANTS.glob("*.scenario.yaml"))
DEMO_SCENARIOS = [p for p in SCENARIOS if p.name.startswith("demo_fab_")]


def test_both_scenarios_are_shipped():
    assert {p.name for p in SCENARIOS} >= {
        "demo_fab_fourth_scanner.scenario.yaml",
        "demo_fab_etch_next_to_litho.scenario.yaml",
    }


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_shipped_scenario_applies_cleanly_to_its_base(path):
    doc = load_scenario(path)
    assert (PLANTS / doc.spec.base).is_file()
    assert doc.spec.name and doc.spec.notes
    assert doc.problems() == []


@pytest.fixture(scope="module", params=DEMO_SCENARIOS, ids=lambda p: p.name)
def applied(request) -> s.PlantSpec:
    doc = load_scenario(request.param)
    assert doc.spec.base == "demo_fab.yaml"
    assert doc.spec.name and doc.spec.notes
    assert doc.problems() == []
    return doc.apply()


def test_every_tool_lies_inside_its_bay(applied):
    for e in applied.equipment:
        bay = applied.bay(e.bay)
        t = applied.equipment_type(e.type)
        x0, y0 = bay.origin_m
        x1, y1 = x0 + bay.size_m[0], y0 + bay.size_m[1]
        for x, y in footprint_polygon(t.shape.footprint_m(), e.position_m, e.rotation_deg):
            assert x0 - 1e-6 <= x <= x1 + 1e-6, e.id
            assert y0 - 1e-6 <= y <= y1 + 1e-6, e.id


def test_every_tool_is_bound_and_maintained(applied):
    for e in applied.equipment:
        assert e.opcua is not None and e.opcua.endpoint == "simulator", e.id
        assert e.reliability is not None and e.pm, e.id


def test_fourth_scanner():
    base = load_plant(PLANTS / "demo_fab.yaml").spec
    plant = load_scenario(PLANTS / "demo_fab_fourth_scanner.scenario.yaml").apply()
    assert [e.id for e in plant.groups()["SCAN"]] == ["SCAN-01", "SCAN-02", "SCAN-03", "SCAN-04"]
    new, like = plant.tool("SCAN-04"), base.tool("SCAN-01")
    assert (new.type, new.bay, new.reliability, new.pm) == (
        like.type,
        "litho",
        like.reliability,
        like.pm,
    )
    assert plant.equipment[: len(base.equipment)] == base.equipment


def test_etch_next_to_litho_brings_the_etchers_closer():
    base = load_plant(PLANTS / "demo_fab.yaml").spec
    plant = load_scenario(PLANTS / "demo_fab_etch_next_to_litho.scenario.yaml").apply()
    litho_x = base.bay("litho").origin_m[0]

    def gap(spec: s.PlantSpec) -> float:
        return sum(litho_x - e.position_m[0] for e in spec.equipment if e.type == "etch_mainframe")

    assert gap(plant) < gap(base) - 20  # ETCH-01 and ETCH-03 crossed their bay
    assert {e.id for e in plant.equipment} == {e.id for e in base.equipment}
    assert plant.routes == base.routes and plant.tool_groups == base.tool_groups
