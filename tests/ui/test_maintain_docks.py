"""The main window's docks in the Maintain workspace: side by side along the bottom, each
usable at 1600x1000 and 1280x800, remembered in the settings, the Monitor's given back."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtWidgets import QApplication

from factory_twin.app.controller import Controller
from factory_twin.model.config import load_plant
from factory_twin.ui.qt_detail_panel import TREND_WIDE_MIN_H
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_maintain_docks import MIN_HEIGHT, MIN_WIDTH, SETTINGS_KEY
from factory_twin.ui.qt_maintain_workspace import QtMaintainWorkspace, install_maintain

pytestmark = pytest.mark.gui

BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea


def _window(qtbot, tmp_path: Path, plant: Path, size: tuple[int, int]) -> MainWindow:
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(c, settings)
    qtbot.addWidget(w)
    install_maintain(w)
    c.set_plant(load_plant(plant))
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.width() == size[0] and w.height() == size[1])
    _settle(qtbot, w)  # the first start's dock sizes are set once the event loop runs
    return w


def _ws(w: MainWindow) -> QtMaintainWorkspace:
    return w.workspace("Maintain")  # type: ignore[return-value]


def _settle(qtbot, w: MainWindow) -> None:
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(30)


def _show_maintain(qtbot, w: MainWindow) -> None:
    ws = _ws(w)
    w.tabs.setCurrentWidget(ws)
    qtbot.waitUntil(lambda: ws.docks is not None and ws.docks.active, timeout=3000)
    _settle(qtbot, w)


def _show_monitor(qtbot, w: MainWindow) -> None:
    ws = _ws(w)
    w.tabs.setCurrentWidget(w.monitor)
    qtbot.waitUntil(lambda: ws.docks is not None and not ws.docks.active, timeout=3000)
    _settle(qtbot, w)


@pytest.mark.parametrize("size", [(1600, 1000), (1280, 800)])
def test_docks_sit_side_by_side_along_the_bottom_and_the_panes_fit(
    qtbot, tmp_path, mini_plant_path, size
):
    w = _window(qtbot, tmp_path, mini_plant_path, size)
    assert w.dockWidgetArea(w.detail_dock) == RIGHT  # the Monitor's arrangement
    _show_maintain(qtbot, w)
    alarms, details = w.alarm_dock, w.detail_dock
    for d in (alarms, details):
        assert d.isVisible() and not d.isFloating()
        assert w.dockWidgetArea(d) == BOTTOM
        assert d.width() >= MIN_WIDTH and d.height() >= MIN_HEIGHT, (d.objectName(), d.size())
    ga, gd = alarms.geometry(), details.geometry()
    # side by side: the same row, alarms on the left, not overlapping
    assert abs(ga.top() - gd.top()) <= 2 and abs(ga.height() - gd.height()) <= 2
    assert ga.right() < gd.left()
    # together they take the window's width and about a third of its height
    assert ga.width() + gd.width() >= 0.9 * w.width()
    assert 0.25 * w.height() <= ga.height() <= 0.4 * w.height()
    # the Maintain panes above them keep at least their least widths (nothing clipped)
    ws = _ws(w)
    sp = ws.splitter
    assert all(s >= sp.widget(i).minimumWidth() for i, s in enumerate(sp.sizes()))
    assert ws.side.width() >= 340 and ws.height() >= 0.45 * w.height()
    assert ws.side.geometry().right() <= ws.width()
    # the wide tool details put the tag table beside the trends
    panel = w.detail
    assert panel.wide
    t, trend = panel.table.geometry(), panel.trend_box.geometry()
    assert t.right() < trend.left() and trend.width() >= 300
    assert trend.height() >= TREND_WIDE_MIN_H
    # nothing cut off at the dock's bottom edge: the whole trend box is inside the panel
    bottom = panel.trend_box.mapTo(panel, panel.trend_box.rect().bottomLeft()).y()
    assert bottom < panel.height(), (bottom, panel.height())
    assert panel.plot.height() >= TREND_WIDE_MIN_H - 4


@pytest.mark.parametrize("size", [(1600, 1000), (1280, 800)])
def test_the_arrangement_is_remembered_and_the_monitor_gets_its_own_back(
    qtbot, tmp_path, mini_plant_path, size
):
    w = _window(qtbot, tmp_path, mini_plant_path, size)
    monitor_detail_w = w.detail_dock.width()
    _show_maintain(qtbot, w)
    # the user makes the bottom taller and the details wider
    tall, wide = round(0.42 * size[1]), round(0.58 * size[0])
    w.resizeDocks([w.alarm_dock, w.detail_dock], [tall, tall], Qt.Orientation.Vertical)
    w.resizeDocks([w.alarm_dock, w.detail_dock], [size[0] - wide, wide], Qt.Orientation.Horizontal)
    _settle(qtbot, w)
    h, dw = w.alarm_dock.height(), w.detail_dock.width()
    assert h >= tall - 20 and dw >= wide - 20
    _show_monitor(qtbot, w)
    assert w.dockWidgetArea(w.detail_dock) == RIGHT and w.dockWidgetArea(w.alarm_dock) == BOTTOM
    assert abs(w.detail_dock.width() - monitor_detail_w) <= 4
    assert not w.detail.wide  # back to one column on the right
    saved = w.settings.value(SETTINGS_KEY)
    assert isinstance(saved, QByteArray) and not saved.isEmpty()
    # back in Maintain: as the user left it
    _show_maintain(qtbot, w)
    assert w.dockWidgetArea(w.detail_dock) == BOTTOM
    assert abs(w.alarm_dock.height() - h) <= 4 and abs(w.detail_dock.width() - dw) <= 4
    # closing the window in Maintain saves the Monitor's layout as the window's
    w.close()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    # a new window: Monitor as it was, then Maintain as the user left it
    w2 = _window(qtbot, tmp_path, mini_plant_path, size)
    assert w2.settings.value(SETTINGS_KEY) == settings.value(SETTINGS_KEY)
    _settle(qtbot, w2)
    assert w2.dockWidgetArea(w2.detail_dock) == RIGHT
    _show_maintain(qtbot, w2)
    assert w2.dockWidgetArea(w2.detail_dock) == BOTTOM
    assert w2.dockWidgetArea(w2.alarm_dock) == BOTTOM
    assert abs(w2.alarm_dock.height() - h) <= 4 and abs(w2.detail_dock.width() - dw) <= 4


@pytest.mark.parametrize("size", [(1600, 1000), (1280, 800)])
def test_the_first_arrangement_comes_back_as_it_was_in_a_new_window(
    qtbot, tmp_path, mini_plant_path, size
):
    """Was: restored in a new window while the details still stood in one column (whose
    minimum height is larger), the bottom docks came back 414 px high whatever they had
    been (272 at 1280x800), the 3-D view and the player squeezed above them."""
    w = _window(qtbot, tmp_path, mini_plant_path, size)
    _show_maintain(qtbot, w)
    sizes = [(d.width(), d.height()) for d in (w.alarm_dock, w.detail_dock)]
    view_h = _ws(w).view.height()
    w.close()
    w2 = _window(qtbot, tmp_path, mini_plant_path, size)
    _show_maintain(qtbot, w2)
    again = [(d.width(), d.height()) for d in (w2.alarm_dock, w2.detail_dock)]
    flat = [(a, b) for p, q in zip(sizes, again, strict=True) for a, b in zip(p, q, strict=True)]
    assert all(abs(a - b) <= 4 for a, b in flat), (sizes, again)
    assert abs(_ws(w2).view.height() - view_h) <= 4


def test_a_reopened_dock_comes_back_usable(qtbot, tmp_path, mini_plant_path):
    w = _window(qtbot, tmp_path, mini_plant_path, (1280, 800))
    _show_maintain(qtbot, w)
    details = w.detail_dock
    details.close()
    _settle(qtbot, w)
    assert not details.isVisible()
    # the alarms take the whole bottom meanwhile
    assert w.alarm_dock.width() >= 0.9 * w.width()
    details.toggleViewAction().trigger()  # View -> Tool details
    qtbot.waitUntil(details.isVisible)
    _settle(qtbot, w)
    assert w.dockWidgetArea(details) == BOTTOM
    assert details.width() >= MIN_WIDTH and details.height() >= MIN_HEIGHT
    assert w.alarm_dock.width() >= MIN_WIDTH
    # closed in Maintain, it stays closed there next time, and the Monitor keeps its own
    details.close()
    _settle(qtbot, w)
    _show_monitor(qtbot, w)
    _show_maintain(qtbot, w)
    assert not details.isVisible() and w.alarm_dock.isVisible()
