"""Every use of asyncua's *server internals* in factory_twin, fenced in one module.

The plant simulator server (:mod:`factory_twin.opcua.server`) needs more speed and more
control than asyncua's public ``Server`` API gives, so it reaches into asyncua's insides.
All of those reaches are here and nowhere else; ``tests/opcua/test_asyncua_guard.py`` checks
each one against the installed asyncua and fails naming what changed, and ``pyproject.toml``
pins asyncua to the tested minor range (:data:`TESTED_ASYNCUA`).

What is fenced, and why:

* the session user of a method call (:func:`track_calling_user`): asyncua gives a method
  callback no session, and the alarm log must name who acknowledged or shelved;

* **Bulk node loading** (:func:`insert_nodes`): nodes are written straight into
  ``InternalServer.aspace`` as ``asyncua.server.address_space.NodeData`` /
  ``AttributeValue`` records, about 10x faster than the AddNodes service for a big plant.
  Types and references still go through ``iserver.node_mgt_service`` (:func:`add_type_nodes`,
  :func:`add_references`).
* **The write path** (:func:`value_writer`): ``iserver.aspace.write_attribute_value``, about
  1.7x cheaper per write than ``Node.write_value``.
* **A DataValue subclass** (:class:`SharedDataValue`): asyncua deep-copies a written DataValue
  once per monitored item; ours are never mutated, so the copy is the object itself.
* **Sessions** (:func:`add_method_callback`): method handlers are bound on
  ``iserver.isession``; **client writes** (:func:`on_client_write`) come from the
  ``PostWrite`` server callback (``ServerItemCallback.request_params/response_params``).
* **Subscriptions and events** (:func:`emit_event`, :func:`subscription_event_sink`):
  ``iserver.subscription_service.trigger_event``, ``.subscriptions[id].monitored_item_srv``
  and the ``Event.emitting_node`` routing field (ConditionRefresh answers one subscription).
* **The listening socket** (:func:`listening_port`): ``Server.bserver.port``.
* **The user manager** (:func:`set_user_manager`): ``iserver.set_user_manager``.
* **asyncua's start-up logger name** (:data:`SERVER_LOGGER`), silenced around a bind failure.
* **Stopping** (:func:`stop_server`): ``Server.bserver._server``, the listening socket closed
  before the connections, and ``iserver.asyncio_transports``, the client connections aborted
  when asyncua's graceful stop waits too long for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from asyncua import ua
from asyncua.common.callback import CallbackType
from asyncua.server.address_space import AttributeValue, NodeData

from factory_twin.opcua._uatypes import node_id

if TYPE_CHECKING:
    from asyncua import Server
    from asyncua.server.user_managers import UserManager

TESTED_ASYNCUA = (2, 1)
"""The asyncua minor version these internals were written and tested against."""

logger = logging.getLogger(__name__)
SERVER_LOGGER = "asyncua.server.server"
"""The logger asyncua's ``Server.start`` reports a bind failure on (with a traceback)."""

ValueWriter = Callable[[ua.NodeId, ua.AttributeIds, ua.DataValue], Awaitable[ua.StatusCode]]
ClientWriteHandler = Callable[[list[tuple[ua.NodeId, Any]]], Awaitable[None]]


class EventSink(Protocol):
    """What an event can be sent to: one subscription's monitored items."""

    async def trigger_event(self, event: Any, mid: int | None = None) -> bool:
        """Send ``event`` to the monitored items watching its emitting node."""
        ...


class SharedDataValue(ua.DataValue):
    """A DataValue that is never mutated after it is written, so copies may share it.

    asyncua deep-copies the DataValue of every write once per monitored item (about 100 µs
    with two timestamps, i.e. most of the cost of an update). Our values are scalars in
    fresh objects that nothing mutates, so the "copy" can be the object itself.
    """

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedDataValue:
        return self


def shared_value(
    variant: ua.Variant,
    source_ts: datetime,
    server_ts: datetime,
    status: ua.StatusCode | None = None,
) -> SharedDataValue:
    """Return a :class:`SharedDataValue` (Good unless ``status`` says otherwise)."""
    if status is None:
        # asyncua types the timestamps as ua.DateTime, a datetime subclass it never requires
        return SharedDataValue(
            variant,
            SourceTimestamp=source_ts,  # type: ignore[arg-type]
            ServerTimestamp=server_ts,  # type: ignore[arg-type]
        )
    return SharedDataValue(
        variant,
        StatusCode=status,
        SourceTimestamp=source_ts,  # type: ignore[arg-type]
        ServerTimestamp=server_ts,  # type: ignore[arg-type]
    )


