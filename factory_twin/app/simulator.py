"""The embedded plant simulator: a live simulation served over OPC UA.

:class:`EmbeddedPlantSimulator` runs :class:`factory_twin.sim.live.LiveSimulation` in real
time times ``speed`` and feeds its events to a :class:`factory_twin.opcua.server.PlantServer`,
all on one asyncio loop. The server's Hold/Resume methods reach the simulation, so a client
(the desktop app, UaExpert, node-opcua) sees the plant react.

The simulation advances in fixed steps of ``tick_s * speed`` plant seconds, one step every
``tick_s`` wall seconds, catching up (at most :data:`MAX_CATCH_UP` steps at once) when the
loop was busy. Fixed steps make a run reproducible for a given seed. Beyond that the wall
time is skipped and the simulation runs slower than asked: :attr:`EmbeddedPlantSimulator.pace`
gives the speed achieved over the last ``pace_window_s`` wall seconds
(:mod:`factory_twin.app.sim_pace`; the main window's status bar shows it), and the log says
so at most once a minute, with a count.
:class:`factory_twin.app.split.SplitPlantSimulator` (``factory-twin serve --split N``) steps
the same way but serves the plant from N server processes fed by this one simulation.

Examples
--------
From asyncio::

    sim = EmbeddedPlantSimulator(spec, endpoint="opc.tcp://127.0.0.1:4840/factory_twin/")
    await sim.start()
    ...
    await sim.stop()

From a GUI thread::

    sim = EmbeddedPlantSimulator(spec, endpoint=url)
    loop = sim.run_in_thread()          # an AsyncioThread running the simulator
    sim.submit(sim.hold_async("ETCH-01")).result()
    sim.stop_in_thread()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from factory_twin.app.sim_pace import LagLog, Pace, PaceMeter
from factory_twin.model.events import (
    VEHICLE_PREFIX,
    VEHICLE_TAGS,
    PlantEvent,
    TagUpdate,
    vehicle_name,
)
from factory_twin.model.schema import Endpoint, OpcUaBinding, PlantSpec
from factory_twin.opcua.loop import AsyncioThread
from factory_twin.opcua.server import DEFAULT_ENDPOINT, FabCounters, PlantServer
from factory_twin.opcua.server.amhs_space import AmhsVehicles

if TYPE_CHECKING:
    from factory_twin.sim.oht_fast import Fleet

logger = logging.getLogger(__name__)

MAX_CATCH_UP = 8  # steps done at once after a stall; beyond that the simulation falls behind

EventListener = Callable[[list[PlantEvent]], None]

SIMULATOR_ENDPOINT = "embedded-simulator"  # endpoint id added for a plant that lists none


def bind_to_simulator(spec: PlantSpec, url: str) -> tuple[PlantSpec, dict[str, str]]:
    """Point a plant's client at the embedded simulator serving it on ``url``.

    The simulator serves every tool of the plant under ``Machines/<id>``, also the tools the
    plant file binds to no OPC UA server (a plant drawn for planning, such as
    ``tests/data/mini_plant.yaml``). A client of the plant as written would bind none of their
    tags; this binds each such tool by the simulator's browse path convention on the plant's
    first endpoint (one named :data:`SIMULATOR_ENDPOINT` is added when it lists none). Tools
    with their own bindings are left as they are.

    Parameters
    ----------
    spec
        The plant (not changed).
    url
        The simulator's endpoint URL.

    Returns
    -------
    tuple[PlantSpec, dict[str, str]]
        The plant for the client, and the endpoint overrides that send every endpoint of it
        to ``url``.

    Examples
    --------
    >>> from factory_twin.model.config import load_plant
    >>> spec = load_plant("tests/data/mini_plant.yaml").spec
    >>> [e.opcua for e in spec.equipment]
    [None, None, None]
    >>> bound, overrides = bind_to_simulator(spec, "opc.tcp://127.0.0.1:4841/factory_twin/")
    >>> sorted({e.opcua.endpoint for e in bound.equipment}), overrides
    (['sim'], {'sim': 'opc.tcp://127.0.0.1:4841/factory_twin/'})
    """
    endpoints = list(spec.endpoints)
    if not endpoints:
        endpoints = [Endpoint(id=SIMULATOR_ENDPOINT, url=url)]
    target = endpoints[0].id
    equipment = [
        e if e.opcua is not None else e.model_copy(update={"opcua": OpcUaBinding(endpoint=target)})
        for e in spec.equipment
    ]
    bound = spec.model_copy(update={"endpoints": endpoints, "equipment": equipment})
    return bound, {ep.id: url for ep in endpoints}


class EmbeddedPlantSimulator:
    """A plant simulation served by an OPC UA plant simulator server.

    Parameters
    ----------
    spec
        The plant.
    endpoint
        Where the server listens.
    speed
        Plant seconds per wall second (60 = one plant minute a second). 0 pauses.
    seed
        Seed of the simulation's random streams.
    tick_s
        Wall seconds between simulation steps.
    tag_period_s
        Plant seconds between tag samples; default ``max(1, speed * tick_s)``, i.e. about one
        sample of each tag per step, whatever the speed.
    equipment
        Serve only these tools (the whole plant is still simulated); default all.
    pace_window_s
        Wall seconds over which the achieved speed (:attr:`pace`) is measured.
    **server_options
        Passed to :class:`PlantServer` (``security``, ``users``, ``cert_dir``, ``trust_dir``,
        ``allow_client_writes``, ``load_companion_specs``).
    """

    def __init__(
        self,
        spec: PlantSpec,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        speed: float = 60.0,
        seed: int = 0,
        tick_s: float = 0.25,
        tag_period_s: float | None = None,
        equipment: Iterable[str] | None = None,
        security: str = "none",
        users: dict[str, str] | None = None,
        cert_dir: Path | None = None,
        trust_dir: Path | None = None,
        allow_client_writes: bool = False,
        load_companion_specs: bool = True,
        force_duration_s: float = 600.0,
        pace_window_s: float = 10.0,
    ) -> None:
        if speed < 0:
            msg = f"speed must be >= 0, got {speed}"
            raise ValueError(msg)
        if tick_s <= 0:
            msg = f"tick_s must be > 0, got {tick_s}"
            raise ValueError(msg)
        self.spec = spec
        self.seed = seed
        self.tick_s = tick_s
        self._speed = float(speed)
        self.tag_period_s = tag_period_s if tag_period_s is not None else max(1.0, speed * tick_s)
        self.force_duration_s = force_duration_s
        self._equipment = None if equipment is None else list(equipment)
        self._server_options: dict[str, Any] = {
            "security": security,
            "users": users,
            "cert_dir": cert_dir,
            "trust_dir": trust_dir,
            "allow_client_writes": allow_client_writes,
            "load_companion_specs": load_companion_specs,
            "equipment": self._equipment,
        }
        self._endpoint = endpoint
        self.server: PlantServer | None = None
        self.sim: Any = None
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[EventListener] = []
        self._thread: AsyncioThread | None = None
        self._own_thread = False
        self._vehicles: AmhsVehicles | None = None  # the OHT vehicles' nodes (amhs 'oht')
        self._fab: FabCounters | None = None  # the fab counters of the last server, kept
        self._heard: dict[tuple[int, str], Any] = {}  # vehicle values the listeners last got
        self.steps = 0
        self.events_applied = 0
        self.behind_s = 0.0
        self._meter = PaceMeter(pace_window_s)
        self.lag_log = LagLog(logger)

    # ------------------------------------------------------------------ properties

    @property
    def endpoint_url(self) -> str:
        """The server's URL (the configured one before :meth:`start`)."""
        return self.server.endpoint_url if self.server is not None else self._endpoint

    @property
    def speed(self) -> float:
        """Plant seconds per wall second; set it at any time (0 pauses)."""
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if value < 0:
            msg = f"speed must be >= 0, got {value}"
            raise ValueError(msg)
        self._speed = float(value)

    @property
    def pace(self) -> Pace | None:
        """The asked and the achieved speed while running (None when stopped); any thread."""
        return self._meter.pace if self.running else None

    @property
    def now_s(self) -> float:
        """Plant time of the simulation (0 before the first start)."""
        return float(self.sim.now_s) if self.sim is not None else 0.0

    @property
    def running(self) -> bool:
        """True while the server runs and the simulation advances."""
        return self._task is not None and not self._task.done()

    def add_listener(self, listener: EventListener) -> None:
        """Call ``listener(events)`` (on the loop thread) with every batch the server gets,
        and with the OHT vehicles' values that changed (tag updates of ``VEHICLE_PREFIX +
        "OHT-001"`` ... stamped with the plant clock; all of them at the first step after)."""
        self._listeners.append(listener)
        self._heard = {}

    def remove_listener(self, listener: EventListener) -> None:
        """Stop calling ``listener``."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    # ------------------------------------------------------------------ life cycle

    def _make_simulation(self) -> Any:
        from factory_twin.sim.live import LiveSimulation

        return LiveSimulation(self.spec, seed=self.seed, tag_period_s=self.tag_period_s)

    async def start(self) -> None:
        """Start the server and the simulation (again, after :meth:`stop`: same plant time)."""
        if self.running:
            return
        if self.sim is None:
            self.sim = self._make_simulation()
        server = PlantServer(self.spec, endpoint=self._endpoint, **self._server_options)
        server.on_method = self._on_method
        server.on_write = self._on_write
        if self._fab is not None:  # restarted: the same run goes on counting
            server.restore_fab(self._fab)
        await server.start()
        self.server = server
        self._vehicles = self._serve_vehicles(server)
        await self._deliver(self.sim.snapshot())
        self._meter.reset()
        self._task = asyncio.create_task(self._run(), name="plant-simulator")

    def _serve_vehicles(self, server: PlantServer) -> AmhsVehicles | None:
        """Publish the OHT vehicles under Transport/AMHS when the plant runs its fleet."""
        fleet = self.fleet
        if fleet is None:
            return None
        links = [lk.id for lk in fleet.amhs.links]
        space = AmhsVehicles(server.server, server.namespace_index, len(fleet.vehicles), links)
        space.build()
        return space

    @property
    def fleet(self) -> Fleet | None:
        """The simulation's OHT fleet (amhs model 'oht'), None when lots move the simple way."""
        model = getattr(self.sim, "model", None)
        return getattr(model, "oht", None)

    async def stop(self) -> None:
        """Stop advancing and stop the server (the simulation state is kept)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        server, self.server = self.server, None
        if server is not None:
            self._fab = server.fab.copy()
            await server.stop()

    async def __aenter__(self) -> EmbeddedPlantSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_t = loop.time() + self.tick_s
        self._meter.add(loop.time(), self.now_s, self._speed)
        while True:
            await asyncio.sleep(max(0.0, next_t - loop.time()))
            due = int((loop.time() - next_t) // self.tick_s) + 1
            steps = min(due, MAX_CATCH_UP)
            if due > MAX_CATCH_UP:
                lost = (due - MAX_CATCH_UP) * self.tick_s
                self.behind_s += lost
                self.lag_log.skipped(loop.time(), lost, self._meter.pace)
            next_t += due * self.tick_s
            for _ in range(steps):
                await self.step(self._speed * self.tick_s)
            self._meter.add(loop.time(), self.now_s, self._speed)

    async def step(self, dt_s: float) -> int:
        """Advance the simulation ``dt_s`` plant seconds now and serve what happened."""
        if dt_s <= 0 or self.sim is None:
            return 0
        try:
            events = self.sim.advance(dt_s)
        except Exception:
            # A simulation bug must not take the server down with it; it is logged and the
            # plant stands still until the next step.
            logger.exception("simulation step failed at t=%.1f s", self.now_s)
            return 0
        self.steps += 1
        try:
            return await self._deliver(events)
        except Exception:
            logger.exception("serving the events of the step at t=%.1f s failed", self.now_s)
            return 0

    async def _deliver(self, events: list[PlantEvent]) -> int:
        if self.server is None:
            return 0
        fleet = self.fleet
        heard: list[PlantEvent] = []
        if self._vehicles is not None and fleet is not None:
            rows = fleet.vehicle_rows()
            await self._vehicles.write(rows)
            if self._listeners:
                heard = self._vehicle_updates(rows)
            if self._vehicles.congestion_due(self.now_s):
                entries, blocked = fleet.link_load()
                await self._vehicles.write_congestion(self.now_s, entries, blocked)
        if not events:  # a quiet step: the plant clock still moves
            await self.server.apply((), clock_s=self.now_s)
            self._notify(heard)
            return 0
        n = await self.server.apply(events, clock_s=self.now_s)
        self.events_applied += len(events)
        self._notify([*events, *heard] if heard else events)
        return n

    def _vehicle_updates(self, rows: list[tuple[int, float, float, str, str]]) -> list[PlantEvent]:
        """The vehicles' values that changed since the listeners last got them, as tag updates
        stamped with the plant clock (what a recording of the simulator keeps of its fleet)."""
        out: list[PlantEvent] = []
        t = self.now_s
        for i, *values in rows:
            for tag, value in zip(VEHICLE_TAGS, values, strict=True):
                if self._heard.get((i, tag)) != value:
                    self._heard[(i, tag)] = value
                    out.append(TagUpdate(f"{VEHICLE_PREFIX}{vehicle_name(i)}", tag, value, t))
        return out

    def _notify(self, events: list[PlantEvent]) -> None:
        if not events:
            return
        for listener in list(self._listeners):
            try:
                listener(events)
            except Exception:
                logger.exception("simulator listener failed")

    # ------------------------------------------------------------------ commands

    def _on_method(self, equipment: str, method: str) -> bool:
        if self.sim is None:
            return False
        if method == "Hold":
            return bool(self.sim.hold(equipment))
        if method == "Resume":
            return bool(self.sim.resume(equipment))
        return method == "ResetAlarm"

    def _on_write(self, equipment: str, tag: str, value: Any) -> None:
        if self.sim is None:
            return
        try:
            v = float(value)
        except (TypeError, ValueError):
            return
        self.sim.force_tag(equipment, tag, v, self.force_duration_s)

    def hold(self, equipment: str) -> bool:
        """Hold a tool (call on the loop thread, or use :meth:`submit`)."""
        return self._on_method(equipment, "Hold")

    def resume(self, equipment: str) -> bool:
        """Resume a held tool."""
        return self._on_method(equipment, "Resume")

    def inject_breakdown(self, equipment: str, duration_s: float) -> None:
        """Break a tool down for ``duration_s`` plant seconds (a drill fault)."""
        if self.sim is not None:
            self.sim.inject_breakdown(equipment, duration_s)

    def force_tag(self, equipment: str, tag: str, value: float, duration_s: float) -> None:
        """Hold a tag at ``value`` for ``duration_s`` plant seconds (a drill fault)."""
        if self.sim is not None:
            self.sim.force_tag(equipment, tag, value, duration_s)

    # ------------------------------------------------------------------ threads

    def run_in_thread(
        self, thread: AsyncioThread | None = None, timeout: float = 120.0
    ) -> AsyncioThread:
        """Start on ``thread`` (or a new :class:`AsyncioThread`); wait until serving.

        Raises whatever :meth:`start` raises (e.g. ConnectionFailed for a taken port).
        """
        if thread is None:
            thread = AsyncioThread(name="plant-simulator")
            self._own_thread = True
        thread.start()
        self._thread = thread
        thread.run(self.start(), timeout=timeout)
        return thread

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        """Run a coroutine on the simulator's thread (after :meth:`run_in_thread`)."""
        if self._thread is None:
            coro.close()
            msg = "the simulator is not running in a thread"
            raise RuntimeError(msg)
        return self._thread.submit(coro)

    def call(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        """Call ``fn(*args)`` on the simulator's thread (e.g. ``sim.call(sim.hold, "ETCH-01")``)."""

        async def run() -> Any:
            return fn(*args)

        return self.submit(run())

    def stop_in_thread(self, timeout: float = 30.0) -> None:
        """Stop the simulator started by :meth:`run_in_thread` (and its own thread)."""
        thread = self._thread
        if thread is None:
            return
        try:
            if thread.is_running():
                thread.run(self.stop(), timeout=timeout)
        finally:
            self._thread = None
            if self._own_thread:
                thread.stop()
                self._own_thread = False
