"""EURange is the normal operating range (OPC UA Part 8): idle included, limits outside."""

from __future__ import annotations

from pathlib import Path

import pytest

from factory_twin.model.config import load_plant
from factory_twin.model.events import TagUpdate
from factory_twin.model.schema import TagType
from factory_twin.opcua.server.address_space import eu_range
from factory_twin.sim.live import LiveSimulation

PLANTS = Path(__file__).parents[2] / "plant_configs"
SHIPPED = ["demo_fab.yaml", "led_line.yaml", "smt2020_hvlm.yaml"]


@pytest.mark.parametrize("name", SHIPPED)
def test_eurange_holds_idle_and_normal_range_and_limits_lie_outside(name: str) -> None:
    spec = load_plant(PLANTS / name).spec
    for et in spec.equipment_types:
        for tag in et.tags:
            if tag.normal_range is None or tag.data_type is not TagType.FLOAT:
                continue
            lo, hi = eu_range(tag)
            where = f"{name} {et.id}.{tag.name}"
            assert lo <= tag.normal_range[0] and tag.normal_range[1] <= hi, where
            if tag.idle_value is not None:
                assert lo <= tag.idle_value <= hi, where
            for limit, value in tag.alarms.limits() if tag.alarms else []:
                states = tag.alarms.active_states(limit, tag.idle_value)
                if states is not None and tag.idle_value is not None:
                    # a limit the idle value violates: active only while processing, where
                    # the value is in the normal range, so it lies outside that range
                    inside = tag.normal_range[0] < value < tag.normal_range[1]
                    assert not inside, f"{where}.{limit}"
                    continue
                if limit in ("hi", "hihi"):
                    assert value >= hi, f"{where}.{limit} = {value} inside EURange {lo}..{hi}"
                else:
                    assert value <= lo, f"{where}.{limit} = {value} inside EURange {lo}..{hi}"


@pytest.mark.parametrize(("name", "share"), [("demo_fab.yaml", 0.02), ("led_line.yaml", 0.02)])
def test_few_served_values_fall_outside_the_eurange(name: str, share: float) -> None:
    # was 20.6 % (demo fab) and 55 % (LED line) when EURange was the processing range
    spec = load_plant(PLANTS / name).spec
    types = {t.id: t for t in spec.equipment_types}
    kind = {e.id: e.type for e in spec.equipment}
    sim = LiveSimulation(spec, seed=0, tag_period_s=15.0)  # the app's sampling at speed 60
    n = out = 0
    ranges: dict[tuple[str, str], tuple[float, float] | None] = {}
    for ev in sim.advance(6 * 3600.0):
        if not isinstance(ev, TagUpdate) or ev.tag in ("state", "lot", "recipe", "wafer_count"):
            continue
        key = (kind[ev.equipment], ev.tag)
        if key not in ranges:
            tag = types[key[0]].tag(ev.tag)
            ranges[key] = eu_range(tag) if tag.data_type is TagType.FLOAT else None
        r = ranges[key]
        if r is None:
            continue
        n += 1
        out += not r[0] <= float(ev.value) <= r[1]
    assert n > 10_000
    assert out / n < share, f"{out / n:.2%} of {n} values outside the EURange"
