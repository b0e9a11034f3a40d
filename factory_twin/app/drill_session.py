"""The app's side of a drill (no Qt): join a drill as a trainee, or run and follow it as a
trainer. The Train workspace is built on this API.

:class:`DrillSession` wraps a :class:`~factory_twin.opcua.drill_client.DrillClient` on an
:class:`~factory_twin.opcua.loop.AsyncioThread`, in the Controller's style: every call returns a
:class:`concurrent.futures.Future` at once; what the server sends (drill events, alarms) is
queued and handed over by :meth:`DrillSession.drain` on the GUI thread's timer, and the
:attr:`DrillSession.notices_ready` signal fires (on the loop thread) when some arrived.

**Live-plant guard**: :meth:`DrillSession.join` refuses, with a message saying why, any
endpoint that is not our plant simulator in drill mode (product URI ``urn:factory-twin``,
``Fab.Simulation.DrillMode`` true). Drills never act on a live plant.

While the connection is lost (see :class:`~factory_twin.app.drill_link.LinkKeeper`, which
reconnects it) the trainee actions raise DrillRefused at once, naming the server
(:meth:`DrillSession.require_link`).

:func:`start_drill_server` starts a drill server on loopback (a free port) in its own thread,
for the trainer's "start the drill" and for tests.

Examples
--------
>>> server = start_drill_server(spec, "etch_helium_leak")       # doctest: +SKIP
>>> s = DrillSession(server.endpoint_url, "ann")                # doctest: +SKIP
>>> s.join().result()                                            # doctest: +SKIP
'ann'
>>> s.open_procedure("ETCH-02", "etch-chamber-wet-clean").result()  # doctest: +SKIP
"""

from __future__ import annotations

import concurrent.futures
import socket
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from psygnal import Signal

from factory_twin.app.drill_server import DrillSimulator
from factory_twin.model.drills import find_drill
from factory_twin.model.schema import PlantSpec
from factory_twin.opcua.drill_client import DrillClient, DrillNotice, DrillRefused, DrillStatus
from factory_twin.opcua.loop import AsyncioThread

__all__ = [
    "DrillNotice",
    "DrillRefused",
    "DrillSession",
    "DrillStatus",
    "start_drill_server",
]


