"""The drill part of the plant simulator's address space (a simulation in drill mode).

Built by :meth:`PlantServer.enable_drill <factory_twin.opcua.server.PlantServer.enable_drill>`
once the server runs, with asyncua's public node API (a few dozen nodes)::

    Objects/Fab/Simulation                 "ns=P;s=Fab.Simulation"
      DrillMode      Boolean  true: this is a simulated plant running a drill
      DrillId        String
    Objects/Drill                          "ns=P;s=Drill", event notifier
      DrillId, Name, Briefing              String
      State          String   running | paused | finished
      Clock          Double   drill seconds (plant seconds since the drill started)
      Speed          Double   plant seconds per wall second
      Trainees       String[] everyone who joined or acted
      ActiveFaults   String[] "<fault> <equipment>" of the faults in force
      ScoresJson     String   {trainee: {score, max, percent, passed, wrong}}
      DebriefRevision UInt32  bumped whenever a trainee's debrief changed (no content: the
                              debriefs are private, read with GetDebrief)
      TakenNames     String[] the trainee names the server holds a token for (joined in this
                              run or kept from an earlier one); names only, never a token
      Scores/<name>  Double   each trainee's score, added when they first appear
      methods (trainees): Join(token) -> (name, token), GetDebrief(trainee, token) -> JSON,
        GetEvents(after) -> JSON (anyone: the drill events and alarm transitions numbered
          above ``after``, and the log's id),
        OpenProcedure(equipment, procedure),
        SignOffStep(equipment, procedure, step), CallMaintenance(equipment, note),
        PrioritiseLot(lot, priority), RerouteLot(lot, equipment)
      methods (trainer): Pause(), Resume(), SetSpeed(speed), Finish(), ReleaseName(trainee),
        Inject(fault, equipment, tag, value, duration_s)

Events of type ``DrillEventType`` (a BaseEventType with fields ``Kind`` = injection | action |
refused | score | state, ``Trainee``, ``Equipment``, ``Points``, ``DrillTime``, ``Seq``) are
emitted from the Drill object. Each is also logged, numbered by ``Seq``, in
:attr:`DrillSpace.events` (:mod:`factory_twin.opcua.server.drill_events`; the owner logs the
plant's alarm transitions there too, each with its event's EventId), so a client whose
connection dropped fetches the ones it missed with ``GetEvents(after)``: a JSON object with
the log's id (the same id: the same log, also over a restart of a drill server that keeps it
in a file), the last number and the entries numbered above ``after``. The log is written to
its file (if it has one) before an event with a new number is emitted and before a
``GetEvents`` answer, so no client learns a number the file does not hold.

Every method call is tied to its caller by :func:`trainee_name`: the session's user name, or
for an anonymous session the client's session name (asyncua clients append
`` Session<n>``, which is dropped, so a reconnecting client keeps its name). The server's
ApplicationUri is ``urn:factory-twin:plant-simulator`` and its ProductUri
``urn:factory-twin``: with ``DrillMode`` they tell a client this is our simulator in drill mode.

**Private debriefs and taken names.** A trainee's debrief (their responses, wrong actions and
timeline, ``app.drill_debrief.TraineeDebrief`` as JSON, the trainer's Debrief tab's figures) is
in no variable. The first ``Join(token)`` under a name returns the name and a new secret token
for it (``secrets``, 128 bits); from then on the name is taken: a Join under it succeeds only
with that token (a reconnect, or the trainee's app restarted with the token it saved) and
returns the same token; any other Join under it (no token, a wrong one) is refused with
``BadIdentityTokenRejected`` and a ``refused`` event, and the name's token keeps working. A
session logged in with a user name is authenticated by its password: its Join always succeeds
and returns the user's token (a new one if this server never saw the old one, e.g. after a
restart). The names and their tokens are held by :attr:`DrillSpace.tokens`, a
:class:`~factory_twin.opcua.server.drill_tokens.TokenStore`: only a salted scrypt hash of each
token, checked in constant time, and (when its owner gives it a file, as the drill server does
in its record directory) kept in that file over restarts of the server, so a trainee's saved
token still joins under their name after a restart and nobody else's does. The trainer's
``ReleaseName(trainee)`` (served by the hook, which removes the name from the store and so
from its file) forgets a name's token: the next Join under the name gets a new one and the old
one reads nothing (the score stays under the name, in the drill log).
``GetDebrief(trainee, token)`` returns that trainee's debrief JSON ('' before they are
scored) when ``token`` is theirs, and fails with ``BadUserAccessDenied`` otherwise; clients
call it again when ``DebriefRevision`` changes. The trainer runs the server in-process and
reads the debriefs from the drill log directly. Only the sessions that joined under a name
with its current token act under it (:meth:`DrillSpace.may_act`), and sessions logged in with
a user act as that user: the other trainee methods of an anonymous session that has not joined
under its name (a name taken by someone else, a name nobody has joined under yet, or one the
trainer released) fail with ``BadUserAccessDenied`` (and the server refuses its Hold, Resume
and Acknowledge), so nobody can score or act as a trainee without joining as them. A name
nobody has joined under is free, so the first Join takes it: log trainees in with a user name
and password where who takes a name matters.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asyncua import ua

from factory_twin.opcua import _asyncua_adapter as adapter
from factory_twin.opcua._uatypes import node_id, status
from factory_twin.opcua.server.drill_events import DrillEventLog
from factory_twin.opcua.server.drill_tokens import TokenStore

if TYPE_CHECKING:
    from asyncua import Node, Server

logger = logging.getLogger(__name__)

DRILL_STATES = ("running", "paused", "finished")
V = ua.VariantType
TRAINEE_METHODS: dict[str, list[tuple[str, ua.VariantType]]] = {
    "Join": [("token", V.String)],
    "GetDebrief": [("trainee", V.String), ("token", V.String)],
    "GetEvents": [("after", V.UInt32)],
    "OpenProcedure": [("equipment", V.String), ("procedure", V.String)],
    "SignOffStep": [("equipment", V.String), ("procedure", V.String), ("step", V.UInt32)],
    "CallMaintenance": [("equipment", V.String), ("note", V.String)],
    "PrioritiseLot": [("lot", V.String), ("priority", V.Int32)],
    "RerouteLot": [("lot", V.String), ("equipment", V.String)],
}
TRAINER_METHODS: dict[str, list[tuple[str, ua.VariantType]]] = {
    "Pause": [],
    "Resume": [],
    "SetSpeed": [("speed", V.Double)],
    "Finish": [],
    "ReleaseName": [("trainee", V.String)],
    "Inject": [
        ("fault", V.String),
        ("equipment", V.String),
        ("tag", V.String),
        ("value", V.Double),
        ("duration_s", V.Double),
    ],
}
EVENT_FIELDS: tuple[tuple[str, ua.VariantType], ...] = (
    ("Kind", V.String),
    ("Trainee", V.String),
    ("Equipment", V.String),
    ("Points", V.Double),
    ("DrillTime", V.Double),
    ("Seq", V.UInt32),
)
_SESSION_SUFFIX = re.compile(r" Session\d+$")


def trainee_name() -> str:
    """Return who makes the method call being served (see the module doc); '' outside one."""
    user = adapter.calling_user()
    if user and user != "anonymous":
        return user
    session = _SESSION_SUFFIX.sub("", adapter.calling_session()).strip()
    return session or user


def _logged_in() -> bool:
    """True if the method call being served comes from a session logged in with a user."""
    user = adapter.calling_user()
    return bool(user) and user != "anonymous"


@dataclass(frozen=True, slots=True)
class DrillCall:
    """A call of a Drill method: its name, the caller and the plain argument values."""

    method: str
    user: str
    args: tuple[Any, ...]


DrillHook = Callable[[DrillCall], "str | Awaitable[str]"]
"""Serves a :class:`DrillCall`; returns '' when done, else why it was refused."""


def _plain(v: Any) -> Any:
    v = getattr(v, "Value", v)
    if isinstance(v, ua.LocalizedText):
        return v.Text or ""
    return v


class DrillSpace:
    """The drill nodes of a running server, and the calls and events they carry."""

    def __init__(self, server: Server, ns: int, hook: DrillHook) -> None:
        self.server = server
        self.ns = ns
        self.hook = hook
        self.drill_node: Node | None = None
        self._vars: dict[str, Node] = {}
        self._scores_folder: Node | None = None
        self._score_nodes: dict[str, Node] = {}
        self._gen: Any = None
        self._last: dict[str, Any] = {}
        self.tokens = TokenStore()  # trainee -> hash of their token (the owner may set a file)
        # trainee -> (their token, the sessions that joined with it): only those act as them
        self.sessions: dict[str, tuple[str, set[str]]] = {}
        self.debriefs: dict[str, str] = {}  # trainee -> their debrief JSON (never published)
        # every event emitted, numbered (the owner may keep its own, with its alarms, in a file)
        self.events = DrillEventLog()

    def _nid(self, name: str) -> ua.NodeId:
        return node_id(name, self.ns)

    def _qn(self, name: str) -> ua.QualifiedName:
        return ua.QualifiedName(name, self.ns)

    async def build(self, drill_id: str, name: str, briefing: str, speed: float) -> None:
        """Add the nodes, methods and event type (once, on a started server)."""
        srv = self.server
        fab = srv.get_node(self._nid("Fab"))
        sim = await fab.add_object(self._nid("Fab.Simulation"), self._qn("Simulation"))
        await sim.add_variable(self._nid("Fab.Simulation.DrillMode"), self._qn("DrillMode"), True)
        await sim.add_variable(
            self._nid("Fab.Simulation.DrillId"), self._qn("DrillId"), drill_id, V.String
        )
        drill = await srv.nodes.objects.add_object(self._nid("Drill"), self._qn("Drill"))
        await drill.write_attribute(
            ua.AttributeIds.EventNotifier, ua.DataValue(ua.Variant(1, V.Byte))
        )
        self.drill_node = drill
        initial: list[tuple[str, Any, ua.VariantType]] = [
            ("DrillId", drill_id, V.String),
            ("Name", name, V.String),
            ("Briefing", briefing, V.String),
            ("State", "running", V.String),
            ("Clock", 0.0, V.Double),
            ("Speed", float(speed), V.Double),
            ("Trainees", [], V.String),
            ("ActiveFaults", [], V.String),
            ("ScoresJson", "{}", V.String),
            ("DebriefRevision", 0, V.UInt32),
            ("TakenNames", [], V.String),
        ]
        for key, value, vt in initial:
            self._vars[key] = await drill.add_variable(
                self._nid(f"Drill.{key}"), self._qn(key), ua.Variant(value, vt)
            )
            self._last[key] = value
        self._scores_folder = await drill.add_folder(self._nid("Drill.Scores"), self._qn("Scores"))
        own = {"GetDebrief": self._get_debrief, "GetEvents": self._get_events}
        for mname, args in {**TRAINEE_METHODS, **TRAINER_METHODS}.items():
            outs = {"Join": [V.String, V.String], "GetDebrief": [V.String],
                    "GetEvents": [V.String]}.get(mname, [])  # fmt: skip
            await drill.add_method(
                self._nid(f"Drill.{mname}"),
                self._qn(mname),
                own.get(mname) or self._callback(mname),
                [_argument(n, vt) for n, vt in args],
                outs,
            )
        etype = await srv.create_custom_event_type(
            self.ns, "DrillEventType", ua.ObjectIds.BaseEventType, list(EVENT_FIELDS)
        )
        self._gen = await srv.get_event_generator(etype, drill.nodeid)

    def _callback(self, method: str) -> Callable[..., Awaitable[Any]]:
        async def call(parent: ua.NodeId, *args: Any) -> Any:
            user = trainee_name()
            plain = tuple(_plain(a) for a in args)
            given = str(plain[0] or "") if method == "Join" and plain else ""
            if method == "Join":
                plain = ()  # the token stays here
                if not self.may_join(user, given):
                    logger.info("Join as %r refused: the name is taken (wrong token)", user)
                    await self.emit("refused", f"Join as {user!r} refused: the name is taken")
                    return status(ua.StatusCodes.BadIdentityTokenRejected)
            elif method in TRAINEE_METHODS and not self.may_act(user):
                logger.info("%s as %r refused: this session has not joined as them", method, user)
                await self.emit("refused", f"{method} as {user!r} refused: not joined as them")
                return status(ua.StatusCodes.BadUserAccessDenied)
            try:
                got = self.hook(DrillCall(method, user, plain))
                why = await got if inspect.isawaitable(got) else got
            except Exception:
                logger.exception("drill method %s failed", method)
                return status(ua.StatusCodes.BadInternalError)
            if why:
                await self.emit("refused", f"{method} refused for {user}: {why}", trainee=user)
                return status(ua.StatusCodes.BadInvalidState)
            if method == "Join":
                token = self.issue_token(user, given)
                self._bind_session(user, token)
                await self.publish_names()
                return [ua.Variant(user, V.String), ua.Variant(token, V.String)]
            if method == "ReleaseName":
                await self.publish_names()
            return []

        return call

    # ------------------------------------------------------------------ private debriefs

    def may_join(self, trainee: str, given: str) -> bool:
        """True if the caller may join as ``trainee`` with token ``given``: a name with no
        token yet, the name's own token, or a session logged in as that user."""
        if trainee not in self.tokens or _logged_in():
            return True
        return self.token_matches(trainee, given)

    def issue_token(self, trainee: str, given: str = "") -> str:
        """The token of ``trainee`` after a Join (checked by :meth:`may_join`): ``given`` if
        it is the name's, else the one this server issued for it, else a new one (for a
        logged-in user whose token this process never saw, a new one replaces the old);
        '' for no name."""
        return self.tokens.issue(trainee, given)

    def _bind_session(self, trainee: str, token: str) -> None:
        """Let the calling session act as ``trainee`` (it joined with ``token``)."""
        held, ids = self.sessions.get(trainee, ("", set()))
        if held != token:
            ids = set()
        ids.add(adapter.calling_session_id())
        self.sessions[trainee] = (token, ids)

    def may_act(self, trainee: str) -> bool:
        """True if the calling session may act as ``trainee``: a session logged in with a
        user, or one that joined under the name with its current token. A name nobody has
        joined under (or one the trainer released) is nobody's to act as."""
        if _logged_in():
            return True
        token, ids = self.sessions.get(trainee, ("", set()))
        return (
            bool(token)
            and adapter.calling_session_id() in ids
            and self.token_matches(trainee, token)
        )

    def token_matches(self, trainee: str, token: str) -> bool:
        """True if ``token`` is ``trainee``'s current token."""
        return self.tokens.matches(trainee, token)

    async def _get_debrief(self, parent: ua.NodeId, *args: Any) -> Any:
        plain = [str(_plain(a) or "") for a in args]
        trainee, token = [*plain, "", ""][:2]
        if not self.token_matches(trainee, token):
            logger.info("GetDebrief of %r refused: wrong or missing token", trainee)
            return status(ua.StatusCodes.BadUserAccessDenied)
        return [ua.Variant(self.debriefs.get(trainee, ""), V.String)]

    async def _get_events(self, parent: ua.NodeId, *args: Any) -> Any:
        after = int(_plain(args[0]) or 0) if args else 0
        self.events.flush()  # the numbers told are in the file (a restart keeps them)
        return [ua.Variant(self.events.to_json(after), V.String)]

    async def set_debriefs(self, texts: dict[str, str]) -> None:
        """Keep every trainee's debrief JSON for GetDebrief; bump ``DebriefRevision`` when
        one changed."""
        if texts == self.debriefs:
            return
        self.debriefs = dict(texts)
        await self.set("DebriefRevision", int(self._last.get("DebriefRevision", 0)) + 1)

    # ------------------------------------------------------------------ publishing

    async def set(self, key: str, value: Any) -> None:
        """Write drill variable ``key`` (skipped when unchanged)."""
        if self._last.get(key) == value:
            return
        self._last[key] = value
        node = self._vars[key]
        vt = {
            "Clock": V.Double,
            "Speed": V.Double,
            "Trainees": V.String,
            "ActiveFaults": V.String,
            "TakenNames": V.String,
            "DebriefRevision": V.UInt32,
        }.get(key, V.String)
        await node.write_value(ua.Variant(value, vt))

    async def publish_names(self) -> None:
        """Publish ``TakenNames``: the names :attr:`tokens` holds (never their tokens)."""
        await self.set("TakenNames", list(self.tokens))

    async def set_scores(self, scores: dict[str, float], summary: dict[str, Any]) -> None:
        """Publish every trainee's score (variables made on first sight) and the JSON summary."""
        assert self._scores_folder is not None
        for name, score in scores.items():
            node = self._score_nodes.get(name)
            if node is None:
                safe = re.sub(r"[^A-Za-z0-9_.\-]", "_", name) or "_"
                node = await self._scores_folder.add_variable(
                    self._nid(f"Drill.Scores.{safe}"), self._qn(name), float(score)
                )
                self._score_nodes[name] = node
                self._last[f"score:{name}"] = float(score)
            elif self._last.get(f"score:{name}") != float(score):
                self._last[f"score:{name}"] = float(score)
                await node.write_value(float(score))
        await self.set("Trainees", sorted(scores))
        await self.set("ScoresJson", json.dumps(summary, sort_keys=True))

    async def emit(
        self,
        kind: str,
        message: str,
        *,
        trainee: str = "",
        equipment: str = "",
        points: float = 0.0,
        drill_time_s: float | None = None,
    ) -> None:
        """Emit a DrillEventType event from the Drill object."""
        gen = self._gen
        if gen is None:
            return
        ev = gen.event
        ev.Kind = kind
        ev.Trainee = trainee
        ev.Equipment = equipment
        ev.Points = float(points)
        ev.DrillTime = float(
            drill_time_s if drill_time_s is not None else self._last.get("Clock", 0.0)
        )
        ev.Seq = self.events.add(
            kind, message, trainee=trainee, equipment=equipment, points=points,
            time_s=ev.DrillTime,
        )  # fmt: skip
        self.events.flush()  # before any client sees the number
        ev.Severity = 600 if kind in ("injection", "refused") else 300
        ev.SourceName = "Drill"
        await gen.trigger(message=message)


def _argument(name: str, vt: ua.VariantType) -> ua.Argument:
    arg = ua.Argument()
    arg.Name = name
    arg.DataType = node_id(vt.value)
    arg.ValueRank = -1
    return arg


def fault_labels(faults: Iterable[tuple[str, str]]) -> list[str]:
    """``[(fault, equipment)]`` as the strings of ``Drill.ActiveFaults``."""
    return [f"{k} {e}".strip() for k, e in faults]
