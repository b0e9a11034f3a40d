"""An OPC UA client of a drill: the live-plant guard, trainee and trainer calls, drill events.

:class:`DrillClient` connects to a plant simulator in drill mode
(:mod:`factory_twin.opcua.server.drill_space`). It refuses any endpoint that is not our
simulator in drill mode (:func:`drill_endpoint_problem` says why), so a drill can never act
on a live plant. The session name is the trainee's name (an anonymous session is scored under
it). Drill events, drill variables and alarm events arrive as plain records
(:class:`DrillNotice`, :class:`DrillStatus`) through a thread-safe queue (:meth:`drain`).

Joining gives the client its secret token (kept over reconnects of this client; pass it as
``token`` to a new client, after an app restart say, to join under the name again): a name
already taken is joined again only with its token, any other Join under it raises
:class:`DrillNameTaken`. With the token the client fetches its own debrief (:meth:`DrillClient.debrief`) whenever the server's
``DebriefRevision`` changes, into :attr:`DrillClient.debrief_text`. No other trainee's debrief
can be read.

A lost connection (the server gone, or its answers late beyond the watchdog) is noticed by
the client's watchdog or by a call that fails: :attr:`DrillClient.lost_reason` then says why
and :attr:`DrillClient.link_up` is False until :meth:`DrillClient.reconnect` succeeds.

Drill events and alarm transitions emitted while the connection was down are not lost: the
server numbers every drill event (the event's ``Seq``) and every alarm transition of the
plant and keeps them (``GetEvents``, :mod:`factory_twin.opcua.server.drill_events`). On every
connection the client reads the server's event log id before it subscribes; once subscribed
it fetches the entries numbered after the last one it had and queues those it has not
received yet (a drill event by its number, an alarm transition by its event's EventId),
oldest first, each marked ``caught_up``, ahead of the live ones that arrived meanwhile (held
until then); only then does it ask for the alarms standing (ConditionRefresh). An event
caught up that then arrives live as well (late, or by the refresh) is not queued again. So
each reaches :meth:`DrillClient.drain` once and in order, an alarm that rose and cleared
while the client was away included (a caught-up alarm carries its drill time). The same log id means the same log,
also from a drill server process started again on the same record directory; another id (a
new run, or a server whose log was lost) is read from its first entry. The trainee names the
server holds (``TakenNames``) are subscribed too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import time
from dataclasses import dataclass, field
from typing import Any

from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState

from factory_twin.errors import ConnectionFailed, FactoryTwinError
from factory_twin.opcua._uatypes import node_id
from factory_twin.opcua.client_common import (
    PLANT_NAMESPACE,
    describe_error,
    disconnect_quietly,
    open_session,
)
from factory_twin.opcua.security import APPLICATION_URI

logger = logging.getLogger(__name__)

PRODUCT_URI = "urn:factory-twin"
_DRILL_VARS = ("DrillId", "Name", "Briefing", "State", "Clock", "Speed", "Trainees",
               "ActiveFaults", "ScoresJson")  # fmt: skip
# subscribed too, but not read by status(): a change means "fetch your debrief again"
_SUBSCRIBED_VARS = (*_DRILL_VARS, "DebriefRevision", "TakenNames")
# seconds between the client's "server still there?" reads, and how late their answer may be:
# a drill server busy on a loaded computer answers late, which is no lost connection
WATCHDOG_S = 5.0
_NEWEST = 0xFFFFFFFF  # GetEvents after this: no events, only the log id and the last number


class DrillRefused(FactoryTwinError):
    """The endpoint is not our plant simulator in drill mode, or an action was refused."""


class DrillNameTaken(DrillRefused):
    """Join refused: another trainee holds the name (and we lack its token)."""


def name_taken_message(name: str) -> str:
    """What a trainee is told when the drill server refuses their Join under ``name``."""
    return (
        f"the name {name!r} is already taken in this drill: choose another name, "
        "or ask the trainer to release it"
    )


@dataclass(frozen=True, slots=True)
class DrillNotice:
    """A drill event (``kind`` injection | action | refused | score | state) or an alarm
    (``kind`` ``alarm``: ``equipment``, ``code``, ``active``, ``acked``).

    ``caught_up``: fetched from the server's event log after a reconnect (it was emitted
    while the connection was down), not received live."""

    kind: str
    message: str
    trainee: str = ""
    equipment: str = ""
    points: float = 0.0
    drill_time_s: float = 0.0
    received_s: float = 0.0
    code: str = ""
    active: bool = False
    acked: bool = False
    caught_up: bool = False


@dataclass(frozen=True, slots=True)
class DrillStatus:
    """The drill variables as last read."""

    drill_id: str
    name: str
    briefing: str
    state: str
    clock_s: float
    speed: float
    trainees: tuple[str, ...]
    active_faults: tuple[str, ...]
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)


async def drill_endpoint_problem(client: Client) -> str:
    """Return why the connected server is not our simulator in drill mode ('' if it is)."""
    try:
        product = await client.get_node(
            node_id(ua.ObjectIds.Server_ServerStatus_BuildInfo_ProductUri)
        ).read_value()
    except Exception as exc:
        return f"cannot read the server's product URI: {describe_error(exc)}"
    if product != PRODUCT_URI:
        return (
            f"the server is not the factory_twin plant simulator (its product URI is "
            f"{product!r}, ours is {PRODUCT_URI!r}); drills never run on a live plant"
        )
    ns_array = await client.get_namespace_array()
    if PLANT_NAMESPACE not in ns_array:
        return f"the server has no {PLANT_NAMESPACE} namespace: not a factory_twin plant"
    ns = ns_array.index(PLANT_NAMESPACE)
    try:
        mode = await client.get_node(node_id("Fab.Simulation.DrillMode", ns)).read_value()
    except Exception:
        mode = None
    if mode is not True:
        return (
            "the plant simulator is not in drill mode (no Fab.Simulation.DrillMode = true): "
            "start it with 'factory-twin serve PLANT --drill ID'"
        )
    return ""


class _Handler:
    def __init__(self, owner: DrillClient) -> None:
        self.owner = owner

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        key = self.owner._var_of.get(node.nodeid, "")
        self.owner._values[key] = val
        if key == "DebriefRevision":
            self.owner._debrief_changed()

    def event_notification(self, event: Any) -> None:
        self.owner._on_event(event)


class DrillClient:
    """A trainee's (or trainer's) connection to a drill.

    Parameters
    ----------
    url
        The drill server's endpoint.
    name
        The trainee's name: the session name (and so the name scores are kept under, for an
        anonymous session).
    trainer
        Follow (and steer) the drill without joining as a trainee.
    user, password
        Log in with a user name instead (the name then comes from the user).
    token
        The token an earlier Join under the name returned: a name already taken is joined
        only with it.
    """

    def __init__(
        self,
        url: str,
        name: str,
        *,
        user: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
        trainer: bool = False,
        token: str = "",
        watchdog_s: float = WATCHDOG_S,
    ) -> None:
        self.url = url
        self.watchdog_s = watchdog_s
        self.lost_reason = ""  # why the connection was lost ('' while it is up)
        self.trainer = trainer
        self.name = name
        self.user = user
        self.password = password
        self.timeout_s = timeout_s
        self.notices: queue.SimpleQueue[DrillNotice] = queue.SimpleQueue()
        self._client: Client | None = None
        self._ns = 0
        self._values: dict[str, Any] = {}
        self._var_of: dict[ua.NodeId, str] = {}
        self._event_ids: dict[tuple[str, str], bytes] = {}
        self._sub: Any = None
        self.token = token  # the secret our Join returned: it alone reads our debrief
        self.joined_as = ""
        self.debrief_text: str | None = None  # our debrief JSON as last fetched ('' if none)
        self.debrief_error = ""  # why the last fetch failed ('' when it did not)
        self._debrief_dirty = False
        self._debrief_task: asyncio.Task[None] | None = None
        self._log_id = ""  # the server's drill event log (GetEvents)
        self._last_seq = 0  # the highest event number of that log received
        self._seen: set[int] = set()  # the event numbers of that log queued (live or fetched)
        # the EventIds (hex) of the alarm events received live, and of those caught up
        self._alarms_live: set[str] = set()
        self._alarms_fetched: set[str] = set()
        self.replayed = 0  # drill events and alarm transitions caught up after a reconnect
        self._held: list[DrillNotice] | None = None  # live ones held while catching up

    @property
    def connected(self) -> bool:
        """True between :meth:`connect` and :meth:`disconnect`."""
        return self._client is not None

    @property
    def link_up(self) -> bool:
        """True while connected and the connection works (False once it is lost, until
        :meth:`reconnect`)."""
        client = self._client
        return (
            client is not None
            and not self.lost_reason
            and client.uaclient.state is UaClientState.CONNECTED
        )

    def _on_lost(self, exc: BaseException | None) -> None:
        if not self.lost_reason:
            self.lost_reason = describe_error(exc) if exc is not None else "connection closed"

    async def _lost_callback(self, exc: Exception) -> None:
        self._on_lost(exc)

    async def reconnect(self) -> str:
        """Drop the (lost) connection and connect again (joining again with our token,
        unless a trainer); return the name the server scores us by. Raises DrillRefused
        (why) when the server cannot be reached."""
        await self.disconnect()
        return await self.connect()

    async def connect(self) -> str:
        """Connect, check the endpoint, subscribe and join (:meth:`open`, then :meth:`join`
        unless a trainer); return the name the server scores us by.

        Raises
        ------
        DrillRefused
            If the endpoint is not our simulator in drill mode (the message says why), or
            its DrillNameTaken if the name is another trainee's.
        """
        await self.open()
        if self.trainer:  # a trainer follows the drill without becoming a trainee
            return self.name
        return await self.join()

    async def open(self) -> None:
        """Connect, check the endpoint (DrillRefused saying why if it is not our simulator
        in drill mode) and subscribe, without joining."""
        client = Client(self.url, timeout=self.timeout_s, watchdog_intervall=self.watchdog_s)
        client.application_uri = "urn:factory-twin:drill-client"
        client.description = self.name
        if self.user:
            client.set_user(self.user)
            client.set_password(self.password or "")
        try:
            await open_session(client, self.url, self.timeout_s)
        except Exception as exc:
            if isinstance(exc, ConnectionFailed):  # "cannot reach HOST:PORT: why"
                raise DrillRefused(str(exc)) from None
            msg = f"cannot connect to {self.url}: {describe_error(exc)}"
            raise DrillRefused(msg) from None
        problem = await drill_endpoint_problem(client)
        if problem:
            await disconnect_quietly(client)
            msg = f"refusing to take a drill on {self.url}: {problem}"
            raise DrillRefused(msg)
        self._client = client
        self._ns = (await client.get_namespace_array()).index(PLANT_NAMESPACE)
        after = await self._take_log(client)  # before subscribing: no live event slips by
        self._held = []  # live notices wait for the missed ones, which are older
        try:
            await self._subscribe(client)
            client.connection_lost_callback = self._lost_callback
            if after is not None:
                await self._catch_up(client, after)
        finally:
            held, self._held = self._held, None
            for notice in held:
                self.notices.put(notice)
        await self._refresh(client)  # the alarms standing, after the transitions caught up
        self.lost_reason = ""  # up again once the missed events are queued

    async def join(self) -> str:
        """Join (after :meth:`open`) with our token; return the name the server scores us
        by and keep the token it returns. DrillNameTaken (disconnected) if the name is
        another trainee's."""
        try:
            joined = await self.call("Join", self.token)
        except DrillNameTaken:
            await self.disconnect()
            raise
        name, token = [*joined, "", ""][:2] if isinstance(joined, list) else (joined, "")
        self.joined_as = str(name or self.name)
        self.token = str(token or "")
        self._debrief_changed()
        return self.joined_as

    async def _subscribe(self, client: Client) -> None:
        sub = await client.create_subscription(50, _Handler(self))
        nodes = []
        for key in _SUBSCRIBED_VARS:
            n = client.get_node(node_id(f"Drill.{key}", self._ns))
            self._var_of[n.nodeid] = key
            nodes.append(n)
        await sub.subscribe_data_change(nodes)
        drill = client.get_node(node_id("Drill", self._ns))
        etype = await client.nodes.base_event_type.get_child(f"{self._ns}:DrillEventType")
        await sub.subscribe_events(drill, etype)
        await sub.subscribe_events(
            client.nodes.server, client.get_node(node_id(ua.ObjectIds.AlarmConditionType))
        )
        self._sub = sub

    async def _refresh(self, client: Client) -> None:
        """Ask for the events of the alarms already standing (raised before we came, with
        their event ids); a server without ConditionRefresh sends new events only."""
        with contextlib.suppress(ua.UaStatusCodeError):
            await client.get_node(node_id(ua.ObjectIds.ConditionType)).call_method(
                node_id(ua.ObjectIds.ConditionType_ConditionRefresh),
                ua.Variant(self._sub.subscription_id, ua.VariantType.UInt32),
            )

    # ------------------------------------------------------------------ drill events

    async def _get_events(self, client: Client, after: int) -> tuple[str, int, list[Any]]:
        node = client.get_node(node_id("Drill", self._ns))
        text = await node.call_method(
            node_id("Drill.GetEvents", self._ns), ua.Variant(after, ua.VariantType.UInt32)
        )
        data = json.loads(str(text or "{}"))
        return str(data.get("log", "")), int(data.get("last", 0)), list(data.get("events", []))

    async def _take_log(self, client: Client) -> int | None:
        """Read the server's event log id (a new one: forget the old numbers); return the
        number to fetch the events after once subscribed (None: the server keeps no log)."""
        try:
            log, last, _ = await self._get_events(client, _NEWEST)
        except ua.UaStatusCodeError:
            return None
        if log == self._log_id:
            return self._last_seq  # the same run: the events since the last one we had
        first = not self._log_id
        self._log_id, self._seen, self._last_seq = log, set(), 0
        return last if first else 0  # first connection: from now; a new run: all of it

    async def _catch_up(self, client: Client, after: int) -> None:
        """Queue the events numbered after ``after`` not received live (see the module doc)."""
        try:
            _, last, events = await self._get_events(client, after)
        except ua.UaStatusCodeError as exc:
            logger.warning(
                "cannot fetch the drill events and alarm transitions missed from %s: %s",
                self.url,
                exc,
            )
            return
        now = time.time()
        caught = 0
        for e in events:
            notice = self._missed(e, now)
            if notice is not None:
                caught += 1
                self.notices.put(notice)  # before the live ones held meanwhile
        self.replayed += caught
        self._last_seq = max(self._last_seq, last)
        if caught:
            logger.info(
                "fetched %d drill events and alarm transitions missed from %s", caught, self.url
            )

    def _missed(self, e: dict[str, Any], now: float) -> DrillNotice | None:
        """The notice of a fetched entry ``e`` (None: received or fetched already)."""
        seq = int(e.get("seq", 0))
        if seq in self._seen:
            return None
        self._seen.add(seq)
        kind, time_s = str(e.get("kind", "")), float(e.get("time_s", 0) or 0)
        if kind == "alarm":  # received live (or by the ConditionRefresh) already?
            eid = str(e.get("event_id", ""))
            if not eid or eid in self._alarms_live or eid in self._alarms_fetched:
                return None
            self._alarms_fetched.add(eid)
            return DrillNotice(
                "alarm", str(e.get("message", "")), equipment=str(e.get("equipment", "")),
                drill_time_s=time_s, received_s=now, code=str(e.get("code", "")),
                active=bool(e.get("active")), acked=bool(e.get("acked")), caught_up=True,
            )  # fmt: skip
        return DrillNotice(
            kind, str(e.get("message", "")), str(e.get("trainee", "")),
            str(e.get("equipment", "")), float(e.get("points", 0) or 0), time_s, now,
            caught_up=True,
        )  # fmt: skip

    def _put(self, notice: DrillNotice) -> None:
        """Queue a live notice (held while the missed ones are fetched: they come first)."""
        if self._held is not None:
            self._held.append(notice)
        else:
            self.notices.put(notice)

    def _on_event(self, e: Any) -> None:
        now = time.time()
        kind = getattr(e, "Kind", None)
        msg = getattr(e, "Message", None)
        text = msg.Text if isinstance(msg, ua.LocalizedText) else str(msg or "")
        if kind is not None:
            seq = int(getattr(e, "Seq", 0) or 0)
            if seq:
                if seq in self._seen:  # fetched already (it came late)
                    return
                self._seen.add(seq)
                self._last_seq = max(self._last_seq, seq)
            self._put(
                DrillNotice(
                    str(kind), text or "", str(getattr(e, "Trainee", "") or ""),
                    str(getattr(e, "Equipment", "") or ""), float(getattr(e, "Points", 0) or 0),
                    float(getattr(e, "DrillTime", 0) or 0), now,
                )
            )  # fmt: skip
            return
        code = str(getattr(e, "ConditionName", "") or "")
        eq = str(getattr(e, "SourceName", "") or "")
        if not code:
            return
        eid = bytes(getattr(e, "EventId", b"") or b"")
        self._event_ids[(eq, code)] = eid
        if eid.hex() in self._alarms_fetched:  # caught up already (it came late)
            return
        self._alarms_live.add(eid.hex())
        active = getattr(e, "ActiveState/Id", None)
        acked = getattr(e, "AckedState/Id", None)
        self._put(
            DrillNotice(
                "alarm", text or "", equipment=eq, received_s=now, code=code,
                active=bool(active), acked=bool(acked),
            )
        )  # fmt: skip

    # ------------------------------------------------------------------ own debrief

    def _debrief_changed(self) -> None:
        """Fetch our debrief again (on the loop; one fetch at a time, the last change wins)."""
        if not self.token or self._client is None:
            return
        self._debrief_dirty = True
        if self._debrief_task is None or self._debrief_task.done():
            self._debrief_task = asyncio.get_running_loop().create_task(self._refresh_debrief())

    async def _refresh_debrief(self) -> None:
        while self._debrief_dirty and self._client is not None:
            self._debrief_dirty = False
            try:
                self.debrief_text = await self.debrief()
                self.debrief_error = ""
            except DrillRefused as exc:
                self.debrief_error = str(exc)
            except Exception as exc:  # a dropped connection: the next change tries again
                self.debrief_error = f"cannot read the debrief: {describe_error(exc)}"

    async def debrief(self, trainee: str | None = None, token: str | None = None) -> str:
        """Return a trainee's debrief JSON ('' before they are scored): ours by default.

        Raises
        ------
        DrillRefused
            If the token is not the trainee's (the server answers BadUserAccessDenied).
        """
        who = self.joined_as if trainee is None else trainee
        secret = self.token if token is None else token
        client = self._live()
        node = client.get_node(node_id("Drill", self._ns))
        try:
            text = await node.call_method(node_id("Drill.GetDebrief", self._ns), who, secret)
        except ua.UaStatusCodeError as exc:
            msg = (
                f"the drill server refused the debrief of {who!r} "
                f"({ua.StatusCode(exc.code).name}): only the trainee who joined under that "
                "name can read it, with the token their Join returned"
            )
            raise DrillRefused(msg) from None
        return str(text or "")

    def drain(self, max_items: int = 10_000) -> list[DrillNotice]:
        """Return the notices received since the last drain, oldest first."""
        out: list[DrillNotice] = []
        while len(out) < max_items:
            try:
                out.append(self.notices.get_nowait())
            except queue.Empty:
                break
        return out

    async def disconnect(self) -> None:
        """Close the session (the server keeps the score under the name)."""
        client, self._client = self._client, None
        if client is not None:  # a disconnect asked for is no lost connection
            client.connection_lost_callback = None
        task, self._debrief_task = self._debrief_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await disconnect_quietly(client)

    # ------------------------------------------------------------------ calls

    def lost_message(self) -> str:
        """What a call is told while the connection is lost."""
        return (
            f"the connection to the drill server {self.url} is lost "
            f"({self.lost_reason or 'connection closed'}); reconnecting"
        )

    def _live(self) -> Client:
        if self._client is None:
            msg = "not connected to a drill"
            raise DrillRefused(msg)
        return self._client

    async def call(self, method: str, *args: Any) -> Any:
        """Call Drill method ``method``; raise DrillRefused if the server refuses it."""
        client = self._live()
        node = client.get_node(node_id("Drill", self._ns))
        try:
            return await node.call_method(node_id(f"Drill.{method}", self._ns), *args)
        except (ConnectionError, TimeoutError) as exc:
            self._on_lost(exc)
            msg = f"{method} failed: the connection to {self.url} is lost ({self.lost_reason})"
            raise DrillRefused(msg) from None
        except ua.UaStatusCodeError as exc:
            if method == "Join" and exc.code == ua.StatusCodes.BadIdentityTokenRejected:
                raise DrillNameTaken(name_taken_message(self.name)) from None
            msg = f"{method} refused: {ua.StatusCode(exc.code).name}"
            raise DrillRefused(msg) from None

    async def open_procedure(self, equipment: str, procedure: str) -> None:
        """Tell the drill the trainee opened ``procedure`` for ``equipment``."""
        await self.call("OpenProcedure", equipment, procedure)

    async def sign_off_step(self, equipment: str, procedure: str, step: int) -> None:
        """Sign off 1-based ``step`` of ``procedure``."""
        await self.call(
            "SignOffStep", equipment, procedure, ua.Variant(step, ua.VariantType.UInt32)
        )

    async def call_maintenance(self, equipment: str, note: str = "") -> None:
        """Call maintenance to ``equipment`` (``OHT`` for the transport system)."""
        await self.call("CallMaintenance", equipment, note)

    async def prioritise_lot(self, lot: str, priority: int = 100) -> None:
        """Give ``lot`` priority ``priority``."""
        await self.call("PrioritiseLot", lot, ua.Variant(priority, ua.VariantType.Int32))

    async def reroute_lot(self, lot: str, equipment: str) -> None:
        """Ask for ``lot`` to go to ``equipment``."""
        await self.call("RerouteLot", lot, equipment)

    async def machine(self, equipment: str, method: str) -> bool:
        """Call ``Hold``/``Resume``/``ResetAlarm`` on a machine; False if refused."""
        client = self._live()
        obj = client.get_node(node_id(equipment, self._ns))
        try:
            await obj.call_method(node_id(f"{equipment}.{method}", self._ns))
        except ua.UaStatusCodeError:
            return False
        return True

    async def acknowledge(self, equipment: str, code: str, comment: str = "") -> None:
        """Acknowledge alarm ``code`` of ``equipment`` (its last event must have arrived)."""
        client = self._live()
        eid = self._event_ids.get((equipment, code))
        if not eid:
            msg = f"no alarm event of {equipment} {code} received yet"
            raise DrillRefused(msg)
        cond = client.get_node(node_id(f"{equipment}.Alarms.{code}", self._ns))
        try:
            await cond.call_method(
                node_id(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge),
                ua.Variant(eid, ua.VariantType.ByteString),
                ua.Variant(ua.LocalizedText(comment), ua.VariantType.LocalizedText),
            )
        except ua.UaStatusCodeError as exc:
            msg = f"acknowledging {equipment} {code} refused: {ua.StatusCode(exc.code).name}"
            raise DrillRefused(msg) from None

    async def release_name(self, trainee: str) -> None:
        """Trainer: release ``trainee``'s name (the server forgets its token, so the next
        Join under it starts afresh; the score stays)."""
        await self.call("ReleaseName", trainee)

    async def inject(
        self,
        fault: str,
        equipment: str,
        tag: str = "",
        value: float = 0.0,
        duration_s: float = 0.0,
    ) -> None:
        """Trainer: inject an ad-hoc fault now."""
        await self.call("Inject", fault, equipment, tag, float(value), float(duration_s))

    async def status(self) -> DrillStatus:
        """Read the drill variables now."""
        client = self._live()
        vals = [
            await client.get_node(node_id(f"Drill.{k}", self._ns)).read_value()
            for k in _DRILL_VARS
        ]
        d = dict(zip(_DRILL_VARS, vals, strict=True))
        return DrillStatus(
            str(d["DrillId"]), str(d["Name"]), str(d["Briefing"]), str(d["State"]),
            float(d["Clock"]), float(d["Speed"]), tuple(d["Trainees"] or ()),
            tuple(d["ActiveFaults"] or ()), json.loads(d["ScoresJson"] or "{}"),
        )  # fmt: skip

    def value(self, key: str) -> Any:
        """The last value of a subscribed drill variable (``State``, ``Clock``, ``ScoresJson``,
        ``DebriefRevision``...)."""
        return self._values.get(key)


__all__ = [
    "APPLICATION_URI",
    "PRODUCT_URI",
    "DrillClient",
    "DrillNameTaken",
    "DrillNotice",
    "DrillRefused",
    "DrillStatus",
    "drill_endpoint_problem",
    "name_taken_message",
]
