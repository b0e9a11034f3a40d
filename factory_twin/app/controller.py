"""The application controller: plant document, live connection, replay, alarm journal.

No Qt here. The window owns one :class:`Controller`; the controller owns

* the :class:`~factory_twin.model.config.PlantDocument` being shown and its
  :class:`~factory_twin.app.plant_state.PlantState`;
* an :class:`~factory_twin.opcua.loop.AsyncioThread` on which every OPC UA object lives;
* optionally the embedded plant simulator server (on a free loopback port);
* the :class:`~factory_twin.opcua.client.PlantClient` that reads the plant as any OPC UA
  client would (also when the server is our own simulator);
* or a :class:`~factory_twin.app.replay.ReplaySource` playing a recorded history;
* the :class:`~factory_twin.app.alarm_journal.AlarmJournal`.

The GUI thread calls :meth:`Controller.apply_pending` on a timer: it drains the source's
queue and applies the batch to the plant state, which then emits its signals once.
Everything that talks to a server returns a :class:`concurrent.futures.Future` at once.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import ipaddress
import logging
import socket
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from psygnal import Signal

from factory_twin.app.alarm_journal import AlarmJournal
from factory_twin.app.plant_state import PlantState
from factory_twin.app.replay import ReplaySource, load_history, on_plant_clock
from factory_twin.app.sim_pace import Pace
from factory_twin.errors import FactoryTwinError
from factory_twin.model.config import PlantDocument, load_plant
from factory_twin.model.events import AlarmEvent, ConnectionStatus, PlantEvent, ShelvingState
from factory_twin.opcua.loop import AsyncioThread

if TYPE_CHECKING:
    from factory_twin.app.drill_link import LinkKeeper, LinkStatus

logger = logging.getLogger(__name__)
write_logger = logging.getLogger("factory_twin.app.writes")

DEMO_PLANT = "demo_fab.yaml"


def find_demo_plant() -> Path:
    """Return the demo fab's plant file (repository checkout or installed data).

    Raises
    ------
    FactoryTwinError
        If no copy of ``plant_configs/demo_fab.yaml`` can be found.
    """
    here = Path(__file__).resolve()
    candidates = [
        here.parents[2] / "plant_configs" / DEMO_PLANT,  # source checkout
        here.parents[1] / "plant_configs" / DEMO_PLANT,  # packaged inside factory_twin
        Path.cwd() / "plant_configs" / DEMO_PLANT,
    ]
    try:
        import sys

        candidates.append(
            Path(sys.prefix) / "share" / "factory_twin" / "plant_configs" / DEMO_PLANT
        )
    except Exception:  # pragma: no cover
        pass
    for c in candidates:
        if c.is_file():
            return c
    msg = "cannot find the demo plant (plant_configs/demo_fab.yaml); give a plant file to open"
    raise FactoryTwinError(msg)


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def is_loopback_url(url: str) -> bool:
    """True if an ``opc.tcp://`` URL names this computer (127.0.0.0/8, ::1, localhost)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class ConnectionSettings:
    """How to reach a plant's servers.

    Attributes
    ----------
    endpoint_overrides
        Endpoint id -> URL replacing the plant file's.
    credentials
        Endpoint id -> (user name, password).
    use_simulator
        Start the embedded plant simulator and connect to it instead of the plant's servers.
    simulator_speed
        Plant seconds per wall second of the embedded simulator.
    """

    endpoint_overrides: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, tuple[str, str]] = field(default_factory=dict)
    use_simulator: bool = False
    simulator_speed: float = 60.0
    seed: int = 0


