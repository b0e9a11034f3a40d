"""Guard the simulation engine's use of SimPy's internals.

:mod:`factory_twin.sim.engine` reaches into ``simpy.Environment`` (its ``_queue``, ``_eid`` and
``_now``) and into ``simpy.Event`` (``callbacks``, ``_ok``, ``_value``, ``_defused``) so that
the fab model's timers can be plain callback entries on SimPy's own queue. If a SimPy release
changes any of that, these tests fail and say what changed; ``simpy`` is pinned in
``pyproject.toml`` to the major version tested here.
"""

from __future__ import annotations

import inspect
import itertools
import random
from collections.abc import Callable, Generator
from typing import Any

import pytest
import simpy
import simpy.core
import simpy.events

from factory_twin.errors import SimulationError
from factory_twin.sim.engine import DEFAULT_FAR_WINDOW_S, Engine, order_key

TESTED_MAJOR = 4
V = f"SimPy {simpy.__version__}"


# --------------------------------------------------------------------------- SimPy's layout


def test_simpy_major_version_is_the_tested_one() -> None:
    major = int(simpy.__version__.split(".")[0])
    assert major == TESTED_MAJOR, (
        f"{V} is installed; factory_twin.sim.engine was tested with SimPy {TESTED_MAJOR}.x "
        "(pyproject.toml pins simpy>=4.1,<5): re-run tests/sim/test_engine_guard.py and "
        "review engine.py before widening the pin"
    )


def test_environment_private_attributes_exist_with_expected_types() -> None:
    env = simpy.Environment()
    attrs = vars(env)
    for name in ("_queue", "_eid", "_now"):
        assert name in attrs, (
            f"{V}: Environment no longer has the attribute {name!r} (engine.py uses it)"
        )
    assert isinstance(attrs["_queue"], list), (
        f"{V}: Environment._queue is a {type(attrs['_queue']).__name__}, not a heapq list"
    )
    assert isinstance(attrs["_eid"], itertools.count), (
        f"{V}: Environment._eid is a {type(attrs['_eid']).__name__}, not an itertools.count"
    )
    assert attrs["_now"] == 0, f"{V}: Environment._now does not start at 0"
    env._now = 12.5
    assert env.now == 12.5, f"{V}: Environment.now no longer reads Environment._now"


def test_simpy_queue_entries_are_time_priority_id_event() -> None:
    env = simpy.Environment()
    env._now = 3.0
    ev = env.timeout(2.0)
    urgent = env.event()
    env.schedule(urgent, simpy.events.URGENT, 2.0)
    assert len(env._queue) == 2
    by_event = {id(e[-1]): e for e in env._queue}
    entry = by_event[id(ev)]
    assert len(entry) == 4, (
        f"{V}: a queue entry is no longer (time, priority, id, event): {entry!r}"
    )
    t, prio, eid, event = entry
    assert (t, prio, event) == (5.0, simpy.events.NORMAL, ev), (
        f"{V}: a queue entry is no longer (time, priority, event id, event): {entry!r}"
    )
    assert isinstance(eid, int)
    assert by_event[id(urgent)][1] == simpy.events.URGENT
    assert env._queue[0][-1] is urgent, f"{V}: URGENT no longer sorts before NORMAL at one time"


def test_priorities_are_the_integers_the_order_key_assumes() -> None:
    assert simpy.events.URGENT == 0, f"{V}: URGENT is {simpy.events.URGENT!r}, not 0"
    assert simpy.events.NORMAL == 1, f"{V}: NORMAL is {simpy.events.NORMAL!r}, not 1"
    # Environment.step reschedules an event stopped by StopSimulation at priority -1
    src = inspect.getsource(simpy.Environment.step)
    assert "EventPriority(-1)" in src, f"{V}: Environment.step no longer uses priority -1"


