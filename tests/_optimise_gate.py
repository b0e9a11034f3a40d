"""Shared by the optimise tests of the app and the Plan workspace: a real study run held with
a trial running, the way a ``factory-twin optimise`` run looks to a reader of its folder.

:class:`GateClient` has the calls of a ``distributed.Client`` the experiment executor makes,
but the replications it is given never finish: the run (a real :func:`run` on a real storage
and lock, on a thread of the test process) stays in its search loop with its trials
``running`` in ``study.db`` until it is cancelled. Every file in the folder then stays as it
is, so a test can tell that a reader wrote nothing.
"""

from __future__ import annotations

import concurrent.futures as cf
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from factory_twin.app.optimise import OptimiseCancelled, run


class GateClient:
    """A Dask-like client whose futures never finish (cancelled when the run stops)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.busy = threading.Event()  # the run has given out all it will: its storage rests
        self.futures: list[cf.Future[Any]] = []

    def scatter(self, spec: Any, broadcast: bool = False) -> Any:
        return spec

    def submit(self, fn: Any, *args: Any, pure: bool = False) -> cf.Future[Any]:
        f: cf.Future[Any] = cf.Future()
        self.futures.append(f)
        if len(self.futures) >= self.workers:
            self.busy.set()
        return f

    def cancel(self, futures: Any) -> None:
        for f in futures:
            f.cancel()


def trial_states(out: Path) -> dict[int, str]:
    """Trial number -> state in ``out``'s storage, read with sqlite3 in read-only mode."""
    con = sqlite3.connect(f"file:{out / 'study.db'}?mode=ro", uri=True, timeout=10)
    try:
        rows = con.execute("SELECT number, state FROM trials ORDER BY number").fetchall()
    finally:
        con.close()
    return {int(n): str(st) for n, st in rows}


@contextmanager
def held_run(study: Path, out: Path) -> Iterator[GateClient]:
    """Run ``study`` into ``out`` on a thread; inside, the run has given its two workers all
    the replications it will (its first trial, with two replications per trial; with one,
    its first two simulated trials) and they stay stored RUNNING, the folder locked by the
    run, nothing more written. On leaving, the run is cancelled and ended."""
    gate = GateClient(workers=2)
    stop = threading.Event()
    errors: list[BaseException] = []

    def go() -> None:
        try:
            run(study, out, executor=gate, processes=2, cancel=stop, select=False)
        except OptimiseCancelled:
            pass
        except BaseException as exc:  # handed to the test below
            errors.append(exc)

    thread = threading.Thread(target=go, name="held-optimise-run", daemon=True)
    thread.start()
    try:
        if not gate.busy.wait(120):
            msg = f"the study never filled its workers: {errors}"
            raise AssertionError(msg)
        yield gate
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive(), "the held run did not end when cancelled"
    assert not errors, errors
