"""Version guard for the asyncua internals fenced in ``factory_twin/opcua/_asyncua_adapter.py``.

Each test checks one internal the adapter relies on, against the installed asyncua, and
fails naming what changed (and which adapter function uses it), so an asyncua upgrade
breaks here first, loudly, not as a hang or a wrong value deep in a server test.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import pytest
import pytest_asyncio
from _server_support import WATCHDOG_S, find_free_port, wait_until
from asyncua import Client, Server, ua
from asyncua.common import event_objects
from asyncua.server import address_space as aspace_mod
from asyncua.server.internal_server import InternalServer
from asyncua.server.internal_subscription import InternalSubscription
from asyncua.server.user_managers import UserManager

from factory_twin.opcua import _asyncua_adapter as adapter
from factory_twin.opcua._uatypes import node_id
from factory_twin.opcua.security import PasswordUserManager
from factory_twin.opcua.server.nodes import READ_WRITE, NodeBatch

ADAPTER = "factory_twin/opcua/_asyncua_adapter.py"


def changed(what: str, used_by: str) -> str:
    return (
        f"asyncua {metadata.version('asyncua')} changed: {what}. {ADAPTER}:{used_by}() relies "
        f"on it (written for asyncua {'.'.join(map(str, adapter.TESTED_ASYNCUA))}.x); adapt "
        "the adapter, then this guard and the asyncua pin in pyproject.toml"
    )


def test_installed_asyncua_is_the_tested_minor_version() -> None:
    installed = tuple(int(p) for p in metadata.version("asyncua").split(".")[:2])
    assert installed == adapter.TESTED_ASYNCUA, (
        f"asyncua {metadata.version('asyncua')} is installed, but {ADAPTER} was written "
        f"against asyncua {'.'.join(map(str, adapter.TESTED_ASYNCUA))}.x (pyproject.toml pins "
        "that range): run this file, fix what it reports, then move TESTED_ASYNCUA and the pin"
    )


def test_address_space_records_keep_their_shape() -> None:
    for name in ("NodeData", "AttributeValue", "AddressSpace"):
        assert hasattr(aspace_mod, name), changed(
            f"asyncua.server.address_space.{name} is gone", "insert_nodes"
        )
    nd = aspace_mod.NodeData(node_id(1, 1))
    assert isinstance(getattr(nd, "attributes", None), dict), changed(
        "NodeData.attributes is no longer a dict", "insert_nodes"
    )
    assert isinstance(getattr(nd, "references", None), list), changed(
        "NodeData.references is no longer a list", "insert_nodes"
    )
    dv = ua.DataValue(ua.Variant(1.0))
    assert aspace_mod.AttributeValue(dv).value is dv, changed(
        "AttributeValue(dv).value no longer holds the DataValue", "insert_nodes"
    )
    space = aspace_mod.AddressSpace
    for method in ("get", "__getitem__", "__setitem__", "__contains__"):
        assert callable(getattr(space, method, None)), changed(
            f"AddressSpace.{method} is gone", "insert_nodes"
        )
    write = getattr(space, "write_attribute_value", None)
    assert write is not None and inspect.iscoroutinefunction(write), changed(
        "AddressSpace.write_attribute_value is gone or no longer a coroutine", "value_writer"
    )
    assert list(inspect.signature(write).parameters)[1:] == ["nodeid", "attr", "value"], changed(
        f"AddressSpace.write_attribute_value{inspect.signature(write)} takes other arguments",
        "value_writer",
    )


def test_datavalue_can_be_shared() -> None:
    fields = set(getattr(ua.DataValue, "__dataclass_fields__", {}))
    want = {"Value", "StatusCode", "SourceTimestamp", "ServerTimestamp"}
    assert want <= fields, changed(
        f"ua.DataValue lost fields {sorted(want - fields)}", "SharedDataValue"
    )
    now = datetime.now(UTC)
    dv = adapter.shared_value(ua.Variant(2.5, ua.VariantType.Double), now, now)
    assert copy.deepcopy(dv) is dv, changed(
        "a DataValue subclass cannot share copies", "SharedDataValue"
    )
    assert dv.Value is not None and dv.Value.Value == 2.5 and dv.SourceTimestamp == now
    assert not hasattr(dv, "__dict__"), changed(
        "ua.DataValue is no longer a slots dataclass (SharedDataValue has __slots__ = ())",
        "SharedDataValue",
    )


def test_internal_server_parts_are_where_the_adapter_looks() -> None:
    for method in ("subscribe_server_callback", "set_user_manager"):
        assert callable(getattr(InternalServer, method, None)), changed(
            f"InternalServer.{method} is gone", "on_client_write/set_user_manager"
        )
    init = inspect.getsource(InternalServer.__init__)
    for attr in ("aspace", "isession", "node_mgt_service", "subscription_service"):
        assert f"self.{attr} " in init or f"self.{attr}:" in init, changed(
            f"InternalServer no longer sets self.{attr}", "insert_nodes/value_writer/emit_event"
        )
    assert "self.monitored_item_srv" in inspect.getsource(InternalSubscription.__init__), changed(
        "InternalSubscription no longer has monitored_item_srv", "subscription_event_sink"
    )
    ev = event_objects.BaseEvent()
    assert hasattr(ev, "emitting_node"), changed(
        "events no longer carry emitting_node (event routing)", "emit_event/emit_to"
    )
    from asyncua.common.callback import CallbackType, ServerItemCallback

    assert hasattr(CallbackType, "PostWrite"), changed(
        "CallbackType.PostWrite is gone", "on_client_write"
    )
    params = set(inspect.signature(ServerItemCallback.__init__).parameters)
    assert {"request_params", "response_params", "is_external"} <= params, changed(
        "ServerItemCallback lost request_params/response_params/is_external", "on_client_write"
    )
    assert issubclass(PasswordUserManager, UserManager)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def started() -> AsyncIterator[tuple[Server, int, ua.NodeId]]:
    """An asyncua server with one writable Double variable inserted by the adapter."""
    port = find_free_port()
    srv = Server()
    await srv.init()
    srv.set_endpoint(f"opc.tcp://127.0.0.1:{port}/guard/")
    ns = await srv.register_namespace("urn:factory-twin:guard")
    b = NodeBatch()
    obj = b.obj(
        node_id("Guard", ns),
        ua.QualifiedName("Guard", ns),
        node_id(ua.ObjectIds.ObjectsFolder),
        ref=ua.ObjectIds.Organizes,
        notifier=1,
    )
    var = b.var(
        node_id("Guard.x", ns),
        ua.QualifiedName("x", ns),
        obj,
        ua.Variant(0.0, ua.VariantType.Double),
        node_id(ua.ObjectIds.Double),
        access=READ_WRITE,
    )
    b.reference(node_id(ua.ObjectIds.Server), ua.ObjectIds.HasNotifier, obj, ua.NodeClass.Object)
    assert b.flush(srv) == 2
    adapter.set_user_manager(srv, PasswordUserManager())
    assert isinstance(srv.iserver.user_manager, PasswordUserManager), changed(
        "set_user_manager no longer sets InternalServer.user_manager", "set_user_manager"
    )
    with adapter.quiet_server_start():
        await srv.start()
    try:
        yield srv, port, var
    finally:
        await srv.stop()


@pytest.mark.asyncio(loop_scope="module")
async def test_inserted_nodes_browse_read_and_write(
    started: tuple[Server, int, ua.NodeId],
) -> None:
    srv, port, var = started
    assert adapter.listening_port(srv) == port, changed(
        "Server.bserver.port is not the listening port", "listening_port"
    )
    status = await adapter.value_writer(srv)(
        var, ua.AttributeIds.Value, ua.DataValue(ua.Variant(1.5, ua.VariantType.Double))
    )
    assert status.is_good(), changed(f"write_attribute_value answered {status}", "value_writer")
    writes: list[tuple[ua.NodeId, Any]] = []

    async def got(batch: list[tuple[ua.NodeId, Any]]) -> None:
        writes.extend(batch)

    adapter.on_client_write(srv, got)
    async with Client(f"opc.tcp://127.0.0.1:{port}/guard/", watchdog_intervall=WATCHDOG_S) as c:
        node = c.get_node(var)
        assert await node.read_value() == 1.5, changed(
            "a value written with write_attribute_value is not read back", "value_writer"
        )
        assert (await node.read_browse_name()).Name == "x", changed(
            "a NodeData record inserted directly is not served", "insert_nodes"
        )
        parent = await node.get_parent()
        assert parent is not None and parent.nodeid == node_id("Guard", var.NamespaceIndex), (
            changed("inserted references are not browsed", "insert_nodes")
        )
        await node.write_value(ua.DataValue(ua.Variant(7.0, ua.VariantType.Double)))
        await wait_until(lambda: writes, timeout=5, what="the PostWrite callback")
        assert writes == [(var, 7.0)], changed(
            f"the PostWrite callback passed {writes}", "on_client_write"
        )


@pytest.mark.asyncio(loop_scope="module")
async def test_events_reach_subscriptions(started: tuple[Server, int, ua.NodeId]) -> None:
    srv, port, _ = started
    events: list[Any] = []

    class Handler:
        def event_notification(self, event: Any) -> None:
            events.append(event)

    async with Client(f"opc.tcp://127.0.0.1:{port}/guard/", watchdog_intervall=WATCHDOG_S) as c:
        sub = await c.create_subscription(50, Handler())
        await sub.subscribe_events(c.get_node(ua.ObjectIds.Server))
        ev: Any = event_objects.BaseEvent()
        ev.SourceName = "guard"
        ev.Message = ua.LocalizedText("broadcast")
        ev.EventId = b"guard-1"
        await adapter.emit_event(srv, ev, node_id(ua.ObjectIds.Server))
        await wait_until(lambda: events, timeout=5, what="an event sent with emit_event")
        sink = adapter.subscription_event_sink(srv, sub.subscription_id)
        assert sink is not None, changed(
            "subscription_service.subscriptions[id] is not the client's subscription",
            "subscription_event_sink",
        )
        assert adapter.subscription_event_sink(srv, 987654) is None
        ev2: Any = event_objects.BaseEvent()
        ev2.Message = ua.LocalizedText("one subscription")
        ev2.EventId = b"guard-2"
        await adapter.emit_to(sink, ev2, node_id(ua.ObjectIds.Server))
        await wait_until(lambda: len(events) >= 2, timeout=5, what="an event sent with emit_to")
        assert [e.Message.Text for e in events] == ["broadcast", "one subscription"]
        await sub.delete()
        await asyncio.sleep(0)


def test_method_calls_go_through_the_session_the_server_created() -> None:
    from asyncua.server import uaprocessor
    from asyncua.server.internal_session import InternalSession

    assert callable(getattr(InternalServer, "create_session", None)), changed(
        "InternalServer.create_session is gone", "track_calling_user"
    )
    src = inspect.getsource(uaprocessor)
    assert "self.iserver.create_session(" in src and "await self.session.call(" in src, changed(
        "the UA processor no longer makes its session with iserver.create_session or no "
        "longer serves Call through session.call",
        "track_calling_user",
    )
    assert "self.user" in inspect.getsource(InternalSession.activate_session), changed(
        "InternalSession.activate_session no longer sets self.user", "track_calling_user"
    )
    params = list(inspect.signature(InternalSession.create_session).parameters)
    assert params[:2] == ["self", "params"], changed(
        "InternalSession.create_session no longer takes the CreateSession parameters first",
        "calling_session (track_calling_user)",
    )


async def test_stop_server_closes_client_connections_and_frees_the_port() -> None:
    port = find_free_port()
    srv = Server()
    await srv.init()
    srv.set_endpoint(f"opc.tcp://127.0.0.1:{port}/guard-stop/")
    with adapter.quiet_server_start():
        await srv.start()
    client = Client(f"opc.tcp://127.0.0.1:{port}/guard-stop/", watchdog_intervall=WATCHDOG_S)
    await client.connect()
    # a second connection that never says Hello: it is accepted and must be closed too
    _, raw = await asyncio.open_connection("127.0.0.1", port)
    await wait_until(
        lambda: len(srv.iserver.asyncio_transports) == 2, timeout=5, what="two server transports"
    )
    assert all(hasattr(t, "abort") for t in srv.iserver.asyncio_transports), changed(
        "InternalServer.asyncio_transports no longer holds the connections' transports",
        "stop_server",
    )
    assert isinstance(srv.bserver._server, asyncio.Server), changed(
        "Server.bserver._server is not the listening asyncio.Server", "stop_server"
    )
    stopping = asyncio.ensure_future(adapter.stop_server(srv, timeout_s=10.0))
    await asyncio.sleep(0)  # the stop has begun: no new connection may reach the server now
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    assert await stopping
    assert srv.iserver.asyncio_transports == []
    raw.close()
    with contextlib.suppress(Exception):
        await client.disconnect()
    again = Server()  # the port is free again at once
    await again.init()
    again.set_endpoint(f"opc.tcp://127.0.0.1:{port}/guard-stop/")
    await again.start()
    assert await adapter.stop_server(again)