def test_environment_run_goes_through_step_and_schedule() -> None:
    """Engine overrides ``schedule`` and ``step``; SimPy's ``run`` must call them."""
    run_src = inspect.getsource(simpy.Environment.run)
    assert "self.step()" in run_src, f"{V}: Environment.run no longer calls self.step()"
    assert "self.schedule(" in run_src, f"{V}: Environment.run no longer calls self.schedule()"
    sig = inspect.signature(simpy.Environment.schedule)
    assert list(sig.parameters) == ["self", "event", "priority", "delay"], (
        f"{V}: Environment.schedule's signature changed to {sig}"
    )
    for cls in (simpy.events.Timeout, simpy.events.Initialize, simpy.events.Event):
        src = inspect.getsource(cls)
        assert "schedule(" in src, f"{V}: {cls.__name__} no longer schedules through env.schedule"
    step_src = inspect.getsource(simpy.Environment.step)
    for name in ("callbacks", "_ok", "_value", "_defused"):
        assert name in step_src, (
            f"{V}: Environment.step no longer uses Event.{name} (engine._fire mirrors it)"
        )


def test_event_attributes_used_by_the_engine() -> None:
    env = simpy.Environment()
    ok = env.event().succeed("v")
    assert isinstance(ok.callbacks, list), f"{V}: Event.callbacks is not a list"
    assert ok._ok is True and ok._value == "v", f"{V}: Event._ok/_value changed meaning"
    bad = env.event()
    bad.fail(ValueError("x"))
    assert bad._ok is False and isinstance(bad._value, ValueError)
    bad.defused = True
    assert hasattr(bad, "_defused"), f"{V}: Event.defused no longer sets Event._defused"
    assert issubclass(simpy.core.EmptySchedule, Exception)
    assert issubclass(simpy.core.StopSimulation, Exception)


# --------------------------------------------------------------------------- the engine


def test_engine_clock_is_simpys_clock() -> None:
    eng = Engine()
    assert eng.now == 0 and eng.now_s == 0
    eng.run_until(7.0)
    assert eng.now == 7.0, "SimPy's now must read the engine's clock"
    t = eng.timeout(3.0)
    assert any(e[0] == 10.0 and e[3] is t for e in eng.queue), "a timeout is due at now + delay"


def test_order_key_sorts_as_simpy_priority_then_id() -> None:
    rnd = random.Random(4)
    pairs = [(rnd.choice((-1, 0, 1)), rnd.randrange(10**9)) for _ in range(2000)]
    by_simpy = sorted(pairs)
    by_key = sorted(pairs, key=lambda p: order_key(*p))
    assert by_key == by_simpy


def _scenario(
    env: simpy.Environment,
    timer: Callable[[float, Callable[[], None]], None],
    log: list[tuple[float, str, str]],
) -> None:
    """Processes, a resource, an event and timers that fall due at the same times."""
    res = simpy.Resource(env, capacity=1)
    gate = env.event()

    def proc(name: str, delay: float) -> Generator[simpy.Event, Any, None]:
        log.append((env.now, name, "start"))
        yield env.timeout(delay)
        log.append((env.now, name, "woke"))
        with res.request() as req:
            yield req
            log.append((env.now, name, "got"))
            yield env.timeout(1.0)
        yield gate
        log.append((env.now, name, "gate"))

    def open_gate() -> None:
        log.append((env.now, "cb", "open"))
        gate.succeed()
        env.process(proc("p3", 0.0))  # an URGENT start among NORMAL entries due now

    def victim() -> Generator[simpy.Event, Any, None]:
        try:
            yield env.timeout(100.0)
        except simpy.Interrupt:
            log.append((env.now, "victim", "interrupted"))

    v = env.process(victim())
    timer(2.0, lambda: log.append((env.now, "cb", "a")))
    env.process(proc("p1", 2.0))
    timer(2.0, lambda: log.append((env.now, "cb", "b")))
    env.process(proc("p2", 2.0))
    timer(5.0, open_gate)
    timer(5.0, lambda: log.append((env.now, "cb", "after-open")))
    timer(4.0, lambda: v.interrupt())
    timer(4.0, lambda: log.append((env.now, "cb", "after-interrupt")))


