"""A private asyncio event loop in a background thread.

The desktop app's GUI thread must never block on network I/O, so every OPC UA object (the
client links, the embedded plant simulator server) lives on one asyncio loop that runs in a
daemon thread named ``opcua-loop``. Other threads hand work to it with :meth:`AsyncioThread.submit`
and get a :class:`concurrent.futures.Future` back (asyncua's ``sync.ThreadLoop`` does the
same, but blocks on every call).

Examples
--------
>>> loop = AsyncioThread()
>>> loop.start()
>>> async def answer() -> int:
...     return 42
>>> loop.submit(answer()).result(timeout=5)
42
>>> loop.stop()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


class AsyncioThread:
    """Run an asyncio event loop in a daemon thread.

    Parameters
    ----------
    name
        Thread name (shows in debuggers and ``threading.enumerate()``).
    """

    def __init__(self, name: str = "opcua-loop") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop (RuntimeError before :meth:`start` or after :meth:`stop`)."""
        if self._loop is None or not self.is_running():
            msg = f"asyncio thread {self._name!r} is not running"
            raise RuntimeError(msg)
        return self._loop

    def is_running(self) -> bool:
        """Return True while the thread and its loop run."""
        return (
            self._thread is not None
            and self._thread.is_alive()
            and self._loop is not None
            and self._loop.is_running()
        )

    def start(self) -> None:
        """Start the thread and wait until its loop runs (no-op if already running)."""
        if self.is_running():
            return
        self._started.clear()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        self._started.wait()

    def _run(self) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._started.set)
        try:
            self._loop.run_forever()
        finally:
            self._close_loop()

    def _close_loop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        # Cancel what is still pending so that no task is destroyed while pending.
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    def submit(self, coro: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
        """Schedule ``coro`` on the loop from any thread; return its future.

        Raises
        ------
        RuntimeError
            If the loop is not running (the coroutine is closed, not leaked).
        """
        try:
            loop = self.loop
        except RuntimeError:
            coro.close()
            raise
        return asyncio.run_coroutine_threadsafe(coro, loop)

    def run(self, coro: Coroutine[Any, Any, _T], timeout: float | None = 60.0) -> _T:
        """Run ``coro`` on the loop and wait for its result (never call from the loop itself)."""
        return self.submit(coro).result(timeout)

    def call_soon(self, callback: Any, *args: Any) -> None:
        """Call a plain function on the loop thread, thread-safely."""
        self.loop.call_soon_threadsafe(callback, *args)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop, cancel its remaining tasks and join the thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if thread.is_alive() and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if thread.is_alive():
            logger.warning("asyncio thread %r did not stop within %.0f s", self._name, timeout)
            return
        self._thread = None
        self._loop = None

    def __enter__(self) -> AsyncioThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
