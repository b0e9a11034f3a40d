"""The Tool details dock's default width (a third of the window, at least 470 px) follows the
window while no dock layout was saved and the user has not resized the dock; a dragged dock
keeps the user's width, and a saved layout wins."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from factory_twin.app.controller import Controller
from factory_twin.ui.qt_main_settings import default_detail_width
from factory_twin.ui.qt_main_window import MainWindow

pytestmark = pytest.mark.gui


def _window(qtbot, tmp_path: Path, size: tuple[int, int]) -> MainWindow:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Controller(journal_path=tmp_path / "journal.sqlite"), settings)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.width() == size[0])
    return w


def _resize(qtbot, w: MainWindow, size: tuple[int, int]) -> None:
    w.resize(*size)
    qtbot.waitUntil(lambda: w.width() == size[0])
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(30)


def _near(qtbot, w: MainWindow, want: int) -> None:
    qtbot.waitUntil(lambda: abs(w.detail_dock.width() - want) <= 4, timeout=3000)


def test_the_default_dock_width_follows_the_window_until_the_user_drags(qtbot, tmp_path):
    w = _window(qtbot, tmp_path, (1728, 1000))
    assert w.dock_fit is not None and w.dock_fit.following  # nothing saved
    _near(qtbot, w, default_detail_width(1728))  # 576
    _resize(qtbot, w, (1280, 800))
    _near(qtbot, w, default_detail_width(1280))  # 470
    _resize(qtbot, w, (1920, 1080))
    _near(qtbot, w, default_detail_width(1920))  # 640
    # the dock hidden (the Train workspace hides it) while the window shrinks: shown again,
    # it has the default width of the new size
    w.detail_dock.hide()
    _resize(qtbot, w, (1500, 900))
    w.detail_dock.show()
    _near(qtbot, w, default_detail_width(1500))
    # the user drags the separator between the Monitor and the dock 120 px to the left
    dock = w.detail_dock.geometry()
    gap = (w.centralWidget().geometry().right() + dock.left()) // 2
    start = QPoint(gap, dock.center().y())
    before = w.detail_dock.width()
    QTest.mousePress(w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for dx in range(10, 130, 10):
        QTest.mouseMove(w, start - QPoint(dx, 0))
        qtbot.wait(20)  # the window moves its separators on a zero timer
    QTest.mouseRelease(
        w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start - QPoint(120, 0)
    )
    qtbot.waitUntil(lambda: w.detail_dock.width() > before + 60, timeout=3000)
    assert not w.dock_fit.following
    dragged = w.detail_dock.width()
    _resize(qtbot, w, (1700, 950))
    assert abs(w.detail_dock.width() - dragged) <= 4  # the user's width, not the default's
    w.save_layout()
    w.close()
    # a saved layout: the dock keeps its saved width, nothing follows the window
    w2 = _window(qtbot, tmp_path, (1700, 950))
    assert w2.dock_fit is None
    _resize(qtbot, w2, (1300, 850))
    assert abs(w2.detail_dock.width() - default_detail_width(1300)) > 20
