"""The plant client: live tag values and alarms from the plant's OPC UA servers.

:class:`PlantClient` connects to every endpoint of a plant file, binds each equipment's
tags to server nodes (explicit node ids or browse paths from the plant file, or the plant
simulator's address-space convention), subscribes to them and to alarm events, and hands
everything over as plain :mod:`factory_twin.model.events` records through a thread-safe
queue (:meth:`PlantClient.drain`). It never raises from its background work: a dead or
lost server shows up as :class:`ConnectionStatus` records and stale values, and comes back
on its own (capped exponential backoff), with its subscriptions and active alarms restored.

Convention of the plant simulator server (namespace ``urn:factory-twin:plant``)::

    Objects/Machines/<id>/Parameters/<tag>      ns=<i>;s=<id>.Parameters.<tag>
    Objects/Machines/<id>/State/E10State, E10StateName, CurrentLot, Recipe, WaferCount,
                                OperationMode   ns=<i>;s=<id>.State.<name>
    methods Hold, Resume, ResetAlarm on the machine object
    Objects/Fab/PlantClock, LotsCompleted, WafersCompleted, WIP, Moves   ns=<i>;s=Fab.<name>

The ``Fab`` variables are optional: when the server has them they are subscribed and arrive
as :class:`TagUpdate` records of the reserved equipment id ``FAB_EQUIPMENT`` (``"__fab__"``)
with the tags of :data:`factory_twin.model.events.FAB_TAGS`; other servers simply lack them.

Examples
--------
>>> client = PlantClient(load_plant("plant.yaml").spec)    # doctest: +SKIP
>>> await client.start()                                   # doctest: +SKIP
>>> events = client.drain()                                # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import re
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from asyncua import Client, ua
from asyncua.common.subscription import DataChangeEvent, OpcEvent, StatusChangeEvent, Subscription

from factory_twin.errors import ConnectionFailed, FactoryTwinError
from factory_twin.model.events import (
    FAB_EQUIPMENT,
    RAIL_EQUIPMENT,
    VEHICLE_PREFIX,
    AlarmEvent,
    ConnectionStatus,
    E10State,
    PlantEvent,
    Quality,
    ShelvingState,
    TagUpdate,
    vehicle_name,
)
from factory_twin.model.schema import Endpoint, Equipment, PlantSpec, TagType
from factory_twin.opcua._uatypes import node_id
from factory_twin.opcua.client_common import (
    PLANT_NAMESPACE,
    BrowseCache,
    ConnectOptions,
    connect,
    data_type_name,
    describe_error,
    disconnect_quietly,
    now_s,
    parse_node_id,
    to_epoch,
    type_fits,
    value_fits,
    variant_type_for,
)

logger = logging.getLogger(__name__)
write_logger = logging.getLogger("factory_twin.opcua.writes")

__all__ = [
    "STANDARD_TAGS",
    "PlantClient",
    "WriteFailed",
    "WriteRecord",
    "WriteRefused",
]


class WriteRefused(FactoryTwinError):
    """A write was not sent: writes disabled, unknown tag, wrong type or out of range."""


class WriteFailed(FactoryTwinError):
    """A write or method call was sent but the server refused it or could not be reached."""


# standard machine tag -> (name under State, tag type). 'state' carries an E10State value.
STANDARD_TAGS: dict[str, tuple[str, TagType]] = {
    "state": ("E10State", TagType.INT),
    "lot": ("CurrentLot", TagType.STRING),
    "recipe": ("Recipe", TagType.STRING),
    "wafer_count": ("WaferCount", TagType.INT),
    "operation_mode": ("OperationMode", TagType.STRING),
}

# fab-level tag (model.events.FAB_TAGS) -> (name under the server's Fab object, tag type)
FAB_NODES: dict[str, tuple[str, TagType]] = {
    "plant_clock": ("PlantClock", TagType.FLOAT),
    "lots_completed": ("LotsCompleted", TagType.INT),
    "wafers_completed": ("WafersCompleted", TagType.INT),
    "wip": ("WIP", TagType.INT),
    "moves": ("Moves", TagType.INT),
}

# vehicle tag (model.events.VEHICLE_TAGS) -> (name under Transport/AMHS/<vehicle>, tag type)
VEHICLE_NODES: dict[str, tuple[str, TagType]] = {
    "x": ("X", TagType.FLOAT),
    "y": ("Y", TagType.FLOAT),
    "state": ("State", TagType.STRING),
    "carrier": ("CarrierId", TagType.STRING),
}

# rail congestion tag (model.events.RAIL_TAGS) -> (name under Transport/AMHS, tag type); the
# link arrays arrive as tuples (str for the ids, float for the rates)
RAIL_NODES: dict[str, tuple[str, TagType]] = {
    "link_ids": ("LinkIds", TagType.STRING),
    "blocked_s_per_h": ("LinkBlockedSecondsPerHour", TagType.FLOAT),
    "entries_per_h": ("LinkEntriesPerHour", TagType.FLOAT),
    "window_s": ("CongestionWindowSeconds", TagType.FLOAT),
}

# Machinery MachineryOperationModeEnumeration, as text
_MODES = {0: "none", 1: "maintenance", 2: "setup", 3: "processing"}
_BATCH = 1000  # monitored items per CreateMonitoredItems request
_HANDLE0 = 1 << 20  # first client handle of a data item
_REFRESH_START, _REFRESH_END = 2787, 2788
_CODE_RE = re.compile(
    r"\b([A-Za-z_][A-Za-z0-9_]*\.(?:lolo|lo|hihi|hi))\b|\b(fault(?:\.[A-Za-z0-9_]+)?)\b"
)

# (browse path, type that defines it) of the event fields we select, in order.
_EVENT_FIELDS: list[tuple[str, int]] = [
    ("EventId", ua.ObjectIds.BaseEventType),
    ("EventType", ua.ObjectIds.BaseEventType),
    ("SourceNode", ua.ObjectIds.BaseEventType),
    ("SourceName", ua.ObjectIds.BaseEventType),
    ("Time", ua.ObjectIds.BaseEventType),
    ("Message", ua.ObjectIds.BaseEventType),
    ("Severity", ua.ObjectIds.BaseEventType),
    ("ConditionName", ua.ObjectIds.ConditionType),
    ("Retain", ua.ObjectIds.ConditionType),
    ("Comment", ua.ObjectIds.ConditionType),
    ("ClientUserId", ua.ObjectIds.ConditionType),
    ("AckedState/Id", ua.ObjectIds.AcknowledgeableConditionType),
    ("ActiveState/Id", ua.ObjectIds.AlarmConditionType),
    ("ShelvingState/CurrentState", ua.ObjectIds.AlarmConditionType),
    ("ShelvingState/UnshelveTime", ua.ObjectIds.AlarmConditionType),
    ("OutOfServiceState/Id", ua.ObjectIds.AlarmConditionType),
]
_SHELVING = {s.value: s for s in ShelvingState}


def _event_filter() -> ua.EventFilter:
    ef = ua.EventFilter()
    for path, tdef in _EVENT_FIELDS:
        op = ua.SimpleAttributeOperand()
        op.TypeDefinitionId = node_id(tdef)
        op.BrowsePath = [ua.QualifiedName(p, 0) for p in path.split("/")]
        op.AttributeId = ua.AttributeIds.Value
        ef.SelectClauses.append(op)
    cid = ua.SimpleAttributeOperand()  # the ConditionId: NodeId attribute of the condition
    cid.TypeDefinitionId = node_id(ua.ObjectIds.ConditionType)
    cid.BrowsePath = []
    cid.AttributeId = ua.AttributeIds.NodeId
    ef.SelectClauses.append(cid)
    return ef


@dataclass(frozen=True)
class WriteRecord:
    """One write attempt: who wrote what, where, when, and how it ended."""

    time_s: float
    user: str
    endpoint: str
    equipment: str
    tag: str
    node_id: str
    value: Any
    result: str


# (node class, DataType) of each node read; None for a node that does not exist
_NodeInfos = dict[ua.NodeId, tuple[ua.NodeClass, ua.NodeId | None] | None]


@dataclass
class _Bound:
    """A tag bound to a node."""

    equipment: str
    tag: str
    nodeid: ua.NodeId
    kind: TagType
    standard: bool
    data_type: ua.NodeId | None = None


@dataclass
class _Want:
    """A tag to bind, before we know whether its node exists."""

    equipment: str
    tag: str
    kind: TagType
    standard: bool
    node_id: str | None = None  # explicit node id
    browse_path: str | None = None  # explicit browse path
    convention: bool = False
    required: bool = True

    def describe(self) -> str:
        if self.node_id is not None:
            return f"node id {self.node_id!r}"
        if self.browse_path is not None:
            return f"browse path {self.browse_path!r}"
        return "the plant simulator convention"


class _EndpointLink:
    """One server: connection, bindings, subscriptions, reconnects."""

    def __init__(self, owner: PlantClient, endpoint: Endpoint, url: str) -> None:
        self.owner = owner
        self.endpoint = endpoint
        self.url = url
        self.client: Client | None = None
        self.bound: dict[tuple[str, str], _Bound] = {}
        self.fab_bound: dict[tuple[str, str], _Bound] = {}  # optional Fab.* variables
        self.by_handle: dict[int, _Bound] = {}
        self.problems: list[str] = []
        self.last_values: dict[tuple[str, str], Any] = {}
        self.bad_logged: set[tuple[str, str]] = set()
        self.machine_nodes: dict[str, ua.NodeId] = {}
        self.source_map: dict[ua.NodeId, str] = {}
        self.connected = False
        self.lost = asyncio.Event()
        self.lost_reason = ""
        self.task: asyncio.Task[None] | None = None
        self.consumers: list[asyncio.Task[None]] = []
        self.data_sub: Subscription | None = None
        self.event_sub: Subscription | None = None
        self.monitored_items = 0
        self.ns_index: int | None = None
        self.eu_ranges: dict[tuple[str, str], tuple[float, float] | None] = {}
        self.connects = 0

    # ---------------------------------------------------------------- lifecycle

    def status(self, connected: bool, message: str, gap_s: float | None = None) -> None:
        st = ConnectionStatus(self.endpoint.id, connected, message, now_s(), gap_s)
        self.owner._statuses[self.endpoint.id] = st
        self.owner._queue.put(st)
        quiet = connected or message == "stopped" or message.startswith("connecting to")
        log = logger.info if quiet else logger.warning
        log("endpoint %s: %s", self.endpoint.id, message)

    async def run(self) -> None:
        delay = self.owner.reconnect_initial_s
        lost_at: float | None = None
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._connect_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._teardown()
                reason = exc.reason if isinstance(exc, ConnectionFailed) else describe_error(exc)
                what = "reconnect to" if lost_at is not None else "connect to"
                self.status(
                    False,
                    f"cannot {what} {self.url}: {reason}; retry {attempt} in {delay:.1f} s",
                )
                await self._wait_retry(delay, exc)
                delay = min(delay * 2, self.owner.reconnect_max_s)
                continue
            attempt = 0
            delay = self.owner.reconnect_initial_s
            gap = None if lost_at is None else max(0.0, time.monotonic() - lost_at)
            n = len(self.bound)
            msg = f"connected to {self.url} ({n} tags bound"
            msg += f", {len(self.problems)} problems)" if self.problems else ")"
            if gap is not None:
                msg += f"; back after {gap:.1f} s"
            self.status(True, msg, gap)
            await self.lost.wait()
            lost_at = time.monotonic()
            self._flush_pending()
            self._mark_stale()
            self.status(False, f"lost connection to {self.url}: {self.lost_reason}; reconnecting")
            await self._teardown()

    async def _wait_retry(self, delay: float, exc: Exception) -> None:
        """Sleep ``delay`` before the next attempt; but while nothing listens on the port,
        knock every 0.25 s and retry as soon as the server is back (a restarted server is
        then noticed within a fraction of a second, whatever the backoff has grown to).
        Other failures (security, login, a busy server) keep the full backoff."""
        cause = exc.__cause__ or exc
        u = urlparse(self.url)
        if not isinstance(cause, ConnectionRefusedError) or not u.hostname:
            await asyncio.sleep(delay)
            return
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            await asyncio.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(u.hostname, u.port or 4840), 0.5
                )
            except (OSError, TimeoutError):
                continue
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            return

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        await self._teardown(delete=True)
        self.status(False, "stopped")

    async def _teardown(self, delete: bool = False) -> None:
        self.connected = False
        for t in self.consumers:
            t.cancel()
        for t in self.consumers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self.consumers = []
        client, self.client = self.client, None
        if client is not None and delete:
            for sub in (self.data_sub, self.event_sub):
                if sub is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(sub.delete(), 2.0)
        self.data_sub = self.event_sub = None
        self.monitored_items = 0
        await disconnect_quietly(client)

    def _mark_stale(self) -> None:
        t = now_s()
        put = self.owner._queue.put
        for key, b in [*self.bound.items(), *self.fab_bound.items()]:
            put(
                TagUpdate(
                    b.equipment,
                    b.tag,
                    self.last_values.get(key),
                    t,
                    Quality.STALE,
                    None,
                    "BadNoCommunication",
                )
            )

    async def _on_lost(self, exc: Exception) -> None:
        self.lost_reason = describe_error(exc) if exc else "connection closed"
        self.lost.set()

    # ---------------------------------------------------------------- connect

    async def _connect_once(self) -> None:
        owner = self.owner
        user, password = self.endpoint.username, None
        if self.endpoint.id in owner.credentials:
            user, password = owner.credentials[self.endpoint.id]
        if user and password is None:
            msg = (
                f"endpoint {self.endpoint.id!r} logs in as {user!r} but no password was given "
                "(pass credentials to the client)"
            )
            raise ConnectionFailed(msg)
        opts = ConnectOptions(
            self.url,
            self.endpoint.security,
            user,
            password,
            owner.cert_dir,
            timeout_s=owner.request_timeout_s,
            watchdog_s=owner.watchdog_s,
        )
        self.lost = asyncio.Event()
        self.client = client = await connect(opts)
        client.connection_lost_callback = self._on_lost
        self.connects += 1
        t0 = time.perf_counter()
        await self._resolve(client)
        t1 = time.perf_counter()
        await self._subscribe(client)
        logger.info(
            "endpoint %s: bound %d tags in %.2f s, created %d monitored items in %.2f s",
            self.endpoint.id,
            len(self.bound),
            t1 - t0,
            self.monitored_items,
            time.perf_counter() - t1,
        )
        self.connected = True

    # ---------------------------------------------------------------- binding

    def _wanted(self) -> list[_Want]:
        spec = self.owner.spec
        out: list[_Want] = []
        for eq in spec.equipment:
            if eq.opcua is None or eq.opcua.endpoint != self.endpoint.id:
                continue
            try:
                etype = spec.equipment_type(eq.type)
            except KeyError:
                continue
            explicit = eq.opcua.tags
            kinds = {t.name: t.data_type for t in etype.tags}
            for name, (_, kind) in STANDARD_TAGS.items():
                kinds.setdefault(name, kind)
            for name, kind in kinds.items():
                std = name in STANDARD_TAGS and name not in {t.name for t in etype.tags}
                b = explicit.get(name)
                if b is not None:
                    out.append(_Want(eq.id, name, kind, std, b.node_id, b.browse_path))
                else:
                    # standard tags of a tool bound tag by tag are optional extras
                    required = not (std and explicit)
                    out.append(_Want(eq.id, name, kind, std, convention=True, required=required))
        return out

    def _convention(self, eq: str, tag: str, std: bool) -> tuple[str, str]:
        if std:
            leaf = STANDARD_TAGS[tag][0]
            return f"{eq}.State.{leaf}", f"Machines/{eq}/State/{leaf}"
        return f"{eq}.Parameters.{tag}", f"Machines/{eq}/Parameters/{tag}"

    async def _resolve(self, client: Client) -> None:
        """Find the node of every wanted tag; record problems; keep the rest."""
        wants = self._wanted()
        ns = await client.get_namespace_array()
        self.ns_index = ns.index(PLANT_NAMESPACE) if PLANT_NAMESPACE in ns else None
        cache = BrowseCache(client)
        problems: list[str] = []
        nodes, infos = await self._find_nodes(client, cache, wants, problems)
        bound = self._check_nodes(wants, nodes, infos, problems)
        self.bound = bound
        self.problems = problems
        for p in problems:
            logger.warning("endpoint %s: %s", self.endpoint.id, p)
        # map source nodes of alarm events to equipment
        self.source_map = {}
        for (eq, _), b in bound.items():
            self.source_map[b.nodeid] = eq
        await self._resolve_machines(
            client, cache, list(dict.fromkeys(w.equipment for w in wants))
        )
        await self._resolve_fab(client)

    async def _find_nodes(
        self, client: Client, cache: BrowseCache, wants: list[_Want], problems: list[str]
    ) -> tuple[list[ua.NodeId | None], _NodeInfos]:
        """Return the node of each wanted tag (None if not found) and what they are."""
        # first guess for each wanted tag
        guesses: list[ua.NodeId | None] = []
        for w in wants:
            nid: ua.NodeId | None = None
            if w.node_id is not None:
                try:
                    nid = parse_node_id(w.node_id)
                except ValueError as exc:
                    problems.append(f"{w.equipment}.{w.tag}: {exc}")
            elif w.browse_path is not None:
                nid = await cache.resolve(w.browse_path)
            elif self.ns_index is not None:
                nid = node_id(self._convention(w.equipment, w.tag, w.standard)[0], self.ns_index)
            guesses.append(nid)
        infos = await self._read_infos(client, [g for g in guesses if g is not None])
        # convention tags whose string node id is missing: try the browse path
        for i, w in enumerate(wants):
            g = guesses[i]
            if w.convention and (g is None or infos.get(g) is None):
                nid = await cache.resolve(self._convention(w.equipment, w.tag, w.standard)[1])
                guesses[i] = nid
                if nid is not None and nid not in infos:
                    infos.update(await self._read_infos(client, [nid]))
        return guesses, infos

    def _check_nodes(
        self,
        wants: list[_Want],
        nodes: list[ua.NodeId | None],
        infos: _NodeInfos,
        problems: list[str],
    ) -> dict[tuple[str, str], _Bound]:
        """Bind each wanted tag whose node is a variable of a fitting type; list the rest."""
        bound: dict[tuple[str, str], _Bound] = {}
        for w, nid in zip(wants, nodes, strict=True):
            where = f"{w.equipment}.{w.tag}"
            info = infos.get(nid) if nid is not None else None
            if nid is None or info is None:
                if w.required:
                    problems.append(
                        f"{where}: bound by {w.describe()} on endpoint {self.endpoint.id!r}, "
                        "but the server has no such variable"
                    )
                continue
            nclass, dtype = info
            if nclass != ua.NodeClass.Variable:
                problems.append(
                    f"{where}: node {nid.to_string()} is a {nclass.name}, not a variable"
                )
                continue
            if not w.standard and not type_fits(w.kind, dtype):
                problems.append(
                    f"{where}: node {nid.to_string()} holds {data_type_name(dtype)} but the "
                    f"plant file says {w.kind.value}"
                )
                continue
            bound[(w.equipment, w.tag)] = _Bound(
                w.equipment, w.tag, nid, w.kind, w.standard, dtype
            )
        return bound

    async def _resolve_machines(self, client: Client, cache: BrowseCache, eqs: list[str]) -> None:
        """Find each tool's machine object (the SourceNode of its alarm events)."""
        found: dict[ua.NodeId, Any] = {}
        if self.ns_index is not None:  # one Read for every machine object
            found = await self._read_infos(client, [node_id(eq, self.ns_index) for eq in eqs])
        for eq in eqs:
            mnode = None
            if self.ns_index is not None and found.get(node_id(eq, self.ns_index)):
                mnode = node_id(eq, self.ns_index)
            if mnode is None:
                mnode = await cache.resolve(f"Machines/{eq}")
            if mnode is not None:
                self.machine_nodes[eq] = mnode
                self.source_map[mnode] = eq

    async def _resolve_fab(self, client: Client) -> None:
        """Bind the server's optional fab-level variables (absent: nothing, no problem)."""
        self.fab_bound = {}
        if self.ns_index is None:
            return
        nids = {tag: node_id(f"Fab.{leaf}", self.ns_index) for tag, (leaf, _) in FAB_NODES.items()}
        try:
            infos = await self._read_infos(client, list(nids.values()))
        except Exception as exc:  # a server that refuses the read simply has no fab figures
            logger.info("endpoint %s: no fab figures (%s)", self.endpoint.id, describe_error(exc))
            return
        for tag, nid in nids.items():
            info = infos.get(nid)
            kind = FAB_NODES[tag][1]
            if info is None or info[0] != ua.NodeClass.Variable or not type_fits(kind, info[1]):
                continue
            self.fab_bound[(FAB_EQUIPMENT, tag)] = _Bound(
                FAB_EQUIPMENT, tag, nid, kind, False, info[1]
            )
        await self._resolve_vehicles(client)

    async def _resolve_vehicles(self, client: Client) -> None:
        """Bind the OHT vehicles a plant simulator serves under Transport/AMHS (a plant
        whose amhs section runs the fleet; absent nodes: nothing, no problem)."""
        am = self.owner.spec.amhs
        if self.ns_index is None or am is None or am.model != "oht":
            return
        nids = {
            (f"{VEHICLE_PREFIX}{vehicle_name(i)}", tag): node_id(
                f"Transport.AMHS.{vehicle_name(i)}.{leaf}", self.ns_index
            )
            for i in range(am.fleet)
            for tag, (leaf, _) in VEHICLE_NODES.items()
        }
        for tag, (leaf, _) in RAIL_NODES.items():  # the congestion per link, when served
            nids[(RAIL_EQUIPMENT, tag)] = node_id(f"Transport.AMHS.{leaf}", self.ns_index)
        try:
            infos = await self._read_infos(client, list(nids.values()))
        except Exception as exc:
            logger.info("endpoint %s: no OHT vehicles (%s)", self.endpoint.id, describe_error(exc))
            return
        for (eq, tag), nid in nids.items():
            info = infos.get(nid)
            kind = (RAIL_NODES if eq == RAIL_EQUIPMENT else VEHICLE_NODES)[tag][1]
            if info is None or info[0] != ua.NodeClass.Variable or not type_fits(kind, info[1]):
                continue
            self.fab_bound[(eq, tag)] = _Bound(eq, tag, nid, kind, False, info[1])

    async def _read_infos(self, client: Client, nodes: list[ua.NodeId]) -> _NodeInfos:
        """Return (node class, DataType) of each node; None for nodes that do not exist.

        One attribute per node (DataType) keeps binding 10,000 tags to a few Read requests:
        a node without a DataType attribute exists but is not a variable, and for those
        the NodeClass is read in a second, small request.
        """
        out: _NodeInfos = {}
        uniq = list(dict.fromkeys(nodes))
        others: list[ua.NodeId] = []
        for start in range(0, len(uniq), 5000):
            chunk = uniq[start : start + 5000]
            results = await self._read_attr(client, chunk, ua.AttributeIds.DataType)
            for nid, dv in zip(chunk, results, strict=True):
                code = dv.StatusCode
                if code is None or code.is_good():
                    out[nid] = (ua.NodeClass.Variable, dv.Value.Value if dv.Value else None)
                elif code.value == ua.StatusCodes.BadAttributeIdInvalid:
                    others.append(nid)
                else:
                    out[nid] = None
        for start in range(0, len(others), 5000):
            chunk = others[start : start + 5000]
            results = await self._read_attr(client, chunk, ua.AttributeIds.NodeClass)
            for nid, dv in zip(chunk, results, strict=True):
                good = dv.StatusCode is None or dv.StatusCode.is_good()
                out[nid] = (ua.NodeClass(dv.Value.Value), None) if good and dv.Value else None
        return out

    @staticmethod
    async def _read_attr(
        client: Client, nodes: list[ua.NodeId], attr: ua.AttributeIds
    ) -> list[ua.DataValue]:
        params = ua.ReadParameters()
        for nid in nodes:
            rv = ua.ReadValueId()
            rv.NodeId = nid
            rv.AttributeId = attr
            params.NodesToRead.append(rv)
        return list(await client.uaclient.read(params))

    # ---------------------------------------------------------------- subscriptions

    async def _subscribe(self, client: Client) -> None:
        """One subscription for values and alarm events: with two, the subscriptions would
        share the client's publish requests and each would be served half as often."""
        owner = self.owner
        self.by_handle = {}
        sub = await client.create_subscription(owner.publishing_ms, handler=None, queue_maxsize=0)
        self.data_sub = sub
        reqs = []
        for k, b in enumerate([*self.bound.values(), *self.fab_bound.values()]):
            handle = _HANDLE0 + k  # clear of the handles asyncua gives the event item
            self.by_handle[handle] = b
            reqs.append(self._item_request(b, handle))
        created = 0
        for start in range(0, len(reqs), _BATCH):
            res = await sub.create_monitored_items(reqs[start : start + _BATCH])
            for req, r in zip(reqs[start : start + _BATCH], res, strict=True):
                if isinstance(r, ua.StatusCode):
                    b = self.by_handle.pop(req.RequestedParameters.ClientHandle)
                    msg = (
                        f"{b.equipment}.{b.tag}: the server refused to monitor "
                        f"{b.nodeid.to_string()} ({r.name})"
                    )
                    self.problems.append(msg)
                    logger.warning("endpoint %s: %s", self.endpoint.id, msg)
                else:
                    created += 1
        self.monitored_items = created
        self.consumers.append(asyncio.create_task(self._consume(sub)))
        esub = sub
        try:
            # a real queue: a transition and its audit event often share one publish cycle
            await esub.subscribe_events(
                ua.ObjectIds.Server, evfilter=_event_filter(), queuesize=1000
            )
        except Exception as exc:
            logger.warning(
                "endpoint %s: no alarm events (%s)", self.endpoint.id, describe_error(exc)
            )
            return
        try:
            await client.nodes.server.call_method(
                node_id(ua.ObjectIds.ConditionType_ConditionRefresh),
                ua.Variant(esub.subscription_id, ua.VariantType.UInt32),
            )
        except Exception as exc:
            logger.info(
                "endpoint %s: ConditionRefresh not available (%s)",
                self.endpoint.id,
                describe_error(exc),
            )

    def _item_request(self, b: _Bound, handle: int) -> ua.MonitoredItemCreateRequest:
        owner = self.owner
        rv = ua.ReadValueId()
        rv.NodeId = b.nodeid
        rv.AttributeId = ua.AttributeIds.Value
        mp = ua.MonitoringParameters()
        mp.ClientHandle = handle
        mp.SamplingInterval = owner.sampling_ms
        mp.QueueSize = owner.queue_size
        mp.DiscardOldest = True
        if (
            owner.deadband > 0
            and b.kind in (TagType.FLOAT, TagType.INT)
            and not b.standard
            and b.equipment != RAIL_EQUIPMENT  # arrays: every element would be filtered
        ):
            f = ua.DataChangeFilter()
            f.Trigger = ua.DataChangeTrigger.StatusValue
            f.DeadbandType = ua.DeadbandType.Absolute
            f.DeadbandValue = float(owner.deadband)
            mp.Filter = f
        req = ua.MonitoredItemCreateRequest()
        req.ItemToMonitor = rv
        req.MonitoringMode = ua.MonitoringMode.Reporting
        req.RequestedParameters = mp
        return req

    async def _consume(self, sub: Subscription) -> None:
        """Turn subscription events into plant records; never raise, never block."""
        async for ev in sub:
            self._handle(ev)

    def _handle(self, ev: Any) -> None:
        put = self.owner._queue.put
        try:
            if isinstance(ev, DataChangeEvent):
                rec = self._tag_update(ev)
                if rec is not None:
                    put(rec)
            elif isinstance(ev, OpcEvent):
                alarm = self._alarm(ev)
                if alarm is not None:
                    put(alarm)
            elif isinstance(ev, StatusChangeEvent):
                logger.info(
                    "endpoint %s: subscription status %s", self.endpoint.id, ev.notification.Status
                )
        except Exception:
            logger.exception("endpoint %s: could not handle %r", self.endpoint.id, ev)

    def _flush_pending(self) -> None:
        """Hand over what arrived before a loss but was not consumed yet, so nothing is
        lost and it comes before the stale marks (asyncua keeps it in the iterator queue)."""
        q = getattr(self.data_sub, "_event_queue", None)
        if q is None:
            return
        while True:
            try:
                ev = q.get_nowait()
            except asyncio.QueueEmpty:
                return
            if ev is not None:
                self._handle(ev)

    def _tag_update(self, ev: DataChangeEvent) -> TagUpdate | None:
        item = ev.data.monitored_item
        b = self.by_handle.get(item.ClientHandle)
        if b is None:
            return None
        dv = item.Value
        key = (b.equipment, b.tag)
        value = ev.value
        src = to_epoch(dv.SourceTimestamp) if dv is not None else None
        srv = to_epoch(dv.ServerTimestamp) if dv is not None else None
        ts = src or srv or now_s()
        code = dv.StatusCode if dv is not None and dv.StatusCode is not None else ua.StatusCode()
        if not code.is_good():
            quality = Quality.UNCERTAIN if code.is_uncertain() else Quality.BAD
            return TagUpdate(
                b.equipment, b.tag, self.last_values.get(key), ts, quality, srv, code.name
            )
        converted, ok = self._convert(b, value)
        if not ok:
            if key not in self.bad_logged:
                self.bad_logged.add(key)
                logger.warning(
                    "endpoint %s: %s.%s got %s %r from %s, expected %s; marked bad",
                    self.endpoint.id,
                    b.equipment,
                    b.tag,
                    type(value).__name__,
                    value,
                    b.nodeid.to_string(),
                    b.kind.value,
                )
            return TagUpdate(b.equipment, b.tag, None, ts, Quality.BAD, srv, "BadTypeMismatch")
        self.last_values[key] = converted
        return TagUpdate(b.equipment, b.tag, converted, ts, Quality.GOOD, srv, "Good")

    @staticmethod
    def _convert(b: _Bound, value: Any) -> tuple[Any, bool]:
        if b.standard:
            if b.tag == "state":
                if isinstance(value, str):
                    try:
                        return E10State(value.lower()).value, True
                    except ValueError:
                        return None, False
                if isinstance(value, int) and not isinstance(value, bool):
                    try:
                        return E10State.from_code(int(value)).value, True
                    except ValueError:
                        return None, False
                return None, False
            if b.tag == "wafer_count":
                ok = isinstance(value, int) and not isinstance(value, bool)
                return (value if ok else None), ok
            if isinstance(value, ua.LocalizedText):
                return value.Text or "", True
            if b.tag == "operation_mode" and isinstance(value, int) and value in _MODES:
                return _MODES[value], True
            if value is None:
                return "", True
            if isinstance(value, str | int) and not isinstance(value, bool):
                return str(value), True
            return None, False
        if b.equipment == RAIL_EQUIPMENT and isinstance(value, list | tuple):
            if all(value_fits(b.kind, x) for x in value):
                conv = float if b.kind is TagType.FLOAT else str
                return tuple(conv(x) for x in value), True
            return None, False
        if value is None or not value_fits(b.kind, value):
            return None, False
        if b.kind is TagType.FLOAT:
            return float(value), True
        if b.kind is TagType.STRING and isinstance(value, ua.LocalizedText):
            return value.Text or "", True
        return value, True

    def _alarm(self, ev: OpcEvent) -> AlarmEvent | None:
        e = ev.event
        fields = {path: getattr(e, path, None) for path, _ in _EVENT_FIELDS}
        etype = fields["EventType"]
        if (
            isinstance(etype, ua.NodeId)
            and etype.NamespaceIndex == 0
            and etype.Identifier
            in (
                _REFRESH_START,
                _REFRESH_END,
            )
        ):
            return None
        source_name = str(fields["SourceName"] or "")
        bare = re.sub(
            r"^\d+:", "", source_name
        )  # node-opcua sends the qualified name, '2:ETCH-01'
        equipment = None
        if source_name in self.owner._equipment_ids:
            equipment = source_name
        elif bare in self.owner._equipment_ids:
            equipment = bare
        else:
            src = fields["SourceNode"]
            if isinstance(src, ua.NodeId):
                equipment = self.source_map.get(src)
        if equipment is None:
            logger.debug(
                "endpoint %s: event from %r ignored (%s)", self.endpoint.id, source_name, fields
            )
            return None
        msg = fields["Message"]
        message = (msg.Text or "") if isinstance(msg, ua.LocalizedText) else str(msg or "")
        cname = fields["ConditionName"] or ""
        code = ""
        for text in (message, cname):
            m = _CODE_RE.search(text or "")
            if m:
                code = m.group(1) or m.group(2)
                break
        if not code:
            code = cname or "fault"
        cond = getattr(e, "NodeId", None)
        alarm_id = cond.to_string() if isinstance(cond, ua.NodeId) else f"{equipment}/{code}"
        self.owner._alarm_endpoint[alarm_id] = self
        active = fields["ActiveState/Id"]
        acked = fields["AckedState/Id"]
        comment = fields["Comment"]
        ev_id = fields["EventId"]
        t = to_epoch(fields["Time"]) if fields["Time"] is not None else None
        shelving = fields["ShelvingState/CurrentState"]
        shelving_name = (
            shelving.Text or "" if isinstance(shelving, ua.LocalizedText) else str(shelving or "")
        )
        unshelve_ms = fields["ShelvingState/UnshelveTime"]
        return AlarmEvent(
            alarm_id=alarm_id,
            equipment=equipment,
            code=code,
            severity=int(fields["Severity"] or 0),
            message=message,
            time_s=t or now_s(),
            active=True if active is None else bool(active),
            acked=False if acked is None else bool(acked),
            user=str(fields["ClientUserId"] or ""),
            comment=comment.Text or "" if isinstance(comment, ua.LocalizedText) else "",
            event_id=bytes(ev_id) if isinstance(ev_id, bytes | bytearray) else b"",
            shelving=_SHELVING.get(shelving_name, ShelvingState.UNSHELVED),
            unshelve_time_s=float(unshelve_ms) / 1000.0
            if isinstance(unshelve_ms, int | float)
            else 0.0,
            out_of_service=bool(fields["OutOfServiceState/Id"]),
        )


