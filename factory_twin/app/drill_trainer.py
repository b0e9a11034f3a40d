"""The trainer's side of a drill without Qt: run or follow one, its live timeline and scores.

:class:`TrainerDesk` either starts a drill server on loopback
(:func:`~factory_twin.app.drill_session.start_drill_server`, recording to a folder) or
connects to one already running, and follows it as a trainer (a
:class:`~factory_twin.app.drill_session.DrillSession` with ``trainer=True``, so the trainer
is never scored). The Train workspace polls it on the GUI timer:

* :meth:`TrainerDesk.poll` drains the drill notices (injections, alarms, actions, score
  changes) into :attr:`TrainerDesk.notices`;
* :meth:`TrainerDesk.timeline` gives the live timeline: with a server of our own it is built
  from the server's records (every action with its response time against the limit and the
  points it earned, wrong actions with their penalty); with a remote server from the notices;
* :meth:`TrainerDesk.scores` gives one :class:`ScoreLine` per trainee;
* :meth:`TrainerDesk.names` gives the trainee names the drill server holds: the ones joined
  in this run, and the ones kept in its token file from an earlier run of the drill and not
  joined again yet (a remote server publishes its names, never their tokens, in
  ``TakenNames``); a name the trainer releases
  (:meth:`TrainerDesk.release_name`, :meth:`TrainerDesk.release_names`) leaves the list.

Starting a drill whose token file is damaged raises
:class:`~factory_twin.opcua.server.drill_tokens.TokenFileError` (re-exported here for the
window, naming the file and line; the file is kept as ``.bak``); ``forget_tokens=True`` to
:meth:`TrainerDesk.start` starts anew with every name free.

The OPC UA connection is watched (:class:`~factory_twin.app.drill_link.LinkKeeper`): once
lost, :attr:`TrainerDesk.running` is False (the drill is still :attr:`TrainerDesk.following`),
:meth:`TrainerDesk.link` says why and when the next reconnect is tried (with back-off, while
following; :meth:`TrainerDesk.reconnect_now` tries at once), and calls raise DrillRefused
naming the lost connection until it is back. Following a remote server, the drill events it
emitted and the alarm transitions of its plant while the connection was down (an alarm that
rose and cleared meanwhile too) are fetched once it is back, also from a drill server started
again on the same record directory
(:class:`~factory_twin.opcua.drill_client.DrillClient`), and join the timeline once each, in
order, at their drill time, marked ``caught_up``. Once per reconnect
:meth:`TrainerDesk.take_caught_up` says how many timeline entries it caught up (the window
tells the trainer).

A drill server of our own whose event log file in the record directory was damaged starts
with a fresh log, the damaged file kept as ``<drill>.events.damaged``:
:meth:`TrainerDesk.event_log` is that log, whose ``damage`` says where the file was damaged.

When the drill finishes, :meth:`TrainerDesk.log` is the recorded :class:`DrillLog`
(debrief, history, replay).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factory_twin.app.drill_link import LinkKeeper, LinkStatus
from factory_twin.app.drill_log import DrillLog
from factory_twin.app.drill_server import DrillSimulator
from factory_twin.app.drill_session import DrillNotice, DrillSession, start_drill_server
from factory_twin.app.plant_state import PlantState
from factory_twin.errors import FactoryTwinError
from factory_twin.model import schema as s
from factory_twin.model.drill_scoring import TraineeScore
from factory_twin.opcua.drill_client import DrillRefused
from factory_twin.opcua.server.drill_events import DrillEventLog
from factory_twin.opcua.server.drill_tokens import TokenFileError

logger = logging.getLogger(__name__)

__all__ = [
    "TRAINER_NAME",
    "DrillEventLog",
    "NameLine",
    "ScoreLine",
    "TimelineEntry",
    "TokenFileError",
    "TrainerDesk",
]

TRAINER_NAME = "trainer"


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of the trainer's live timeline (drill seconds).

    ``kind``: injection | alarm | action | wrong | state. For an action that answered an
    expected response: ``response_s`` (time since its injection), ``limit_s`` and ``points``
    earned; for a wrong action ``points`` is the (negative) penalty. ``caught_up``: fetched
    after a reconnect (it happened while the connection was down), not received live.
    """

    time_s: float
    kind: str
    text: str
    trainee: str = ""
    equipment: str = ""
    points: float | None = None
    response_s: float | None = None
    limit_s: float | None = None
    caught_up: bool = False


