"""Static capacity analysis: hand-computed cases and the shipped plants' loads."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from factory_twin.model import schema as s
from factory_twin.model.capacity import (
    capacity_table,
    expected_visits,
    format_capacity_table,
    raw_process_time_s,
    release_rates,
)
from factory_twin.model.config import load_plant

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "data" / "mini_plant.yaml"


@pytest.fixture(scope="module")
def mini_data() -> dict[str, Any]:
    return YAML(typ="safe").load(MINI.read_text(encoding="utf-8"))


def build(data: dict[str, Any]) -> s.PlantSpec:
    return s.PlantSpec.model_validate(copy.deepcopy(data))


def rows_by_group(spec: s.PlantSpec, rates=None) -> dict[str, Any]:
    return {r.group: r for r in capacity_table(spec, rates)}


@pytest.mark.parametrize("name", ["demo_fab.yaml", "led_line.yaml"])
def test_shipped_plants_stay_below_85_percent(name):
    spec = load_plant(ROOT / "plant_configs" / name).spec
    rows = capacity_table(spec)
    assert {r.group for r in rows} == set(spec.groups())
    for r in rows:
        assert r.utilisation < 0.85, (r.group, r.utilisation)
    busiest = max(rows, key=lambda r: r.utilisation)
    assert busiest.is_bottleneck
    assert sum(r.is_bottleneck for r in rows) == 1
    assert busiest.utilisation > 0.5  # the release rate is not absurdly low either
    for p in spec.products:
        rpt = raw_process_time_s(spec, p.id)
        assert 0 < rpt < p.due_after_s


def test_mini_plant_by_hand():
    spec = load_plant(MINI).spec
    rows = rows_by_group(spec)
    lam = 1 / 4000  # one lot per 4000 s on average
    # LITHO: 1800 s per lot, one tool up 360000 / (360000 + 3600) of the time
    litho = rows["LITHO"]
    assert litho.tools == 1
    assert litho.lot_visits_per_s == pytest.approx(lam)
    assert litho.offered_load == pytest.approx(1800 * lam)
    assert litho.availability == pytest.approx(360000 / 363600)
    assert litho.available_tools == pytest.approx(360000 / 363600)
    assert litho.utilisation == pytest.approx(0.45 * 363600 / 360000)
    assert litho.setup_load == 0  # one reticle only: no changes
    assert litho.is_bottleneck
    # ETCH: uniform 1500-2100 s (mean 1800) shared by two tools that never fail
    etch = rows["ETCH"]
    assert etch.tools == 2
    assert etch.utilisation == pytest.approx(1800 * lam / 2)
    assert not etch.is_bottleneck
    assert raw_process_time_s(spec, "p1") == pytest.approx(3600)
    assert "LITHO" in format_capacity_table(list(rows.values()))


def test_per_wafer_cascading_batch_and_setup_timing(mini_data):
    data = copy.deepcopy(mini_data)
    data["equipment_types"][0]["batch"] = {"min_wafers": 25, "max_wafers": 100}
    data["tool_groups"] = [
        {"id": "LITHO", "setup_default": 600, "min_run_lots": 2, "load_s": 30, "unload_s": 30},
    ]
    data["routes"][0]["steps"] = [
        # per wafer, cascading: 100 + 24 * 20 = 580 s per lot of 25
        {
            "tool_group": "LITHO",
            "process_time": 100,
            "per": "wafer",
            "wafer_interval_s": 20,
            "setup": "A",
        },
        # per wafer, no cascading: 25 * 10 = 250 s
        {"tool_group": "LITHO", "process_time": 10, "per": "wafer", "setup": "B"},
        # per batch of up to 100 wafers = 4 lots: 8000 s / 4 per lot
        {
            "tool_group": "ETCH",
            "process_time": 8000,
            "per": "batch",
            "batch": {"min_wafers": 50, "max_wafers": 100},
        },
    ]
    data["products"][0]["release"] = {"mode": "rate", "interarrival": 10000}
    spec = build(data)
    rows = rows_by_group(spec)
    lam = 1e-4
    litho = rows["LITHO"]
    assert litho.process_load == pytest.approx(lam * (580 + 60 + 250 + 60))
    # two setups, half the visits each; a change costs 600 s, once per 2 lots at most
    assert litho.setup_load == pytest.approx(2 * lam * 0.5 * 600 / 2)
    etch = rows["ETCH"]
    assert etch.process_load == pytest.approx(lam * 8000 / 4)
    assert etch.utilisation == pytest.approx(lam * 2000 / 2)
    assert etch.utilisation_min_batch == pytest.approx(lam * 4000 / 2)  # 2 lots per batch
    # the lot waits the whole batch time; each step counts once, plus load/unload
    assert raw_process_time_s(spec, "p1") == pytest.approx(580 + 250 + 60 + 60 + 8000)


def test_batch_interval_caps_the_tool_time(mini_data):
    data = copy.deepcopy(mini_data)
    data["routes"][0]["steps"][1] = {
        "tool_group": "ETCH",
        "process_time": 3000,
        "batch_interval_s": 1000,
    }
    rows = rows_by_group(build(data))
    assert rows["ETCH"].process_load == pytest.approx(1000 / 4000)


def test_sampling_rework_and_scrap_visits(mini_data):
    data = copy.deepcopy(mini_data)
    data["routes"][0]["steps"] = [
        {"tool_group": "LITHO", "process_time": 100},
        {"tool_group": "ETCH", "process_time": 100, "sample_pct": 50},
        {"tool_group": "LITHO", "process_time": 100, "rework": {"probability": 0.2, "to_step": 1}},
        {"tool_group": "ETCH", "process_time": 100, "scrap_probability": 0.1},
        {"tool_group": "ETCH", "process_time": 100},
    ]
    spec = build(data)
    v = expected_visits(spec.route("r1"))
    loop = 1 / (1 - 0.2)  # repeated until it passes
    assert v == pytest.approx([loop, 0.5 * loop, loop, 1.0, 0.9])
    rows = rows_by_group(spec)
    assert rows["LITHO"].visits_per_product["p1"] == pytest.approx(2 * loop)
    assert rows["LITHO"].lot_visits_per_s == pytest.approx(2 * loop / 4000)
    assert raw_process_time_s(spec, "p1") == pytest.approx(100 * sum(v))
    assert raw_process_time_s(spec, "p1", expected=False) == pytest.approx(500)


def test_a_rework_loop_lots_cannot_leave_is_infinite(mini_data):
    data = copy.deepcopy(mini_data)
    data["routes"][0]["steps"][1]["rework"] = {"probability": 1.0, "to_step": 1}
    spec = build(data)
    assert all(math.isinf(x) for x in expected_visits(spec.route("r1")))
    assert math.isinf(rows_by_group(spec)["ETCH"].utilisation)


def test_downtime_takes_capacity(mini_data):
    data = copy.deepcopy(mini_data)
    data["equipment"][0]["pm"] = [
        {"name": "weekly", "interval": 604800, "duration": 50400, "qualification": 10080},
        {"name": "per wafers", "basis": "wafers", "interval": 1000, "duration": 10000},
    ]
    data["equipment"][1]["reliability"] = {"mtbf": 9000, "mttr": 1000, "basis": "busy"}
    rows = rows_by_group(build(data))
    etch = rows["ETCH"]
    process = 1800 / 4000
    assert etch.pm_fraction == pytest.approx(0.1 / 2)  # one of two tools loses 10 %
    assert etch.available_tools == pytest.approx(1.9)
    wafers_per_s = 25 / 4000
    usage = process * (1000 / 9000) / 2 + wafers_per_s * 10 / 2
    assert etch.usage_down_load == pytest.approx(usage)
    assert etch.utilisation == pytest.approx((process + usage) / 1.9)


def test_release_modes(mini_data):
    data = copy.deepcopy(mini_data)
    data["products"][0]["release"] = {
        "mode": "schedule",
        "times_s": [0, 1000, 3000],
        "lots_per_release": 2,
    }
    assert release_rates(build(data)) == {"p1": pytest.approx(2 * 2 / 3000)}
    data["products"][0]["release"] = {"mode": "conwip", "wip_lots": 1}
    # best case with one lot in the line: one lot per raw process time
    assert release_rates(build(data)) == {"p1": pytest.approx(1 / 3600)}
    data["products"][0]["release"] = {"mode": "conwip", "wip_lots": 50}
    rates = release_rates(build(data))
    rows = rows_by_group(build(data))
    assert max(r.utilisation for r in rows.values()) == pytest.approx(1.0)
    assert rates["p1"] == pytest.approx((360000 / 363600) / 1800)  # LITHO-bound


def test_rates_can_be_overridden(mini_data):
    spec = build(mini_data)
    rows = rows_by_group(spec, {"p1": 1 / 2000})
    assert rows["ETCH"].utilisation == pytest.approx(1800 / 2000 / 2)


def test_group_without_visits_is_idle(mini_data):
    data = copy.deepcopy(mini_data)
    data["routes"][0]["steps"] = data["routes"][0]["steps"][:1]
    rows = rows_by_group(build(data))
    assert rows["ETCH"].offered_load == 0
    assert rows["ETCH"].utilisation == 0
    assert not rows["ETCH"].is_bottleneck