class PlantClient:
    """Live tags and alarms of a plant, from its OPC UA servers.

    Parameters
    ----------
    spec
        The plant; ``spec.endpoints`` lists the servers, each equipment's ``opcua``
        binding says which server and (optionally) which node carries each tag.
    endpoint_overrides
        Endpoint id -> URL to use instead of the plant file's.
    credentials
        Endpoint id -> (user name, password).
    publishing_ms, sampling_ms
        Subscription publishing interval and monitored-item sampling interval.
    deadband
        Absolute deadband of numeric process tags (0 = every change).
    reconnect_initial_s, reconnect_max_s
        First retry delay and its cap; the delay doubles after each failed attempt.
    cert_dir
        Folder of the client certificate used with ``sign``/``sign-encrypt`` endpoints
        (created on first use; default: the user data folder).
    write_log_path
        If given, every write attempt is appended to this file as a JSON line.
    queue_size
        Values the server keeps per tag between two publishes (1 = only the newest; the
        historian asks for more so that a slow publish cycle loses no samples).
    """

    def __init__(
        self,
        spec: PlantSpec,
        *,
        endpoint_overrides: dict[str, str] | None = None,
        credentials: dict[str, tuple[str, str]] | None = None,
        publishing_ms: float = 250,
        sampling_ms: float = 250,
        deadband: float = 0,
        reconnect_initial_s: float = 0.5,
        reconnect_max_s: float = 10.0,
        cert_dir: str | Path | None = None,
        write_log_path: str | Path | None = None,
        queue_size: int = 1,
    ) -> None:
        self.spec = spec
        self.credentials = dict(credentials or {})
        self.publishing_ms = publishing_ms
        self.sampling_ms = sampling_ms
        self.deadband = deadband
        self.queue_size = max(1, int(queue_size))
        self.reconnect_initial_s = reconnect_initial_s
        self.reconnect_max_s = reconnect_max_s
        self.cert_dir = Path(cert_dir) if cert_dir is not None else None
        self.write_log_path = Path(write_log_path) if write_log_path is not None else None
        self.request_timeout_s = 4.0
        # keep-alive probe period and timeout: a dropped socket is noticed at once anyway;
        # this only catches half-open links, and must tolerate a busy server
        self.watchdog_s = 5.0
        self._queue: queue.SimpleQueue[PlantEvent] = queue.SimpleQueue()
        self._statuses: dict[str, ConnectionStatus] = {}
        self._alarm_endpoint: dict[str, _EndpointLink] = {}
        self._equipment_ids = {e.id for e in spec.equipment}
        self._write_log: list[WriteRecord] = []
        overrides = dict(endpoint_overrides or {})
        unknown = sorted(set(overrides) - {ep.id for ep in spec.endpoints})
        if unknown:
            known = ", ".join(ep.id for ep in spec.endpoints) or "none"
            msg = f"endpoint override for unknown endpoint(s) {unknown} (the plant has: {known})"
            raise FactoryTwinError(msg)
        self._links: dict[str, _EndpointLink] = {}
        for ep in spec.endpoints:
            self._links[ep.id] = _EndpointLink(self, ep, overrides.get(ep.id, ep.url))
            self._statuses[ep.id] = ConnectionStatus(ep.id, False, "not started", now_s())
        self._started = False

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Start connecting to every endpoint in the background; never raises."""
        if self._started:
            return
        self._started = True
        for link in self._links.values():
            link.status(False, f"connecting to {link.url}")
            link.task = asyncio.create_task(link.run(), name=f"opcua-{link.endpoint.id}")

    async def stop(self) -> None:
        """Disconnect from every endpoint and stop retrying."""
        await asyncio.gather(*(link.stop() for link in self._links.values()))
        self._started = False

    async def wait_connected(self, timeout_s: float = 10.0) -> bool:
        """Wait until every endpoint is connected; return False on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(link.connected for link in self._links.values()):
                return True
            await asyncio.sleep(0.02)
        return all(link.connected for link in self._links.values())

    # ---------------------------------------------------------------- reading

    def drain(self, max_items: int = 10_000) -> list[PlantEvent]:
        """Return the events that arrived since the last call (thread-safe)."""
        out: list[PlantEvent] = []
        get = self._queue.get_nowait
        try:
            while len(out) < max_items:
                out.append(get())
        except queue.Empty:
            pass
        return out

    def status(self) -> dict[str, ConnectionStatus]:
        """Return the latest connection status of each endpoint."""
        return dict(self._statuses)

    def bound(self) -> dict[tuple[str, str], str]:
        """Return (equipment, tag) -> node id of every tag bound on a connected server."""
        out: dict[tuple[str, str], str] = {}
        for link in self._links.values():
            for key, b in link.bound.items():
                out[key] = b.nodeid.to_string()
        return out

    def problems(self) -> list[str]:
        """Return tags bound to missing nodes or nodes of the wrong type, as sentences."""
        return [p for link in self._links.values() for p in link.problems]

    def monitored_item_count(self) -> int:
        """Return how many data monitored items exist on the servers right now."""
        return sum(link.monitored_items for link in self._links.values())

    def write_log(self) -> list[WriteRecord]:
        """Return every write attempted through this client, oldest first."""
        return list(self._write_log)

    # ---------------------------------------------------------------- acting

    def _link_of(self, equipment: str) -> _EndpointLink:
        try:
            eq: Equipment = self.spec.tool(equipment)
        except KeyError:
            msg = f"no equipment {equipment!r} in the plant"
            raise WriteRefused(msg) from None
        if eq.opcua is None or eq.opcua.endpoint not in self._links:
            msg = f"equipment {equipment!r} is not bound to an OPC UA endpoint"
            raise WriteRefused(msg)
        return self._links[eq.opcua.endpoint]

    @staticmethod
    def _live_client(link: _EndpointLink) -> Client:
        if not link.connected or link.client is None:
            msg = f"endpoint {link.endpoint.id!r} ({link.url}) is not connected"
            raise ConnectionFailed(msg)
        return link.client

    async def acknowledge(self, alarm: AlarmEvent, comment: str, user: str) -> None:
        """Acknowledge an alarm on its server (calls the condition's Acknowledge method).

        Raises
        ------
        WriteFailed
            The server refused (e.g. already acknowledged) or has no such condition.
        """
        await self._condition_call(
            alarm,
            "acknowledge",
            ua.ObjectIds.AcknowledgeableConditionType_Acknowledge,
            [ua.Variant(alarm.event_id, ua.VariantType.ByteString)],
            comment,
            user,
        )

    async def shelve(
        self,
        alarm: AlarmEvent,
        kind: ShelvingState,
        duration_s: float,
        comment: str,
        user: str,
    ) -> None:
        """Shelve or unshelve an alarm on its server (the condition's ShelvingState methods).

        ``kind`` ``TIMED`` shelves for ``duration_s`` seconds, ``ONE_SHOT`` until the alarm
        returns to normal, ``UNSHELVED`` ends a shelve. The comment (the reason) goes with
        the OPC UA 1.05 ``...2`` methods.

        Raises
        ------
        WriteFailed
            The server refused (e.g. not shelved) or has no such condition.
        """
        method, args = {
            ShelvingState.TIMED: (
                ua.ObjectIds.ShelvedStateMachineType_TimedShelve2,
                [ua.Variant(float(duration_s) * 1000.0, ua.VariantType.Double)],
            ),
            ShelvingState.ONE_SHOT: (ua.ObjectIds.ShelvedStateMachineType_OneShotShelve2, []),
            ShelvingState.UNSHELVED: (ua.ObjectIds.ShelvedStateMachineType_Unshelve2, []),
        }[kind]
        await self._condition_call(
            alarm, f"shelve:{kind.value}", method, args, comment, user, "0:ShelvingState"
        )

    async def set_out_of_service(
        self, alarm: AlarmEvent, out: bool, comment: str, user: str
    ) -> None:
        """Remove an alarm from service (or place it back) on its server.

        Raises
        ------
        WriteFailed
            The server refused or has no such condition.
        """
        method = (
            ua.ObjectIds.AlarmConditionType_RemoveFromService2
            if out
            else ua.ObjectIds.AlarmConditionType_PlaceInService2
        )
        what = "out_of_service" if out else "in_service"
        await self._condition_call(alarm, what, method, [], comment, user)

    async def _condition_call(
        self,
        alarm: AlarmEvent,
        what: str,
        method: int,
        args: list[ua.Variant],
        comment: str,
        user: str,
        child: str = "",
    ) -> None:
        link = self._alarm_endpoint.get(alarm.alarm_id) or self._link_of(alarm.equipment)
        client = self._live_client(link)
        try:
            cond = parse_node_id(alarm.alarm_id)
        except ValueError:
            msg = f"alarm {alarm.code!r} of {alarm.equipment} has no condition node"
            raise WriteFailed(msg) from None
        result = "Good"
        try:
            target = client.get_node(cond)
            if child:
                target = await target.get_child(child)
            await target.call_method(
                node_id(method),
                *args,
                ua.Variant(ua.LocalizedText(comment), ua.VariantType.LocalizedText),
            )
        except Exception as exc:
            if isinstance(exc, ua.UaStatusCodeError):
                result = f"the server refused it ({ua.StatusCode(exc.code).name})"
            else:
                result = describe_error(exc)
            doing = "acknowledging" if what == "acknowledge" else f"{what.replace('_', ' ')} of"
            msg = f"{doing} {alarm.equipment} {alarm.code} failed: {result}"
            raise WriteFailed(msg) from exc
        finally:
            self._log_write(
                WriteRecord(
                    now_s(),
                    user,
                    link.endpoint.id,
                    alarm.equipment,
                    f"{what}:{alarm.code}",
                    cond.to_string(),
                    comment,
                    result,
                )
            )

    async def call_method(self, equipment: str, method: str) -> bool:
        """Call a method (``Hold``, ``Resume``, ``ResetAlarm``, ...) on a machine object.

        Returns True if the server ran it (and did not answer False), False otherwise.
        """
        link = self._link_of(equipment)
        try:
            client = self._live_client(link)
        except ConnectionFailed as exc:
            logger.warning("%s", exc)
            return False
        obj = link.machine_nodes.get(equipment)
        if obj is None:
            logger.warning("call %s.%s: machine object not found on the server", equipment, method)
            return False
        try:
            children = await BrowseCache(client).children(obj)
            mid = next((nid for qn, nid in children if qn.Name == method), None)
            if mid is None:
                logger.warning(
                    "call %s.%s: the machine object has no such method", equipment, method
                )
                return False
            out = await client.get_node(obj).call_method(mid)
        except Exception as exc:
            logger.warning("call %s.%s failed: %s", equipment, method, describe_error(exc))
            return False
        return out is not False

    async def write(self, equipment: str, tag: str, value: Any, *, user: str) -> None:
        """Write a tag's value on its server, after checks, and log who wrote what.

        Raises
        ------
        WriteRefused
            Writes are disabled on the endpoint, the tag is not bound, the value has the
            wrong type or is outside the node's EURange.
        WriteFailed
            The server refused the write.
        ConnectionFailed
            The endpoint is not connected.
        """
        link = self._link_of(equipment)
        ep = link.endpoint
        where = f"{equipment}.{tag}"

        def refuse(reason: str, node: str = "") -> WriteRefused:
            self._log_write(
                WriteRecord(
                    now_s(), user, ep.id, equipment, tag, node, value, f"refused: {reason}"
                )
            )
            return WriteRefused(f"write to {where} refused: {reason}")

        if not ep.writes_enabled:
            raise refuse(f"writes are disabled on endpoint {ep.id!r} (set writes_enabled: true)")
        b = link.bound.get((equipment, tag))
        if b is None:
            raise refuse("the tag is not bound to a node on the server")
        client = self._live_client(link)
        node = client.get_node(b.nodeid)
        vtype = variant_type_for(b.data_type)
        if vtype is None:
            raise refuse(
                f"cannot write data type {data_type_name(b.data_type)}", b.nodeid.to_string()
            )
        try:
            v = _coerce(value, vtype)
        except ValueError as exc:
            raise refuse(str(exc), b.nodeid.to_string()) from None
        rng = await self._eu_range(link, b)
        if rng is not None and isinstance(v, int | float) and not isinstance(v, bool):
            lo, hi = rng
            if not lo <= v <= hi:
                raise refuse(f"{v} is outside the EURange [{lo}, {hi}]", b.nodeid.to_string())
        try:
            await node.write_value(ua.DataValue(ua.Variant(v, vtype)))
        except Exception as exc:
            if isinstance(exc, ua.UaStatusCodeError):
                reason = f"the server refused it ({ua.StatusCode(exc.code).name})"
            else:
                reason = describe_error(exc)
            self._log_write(
                WriteRecord(now_s(), user, ep.id, equipment, tag, b.nodeid.to_string(), v, reason)
            )
            msg = f"write to {where} failed: {reason}"
            raise WriteFailed(msg) from exc
        self._log_write(
            WriteRecord(now_s(), user, ep.id, equipment, tag, b.nodeid.to_string(), v, "Good")
        )

    async def _eu_range(self, link: _EndpointLink, b: _Bound) -> tuple[float, float] | None:
        key = (b.equipment, b.tag)
        if key not in link.eu_ranges:
            rng = None
            client = self._live_client(link)
            try:
                for qn, nid in await BrowseCache(client).children(b.nodeid):
                    if qn.Name == "EURange":
                        r = await client.get_node(nid).read_value()
                        rng = (float(r.Low), float(r.High))
                        break
            except Exception:
                logger.debug("no EURange for %s", b.nodeid, exc_info=True)
            link.eu_ranges[key] = rng
        return link.eu_ranges[key]

    def _log_write(self, rec: WriteRecord) -> None:
        self._write_log.append(rec)
        write_logger.info(
            "%s by %r: %s.%s (%s on %s) = %r -> %s",
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(rec.time_s)),
            rec.user,
            rec.equipment,
            rec.tag,
            rec.node_id,
            rec.endpoint,
            rec.value,
            rec.result,
        )
        if self.write_log_path is not None:
            try:
                with self.write_log_path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(asdict(rec), default=str) + "\n")
            except OSError as exc:
                logger.error("cannot append to write log %s: %s", self.write_log_path, exc)


