"""PlantClient against our own plant simulator server (factory_twin.opcua.server.PlantServer)."""

from __future__ import annotations

import time

import pytest
from _client_support import wait_for

from factory_twin.model.events import AlarmEvent, E10State, Quality, StateChange, TagUpdate
from factory_twin.model.schema import PlantSpec
from factory_twin.opcua.client import PlantClient

pytestmark = [pytest.mark.timeout(120), pytest.mark.asyncio(loop_scope="module")]


async def test_demo_fab_binds_by_convention_values_alarms_ack(
    demo_server, demo_spec: PlantSpec
) -> None:
    overrides = {ep.id: demo_server.endpoint_url for ep in demo_spec.endpoints}
    client = PlantClient(demo_spec, endpoint_overrides=overrides, publishing_ms=50, sampling_ms=50)
    await client.start()
    try:
        assert await client.wait_connected(20), client.status()
        assert client.problems() == []
        live = [e for e in demo_spec.equipment if e.opcua is not None]
        n_tags = sum(len(demo_spec.equipment_type(e.type).tags) + 5 for e in live)
        assert len(client.bound()) == n_tags
        eq = next(
            e
            for e in live
            if any(
                t.alarms and t.alarms.hi is not None for t in demo_spec.equipment_type(e.type).tags
            )
        )
        tag = next(
            t
            for t in demo_spec.equipment_type(eq.type).tags
            if t.alarms and t.alarms.hi is not None
        )
        assert client.bound()[(eq.id, tag.name)] == demo_server.node_id(eq.id, tag.name)
        hi = tag.alarms.hi
        now = time.time()
        await demo_server.apply(
            [
                StateChange(eq.id, E10State.PRODUCTIVE, now),
                TagUpdate(eq.id, tag.name, float(hi) + 1.0, now),
            ]
        )
        events: list = []

        def got(pred):
            events.extend(client.drain())
            return any(pred(e) for e in events)

        assert await wait_for(
            lambda: got(
                lambda e: (
                    isinstance(e, TagUpdate)
                    and e.equipment == eq.id
                    and e.tag == tag.name
                    and e.value == float(hi) + 1.0
                )
            ),
            10,
        )
        assert await wait_for(
            lambda: got(
                lambda e: (
                    isinstance(e, TagUpdate)
                    and e.equipment == eq.id
                    and e.tag == "state"
                    and e.value == "productive"
                )
            ),
            10,
        )
        assert await wait_for(
            lambda: got(
                lambda e: (
                    isinstance(e, AlarmEvent)
                    and e.equipment == eq.id
                    and e.code == f"{tag.name}.hi"
                    and e.active
                )
            ),
            10,
        )
        alarm = next(e for e in events if isinstance(e, AlarmEvent) and e.code == f"{tag.name}.hi")
        assert alarm.alarm_id == f"ns={demo_server.namespace_index};s={eq.id}.Alarms.{tag.name}.hi"
        assert all(
            e.quality is Quality.GOOD
            for e in events
            if isinstance(e, TagUpdate) and e.equipment == eq.id and e.tag in ("state", tag.name)
        )
        await client.acknowledge(alarm, "seen", "alice")
        assert await wait_for(
            lambda: got(
                lambda e: isinstance(e, AlarmEvent) and e.code == f"{tag.name}.hi" and e.acked
            ),
            10,
        )
        assert not any(
            a.alarm_id == alarm.alarm_id and not a.acked for a in demo_server.active_alarms()
        )
    finally:
        await client.stop()


async def test_shelve_and_out_of_service_through_the_client(
    demo_server, demo_spec: PlantSpec
) -> None:
    from factory_twin.model.events import ShelvingState

    overrides = {ep.id: demo_server.endpoint_url for ep in demo_spec.endpoints}
    client = PlantClient(demo_spec, endpoint_overrides=overrides, publishing_ms=50, sampling_ms=50)
    await client.start()
    try:
        assert await client.wait_connected(20), client.status()
        eq = next(e for e in demo_spec.equipment if e.type == "wet_bench")
        now = time.time()
        await demo_server.apply([TagUpdate(eq.id, "sc1_temperature", 77.0, now)])
        events: list = []

        def latest(code: str, pred) -> AlarmEvent | None:
            events.extend(client.drain())
            found = [e for e in events if isinstance(e, AlarmEvent) and e.code == code and pred(e)]
            return found[-1] if found else None

        code = "sc1_temperature.hi"
        assert await wait_for(lambda: latest(code, lambda e: e.active) is not None, 10)
        alarm = latest(code, lambda e: e.active)
        assert alarm is not None and alarm.priority == "high" and not alarm.suppressed
        await client.shelve(alarm, ShelvingState.TIMED, 3600.0, "bath heater under repair", "bob")
        assert await wait_for(
            lambda: latest(code, lambda e: e.shelving is ShelvingState.TIMED) is not None, 10
        )
        shelved = latest(code, lambda e: e.shelving is ShelvingState.TIMED)
        assert shelved is not None and shelved.suppressed
        assert 3500 < shelved.unshelve_time_s <= 3600
        assert shelved.comment == "bath heater under repair"
        await client.shelve(alarm, ShelvingState.UNSHELVED, 0.0, "repaired", "bob")
        await client.set_out_of_service(alarm, True, "sensor replaced", "bob")
        assert await wait_for(lambda: latest(code, lambda e: e.out_of_service) is not None, 10)
        await client.set_out_of_service(alarm, False, "", "bob")
        log = [w.tag for w in client.write_log()][-4:]
        assert log == [
            f"shelve:TimedShelved:{code}",
            f"shelve:Unshelved:{code}",
            f"out_of_service:{code}",
            f"in_service:{code}",
        ]
        await demo_server.apply([TagUpdate(eq.id, "sc1_temperature", 70.0, now + 1)])
    finally:
        await client.stop()
