"""A plant server fed from another process: one part of a split plant.

``factory-twin serve --split N`` runs ONE plant simulation in the parent process and N
server processes, each serving a share of the tools (see :mod:`factory_twin.app.split`).
This module is the server side of that arrangement and knows nothing of the simulation:

* :func:`serve_part` is the main function of a server process. It starts a
  :class:`~factory_twin.opcua.server.PlantServer` for its tools only, reports
  :class:`PartStatus` upstream, then applies every :class:`Batch` it is fed, in order.
* A client's Hold, Resume or ResetAlarm on one of its tools is sent upstream as a
  :class:`Command` and answered by a :class:`Reply` on the feed; the OPC UA call returns only
  then, with the simulation's answer (``Good`` or ``BadInvalidState``). The simulation's
  events that the command caused (a StateChange to ``engineering``) come down the feed before
  the reply, so they are served by the time the client gets its answer.
* An accepted client write (``--allow-writes``) is sent upstream as a :class:`Command`
  without a reply; the simulation forces the tag and the value comes back down the feed.

The feed is a ``multiprocessing`` queue of :class:`Batch` and :class:`Reply` records
(``None`` stops the process); the upstream queue, shared by all parts, carries
:class:`PartStatus` and :class:`Command` records. A process whose parent has died stops too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing as mp
import queue
import signal
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from factory_twin.model.events import PlantEvent, Quality, TagUpdate
from factory_twin.opcua.server.plant_server import PlantServer

if TYPE_CHECKING:
    from factory_twin.model.schema import PlantSpec

logger = logging.getLogger(__name__)

POLL_S = 0.5  # how often a blocked reader looks whether it should stop or its parent is gone
REPLY_TIMEOUT_S = 30.0  # a method call the simulation does not answer fails after this
_GOOD = Quality.GOOD


@dataclass(frozen=True, slots=True)
class Batch:
    """Plant events for one part's tools (and every lot move), with the simulation's clock.

    ``events`` is packed by :func:`pack` (a good-quality TagUpdate travels as a tuple).
    """

    events: list[Any]
    clock_s: float


def pack(events: Iterable[PlantEvent]) -> list[Any]:
    """Return ``events`` ready to pickle: plain good TagUpdates as 4-tuples, others as they are.

    Pickling a slotted dataclass costs about 6 us each way, a tuple under 1 us; tag updates
    are nearly all the traffic. :func:`unpack` reverses it.
    """
    return [
        (ev.equipment, ev.tag, ev.value, ev.source_ts)
        if type(ev) is TagUpdate
        and ev.quality is _GOOD
        and ev.server_ts is None
        and ev.status == "Good"
        else ev
        for ev in events
    ]


def unpack(items: Iterable[Any]) -> list[PlantEvent]:
    """Return the events that :func:`pack` packed."""
    return [TagUpdate(*it) if type(it) is tuple else it for it in items]


@dataclass(frozen=True, slots=True)
class Reply:
    """The simulation's answer to the :class:`Command` ``request`` of this part."""

    request: int
    ok: bool


@dataclass(frozen=True, slots=True)
class Command:
    """A client's method call (``kind`` "method") or write ("write") on a tool of ``part``.

    Method calls carry a ``request`` number and wait for a :class:`Reply`; writes do not.
    """

    part: int
    request: int
    kind: str
    equipment: str
    name: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class PartStatus:
    """A server process started (``error`` empty, ``url`` where it listens) or failed."""

    part: int
    url: str
    error: str = ""


class _Upstream:
    """The part's hooks: forwards method calls and writes to the simulation process."""

    def __init__(self, part: int, up: Any) -> None:
        self.part = part
        self.up = up
        self.pending: dict[int, asyncio.Future[bool]] = {}
        self._ids = itertools.count(1)

    async def method(self, equipment: str, method: str) -> bool:
        request = next(self._ids)
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.pending[request] = fut
        try:
            self.up.put(Command(self.part, request, "method", equipment, method))
            return await asyncio.wait_for(fut, REPLY_TIMEOUT_S)
        finally:
            self.pending.pop(request, None)

    def write(self, equipment: str, tag: str, value: Any) -> None:
        self.up.put(Command(self.part, 0, "write", equipment, tag, value))

    def reply(self, r: Reply) -> None:
        fut = self.pending.get(r.request)
        if fut is not None and not fut.done():
            fut.set_result(r.ok)