class NodeRecord(NamedTuple):
    """One node for :func:`insert_nodes`: its attributes, its parent and its type."""

    node_id: ua.NodeId
    name: ua.QualifiedName
    node_class: ua.NodeClass
    parent: ua.NodeId
    reference: int
    type_definition: ua.NodeId | None
    description: str
    attributes: dict[ua.AttributeIds, ua.DataValue]


_Names = tuple[ua.QualifiedName, ua.LocalizedText, ua.NodeClass, ua.NodeId]


def _attribute(nd: NodeData, attr: ua.AttributeIds) -> Any:
    """Return the plain value of one attribute of an address-space record."""
    av = nd.attributes.get(attr)
    dv = av.value if av is not None else None
    if dv is None or dv.Value is None:
        msg = f"node {nd.nodeid.to_string()} has no {attr.name} attribute"
        raise RuntimeError(msg)
    return dv.Value.Value


def insert_nodes(server: Server, nodes: Sequence[NodeRecord]) -> int:
    """Write ``nodes`` straight into the address space, with their references both ways.

    A parent (or type definition) must exist already or come earlier in ``nodes``.
    Immutable attribute values (names, data types, masks) are shared between nodes.

    Raises
    ------
    RuntimeError
        If a node id is taken or a parent does not exist.
    """
    aspace = server.iserver.aspace
    A, V = ua.AttributeIds, ua.VariantType
    zero = ua.DataValue(ua.Variant(0, V.UInt32))
    class_dv: dict[ua.NodeClass, ua.DataValue] = {}
    refids: dict[int, ua.NodeId] = {}
    # Inverse reference of each child to its parent, shared by all siblings.
    up: dict[tuple[ua.NodeId, int], ua.ReferenceDescription] = {}
    typeref: dict[ua.NodeId, ua.ReferenceDescription] = {}
    names: dict[ua.NodeId, _Names] = {}
    has_typedef = node_id(ua.ObjectIds.HasTypeDefinition)
    name_cache: dict[tuple[int, str, str], tuple[Any, ...]] = {}

    def info(nid: ua.NodeId) -> _Names:
        got = names.get(nid)
        if got is None:
            nd = aspace.get(nid)
            if nd is None:
                msg = f"cannot add a node under {nid.to_string()}: no such node"
                raise RuntimeError(msg)
            td = ua.NodeId()
            for r in nd.references:
                if r.IsForward and r.ReferenceTypeId == has_typedef:
                    td = r.NodeId
                    break
            got = names[nid] = (
                _attribute(nd, A.BrowseName),
                _attribute(nd, A.DisplayName),
                ua.NodeClass(_attribute(nd, A.NodeClass)),
                td,
            )
        return got

    for nid, qname, nclass, parent, ref, typedef, description, extra in nodes:
        if nid in aspace:
            msg = f"cannot add node {nid.to_string()}: the node id is taken"
            raise RuntimeError(msg)
        refid = refids.get(ref)
        if refid is None:
            refid = refids[ref] = node_id(ref)
        # Names repeat from tool to tool (every etcher has a 'chamber_pressure'), so their
        # attribute values are made once and shared; only the NodeId is per node.
        nkey = (qname.NamespaceIndex, qname.Name, description)
        named = name_cache.get(nkey)
        if named is None:
            ltext = ua.LocalizedText(qname.Name)
            named = name_cache[nkey] = (
                ltext,
                ua.DataValue(ua.Variant(qname, V.QualifiedName)),
                ua.DataValue(ua.Variant(ltext, V.LocalizedText)),
                ua.DataValue(
                    ua.Variant(ua.LocalizedText(description or qname.Name), V.LocalizedText)
                ),
            )
        dname, bn_dv, dn_dv, desc_dv = named
        cdv = class_dv.get(nclass)
        if cdv is None:
            cdv = class_dv[nclass] = ua.DataValue(ua.Variant(nclass.value, V.Int32))
        nd = NodeData(nid)
        a = nd.attributes
        a[A.NodeId] = AttributeValue(ua.DataValue(ua.Variant(nid, V.NodeId)))
        a[A.NodeClass] = AttributeValue(cdv)
        a[A.BrowseName] = AttributeValue(bn_dv)
        a[A.DisplayName] = AttributeValue(dn_dv)
        a[A.Description] = AttributeValue(desc_dv)
        a[A.WriteMask] = AttributeValue(zero)
        a[A.UserWriteMask] = AttributeValue(zero)
        for k, dv in extra.items():
            a[k] = AttributeValue(dv)
        aspace[nid] = nd
        pname, pdname, pclass, ptd = info(parent)
        pdata = aspace[parent]
        pdata.references.append(
            ua.ReferenceDescription(
                ReferenceTypeId=refid,
                IsForward=True,
                NodeId=nid,
                BrowseName=qname,
                DisplayName=dname,
                NodeClass=nclass,
                TypeDefinition=typedef if typedef is not None else ua.NodeId(),
            )
        )
        key = (parent, ref)
        back = up.get(key)
        if back is None:
            back = up[key] = ua.ReferenceDescription(
                ReferenceTypeId=refid,
                IsForward=False,
                NodeId=parent,
                BrowseName=pname,
                DisplayName=pdname,
                NodeClass=pclass,
                TypeDefinition=ptd,
            )
        nd.references.append(back)
        if typedef is not None:
            tref = typeref.get(typedef)
            if tref is None:
                tname, tdname, tclass, _ = info(typedef)
                tref = typeref[typedef] = ua.ReferenceDescription(
                    ReferenceTypeId=has_typedef,
                    IsForward=True,
                    NodeId=typedef,
                    BrowseName=tname,
                    DisplayName=tdname,
                    NodeClass=tclass,
                )
            nd.references.append(tref)
        names[nid] = (qname, dname, nclass, typedef if typedef is not None else ua.NodeId())
    return len(nodes)


