"""The shipped plant files load, validate, are laid out sensibly and have what the app needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.model.config_checks import alarm_code_problem
from factory_twin.model.layout import footprint_polygon

PLANTS = Path(__file__).resolve().parents[2] / "plant_configs"
# plant files only: scenarios, experiments and studies beside them have their own loaders and tests
OTHER_KINDS = (".scenario.yaml", ".experiment.yaml", ".study.yaml")
SHIPPED = sorted(p for p in PLANTS.glob("*.yaml") if not p.name.endswith(OTHER_KINDS))
OURS = ["demo_fab.yaml", "led_line.yaml"]  # the hand-written plants (not the SMT2020 import)


@pytest.fixture(scope="module", params=OURS)
def plant(request) -> s.PlantSpec:
    return load_plant(PLANTS / request.param).spec


def test_both_plants_are_shipped():
    assert {p.name for p in SHIPPED} >= {"demo_fab.yaml", "led_line.yaml"}


def test_cli_validates_every_shipped_plant():
    proc = subprocess.run(
        [sys.executable, "-m", "factory_twin", "validate", *map(str, SHIPPED)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(": ok (") == len(SHIPPED)


def test_every_tool_lies_inside_its_bay(plant):
    for e in plant.equipment:
        bay = plant.bay(e.bay)
        t = plant.equipment_type(e.type)
        x0, y0 = bay.origin_m
        x1, y1 = x0 + bay.size_m[0], y0 + bay.size_m[1]
        for x, y in footprint_polygon(t.shape.footprint_m(), e.position_m, e.rotation_deg):
            assert x0 - 1e-6 <= x <= x1 + 1e-6, e.id
            assert y0 - 1e-6 <= y <= y1 + 1e-6, e.id


def test_bays_do_not_overlap(plant):
    bays = plant.site.bays
    for i, a in enumerate(bays):
        for b in bays[i + 1 :]:
            sep_x = (
                a.origin_m[0] + a.size_m[0] <= b.origin_m[0]
                or b.origin_m[0] + b.size_m[0] <= a.origin_m[0]
            )
            sep_y = (
                a.origin_m[1] + a.size_m[1] <= b.origin_m[1]
                or b.origin_m[1] + b.size_m[1] <= a.origin_m[1]
            )
            assert sep_x or sep_y, (a.id, b.id)


def test_every_tool_is_bound_to_the_simulator(plant):
    assert [ep.id for ep in plant.endpoints] == ["simulator"]
    assert plant.endpoints[0].url == "opc.tcp://127.0.0.1:4840/factory_twin/"
    for e in plant.equipment:
        assert e.opcua is not None and e.opcua.endpoint == "simulator", e.id
        assert e.opcua.tags == {}, e.id
        assert e.reliability is not None, e.id
        assert e.pm, e.id


def test_equipment_types_are_rich(plant):
    for t in plant.equipment_types:
        assert 3 <= len(t.tags) <= 6, t.id
        assert len(t.shape.parts) >= 2, t.id
        assert t.components, t.id
        parts = {p.name for p in t.shape.parts}
        for c in t.components:
            assert c.part in parts, (t.id, c.name)
        for tag in t.tags:
            assert tag.unit, (t.id, tag.name)
            assert tag.normal_range is not None, (t.id, tag.name)
            assert tag.idle_value is not None, (t.id, tag.name)


def test_idle_values_raise_no_alarm(plant):
    # An idle tool must not sit in alarm: idle values lie inside the alarm limits.
    for t in plant.equipment_types:
        for tag in t.tags:
            if tag.alarms is None or tag.idle_value is None:
                continue
            lo = [v for v in (tag.alarms.lolo, tag.alarms.lo) if v is not None]
            hi = [v for v in (tag.alarms.hi, tag.alarms.hihi) if v is not None]
            assert all(tag.idle_value > v for v in lo), (t.id, tag.name)
            assert all(tag.idle_value < v for v in hi), (t.id, tag.name)


def test_normal_ranges_raise_no_alarm(plant):
    for t in plant.equipment_types:
        for tag in t.tags:
            if tag.alarms is None or tag.normal_range is None:
                continue
            low, high = tag.normal_range
            for v in (tag.alarms.lolo, tag.alarms.lo):
                assert v is None or v < low, (t.id, tag.name)
            for v in (tag.alarms.hi, tag.alarms.hihi):
                assert v is None or v > high, (t.id, tag.name)


def test_procedures_are_complete(plant):
    assert len(plant.procedures) >= 2
    for proc in plant.procedures:
        t = plant.equipment_type(proc.equipment_type)
        assert proc.alarm_codes
        for code in proc.alarm_codes:
            assert alarm_code_problem(t, code) is None
        assert any(st.safety for st in proc.steps), proc.id
        assert any(st.acceptance for st in proc.steps), proc.id


def test_demo_fab_shape():
    spec = load_plant(PLANTS / "demo_fab.yaml").spec
    assert 40 <= len(spec.equipment) <= 60
    assert 6 <= len(spec.site.bays) <= 8
    kinds = {t.kind for t in spec.equipment_types}
    assert kinds >= {
        s.EquipmentKind.FURNACE,
        s.EquipmentKind.LITHO_SCANNER,
        s.EquipmentKind.LITHO_TRACK,
        s.EquipmentKind.DRY_ETCH,
        s.EquipmentKind.WET_BENCH,
        s.EquipmentKind.CVD,
        s.EquipmentKind.PVD,
        s.EquipmentKind.IMPLANTER,
        s.EquipmentKind.CMP,
        s.EquipmentKind.METROLOGY,
    }
    furnaces = [t for t in spec.equipment_types if t.kind == s.EquipmentKind.FURNACE]
    assert all(t.batch == s.BatchSpec(min_wafers=50, max_wafers=150) for t in furnaces)
    assert len(spec.products) == 2
    for p in spec.products:
        route = spec.route(p.route)
        assert len(route.steps) >= 30
        assert sum(st.tool_group == "SCAN" for st in route.steps) >= 4  # reentrant litho
        assert any(st.queue_time_limit for st in route.steps)
        assert any(st.rework for st in route.steps)
        assert any(st.sample_pct < 100 for st in route.steps)
        assert {st.per for st in route.steps} == {"lot", "wafer", "batch"}
        assert p.wafers_per_lot == 25
        assert p.release.mode == "rate" and p.release.interarrival.dist == "exponential"
        assert p.due_after_s
    assert spec.transport.kind == "ohs"
    assert spec.tool_group("SCAN").dispatch == s.DispatchRule.SETUP_AVOID
    assert spec.tool_group("SCAN").min_run_lots > 1
    assert len({g.dispatch for g in spec.tool_groups}) >= 4
    assert len(spec.procedures) >= 4
    assert len({p.equipment_type for p in spec.procedures}) >= 4
    assert all(4 <= len(p.steps) <= 8 for p in spec.procedures)
    assert {pm.basis for e in spec.equipment for pm in e.pm} == {"calendar", "wafers"}
    assert any(pm.qualification for e in spec.equipment for pm in e.pm)
    assert spec.drills


def test_led_line_shape():
    spec = load_plant(PLANTS / "led_line.yaml").spec
    kinds = {t.kind for t in spec.equipment_types}
    assert kinds >= {
        s.EquipmentKind.MOCVD,
        s.EquipmentKind.METROLOGY,
        s.EquipmentKind.LITHO_SCANNER,
        s.EquipmentKind.DRY_ETCH,
        s.EquipmentKind.EBEAM_EVAPORATOR,
        s.EquipmentKind.RTA,
        s.EquipmentKind.GRINDER,
        s.EquipmentKind.LASER_SCRIBE,
        s.EquipmentKind.PROBER,
        s.EquipmentKind.SORTER,
    }
    mocvd = next(t for t in spec.equipment_types if t.kind == s.EquipmentKind.MOCVD)
    assert mocvd.batch is not None and mocvd.batch.max_wafers == 14
    route = spec.route(spec.products[0].route)
    assert route.steps[0].per == "batch"
    assert len(spec.procedures) >= 2
