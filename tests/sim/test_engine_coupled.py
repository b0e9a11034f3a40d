"""A coupled component (:meth:`Engine.couple`) runs its own queue of events between the
engine's entries, in exactly the order they would have had on the engine's queue as entries
scheduled with :meth:`Engine.call_last_at` (after the engine's other entries at equal times)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from heapq import heappop, heappush

import pytest

from factory_twin.errors import SimulationError
from factory_twin.sim.engine import Engine


class Toy:
    """A component with its own heap of (time, number, label); each of its events may schedule
    a follow-up of its own and an engine entry, so its bound is its next event."""

    def __init__(self, env: Engine, log: list[tuple[float, str]], rng: random.Random) -> None:
        self.env, self.log, self.rng = env, log, rng
        self.heap: list[tuple[float, int, str]] = []
        self.due_t = self.bound_t = math.inf
        self.events_used = 0
        env.couple(self)

    def add(self, at: float, label: str) -> None:
        heappush(self.heap, (at, self.events_used, label))
        self.events_used += 1
        self._due()

    def _due(self) -> None:
        self.due_t = self.bound_t = self.heap[0][0] if self.heap else math.inf

    def fire(self, limit_t: float) -> None:
        """Run the next event if it is due before ``limit_t`` (each may call back: one at a
        time)."""
        if self.heap and self.heap[0][0] < limit_t:
            t, _, label = heappop(self.heap)
            self.env.now_s = t
            run(self.env, self.log, self.rng, label, self.add)
        self._due()


def run(
    env: Engine,
    log: list[tuple[float, str]],
    rng: random.Random,
    label: str,
    own: Callable[[float, str], None],
) -> None:
    """One event: log it; a component event may schedule one of its own (on whole seconds, so
    times tie with the engine's) and an engine timer."""
    log.append((env.now_s, label))
    if label.startswith("c") and len(log) < 400:
        n = len(log)
        own(env.now_s + rng.randrange(0, 4), f"c{n}")
        if rng.random() < 0.5:
            env.call_later(rng.randrange(0, 3), lambda _: log.append((env.now_s, f"e{n}")), None)


def scenario(coupled: bool, seed: int, via_step: bool) -> tuple[list[tuple[float, str]], int]:
    env = Engine()
    log: list[tuple[float, str]] = []
    rng = random.Random(seed)
    own: Callable[[float, str], None]
    if coupled:
        own = Toy(env, log, rng).add
    else:

        def on_engine(at: float, label: str) -> None:
            env.call_last_at(at, lambda _: run(env, log, rng, label, on_engine), None)

        own = on_engine

    for k in range(5):
        own(float(k), f"c-start{k}")
        env.call_at(float(k), lambda label: log.append((env.now_s, label)), f"e-start{k}")
    if via_step:
        env.run(until=200)
    else:
        env.run_until(200.0)
    return log, env.events_scheduled()


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("via_step", [False, True])
def test_a_coupled_component_orders_its_events_as_the_engine_would(
    seed: int, via_step: bool
) -> None:
    ref, events = scenario(False, seed, via_step)
    assert len(ref) > 300 and len({t for t, _ in ref}) < len(ref)  # many ties
    assert scenario(True, seed, via_step) == (ref, events)


def test_one_coupled_component_per_engine() -> None:
    env = Engine()
    Toy(env, [], random.Random(0))
    with pytest.raises(SimulationError, match="one coupled component"):
        Toy(env, [], random.Random(0))