def add_type_nodes(server: Server, items: list[ua.AddNodesItem]) -> None:
    """Add (type) nodes through the AddNodes service; raise if one is refused."""
    results = server.iserver.node_mgt_service.add_nodes(items)
    for item, res in zip(items, results, strict=True):
        if not res.StatusCode.is_good():
            msg = f"cannot add node {item.RequestedNewNodeId.to_string()}: {res.StatusCode.name}"
            raise RuntimeError(msg)


def add_references(server: Server, refs: list[ua.AddReferencesItem]) -> None:
    """Add references through the AddReferences service; raise if one is refused."""
    results = server.iserver.node_mgt_service.add_references(refs)
    for r, st in zip(refs, results, strict=True):
        if not st.is_good():
            msg = (
                f"cannot add reference {r.SourceNodeId.to_string()} -> "
                f"{r.TargetNodeId.to_string()}: {st.name}"
            )
            raise RuntimeError(msg)


def value_writer(server: Server) -> ValueWriter:
    """Return the address space's own ``write_attribute_value`` (no service overhead)."""
    return server.iserver.aspace.write_attribute_value


def add_method_callback(
    server: Server, method_id: ua.NodeId, callback: Callable[..., Any]
) -> None:
    """Run ``callback(parent, *args)`` when a client calls method ``method_id``."""
    server.iserver.isession.add_method_callback(method_id, callback)


def on_client_write(server: Server, handler: ClientWriteHandler) -> None:
    """Call ``handler([(node_id, value), ...])`` after each accepted client write of values.

    Only writes from clients (not the server's own), with a Good result, of the Value
    attribute and with a value are passed on.
    """

    async def post_write(event: Any, dispatcher: Any) -> None:
        params, results = event.request_params, event.response_params
        if not event.is_external or results is None:
            return
        writes = [
            (wv.NodeId, wv.Value.Value.Value)
            for wv, st in zip(params.NodesToWrite, results, strict=False)
            if st.is_good()
            and wv.AttributeId == ua.AttributeIds.Value
            and wv.Value.Value is not None
        ]
        if writes:
            await handler(writes)

    # asyncua types the event name as str; the CallbackType members are what it dispatches on
    server.iserver.subscribe_server_callback(CallbackType.PostWrite, post_write)  # type: ignore[arg-type]


async def emit_event(server: Server, event: Any, emitter: ua.NodeId) -> None:
    """Send ``event`` to every subscription watching events of node ``emitter``.

    asyncua remembers the last emitted copy of a retained condition for ConditionRefresh.
    """
    event.emitting_node = emitter
    await server.iserver.subscription_service.trigger_event(event)


def subscription_event_sink(server: Server, subscription_id: int) -> EventSink | None:
    """Return the monitored items of one subscription (None if there is no such one)."""
    sub = server.iserver.subscription_service.subscriptions.get(subscription_id)
    return None if sub is None else sub.monitored_item_srv


async def emit_to(sink: EventSink, event: Any, emitter: ua.NodeId) -> None:
    """Send ``event``, as emitted by node ``emitter``, to one subscription's items."""
    event.emitting_node = emitter
    await sink.trigger_event(event)


_CALLING_USER: contextvars.ContextVar[str] = contextvars.ContextVar(
    "factory_twin_calling_user", default=""
)


