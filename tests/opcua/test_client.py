"""PlantClient against real asyncua servers on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_asyncio
from _client_support import free_port, plant_spec, start_server, wait_for
from asyncua import ua

from factory_twin.errors import ConnectionFailed
from factory_twin.model.events import AlarmEvent, ConnectionStatus, E10State, Quality, TagUpdate
from factory_twin.opcua.client import PlantClient, WriteRefused

pytestmark = pytest.mark.timeout(90)


class Collector:
    """Drains a client into lists while tests poll for conditions."""

    def __init__(self, client: PlantClient) -> None:
        self.client = client
        self.events: list = []

    def pump(self) -> list:
        new = self.client.drain()
        self.events.extend(new)
        return new

    def updates(self, eq: str | None = None, tag: str | None = None) -> list[TagUpdate]:
        self.pump()
        return [
            e
            for e in self.events
            if isinstance(e, TagUpdate)
            and (eq is None or e.equipment == eq)
            and (tag is None or e.tag == tag)
        ]

    def statuses(self) -> list[ConnectionStatus]:
        self.pump()
        return [e for e in self.events if isinstance(e, ConnectionStatus)]

    def alarms(self) -> list[AlarmEvent]:
        self.pump()
        return [e for e in self.events if isinstance(e, AlarmEvent)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server():
    """One convention server shared by the tests that do not stop it."""
    port = free_port()
    spec = plant_spec(port, writes=True)
    srv = await start_server(spec, port)
    yield srv
    await srv.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(server):
    c = PlantClient(
        server.spec, publishing_ms=50, sampling_ms=50, reconnect_initial_s=0.2, reconnect_max_s=1.0
    )
    await c.start()
    assert await c.wait_connected(10), c.status()
    yield c
    await c.stop()


@pytest_asyncio.fixture
async def own_server():
    """A server a test may stop and restart."""
    port = free_port()
    spec = plant_spec(port, writes=True)
    srv = await start_server(spec, port)
    yield srv
    await srv.stop()


shared = pytest.mark.asyncio(loop_scope="module")


@shared
async def test_convention_binding_and_values(server, client):
    col = Collector(client)
    bound = client.bound()
    assert (
        bound[("ETCH-01", "chamber_pressure")]
        == f"ns={server.idx};s=ETCH-01.Parameters.chamber_pressure"
    )
    assert bound[("ETCH-02", "state")] == f"ns={server.idx};s=ETCH-02.State.E10State"
    assert len(bound) == 2 * (4 + 5)
    assert client.problems() == []
    assert client.monitored_item_count() == 18
    await server.set("ETCH-01", "chamber_pressure", 4.5)
    await server.set("ETCH-02", "step", 7)
    await server.set_state("ETCH-01", E10State.PRODUCTIVE)
    assert await wait_for(
        lambda: any(u.value == 4.5 for u in col.updates("ETCH-01", "chamber_pressure"))
    )
    assert await wait_for(lambda: any(u.value == 7 for u in col.updates("ETCH-02", "step")))
    assert await wait_for(
        lambda: any(u.value == "productive" for u in col.updates("ETCH-01", "state"))
    )
    u = next(u for u in col.updates("ETCH-01", "chamber_pressure") if u.value == 4.5)
    assert u.quality is Quality.GOOD and abs(u.source_ts - time.time()) < 30
    assert isinstance(col.updates("ETCH-02", "door_open")[0].value, bool)
    assert col.updates("ETCH-01", "operation_mode")[-1].value == "auto"
    st = client.status()["sim"]
    assert st.connected and "18 tags bound" in st.message


async def test_explicit_bindings_by_node_id_and_browse_path():
    port = free_port()
    spec = plant_spec(port)
    srv = await start_server(spec, port)
    try:
        idx = srv.idx
        text = spec.model_dump(mode="json")
        text["equipment"][0]["opcua"]["tags"] = {
            "chamber_pressure": {"node_id": f"ns={idx};s=ETCH-01.Parameters.rf_power"},
            "rf_power": {
                "browse_path": f"{idx}:Machines/ETCH-01/Parameters/{idx}:chamber_pressure"
            },
            "step": {"browse_path": "Objects/Machines/ETCH-01/Parameters/nothing_here"},
            "door_open": {"node_id": f"ns={idx};s=ETCH-01.Parameters.rf_power"},
        }
        from factory_twin.model.schema import PlantSpec

        spec2 = PlantSpec.model_validate(text)
        c = PlantClient(spec2, publishing_ms=50, sampling_ms=50)
        await c.start()
        assert await c.wait_connected(10)
        col = Collector(c)
        b = c.bound()
        assert b[("ETCH-01", "chamber_pressure")].endswith("ETCH-01.Parameters.rf_power")
        assert b[("ETCH-01", "rf_power")].endswith("ETCH-01.Parameters.chamber_pressure")
        assert ("ETCH-01", "step") not in b and ("ETCH-01", "door_open") not in b
        probs = c.problems()
        assert any("ETCH-01.step" in p and "no such variable" in p for p in probs), probs
        assert any("ETCH-01.door_open" in p and "Double" in p and "bool" in p for p in probs), (
            probs
        )
        # explicitly bound tool: standard tags still bound by convention, not reported
        assert ("ETCH-01", "state") in b
        assert len(probs) == 2
        # the rest keeps working
        await srv.set("ETCH-01", "rf_power", 321.0)
        await srv.set("ETCH-02", "step", 3)
        assert await wait_for(
            lambda: any(u.value == 321.0 for u in col.updates("ETCH-01", "chamber_pressure"))
        )
        assert await wait_for(lambda: any(u.value == 3 for u in col.updates("ETCH-02", "step")))
        # the plant file leaves writes disabled on this endpoint
        with pytest.raises(WriteRefused, match=r"writes are disabled on endpoint 'sim'"):
            await c.write("ETCH-02", "rf_power", 200.0, user="alice")
        assert (
            await srv.server.get_node(srv.nodeid("ETCH-02", "Parameters.rf_power")).read_value()
            == 0.0
        )
        assert c.write_log()[0].user == "alice" and c.write_log()[0].result.startswith("refused")
        await c.stop()
    finally:
        await srv.stop()


@shared
async def test_wrong_type_value_marks_bad_without_exception(server, client, caplog):
    col = Collector(client)
    await server.set_raw("ETCH-01", "chamber_pressure", ua.DataValue(ua.Variant("not a number")))
    assert await wait_for(
        lambda: any(u.quality is Quality.BAD for u in col.updates("ETCH-01", "chamber_pressure"))
    )
    assert col.updates("ETCH-01", "chamber_pressure")[-1].status == "BadTypeMismatch"
    await server.set_raw("ETCH-01", "chamber_pressure", ua.DataValue(ua.Variant("again")))
    await asyncio.sleep(0.2)
    await server.set_raw("ETCH-01", "chamber_pressure", ua.DataValue(ua.Variant(5.0)))
    assert await wait_for(
        lambda: col.updates("ETCH-01", "chamber_pressure")[-1].quality is Quality.GOOD
    )
    # a Bad status from the server marks the tag bad too
    await server.set_raw(
        "ETCH-01",
        "chamber_pressure",
        ua.DataValue(ua.Variant(None), StatusCode=ua.StatusCode(ua.StatusCodes.BadSensorFailure)),
    )
    assert await wait_for(
        lambda: col.updates("ETCH-01", "chamber_pressure")[-1].status == "BadSensorFailure"
    )
    assert col.updates("ETCH-01", "chamber_pressure")[-1].quality is Quality.BAD
    assert col.updates("ETCH-01", "chamber_pressure")[-1].value == 5.0  # last good value kept
    await server.set_raw("ETCH-01", "chamber_pressure", ua.DataValue(ua.Variant(5.5)))
    assert await wait_for(lambda: col.updates("ETCH-01", "chamber_pressure")[-1].value == 5.5)
    assert client.status()["sim"].connected
    warned = [r for r in caplog.records if "marked bad" in r.getMessage()]
    assert len(warned) == 1  # logged once


async def test_dead_endpoint_at_start_retries_with_clear_message():
    port = free_port()
    spec = plant_spec(port)
    c = PlantClient(spec, reconnect_initial_s=0.1, reconnect_max_s=0.4)
    await c.start()
    col = Collector(c)
    assert await wait_for(
        lambda: len([s for s in col.statuses() if "retry" in s.message]) >= 3, 15
    )
    msgs = [s.message for s in col.statuses() if "retry" in s.message]
    assert "connection refused" in msgs[0] and str(port) in msgs[0]
    assert not c.status()["sim"].connected
    # the server comes up: the client connects on its own
    srv = await start_server(spec, port)
    try:
        assert await c.wait_connected(10)
        assert c.status()["sim"].connected
    finally:
        await c.stop()
        await srv.stop()


async def test_server_restart_goes_stale_then_resumes_without_duplicates(own_server):
    server = own_server
    client = PlantClient(
        server.spec, publishing_ms=50, sampling_ms=50, reconnect_initial_s=0.2, reconnect_max_s=1.0
    )
    await client.start()
    assert await client.wait_connected(10)
    col = Collector(client)
    port, spec = server.port, server.spec
    await server.set("ETCH-01", "chamber_pressure", 3.0)
    assert await wait_for(
        lambda: any(u.value == 3.0 for u in col.updates("ETCH-01", "chamber_pressure"))
    )
    await server.raise_alarm("ETCH-02", "chamber_pressure.hi", 800)
    assert await wait_for(lambda: col.alarms())
    n_before = await server.monitored_item_count()
    await server.stop()
    t_stop = time.monotonic()
    assert await wait_for(lambda: any(not s.connected for s in col.statuses()), 5)
    t_detect = time.monotonic() - t_stop
    assert t_detect < 2.5
    stale = [u for u in col.updates() if u.quality is Quality.STALE]
    assert {(u.equipment, u.tag) for u in stale} == set(client.bound())
    assert (
        next(u for u in stale if u.tag == "chamber_pressure" and u.equipment == "ETCH-01").value
        == 3.0
    )
    # writes and acks while disconnected fail with a clear error
    with pytest.raises(ConnectionFailed, match=r"endpoint 'sim' .* is not connected"):
        await client.write("ETCH-01", "rf_power", 200.0, user="alice")
    assert await client.call_method("ETCH-01", "Hold") is False
    # restart on the same port, with an alarm that was raised during the gap
    await asyncio.sleep(0.5)
    srv2 = await start_server(
        spec,
        port,
        state={
            "values": {("ETCH-01", "chamber_pressure"): 6.5},
            "alarms": {"ETCH-01/chamber_pressure.hihi": (900, True)},
        },
    )
    try:
        t0 = time.monotonic()
        assert await wait_for(
            lambda: any(
                u.value == 6.5 and u.quality is Quality.GOOD
                for u in col.updates("ETCH-01", "chamber_pressure")
            ),
            10,
        )
        assert time.monotonic() - t0 < 5
        assert await wait_for(
            lambda: [s for s in col.statuses() if s.connected and s.gap_s is not None]
        )
        back = [s for s in col.statuses() if s.connected and s.gap_s is not None]
        assert back[-1].gap_s >= 0.5 and "back after" in back[-1].message
        # ConditionRefresh replayed the alarm raised while we were away
        assert await wait_for(
            lambda: any(
                a.equipment == "ETCH-01" and a.code == "chamber_pressure.hihi" and a.active
                for a in col.alarms()
            )
        )
        assert (
            await srv2.monitored_item_count() == n_before
        )  # data items + the event item, nothing twice
        assert len(srv2.server.iserver.subscription_service.subscriptions) == 1
        # notifications per change: one value change gives exactly one update
        col.pump()
        col.events.clear()
        await srv2.set("ETCH-02", "rf_power", 222.0)
        assert await wait_for(
            lambda: any(u.value == 222.0 for u in col.updates("ETCH-02", "rf_power"))
        )
        await asyncio.sleep(0.3)
        assert len([u for u in col.updates("ETCH-02", "rf_power") if u.value == 222.0]) == 1
    finally:
        await client.stop()
        await srv2.stop()


@shared
async def test_writes_checked_and_logged(server, client, tmp_path):
    client.write_log_path = tmp_path / "writes.jsonl"
    await client.write("ETCH-01", "rf_power", 250, user="alice")
    val = await server.server.get_node(
        server.nodeid("ETCH-01", "Parameters.rf_power")
    ).read_value()
    assert val == 250.0
    with pytest.raises(WriteRefused, match=r"expected a number"):
        await client.write("ETCH-01", "rf_power", "lots", user="bob")
    with pytest.raises(WriteRefused, match=r"outside the EURange"):
        await client.write("ETCH-01", "rf_power", 99999.0, user="bob")
    with pytest.raises(WriteRefused, match=r"expected a boolean"):
        await client.write("ETCH-01", "door_open", 1, user="bob")
    with pytest.raises(WriteRefused, match=r"not bound"):
        await client.write("ETCH-01", "nope", 1, user="bob")
    await client.write("ETCH-01", "step", 4.0, user="carol")
    assert (
        await server.server.get_node(server.nodeid("ETCH-01", "Parameters.step")).read_value() == 4
    )
    log = client.write_log()
    assert [(r.user, r.result.split(":")[0]) for r in log] == [
        ("alice", "Good"),
        ("bob", "refused"),
        ("bob", "refused"),
        ("bob", "refused"),
        ("bob", "refused"),
        ("carol", "Good"),
    ]
    assert log[0].node_id.endswith("ETCH-01.Parameters.rf_power") and log[0].time_s > 0
    assert len((tmp_path / "writes.jsonl").read_text().splitlines()) == 6


@shared
async def test_alarm_event_and_acknowledge(server, client):
    col = Collector(client)
    await server.raise_alarm(
        "ETCH-01", "chamber_pressure.hi", 750, "ETCH-01 chamber_pressure.hi: 8.4 Pa above 8"
    )
    assert await wait_for(lambda: col.alarms())
    a = col.alarms()[-1]
    assert (a.equipment, a.code, a.severity, a.active, a.acked) == (
        "ETCH-01",
        "chamber_pressure.hi",
        750,
        True,
        False,
    )
    assert a.alarm_id.endswith("ETCH-01.Alarms.chamber_pressure_hi")
    assert a.event_id
    await client.acknowledge(a, "checked the gauge", user="alice")
    assert server.acks == [("ETCH-01/chamber_pressure.hi", a.event_id, "checked the gauge")]
    assert await wait_for(lambda: any(x.acked and x.active for x in col.alarms()))
    acked = next(x for x in col.alarms() if x.acked)
    assert acked.comment == "checked the gauge"
    # acknowledging twice is refused by the server with a clear error
    from factory_twin.opcua.client import WriteFailed

    with pytest.raises(WriteFailed, match=r"acknowledging ETCH-01 chamber_pressure.hi failed"):
        await client.acknowledge(acked, "again", user="alice")


@shared
async def test_call_method(server, client):
    assert await client.call_method("ETCH-02", "Hold") is True
    assert await client.call_method("ETCH-02", "Resume") is True
    assert await client.call_method("ETCH-02", "NoSuchMethod") is False
    assert server.method_calls == [("ETCH-02", "Hold"), ("ETCH-02", "Resume")]


@shared
async def test_deadband_filters_small_changes(server, client):
    db = PlantClient(server.spec, publishing_ms=50, sampling_ms=50, deadband=1.0)
    await db.start()
    try:
        assert await db.wait_connected(10)
        col, ref = Collector(db), Collector(client)
        for v in (10.0, 10.4, 10.8, 12.5):
            await server.set("ETCH-02", "chamber_pressure", v)
            assert await wait_for(
                lambda v=v: any(u.value == v for u in ref.updates("ETCH-02", "chamber_pressure"))
            )
        assert await wait_for(
            lambda: any(u.value == 12.5 for u in col.updates("ETCH-02", "chamber_pressure"))
        )
        seen = [u.value for u in col.updates("ETCH-02", "chamber_pressure")]
        assert 10.0 in seen and 12.5 in seen
        assert 10.4 not in seen and 10.8 not in seen  # within 1.0 of the last reported value
        # tags that are not numbers are not filtered
        await server.set("ETCH-02", "door_open", True)
        assert await wait_for(
            lambda: any(u.value is True for u in col.updates("ETCH-02", "door_open"))
        )
    finally:
        await db.stop()
