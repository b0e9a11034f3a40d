"""The Maintain workspace's panes on a small laptop screen and a large one: with fresh
settings the side panes take a share of the window's width and the 3-D view well over half
of it; nothing in the side panes is clipped; widths the user dragged to win next time."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QApplication, QSplitter

from factory_twin.app.controller import Controller
from factory_twin.app.maintenance import MaintenanceLog
from factory_twin.model.config import load_plant
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_maintain_workspace import (
    PANE_MOST,
    PANES_KEY,
    QtMaintainWorkspace,
    install_maintain,
)

pytestmark = pytest.mark.gui

VIEW_SHARE = 0.55  # the 3-D view's least share of the window's width by default


def _window(qtbot, tmp_path: Path, plant: Path, size: tuple[int, int]) -> MainWindow:
    """A main window of ``size`` on the Maintain workspace (settings in ``tmp_path``)."""
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(c, settings)
    qtbot.addWidget(w)
    install_maintain(w, MaintenanceLog(tmp_path / "maintenance_log.jsonl"))
    c.set_plant(load_plant(plant))
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.width() == size[0] and w.height() == size[1])
    ws = _ws(w)
    w.tabs.setCurrentWidget(ws)
    qtbot.waitUntil(lambda: ws.docks is not None and ws.docks.active, timeout=3000)
    _settle(qtbot)
    return w


def _ws(w: MainWindow) -> QtMaintainWorkspace:
    return w.workspace("Maintain")  # type: ignore[return-value]


def _settle(qtbot) -> None:
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(30)


def _nothing_clipped(qtbot, ws: QtMaintainWorkspace) -> None:
    sp = ws.splitter
    assert all(s >= sp.widget(i).minimumWidth() for i, s in enumerate(sp.sizes()))
    # the Run and Author tabs fit their pane: no button row or group title wider than it
    for page in (ws.editor, ws.player):
        ws.side.setCurrentWidget(page)
        _settle(qtbot)
        assert page.minimumSizeHint().width() <= page.width(), page
    assert ws.browser.minimumSizeHint().width() <= ws.browser.width()


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_fresh_settings_give_the_3d_view_most_of_the_width(
    qtbot, tmp_path, mini_plant_path, size
) -> None:
    w = _window(qtbot, tmp_path, mini_plant_path, size)
    ws = _ws(w)
    assert ws.pane_fit is not None and ws.pane_fit.following  # nothing was remembered
    assert ws.view.width() >= VIEW_SHARE * w.width(), (ws.view.width(), w.width())
    left, _centre, right = ws.splitter.sizes()
    assert left <= PANE_MOST[0] and right <= PANE_MOST[1]
    _nothing_clipped(qtbot, ws)
    # the default follows the window: from one size to the other the view keeps its share
    other = (1920, 1080) if size[0] == 1280 else (1280, 800)
    w.resize(*other)
    qtbot.waitUntil(lambda: w.width() == other[0])
    _settle(qtbot)
    assert ws.view.width() >= VIEW_SHARE * w.width(), (ws.view.width(), w.width())
    _nothing_clipped(qtbot, ws)


def test_widths_the_user_dragged_to_win_over_the_default(qtbot, tmp_path, mini_plant_path):
    w = _window(qtbot, tmp_path, mini_plant_path, (1280, 800))
    ws = _ws(w)
    sp = ws.splitter
    default = sp.sizes()
    sp.moveSplitter(sp.sizes()[0] + 120, 1)  # the user drags the browser wider
    _settle(qtbot)
    dragged = sp.sizes()
    assert dragged[0] >= default[0] + 100
    assert ws.pane_fit is not None and not ws.pane_fit.following
    assert w.settings.value(PANES_KEY) is not None
    # a resize keeps the user's side widths (the centre takes the difference)
    w.resize(1400, 800)
    qtbot.waitUntil(lambda: w.width() == 1400)
    _settle(qtbot)
    assert sp.sizes()[0] == dragged[0] and sp.sizes()[2] == dragged[2]
    w.resize(1280, 800)
    qtbot.waitUntil(lambda: w.width() == 1280)
    _settle(qtbot)
    w.close()
    # next time (the same settings): the dragged widths, not the default
    w2 = _window(qtbot, tmp_path, mini_plant_path, (1280, 800))
    ws2 = _ws(w2)
    assert ws2.pane_fit is None
    assert ws2.splitter.sizes() == dragged, (ws2.splitter.sizes(), dragged, default)


@pytest.mark.parametrize("size", [(1280, 800), (1600, 1000)])
def test_the_browser_heights_the_user_dragged_to_come_back(qtbot, tmp_path, mini_plant_path, size):
    """Was: the tools list and the procedures under it came back half and half at every
    start, whatever the user had dragged them to (the only pane split of the workspace that
    was not remembered)."""
    w = _window(qtbot, tmp_path, mini_plant_path, size)
    sp = _ws(w).browser.findChild(QSplitter)
    default = sp.sizes()
    handle = sp.handle(1)
    mid = handle.rect().center()
    qtbot.mousePress(handle, Qt.MouseButton.LeftButton, pos=mid)
    qtbot.mouseMove(handle, QPoint(mid.x(), mid.y() - 60))
    qtbot.mouseRelease(handle, Qt.MouseButton.LeftButton, pos=QPoint(mid.x(), mid.y() - 60))
    _settle(qtbot)
    dragged = sp.sizes()
    assert dragged[0] <= default[0] - 40, (dragged, default)
    w.close()
    for _ in range(2):  # and keep them, start after start
        w = _window(qtbot, tmp_path, mini_plant_path, size)
        again = _ws(w).browser.findChild(QSplitter).sizes()
        assert all(abs(a - b) <= 2 for a, b in zip(again, dragged, strict=True)), (again, dragged)
        w.close()
