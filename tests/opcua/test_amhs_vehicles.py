"""OHT vehicles over OPC UA: the simulator serves Transport/AMHS, the client reads them into
the plant state, the 3-D view draws them on the rails (a real asyncua server on loopback)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest
import pyvista as pv
from _client_support import wait_for
from _server_support import WATCHDOG_S, find_free_port
from asyncua import Client, ua

from factory_twin.app.plant_state import PlantState
from factory_twin.app.replay import ReplaySource, load_history
from factory_twin.app.simulator import EmbeddedPlantSimulator
from factory_twin.model.config import load_plant
from factory_twin.model.events import VEHICLE_PREFIX, LotMove, vehicle_name
from factory_twin.opcua.client import PlantClient
from factory_twin.opcua.historian import HistoryWriter, read_history
from factory_twin.opcua.server import NAMESPACE_URI
from factory_twin.opcua.server.amhs_space import CONGESTION_VARIABLES, CongestionWindow
from factory_twin.ui.scene import FabScene

pytestmark = [pytest.mark.timeout(120), pytest.mark.asyncio(loop_scope="module")]

LOOP = Path(__file__).parents[1] / "data" / "amhs_loop_plant.yaml"


async def test_vehicles_are_served_read_and_drawn_on_the_rails() -> None:
    spec = load_plant(LOOP).spec
    assert spec.amhs is not None
    fleet = spec.amhs.fleet
    url = f"opc.tcp://127.0.0.1:{find_free_port()}/ft/"
    sim = EmbeddedPlantSimulator(spec, endpoint=url, speed=0.0, tag_period_s=600.0)
    await sim.start()
    client = PlantClient(spec, endpoint_overrides={"sim": url}, publishing_ms=50, sampling_ms=50)
    plotter = pv.Plotter(off_screen=True, window_size=(320, 200))
    try:
        assert sim.fleet is not None and len(sim.fleet.vehicles) == fleet
        # the address space: Objects/Transport/AMHS/OHT-00k with X, Y, State, CarrierId
        async with Client(url, watchdog_intervall=WATCHDOG_S) as c:
            ns = await c.get_namespace_index(NAMESPACE_URI)
            amhs = c.get_node(f"ns={ns};s=Transport.AMHS")
            children = await amhs.get_children()
            names = sorted([(await ch.read_browse_name()).Name for ch in children])
            congestion = sorted(CONGESTION_VARIABLES.values())
            assert names == sorted([vehicle_name(i) for i in range(fleet)] + congestion)
            x = await c.get_node(f"ns={ns};s=Transport.AMHS.OHT-001.X").read_data_value()
            assert x.Value.VariantType == ua.VariantType.Double
        await client.start()
        assert await client.wait_connected(15)
        bound = client.bound()
        assert (f"{VEHICLE_PREFIX}OHT-001", "x") not in bound  # vehicles are not tools
        state = PlantState(spec)
        scene = FabScene(plotter, spec, show_labels=False, show_legend=False)
        layer = scene.amhs
        assert layer is not None
        seen: set[str] = set()
        carriers: set[str] = set()
        lots: set[str] = set()
        sim.add_listener(lambda evs: lots.update(e.lot for e in evs if isinstance(e, LotMove)))
        for _ in range(48):  # 8 plant hours in 10-minute steps
            await sim.step(600.0)
            rows = sim.fleet.vehicle_rows()

            def arrived(rows=rows) -> bool:
                state.apply(client.drain())
                _, xy, _ = state.vehicles.arrays()
                want = np.array([(r[1], r[2]) for r in rows])
                return len(xy) == fleet and np.allclose(xy, want)

            assert await wait_for(arrived, 10.0)
            names_, xy, loaded = state.vehicles.arrays()
            # every vehicle lies on the rails
            _, dist = layer.nearest_links(xy)
            assert dist.max() < 1e-6
            seen.update(state.vehicles.state.values())
            carriers.update(c for c in state.vehicles.carrier.values() if c)
            for n, is_loaded in zip(names_, loaded, strict=True):
                assert is_loaded == (state.vehicles.carrier[n] != "")
            layer.set_vehicles(xy, loaded, state.plant_clock_s)
            assert layer.vehicle_count == fleet
        assert seen <= {"idle", "moving", "loaded"}
        assert "loaded" in seen and "idle" in seen
        assert carriers  # lots rode the vehicles, named by their lot id
        assert carriers <= lots
        assert layer.occupancy().sum() == pytest.approx(fleet, rel=1e-6)
    finally:
        plotter.close()
        await client.stop()
        await sim.stop()


async def test_vehicles_are_recorded_and_replayed_where_they_were(tmp_path: Path) -> None:
    """A live run recorded from a real server replays with every vehicle where it was."""
    spec = load_plant(LOOP).spec
    assert spec.amhs is not None
    fleet = spec.amhs.fleet
    url = f"opc.tcp://127.0.0.1:{find_free_port()}/ft/"
    sim = EmbeddedPlantSimulator(spec, endpoint=url, speed=0.0, tag_period_s=600.0)
    await sim.start()
    client = PlantClient(spec, endpoint_overrides={"sim": url}, publishing_ms=50, sampling_ms=50)
    out = tmp_path / "fleet.parquet"
    writer = HistoryWriter(out, vehicle_period_s=0.25)
    live = PlantState(spec)
    checkpoints: list[tuple[float, float, np.ndarray, list[str]]] = []
    try:
        await client.start()
        assert await client.wait_connected(15)
        assert sim.fleet is not None

        async def checkpoint(dt: float) -> list[tuple[int, float, float, str, str]]:
            assert sim.fleet is not None
            await sim.step(dt)
            rows = sim.fleet.vehicle_rows()
            want = np.array([(r[1], r[2]) for r in rows])

            def arrived() -> bool:
                evs = client.drain()
                writer.add(evs)
                live.apply(evs)
                _, xy, _ = live.vehicles.arrays()
                return len(xy) == fleet and np.allclose(xy, want)

            assert await wait_for(arrived, 10.0)
            await asyncio.sleep(0.3)  # more than the recording's vehicle period
            evs = client.drain()
            writer.add(evs)
            live.apply(evs)
            checkpoints.append((time.time(), sim.now_s, want, [r[3] for r in rows]))
            await asyncio.sleep(0.05)
            return rows

        # 30-second steps until a vehicle is on its way, then 3-second steps along its run
        while len(checkpoints) < 20:
            for _ in range(2000):
                await sim.step(30.0)
                if any(r[3] != "idle" for r in sim.fleet.vehicle_rows()):
                    break
            rows = await checkpoint(3.0)
            while any(r[3] != "idle" for r in rows) and len(checkpoints) < 20:
                rows = await checkpoint(3.0)
    finally:
        await client.stop()
        await sim.stop()
        writer.close()
    counts = read_history(out).query("kind == 'tag'")["equipment"].str.startswith(VEHICLE_PREFIX)
    assert counts.sum() > 0
    moved = {tuple(map(tuple, c[2])) for c in checkpoints}
    assert len(moved) > 10  # the vehicles really moved between checkpoints
    assert any("loaded" in c[3] for c in checkpoints)
    events = load_history(out)
    replay = ReplaySource(events, speed=1.0)
    plotter = pv.Plotter(off_screen=True, window_size=(320, 200))
    try:
        scene = FabScene(plotter, spec, show_labels=False, show_legend=False)
        layer = scene.amhs
        assert layer is not None
        state = PlantState(spec)
        for wall_t, plant_t, want, states in checkpoints:
            assert not replay.seek(wall_t)  # forwards: no rebuild
            state.apply(replay.drain(1_000_000))
            names, xy, loaded = state.vehicles.arrays()
            assert names == [vehicle_name(i) for i in range(fleet)]
            np.testing.assert_allclose(xy, want, atol=1e-9)
            assert [state.vehicles.state[n] for n in names] == states
            assert state.plant_clock_s == pytest.approx(plant_t)
            layer.set_vehicles(xy, loaded, state.plant_clock_s)
            drawn = np.asarray(layer.vehicle_points.points)[:, :2]
            np.testing.assert_allclose(drawn, want, atol=1e-9)
        # back to the first checkpoint: the owner rebuilds and gets the same picture
        wall_t, _, want, _ = checkpoints[0]
        assert replay.seek(wall_t)
        fresh = PlantState(spec)
        fresh.apply(replay.drain(1_000_000))
        np.testing.assert_allclose(fresh.vehicles.arrays()[1], want, atol=1e-9)
    finally:
        plotter.close()


async def test_the_simulators_rail_congestion_is_served_per_link_and_read() -> None:
    """Transport/AMHS/LinkEntriesPerHour etc.: the fleet's own counts per link, per hour."""
    spec = load_plant(LOOP).spec
    assert spec.amhs is not None
    link_ids = [lk.id for lk in spec.amhs.links]
    url = f"opc.tcp://127.0.0.1:{find_free_port()}/ft/"
    sim = EmbeddedPlantSimulator(spec, endpoint=url, speed=0.0, tag_period_s=600.0)
    await sim.start()
    client = PlantClient(spec, endpoint_overrides={"sim": url}, publishing_ms=50, sampling_ms=50)
    try:
        async with Client(url, watchdog_intervall=WATCHDOG_S) as c:
            ns = await c.get_namespace_index(NAMESPACE_URI)
            ids = await c.get_node(f"ns={ns};s=Transport.AMHS.LinkIds").read_value()
            assert ids == link_ids
            node = c.get_node(f"ns={ns};s=Transport.AMHS.LinkBlockedSecondsPerHour")
            assert await node.read_value_rank() == 1
        await client.start()
        assert await client.wait_connected(15)
        state = PlantState(spec)
        assert sim.fleet is not None
        history = {0.0: sim.fleet.link_load()}
        for _ in range(240):  # 4 plant hours in minutes; the rates cover the last hour
            await sim.step(60.0)
            history[sim.now_s] = sim.fleet.link_load()
        entries, blocked = history[sim.now_s]
        t = sim.now_s
        assert entries.sum() > 0  # vehicles ran

        def arrived() -> bool:
            state.apply(client.drain())
            return len(state.vehicles.link_rates) == 2 and state.vehicles.window_s > 0

        assert await wait_for(arrived, 10.0)
        await asyncio.sleep(0.3)
        state.apply(client.drain())
        vs = state.vehicles
        assert list(vs.link_ids) == link_ids
        span = vs.window_s
        assert 3600.0 <= span <= 3600.0 + 300.0  # the last hour, from 5-minute snapshots
        e0, b0 = history[t - span]
        served = vs.congestion(link_ids, "entries_per_h")
        assert served is not None
        np.testing.assert_allclose(served, (entries - e0) * 3600.0 / span, rtol=1e-12)
        np.testing.assert_allclose(
            vs.congestion(link_ids, "blocked_s_per_h"), (blocked - b0) * 3600.0 / span, atol=1e-12
        )
        # every link of a section shows its section's entries
        g = sim.fleet.graph
        for links in g.sections:
            assert len({served[k] for k in links}) == 1
    finally:
        await client.stop()
        await sim.stop()