@dataclass(frozen=True, slots=True)
class ScoreLine:
    """A trainee's score as the trainer sees it."""

    trainee: str
    score: float
    max_points: float
    percent: float
    passed: bool
    wrong: int


@dataclass(frozen=True, slots=True)
class NameLine:
    """A trainee name the drill server holds, as the trainer sees it.

    ``joined``: the trainee joined in this run of the drill; False: the name is kept from an
    earlier run (its token's hash is in the drill's token file) and nobody has joined under
    it since the start, so only the app that saved its token can take it (until released).
    """

    name: str
    joined: bool


def _action_text(a: Any) -> str:
    what = " ".join(str(x) for x in (a.equipment, a.alarm, a.procedure, a.lot) if x)
    step = f" step {a.step}" if a.step else ""
    note = f' "{a.comment}"' if a.comment else ""
    refused = "" if a.accepted else " (refused)"
    return f"{a.action} {what}{step}{note}{refused}".strip()


class TrainerDesk:
    """Run (or follow) one drill as the trainer (see the module doc).

    Parameters
    ----------
    spec
        The plant the drill belongs to.
    """

    def __init__(self, spec: s.PlantSpec) -> None:
        self.spec = spec
        self.server: DrillSimulator | None = None
        self.session: DrillSession | None = None
        self.notices: list[DrillNotice] = []
        self.drill: s.Drill | None = None
        # the drill's plant as an OPC UA client sees it (the trainer's 3-D view)
        self.plant_state: PlantState | None = None
        self.plant_events = 0  # events applied by the last poll
        self._plant_client: Any = None
        self._keeper: LinkKeeper | None = None
        self._cancelled = False
        # once per reconnect: the timeline entries caught up (see take_caught_up)
        self._reconnects_told = 0
        self._caught_told = 0
        self._caught_news: int | None = None

    # ------------------------------------------------------------------ life cycle

    @property
    def url(self) -> str:
        """The endpoint of the drill followed ('' before start/connect)."""
        return self.session.url if self.session is not None else ""

    @property
    def following(self) -> bool:
        """True while following a drill (connected or reconnecting)."""
        return self.session is not None

    @property
    def running(self) -> bool:
        """True while following a drill over a working connection (not while it is being
        restored)."""
        keeper = self._keeper
        return (
            self.session is not None
            and self.session.joined
            and self.session.client.link_up
            and not (keeper is not None and keeper.restoring)
        )

    def link(self) -> LinkStatus | None:
        """The connection to the drill server (None when not following)."""
        keeper = self._keeper
        return keeper.status() if keeper is not None and self.session is not None else None

    def reconnect_now(self) -> bool:
        """Try to reconnect at once (False when not following)."""
        if self._keeper is None or self.session is None:
            return False
        self._keeper.reconnect_now()
        return True

    def start(
        self,
        drill: s.Drill,
        *,
        speed: float | None = None,
        record_dir: Path | None = None,
        endpoint: str | None = None,
        forget_tokens: bool = False,
        **options: Any,
    ) -> str:
        """Start ``drill`` served on loopback (blocking for the warm-up: call it on a worker
        thread), then follow it; return the endpoint URL trainees join.

        With ``record_dir`` the trainee names are kept in ``<record_dir>/<drill>.tokens``;
        a damaged one raises TokenFileError (file and line; kept as ``.bak``) unless
        ``forget_tokens``, which starts with every name free."""
        self._shut()
        self._cancelled = False
        self.drill = drill
        server = start_drill_server(
            self.spec,
            drill.id,
            speed=speed,
            record_dir=record_dir,
            endpoint=endpoint,
            forget_tokens=forget_tokens,
            **options,
        )
        self.server = server
        try:
            if self._cancelled:  # stopped (window closed) during the warm-up
                msg = "the drill was stopped while it was starting"
                raise FactoryTwinError(msg)
            self._follow(server.endpoint_url)
            if self._cancelled:
                msg = "the drill was stopped while it was starting"
                raise FactoryTwinError(msg)
        except BaseException:
            self._shut()
            raise
        return server.endpoint_url

    def connect(self, url: str) -> str:
        """Follow a drill server already running at ``url`` (blocking); return its drill id.

        Raises DrillRefused (the guard's reason) for anything but our simulator in drill mode.
        """
        self._shut()
        self._cancelled = False
        self._follow(url)
        assert self.session is not None
        st = self.session.status().result(timeout=15)
        try:
            self.drill = next(d for d in self.spec.drills if d.id == st.drill_id)
        except StopIteration:
            self.drill = None
        return st.drill_id

    def _follow(self, url: str) -> None:
        session = DrillSession(url, TRAINER_NAME, trainer=True)
        try:
            session.join().result(timeout=30)
        except BaseException:
            session.leave()
            raise
        self.session = session
        self.notices = []
        self._reconnects_told = self._caught_told = 0
        self._caught_news = None
        self._watch(session, url)
        self._keeper = LinkKeeper(session)
        self._keeper.start()

    def _watch(self, session: DrillSession, url: str) -> None:
        """Read the drill's plant like any client (no trainee: it never acts)."""
        from factory_twin.opcua.client import PlantClient

        client = PlantClient(
            self.spec, endpoint_overrides={ep.id: url for ep in self.spec.endpoints}
        )
        self.plant_state = PlantState(self.spec)
        self._plant_client = client
        session.loop.run(client.start(), timeout=30)  # connects in the background

    def stop(self) -> None:
        """Stop following (and stop our own server, which finishes its recording); a start
        still warming up on its worker thread stops as soon as it is up."""
        self._cancelled = True
        self._shut()

    def _shut(self) -> None:
        session, self.session = self.session, None
        server, self.server = self.server, None
        client, self._plant_client = self._plant_client, None
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.stop()
        if session is not None:
            if client is not None and session.loop.is_running():
                try:
                    session.loop.run(client.stop(), timeout=15)
                except Exception:
                    logger.warning(
                        "the trainer's plant client did not stop cleanly", exc_info=True
                    )
            session.leave()
        if server is not None:
            server.stop_in_thread()

    # ------------------------------------------------------------------ trainer calls

    def _session(self) -> DrillSession:
        if self.session is None:
            msg = "no drill is running: start one or connect to a drill server"
            raise FactoryTwinError(msg)
        if not self.session.client.link_up:
            raise DrillRefused(self.session.client.lost_message())
        return self.session

    def pause(self) -> concurrent.futures.Future[Any]:
        """Pause the drill (the plant stops)."""
        return self._session().pause()

    def resume(self) -> concurrent.futures.Future[Any]:
        """Resume a paused drill."""
        return self._session().resume_drill()

    def set_speed(self, speed: float) -> concurrent.futures.Future[Any]:
        """Plant seconds per wall second."""
        return self._session().set_speed(speed)

    def finish(self) -> concurrent.futures.Future[Any]:
        """End the drill now (unanswered responses count as missed)."""
        return self._session().finish()

    def inject(
        self,
        fault: str,
        equipment: str,
        tag: str = "",
        value: float = 0.0,
        duration_s: float = 0.0,
    ) -> concurrent.futures.Future[None]:
        """Inject an ad-hoc fault now; the future raises DrillRefused with the server's reason."""
        return self._session().inject(fault, equipment, tag, value, duration_s)

    def release_name(self, trainee: str) -> concurrent.futures.Future[Any]:
        """Release ``trainee``'s name: its token is forgotten, so the next Join under it
        starts afresh (the score stays in the log); the future raises DrillRefused (why)."""
        return self._session().release_name(trainee)

    def release_names(self, names: list[str]) -> concurrent.futures.Future[list[str]]:
        """Release every name of ``names``, one after the other; the future gives the names
        released (a name the server refuses, e.g. one already free, is logged and skipped)."""
        session = self._session()
        client = session.client

        async def run() -> list[str]:
            done: list[str] = []
            for name in names:
                try:
                    await client.release_name(name)
                except DrillRefused as exc:
                    logger.info("the name %r was not released: %s", name, exc)
                else:
                    done.append(name)
            return done

        return session.loop.submit(run())

    @property
    def token_path(self) -> Path | None:
        """Our server's trainee token file (None: memory only, or a remote server)."""
        return self.server.token_path if self.server is not None else None

    @property
    def taken_names(self) -> list[str] | None:
        """The names the drill server holds a token for, sorted: our server's, or the ones a
        remote server publishes (``TakenNames``; None before it was read)."""
        if self.server is not None:
            return self.server.taken_names
        names = self.value("TakenNames")
        return None if names is None else sorted(str(n) for n in names)

    def released_names(self) -> set[str]:
        """Names the trainer released that nobody has taken again since."""
        taken = self.taken_names
        if taken is not None and self.server is not None:
            return {r.trainee for r in list(self.server.releases)} - set(taken)
        released: set[str] = set()
        for n in self.notices:  # a remote server: the release events, then later actions
            if n.kind == "state" and n.trainee:
                released.add(n.trainee)
            elif n.kind == "action":
                released.discard(n.trainee)
        return released

    def names(self) -> list[NameLine]:
        """The names held: joined in this run (in order), then the ones kept from an earlier
        run (sorted); released ones are left out (see the module doc)."""
        released = self.released_names()
        joined = [t for t in self.trainees() if t not in released]
        kept = [n for n in (self.taken_names or []) if n not in joined and n not in released]
        return [NameLine(n, True) for n in joined] + [NameLine(n, False) for n in kept]

    # ------------------------------------------------------------------ following

    def poll(self) -> list[DrillNotice]:
        """Drain the notices received since the last poll (GUI thread); return them."""
        if self.session is None:
            return []
        # the link as it was before the drain: once it is up again after a reconnect, the
        # entries that reconnect caught up are queued already, so this drain takes them all
        link = self.link()
        new = self.session.drain()
        clock = self.value("Clock")
        if clock is not None:  # live alarm events carry no drill time: the clock when they came
            new = [
                dataclasses.replace(n, drill_time_s=float(clock))
                if n.kind == "alarm" and not n.caught_up
                else n
                for n in new
            ]
        self.notices += new
        self.plant_events = 0
        client, st = self._plant_client, self.plant_state
        if client is not None and st is not None:
            events = client.drain(50_000)
            if events:
                st.apply(events)
            self.plant_events = len(events)
        if link is not None and link.up and link.reconnects > self._reconnects_told:
            self._reconnects_told = link.reconnects
            if self.server is None:  # our own server's timeline is its records: none missed
                caught = sum(1 for e in self.timeline() if e.caught_up)
                self._caught_news, self._caught_told = caught - self._caught_told, caught
        return new

    def take_caught_up(self) -> int | None:
        """Once per reconnect to a remote drill server, after the :meth:`poll` that took what
        it caught up: how many timeline entries that reconnect caught up (they happened while
        the connection was down; 0: none); None otherwise (and with a server of our own)."""
        news, self._caught_news = self._caught_news, None
        return news

    def event_log(self) -> DrillEventLog | None:
        """Our own drill server's event log (None: a remote server, or none started). Its
        ``damage`` is the error of a damaged log file set aside (``damaged_path``) when the
        server started, ``problem`` the same in words."""
        return self.server.events if self.server is not None else None

    def value(self, key: str) -> Any:
        """The last published drill variable (``State``, ``Clock``, ``Speed``, ``Trainees``...)."""
        if self.session is None:
            return None
        return self.session.client.value(key)

    @property
    def state(self) -> str:
        """``running``, ``paused`` or ``finished`` ('' when not following)."""
        if self.server is not None:
            return self.server.state
        return str(self.value("State") or "")

    @property
    def clock_s(self) -> float:
        """The drill clock (drill seconds)."""
        if self.server is not None:
            return float(self.server.clock_s)
        return float(self.value("Clock") or 0.0)

    @property
    def speed(self) -> float:
        """The drill's speed (plant seconds per wall second)."""
        if self.server is not None:
            return float(self.server.speed)
        return float(self.value("Speed") or 0.0)

    def trainees(self) -> list[str]:
        """The trainees who joined, in order."""
        if self.server is not None:
            return list(self.server.trainees)
        return [str(t) for t in (self.value("Trainees") or ())]

    def active_faults(self) -> list[str]:
        """The faults standing now, as words."""
        return [str(f) for f in (self.value("ActiveFaults") or ())]

    def full_scores(self) -> dict[str, TraineeScore]:
        """Every trainee's full score (our own server only; else empty)."""
        return dict(self.server.scores) if self.server is not None else {}

    def scores(self) -> list[ScoreLine]:
        """One line per trainee."""
        full = self.full_scores()
        if self.server is not None:
            return [
                ScoreLine(n, sc.score, sc.max_points, sc.percent, sc.passed, len(sc.wrong))
                for n, sc in full.items()
            ]
        try:
            summary = json.loads(self.value("ScoresJson") or "{}")
        except ValueError:
            summary = {}
        return [
            ScoreLine(
                n, float(v.get("score", 0)), float(v.get("max", 0)),
                float(v.get("percent", 0)), bool(v.get("passed")), int(v.get("wrong", 0)),
            )
            for n, v in summary.items()
        ]  # fmt: skip

    def timeline(self) -> list[TimelineEntry]:
        """The live timeline, oldest first (see the module doc)."""
        if self.server is not None:
            return self._server_timeline(self.server)
        out: list[TimelineEntry] = []
        standing: set[tuple[str, str]] = set()  # an alarm sent again (after a reconnect) once
        for n in self.notices:
            if n.kind == "alarm":
                key = (n.equipment, n.code)
                if n.active and not n.acked:
                    if key not in standing:
                        standing.add(key)
                        out.append(
                            TimelineEntry(n.drill_time_s, "alarm", n.message, "", n.equipment,
                                          caught_up=n.caught_up)
                        )  # fmt: skip
                else:
                    standing.discard(key)
            elif n.kind in ("injection", "action", "refused", "state"):
                out.append(
                    TimelineEntry(n.drill_time_s, n.kind, n.message, n.trainee, n.equipment,
                                  caught_up=n.caught_up)
                )  # fmt: skip
        return sorted(out, key=lambda e: e.time_s)

    def _server_timeline(self, sim: DrillSimulator) -> list[TimelineEntry]:
        out = [
            TimelineEntry(i.time_s, "injection", f"{i.fault} {i.equipment}: {i.detail}",
                          equipment=i.equipment)
            for i in list(sim.injections)
        ]  # fmt: skip
        seen: set[str] = set()
        for al in list(sim.alarms):
            if al.active and not al.acked and al.alarm_id not in seen:
                seen.add(al.alarm_id)
                out.append(
                    TimelineEntry(al.time_s, "alarm", al.message or al.alarm_id, "", al.equipment)
                )
        scores = dict(sim.scores)
        actions = list(sim.actions)
        answered: dict[int, Any] = {}  # action index -> the response row it answered
        for sc in scores.values():
            for r in sc.rows:
                if r.done_s is None:
                    continue
                # the last matching action answered it (a sign-off of every safety step is
                # answered by the last of them, even when they share a drill time)
                k = next(
                    (
                        i
                        for i in range(len(actions) - 1, -1, -1)
                        if actions[i].trainee == sc.trainee
                        and actions[i].action == r.action
                        and abs(actions[i].time_s - r.done_s) < 1e-6
                        and (not r.equipment or r.equipment == actions[i].equipment)
                        and i not in answered
                    ),
                    None,
                )
                if k is not None:
                    answered[k] = r
        for i, a in enumerate(actions):
            row = answered.get(i)
            out.append(
                TimelineEntry(
                    a.time_s,
                    "action",
                    f"{a.trainee}: {_action_text(a)}",
                    a.trainee,
                    a.equipment,
                    points=row.points if row is not None else None,
                    response_s=row.response_s if row is not None else None,
                    limit_s=row.limit_s if row is not None else None,
                )
            )
        for n, sc in scores.items():
            out += [
                TimelineEntry(w.time_s, "wrong", f"{n}: {w.reason}", n, w.equipment, -w.penalty)
                for w in sc.wrong
            ]
        out += [
            TimelineEntry(r.time_s, "state", f"the trainer released the name {r.trainee!r}",
                          r.trainee)
            for r in list(sim.releases)
        ]  # fmt: skip
        order = {"injection": 0, "alarm": 1, "action": 2, "wrong": 3}
        return sorted(out, key=lambda e: (e.time_s, order.get(e.kind, 4)))

    def log(self) -> DrillLog | None:
        """The drill as recorded by our own server (None when following a remote one)."""
        return self.server.log() if self.server is not None else None

    def close_recording(self) -> Path | None:
        """Finish our server's recording (Parquet + drill log); return the log's path."""
        return self.server.close_recording() if self.server is not None else None
