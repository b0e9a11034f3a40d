"""The Plan workspace at the next start shows what it showed when the window closed: the
scenario (if it is still beside the plant) and the tabs on both sides."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _plan_window import plan_window, plan_ws
from PySide6.QtCore import Qt

from factory_twin.app.plan_files import scenarios_beside

pytestmark = pytest.mark.gui

DEMO = Path(__file__).resolve().parents[2] / "plant_configs"


def _plant(tmp_path: Path) -> Path:
    """A copy of the demo fab with its two scenarios beside it."""
    for name in (
        "demo_fab.yaml",
        "demo_fab_etch_next_to_litho.scenario.yaml",
        "demo_fab_fourth_scanner.scenario.yaml",
    ):
        shutil.copy(DEMO / name, tmp_path / name)
    return tmp_path / "demo_fab.yaml"


def test_the_scenario_and_tabs_shown_come_back(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    """Was: every start showed the base plant, the Scenarios and Changes tabs."""
    plant = _plant(tmp_path)
    scenario = scenarios_beside(plant)[2][1]
    windows = plan_window(qtbot, tmp_path, plant)
    w = next(windows)
    ws = plan_ws(w)
    assert ws.session is not None and ws.session.scenario is None  # the base, first time
    lst = ws.scenarios.list  # the user clicks a scenario in the list
    qtbot.mouseClick(
        lst.viewport(), Qt.MouseButton.LeftButton, pos=lst.visualItemRect(lst.item(2)).center()
    )
    qtbot.waitUntil(lambda: ws.session.scenario is not None)
    ws.left_tabs.setCurrentIndex(1)
    ws.right_tabs.setCurrentIndex(3)
    windows.close()  # the window closes
    for _ in range(2):
        windows = plan_window(qtbot, tmp_path, plant)
        ws = plan_ws(next(windows))
        assert ws.session is not None and ws.session.scenario is not None
        assert ws.session.scenario.path == scenario
        assert ws.scenarios.current_path() == scenario
        assert ws.left_tabs.currentIndex() == 1 and ws.right_tabs.currentIndex() == 3
        windows.close()


def test_a_scenario_gone_since_gives_the_base(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    plant = _plant(tmp_path)
    scenario = scenarios_beside(plant)[1][1]
    windows = plan_window(qtbot, tmp_path, plant)
    ws = plan_ws(next(windows))
    ws.open_scenario(scenario)
    windows.close()
    scenario.unlink()
    windows = plan_window(qtbot, tmp_path, plant)
    ws = plan_ws(next(windows))
    assert ws.session is not None and ws.session.scenario is None
    assert ws.scenarios.current_path() is None
    windows.close()