def serve_part(
    part: int,
    spec: PlantSpec,
    endpoint: str,
    equipment: list[str],
    server_options: dict[str, Any],
    feed: Any,
    up: Any,
    log_level: int = logging.WARNING,
) -> None:
    """Serve ``equipment`` of ``spec`` on ``endpoint``, fed by ``feed``, until told to stop.

    The main function of a server process of a split plant (run it with a ``spawn``
    multiprocessing context). ``feed`` and ``up`` are multiprocessing queues; the process stops
    on ``None`` from the feed, on SIGTERM, or when its parent process is gone. SIGINT is
    ignored: the parent, which gets the terminal's Ctrl-C, stops its parts itself.
    """
    logging.basicConfig(
        level=log_level,
        format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s",
    )
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise SystemExit(
        asyncio.run(_serve_part(part, spec, endpoint, equipment, server_options, feed, up))
    )


async def _serve_part(
    part: int,
    spec: PlantSpec,
    endpoint: str,
    equipment: list[str],
    server_options: dict[str, Any],
    feed: Any,
    up: Any,
) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    server = PlantServer(spec, endpoint=endpoint, equipment=equipment, **server_options)
    upstream = _Upstream(part, up)
    server.on_method = upstream.method
    server.on_write = upstream.write
    try:
        await server.start()
    except Exception as exc:
        up.put(PartStatus(part, endpoint, str(exc) or type(exc).__name__))
        return 1
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    done = threading.Event()
    reader = threading.Thread(
        target=_read_feed, args=(feed, inbox, loop, done), name="feed-reader", daemon=True
    )
    reader.start()
    up.put(PartStatus(part, server.endpoint_url))
    consumer = asyncio.create_task(_consume(server, inbox, upstream, stop))
    try:
        await stop.wait()
    finally:
        done.set()
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        await server.stop()
    return 0


def _read_feed(
    feed: Any, inbox: asyncio.Queue[Any], loop: asyncio.AbstractEventLoop, done: threading.Event
) -> None:
    """Move feed items onto the loop (a thread: multiprocessing queues block)."""
    parent = mp.parent_process()
    while not done.is_set():
        try:
            item = feed.get(timeout=POLL_S)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                logger.warning("the simulation process is gone; stopping")
                item = None
            else:
                continue
        except (EOFError, OSError):
            item = None
        try:
            loop.call_soon_threadsafe(inbox.put_nowait, item)
        except RuntimeError:  # the loop is closed
            return
        if item is None:
            return


async def _consume(
    server: PlantServer, inbox: asyncio.Queue[Any], upstream: _Upstream, stop: asyncio.Event
) -> None:
    """Apply the feed in order; batches that queued up meanwhile are applied as one."""
    while True:
        item = await inbox.get()
        events: list[PlantEvent] = []
        clock_s: float | None = None
        while True:
            if item is None:
                stop.set()
                return
            if isinstance(item, Batch):
                events.extend(unpack(item.events))
                clock_s = item.clock_s
            elif isinstance(item, Reply):
                # whatever came before the reply is served before the caller hears back
                if clock_s is not None:
                    await _apply(server, events, clock_s)
                    events, clock_s = [], None
                upstream.reply(item)
            if inbox.empty():
                break
            item = inbox.get_nowait()
        if clock_s is not None:
            await _apply(server, events, clock_s)


async def _apply(server: PlantServer, events: list[PlantEvent], clock_s: float) -> None:
    try:
        await server.apply(events, clock_s=clock_s)
    except Exception:
        # a bad batch must not take this part of the plant down with it
        logger.exception("serving a batch at t=%.1f s failed", clock_s)
