"""The :class:`PlantServer` facade: life cycle, hooks and the public API of the server.

The work is done by the modules beside this one (see :mod:`factory_twin.opcua.server`);
this class owns the asyncua ``Server`` and wires them together.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from asyncua import Server

from factory_twin.errors import ConnectionFailed
from factory_twin.model.events import AlarmEvent, PlantEvent, ShelvingState
from factory_twin.model.schema import Equipment, PlantSpec
from factory_twin.opcua import _asyncua_adapter as adapter
from factory_twin.opcua.nodesets import CompanionSpecs, load_companion_specs
from factory_twin.opcua.security import APPLICATION_URI, configure_security, security_policies
from factory_twin.opcua.server.address_space import PlantNodes, build_address_space
from factory_twin.opcua.server.alarms import AlarmConditions, PlantClock
from factory_twin.opcua.server.constants import (
    DEFAULT_ENDPOINT,
    NAMESPACE_URI,
    STATE_TAGS,
    AlarmHook,
    MethodHook,
    WriteHook,
)
from factory_twin.opcua.server.drill_space import DrillHook, DrillSpace
from factory_twin.opcua.server.fab import FabCounters, FabVariables
from factory_twin.opcua.server.methods import PlantMethods
from factory_twin.opcua.server.values import ValuePath

logger = logging.getLogger(__name__)


class PlantServer:
    """An OPC UA server that exposes a plant and the events fed to it.

    Parameters
    ----------
    spec
        The plant.
    endpoint
        URL to listen on (``opc.tcp://host:port/path``); port 0 picks a free port, see
        :attr:`endpoint_url` after :meth:`start`.
    security
        ``"none"``, ``"sign"`` or ``"sign-encrypt"`` (Basic256Sha256). Only the endpoints of that
        mode are offered, so a client with another mode is refused.
    users
        ``{name: password}`` (plain or ``sha256:<hex>``); when given, anonymous sessions are
        refused. See :mod:`factory_twin.opcua.security`.
    cert_dir
        Where the server's certificate and key live (made on first run); default the user
        data directory.
    trust_dir
        Directory of trusted client certificates; None accepts any client certificate.
    allow_client_writes
        Let clients write process values (the Parameters variables). Off by default: a
        write is answered ``BadUserAccessDenied``. Accepted writes go to :attr:`on_write`.
    load_companion_specs
        Load DI/IA/Machinery (shipped with factory_twin, see :mod:`factory_twin.opcua.nodesets`);
        whether they loaded is :attr:`companion_specs_loaded`.
    equipment
        Serve only these equipment ids (a sub-server of a split plant); default all.
    """

    def __init__(
        self,
        spec: PlantSpec,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        security: str = "none",
        users: dict[str, str] | None = None,
        cert_dir: Path | None = None,
        trust_dir: Path | None = None,
        allow_client_writes: bool = False,
        load_companion_specs: bool = True,
        equipment: Iterable[str] | None = None,
        name: str = "factory_twin plant simulator",
    ) -> None:
        security_policies(security)  # validates the mode early
        u = urlparse(endpoint)
        if u.scheme != "opc.tcp" or not u.hostname:
            msg = f"endpoint must look like opc.tcp://host:port/path, got {endpoint!r}"
            raise ValueError(msg)
        self.spec = spec
        self.security = security
        self.users = dict(users) if users else None
        self.cert_dir = cert_dir
        self.trust_dir = trust_dir
        self.allow_client_writes = allow_client_writes
        self.load_companion_specs = load_companion_specs
        self.name = name
        self._endpoint = endpoint
        ids = None if equipment is None else list(equipment)
        if ids is not None:
            known = {e.id for e in spec.equipment}
            unknown = [i for i in ids if i not in known]
            if unknown:
                msg = f"unknown equipment ids: {', '.join(unknown)}"
                raise ValueError(msg)
        self.equipment: list[Equipment] = [
            e for e in spec.equipment if ids is None or e.id in set(ids)
        ]

        self.on_method: MethodHook | None = None
        self.on_write: WriteHook | None = None
        self.on_alarm: AlarmHook | None = None
        self.alarm_log: list[AlarmEvent] = []
        self.drill: DrillSpace | None = None
        self.build_time_s = 0.0  # start(): asyncua init, nodesets, our nodes
        self.address_space_s = 0.0  # our nodes only
        self.node_count = 0
        self.companion = CompanionSpecs(
            problem="" if load_companion_specs else "not requested (load_companion_specs=False)"
        )
        self.fab = FabCounters()

        self._server: Server | None = None
        self._ns = 0
        self._clock = PlantClock()
        self._alarms = AlarmConditions(self._clock, self._alarm_raised)
        self._methods = PlantMethods(self._alarms, lambda: self.on_method)
        self._nodes = PlantNodes()
        self._values: ValuePath | None = None
        self._explicit_mode: set[str] = set()
        self._wafers_per_lot = {p.id: p.wafers_per_lot for p in spec.products}
        self._running = False

    # ------------------------------------------------------------------ properties

    @property
    def server(self) -> Server:
        """The underlying asyncua server (RuntimeError before :meth:`start`)."""
        if self._server is None:
            msg = "PlantServer is not started"
            raise RuntimeError(msg)
        return self._server

    @property
    def namespace_index(self) -> int:
        """Index of ``urn:factory-twin:plant`` in this server's namespace array."""
        return self._ns

    @property
    def endpoint_url(self) -> str:
        """The URL clients connect to (with the real port once started)."""
        if self._server is None or not self._running:
            return self._endpoint
        u = urlparse(self._endpoint)
        port = adapter.listening_port(self._server) or u.port
        return f"opc.tcp://{u.hostname}:{port}{u.path or '/'}"

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._running

    @property
    def companion_specs_loaded(self) -> bool:
        """True when the OPC UA DI, IA and Machinery companion nodesets are served.

        False before :meth:`start`, when they were not requested, or when they could not be
        found or imported; :attr:`companion` ``.problem`` then says why. Without them the
        machines use factory_twin's own types (same structure, namespace
        ``urn:factory-twin:plant``), so generic Machinery clients will not recognise them.
        """
        return self.companion.loaded

    def node_id(self, equipment: str, tag: str) -> str:
        """Return the string NodeId of a tag, e.g. ``ns=2;s=ETCH-01.Parameters.rf_power``."""
        if tag in STATE_TAGS:
            return f"ns={self._ns};s={equipment}.State.{STATE_TAGS[tag]}"
        return f"ns={self._ns};s={equipment}.Parameters.{tag}"

    def active_alarms(self) -> list[AlarmEvent]:
        """Return the alarms that are active or not yet acknowledged, newest state of each."""
        return self._alarms.active()

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Build the address space and start listening.

        Raises
        ------
        ConnectionFailed
            If the endpoint's port cannot be bound.
        """
        if self._running:
            return
        t0 = time.perf_counter()
        srv = Server()
        await srv.init()
        srv.set_endpoint(self._endpoint)
        srv.set_server_name(self.name)
        await srv.set_application_uri(APPLICATION_URI)  # names our simulator to any client
        await srv.set_build_info(
            "urn:factory-twin", "factory_twin", self.name, _version(), "0", datetime.now(UTC)
        )
        host = urlparse(self._endpoint).hostname or "127.0.0.1"
        await configure_security(
            srv,
            self.security,
            cert_dir=self.cert_dir,
            users=self.users,
            trust_dir=self.trust_dir,
            host=host,
        )
        self._server = srv
        if self.load_companion_specs:
            self.companion = await load_companion_specs(srv)
        self._ns = await srv.register_namespace(NAMESPACE_URI)
        # The build makes ~4 nodes a tag; pausing the cyclic GC (which would rescan the
        # standard address space's ~100k objects again and again) halves its time.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        t_build = time.perf_counter()
        try:
            self._build(srv)
            self.address_space_s = time.perf_counter() - t_build
        finally:
            if gc_was_enabled:
                gc.enable()
        self._alarms.attach(srv)
        self._values = ValuePath(
            srv,
            self._nodes,
            self._alarms,
            self._clock,
            FabVariables(self._nodes.fab_nodes, self.fab.values()),
            self._wafers_per_lot,
            lambda: self.on_write,
            self._explicit_mode,
        )
        self.build_time_s = time.perf_counter() - t0
        # asyncua logs a bind failure with a traceback before raising it; the raised error,
        # turned into one clear ConnectionFailed message below, says it all.
        try:
            with adapter.quiet_server_start():
                await srv.start()
        except OSError as exc:
            self._server = None
            msg = f"cannot listen on {self._endpoint}: {exc.strerror or exc}"
            raise ConnectionFailed(msg) from None
        self._running = True
        logger.info(
            "plant simulator server on %s: %d machines, %d tags, %d nodes, built in %.2f s "
            "(companion specs %s)",
            self.endpoint_url,
            len(self.equipment),
            len(self._nodes.tags),
            self.node_count,
            self.build_time_s,
            "loaded" if self.companion.loaded else f"not loaded: {self.companion.problem}",
        )

    def _build(self, srv: Server) -> None:
        self._nodes = build_address_space(
            srv,
            self._ns,
            self.spec,
            self.equipment,
            self.companion,
            self._alarms,
            allow_client_writes=self.allow_client_writes,
            fab_initial=self.fab.values(),
        )
        self.node_count = self._nodes.node_count
        self._methods.bind(srv, self._nodes.machine_by_node, self._nodes.method_names)

    async def stop(self) -> None:
        """Stop the server (clients see the connection close)."""
        srv, self._server = self._server, None
        self._running = False
        if srv is not None:
            try:
                await adapter.stop_server(srv)
            except Exception:  # a half-started server must still release its socket
                logger.exception("error while stopping the OPC UA server")

    async def __aenter__(self) -> PlantServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ updates

    async def apply(self, events: Iterable[PlantEvent], clock_s: float | None = None) -> int:
        """Write the values and states in ``events``; raise and clear alarms.

        ``clock_s`` is the source's clock when it made the batch (a simulation's ``now``);
        without it the plant clock (``Fab.PlantClock``) is the newest record time.

        Lot moves update the fab-level counters (:attr:`fab`, served under ``Fab``);
        AlarmEvent and ConnectionStatus records are ignored: this server makes its own alarms
        from limits and states. The loop yields to the event loop every
        few hundred writes so subscriptions keep being served.

        Returns
        -------
        int
            The number of values written.
        """
        if not self._running or self._values is None:
            return 0
        return await self._values.apply(events, clock_s, self.fab)

    def restore_fab(self, counters: FabCounters) -> None:
        """Continue counting from ``counters`` (e.g. those of a previous server of the same
        run); call before :meth:`start` or between batches."""
        self.fab = counters.copy()
        self._clock.now_s = max(self._clock.now_s, counters.plant_clock_s)

    async def enable_drill(
        self,
        drill_id: str,
        name: str,
        briefing: str,
        speed: float,
        hook: DrillHook,
        on_acknowledge: Callable[[str, str, str], bool],
    ) -> DrillSpace:
        """Mark the address space a simulation in drill mode and add the Drill object.

        ``hook`` serves the Drill methods; ``on_acknowledge(equipment, code, comment)`` is
        called for every client Acknowledge, in the caller's context (see
        :func:`~factory_twin.opcua.server.drill_space.trainee_name`), and refuses it
        (``BadUserAccessDenied``) by returning False; in drill mode an alarm
        another trainee acknowledged may be acknowledged again (answered Good). See
        :mod:`factory_twin.opcua.server.drill_space` for the nodes.
        """
        space = DrillSpace(self.server, self._ns, hook)
        await space.build(drill_id, name, briefing, speed)
        self._alarms.ack_hook = on_acknowledge
        self.drill = space
        return space

    async def acknowledge(self, alarm_id: str, comment: str = "", user: str = "") -> bool:
        """Acknowledge an alarm from the server side (as the ResetAlarm method does)."""
        return await self._alarms.acknowledge(alarm_id, comment, user)

    async def shelve(
        self,
        alarm_id: str,
        kind: ShelvingState,
        duration_s: float = 0.0,
        comment: str = "",
        user: str = "",
    ) -> bool:
        """Shelve an alarm from the server side (as the ShelvingState methods do).

        ``kind`` is ``TIMED`` (for ``duration_s`` seconds of wall time), ``ONE_SHOT`` (until
        it returns to normal) or ``UNSHELVED``. False if there is no such alarm.
        """
        c = self._alarms.by_id(alarm_id)
        if c is None:
            return False
        await self._alarms.shelve(c, kind, duration_s, comment, user)
        return True

    def _alarm_raised(self, rec: AlarmEvent) -> None:
        self.alarm_log.append(rec)
        if self.on_alarm is not None:
            try:
                self.on_alarm(rec)
            except Exception:
                logger.exception("on_alarm hook failed")


def _version() -> str:
    from factory_twin import __version__

    return str(__version__)
