"""The status bar says when the embedded plant simulator cannot keep up with its speed.

A real simulator of the mini plant runs on the controller's asyncio thread, served on
127.0.0.1; a slow event listener makes each of its steps take five ticks of wall time, as a
large plant at a high speed does on a loaded machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMainWindow

from factory_twin.app.controller import Controller, free_port
from factory_twin.app.simulator import EmbeddedPlantSimulator
from factory_twin.model.config import load_plant
from factory_twin.ui.qt_main_status import WARNING, MainStatusLabels
from factory_twin.ui.theme import text_colour

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120)]

MINI = Path(__file__).resolve().parents[1] / "data" / "mini_plant.yaml"


def slow_listener(events: list) -> None:
    time.sleep(0.25)


def test_the_speed_label_warns_while_the_simulator_lags(qtbot, tmp_path):
    win = QMainWindow()
    qtbot.addWidget(win)
    labels = MainStatusLabels(win.statusBar())
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    sim = EmbeddedPlantSimulator(
        load_plant(MINI).spec,
        endpoint=f"opc.tcp://127.0.0.1:{free_port()}/status/",
        speed=60.0,
        tick_s=0.05,
        pace_window_s=1.0,
        load_companion_specs=False,
    )
    labels.refresh(c, "no plant", 16.0)
    assert labels.speed.text() == ""  # no simulator: nothing said about a speed
    try:
        sim.add_listener(slow_listener)
        sim.run_in_thread(c.loop)
        c.simulator = sim

        def shown(cond: Callable[[str], bool]) -> bool:
            labels.refresh(c, "live", 16.0)
            return cond(labels.speed.text())

        qtbot.waitUntil(lambda: shown(lambda t: "cannot keep up" in t), timeout=20_000)
        text = labels.speed.text()
        warn = text_colour(WARNING)
        assert text.startswith(f"<span style='color:{warn}'>⚠ speed 60x (running at ")
        assert text.endswith("x: the machine cannot keep up)</span>")
        achieved = float(text.split("running at ")[1].split("x")[0])
        assert 0 < achieved < 30  # about 12x: 3 plant seconds per 0.25 s step
        assert "cannot step as fast as its speed asks" in labels.speed.toolTip()
        # the machine freed: the label goes back to the plain speed
        sim.remove_listener(slow_listener)
        qtbot.waitUntil(lambda: shown(lambda t: t == "speed 60x"), timeout=20_000)
        assert "Plant seconds per wall second" in labels.speed.toolTip()
    finally:
        c.close()  # stops the simulator on its thread
    labels.refresh(c, "none", 16.0)
    assert labels.speed.text() == ""
