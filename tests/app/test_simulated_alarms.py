"""Alarms a new user sees from the embedded plant simulator (served over OPC UA).

The simulator is driven exactly as the app drives it at its default speed 60 (a 0.25 s
tick of 15 plant seconds, tags sampled every 15 s, seed 0), only faster than real time.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from factory_twin.app.controller import free_port
from factory_twin.app.simulator import EmbeddedPlantSimulator
from factory_twin.model.config import load_plant
from factory_twin.model.events import AlarmEvent

PLANTS = Path(__file__).resolve().parents[2] / "plant_configs"
SPEED, TICK_S = 60.0, 0.25


async def served_alarms(plant: str, plant_s: float) -> list[AlarmEvent]:
    spec = load_plant(PLANTS / plant).spec
    sim = EmbeddedPlantSimulator(
        spec,
        endpoint=f"opc.tcp://127.0.0.1:{free_port()}/alarms/",
        speed=0.0,  # no background loop: the test steps it
        tag_period_s=SPEED * TICK_S,
        seed=0,
        load_companion_specs=False,
    )
    async with sim:
        while sim.now_s < plant_s:
            await sim.step(SPEED * TICK_S)
        assert sim.server is not None
        return [r for r in sim.server.alarm_log if r.active and not r.acked]  # raised


async def test_demo_fab_raises_a_limit_alarm_in_the_first_wall_minute() -> None:
    # one wall minute at speed 60 is one plant hour
    raised = await served_alarms("demo_fab.yaml", 3600.0)
    limits = [r for r in raised if r.code != "fault"]
    assert limits, f"no limit alarm in the first hour: {Counter(r.code for r in raised)}"
    assert min(r.time_s for r in limits) <= 3600.0
    # and no flood: ISA-18.2's "manageable" is up to 12 an hour for one operator
    assert len(raised) <= 12, Counter(r.code for r in raised)


async def test_smt2020_starts_without_an_alarm_flood() -> None:
    raised = await served_alarms("smt2020_hvlm.yaml", 600.0)
    codes = Counter(r.code for r in raised)
    assert len(raised) < 10, codes
    assert codes["slurry_flow.lo"] == 0, codes  # idle CMP tools: flow 0 is not an alarm