def _simpy_timer(env: simpy.Environment) -> Callable[[float, Callable[[], None]], None]:
    def timer(delay: float, fn: Callable[[], None]) -> None:
        env.timeout(delay).callbacks.append(lambda _: fn())

    return timer


def _engine_timer(eng: Engine) -> Callable[[float, Callable[[], None]], None]:
    def timer(delay: float, fn: Callable[[], None]) -> None:
        eng.call_later(delay, lambda _: fn(), None)

    return timer


def _reference_log() -> list[tuple[float, str, str]]:
    env = simpy.Environment()
    log: list[tuple[float, str, str]] = []
    _scenario(env, _simpy_timer(env), log)
    env.run(until=20)
    return log


def test_processes_and_callback_entries_interleave_in_simpys_order() -> None:
    """The same scenario in plain SimPy (timers as timeouts) and in the engine (timers as
    callback entries): every step happens at the same time and in the same order."""
    ref = _reference_log()
    assert len(ref) == 18  # the scenario really exercises ties, interrupts and the resource
    eng = Engine()
    log: list[tuple[float, str, str]] = []
    _scenario(eng, _engine_timer(eng), log)
    eng.run_until(20.0)
    assert log == ref, f"{V}: the engine's order differs from SimPy's"


def test_simpys_own_run_works_on_the_engine() -> None:
    eng = Engine()
    log: list[tuple[float, str, str]] = []
    _scenario(eng, _engine_timer(eng), log)
    eng.run(until=20)
    assert log == _reference_log()
    assert eng.now == 20


def _far_scenario(
    env: simpy.Environment,
    timer: Callable[[float, Callable[[], None]], None],
    log: list[tuple[float, str]],
) -> None:
    def ticker() -> Generator[simpy.Event, Any, None]:
        while True:
            yield env.timeout(7.0)
            log.append((env.now, "tick"))

    env.process(ticker())
    for t in (35.0, 14.0, 35.0, 3.0, 70.0):
        timer(t, lambda t=t: log.append((env.now, f"timer{t:g}")))  # type: ignore[misc]


def test_far_timers_fire_in_order_with_processes() -> None:
    """Timers beyond the far window wait in the second heap and still fire in SimPy's order."""
    env = simpy.Environment()
    ref: list[tuple[float, str]] = []
    _far_scenario(env, _simpy_timer(env), ref)
    env.run(until=80)
    assert len(ref) == 16 and ref[2] == (14.0, "timer14")  # ties with the process's timeouts
    eng = Engine(far_window_s=10.0)
    log: list[tuple[float, str]] = []
    _far_scenario(eng, _engine_timer(eng), log)
    eng.run_until(80.0)
    assert log == ref
    assert DEFAULT_FAR_WINDOW_S > 0


def test_a_failed_process_crashes_the_run_as_in_simpy() -> None:
    eng = Engine()

    def bad() -> Generator[simpy.Event, Any, None]:
        yield eng.timeout(1.0)
        msg = "boom"
        raise ValueError(msg)

    eng.process(bad())
    with pytest.raises(ValueError, match="boom"):
        eng.run_until(5.0)


def test_run_until_refuses_to_go_back() -> None:
    eng = Engine()
    eng.run_until(5.0)
    with pytest.raises(SimulationError, match="back in time"):
        eng.run_until(4.0)


def test_engine_is_the_only_module_touching_simpy_internals() -> None:
    """No other module of the package names SimPy's private attributes."""
    from pathlib import Path

    import factory_twin

    root = Path(factory_twin.__file__).parent
    private = ("._queue", "._eid", "._now", "._ok", "._value", "._defused")
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "engine.py" and path.parent.name == "sim":
            continue
        text = path.read_text(encoding="utf-8")
        for name in private:
            if f"env{name}" in text or f"environment{name}" in text:
                offenders.append(f"{path.relative_to(root)}: {name}")
    assert not offenders, f"SimPy internals used outside sim/engine.py: {offenders}"
