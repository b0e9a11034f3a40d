"""An SMT2020 drill served live on the real-scale fab: the HVLM plant on its SMAT2022 layout.

A DrillSimulator on a free loopback port warms the 1,443-tool fab up for the drill's hour,
then plays ``litho_stage_drift_hot_lot``: the super hot lot is released at the scanner step,
the stage temperature of Litho_BE_110_7 drifts past its high limit and the alarm reaches a
trainee's asyncua client, who answers it; the score is the drill's points.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from test_drill_server import _url

from factory_twin.app.drill_server import DrillSimulator
from factory_twin.model.config import load_plant
from factory_twin.model.drills import find_drill
from factory_twin.opcua.drill_client import DrillClient

PLANT = Path(__file__).resolve().parents[2] / "plant_configs" / "smt2020_hvlm_smat2022.yaml"
TOOL = "Litho_BE_110_7"


async def _until(pred: Any, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_the_scanner_drift_drill_raises_its_alarm_and_scores_a_trainee() -> None:
    spec = load_plant(PLANT).spec
    drill = find_drill(spec, "litho_stage_drift_hot_lot")
    sim = DrillSimulator(spec, drill, endpoint=_url(), speed=120, load_companion_specs=False)
    await sim.start()
    assert sim.now_s >= drill.start_at_s  # warmed up for the drill's hour
    ann = DrillClient(sim.endpoint_url, "ann")
    try:
        assert await ann.connect() == "ann"
        await _until(lambda: (TOOL, "stage_temperature.hi") in ann._event_ids)
        hot, drift = sim.injections[:2]
        assert (hot.injection_id, hot.lot, drift.injection_id) == ("hot", "SUPERHOT-0001", "drift")
        alarm = next(
            a for a in sim.alarms if a.equipment == TOOL and a.code == "stage_temperature.hi"
        )
        assert alarm.active and alarm.time_s > drift.time_s  # the drift took it over the limit
        assert sim.sim.value_of(TOOL, "stage_temperature") > 22.3
        await ann.acknowledge(TOOL, "stage_temperature.hi", "stage running warm")
        assert await ann.machine(TOOL, "Hold")
        await ann.call_maintenance(TOOL, "stage chiller loop")
        await ann.prioritise_lot("SUPERHOT-0001")
        await _until(lambda: sim.scores.get("ann") is not None and sim.scores["ann"].score == 60)
        assert sim.scores["ann"].passed and not sim.scores["ann"].wrong
    finally:
        await ann.disconnect()
        await sim.stop()
