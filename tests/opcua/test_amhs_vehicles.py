"""OHT vehicles over OPC UA: the simulator serves Transport/AMHS, the client reads them into
the plant state, the 3-D view draws them on the rails (a real asyncua server on loopback)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pyvista as pv
from _client_support import wait_for
from _server_support import WATCHDOG_S, find_free_port
from asyncua import Client, ua

from factory_twin.app.plant_state import PlantState
from factory_twin.app.simulator import EmbeddedPlantSimulator
from factory_twin.model.config import load_plant
from factory_twin.model.events import VEHICLE_PREFIX, LotMove, vehicle_name
from factory_twin.opcua.client import PlantClient
from factory_twin.opcua.server import NAMESPACE_URI
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
            assert names == [vehicle_name(i) for i in range(fleet)]
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
