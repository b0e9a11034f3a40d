"""The worker-thread plumbing the Plan jobs share: progress, end states, cancel, crash."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import pytest

from factory_twin.app.worker_job import (
    CANCELLED,
    COMPLETE,
    FAILED,
    IDLE,
    RUNNING,
    WorkerJob,
)
from factory_twin.errors import ConfigError


class Stopped(Exception):
    """The counting job's cancel."""


@dataclass
class CountJob(WorkerJob[int, int]):
    """Counts to ``n`` (reporting each step) and returns the sum; ``fail`` picks a failure."""

    thread_name: ClassVar[str] = "count"
    cancelled_error: ClassVar[type[Exception]] = Stopped
    cancelled_message: ClassVar[str] = "stopped: kept the steps"

    n: int
    fail: str = ""
    hold: threading.Event | None = None
    seen: int = 0
    total: int | None = None

    def _run(self, progress: Callable[[int], None], cancel: threading.Event) -> int:
        for i in range(1, self.n + 1):
            if self.hold is not None:
                self.hold.wait(10)
            if cancel.is_set():
                raise Stopped
            progress(i)
        if self.fail == "config":
            raise ConfigError(["plant.yaml:3: tools: must be positive"])
        if self.fail == "crash":
            raise ZeroDivisionError("division by zero")
        return self.n * (self.n + 1) // 2

    def _on_progress(self, report: int) -> None:
        self.seen = report

    def _on_end(self, result: int | None) -> None:
        self.total = result


def _finish(job: CountJob) -> list[int]:
    assert job.wait(10)
    return job.poll()


def test_positional_fields_stay_the_subclass_own() -> None:
    job = CountJob(4, "config")
    assert (job.n, job.fail, job.state, job.error) == (4, "config", IDLE, "")
    with pytest.raises(TypeError):
        CountJob(4, state=RUNNING)  # type: ignore[call-arg]


def test_complete_job_reports_every_step_then_its_result() -> None:
    job = CountJob(5)
    job.start()
    assert job.running
    got = _finish(job)
    assert got == [1, 2, 3, 4, 5]
    assert (job.state, job.total, job.seen, job.error) == (COMPLETE, 15, 5, "")
    assert not job.running
    assert job.finished >= job.started > 0
    assert job.elapsed_s == pytest.approx(job.finished - job.started)


def test_state_changes_only_when_polled() -> None:
    job = CountJob(2)
    job.start()
    assert job.wait(10)
    assert job.running and job.total is None
    job.poll()
    assert job.state == COMPLETE


def test_cancel_ends_cancelled_without_result() -> None:
    hold = threading.Event()
    job = CountJob(1000, hold=hold)
    job.start()
    job.cancel()
    hold.set()
    got = _finish(job)
    assert (job.state, job.total, job.error) == (CANCELLED, None, "stopped: kept the steps")
    assert len(got) < 1000


@pytest.mark.parametrize(
    ("fail", "message"),
    [
        ("config", "plant.yaml:3: tools: must be positive"),
        ("crash", "ZeroDivisionError: division by zero"),
    ],
)
def test_failure_reaches_the_poller(fail: str, message: str) -> None:
    job = CountJob(3, fail)
    job.start()
    got = _finish(job)
    assert got == [1, 2, 3]
    assert (job.state, job.total, job.error) == (FAILED, None, message)


def test_a_prepare_error_starts_nothing() -> None:
    @dataclass
    class Refuses(CountJob):
        def _prepare(self) -> None:
            raise ConfigError(["study.yaml:1: base: not found"])

    job = Refuses(3)
    with pytest.raises(ConfigError):
        job.start()
    assert job.state == IDLE and job.wait(0)


def test_jobs_do_not_share_queues() -> None:
    a, b = CountJob(2), CountJob(3)
    a.start()
    b.start()
    assert _finish(a) == [1, 2] and _finish(b) == [1, 2, 3]
    assert (a.total, b.total) == (3, 6)


def test_elapsed_is_nan_before_start() -> None:
    job = CountJob(1)
    assert job.elapsed_s != job.elapsed_s
    job.start()
    time.sleep(0.01)
    assert job.elapsed_s > 0
    _finish(job)
