"""The embedded simulator's achieved speed, measured on a real run that cannot keep up.

The run is the mini plant served on 127.0.0.1; it is made to fall behind by a slow event
listener (the simulator calls its listeners on its own loop, between steps), the way a slow
machine makes every step take longer than the wall time it stands for.
"""

from __future__ import annotations

import doctest
import logging
import time
from pathlib import Path

import pytest
from _wait import wait_for

from factory_twin.app import sim_pace
from factory_twin.app.controller import free_port
from factory_twin.app.sim_pace import LagLog, Pace, PaceMeter
from factory_twin.app.simulator import EmbeddedPlantSimulator
from factory_twin.model.config import load_plant

MINI = Path(__file__).resolve().parents[1] / "data" / "mini_plant.yaml"
SPEED = 60.0
STEP_WALL_S = 0.25  # what the slow listener costs every step: five ticks of 0.05 s


def slow_listener(events: list) -> None:
    time.sleep(STEP_WALL_S)


def make_simulator() -> EmbeddedPlantSimulator:
    return EmbeddedPlantSimulator(
        load_plant(MINI).spec,
        endpoint=f"opc.tcp://127.0.0.1:{free_port()}/pace/",
        speed=SPEED,
        tick_s=0.05,
        pace_window_s=1.0,
        load_companion_specs=False,
    )


def test_a_lagging_run_reports_its_achieved_speed_and_logs_once(caplog):
    sim = make_simulator()
    assert sim.pace is None  # not running
    caplog.set_level(logging.WARNING, logger="factory_twin.app.simulator")
    sim.add_listener(slow_listener)
    sim.run_in_thread()
    try:
        wait_for(lambda: sim.pace is not None and sim.pace.lagging, 20, "the run to lag")
        t0, wall0 = sim.now_s, time.monotonic()
        time.sleep(2.5)
        measured = (sim.now_s - t0) / (time.monotonic() - wall0)
        pace = sim.pace
        assert pace is not None and pace.speed == SPEED and pace.achieved is not None
        # about 3 s of plant time per 0.25 s step: 12x, not 60x
        assert pace.achieved < 0.5 * SPEED
        assert pace.achieved == pytest.approx(measured, rel=0.5)
        assert pace.text().startswith(f"speed 60x (running at {sim_pace.times(pace.achieved)}x")
        assert pace.text().endswith("the machine cannot keep up)")
        assert sim.behind_s > 1.0  # wall time was skipped many times ...
        lines = [r.getMessage() for r in caplog.records if "cannot keep up" in r.getMessage()]
        assert len(lines) == 1 == sim.lag_log.lines  # ... and said once (once a minute)
        assert "plant simulator cannot keep up at speed 60: skipped" in lines[0]
        # the listener gone, the run catches up and the pace says so
        sim.remove_listener(slow_listener)
        wait_for(lambda: sim.pace is not None and not sim.pace.lagging, 20, "the run to catch up")
        pace = sim.pace
        assert pace.achieved is not None and pace.achieved >= 0.9 * SPEED
        assert pace.text() == "speed 60x"
        # a new speed starts the window anew: nothing is said about it until measured
        sim.speed = 30.0
        wait_for(lambda: sim.pace is not None and sim.pace.speed == 30.0, 5, "the new speed")
        assert not sim.pace.lagging
    finally:
        sim.stop_in_thread()
    assert sim.pace is None


def test_the_meter_forgets_what_left_its_window():
    meter = PaceMeter(window_s=4.0)
    for wall in range(5):  # 10x for 4 s
        meter.add(wall, 10.0 * wall, speed=60.0)
    assert meter.pace.achieved == pytest.approx(10.0) and meter.pace.lagging
    for wall in range(5, 10):  # then 60x: after a window the slow part is gone
        meter.add(wall, 40.0 + 60.0 * (wall - 4), speed=60.0)
    assert meter.pace.achieved == pytest.approx(60.0) and not meter.pace.lagging
    assert meter.add(10, 400.0, speed=0.0) == Pace(0.0)  # paused: nothing measured
    assert Pace(0.0).text() == "paused"


def test_the_lag_log_counts_between_lines(caplog):
    log = LagLog(logging.getLogger("lagtest"), every_s=60.0)
    caplog.set_level(logging.WARNING, logger="lagtest")
    pace = Pace(60.0, 23.4)
    log.skipped(0.0, 0.5, pace)
    for k in range(1, 30):
        log.skipped(k * 2.0, 0.5, pace)  # within the minute: counted only
    log.skipped(61.0, 0.5, pace)
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs == [
        "plant simulator cannot keep up at speed 60: skipped 0.5 s of wall time (1 time; "
        "running at 23x)",
        "plant simulator cannot keep up at speed 60: skipped 15.0 s of wall time (30 times in "
        "the last 61 s; running at 23x)",
    ]


def test_doctests():
    assert doctest.testmod(sim_pace).failed == 0