def _coerce(value: Any, vtype: ua.VariantType) -> Any:
    """Return ``value`` as the Python value of ``vtype``; ValueError if it does not fit."""
    name = vtype.name
    if vtype is ua.VariantType.Boolean:
        if isinstance(value, bool):
            return value
        msg = f"expected a boolean, got {type(value).__name__} {value!r}"
        raise ValueError(msg)
    if isinstance(value, bool):
        msg = f"expected a {name}, got a boolean"
        raise ValueError(msg)
    if vtype in (ua.VariantType.Float, ua.VariantType.Double):
        if isinstance(value, int | float):
            return float(value)
        msg = f"expected a number ({name}), got {type(value).__name__} {value!r}"
        raise ValueError(msg)
    if vtype in (ua.VariantType.String, ua.VariantType.LocalizedText):
        if isinstance(value, str):
            return value if vtype is ua.VariantType.String else ua.LocalizedText(value)
        msg = f"expected text, got {type(value).__name__} {value!r}"
        raise ValueError(msg)
    # integer types
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        msg = f"expected an integer ({name}), got {type(value).__name__} {value!r}"
        raise ValueError(msg)
    bits = {"SByte": 8, "Byte": 8, "Int16": 16, "UInt16": 16, "Int32": 32, "UInt32": 32,
            "Int64": 64, "UInt64": 64}[name]  # fmt: skip
    lo, hi = (
        (0, 2**bits - 1)
        if name.startswith(("U", "Byte"))
        else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    )
    if not lo <= value <= hi:
        msg = f"{value} does not fit in {name} [{lo}, {hi}]"
        raise ValueError(msg)
    return value


def equipment_on(spec: PlantSpec, endpoint_id: str) -> Iterable[Equipment]:
    """Return the equipment bound to ``endpoint_id``."""
    return (e for e in spec.equipment if e.opcua is not None and e.opcua.endpoint == endpoint_id)
