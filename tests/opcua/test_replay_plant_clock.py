"""A recording of a simulator that runs faster than real time replays on its plant clock.

Was: the simulator stamps its values with the wall clock, so a recording of it at 60x held
an hour of plant time in a minute of stamps, and replay (which plays on the stamps) showed
plant durations 60x too short. Replay now maps a recording's times through its
``Fab.PlantClock`` samples (``app.replay.on_plant_clock``). A real asyncua server on
loopback, stepped by hand two plant minutes at a time (about 300x).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from _client_support import wait_for
from _server_support import find_free_port

from factory_twin.app.controller import Controller
from factory_twin.app.plant_state import PlantState
from factory_twin.app.replay import ReplaySource, event_time, load_history, on_plant_clock
from factory_twin.app.simulator import EmbeddedPlantSimulator
from factory_twin.model.config import load_plant
from factory_twin.model.events import FAB_EQUIPMENT, TagUpdate
from factory_twin.opcua.client import PlantClient
from factory_twin.opcua.historian import HistoryWriter

pytestmark = [pytest.mark.timeout(120), pytest.mark.asyncio(loop_scope="module")]

LOOP = Path(__file__).parents[1] / "data" / "amhs_loop_plant.yaml"
STEP_S = 120.0


async def test_a_fast_simulator_recording_replays_on_its_plant_clock(tmp_path: Path) -> None:
    doc = load_plant(LOOP)
    spec = doc.spec
    url = f"opc.tcp://127.0.0.1:{find_free_port()}/ft/"
    sim = EmbeddedPlantSimulator(spec, endpoint=url, speed=0.0, tag_period_s=600.0)
    await sim.start()
    client = PlantClient(spec, endpoint_overrides={"sim": url}, publishing_ms=50, sampling_ms=50)
    out = tmp_path / "fast.parquet"
    writer = HistoryWriter(out, vehicle_period_s=0.0)
    live = PlantState(spec)
    checkpoints: list[tuple[float, np.ndarray]] = []
    try:
        await client.start()
        assert await client.wait_connected(15)
        assert sim.fleet is not None
        for _ in range(12):
            await sim.step(STEP_S)
            want = np.array([(r[1], r[2]) for r in sim.fleet.vehicle_rows()])

            def arrived(want: np.ndarray = want) -> bool:
                evs = client.drain()
                writer.add(evs)
                live.apply(evs)
                _, xy, _ = live.vehicles.arrays()
                return live.plant_clock_s == sim.now_s and np.allclose(xy, want)

            assert await wait_for(arrived, 10.0)
            checkpoints.append((sim.now_s, want))
            await asyncio.sleep(0.3)
            evs = client.drain()
            writer.add(evs)
            live.apply(evs)
    finally:
        await client.stop()
        await sim.stop()
        writer.close()
    events = load_history(out)
    raw = [event_time(e) for e in events]
    clock_ticks = [e for e in events if isinstance(e, TagUpdate) and e.equipment == FAB_EQUIPMENT
                   and e.tag == "plant_clock"]  # fmt: skip
    plant_span = checkpoints[-1][0] - checkpoints[0][0]
    assert max(raw) - min(raw) < plant_span / 20  # the stamps: wall seconds, not plant time
    on = on_plant_clock(events)
    times = [event_time(e) for e in on]
    assert max(times) - min(times) >= plant_span
    anchor = min(e.source_ts for e in clock_ticks)
    first = min(float(e.value) for e in clock_ticks)
    for e in on:  # each clock sample sits at its own plant time after the anchor
        if isinstance(e, TagUpdate) and e.equipment == FAB_EQUIPMENT and e.tag == "plant_clock":
            assert e.source_ts - anchor == pytest.approx(float(e.value) - first, abs=1e-6)
    # replayed on it: at each checkpoint's plant time the plant clock and every vehicle
    replay = ReplaySource(on, speed=1.0)
    for plant_t, want in checkpoints:
        replay.seek(replay.start_s)  # from the start each time: a fresh state
        state = PlantState(spec)
        replay.seek(anchor + plant_t - first + STEP_S / 4)  # (stamps a few ms apart)
        state.apply(replay.drain(1_000_000))
        assert state.plant_clock_s == plant_t
        np.testing.assert_allclose(state.vehicles.arrays()[1], want, atol=1e-9)
    # the app's replay plays the file so: its clock spans the plant time recorded
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    c.set_plant(doc)
    try:
        src = c.start_replay(out, speed=1.0)
        assert src.end_s - src.start_s >= plant_span
        assert src.end_s - src.start_s == pytest.approx(max(times) - min(times))
    finally:
        c.stop_replay()
        c.close()
