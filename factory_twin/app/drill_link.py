"""Keep a drill connection alive (no Qt): notice a lost connection, reconnect with back-off.

A :class:`LinkKeeper` watches a :class:`~factory_twin.app.drill_session.DrillSession`'s
client on the session's asyncio thread. When the connection is lost (the client's watchdog
saw the server go, or a call failed on a dead connection: the client's ``lost_reason``), it
reconnects to the same URL (a trainer follows again, a trainee joins again with its token),
first after ``first_delay_s``, then doubling the wait up to ``max_delay_s``, for as long as it
runs; :meth:`LinkKeeper.reconnect_now` tries at once. :meth:`LinkKeeper.status` gives a
:class:`LinkStatus` any thread may read, and :func:`lost_text` says it in words: the Train
workspace shows it for the trainer's desk
(:class:`~factory_twin.app.drill_trainer.TrainerDesk`), the trainee's window for the
trainee's session (:meth:`~factory_twin.app.controller.Controller.join_drill`, which joins
again with the trainee's token). After a reconnect the client fetches what it missed: the
drill events and the plant's alarm transitions (an alarm that rose and cleared meanwhile too)
the server logged while the connection was down, each once and marked ``caught_up``
(:class:`~factory_twin.opcua.drill_client.DrillClient`); the connection counts as back only
once they are queued.

A failed attempt is tried again, with one exception: a Join the server refuses because the
trainee's name is now another trainee's
(:class:`~factory_twin.opcua.drill_client.DrillNameTaken`: the trainer released the name
while the connection was down and someone else joined under it). No later attempt can
succeed, so the keeper stops there; :attr:`LinkStatus.taken_name` then names the name, and
:func:`lost_text` says to join again under another name (:func:`another_name` suggests one).

Examples
--------
>>> keeper = LinkKeeper(session)          # doctest: +SKIP
>>> keeper.start()                        # doctest: +SKIP
>>> keeper.status().up                    # doctest: +SKIP
True
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from factory_twin.opcua.drill_client import DrillNameTaken

if TYPE_CHECKING:
    from factory_twin.app.drill_session import DrillSession

logger = logging.getLogger(__name__)

__all__ = ["LinkKeeper", "LinkStatus", "another_name", "lost_text"]


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """A drill connection as last seen.

    ``up``: connected and working. Once lost: ``reason`` (why), ``lost_for_s`` (seconds
    since), ``attempts`` (reconnects failed since), ``last_error`` (why the last one failed),
    ``retry_in_s`` (seconds to the next attempt; None while one is under way, or when no
    attempt follows). ``reconnects`` counts the times the connection came back.
    ``taken_name``: the trainee's name, once the server answered a rejoin that another
    trainee holds it now (no more attempts follow); '' otherwise.
    """

    url: str
    up: bool
    reason: str = ""
    lost_for_s: float = 0.0
    attempts: int = 0
    last_error: str = ""
    retry_in_s: float | None = None
    reconnects: int = 0
    taken_name: str = ""


def lost_text(link: LinkStatus) -> str:
    """A lost connection in words: the server, why, since when, and when the next try is.

    Examples
    --------
    >>> text = lost_text(LinkStatus("opc.tcp://h:4840/", False, "refused", 6.2, 2, "", 3.6))
    >>> text[:67]
    'Lost the connection to the drill server opc.tcp://h:4840/ (refused)'
    >>> text[68:]
    '6 s ago: reconnect attempt 3 in 4 s (Reconnect tries now).'
    >>> taken = LinkStatus("opc.tcp://h:4840/", False, "refused", 9, 3, taken_name="ann")
    >>> "9 s ago: your name 'ann' is now taken by someone else" in lost_text(taken)
    True
    """
    if link.taken_name:
        when = (
            f"your name {link.taken_name!r} is now taken by someone else in this drill (the "
            "trainer released it and another trainee joined under it), so no reconnect is "
            "tried any more: join again under another name"
        )
    elif link.retry_in_s is None:
        when = "reconnecting now…"
    else:
        when = (
            f"reconnect attempt {link.attempts + 1} in {link.retry_in_s:.0f} s "
            "(Reconnect tries now)"
        )
    return (
        f"Lost the connection to the drill server {link.url} ({link.reason}) "
        f"{link.lost_for_s:.0f} s ago: {when}."
    )


def another_name(name: str, taken: Iterable[str] = ()) -> str:
    """A name to suggest to a trainee whose ``name`` someone else took: ``name-2`` (or the
    first of ``name-3``, ``name-4``... not in ``taken``).

    Examples
    --------
    >>> another_name("ann")
    'ann-2'
    >>> another_name("ann", ["ann", "ann-2", "bob"])
    'ann-3'
    """
    held = set(taken)
    k = 2
    while f"{name}-{k}" in held:
        k += 1
    return f"{name}-{k}"


class LinkKeeper:
    """Reconnect a drill session whose connection was lost (see the module doc).

    Parameters
    ----------
    session
        The session to keep connected (joined already).
    first_delay_s, max_delay_s
        The wait after the first failed attempt, and the most it grows to (doubling).
    check_s
        How often the connection is looked at while it is up.
    """

    def __init__(
        self,
        session: DrillSession,
        *,
        first_delay_s: float = 1.0,
        max_delay_s: float = 15.0,
        check_s: float = 0.25,
    ) -> None:
        self.session = session
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.check_s = check_s
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._lost_at: float | None = None  # monotonic time of the loss (None: up)
        self._reason = ""
        self._attempts = 0
        self._last_error = ""
        self._retry_at: float | None = None
        self._taken = ""  # our name, once the server said another trainee holds it now
        self.reconnects = 0

    # ------------------------------------------------------------------ any thread

    def start(self) -> None:
        """Start watching (on the session's thread; call it from any other thread)."""
        self.session.loop.run(self.start_here(), timeout=10)

    async def start_here(self) -> None:
        """Start watching, from a coroutine running on the session's thread."""
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="drill-link")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop watching (an attempt under way is abandoned)."""

        async def cancel() -> None:
            task, self._task = self._task, None
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

        if self.session.loop.is_running():
            self.session.loop.run(cancel(), timeout=timeout_s)

    @property
    def restoring(self) -> bool:
        """True from the moment a lost connection is noticed until it is wholly back (the
        client may say its link is up a moment before the rejoin and catch-up are done)."""
        return self._lost_at is not None

    @property
    def gave_up(self) -> bool:
        """True once the keeper stopped trying: our name is another trainee's now."""
        return bool(self._taken)

    def reconnect_now(self) -> None:
        """Try to reconnect at once (when lost; no effect while the connection is up, nor
        once the keeper gave up)."""
        wake = self._wake
        if wake is not None and self.session.loop.is_running():
            self.session.loop.call_soon(wake.set)

    def status(self) -> LinkStatus:
        """The connection as last seen (see :class:`LinkStatus`)."""
        url = self.session.url
        lost_at = self._lost_at
        if lost_at is None and self.session.client.link_up:
            return LinkStatus(url, True, reconnects=self.reconnects)
        now = time.monotonic()
        retry = self._retry_at
        return LinkStatus(
            url,
            False,
            self._reason or self.session.client.lost_reason or "connection closed",
            now - lost_at if lost_at is not None else 0.0,
            self._attempts,
            self._last_error,
            None if retry is None else max(0.0, retry - now),
            self.reconnects,
            self._taken,
        )

    # ------------------------------------------------------------------ the loop thread

    async def _sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if :meth:`reconnect_now` is called."""
        wake = self._wake
        assert wake is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), seconds)
        wake.clear()

    async def _run(self) -> None:
        client = self.session.client
        while True:
            while client.link_up:
                await asyncio.sleep(self.check_s)
            self._lost_at = time.monotonic()
            self._reason = client.lost_reason or "connection closed"
            self._attempts = 0
            self._last_error = ""
            logger.warning("lost the drill connection to %s: %s", client.url, self._reason)
            delay = self.first_delay_s
            while True:
                self._retry_at = None
                try:
                    await self.session.client.reconnect()
                except asyncio.CancelledError:
                    raise
                except DrillNameTaken as exc:  # our name is another's now: never again
                    self._attempts += 1
                    self._last_error = str(exc)
                    self._taken = self.session.joined_as or client.name
                    logger.warning(
                        "not reconnecting to %s any more: the name %r is another trainee's now",
                        client.url,
                        self._taken,
                    )
                    return
                except Exception as exc:  # the server still away: wait, then again
                    self._attempts += 1
                    self._last_error = str(exc)
                    self._retry_at = time.monotonic() + delay
                    await self._sleep(delay)
                    delay = min(delay * 2, self.max_delay_s)
                    continue
                break
            gap = time.monotonic() - self._lost_at
            logger.info("drill connection to %s back after %.1f s", client.url, gap)
            self.reconnects += 1
            self._lost_at = None
            self._reason = ""
            self._retry_at = None
