"""The Train workspace's panes on a small laptop screen and a large one: with fresh settings
the side panes take a share of the window's width and the 3-D view over half of it; nothing
in the side panes is clipped; widths the user dragged to win next time."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _qt_wait import wait_until
from _train_window import close_train_window, open_train_window
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QScrollArea

from factory_twin.app.controller import find_demo_plant
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_train_install import PANES_KEY
from factory_twin.ui.qt_train_workspace import PANE_MOST, QtTrainWorkspace

pytestmark = [pytest.mark.gui, pytest.mark.timeout(180)]

VIEW_SHARE = 0.5  # the 3-D view's least share of the window's width by default


def _window(tmp_path: Path, size: tuple[int, int]) -> MainWindow:
    plant = tmp_path / "fab.yaml"
    if not plant.exists():
        shutil.copy(find_demo_plant(), plant)
    w = open_train_window(tmp_path, plant, size=size, maintain=False)
    w.tabs.setCurrentWidget(w.train)
    wait_until(lambda: w.width() == size[0] and w.height() == size[1], 10, "the window size")
    _settle()
    return w


def _settle() -> None:
    for _ in range(5):
        QApplication.processEvents()


def _resize(w: MainWindow, size: tuple[int, int]) -> None:
    w.resize(*size)
    wait_until(lambda: w.width() == size[0], 10, "the new size")
    _settle()


def _nothing_clipped(ws: QtTrainWorkspace) -> None:
    sp = ws.splitter
    assert all(s >= sp.widget(i).minimumWidth() for i, s in enumerate(sp.sizes()))
    # the set-up pane scrolls vertically only: its contents fit its width
    setup = sp.widget(0)
    assert isinstance(setup, QScrollArea)
    body = setup.widget()
    assert body.minimumSizeHint().width() <= setup.viewport().width()
    # the Live, Author and Debrief tabs fit the side pane; no table scrolls sideways
    for i in range(ws.side.count()):
        page = ws.side.widget(i)
        ws.side.setCurrentWidget(page)
        _settle()
        assert page.minimumSizeHint().width() <= page.width(), ws.side.tabText(i)
    for t in (ws.scores_table, ws.timeline_table, ws.author.injections, ws.author.responses):
        widths = [t.horizontalHeader().sectionSize(j) for j in range(t.columnCount())]
        assert sum(widths) <= t.viewport().width() + 1, (t.objectName(), widths)
    ws.side.setCurrentIndex(0)
    _settle()


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)], ids=["1280x800", "1920x1080"])
def test_fresh_settings_give_the_3d_view_over_half_the_width(
    qapp, tmp_path: Path, size: tuple[int, int]
) -> None:
    w = _window(tmp_path, size)
    try:
        ws = w.train
        assert ws.pane_fit is not None and ws.pane_fit.following  # nothing was remembered
        assert ws.view.width() >= VIEW_SHARE * w.width(), (ws.view.width(), w.width())
        left, _centre, right = ws.splitter.sizes()
        assert left <= PANE_MOST[0] and right <= PANE_MOST[1]
        _nothing_clipped(ws)
        # the default follows the window: from one size to the other the view keeps its share
        other = (1920, 1080) if size[0] == 1280 else (1280, 800)
        _resize(w, other)
        assert ws.view.width() >= VIEW_SHARE * w.width(), (ws.view.width(), w.width())
        _nothing_clipped(ws)
    finally:
        close_train_window(w)


def test_widths_the_user_dragged_to_win_over_the_default(qapp, tmp_path: Path) -> None:
    w = _window(tmp_path, (1280, 800))
    try:
        ws = w.train
        sp = ws.splitter
        default = sp.sizes()
        sp.moveSplitter(sp.sizes()[0] + sp.sizes()[1] - 100, 2)  # the user drags the side wider
        _settle()
        dragged = sp.sizes()
        assert dragged[2] >= default[2] + 80
        assert ws.pane_fit is not None and not ws.pane_fit.following
        assert w.settings.value(PANES_KEY) is not None
        # a resize keeps the user's side widths (the centre takes the difference)
        _resize(w, (1400, 800))
        assert sp.sizes()[0] == dragged[0] and sp.sizes()[2] == dragged[2]
        _resize(w, (1280, 800))
    finally:
        close_train_window(w)
    # next time (the same settings): the dragged widths, not the default
    w2 = _window(tmp_path, (1280, 800))
    try:
        assert w2.train.pane_fit is None
        assert w2.train.splitter.sizes() == dragged, (w2.train.splitter.sizes(), dragged)
    finally:
        close_train_window(w2)


def test_the_side_tab_shown_comes_back(qapp, tmp_path: Path) -> None:
    """Was: every start showed the Live tab, whichever the trainer had open (Author, Debrief)."""
    w = _window(tmp_path, (1280, 800))
    try:
        bar = w.train.side.tabBar()
        QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
        _settle()
        assert w.train.side.currentWidget() is w.train.author
    finally:
        close_train_window(w)
    for _ in range(2):
        w2 = _window(tmp_path, (1280, 800))
        try:
            assert w2.train.side.currentWidget() is w2.train.author
        finally:
            close_train_window(w2)