def track_calling_user(server: Server) -> None:
    """Make :func:`calling_user` name the session user during its method calls on ``server``.

    asyncua passes a method callback only the object and the arguments; the session (and
    its user) stays in the processor. Each new session's ``call`` is wrapped to set a
    context variable for the duration of the call (asyncua awaits the callbacks inside it).
    """
    iserver = server.iserver
    if getattr(iserver, "_factory_twin_tracks_user", False):
        return
    create = iserver.create_session

    def create_session(*args: Any, **kwargs: Any) -> Any:
        session = create(*args, **kwargs)
        call = session.call
        open_session = session.create_session

        async def create_named(params: Any, *rest: Any, **kw: Any) -> Any:
            # the client's SessionName: asyncua's session keeps only the peer address
            session._factory_twin_session_name = str(getattr(params, "SessionName", "") or "")  # type: ignore[attr-defined]
            return await open_session(params, *rest, **kw)

        session.create_session = create_named  # type: ignore[method-assign]

        async def call_as_user(params: Any) -> Any:
            user = getattr(session, "user", None)
            name = getattr(user, "name", None) or "anonymous"
            token = _CALLING_USER.set(str(name))
            stoken = _CALLING_SESSION.set(getattr(session, "_factory_twin_session_name", ""))
            itoken = _CALLING_SESSION_ID.set(str(getattr(session, "session_id", id(session))))
            try:
                return await call(params)
            finally:
                _CALLING_SESSION_ID.reset(itoken)
                _CALLING_SESSION.reset(stoken)
                _CALLING_USER.reset(token)

        session.call = call_as_user  # type: ignore[method-assign]
        return session

    iserver.create_session = create_session  # type: ignore[method-assign]
    iserver._factory_twin_tracks_user = True  # type: ignore[attr-defined]


_CALLING_SESSION: contextvars.ContextVar[str] = contextvars.ContextVar(
    "factory_twin_calling_session", default=""
)


_CALLING_SESSION_ID: contextvars.ContextVar[str] = contextvars.ContextVar(
    "factory_twin_calling_session_id", default=""
)


def calling_session_id() -> str:
    """Return the server's id of the session whose method call is being served ('' outside
    one): unique per session, a reconnect gets a new one."""
    return _CALLING_SESSION_ID.get()


def calling_session() -> str:
    """Return the session name (the client's SessionName) of the method call being served."""
    return _CALLING_SESSION.get()


def calling_user() -> str:
    """Return the user of the session whose method call is being served ('' outside one)."""
    return _CALLING_USER.get()


def listening_port(server: Server) -> int | None:
    """Return the TCP port a started server listens on (the real one for port 0)."""
    bserver = server.bserver
    return None if bserver is None else bserver.port


def set_user_manager(server: Server, manager: UserManager) -> None:
    """Make ``manager`` decide who may open a session."""
    server.iserver.set_user_manager(manager)


@contextlib.contextmanager
def quiet_server_start() -> Iterator[None]:
    """Silence asyncua's own report of a bind failure (the caller raises a clear one)."""
    log = logging.getLogger(SERVER_LOGGER)
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


async def stop_server(server: Server, timeout_s: float = 10.0) -> bool:
    """Stop ``server`` within about ``timeout_s`` seconds; return False if it had to force it.

    asyncua's ``Server.stop`` closes each client connection gracefully and then waits until
    every connection has detached from the listening socket. A client that stops reading
    (its unsent data never drains) or a connection accepted at the instant of stopping makes
    that wait endless. After ``timeout_s`` the connections still open are aborted (no flush);
    if the stop still hangs it is abandoned and the internal server is stopped directly, so
    the port is free and no task is left running either way.

    The listening socket is closed first (``Server.bserver._server``): asyncua closes it only
    after the client connections, so a reconnecting client could open a new connection to
    the stopping server, get a session and lose it again (and that connection kept the stop
    waiting).
    """
    bserver = server.bserver
    listener = None if bserver is None else bserver._server
    if listener is not None:
        listener.close()
    task = asyncio.ensure_future(server.stop())
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if task in done:
        task.result()
        return True
    logger.warning(
        "OPC UA server stop waited %.0f s for client connections: aborting them", timeout_s
    )
    for transport in list(server.iserver.asyncio_transports):
        transport.abort()
    done, _ = await asyncio.wait({task}, timeout=2.0)
    if task in done:
        task.result()
        return False
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    with contextlib.suppress(Exception):
        await asyncio.wait_for(server.iserver.stop(), 5.0)
    return False