async def test_congestion_window_rates_over_the_last_hour() -> None:
    """Hand-computed: snapshots every 5 min, the rate over the last hour once there is one."""
    w = CongestionWindow(3600.0)
    one = np.array([1.0])
    # 1 entry and 2 blocked seconds every minute: 60 entries/h and 120 s/h whatever the window
    for minute in range(0, 181):
        e, b, span = w.rates(minute * 60.0, one * minute, 2 * one * minute)
        if minute:
            assert e[0] == pytest.approx(60.0) and b[0] == pytest.approx(120.0)
            assert span == pytest.approx(min(minute * 60.0, 3600.0 + 300.0), abs=300.0)
    assert len(w.snaps) <= 13
    # a burst of 30 entries in the last minute of a quiet hour: 30 per (window) hour
    w = CongestionWindow(3600.0)
    for minute in range(0, 120):
        w.rates(minute * 60.0, one * 0, one * 0)
    e, _, span = w.rates(120 * 60.0, one * 30, one * 0)
    assert e[0] == pytest.approx(30 * 3600.0 / span)
    assert 3600.0 <= span < 3600.0 + 300.0


async def test_a_recording_of_the_simulator_itself_keeps_its_vehicles(tmp_path: Path) -> None:
    """A drill records the simulator's own events (plant clock): the vehicles come with them."""
    spec = load_plant(LOOP).spec
    url = f"opc.tcp://127.0.0.1:{find_free_port()}/ft/"
    sim = EmbeddedPlantSimulator(spec, endpoint=url, speed=0.0, tag_period_s=600.0)
    await sim.start()
    out = tmp_path / "drill.parquet"
    writer = HistoryWriter(out)
    sim.add_listener(writer.add)
    seen: list[tuple[float, list]] = []
    try:
        assert sim.fleet is not None
        for _ in range(5000):  # until 8 vehicle positions on the way were seen
            busy = any(r[3] != "idle" for r in sim.fleet.vehicle_rows())
            await sim.step(2.0 if busy else 30.0)
            rows = sim.fleet.vehicle_rows()
            if any(r[3] != "idle" for r in rows):
                seen.append((sim.now_s, rows))
            if len(seen) >= 8:
                break
    finally:
        await sim.stop()
        writer.close()
    assert len(seen) >= 8
    replay = ReplaySource(load_history(out))
    state = PlantState(spec)
    for t, rows in seen:
        replay.seek(t)
        state.apply(replay.drain(1_000_000))
        names, xy, _ = state.vehicles.arrays()
        assert names == [vehicle_name(r[0]) for r in rows]
        np.testing.assert_allclose(xy, [(r[1], r[2]) for r in rows], atol=1e-9)
        assert [state.vehicles.state[n] for n in names] == [r[3] for r in rows]
