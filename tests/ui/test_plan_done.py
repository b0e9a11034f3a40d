"""Issue #15's *Done when*, end to end under Xvfb.

A planner opens the demo fab, switches to Plan (Ctrl+P), makes a scenario (Ctrl+N) by
dragging two tools, adding a scanner from the palette and changing a dispatch rule, sees
the flows and capacity change as they edit, saves it (Ctrl+S), and ``factory-twin
simulate that.scenario.yaml`` runs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from plan_helpers import drag as _drag
from plan_helpers import drop_type as _drop_type
from plan_helpers import focus as _focus
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QInputDialog

from factory_twin.app.controller import Controller
from factory_twin.model.config import load_plant
from factory_twin.model.scenario import load_scenario
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_plan_compare_install import install_compare
from factory_twin.ui.qt_plan_install import install_plan

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[2]


def test_a_planner_makes_a_scenario_and_simulates_it(qtbot, tmp_path, monkeypatch):
    plant = tmp_path / "demo_fab.yaml"
    shutil.copy(REPO / "plant_configs" / "demo_fab.yaml", plant)
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    w = MainWindow(c, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    ws = install_plan(w)
    install_compare(w)
    qtbot.addWidget(w)
    c.set_plant(load_plant(plant))
    w.resize(1600, 1000)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)

    QTest.keyClick(w, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert w.tabs.currentWidget() is ws
    qtbot.waitUntil(lambda: ws.session is not None and ws.interactor.width() > 300)
    assert not w.detail_dock.isVisible()  # the Monitor's docks make room
    ws.grid.setCurrentIndex(ws.grid.findData(0.5))
    ws.edge_snap.setChecked(False)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("etch_east", True)))
    _focus(qtbot, w, ws)
    QTest.keyClick(ws.interactor, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    ses = ws.session
    assert ses is not None and ses.editable and ses.name == "etch_east"
    base_km = ses.base_flows.total_distance_m_per_day
    base_scan = ses.capacity.row("SCAN").base_utilisation

    # two drags: ASH-02 3 m north, ETCH-02 1.5 m east (towards litho)
    _drag(ws, "ASH-02", (0.0, 3.0))
    _drag(ws, "ETCH-02", (1.5, 0.0))
    assert ses.tool("ASH-02").position_m == (16.5, 17.5)
    assert ses.tool("ETCH-02").position_m == (19.0, 5.0)
    assert ws.flows.total_m_per_day != pytest.approx(base_km)  # the flows followed
    assert len(ws.input.drag_ms) >= 4

    # a scanner from the palette into the litho bay's free corner
    _drop_type(ws, "arf_scanner", (38.55, 14.0))
    assert ses.changes()[-1]["id"] == "SCAN-04"
    scan = ses.capacity.row("SCAN")
    assert scan.scenario_utilisation == pytest.approx(base_scan * 3 / 4, rel=1e-9)
    assert ws.capacity.table.rowCount() == len(ses.capacity.rows)
    row = next(
        r for r in range(ws.capacity.table.rowCount())
        if ws.capacity.table.item(r, 0).text().startswith("SCAN")
    )  # fmt: skip
    assert ws.capacity.table.item(row, 1).text() == "3 → 4"

    # a dispatch rule from the capacity panel
    ws.right_tabs.setCurrentWidget(ws.capacity)
    ws.capacity.group.setCurrentText("SCAN")
    ws.capacity.rule.setCurrentIndex(ws.capacity.rule.findData("fifo"))
    ws.capacity.set_rule.click()
    assert ses.changes()[-1] == {"change": "set_dispatch", "group": "SCAN", "rule": "fifo"}
    assert ws.capacity.table.item(row, 5).text() == "fifo"
    assert ses.scenario_problems == []
    assert ws.changes.list.count() == 4

    _focus(qtbot, w, ws)
    QTest.keyClick(ws.interactor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    path = plant.parent / "etch_east.scenario.yaml"
    assert not ses.dirty and path.exists()
    doc = load_scenario(path)
    assert [ch.change for ch in doc.spec.changes] == [
        "move_tool", "move_tool", "add_tool", "set_dispatch",
    ]  # fmt: skip
    assert doc.apply().tool("SCAN-04").group == "SCAN"

    ws.right_tabs.setCurrentWidget(ws.flows)
    ws.select(["ETCH-02"])
    ws.view.plotter.render()
    QApplication.processEvents()
    img = w.grab().toImage()
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    assert arr.std() > 10
    assert ws.view.screenshot().std() > 10
    if os.environ.get("FACTORY_TWIN_SCREENSHOTS"):
        w.grab().save(str(REPO / "docs" / "screenshot_plan.png"))
    w.compare.shutdown()
    w.close()

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-m", "factory_twin", "simulate", str(path), "--days", "2",
         "--replications", "1", "--jobs", "1"],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("etch_east: 1 replication of 2 days")
    assert "bottleneck" in run.stdout
