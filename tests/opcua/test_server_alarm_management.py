"""ISA-18.2 alarm management on the plant simulator server, driven by a real asyncua client.

Priority per limit, state-based alarming, shelving (the ShelvedStateMachine methods),
out of service, and the session user in the server's alarm log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from _server_support import WATCHDOG_S, find_free_port, wait_until
from asyncua import Client, ua
from asyncua.ua.uaerrors import UaStatusCodeError

from factory_twin.model.config import loads_plant
from factory_twin.model.events import (
    AlarmPriority,
    E10State,
    ShelvingState,
    StateChange,
    TagUpdate,
)
from factory_twin.model.schema import PlantSpec
from factory_twin.opcua.server import NAMESPACE_URI, PlantServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

MINI = Path(__file__).parents[1] / "data" / "mini_plant.yaml"
# chamber_pressure: normal [2, 6], idle 0.1; the lo limit (1) is violated at idle, so it is
# active only while productive (the default), armed 5 s after the tool starts processing.
LIMITS = "alarms: {lo: 1, hi: 8, hihi: 10, priority: {hi: low, lo: high}, settle_s: 5}"


@pytest.fixture(scope="module")
def spec() -> PlantSpec:
    text = MINI.read_text(encoding="utf-8").replace("alarms: {hi: 8, hihi: 10}", LIMITS)
    assert LIMITS in text
    return loads_plant(text).spec


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(spec: PlantSpec, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    srv = PlantServer(
        spec,
        endpoint=f"opc.tcp://127.0.0.1:{find_free_port()}/alarms/",
        users={"alice": "wonder"},
        cert_dir=tmp_path_factory.mktemp("pki"),
        load_companion_specs=False,
    )
    await srv.start()
    yield srv
    await srv.stop()


class Events:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def event_notification(self, event: Any) -> None:
        self.events.append(event)

    def of(self, name: str) -> list[Any]:
        return [e for e in self.events if getattr(e, "ConditionName", None) == name]


def client(srv: PlantServer) -> Client:
    c = Client(srv.endpoint_url, timeout=10, watchdog_intervall=WATCHDOG_S)
    c.set_user("alice")
    c.set_password("wonder")
    return c


async def subscribe(c: Client) -> Events:
    h = Events()
    sub = await c.create_subscription(50, h)
    await sub.subscribe_alarms_and_conditions(c.nodes.server, ua.ObjectIds.AlarmConditionType)
    return h


def log_of(srv: PlantServer, alarm_id: str) -> list[Any]:
    return [r for r in srv.alarm_log if r.alarm_id == alarm_id]


async def test_priority_from_the_plant_file_is_the_severity(server: PlantServer) -> None:
    await server.apply([TagUpdate("ETCH-01", "chamber_pressure", 9.0, 10.0)])
    await server.apply([TagUpdate("ETCH-01", "chamber_pressure", 11.0, 11.0)])
    hi = log_of(server, "ETCH-01.chamber_pressure.hi")[-1]
    hihi = log_of(server, "ETCH-01.chamber_pressure.hihi")[-1]
    assert hi.severity == AlarmPriority.LOW.severity and hi.priority == "low"
    assert hihi.severity == AlarmPriority.CRITICAL.severity  # the default of hihi
    await server.apply([TagUpdate("ETCH-01", "chamber_pressure", 4.0, 12.0)])
    assert not log_of(server, "ETCH-01.chamber_pressure.hihi")[-1].active


async def test_state_based_low_limit(server: PlantServer) -> None:
    aid = "ETCH-02.chamber_pressure.lo"
    # idle at 0.1 Pa, far below the low limit: no alarm while standby
    await server.apply([StateChange("ETCH-02", E10State.STANDBY, 100.0)])
    await server.apply([TagUpdate("ETCH-02", "chamber_pressure", 0.1, 101.0)])
    assert log_of(server, aid) == []
    # processing: not armed during the settle time, then armed
    await server.apply([StateChange("ETCH-02", E10State.PRODUCTIVE, 200.0)])
    await server.apply([TagUpdate("ETCH-02", "chamber_pressure", 0.5, 203.0)])
    assert log_of(server, aid) == []
    await server.apply([TagUpdate("ETCH-02", "chamber_pressure", 0.5, 206.0)])
    raised = log_of(server, aid)
    assert raised and raised[-1].active
    assert raised[-1].severity == AlarmPriority.HIGH.severity
    # leaving the active state returns it to normal at once
    await server.apply([StateChange("ETCH-02", E10State.STANDBY, 300.0)])
    last = log_of(server, aid)[-1]
    assert not last.active and "standby" in last.message


async def test_timed_shelve_one_shot_unshelve_with_user(server: PlantServer) -> None:
    aid = "ETCH-01.chamber_pressure.hi"
    await server.apply([TagUpdate("ETCH-01", "chamber_pressure", 9.0, 400.0)])
    async with client(server) as c:
        ns = await c.get_namespace_index(NAMESPACE_URI)
        h = await subscribe(c)
        cond = c.get_node(f"ns={ns};s=ETCH-01.Alarms.chamber_pressure.hi")
        shelving = await cond.get_child("0:ShelvingState")
        timed = ua.NodeId(ua.ObjectIds.ShelvedStateMachineType_TimedShelve2)
        await shelving.call_method(
            timed,
            ua.Variant(400.0, ua.VariantType.Double),
            ua.Variant(ua.LocalizedText("sensor being replaced"), ua.VariantType.LocalizedText),
        )
        rec = log_of(server, aid)[-1]
        assert rec.shelving is ShelvingState.TIMED and rec.suppressed
        assert (rec.user, rec.comment) == ("alice", "sensor being replaced")
        ev = (await wait_until(lambda: h.of("chamber_pressure.hi"), what="shelve event"))[-1]
        assert ev.SuppressedOrShelved is True
        assert getattr(ev, "ShelvingState/CurrentState").Text == "TimedShelved"
        # shelving again the same way is refused; the time runs out on its own
        with pytest.raises(UaStatusCodeError, match="BadConditionAlreadyShelved"):
            await shelving.call_method(timed, ua.Variant(400.0, ua.VariantType.Double))
        await wait_until(
            lambda: log_of(server, aid)[-1].shelving is ShelvingState.UNSHELVED, what="expiry"
        )
        assert "expired" in log_of(server, aid)[-1].message
        # one-shot: ends when the alarm returns to normal
        await shelving.call_method(ua.NodeId(ua.ObjectIds.ShelvedStateMachineType_OneShotShelve))
        assert log_of(server, aid)[-1].shelving is ShelvingState.ONE_SHOT
        await server.apply([TagUpdate("ETCH-01", "chamber_pressure", 4.0, 401.0)])
        back = log_of(server, aid)[-1]
        assert not back.active and back.shelving is ShelvingState.UNSHELVED
        unshelve = ua.NodeId(ua.ObjectIds.ShelvedStateMachineType_Unshelve)
        with pytest.raises(UaStatusCodeError, match="BadConditionNotShelved"):
            await shelving.call_method(unshelve)


async def test_out_of_service_and_acknowledge_log_the_session_user(
    server: PlantServer,
) -> None:
    aid = "ETCH-02.chamber_pressure.hihi"
    async with client(server) as c:
        ns = await c.get_namespace_index(NAMESPACE_URI)
        h = await subscribe(c)
        cond = c.get_node(f"ns={ns};s=ETCH-02.Alarms.chamber_pressure.hihi")
        await cond.call_method(
            ua.NodeId(ua.ObjectIds.AlarmConditionType_RemoveFromService2),
            ua.Variant(
                ua.LocalizedText("transmitter out for calibration"), ua.VariantType.LocalizedText
            ),
        )
        rec = log_of(server, aid)[-1]
        assert rec.out_of_service and rec.suppressed and rec.user == "alice"
        await server.apply([TagUpdate("ETCH-02", "chamber_pressure", 12.0, 500.0)])
        raised = log_of(server, aid)[-1]
        assert raised.active and raised.out_of_service  # still evaluated and logged
        ev = (
            await wait_until(
                lambda: [e for e in h.of("chamber_pressure.hihi") if getattr(e, "ActiveState/Id")],
                what="raised event",
            )
        )[-1]
        assert getattr(ev, "OutOfServiceState/Id") is True
        await cond.call_method(
            ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge),
            ua.Variant(ev.EventId, ua.VariantType.ByteString),
            ua.LocalizedText("seen"),
        )
        acked = log_of(server, aid)[-1]
        assert acked.acked and acked.user == "alice"  # the session's user, not ''
        await cond.call_method(ua.NodeId(ua.ObjectIds.AlarmConditionType_PlaceInService))
        assert not log_of(server, aid)[-1].out_of_service


async def test_anonymous_session_is_logged_as_anonymous(spec: PlantSpec) -> None:
    srv = PlantServer(
        spec, endpoint=f"opc.tcp://127.0.0.1:{find_free_port()}/anon/", load_companion_specs=False
    )
    async with srv, Client(srv.endpoint_url, timeout=10, watchdog_intervall=WATCHDOG_S) as c:
        ns = await c.get_namespace_index(NAMESPACE_URI)
        cond = c.get_node(f"ns={ns};s=ETCH-01.Alarms.chamber_pressure.hi")
        shelving = await cond.get_child("0:ShelvingState")
        await shelving.call_method(ua.NodeId(ua.ObjectIds.ShelvedStateMachineType_OneShotShelve))
        assert srv.alarm_log[-1].user == "anonymous"
