"""The embedded plant simulator: a live simulation served over OPC UA, seen by a client."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from _server_support import WATCHDOG_S, find_free_port, wait_until
from asyncua import Client, ua
from asyncua.ua.uaerrors import UaStatusCodeError

from factory_twin.app.simulator import EmbeddedPlantSimulator
from factory_twin.model.events import TagUpdate
from factory_twin.model.schema import PlantSpec, TagType
from factory_twin.opcua.server import NAMESPACE_URI

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def simulator(demo_spec: PlantSpec) -> AsyncIterator[EmbeddedPlantSimulator]:
    sim = EmbeddedPlantSimulator(
        demo_spec,
        endpoint=f"opc.tcp://127.0.0.1:{find_free_port()}/factory_twin/",
        speed=1200.0,
        tick_s=0.1,
        allow_client_writes=True,
    )
    await sim.start()
    yield sim
    await sim.stop()


class Collector:
    def __init__(self) -> None:
        self.changes: dict[str, list[Any]] = {}
        self.events: list[Any] = []

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        self.changes.setdefault(node.nodeid.Identifier, []).append(val)

    def event_notification(self, event: Any) -> None:
        self.events.append(event)


async def test_values_and_states_move(
    simulator: EmbeddedPlantSimulator, demo_spec: PlantSpec
) -> None:
    async with Client(simulator.endpoint_url, watchdog_intervall=WATCHDOG_S) as c:
        ns = await c.get_namespace_index(NAMESPACE_URI)
        handler = Collector()
        sub = await c.create_subscription(50, handler)
        nodes = []
        for e in demo_spec.equipment:
            nodes.append(c.get_node(f"ns={ns};s={e.id}.State.E10StateName"))
            for t in demo_spec.equipment_type(e.type).tags:
                if t.data_type is TagType.FLOAT:
                    nodes.append(c.get_node(f"ns={ns};s={e.id}.Parameters.{t.name}"))
        await sub.subscribe_data_change(nodes, queuesize=10)
        t0 = simulator.now_s
        # Analog values change from sample to sample ...
        await wait_until(
            lambda: (
                sum(
                    1
                    for k, v in handler.changes.items()
                    if ".Parameters." in k and len(set(v)) > 2
                )
                > len(nodes) // 4
            ),
            timeout=30,
            what="process values moving",
        )
        # ... and tools change state as lots flow.
        await wait_until(
            lambda: any(
                "productive" in v for k, v in handler.changes.items() if k.endswith("E10StateName")
            ),
            timeout=60,
            what="a productive tool",
        )
        # ... while the plant clock runs (one tick can write several samples, so the values
        # above may all come from the tick in progress when t0 was read)
        await wait_until(lambda: simulator.now_s > t0, timeout=30, what="the plant clock moving")


async def test_hold_and_resume_reach_the_simulation(
    simulator: EmbeddedPlantSimulator, demo_spec: PlantSpec
) -> None:
    eq = demo_spec.equipment[0].id
    async with Client(simulator.endpoint_url, watchdog_intervall=WATCHDOG_S) as c:
        ns = await c.get_namespace_index(NAMESPACE_URI)
        tool = c.get_node(ua.NodeId(eq, ns))
        name = c.get_node(f"ns={ns};s={eq}.State.E10StateName")
        with pytest.raises(UaStatusCodeError, match="BadInvalidState"):
            await tool.call_method(f"{ns}:Resume")  # not on hold: refused, model untouched
        await tool.call_method(f"{ns}:Hold")
        state = None

        async def held() -> bool:
            nonlocal state
            state = await name.read_value()
            return state == "engineering"

        for _ in range(300):
            if await held():
                break
            await asyncio.sleep(0.05)
        assert state == "engineering"
        assert simulator.sim.state_of(eq)[1] == "hold"
        with pytest.raises(UaStatusCodeError, match="BadInvalidState"):
            await tool.call_method(f"{ns}:Hold")
        await tool.call_method(f"{ns}:Resume")
        for _ in range(300):
            if await name.read_value() != "engineering":
                break
            await asyncio.sleep(0.05)
        assert await name.read_value() != "engineering"


async def test_forced_tag_raises_an_alarm_and_client_writes_drive_the_tag(
    simulator: EmbeddedPlantSimulator, demo_spec: PlantSpec
) -> None:
    eq = tag = None
    hi = 0.0
    for e in demo_spec.equipment[::-1]:
        for t in demo_spec.equipment_type(e.type).tags:
            if t.alarms is not None and t.alarms.hi is not None:
                eq, tag, hi = e.id, t.name, t.alarms.hi
                break
        if eq:
            break
    assert eq is not None and tag is not None
    async with Client(simulator.endpoint_url, watchdog_intervall=WATCHDOG_S) as c:
        ns = await c.get_namespace_index(NAMESPACE_URI)
        handler = Collector()
        sub = await c.create_subscription(50, handler)
        await sub.subscribe_alarms_and_conditions(c.nodes.server, ua.ObjectIds.AlarmConditionType)
        simulator.force_tag(eq, tag, hi * 1.5 + 1.0, 3600.0)
        await wait_until(
            lambda: [
                ev
                for ev in handler.events
                if ev.SourceName == eq and ev.ConditionName.startswith(f"{tag}.")
            ],
            timeout=20,
            what="alarm from the forced tag",
        )
        # A client write (allowed on this server) forces the simulated tag, which keeps it.
        node = c.get_node(f"ns={ns};s={eq}.Parameters.{tag}")
        await node.write_value(ua.DataValue(ua.Variant(hi * 0.5, ua.VariantType.Double)))
        steps = simulator.steps
        await wait_until(lambda: simulator.steps > steps + 3, timeout=20, what="simulation steps")
        assert await node.read_value() == pytest.approx(hi * 0.5)
        forced = [
            ev
            for ev in simulator.sim.snapshot()
            if isinstance(ev, TagUpdate) and ev.equipment == eq and ev.tag == tag
        ]
        assert forced[0].value == pytest.approx(hi * 0.5)


async def test_restart_keeps_plant_time(simulator: EmbeddedPlantSimulator) -> None:
    await simulator.stop()
    assert not simulator.running
    t_stop = simulator.now_s
    await simulator.start()
    assert simulator.running
    assert simulator.now_s >= t_stop
    async with Client(simulator.endpoint_url, watchdog_intervall=WATCHDOG_S) as c:
        assert await c.get_namespace_index(NAMESPACE_URI) == simulator.server.namespace_index


@pytest.mark.asyncio(loop_scope="function")
async def test_run_in_thread(mini_spec: PlantSpec) -> None:
    sim = EmbeddedPlantSimulator(
        mini_spec,
        endpoint=f"opc.tcp://127.0.0.1:{find_free_port()}/thread/",
        speed=600.0,
        load_companion_specs=False,
    )

    def drive() -> tuple[float, bool, bool]:
        thread = sim.run_in_thread()
        assert thread.is_running()
        assert sim.call(lambda: sim.running).result(5)
        held = sim.call(sim.hold, "ETCH-01").result(5)
        again = sim.call(sim.hold, "ETCH-01").result(5)
        t = sim.call(lambda: sim.now_s).result(5)
        sim.stop_in_thread()
        assert not thread.is_running()
        return t, held, again

    t, held, again = await asyncio.to_thread(drive)
    assert held is True and again is False
    assert t >= 0
    assert not any(th.name == "plant-simulator" for th in threading.enumerate())
