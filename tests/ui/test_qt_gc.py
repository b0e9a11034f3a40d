"""Cycles are collected on the GUI thread, never in a worker thread (ui/qt_gc.py)."""

from __future__ import annotations

import gc
import threading

from PySide6.QtTest import QTest

from factory_twin.ui.qt_gc import collect_on_gui_thread


class _Cycle:
    """Half of a reference cycle that notes the thread it is freed in."""

    freed_in: list[str] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _Cycle.freed_in.append(threading.current_thread().name)


def test_a_cycle_dropped_while_a_worker_allocates_is_freed_on_the_gui_thread(qapp) -> None:
    collect_on_gui_thread()
    assert not gc.isenabled()
    gc.collect()
    _Cycle.freed_in.clear()
    _Cycle()  # unreachable at once, freed only by the cyclic collector

    def allocate() -> None:  # live containers far past the collector's thresholds
        hold = [[] for _ in range(200_000)]
        assert len(hold) == 200_000

    worker = threading.Thread(target=allocate, name="worker")
    worker.start()
    worker.join()
    assert _Cycle.freed_in == []  # the worker's allocations collected nothing
    keep = [[] for _ in range(5_000)]  # past the first generation's threshold
    QTest.qWait(1600)  # the GUI thread's timer collects
    assert _Cycle.freed_in == [threading.main_thread().name]
    assert len(keep) == 5_000
