"""Long work on a worker thread for a window that must stay live (no Qt).

:class:`WorkerJob` is the plumbing the Plan workspace's jobs share
(:class:`~factory_twin.app.experiment_job.ExperimentJob`,
:class:`~factory_twin.app.optimise_job.OptimiseJob`): :meth:`~WorkerJob.start` runs the
subclass's :meth:`~WorkerJob._run` on a daemon thread; its progress reports and its end go
into a queue that the GUI thread drains on its timer (:meth:`~WorkerJob.poll`);
:meth:`~WorkerJob.cancel` sets the event the run watches. A job ends ``complete`` (with its
result), ``cancelled`` or ``failed`` (with the message); the state changes only in
:meth:`~WorkerJob.poll`, on the thread that reads it.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from factory_twin.errors import FactoryTwinError

logger = logging.getLogger(__name__)

IDLE, RUNNING, COMPLETE, CANCELLED, FAILED = "idle", "running", "complete", "cancelled", "failed"

ProgressT = TypeVar("ProgressT")
ResultT = TypeVar("ResultT")


class _NotCancellable(Exception):
    """Never raised: the cancel exception of a job that names none."""


@dataclass(frozen=True)
class _End:
    """The worker's last report: how it ended, its result (``complete`` only), the message."""

    state: str
    result: Any
    error: str


@dataclass
class WorkerJob(Generic[ProgressT, ResultT]):
    """Work running on a worker thread (see the module notes).

    A subclass is a dataclass with its own (init) fields; the fields here are not
    constructor arguments, so a subclass's positional arguments stay its own. It sets the
    class attributes and implements :meth:`_run`; it may refine :meth:`_prepare` (before
    the thread starts, on the caller's thread), :meth:`_on_progress` and :meth:`_on_end`
    (both on the thread that calls :meth:`poll`).
    """

    thread_name: ClassVar[str] = "worker"
    """The worker thread's name."""
    cancelled_error: ClassVar[type[Exception]] = _NotCancellable
    """The exception :meth:`_run` raises when it stops on a cancel."""
    cancelled_message: ClassVar[str] = "cancelled"
    """The job's ``error`` after a cancel (what was kept)."""

    state: str = field(default=IDLE, init=False)
    error: str = field(default="", init=False)
    started: float = field(default=0.0, init=False)
    finished: float = field(default=0.0, init=False)
    _queue: queue.SimpleQueue[Any] = field(
        default_factory=queue.SimpleQueue, init=False, repr=False
    )
    _cancel: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)

    # ------------------------------------------------------------------ what a job does

    def _run(self, progress: Callable[[ProgressT], None], cancel: threading.Event) -> ResultT:
        """The work (worker thread): report with ``progress``, stop when ``cancel`` is set."""
        raise NotImplementedError

    def _prepare(self) -> None:
        """Get ready before the thread starts (caller's thread); may raise to start nothing."""

    def _on_progress(self, report: ProgressT) -> None:
        """Take one progress report (the thread that polls)."""

    def _on_end(self, result: ResultT | None) -> None:
        """Take the end (the thread that polls); ``result`` is None unless ``complete``."""

    # ------------------------------------------------------------------ the plumbing

    def start(self) -> None:
        """:meth:`_prepare`, then run the work on a worker thread."""
        self._prepare()
        self.state = RUNNING
        self.started = time.perf_counter()
        self._thread = threading.Thread(target=self._work, name=self.thread_name, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            res = self._run(self._queue.put, self._cancel)
        except self.cancelled_error:
            self._queue.put(_End(CANCELLED, None, self.cancelled_message))
        except FactoryTwinError as exc:
            self._queue.put(_End(FAILED, None, str(exc)))
        except Exception as exc:  # a worker's crash must reach the window, not kill the thread
            logger.exception("%s failed", self.thread_name)
            self._queue.put(_End(FAILED, None, f"{type(exc).__name__}: {exc}"))
        else:
            self._queue.put(_End(COMPLETE, res, ""))

    def cancel(self) -> None:
        """Ask the run to stop (it ends ``cancelled`` within a fraction of a second)."""
        self._cancel.set()

    @property
    def running(self) -> bool:
        """True until the worker has reported its end (and :meth:`poll` has read it)."""
        return self.state == RUNNING

    def poll(self) -> list[ProgressT]:
        """Drain the worker's reports (GUI thread); return the progress reports read."""
        got: list[ProgressT] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _End):
                self.state, self.error = item.state, item.error
                self.finished = time.perf_counter()
                self._on_end(item.result)
            else:
                self._on_progress(item)
                got.append(item)
        return got

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker thread ends (tests, scripts); True if it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def elapsed_s(self) -> float:
        """Seconds since the start (until the end once ended); NaN before the start."""
        if not self.started:
            return math.nan
        return (self.finished or time.perf_counter()) - self.started
