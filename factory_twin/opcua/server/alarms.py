"""Alarms & Conditions of the plant simulator server.

One condition per tag limit (``ExclusiveLimitAlarmType``) and one equipment-fault condition
per machine (``OffNormalAlarmType``). :class:`AlarmConditions` keeps their live state, builds
their events, emits each transition from the machine *and* from the Server object (most
alarm clients watch the Server), and serves Acknowledge, Confirm and ConditionRefresh.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from asyncua import ua
from asyncua.common import event_objects

from factory_twin.model.events import AlarmEvent
from factory_twin.model.schema import TagSpec
from factory_twin.opcua import _asyncua_adapter as adapter
from factory_twin.opcua._uatypes import node_id, status
from factory_twin.opcua.server.constants import LIMIT_STATE_NAMES, SEVERITY

if TYPE_CHECKING:
    from asyncua import Server

    from factory_twin.opcua.server.nodes import NodeBatch

_SERVER = node_id(ua.ObjectIds.Server)
_LIMIT_FIELDS = {
    "hihi": "HighHighLimit",
    "hi": "HighLimit",
    "lo": "LowLimit",
    "lolo": "LowLowLimit",
}


@dataclass(slots=True)
class PlantClock:
    """The plant time of the newest record the server got, in seconds (shared, mutable)."""

    now_s: float = 0.0


@dataclass(eq=False)
class Condition:
    """Live state of one OPC UA condition."""

    equipment: str
    code: str
    severity: int
    node_id: ua.NodeId
    machine_id: ua.NodeId
    # asyncua's event objects grow their fields at run time (add_property), so their
    # attributes are invisible to a type checker: the event is typed Any on purpose.
    event: Any
    tag: TagSpec | None = None
    limit: str = ""
    limit_value: float = 0.0
    deadband: float = 0.0
    type_id: ua.NodeId = field(default_factory=ua.NodeId)
    condition_class: ua.NodeId = field(default_factory=ua.NodeId)
    input_node: ua.NodeId = field(default_factory=ua.NodeId)
    active: bool = False
    acked: bool = True
    confirmed: bool = True
    event_id: bytes = b""

    @property
    def alarm_id(self) -> str:
        """The plant-wide id of this alarm: ``<equipment>.<code>``."""
        return f"{self.equipment}.{self.code}"

    @property
    def retain(self) -> bool:
        """Whether clients should still show this condition (active or awaiting ack)."""
        return self.active or not self.acked


def _text(v: Any) -> str:
    v = getattr(v, "Value", v)
    if isinstance(v, ua.LocalizedText):
        return v.Text or ""
    return "" if v is None else str(v)


class AlarmConditions:
    """The conditions of a plant, their events and the condition methods.

    Parameters
    ----------
    clock
        The plant clock: time of alarm records that carry no time of their own.
    notify
        Called with the :class:`~factory_twin.model.events.AlarmEvent` of every transition.
    """

    def __init__(self, clock: PlantClock, notify: Callable[[AlarmEvent], None]) -> None:
        self.clock = clock
        self.notify = notify
        self.conditions: dict[ua.NodeId, Condition] = {}
        self.faults: dict[str, Condition] = {}
        self._server: Server | None = None

    @property
    def server(self) -> Server:
        """The asyncua server the events go to (RuntimeError before :meth:`attach`)."""
        if self._server is None:
            msg = "the alarm conditions are not attached to a server"
            raise RuntimeError(msg)
        return self._server

    # ------------------------------------------------------------------ building

    def add(
        self,
        b: NodeBatch,
        ns: int,
        equipment: str,
        machine: ua.NodeId,
        code: str,
        type_name: str,
        condition_class: ua.NodeId,
        input_node: ua.NodeId,
    ) -> Condition:
        """Collect the node of a new condition of ``machine``; return the condition."""
        type_id = node_id(getattr(ua.ObjectIds, type_name))
        nid = b.obj(
            node_id(f"{equipment}.Alarms.{code}", ns),
            ua.QualifiedName(code, ns),
            machine,
            ref=ua.ObjectIds.HasCondition,
            typedef=type_id,
            description=f"{equipment} alarm {code}",
        )
        severity = SEVERITY["fault" if code == "fault" else code.rsplit(".", 1)[1]]
        cond = Condition(equipment, code, severity, nid, machine, None)
        cond.type_id, cond.condition_class, cond.input_node = type_id, condition_class, input_node
        self.conditions[nid] = cond
        return cond

    def attach(self, server: Server) -> None:
        """Send events to ``server`` and serve the condition methods there."""
        self._server = server
        for method, handler in (
            (ua.ObjectIds.AcknowledgeableConditionType_Acknowledge, self._on_acknowledge),
            (ua.ObjectIds.AcknowledgeableConditionType_Confirm, self._on_confirm),
            (ua.ObjectIds.ConditionType_ConditionRefresh, self._on_refresh),
            (ua.ObjectIds.ConditionType_ConditionRefresh2, self._on_refresh),
        ):
            adapter.add_method_callback(server, node_id(method), handler)

    def _event(self, c: Condition) -> Any:
        """Return the condition's event record, made on first use (most never fire)."""
        if c.event is not None:
            return c.event
        limit_alarm = c.type_id.Identifier == ua.ObjectIds.ExclusiveLimitAlarmType
        ev: Any = (
            event_objects.ExclusiveLimitAlarm() if limit_alarm else event_objects.AlarmCondition()
        )
        ev.EventType = c.type_id
        ev.add_property("NodeId", c.node_id, ua.VariantType.NodeId)  # the ConditionId field
        ev.SourceNode = c.machine_id
        ev.SourceName = c.equipment
        ev.ConditionName = c.code
        ev.ConditionClassId = c.condition_class
        ev.ConditionClassName = ua.LocalizedText(
            "ProcessConditionClass"
            if c.condition_class.Identifier == ua.ObjectIds.ProcessConditionClassType
            else "MaintenanceConditionClass"
        )
        ev.InputNode = c.input_node
        ev.Severity = c.severity
        ev.Retain = False
        ev.Quality = status(ua.StatusCodes.Good)
        ev.BranchId = ua.NodeId()
        ev.SupportsFilteredRetain = False
        setattr(ev, "EnabledState/Id", True)
        ev.EnabledState = ua.LocalizedText("Enabled")
        ev.SuppressedOrShelved = False
        setattr(ev, "SuppressedState/Id", False)
        for name in ("ActiveState", "AckedState", "ConfirmedState"):
            ev.data_types[f"{name}/TransitionTime"] = ua.VariantType.DateTime
        if limit_alarm and c.limit:
            ev.add_property(
                "LimitState/CurrentState", ua.LocalizedText(""), ua.VariantType.LocalizedText
            )
            setattr(ev, _LIMIT_FIELDS[c.limit], c.limit_value)
            setattr(ev, f"Severity{LIMIT_STATE_NAMES[c.limit]}", c.severity)
        c.event = ev
        self._set_state_fields(c)
        return ev

    # ------------------------------------------------------------------ transitions

    async def check_limits(
        self, spec: TagSpec, conditions: list[Condition], value: Any, time_s: float
    ) -> None:
        """Raise or clear the limit conditions of a tag for its new ``value``."""
        try:
            v = float(value)
        except (TypeError, ValueError):
            return
        unit = f" {spec.unit}" if spec.unit else ""
        for c in conditions:
            high = c.limit in ("hi", "hihi")
            if not c.active:
                if (v > c.limit_value) if high else (v < c.limit_value):
                    word = "above" if high else "below"
                    text = (
                        f"{c.code}: {spec.name} = {v:.4g}{unit} {word} the {c.limit} limit "
                        f"{c.limit_value:.4g}{unit}"
                    )
                    await self.activate(c, text, time_s)
            else:
                back = (
                    (v <= c.limit_value - c.deadband)
                    if high
                    else (v >= c.limit_value + c.deadband)
                )
                if back:
                    text = f"{c.code}: {spec.name} = {v:.4g}{unit} back within the {c.limit} limit"
                    await self.deactivate(c, text, time_s)

    async def activate(self, c: Condition, text: str, time_s: float) -> None:
        """Make ``c`` active, unacknowledged and unconfirmed; emit it."""
        c.active, c.acked, c.confirmed = True, False, False
        now = datetime.now(UTC)
        ev = self._event(c)
        for name in ("ActiveState", "AckedState", "ConfirmedState"):
            setattr(ev, f"{name}/TransitionTime", now)
        if c.limit:
            setattr(ev, "LimitState/CurrentState", ua.LocalizedText(LIMIT_STATE_NAMES[c.limit]))
        ev.Comment = ua.LocalizedText("")
        ev.ClientUserId = ""
        await self._emit(c, text, time_s)

    async def deactivate(self, c: Condition, text: str, time_s: float) -> None:
        """Make ``c`` inactive (it stays until acknowledged); emit it."""
        c.active = False
        self._event(c)
        setattr(c.event, "ActiveState/TransitionTime", datetime.now(UTC))
        if c.limit:
            setattr(c.event, "LimitState/CurrentState", ua.LocalizedText(""))
        await self._emit(c, text, time_s)

    def _set_state_fields(self, c: Condition) -> None:
        ev = c.event
        setattr(ev, "ActiveState/Id", c.active)
        ev.ActiveState = ua.LocalizedText("Active" if c.active else "Inactive")
        setattr(ev, "AckedState/Id", c.acked)
        ev.AckedState = ua.LocalizedText("Acknowledged" if c.acked else "Unacknowledged")
        setattr(ev, "ConfirmedState/Id", c.confirmed)
        ev.ConfirmedState = ua.LocalizedText("Confirmed" if c.confirmed else "Unconfirmed")
        ev.Retain = c.retain

    async def _emit(
        self, c: Condition, text: str | None, time_s: float, user: str = "", comment: str = ""
    ) -> None:
        ev = c.event
        self._set_state_fields(c)
        now = datetime.now(UTC)
        c.event_id = uuid.uuid4().hex.encode("ascii")
        ev.EventId = c.event_id
        ev.Time = now
        ev.ReceiveTime = now
        if text is not None:
            ev.Message = ua.LocalizedText(text)
        ev.LastSeverity = ev.Severity
        # First from the machine, then from the Server object: asyncua keeps the last
        # emitted copy for ConditionRefresh, and most alarm clients watch the Server.
        await adapter.emit_event(self.server, ev, c.machine_id)
        await adapter.emit_event(self.server, ev, _SERVER)
        self.notify(self.record(c, ev.Message.Text or "", time_s, user, comment))

    def record(
        self,
        c: Condition,
        message: str,
        time_s: float | None = None,
        user: str = "",
        comment: str = "",
    ) -> AlarmEvent:
        """Return the :class:`~factory_twin.model.events.AlarmEvent` of ``c`` now."""
        return AlarmEvent(
            alarm_id=c.alarm_id,
            equipment=c.equipment,
            code=c.code,
            severity=c.severity,
            message=message or (c.event.Message.Text or "" if c.event is not None else ""),
            time_s=self.clock.now_s if time_s is None else time_s,
            active=c.active,
            acked=c.acked,
            user=user,
            comment=comment,
            event_id=c.event_id,
        )

    def active(self) -> list[AlarmEvent]:
        """Return the alarms that are active or not yet acknowledged, newest state of each."""
        return [self.record(c, "") for c in self.conditions.values() if c.retain]

    # ------------------------------------------------------------------ acknowledge, confirm

    async def acknowledge(self, alarm_id: str, comment: str = "", user: str = "") -> bool:
        """Acknowledge an alarm from the server side; False if unknown or already acked."""
        for c in self.conditions.values():
            if c.alarm_id == alarm_id:
                if c.acked:
                    return False
                await self.ack(c, comment, user)
                return True
        return False

    async def ack(self, c: Condition, comment: str, user: str) -> None:
        """Acknowledge ``c``; emit it."""
        c.acked = True
        setattr(c.event, "AckedState/TransitionTime", datetime.now(UTC))
        c.event.Comment = ua.LocalizedText(comment)
        c.event.ClientUserId = user
        await self._emit(c, None, self.clock.now_s, user, comment)

    def _find(self, object_id: ua.NodeId, event_id: Any) -> Condition | ua.StatusCode:
        c = self.conditions.get(object_id)
        if c is None:
            return status(ua.StatusCodes.BadNodeIdUnknown)
        eid = getattr(event_id, "Value", event_id)
        if not eid or bytes(eid) != c.event_id:
            return status(ua.StatusCodes.BadEventIdUnknown)
        return c

    async def _on_acknowledge(
        self, parent: ua.NodeId, event_id: Any = None, comment: Any = None
    ) -> ua.StatusCode | list[Any]:
        found = self._find(parent, event_id)
        if isinstance(found, ua.StatusCode):
            return found
        if found.acked:
            return status(ua.StatusCodes.BadConditionBranchAlreadyAcked)
        await self.ack(found, _text(comment), "")
        return []

    async def _on_confirm(
        self, parent: ua.NodeId, event_id: Any = None, comment: Any = None
    ) -> ua.StatusCode | list[Any]:
        found = self._find(parent, event_id)
        if isinstance(found, ua.StatusCode):
            return found
        if found.confirmed:
            return status(ua.StatusCodes.BadConditionBranchAlreadyConfirmed)
        if not found.acked:
            return status(ua.StatusCodes.BadInvalidState)
        found.confirmed = True
        setattr(found.event, "ConfirmedState/TransitionTime", datetime.now(UTC))
        found.event.Comment = ua.LocalizedText(_text(comment))
        await self._emit(found, None, self.clock.now_s, "", _text(comment))
        return []

    # ------------------------------------------------------------------ refresh

    async def _on_refresh(
        self, parent: ua.NodeId, subscription_id: Any = None, *rest: Any
    ) -> ua.StatusCode | list[Any]:
        sid = int(getattr(subscription_id, "Value", subscription_id) or 0)
        sink = adapter.subscription_event_sink(self.server, sid)
        if sink is None:
            return status(ua.StatusCodes.BadSubscriptionIdInvalid)
        start: Any = event_objects.RefreshStartEvent()
        end: Any = event_objects.RefreshEndEvent()
        for marker in (start, end):
            marker.SourceNode = _SERVER
            marker.SourceName = "Server"
            marker.Severity = 1
        await self._send_marker(sink, start)
        for c in list(self.conditions.values()):
            if not c.retain:
                continue
            for emitter in (c.machine_id, _SERVER):
                await adapter.emit_to(sink, c.event, emitter)
        await self._send_marker(sink, end)
        return []

    async def _send_marker(self, sink: adapter.EventSink, marker: Any) -> None:
        now = datetime.now(UTC)
        marker.EventId = uuid.uuid4().hex.encode("ascii")
        marker.Time = marker.ReceiveTime = now
        await adapter.emit_to(sink, marker, _SERVER)
