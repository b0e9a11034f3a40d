"""The workspaces' three-pane layout (ui/theme.three_panes), its widths remembered."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel, QSplitter, QWidget

from factory_twin.ui.theme import remember_panes, three_panes

pytestmark = pytest.mark.gui


def test_the_centre_takes_the_extra_width_and_no_pane_collapses(qtbot):
    owner = QWidget()
    qtbot.addWidget(owner)
    left, centre, right = QLabel("list"), QLabel("3-D view"), QLabel("side")
    split = three_panes(owner, (left, centre, right), (200, 400, 300), (150, 320, None))
    assert [split.widget(i) for i in range(3)] == [left, centre, right]
    assert left.minimumWidth() == 150 and centre.minimumWidth() == 320
    assert right.minimumWidth() == 0  # None: the pane's own
    assert not split.childrenCollapsible()
    owner.resize(900, 400)
    owner.show()
    qtbot.waitExposed(owner)
    before = split.sizes()
    owner.resize(1300, 400)
    qtbot.waitUntil(lambda: sum(split.sizes()) > sum(before) + 300)
    after = split.sizes()
    assert after[0] == before[0] and after[2] == before[2]  # only the centre grew
    assert after[1] > before[1] + 300
    # the splitter fills its owner edge to edge
    assert owner.layout().contentsMargins().left() == 0
    assert split.geometry().width() == owner.width()


def _panes(qtbot, settings: QSettings) -> tuple[QWidget, QSplitter]:
    owner = QWidget()
    qtbot.addWidget(owner)
    panes = (QLabel("l"), QLabel("c"), QLabel("r"))
    split = three_panes(owner, panes, (200, 600, 300), (50, 50, 50))
    remember_panes(split, settings, "test/panes")
    owner.resize(1100, 400)
    owner.show()
    qtbot.waitExposed(owner)
    return owner, split


def test_dragged_widths_come_back_next_time(qtbot, tmp_path) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    _owner, first = _panes(qtbot, settings)
    start = first.sizes()
    first.moveSplitter(450, 2)  # the user drags the right handle
    moved = first.sizes()
    assert moved != start
    assert settings.value("test/panes") is not None
    settings.sync()
    _owner2, again = _panes(qtbot, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert again.sizes() == moved
