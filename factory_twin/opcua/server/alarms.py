"""Alarms & Conditions of the plant simulator server.

One condition per tag limit (``ExclusiveLimitAlarmType``) and one equipment-fault condition
per machine (``OffNormalAlarmType``). :class:`AlarmConditions` keeps their live state, builds
their events, emits each transition from the machine *and* from the Server object (most
alarm clients watch the Server), and serves Acknowledge, Confirm and ConditionRefresh.

ISA-18.2 alarm management:

* **priority**: each limit's priority from the plant file, served as its Severity
  (:data:`~factory_twin.model.events.PRIORITY_SEVERITY`);
* **state-based alarming**: a limit with active states (``active_in``) is evaluated only
  while its tool is in one of them (and ``settle_s`` after it entered it); leaving them
  returns an active alarm to normal;
* **shelving**: the ShelvedStateMachine methods on each condition's ``ShelvingState`` object
  (OneShotShelve, TimedShelve, Unshelve and their ``2`` forms with a comment). A shelved
  alarm is still evaluated and its events still sent, with ``SuppressedOrShelved`` true, so
  clients keep it off the operator's list; a timed shelve ends after its time (wall clock),
  a one-shot shelve when the alarm returns to normal;
* **out of service**: RemoveFromService / PlaceInService (and the ``2`` forms) on the
  condition set ``OutOfServiceState``: events are still sent and logged, flagged.

Every transition a client causes (acknowledge, confirm, shelve, out of service) is logged
with the user of the calling session (its user name, or ``anonymous``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from asyncua import ua
from asyncua.common import event_objects

from factory_twin.model.events import AlarmEvent, E10State, ShelvingState
from factory_twin.model.schema import TagSpec
from factory_twin.opcua import _asyncua_adapter as adapter
from factory_twin.opcua._uatypes import node_id, status
from factory_twin.opcua.server.constants import LIMIT_STATE_NAMES, SEVERITY

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from asyncua import Server

    from factory_twin.opcua.server.nodes import NodeBatch

_SERVER = node_id(ua.ObjectIds.Server)
MethodResult = ua.StatusCode | list[Any]
MAX_TIME_SHELVED_MS = 8 * 3600 * 1000.0  # ISA-18.2: shelving is short-term; 8 h at most


def _loop_time() -> float:
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return 0.0


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
    states: frozenset[E10State] | None = None  # None: active in every state
    settle_s: float = 0.0
    shelving: ShelvingState = ShelvingState.UNSHELVED
    unshelve_at: float = 0.0  # loop time a timed shelve ends
    shelve_token: int = 0
    out_of_service: bool = False
    shelving_node: ua.NodeId = field(default_factory=ua.NodeId)

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
        self._by_shelving: dict[ua.NodeId, Condition] = {}
        self._restricted_cache: dict[str, list[Condition]] | None = None
        self._server: Server | None = None
        # Drill mode: told of every client Acknowledge (equipment, code, comment), also of an
        # alarm already acknowledged by another trainee, which is then answered Good.
        # drill mode: told of every acknowledgement; False refuses it (BadUserAccessDenied)
        self.ack_hook: Callable[[str, str, str], bool] | None = None

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
        # the standard place of the shelving methods: the condition's ShelvingState object
        cond.shelving_node = b.obj(
            node_id(f"{equipment}.Alarms.{code}.ShelvingState", ns),
            ua.QualifiedName("ShelvingState", 0),
            nid,
            typedef=node_id(ua.ObjectIds.ShelvedStateMachineType),
        )
        self.conditions[nid] = cond
        self._by_shelving[cond.shelving_node] = cond
        return cond

    def attach(self, server: Server) -> None:
        """Send events to ``server`` and serve the condition methods there."""
        self._server = server
        for method, handler in (
            (ua.ObjectIds.AcknowledgeableConditionType_Acknowledge, self._on_acknowledge),
            (ua.ObjectIds.AcknowledgeableConditionType_Confirm, self._on_confirm),
            (ua.ObjectIds.ConditionType_ConditionRefresh, self._on_refresh),
            (ua.ObjectIds.ConditionType_ConditionRefresh2, self._on_refresh),
            (ua.ObjectIds.ShelvedStateMachineType_OneShotShelve, self._on_one_shot),
            (ua.ObjectIds.ShelvedStateMachineType_OneShotShelve2, self._on_one_shot),
            (ua.ObjectIds.ShelvedStateMachineType_TimedShelve, self._on_timed),
            (ua.ObjectIds.ShelvedStateMachineType_TimedShelve2, self._on_timed),
            (ua.ObjectIds.ShelvedStateMachineType_Unshelve, self._on_unshelve),
            (ua.ObjectIds.ShelvedStateMachineType_Unshelve2, self._on_unshelve),
            (ua.ObjectIds.AlarmConditionType_RemoveFromService, self._on_remove_from_service),
            (ua.ObjectIds.AlarmConditionType_RemoveFromService2, self._on_remove_from_service),
            (ua.ObjectIds.AlarmConditionType_PlaceInService, self._on_place_in_service),
            (ua.ObjectIds.AlarmConditionType_PlaceInService2, self._on_place_in_service),
        ):
            adapter.add_method_callback(server, node_id(method), handler)
        adapter.track_calling_user(server)

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
        ev.add_property(
            "ShelvingState/CurrentState", ua.LocalizedText(""), ua.VariantType.LocalizedText
        )
        ev.add_property("ShelvingState/UnshelveTime", 0.0, ua.VariantType.Double)
        ev.data_types["MaxTimeShelved"] = ua.VariantType.Double  # a Duration, ms
        ev.MaxTimeShelved = MAX_TIME_SHELVED_MS
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
        self,
        spec: TagSpec,
        conditions: list[Condition],
        value: Any,
        time_s: float,
        state: tuple[E10State, float] | None = None,
    ) -> None:
        """Raise or clear the limit conditions of a tag for its new ``value``.

        ``state`` is the tool's E10 state and the plant time it entered it (None: unknown,
        every limit is evaluated).
        """
        try:
            v = float(value)
        except (TypeError, ValueError):
            return
        unit = f" {spec.unit}" if spec.unit else ""
        for c in conditions:
            if c.states is not None and state is not None:
                if state[0] not in c.states:
                    if c.active:
                        await self.deactivate(c, self._state_text(c, state[0]), time_s)
                    continue
                if time_s - state[1] < c.settle_s:
                    continue
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

    @staticmethod
    def _state_text(c: Condition, state: E10State) -> str:
        return f"{c.code}: not evaluated while {state.value} (state-based alarm)"

    async def state_changed(self, equipment: str, state: E10State, time_s: float) -> None:
        """Return the state-restricted alarms of ``equipment`` that ``state`` disables."""
        for c in self._restricted.get(equipment, ()):
            if c.active and c.states is not None and state not in c.states:
                await self.deactivate(c, self._state_text(c, state), time_s)

    @property
    def _restricted(self) -> dict[str, list[Condition]]:
        if self._restricted_cache is None:
            out: dict[str, list[Condition]] = {}
            for c in self.conditions.values():
                if c.states is not None:
                    out.setdefault(c.equipment, []).append(c)
            self._restricted_cache = out
        return self._restricted_cache

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
        if c.shelving is ShelvingState.ONE_SHOT:  # a one-shot shelve lasts one activation
            c.shelving = ShelvingState.UNSHELVED
        await self._emit(c, text, time_s)

    def _set_state_fields(self, c: Condition) -> None:
        ev = c.event
        setattr(ev, "ShelvingState/CurrentState", ua.LocalizedText(c.shelving.value))
        left = max(c.unshelve_at - _loop_time(), 0.0) if c.shelving is ShelvingState.TIMED else 0
        setattr(ev, "ShelvingState/UnshelveTime", left * 1000.0)
        setattr(ev, "OutOfServiceState/Id", c.out_of_service)
        ev.OutOfServiceState = ua.LocalizedText(
            "Out of Service" if c.out_of_service else "In Service"
        )
        ev.SuppressedOrShelved = c.shelving is not ShelvingState.UNSHELVED
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
            shelving=c.shelving,
            unshelve_time_s=(
                max(c.unshelve_at - _loop_time(), 0.0)
                if c.shelving is ShelvingState.TIMED
                else 0.0
            ),
            out_of_service=c.out_of_service,
        )

    def active(self) -> list[AlarmEvent]:
        """Return the alarms that are active or not yet acknowledged, newest state of each."""
        return [self.record(c, "") for c in self.conditions.values() if c.retain]

    # ------------------------------------------------------------------ acknowledge, confirm

    def by_id(self, alarm_id: str) -> Condition | None:
        """Return the condition ``<equipment>.<code>`` (None if unknown)."""
        for c in self.conditions.values():
            if c.alarm_id == alarm_id:
                return c
        return None

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
        hook = self.ack_hook
        if hook is not None:  # drill mode: a trainee may answer an event already acked
            c = self.conditions.get(parent)
            if c is not None and c.acked and event_id:
                if not hook(c.equipment, c.code, _text(comment)):
                    return status(ua.StatusCodes.BadUserAccessDenied)
                return []
        found = self._find(parent, event_id)
        if isinstance(found, ua.StatusCode):
            return found
        if found.acked:
            return status(ua.StatusCodes.BadConditionBranchAlreadyAcked)
        if hook is not None and not hook(found.equipment, found.code, _text(comment)):
            return status(ua.StatusCodes.BadUserAccessDenied)
        await self.ack(found, _text(comment), adapter.calling_user())
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
        user = adapter.calling_user()
        found.event.ClientUserId = user
        await self._emit(found, None, self.clock.now_s, user, _text(comment))
        return []

    # ------------------------------------------------------------------ shelving, service

    async def shelve(
        self,
        c: Condition,
        kind: ShelvingState,
        duration_s: float = 0.0,
        comment: str = "",
        user: str = "",
    ) -> None:
        """Shelve (or, with ``UNSHELVED``, unshelve) ``c``; log and emit the transition."""
        c.shelve_token += 1
        c.shelving = kind
        if kind is ShelvingState.TIMED:
            c.unshelve_at = _loop_time() + duration_s
            token = c.shelve_token
            asyncio.get_running_loop().call_later(
                duration_s, lambda: asyncio.ensure_future(self._expire(c, token))
            )
        what = {
            ShelvingState.UNSHELVED: "unshelved",
            ShelvingState.ONE_SHOT: "shelved until it returns to normal",
            ShelvingState.TIMED: f"shelved for {duration_s / 60:.4g} min",
        }[kind]
        await self._client_transition(c, f"{c.code}: {what}", user, comment)

    async def _expire(self, c: Condition, token: int) -> None:
        if token == c.shelve_token and c.shelving is ShelvingState.TIMED:
            c.shelving = ShelvingState.UNSHELVED
            await self._client_transition(c, f"{c.code}: shelving time expired", "", "")

    async def set_out_of_service(
        self, c: Condition, out: bool, comment: str = "", user: str = ""
    ) -> None:
        """Remove ``c`` from service (or place it back); log and emit the transition."""
        c.out_of_service = out
        text = f"{c.code}: {'removed from service' if out else 'placed in service'}"
        await self._client_transition(c, text, user, comment)

    async def _client_transition(self, c: Condition, text: str, user: str, comment: str) -> None:
        self._event(c)
        c.event.Comment = ua.LocalizedText(comment)
        c.event.ClientUserId = user
        await self._emit(c, text, self.clock.now_s, user, comment)

    def _shelving_target(self, parent: ua.NodeId) -> Condition | ua.StatusCode:
        c = self._by_shelving.get(parent) or self.conditions.get(parent)
        if c is None:
            return status(ua.StatusCodes.BadNodeIdUnknown)
        return c

    async def _on_one_shot(self, parent: ua.NodeId, comment: Any = None) -> MethodResult:
        c = self._shelving_target(parent)
        if isinstance(c, ua.StatusCode):
            return c
        if c.shelving is ShelvingState.ONE_SHOT:
            return status(ua.StatusCodes.BadConditionAlreadyShelved)
        await self.shelve(c, ShelvingState.ONE_SHOT, 0.0, _text(comment), adapter.calling_user())
        return []

    async def _on_timed(
        self, parent: ua.NodeId, shelving_ms: Any = None, comment: Any = None
    ) -> MethodResult:
        c = self._shelving_target(parent)
        if isinstance(c, ua.StatusCode):
            return c
        try:
            ms = float(getattr(shelving_ms, "Value", shelving_ms))
        except (TypeError, ValueError):
            return status(ua.StatusCodes.BadInvalidArgument)
        if not 0 < ms <= MAX_TIME_SHELVED_MS:
            return status(ua.StatusCodes.BadShelvingTimeOutOfRange)
        if c.shelving is ShelvingState.TIMED:
            return status(ua.StatusCodes.BadConditionAlreadyShelved)
        await self.shelve(
            c, ShelvingState.TIMED, ms / 1000.0, _text(comment), adapter.calling_user()
        )
        return []

    async def _on_unshelve(self, parent: ua.NodeId, comment: Any = None) -> MethodResult:
        c = self._shelving_target(parent)
        if isinstance(c, ua.StatusCode):
            return c
        if c.shelving is ShelvingState.UNSHELVED:
            return status(ua.StatusCodes.BadConditionNotShelved)
        await self.shelve(c, ShelvingState.UNSHELVED, 0.0, _text(comment), adapter.calling_user())
        return []

    async def _on_remove_from_service(
        self, parent: ua.NodeId, comment: Any = None
    ) -> MethodResult:
        c = self.conditions.get(parent)
        if c is None:
            return status(ua.StatusCodes.BadNodeIdUnknown)
        await self.set_out_of_service(c, True, _text(comment), adapter.calling_user())
        return []

    async def _on_place_in_service(self, parent: ua.NodeId, comment: Any = None) -> MethodResult:
        c = self.conditions.get(parent)
        if c is None:
            return status(ua.StatusCodes.BadNodeIdUnknown)
        await self.set_out_of_service(c, False, _text(comment), adapter.calling_user())
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