class Controller:
    """Owns the plant, its live source and the asyncio thread (see module docs).

    Parameters
    ----------
    journal_path
        SQLite file of the alarm journal (default: user data folder).
    user
        Name recorded with acknowledgements and writes.
    write_log_path
        JSON-lines file where the client logs every write attempt (optional).
    """

    plant_changed = Signal(object)  # PlantDocument
    source_changed = Signal(str)  # "live", "replay", "none"
    message = Signal(str)  # one-line notices for the status bar

    def __init__(
        self,
        *,
        journal_path: str | Path | None = None,
        user: str = "operator",
        write_log_path: str | Path | None = None,
    ) -> None:
        self.loop = AsyncioThread()
        self.doc: PlantDocument | None = None
        self.state: PlantState | None = None
        self.settings = ConnectionSettings()
        self.simulator: Any = None
        self.client: Any = None
        self.replay: ReplaySource | None = None
        self.journal = AlarmJournal(journal_path)
        self.user = user
        self.write_log_path = Path(write_log_path) if write_log_path is not None else None
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="plant-load"
        )
        self.last_drain_count = 0
        self.events_total = 0
        self._generation = 0
        # our own alarm actions awaiting their event: alarm id -> (user, comment, action)
        self._ack_requests: dict[str, tuple[str, str, str]] = {}
        self.phase = ""  # what a connection in progress is doing, for the status bar
        self._closed = False
        self.drill: Any = None  # a joined app.drill_session.DrillSession
        self._drill_keeper: LinkKeeper | None = None  # keeps the joined drill's connection

    # ------------------------------------------------------------------ drills

    @property
    def drill_mode(self) -> bool:
        """True while this app takes part in a drill: show "DRILL — simulated plant" (also
        while its lost connection is being reconnected, see :meth:`drill_link`)."""
        return self.drill is not None and bool(self.drill.joined_as)

    def drill_link(self) -> LinkStatus | None:
        """The connection to the drill server joined, an
        :class:`~factory_twin.app.drill_link.LinkStatus` (None when not in a drill)."""
        keeper = self._drill_keeper
        return keeper.status() if keeper is not None and self.drill_mode else None

    def reconnect_drill(self) -> bool:
        """Try to reconnect to the drill server at once (False when not in a drill, or when
        no reconnect can succeed: the trainee's name is another trainee's now, see
        :attr:`~factory_twin.app.drill_link.LinkStatus.taken_name`)."""
        keeper = self._drill_keeper
        if keeper is None or not self.drill_mode or keeper.gave_up:
            return False
        keeper.reconnect_now()
        return True

    def join_drill(self, url: str, name: str, token: str = "") -> concurrent.futures.Future[str]:
        """Join the drill served at ``url`` as ``name`` (the future raises DrillRefused, with
        the reason, for an endpoint that is not our simulator in drill mode, and its
        DrillNameTaken for a name another trainee holds). ``token``: the one an earlier Join
        under the name returned (then ``drill.client.token``), needed to join it again.

        Once joined, a lost connection is reconnected with back-off (joining again with the
        token) by a :class:`~factory_twin.app.drill_link.LinkKeeper`: :meth:`drill_link`; it
        stops if the server answers that the name is another trainee's now (the trainer
        released it meanwhile), and the trainee joins again under another name."""
        from factory_twin.app.drill_link import LinkKeeper
        from factory_twin.app.drill_session import DrillRefused, DrillSession

        self.leave_drill()
        self.loop.start()
        session = DrillSession(url, name, thread=self.loop, token=token)
        self.drill = session
        spec = self.spec

        async def join() -> str:
            await session.client.open()
            if spec is not None:  # checked before joining: a refusal takes no name
                st = await session.client.status()
                if st.drill_id not in {d.id for d in spec.drills}:
                    await session.client.disconnect()
                    msg = (
                        f"the server at {url} runs drill {st.drill_id!r}, which the open plant "
                        f"{spec.site.name!r} does not have: open the drill's plant file first"
                    )
                    raise DrillRefused(msg)
            joined = await session.client.join()
            session.joined_as = joined
            if self.drill is session:  # not left meanwhile: keep the connection up
                keeper = LinkKeeper(session)
                await keeper.start_here()
                self._drill_keeper = keeper
            return str(joined)

        fut: concurrent.futures.Future[str] = self.loop.submit(join())

        def done(f: concurrent.futures.Future[str]) -> None:
            if f.exception() is not None and self.drill is session:
                self.drill = None

        fut.add_done_callback(done)
        return fut

    def leave_drill(self) -> None:
        """Leave the drill (the server keeps the score)."""
        session, self.drill = self.drill, None
        keeper, self._drill_keeper = self._drill_keeper, None
        if keeper is not None:
            keeper.stop()
        if session is not None and self.loop.is_running():
            session.leave()

    def drill_settings(self, url: str, speed: float = 1.0) -> ConnectionSettings:
        """Connection settings that point every endpoint of the open plant at the drill
        server ``url`` (the Monitor and Maintain workspaces then show the simulated plant)."""
        eps = self.doc.spec.endpoints if self.doc is not None else []
        return ConnectionSettings(
            endpoint_overrides={ep.id: url for ep in eps},
            use_simulator=False,
            simulator_speed=speed,
        )

    # ------------------------------------------------------------------ plants

    @property
    def spec(self) -> Any:
        """The current plant spec (None before a plant is open)."""
        return self.doc.spec if self.doc is not None else None

    def load_plant_async(self, path: str | Path) -> concurrent.futures.Future[PlantDocument]:
        """Read and validate a plant file on a worker thread (the GUI stays responsive).

        The future raises :class:`~factory_twin.errors.ConfigError` for a broken file; the
        current plant is untouched until :meth:`set_plant` is called with the result.
        """
        return self._pool.submit(load_plant, path)

    def run_in_worker(self, fn: Any, *args: Any) -> concurrent.futures.Future[Any]:
        """Run ``fn(*args)`` on the plant-loading worker thread (long, GUI-free work)."""
        return self._pool.submit(fn, *args)

    def open_plant(self, path: str | Path) -> PlantDocument:
        """Read, validate and show a plant file (blocking variant of the async path)."""
        doc = load_plant(path)
        self.set_plant(doc)
        return doc

    def set_plant(self, doc: PlantDocument) -> None:
        """Make ``doc`` the current plant; disconnects from the previous plant first."""
        self.disconnect(wait=False)
        self.replay = None
        self.doc = doc
        self.state = PlantState(doc.spec)
        self.plant_changed.emit(doc)

    def save(self, path: str | Path | None = None) -> Path:
        """Save the plant file (atomically, keeping comments); return where."""
        if self.doc is None:
            msg = "no plant is open"
            raise FactoryTwinError(msg)
        return self.doc.save(path)

    # ------------------------------------------------------------------ live connection

    def _submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        self.loop.start()
        return self.loop.submit(coro)

    def connect(
        self, settings: ConnectionSettings | None = None
    ) -> concurrent.futures.Future[Any]:
        """Start the embedded simulator (if asked) and connect the plant client.

        Returns at once; connection states arrive as :class:`ConnectionStatus` events.
        """
        if self.doc is None:
            msg = "open a plant before connecting"
            raise FactoryTwinError(msg)
        if settings is not None:
            self.settings = settings
        self.disconnect(wait=False)
        self.stop_replay()  # live data starts on a fresh state, on live time
        spec = self.doc.spec
        st = self.settings
        if self.state is not None:
            # the simulator stamps values with the wall clock while its plant runs faster
            self.state.time_scale = st.simulator_speed if st.use_simulator else 1.0
        generation = self._generation = self._generation + 1
        self.phase = "preparing…"

        async def go() -> None:
            # built on the loop thread: importing asyncua and building the simulation take
            # seconds that the GUI thread must not wait for
            overrides = dict(st.endpoint_overrides)
            sim = None
            client_spec = spec
            if st.use_simulator:
                from factory_twin.app.simulator import EmbeddedPlantSimulator, bind_to_simulator

                url = f"opc.tcp://127.0.0.1:{free_port()}/factory_twin/"
                sim = EmbeddedPlantSimulator(
                    spec, endpoint=url, speed=st.simulator_speed, seed=st.seed
                )
                # the simulator serves every tool, also those the file binds to no server
                client_spec, overrides = bind_to_simulator(spec, url)
            from factory_twin.opcua.client import PlantClient

            client = PlantClient(
                client_spec,
                endpoint_overrides=overrides or None,
                credentials=dict(st.credentials) or None,
                write_log_path=self.write_log_path,
            )
            if generation != self._generation:  # superseded while we were building
                return
            self.simulator = sim
            if sim is not None:
                self.phase = "starting the embedded plant simulator…"
                await sim.start()
            self.phase = "connecting…"
            self.client = client
            await client.start()
            self.phase = ""

        self.source_changed.emit("live")
        return self._submit(go())

    def disconnect(self, *, wait: bool = False, stop_simulator: bool = True) -> None:
        """Disconnect the client (and stop the embedded simulator)."""
        client, sim = self.client, self.simulator
        self._generation += 1
        self.phase = ""
        self.client = None
        if stop_simulator:
            self.simulator = None
        if client is None and (sim is None or not stop_simulator):
            return

        async def down() -> None:
            if client is not None:
                await client.stop()
            if sim is not None and stop_simulator:
                await sim.stop()

        fut = self._submit(down())
        if wait:
            try:
                fut.result(timeout=15)
            except Exception:
                logger.warning("disconnect did not finish cleanly", exc_info=True)
        if self.state is not None and client is not None:
            self.state.apply(
                [
                    ConnectionStatus(ep, False, "disconnected", time.time())
                    for ep in client.status()
                ]
            )
        self.source_changed.emit("none")

    def stop_simulator(self) -> concurrent.futures.Future[Any]:
        """Stop the embedded simulator server but keep the client (it will retry)."""
        sim = self.simulator
        if sim is None:
            msg = "no embedded simulator is running"
            raise FactoryTwinError(msg)
        return self._submit(sim.stop())

    def start_simulator(self) -> concurrent.futures.Future[Any]:
        """Start the embedded simulator server again on its port."""
        sim = self.simulator
        if sim is None:
            msg = "no embedded simulator"
            raise FactoryTwinError(msg)
        return self._submit(sim.start())

    def plant_time_s(self) -> float | None:
        """Plant clock of the embedded simulator (None when not running one)."""
        sim = self.simulator
        if sim is None:
            return None
        try:
            return float(sim.now_s)
        except Exception:
            return None

    def simulator_pace(self) -> Pace | None:
        """The embedded simulator's asked and achieved speed (None when not running one)."""
        sim = self.simulator
        pace = getattr(sim, "pace", None) if sim is not None else None
        return pace if isinstance(pace, Pace) else None

    def status(self) -> dict[str, ConnectionStatus]:
        """Connection status per endpoint (empty when not live)."""
        if self.client is None:
            return {}
        return dict(self.client.status())

    def companion_specs_problem(self) -> str | None:
        """Why the embedded simulator serves without the OPC UA companion specifications.

        None when no embedded simulator runs or it loaded DI, IA and Machinery; otherwise a
        one-line reason (the machines then use factory_twin's own types, which every client
        still reads, but a Machinery-aware client will not recognise them).
        """
        sim = self.simulator
        server = getattr(sim, "server", None) if sim is not None else None
        if server is None or server.companion_specs_loaded:
            return None
        return (
            f"the plant simulator runs without the OPC UA companion specifications "
            f"(DI, IA, Machinery): {server.companion.problem}"
        )

    def loopback_endpoints(self) -> dict[str, str]:
        """Endpoint id -> URL of the plant's endpoints that point at this computer."""
        if self.doc is None:
            return {}
        out = {}
        for ep in self.doc.spec.endpoints:
            url = self.settings.endpoint_overrides.get(ep.id, ep.url)
            if is_loopback_url(url):
                out[ep.id] = url
        return out

    def simulator_offer(self) -> str | None:
        """Say why to start the embedded simulator, when nothing listens where the plant is.

        Returns a message when the plant's endpoints are all on this computer, the client
        is not using the embedded simulator, and every endpoint has been refused (nothing
        listening): typically a shipped plant opened without ``--simulator``. None
        otherwise.
        """
        if self.client is None or self.settings.use_simulator or self.replay is not None:
            return None
        local = self.loopback_endpoints()
        status = self.status()
        if not local or len(local) != len(self.doc.spec.endpoints if self.doc else ()):
            return None
        if not status or any(s.connected for s in status.values()):
            return None
        if not all("refused" in s.message for ep, s in status.items() if ep in local):
            return None
        urls = ", ".join(sorted(set(local.values())))
        return (
            f"Nothing is listening on {urls}: no plant server runs on this computer. "
            "Start the embedded plant simulator for this plant?"
        )

    def problems(self) -> list[str]:
        """Binding problems the client found on the servers."""
        return list(self.client.problems()) if self.client is not None else []

    def test_connection(
        self,
        url: str,
        *,
        security: str = "none",
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 5.0,
    ) -> concurrent.futures.Future[str]:
        """Try to connect to ``url``; the future gives a one-line result or raises.

        Raises (through the future)
        ---------------------------
        ConnectionFailed
            The server cannot be reached or refused us.
        """
        from factory_twin.errors import ConnectionFailed

        async def probe() -> str:
            from asyncua import Client

            from factory_twin.opcua.client_common import open_session

            client = Client(url, timeout=timeout_s)
            if username:
                client.set_user(username)
                client.set_password(password or "")
            try:
                await open_session(client, url, timeout_s)
            except ConnectionFailed:  # "cannot reach HOST:PORT: connection refused"
                raise
            except Exception as exc:
                msg = (
                    f"{url}: {type(exc).__name__}: {exc}"
                    if str(exc)
                    else f"{url}: {type(exc).__name__}"
                )
                raise ConnectionFailed(msg) from exc
            try:
                ns = await client.get_namespace_array()
                return f"connected to {url} ({len(ns)} namespaces, security {security})"
            finally:
                try:
                    await client.disconnect()
                except Exception:
                    logger.debug("disconnect after probe failed", exc_info=True)

        return self._submit(probe())

    # ------------------------------------------------------------------ replay

    def start_replay(self, path: str | Path, *, speed: float = 60.0) -> ReplaySource:
        """Stop live data and play a historian Parquet file back."""
        events = load_history(path)
        return self.start_replay_events(events, speed=speed)

    def start_replay_events(
        self, events: list[PlantEvent], *, speed: float = 60.0
    ) -> ReplaySource:
        """Play recorded events back (the data of :meth:`start_replay`), on the source's
        plant clock when the recording has it (:func:`~factory_twin.app.replay.on_plant_clock`:
        a simulator recorded at 60x plays an hour of plant time as an hour)."""
        if self.doc is None:
            msg = "open a plant before replaying its history"
            raise FactoryTwinError(msg)
        self.disconnect(wait=False)
        self.state = PlantState(self.doc.spec)
        self.replay = ReplaySource(on_plant_clock(events), speed=speed)
        self.replay.play()
        self.plant_changed.emit(self.doc)
        self.source_changed.emit("replay")
        return self.replay

    def stop_replay(self) -> None:
        """End the replay, if any. The plant state starts afresh: what comes next (live data,
        stamped with live time) shares no trend, alarm or KPI with the recording."""
        if self.replay is None:
            return
        self.replay = None
        if self.doc is not None:
            self.state = PlantState(self.doc.spec)
            self.plant_changed.emit(self.doc)
        self.source_changed.emit("none")

    def seek_replay(self, t: float) -> None:
        """Move the replay clock; rebuilds the state when moving backwards."""
        if self.replay is None or self.doc is None:
            return
        if self.replay.seek(t):
            self.state = PlantState(self.doc.spec)
            self.plant_changed.emit(self.doc)

    # ------------------------------------------------------------------ the GUI tick

    def apply_pending(self, max_items: int = 50_000) -> int:
        """Drain the live or replay source and apply one batch; return its size."""
        src = self.replay if self.replay is not None else self.client
        if src is None or self.state is None:
            self.last_drain_count = 0
            return 0
        events = src.drain(max_items)
        if events:
            self.state.apply(events)
            alarms = [self._with_user(e) for e in events if isinstance(e, AlarmEvent)]
            if alarms and self.replay is None:
                plant = self.doc.spec.site.name if self.doc is not None else ""
                self.journal.record_async(alarms, plant=plant)
        self.last_drain_count = len(events)
        self.events_total += len(events)
        return len(events)

    def _with_user(self, ev: AlarmEvent) -> AlarmEvent:
        """Name the user of our own acknowledgement, shelve or out-of-service request.

        An anonymous session's transitions carry no user id (or 'anonymous'); the journal
        names the app's user instead.
        """
        req = self._ack_requests.get(ev.alarm_id)
        if req is None or ev.user not in ("", "anonymous"):
            return ev
        user, comment, action = req
        done = {
            "acknowledge": ev.acked,
            "shelve": ev.shelving.value == action.partition(":")[2],
            "out_of_service": ev.out_of_service,
            "in_service": not ev.out_of_service,
        }.get(action.split(":", 1)[0], True)
        if not done:
            return ev
        self._ack_requests.pop(ev.alarm_id, None)
        return dataclasses.replace(ev, user=user, comment=ev.comment or comment)

    # ------------------------------------------------------------------ acting on the plant

    def acknowledge(self, alarm_id: str, comment: str) -> concurrent.futures.Future[Any]:
        """Acknowledge a standing alarm on its server with the user's comment.

        In a drill the acknowledgement goes through the drill session, so the drill server
        scores it under the trainee's name.
        """
        ev = self._standing(alarm_id)
        if self.drill_mode:
            self._ack_requests[alarm_id] = (self.drill.joined_as, comment, "acknowledge")
            write_logger.info(
                "trainee %r acknowledges %s %s in a drill: %r",
                self.drill.joined_as,
                ev.equipment,
                ev.code,
                comment,
            )
            fut: concurrent.futures.Future[Any] = self.drill.acknowledge(
                ev.equipment, ev.code, comment
            )
            return fut
        self._ack_requests[alarm_id] = (self.user, comment, "acknowledge")
        write_logger.info(
            "user %r acknowledges %s %s: %r", self.user, ev.equipment, ev.code, comment
        )
        return self._submit(self.client.acknowledge(ev, comment, self.user))

    def _standing(self, alarm_id: str) -> AlarmEvent:
        if self.client is None or self.state is None:
            msg = "not connected to a live plant"
            raise FactoryTwinError(msg)
        rec = self.state.alarms.get(alarm_id)
        if rec is None:
            msg = f"no standing alarm {alarm_id!r}"
            raise FactoryTwinError(msg)
        ev: AlarmEvent = rec.event
        return ev

    def shelve(
        self, alarm_id: str, kind: ShelvingState, duration_s: float, reason: str
    ) -> concurrent.futures.Future[Any]:
        """Shelve a standing alarm on its server (``TIMED`` for ``duration_s`` seconds,
        ``ONE_SHOT`` until it returns to normal) or unshelve it (``UNSHELVED``).

        The reason goes to the server as the method's comment and into the journal.
        """
        ev = self._standing(alarm_id)
        if kind is ShelvingState.TIMED and not duration_s > 0:
            msg = f"a timed shelve needs a positive duration, got {duration_s}"
            raise FactoryTwinError(msg)
        assert self.client is not None
        self._ack_requests[alarm_id] = (self.user, reason, f"shelve:{kind.value}")
        write_logger.info(
            "user %r sets %s %s to %s (%g s): %r",
            self.user,
            ev.equipment,
            ev.code,
            kind.value,
            duration_s,
            reason,
        )
        return self._submit(self.client.shelve(ev, kind, duration_s, reason, self.user))

    def set_out_of_service(
        self, alarm_id: str, out: bool, reason: str
    ) -> concurrent.futures.Future[Any]:
        """Remove a standing alarm from service (suppressed and logged) or place it back."""
        ev = self._standing(alarm_id)
        assert self.client is not None
        action = "out_of_service" if out else "in_service"
        self._ack_requests[alarm_id] = (self.user, reason, action)
        write_logger.info(
            "user %r: %s %s %s: %r", self.user, action, ev.equipment, ev.code, reason
        )
        return self._submit(self.client.set_out_of_service(ev, out, reason, self.user))

    def call_method(self, equipment: str, method: str) -> concurrent.futures.Future[bool]:
        """Call a machine method (Hold, Resume, ResetAlarm) on the server (in a drill:
        through the drill session, scored under the trainee's name)."""
        if self.drill_mode and method in ("Hold", "Resume"):
            write_logger.info(
                "trainee %r calls %s.%s in a drill", self.drill.joined_as, equipment, method
            )
            fut: concurrent.futures.Future[bool] = (
                self.drill.hold(equipment) if method == "Hold" else self.drill.resume(equipment)
            )
            return fut
        if self.client is None:
            msg = "not connected to a live plant"
            raise FactoryTwinError(msg)
        write_logger.info("user %r calls %s.%s", self.user, equipment, method)
        return self._submit(self.client.call_method(equipment, method))

    def writes_enabled(self, equipment: str) -> bool:
        """Return True if the endpoint of ``equipment`` allows writes (always in a drill:
        the plant is our simulator, checked by the live-plant guard)."""
        if self.doc is None:
            return False
        if self.drill_mode:
            return any(e.id == equipment for e in self.doc.spec.equipment)
        spec = self.doc.spec
        try:
            eq = spec.tool(equipment)
        except KeyError:
            return False
        if eq.opcua is None:
            return False
        try:
            return bool(spec.endpoint(eq.opcua.endpoint).writes_enabled)
        except KeyError:
            return False

    def request_write(
        self, equipment: str, tag: str, value: Any
    ) -> concurrent.futures.Future[Any]:
        """Write a tag (the UI confirms first; the client checks and logs every attempt)."""
        if self.client is None:
            msg = "not connected to a live plant"
            raise FactoryTwinError(msg)
        write_logger.info("user %r writes %s.%s = %r", self.user, equipment, tag, value)
        return self._submit(self.client.write(equipment, tag, value, user=self.user))

    # ------------------------------------------------------------------ shutdown

    def close(self) -> None:
        """Disconnect, stop the asyncio thread and close the journal."""
        if self._closed:
            return
        self._closed = True
        try:
            self.leave_drill()
            self.disconnect(wait=True)
        finally:
            self.loop.stop()
            self._pool.shutdown(wait=False)
            self.journal.close()
