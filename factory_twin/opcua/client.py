"""The plant client: live tag values and alarms from the plant's OPC UA servers.

:class:`PlantClient` connects to every endpoint of a plant file, binds each equipment's
tags to server nodes (explicit node ids or browse paths from the plant file, or the plant
simulator's address-space convention), subscribes to them and to alarm events, and hands
everything over as plain :mod:`factory_twin.model.events` records through a thread-safe
queue (:meth:`PlantClient.drain`). It never raises from its background work: a dead or
lost server shows up as :class:`ConnectionStatus` records and stale values, and comes back
on its own (capped exponential backoff), with its subscriptions and active alarms restored.
Each endpoint's connection, subscriptions and record conversion live in
:mod:`factory_twin.opcua.client_link`, its tag binding in
:mod:`factory_twin.opcua.client_binding`; this module holds the client and its commands
(acknowledge, shelve, out of service, method calls, checked and logged writes).

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
import json
import logging
import queue
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from asyncua import Client, Node, ua

from factory_twin.errors import ConnectionFailed, FactoryTwinError
from factory_twin.model.events import (
    AlarmEvent,
    ConnectionStatus,
    PlantEvent,
    ShelvingState,
)
from factory_twin.model.schema import Equipment, PlantSpec
from factory_twin.opcua._uatypes import node_id
from factory_twin.opcua.client_binding import STANDARD_TAGS, _Bound
from factory_twin.opcua.client_common import (
    TAG_VARIANT_TYPES,
    WRITABLE_VARIANT_TYPES,
    BrowseCache,
    data_type_name,
    describe_error,
    is_base_data_type,
    now_s,
    parse_node_id,
    variant_type_for,
)
from factory_twin.opcua.client_link import _EndpointLink

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
        Absolute deadband of numeric process tags (0 = every change). Only on nodes whose
        DataType is a number type (BaseDataType may hold a String next); a tag whose
        filter the server refuses is monitored without it. :meth:`notices` says which.
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

    def notices(self) -> list[str]:
        """Return how tags are monitored unlike asked, as sentences: tags left without the
        deadband because their node is not of a number type, or because the server refused
        the filter (they are monitored without it)."""
        return [n for link in self._links.values() for n in link.notices]

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
        if vtype is None and is_base_data_type(b.data_type):
            try:
                vtype = await _any_variant_type(node, b)
            except ValueError as exc:
                raise refuse(str(exc), b.nodeid.to_string()) from None
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


async def _any_variant_type(node: Node, b: _Bound) -> ua.VariantType:
    """Return the Variant type to write to a node declared BaseDataType (any Variant).

    That of the value the node holds now (read afresh: the last value seen may be old),
    else, when it holds none, that of the tag's type in the plant file. ValueError says,
    naming the node, why neither fits.
    """
    where = f"node {b.nodeid.to_string()} is declared BaseDataType (any type) and"
    why = "holds no value yet"
    try:
        dv = await node.read_data_value(raise_on_bad_status=False)
    except Exception as exc:  # not readable: only the plant file can say
        why = f"its value could not be read ({describe_error(exc)})"
        held = None
    else:  # a bad status with a value (a failed sensor) still shows the node's type
        held = dv.Value
        code = dv.StatusCode
        if code is not None and not code.is_good():
            why = f"its value could not be read ({code.name})"
    if held is not None and held.VariantType is not ua.VariantType.Null:
        name = held.VariantType.name
        if held.is_array or isinstance(held.Value, list | tuple):
            msg = f"{where} holds an array ({name}[]); only single values can be written"
            raise ValueError(msg)
        if held.VariantType not in WRITABLE_VARIANT_TYPES:
            msg = f"{where} holds a value of type {name}, which factory_twin cannot write"
            raise ValueError(msg)
        logger.info("%s holds a value of type %s: writing that type", where, name)
        return held.VariantType
    if b.standard:  # a standard tag's type is the client's convention, not the plant file's
        msg = f"{where} {why}, and the plant file gives {b.equipment}.{b.tag} no data type"
        raise ValueError(msg)
    vtype = TAG_VARIANT_TYPES[b.kind]
    logger.info("%s %s: writing %s (the tag's type is %s)", where, why, vtype.name, b.kind.value)
    return vtype


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