class DrillSession:
    """One app's connection to a drill (trainee or trainer).

    Parameters
    ----------
    url
        The drill server's endpoint.
    name
        The trainee's name (the session name; scores are kept under it).
    user, password
        Log in with a user instead of an anonymous named session.
    thread
        The asyncio thread to run on (the Controller's ``loop``); default a new one.
    trainer
        Follow and steer the drill (pause, speed, inject) without joining as a trainee.
    token
        The token an earlier Join under ``name`` returned (the app saves it): joining a name
        already taken needs it (:attr:`client` ``.token`` holds the token after joining).
    """

    notices_ready = Signal()  # emitted on the loop thread when notices were queued

    def __init__(
        self,
        url: str,
        name: str,
        *,
        user: str | None = None,
        password: str | None = None,
        thread: AsyncioThread | None = None,
        trainer: bool = False,
        token: str = "",
    ) -> None:
        self.url = url
        self.name = name
        self.client = DrillClient(
            url, name, user=user, password=password, trainer=trainer, token=token
        )
        self._own_thread = thread is None
        self.loop = thread if thread is not None else AsyncioThread(name="drill-session")
        self.loop.start()
        self.joined_as = ""

    @property
    def joined(self) -> bool:
        """True once :meth:`join` succeeded (and until :meth:`leave`)."""
        return bool(self.joined_as) and self.client.connected

    def _submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        return self.loop.submit(coro)

    def require_link(self) -> None:
        """Raise DrillRefused (why) unless joined over a working connection: an action
        taken while the connection is lost is refused at once, naming the server."""
        if self.client.link_up:
            return
        if not self.joined_as:
            msg = "not connected to a drill"
            raise DrillRefused(msg)
        raise DrillRefused(self.client.lost_message())

    def join(self) -> concurrent.futures.Future[str]:
        """Connect and join; the future gives the name scored, or raises DrillRefused (why)."""

        async def run() -> str:
            name = await self.client.connect()
            self.joined_as = name
            return name

        return self._submit(run())

    def leave(self, timeout_s: float = 10.0) -> None:
        """Disconnect (the server keeps the score; joining again under the name resumes it)."""
        if self.loop.is_running():
            self.loop.run(self.client.disconnect(), timeout=timeout_s)
        self.joined_as = ""
        if self._own_thread:
            self.loop.stop()

    def drain(self, max_items: int = 10_000) -> list[DrillNotice]:
        """Return the drill notices and alarms received since the last drain (GUI thread)."""
        return self.client.drain(max_items)

    def status(self) -> concurrent.futures.Future[DrillStatus]:
        """Read the drill's clock, state, speed, trainees, faults and scores."""
        return self._submit(self.client.status())

    # trainee actions

    def acknowledge(
        self, equipment: str, code: str, comment: str = ""
    ) -> concurrent.futures.Future[None]:
        """Acknowledge alarm ``code`` of ``equipment`` with ``comment``."""
        self.require_link()
        return self._submit(self.client.acknowledge(equipment, code, comment))

    def hold(self, equipment: str) -> concurrent.futures.Future[bool]:
        """Hold a tool (False if refused)."""
        self.require_link()
        return self._submit(self.client.machine(equipment, "Hold"))

    def resume(self, equipment: str) -> concurrent.futures.Future[bool]:
        """Resume a held tool (False if refused, e.g. interlocked)."""
        self.require_link()
        return self._submit(self.client.machine(equipment, "Resume"))

    def open_procedure(self, equipment: str, procedure: str) -> concurrent.futures.Future[None]:
        """Report that the trainee opened ``procedure`` for ``equipment``."""
        self.require_link()
        return self._submit(self.client.open_procedure(equipment, procedure))

    def sign_off_step(
        self, equipment: str, procedure: str, step: int
    ) -> concurrent.futures.Future[None]:
        """Sign off 1-based ``step`` of ``procedure``."""
        self.require_link()
        return self._submit(self.client.sign_off_step(equipment, procedure, step))

    def call_maintenance(self, equipment: str, note: str = "") -> concurrent.futures.Future[None]:
        """Call maintenance to ``equipment`` (``OHT``: the transport system)."""
        self.require_link()
        return self._submit(self.client.call_maintenance(equipment, note))

    def prioritise_lot(self, lot: str, priority: int = 100) -> concurrent.futures.Future[None]:
        """Give ``lot`` a priority."""
        self.require_link()
        return self._submit(self.client.prioritise_lot(lot, priority))

    def reroute_lot(self, lot: str, equipment: str) -> concurrent.futures.Future[None]:
        """Ask for ``lot`` to go to ``equipment``."""
        self.require_link()
        return self._submit(self.client.reroute_lot(lot, equipment))

    # trainer

    def pause(self) -> concurrent.futures.Future[Any]:
        """Trainer: pause the drill (the plant stops)."""
        return self._submit(self.client.call("Pause"))

    def resume_drill(self) -> concurrent.futures.Future[Any]:
        """Trainer: resume a paused drill."""
        return self._submit(self.client.call("Resume"))

    def set_speed(self, speed: float) -> concurrent.futures.Future[Any]:
        """Trainer: plant seconds per wall second."""
        return self._submit(self.client.call("SetSpeed", float(speed)))

    def finish(self) -> concurrent.futures.Future[Any]:
        """Trainer: end the drill now."""
        return self._submit(self.client.call("Finish"))

    def release_name(self, trainee: str) -> concurrent.futures.Future[None]:
        """Trainer: release ``trainee``'s name (the server forgets its token)."""
        return self._submit(self.client.release_name(trainee))

    def inject(
        self,
        fault: str,
        equipment: str,
        tag: str = "",
        value: float = 0.0,
        duration_s: float = 0.0,
    ) -> concurrent.futures.Future[None]:
        """Trainer: inject an ad-hoc fault now (e.g. on a tool picked in the 3-D view)."""
        return self._submit(self.client.inject(fault, equipment, tag, value, duration_s))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_drill_server(
    spec: PlantSpec,
    drill_id: str,
    *,
    endpoint: str | None = None,
    speed: float | None = None,
    record_dir: Path | None = None,
    **options: Any,
) -> DrillSimulator:
    """Start drill ``drill_id`` of ``spec`` served on loopback (a free port by default), in
    its own thread; stop it with ``sim.stop_in_thread()``. Raises ConfigError for an unknown
    drill."""
    drill = find_drill(spec, drill_id)
    url = endpoint or f"opc.tcp://127.0.0.1:{_free_port()}/factory_twin/"
    sim = DrillSimulator(spec, drill, endpoint=url, speed=speed, record_dir=record_dir, **options)
    sim.run_in_thread()
    return sim
