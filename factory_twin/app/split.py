"""A plant simulated once and served by N server processes (``factory-twin serve --split N``).

One asyncua server process writes about 20,000 values a second (see
``shared/notes/opcua.md``); a bigger plant is spread over several. The work is divided so
that there is still ONE plant:

* **This process** (the parent) runs the only simulation,
  :class:`factory_twin.sim.live.LiveSimulation`, in fixed steps as
  :class:`~factory_twin.app.simulator.EmbeddedPlantSimulator` does, and serves nothing
  itself. After each step it routes the events: a tool's tag updates and state changes go
  to the one process that serves the tool; lot moves, which make the ``Fab`` counters, go to
  every process, and so does the plant clock, sent with every batch.
* **Each server process** (:func:`factory_twin.opcua.server.feed.serve_part`, a
  ``spawn``-ed process) runs a :class:`~factory_twin.opcua.server.PlantServer` for its share
  of the tools only (:func:`split_equipment`: file order, about equal tag counts), applies the
  batches it is fed, and raises its tools' alarms from the values it gets. A tool is served
  by exactly one process.
* **Commands go up, effects come down.** A client's Hold, Resume or ResetAlarm, or write
  (with ``allow_client_writes``), reaches the server process that serves the tool; it sends
  it to the parent over a shared queue; the parent applies it to the simulation, sends the
  events it caused to the owning process, then the answer. The client's call returns with
  the simulation's answer, and every process goes on telling the same story.

Feeds are ``multiprocessing`` queues (one per server process, parent to child); commands
come back on one queue shared by all. Stopping sends each process ``None`` (then SIGTERM,
then SIGKILL after a grace period); a server process whose parent dies stops by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing as mp
import queue
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from factory_twin.app.simulator import EmbeddedPlantSimulator
from factory_twin.errors import FactoryTwinError
from factory_twin.model.events import LotMove, PlantEvent, StateChange, TagUpdate
from factory_twin.model.schema import PlantSpec
from factory_twin.opcua.security import (
    APPLICATION_URI,
    default_cert_dir,
    ensure_server_certificate,
)
from factory_twin.opcua.server.feed import (
    Batch,
    Command,
    PartStatus,
    Reply,
    pack,
    serve_part,
)

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 300.0  # building a big address space takes a while
STOP_GRACE_S = 10.0  # a server process gets this long to stop before it is killed


def split_equipment(spec: PlantSpec, parts: int) -> list[list[str]]:
    """Split the tools into ``parts`` groups of about equal tag counts, keeping file order.

    Every group gets at least one tool (``parts`` must not exceed the number of tools).
    """
    weights = [(e.id, 8 + len(spec.equipment_type(e.type).tags)) for e in spec.equipment]
    total = sum(w for _, w in weights)
    groups: list[list[str]] = [[] for _ in range(parts)]
    acc = 0
    for i, (eid, w) in enumerate(weights):
        remaining_tools = len(weights) - i
        g = min(parts - 1, int(acc * parts / total))
        # leave at least one tool for every later group
        g = max(g, parts - remaining_tools)
        groups[g].append(eid)
        acc += w
    return groups


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT while starting processes, so they start with it ignored.

    A terminal's Ctrl-C goes to the whole process group; the server processes must leave it
    to this one (which stops them in order), even while they are still importing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


class SplitPlantSimulator(EmbeddedPlantSimulator):
    """One live simulation of ``spec`` served by one server process per endpoint.

    Parameters
    ----------
    spec
        The plant.
    endpoints
        One URL per server process.
    groups
        The tool ids each process serves (same length as ``endpoints``; every tool once).
    log_level
        Logging level of the server processes.
    **options
        As for :class:`EmbeddedPlantSimulator` (``speed``, ``seed``, ``tick_s``,
        ``security``, ``allow_client_writes``, ...); the server options go to every process.
    """

    def __init__(
        self,
        spec: PlantSpec,
        *,
        endpoints: list[str],
        groups: list[list[str]],
        log_level: int = logging.WARNING,
        **options: Any,
    ) -> None:
        super().__init__(spec, endpoint=endpoints[0], **options)
        if len(groups) != len(endpoints):
            msg = f"{len(endpoints)} endpoints for {len(groups)} groups of tools"
            raise ValueError(msg)
        served = [eid for g in groups for eid in g]
        if sorted(served) != sorted(e.id for e in spec.equipment):
            msg = "every tool must be in exactly one group"
            raise ValueError(msg)
        self.endpoints = list(endpoints)
        self.groups = [list(g) for g in groups]
        self.urls = list(endpoints)  # the real ones once started
        self.log_level = log_level
        self._owner = {eid: i for i, g in enumerate(groups) for eid in g}
        self._ctx = mp.get_context("spawn")
        self._procs: list[Any] = []
        self._feeds: list[Any] = []
        self._up: Any = None
        self._up_reader: threading.Thread | None = None
        self._reading = threading.Event()
        self._abort = threading.Event()
        self._commands: asyncio.Task[None] | None = None
        self.failed = asyncio.Event()  # set when a server process dies on its own
        self._watch: asyncio.Task[None] | None = None

    @property
    def endpoint_url(self) -> str:
        """The first server process's URL."""
        return self.urls[0]

    @property
    def running(self) -> bool:
        """True while the simulation advances."""
        return self._task is not None and not self._task.done()

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Start the server processes, wait until all serve, then start the simulation.

        Raises
        ------
        FactoryTwinError
            If a server process fails to start (all are stopped again).
        """
        if self.running:
            return
        if self.sim is None:
            self.sim = self._make_simulation()
        self._abort.clear()
        options = dict(self._server_options)
        options.pop("equipment", None)
        if options["security"] != "none" or options["users"]:
            # made here once: N processes making it on first run at the same time would
            # leave a key and a certificate that do not match
            host = urlparse(self.endpoints[0]).hostname or "127.0.0.1"
            await ensure_server_certificate(
                options["cert_dir"] or default_cert_dir(), APPLICATION_URI, host
            )
        self._up = self._ctx.Queue()
        with _sigint_ignored():
            for i, (url, group) in enumerate(zip(self.endpoints, self.groups, strict=True)):
                feed = self._ctx.Queue()
                p = self._ctx.Process(
                    target=serve_part,
                    args=(i, self.spec, url, group, options, feed, self._up, self.log_level),
                    name=f"plant-server-{i + 1}",
                    daemon=True,
                )
                p.start()
                self._procs.append(p)
                self._feeds.append(feed)
        try:
            await asyncio.to_thread(self._wait_started)
        except BaseException:
            await self._stop_processes()
            raise
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[Command] = asyncio.Queue()
        self._reading.set()
        self._up_reader = threading.Thread(
            target=self._read_up, args=(inbox, loop), name="split-commands", daemon=True
        )
        self._up_reader.start()
        self._commands = asyncio.create_task(self._serve_commands(inbox), name="split-commands")
        self._watch = asyncio.create_task(self._watch_processes(), name="split-watch")
        await self._deliver(self.sim.snapshot())
        self._task = asyncio.create_task(self._run(), name="plant-simulator")

    def abort_start(self) -> None:
        """Make a :meth:`start` that waits for the server processes give up (thread-safe)."""
        self._abort.set()

    def _wait_started(self) -> None:
        started: dict[int, PartStatus] = {}
        deadline = time.monotonic() + START_TIMEOUT_S
        while len(started) < len(self._procs) and time.monotonic() < deadline:
            if self._abort.is_set():
                msg = "stopped while the server processes started"
                raise FactoryTwinError(msg)
            try:
                st = self._up.get(timeout=0.5)
            except queue.Empty:
                if any(not p.is_alive() and i not in started for i, p in enumerate(self._procs)):
                    break
                continue
            if isinstance(st, PartStatus):
                started[st.part] = st
        problems = []
        for i, url in enumerate(self.endpoints):
            st = started.get(i)
            if st is None:
                problems.append(f"server process {i + 1} ({url}) did not start")
            elif st.error:
                problems.append(f"server process {i + 1} ({url}): {st.error}")
            else:
                self.urls[i] = st.url
        if problems:
            msg = "; ".join(problems)
            raise FactoryTwinError(msg)

    async def stop(self) -> None:
        """Stop the simulation and every server process (the simulation state is kept)."""
        for task in (self._task, self._watch, self._commands):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._watch = self._commands = None
        await self._stop_processes()

    async def _stop_processes(self) -> None:
        self._reading.clear()
        for feed in self._feeds:
            with contextlib.suppress(Exception):
                feed.put(None)
        await asyncio.to_thread(self._join_processes)
        if self._up_reader is not None:
            self._up_reader.join(timeout=5)
            self._up_reader = None
        for q in [*self._feeds, self._up]:
            if q is not None:
                q.close()
                q.cancel_join_thread()  # items nobody will read must not block the exit
        self._procs, self._feeds, self._up = [], [], None

    def _join_processes(self) -> None:
        deadline = time.monotonic() + STOP_GRACE_S
        for p in self._procs:
            p.join(timeout=max(0.1, deadline - time.monotonic()))
        for p in self._procs:
            if p.is_alive():
                logger.warning("%s did not stop; terminating it", p.name)
                p.terminate()
                p.join(timeout=5)
            if p.is_alive():
                p.kill()
                p.join(timeout=5)

    async def _watch_processes(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            dead = [p for p in self._procs if not p.is_alive()]
            if dead:
                for p in dead:
                    logger.error("%s stopped (exit code %s)", p.name, p.exitcode)
                self.failed.set()
                return

    # ------------------------------------------------------------------ events down

    async def _deliver(self, events: list[PlantEvent]) -> int:
        """Send each server process its tools' events, every lot move and the clock."""
        if not self._feeds:
            return 0
        parts: list[list[PlantEvent]] = [[] for _ in self._feeds]
        owner = self._owner
        for ev in events:
            if isinstance(ev, (TagUpdate, StateChange)):
                i = owner.get(ev.equipment)
                if i is not None:
                    parts[i].append(ev)
            elif isinstance(ev, LotMove):
                for p in parts:
                    p.append(ev)
        clock_s = self.now_s
        for feed, part in zip(self._feeds, parts, strict=True):
            feed.put(Batch(pack(part), clock_s))
        if events:
            self.events_applied += len(events)
            for listener in list(self._listeners):
                try:
                    listener(events)
                except Exception:
                    logger.exception("simulator listener failed")
        return len(events)

    # ------------------------------------------------------------------ commands up

    def _read_up(self, inbox: asyncio.Queue[Command], loop: asyncio.AbstractEventLoop) -> None:
        """Move the server processes' commands onto the loop (a thread: the queue blocks)."""
        up = self._up
        while self._reading.is_set():
            try:
                item = up.get(timeout=0.5)
            except queue.Empty:
                continue
            except (EOFError, OSError, ValueError):
                return
            if isinstance(item, Command):
                try:
                    loop.call_soon_threadsafe(inbox.put_nowait, item)
                except RuntimeError:  # the loop is closed
                    return

    async def _serve_commands(self, inbox: asyncio.Queue[Command]) -> None:
        while True:
            cmd = await inbox.get()
            ok = False
            try:
                if cmd.kind == "method":
                    ok = self._on_method(cmd.equipment, cmd.name)
                elif cmd.kind == "write":
                    self._on_write(cmd.equipment, cmd.name, cmd.value)
                    ok = True
            except Exception:
                logger.exception("%s %s on %s failed", cmd.kind, cmd.name, cmd.equipment)
            # the command's events (a hold that starts now) go out before the answer
            if self.sim is not None:
                await self._deliver(self.sim.drain())
            if cmd.kind == "method" and 0 <= cmd.part < len(self._feeds):
                self._feeds[cmd.part].put(Reply(cmd.request, ok))
