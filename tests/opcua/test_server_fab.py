"""Fab-level figures over OPC UA: the server's Fab object and the client's __fab__ records."""

from __future__ import annotations

import pytest
from _client_support import free_port, plant_spec, start_server, wait_for
from _server_support import WATCHDOG_S, find_free_port
from asyncua import Client, ua

from factory_twin.app.simulator import EmbeddedPlantSimulator
from factory_twin.model.events import (
    FAB_EQUIPMENT,
    FAB_TAGS,
    E10State,
    LotMove,
    StateChange,
    TagUpdate,
)
from factory_twin.model.schema import PlantSpec
from factory_twin.opcua.client import PlantClient
from factory_twin.opcua.server import NAMESPACE_URI, FabCounters, PlantServer

pytestmark = [pytest.mark.timeout(120), pytest.mark.asyncio(loop_scope="module")]


async def _read_fab(url: str) -> dict[str, object]:
    async with Client(url, watchdog_intervall=WATCHDOG_S) as c:
        ns = await c.get_namespace_index(NAMESPACE_URI)
        out = {}
        for name in ("PlantClock", "LotsCompleted", "WafersCompleted", "WIP", "Moves"):
            node = c.get_node(f"ns={ns};s=Fab.{name}")
            dv = await node.read_data_value()
            out[name] = (dv.Value.Value, dv.Value.VariantType)
        fab = c.get_node(f"ns={ns};s=Fab")
        out["_parent"] = await fab.get_parent()
        out["_objects"] = c.nodes.objects
        return out


async def test_fab_counts_lots_from_records(mini_spec: PlantSpec) -> None:
    wafers = mini_spec.products[0].wafers_per_lot
    server = PlantServer(mini_spec, endpoint=f"opc.tcp://127.0.0.1:{find_free_port()}/ft/")
    await server.start()
    try:
        before = await _read_fab(server.endpoint_url)
        assert before["PlantClock"] == (0.0, ua.VariantType.Double)
        assert before["WIP"] == (0, ua.VariantType.UInt32)
        assert before["_parent"] == before["_objects"]
        await server.apply(
            [
                LotMove("L1", "p1", None, None, 10.0, 10.0, 0),  # enters
                LotMove("L2", "p1", None, None, 12.0, 12.0, 0),  # enters
                LotMove("L1", "p1", "LITHO-01", "ETCH-01", 1900.0, 1930.0, 1),  # a step done
                StateChange("ETCH-01", E10State.PRODUCTIVE, 1930.0),
                LotMove("L1", "p1", "ETCH-01", None, 3800.0, 3800.0, 2),  # leaves
                LotMove("OLD", "p1", "ETCH-02", None, 3900.0, 3900.0, 2),  # left, never seen in
                TagUpdate("ETCH-01", "chamber_pressure", 4.0, 4000.0),
            ]
        )
        got = await _read_fab(server.endpoint_url)
        assert got["PlantClock"] == (4000.0, ua.VariantType.Double)
        assert got["LotsCompleted"] == (2, ua.VariantType.UInt32)
        assert got["WafersCompleted"] == (2 * wafers, ua.VariantType.UInt32)
        assert got["WIP"] == (1, ua.VariantType.UInt32)  # L2
        assert got["Moves"] == (3, ua.VariantType.UInt32)
        assert server.fab.lots_in_fab == {"L2"}
    finally:
        await server.stop()


async def test_restored_counters_continue(mini_spec: PlantSpec) -> None:
    server = PlantServer(mini_spec, endpoint=f"opc.tcp://127.0.0.1:{find_free_port()}/ft/")
    server.restore_fab(FabCounters(500.0, 7, 175, 40, {"A", "B"}))
    await server.start()
    try:
        got = await _read_fab(server.endpoint_url)
        assert got["LotsCompleted"][0] == 7 and got["WIP"][0] == 2
        await server.apply([LotMove("A", "p1", "ETCH-01", None, 600.0, 600.0, 2)])
        got = await _read_fab(server.endpoint_url)
        assert got["LotsCompleted"][0] == 8 and got["WIP"][0] == 1
        assert got["Moves"][0] == 41 and got["PlantClock"][0] == 600.0
    finally:
        await server.stop()


async def test_client_gets_fab_records(mini_spec: PlantSpec) -> None:
    server = PlantServer(mini_spec, endpoint=f"opc.tcp://127.0.0.1:{find_free_port()}/ft/")
    await server.start()
    overrides = {ep.id: server.endpoint_url for ep in mini_spec.endpoints}
    client = PlantClient(mini_spec, endpoint_overrides=overrides, publishing_ms=50, sampling_ms=50)
    await client.start()
    try:
        assert await client.wait_connected(20), client.status()
        assert client.problems() == []
        events: list = []
        await server.apply(
            [
                LotMove("L1", "p1", None, None, 5.0, 5.0, 0),
                LotMove("L1", "p1", "ETCH-01", None, 700.0, 700.0, 1),
            ]
        )

        def fab() -> dict[str, object]:
            events.extend(client.drain())
            return {
                e.tag: e.value
                for e in events
                if isinstance(e, TagUpdate) and e.equipment == FAB_EQUIPMENT
            }

        assert await wait_for(lambda: fab().get("lots_completed") == 1, timeout=10), fab()
        got = fab()
        assert set(got) == set(FAB_TAGS)
        assert got["plant_clock"] == 700.0 and isinstance(got["plant_clock"], float)
        assert got["wip"] == 0 and got["moves"] == 1
        assert got["wafers_completed"] == mini_spec.products[0].wafers_per_lot
        # the fab records are not tool tags
        assert all(eq != FAB_EQUIPMENT for eq, _ in client.bound())
    finally:
        await client.stop()
        await server.stop()


async def test_server_without_fab_is_not_a_problem() -> None:
    port = free_port()
    spec = plant_spec(port)
    srv = await start_server(spec, port)
    client = PlantClient(spec, publishing_ms=50, sampling_ms=50)
    await client.start()
    try:
        assert await client.wait_connected(20), client.status()
        assert client.problems() == []
        events: list = []

        def tools_seen() -> bool:
            events.extend(client.drain())
            return any(isinstance(e, TagUpdate) and e.equipment == "ETCH-01" for e in events)

        assert await wait_for(tools_seen, timeout=10)
        assert not any(isinstance(e, TagUpdate) and e.equipment == FAB_EQUIPMENT for e in events)
    finally:
        await client.stop()
        await srv.server.stop()


async def test_embedded_simulator_serves_fab_figures(demo_spec: PlantSpec) -> None:
    sim = EmbeddedPlantSimulator(
        demo_spec,
        endpoint=f"opc.tcp://127.0.0.1:{find_free_port()}/ft/",
        speed=0.0,
        tag_period_s=900.0,
    )
    await sim.start()
    try:
        for _ in range(8):  # 8 plant hours, stepped by hand
            await sim.step(3600.0)
        fab = sim.server.fab
        assert fab.lots_completed > 0 and fab.moves > fab.lots_completed
        assert fab.wip == sim.sim.lots_in_fab
        got = await _read_fab(sim.endpoint_url)
        assert got["PlantClock"][0] == pytest.approx(sim.now_s, abs=1.0)
        assert got["LotsCompleted"][0] == fab.lots_completed
        assert got["WIP"][0] == sim.sim.lots_in_fab
        done = fab.lots_completed
        await sim.stop()  # a restart of the same run keeps counting
        await sim.start()
        await sim.step(3600.0)
        assert sim.server.fab.lots_completed >= done
        assert sim.server.fab.wip == sim.sim.lots_in_fab
    finally:
        await sim.stop()
