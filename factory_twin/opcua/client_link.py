"""One endpoint of the plant client: connect, subscribe, convert, reconnect.

:class:`_EndpointLink` keeps one OPC UA server of a plant connected for
:class:`~factory_twin.opcua.client.PlantClient`: it connects (capped exponential backoff
after a loss), binds each wanted tag to a node (:mod:`factory_twin.opcua.client_binding`:
the plant file's node ids or browse paths, else the plant simulator's convention),
subscribes to the tags and to alarm events, and turns data changes and events into
:mod:`factory_twin.model.events` records on the client's queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from asyncua import Client, ua
from asyncua.common.subscription import DataChangeEvent, OpcEvent, StatusChangeEvent, Subscription

from factory_twin.errors import ConnectionFailed, ServerUnreachable
from factory_twin.model.events import (
    RAIL_EQUIPMENT,
    AlarmEvent,
    ConnectionStatus,
    E10State,
    Quality,
    ShelvingState,
    TagUpdate,
)
from factory_twin.model.schema import Endpoint, TagType
from factory_twin.opcua._uatypes import node_id
from factory_twin.opcua.client_binding import _Bound, bind_endpoint
from factory_twin.opcua.client_common import (
    ConnectOptions,
    connect,
    data_type_name,
    describe_error,
    disconnect_quietly,
    is_number_type,
    now_s,
    to_epoch,
    value_fits,
)

if TYPE_CHECKING:
    from factory_twin.opcua.client import PlantClient

# the plant client's log, as before the link had a module of its own
logger = logging.getLogger("factory_twin.opcua.client")

# Machinery MachineryOperationModeEnumeration, as text
_MODES = {0: "none", 1: "maintenance", 2: "setup", 3: "processing"}
_BATCH = 1000  # monitored items per CreateMonitoredItems request
_HANDLE0 = 1 << 20  # first client handle of a data item
# what a server answers for a deadband filter it does not support (on that node): the tag is
# then monitored without the filter
_FILTER_REFUSED = frozenset(
    (
        ua.StatusCodes.BadFilterNotAllowed,
        ua.StatusCodes.BadMonitoredItemFilterUnsupported,
        ua.StatusCodes.BadMonitoredItemFilterInvalid,
        ua.StatusCodes.BadDeadbandFilterInvalid,
    )
)
_NAMED = 10  # tags named in one notice line; the rest are counted
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
# what a tag of each type accepts, in OPC UA's words (see client_common.value_fits)
_NEEDS = {
    TagType.FLOAT: "a Double (or a Float or an integer)",
    TagType.INT: "an integer (Int32, UInt16, ...)",
    TagType.BOOL: "a Boolean",
    TagType.STRING: "a String (or a LocalizedText)",
}


def _sent(variant: ua.Variant | None, value: Any) -> str:
    """A received value in words: its Variant type, then the value, e.g. ``a String ('x')``.

    Examples
    --------
    >>> _sent(ua.Variant("offline", ua.VariantType.String), "offline")
    "a String ('offline')"
    >>> _sent(ua.Variant([1.0, 2.0], ua.VariantType.Double), [1.0, 2.0])
    'an array of Double ([1.0, 2.0])'
    >>> _sent(None, None)
    'no value (null)'
    """
    if value is None:
        return "no value (null)"
    vt = variant.VariantType if variant is not None else None
    name = vt.name if vt is not None else type(value).__name__
    if variant is not None and (variant.is_array or isinstance(value, list)):
        return f"an array of {name} ({value!r:.80})"
    article = "an" if name[:1] in "AEIOU" else "a"
    return f"{article} {name} ({value!r:.80})"


def _some(tags: list[str]) -> str:
    """Name the first tags of a list and count the rest.

    Examples
    --------
    >>> _some(["A.x"])
    'A.x'
    >>> _some([f"T{i}.p" for i in range(12)])
    'T0.p, T1.p, T2.p, T3.p, T4.p, T5.p, T6.p, T7.p, T8.p, T9.p and 2 more'
    """
    more = f" and {len(tags) - _NAMED} more" if len(tags) > _NAMED else ""
    return ", ".join(tags[:_NAMED]) + more


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
        # how tags are monitored unlike asked (a deadband left out), as sentences
        self.notices: list[str] = []
        self._noticed: set[str] = set()  # notices logged already (once, not at each reconnect)
        self.last_values: dict[tuple[str, str], Any] = {}
        self.bad_logged: set[tuple[str, str, str]] = set()
        # tags that could not be bound or monitored, with the status they are marked with
        self.unbound: list[tuple[str, str, str]] = []
        self.machine_nodes: dict[str, ua.NodeId] = {}
        self.source_map: dict[ua.NodeId, str] = {}
        self.connected = False
        self.lost = asyncio.Event()
        self.lost_reason = ""
        self.task: asyncio.Task[None] | None = None
        self._stopping = False  # stop() was called: run() must end even if a cancel is lost
        self.consumers: list[asyncio.Task[None]] = []
        self.data_sub: Subscription | None = None
        self.event_sub: Subscription | None = None
        self.monitored_items = 0
        self.ns_index: int | None = None
        self.namespaces: list[str] = []  # the server's namespace array
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
        self._stopping = False
        while not self._stopping:
            attempt += 1
            try:
                await self._connect_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._teardown()
                if self._stopping:
                    return
                if isinstance(exc, ServerUnreachable):  # "cannot reach HOST:PORT: why"
                    text = str(exc)
                else:
                    reason = (
                        exc.reason if isinstance(exc, ConnectionFailed) else describe_error(exc)
                    )
                    what = "reconnect to" if lost_at is not None else "connect to"
                    text = f"cannot {what} {self.url}: {reason}"
                self.status(False, f"{text}; retry {attempt} in {delay:.1f} s")
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
        while time.monotonic() < deadline and not self._stopping:
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
        self._stopping = True
        task = self.task
        if task is not None:
            # cancel until it has ended: Python 3.11's wait_for can lose a cancel (it returns
            # the knock's refused connection when both end together) and it would retry for ever
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=1.0)
            if not task.cancelled():
                task.exception()  # retrieved (asyncio would log it as never retrieved)
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
        self._mark_unbound()
        logger.info(
            "endpoint %s: bound %d tags in %.2f s, created %d monitored items in %.2f s",
            self.endpoint.id,
            len(self.bound),
            t1 - t0,
            self.monitored_items,
            time.perf_counter() - t1,
        )
        self.connected = True

    def _mark_unbound(self) -> None:
        """Give each tag that could not be bound a bad value, so it shows bad, not stale."""
        now = now_s()
        for eq, tag, status in self.unbound:
            self.owner._queue.put(TagUpdate(eq, tag, None, now, Quality.BAD, None, status))

    # ---------------------------------------------------------------- binding

    async def _resolve(self, client: Client) -> None:
        """Find the node of every wanted tag; record problems; keep the rest."""
        found = await bind_endpoint(client, self.owner.spec, self.endpoint.id)
        self.namespaces = found.namespaces
        self.ns_index = found.ns_index
        self.unbound = found.unbound
        self.bound = found.bound
        self.problems = found.problems
        # map source nodes of alarm events to equipment
        self.source_map = {b.nodeid: eq for (eq, _), b in found.bound.items()}
        for eq, mnode in found.machine_nodes.items():
            self.machine_nodes[eq] = mnode
            self.source_map[mnode] = eq
        self.fab_bound = found.fab_bound

    # ---------------------------------------------------------------- subscriptions

    async def _subscribe(self, client: Client) -> None:
        """One subscription for values and alarm events: with two, the subscriptions would
        share the client's publish requests and each would be served half as often."""
        owner = self.owner
        self.by_handle = {}
        self.notices = []
        sub = await client.create_subscription(owner.publishing_ms, handler=None, queue_maxsize=0)
        self.data_sub = sub
        reqs = []
        not_numbers: list[str] = []
        for k, b in enumerate([*self.bound.values(), *self.fab_bound.values()]):
            handle = _HANDLE0 + k  # clear of the handles asyncua gives the event item
            self.by_handle[handle] = b
            deadband = self._wants_deadband(b)
            if deadband and not is_number_type(b.data_type):
                deadband = False
                not_numbers.append(f"{b.equipment}.{b.tag} ({data_type_name(b.data_type)})")
            reqs.append(self._item_request(b, handle, deadband))
        if not_numbers:
            n = len(not_numbers)
            self._notice(
                f"no deadband on {n} tag{'s' if n > 1 else ''} whose node is not of a number "
                f"type (every change is kept): {_some(not_numbers)}"
            )
        self.monitored_items = await self._create_items(sub, reqs)
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

    async def _create_items(
        self, sub: Subscription, reqs: list[ua.MonitoredItemCreateRequest]
    ) -> int:
        """Create the monitored items; return how many the server made. A tag whose deadband
        filter the server refuses is asked for again without it (and said so, once)."""
        created = 0
        retry: list[ua.MonitoredItemCreateRequest] = []
        refused: dict[str, list[str]] = {}  # status name -> tags whose filter it refused
        for start in range(0, len(reqs), _BATCH):
            chunk = reqs[start : start + _BATCH]
            res = await sub.create_monitored_items(chunk)
            for req, r in zip(chunk, res, strict=True):
                mp = req.RequestedParameters
                if not isinstance(r, ua.StatusCode):
                    created += 1
                elif mp.Filter is not None and (r.value & 0xFFFF0000) in _FILTER_REFUSED:
                    b = self.by_handle[mp.ClientHandle]
                    refused.setdefault(r.name, []).append(f"{b.equipment}.{b.tag}")
                    mp.Filter = None
                    retry.append(req)
                else:
                    self._not_monitored(mp.ClientHandle, r)
        for name, tags in refused.items():
            self._notice(
                f"the server refused the deadband filter ({name}) on {_some(tags)}: "
                "monitored without it, every change is kept",
                warn=True,
            )
        for start in range(0, len(retry), _BATCH):
            chunk = retry[start : start + _BATCH]
            res = await sub.create_monitored_items(chunk)
            for req, r in zip(chunk, res, strict=True):
                if isinstance(r, ua.StatusCode):
                    self._not_monitored(req.RequestedParameters.ClientHandle, r)
                else:
                    created += 1
        return created

    def _not_monitored(self, handle: int, status: ua.StatusCode) -> None:
        b = self.by_handle.pop(handle)
        msg = (
            f"{b.equipment}.{b.tag}: the server refused to monitor "
            f"{b.nodeid.to_string()} ({status.name})"
        )
        self.problems.append(msg)
        logger.warning("endpoint %s: %s", self.endpoint.id, msg)
        if not b.equipment.startswith("__"):  # fab figures are optional
            self.unbound.append((b.equipment, b.tag, status.name))

    def _notice(self, msg: str, *, warn: bool = False) -> None:
        """Keep a notice for :meth:`PlantClient.notices`; log it the first time only."""
        self.notices.append(msg)
        if msg not in self._noticed:
            self._noticed.add(msg)
            (logger.warning if warn else logger.info)("endpoint %s: %s", self.endpoint.id, msg)

    def _wants_deadband(self, b: _Bound) -> bool:
        """Whether the deadband applies to this tag's type (its node's type aside)."""
        return (
            self.owner.deadband > 0
            and b.kind in (TagType.FLOAT, TagType.INT)
            and not b.standard
            and b.equipment != RAIL_EQUIPMENT  # arrays: every element would be filtered
        )

    def _item_request(
        self, b: _Bound, handle: int, deadband: bool
    ) -> ua.MonitoredItemCreateRequest:
        owner = self.owner
        rv = ua.ReadValueId()
        rv.NodeId = b.nodeid
        rv.AttributeId = ua.AttributeIds.Value
        mp = ua.MonitoringParameters()
        mp.ClientHandle = handle
        mp.SamplingInterval = owner.sampling_ms
        mp.QueueSize = owner.queue_size
        mp.DiscardOldest = True
        if deadband:
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
            if (*key, code.name) not in self.bad_logged:
                self.bad_logged.add((*key, code.name))
                logger.warning(
                    "endpoint %s: %s.%s: node %s reports %s; the tag's quality is %s",
                    self.endpoint.id,
                    b.equipment,
                    b.tag,
                    b.nodeid.to_string(),
                    code.name,
                    quality.value,
                )
            return TagUpdate(
                b.equipment, b.tag, self.last_values.get(key), ts, quality, srv, code.name
            )
        converted, ok = self._convert(b, value)
        variant = dv.Value if dv is not None else None
        if not ok:
            # once per episode: the values may differ each time while the type stays wrong
            if (*key, "type") not in self.bad_logged:
                self.bad_logged.add((*key, "type"))
                logger.warning(
                    "endpoint %s: %s.%s: node %s sent %s, where the %s tag needs %s; "
                    "marked bad until a value of that type arrives",
                    self.endpoint.id,
                    b.equipment,
                    b.tag,
                    b.nodeid.to_string(),
                    _sent(variant, value),
                    b.kind.value,
                    _NEEDS[b.kind],
                )
            return TagUpdate(b.equipment, b.tag, None, ts, Quality.BAD, srv, "BadTypeMismatch")
        if (*key, "type") in self.bad_logged:
            self.bad_logged.discard((*key, "type"))
            logger.info(
                "endpoint %s: %s.%s: node %s sends %s: good again",
                self.endpoint.id,
                b.equipment,
                b.tag,
                b.nodeid.to_string(),
                _sent(variant, value),
            )
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
