"""Python's cyclic garbage collection on the GUI thread only.

The window shares its process with worker threads (the OPC UA client's asyncio loop, the
embedded plant simulator's server, experiment and optimise jobs) that allocate many objects.
Left automatic, the cyclic collector runs in whichever thread crosses its threshold; when it
frees a Qt object held only by a reference cycle, the object's destructor runs in that worker
thread, takes Qt's locks and then waits for the interpreter lock the GUI thread holds while the
GUI thread waits for Qt's lock: the app freezes (seen in CI: a worker deleting a window child
while the window's event filter needed Python). :func:`collect_on_gui_thread` turns automatic
collection off and collects on a timer in the GUI thread instead (pyqtgraph's
``GarbageCollector``, which exists for exactly this).
"""

from __future__ import annotations

import gc

from pyqtgraph.util.garbage_collector import GarbageCollector

_collector: GarbageCollector | None = None


def collect_on_gui_thread(interval_s: float = 1.0) -> GarbageCollector:
    """Collect cycles on the GUI thread every ``interval_s`` (idempotent); call it from the
    GUI thread once a QApplication exists."""
    global _collector
    if _collector is None:
        _collector = GarbageCollector(interval=interval_s)
    return _collector


def restore_automatic_collection() -> None:
    """Stop the GUI-thread collector, collect what is left here and turn automatic collection
    back on (tests: the GUI part of a session is over)."""
    global _collector
    if _collector is not None:
        _collector.timer.stop()
        _collector = None
    gc.collect()
    gc.enable()
