"""The tool detail panel's layout by its size, and the alarm panel's bar wrapping.

Geometry read back from the widgets: a narrow panel (the dock on the right) stacks the tag
table over the trends, a wide or low and broad one (the dock along the bottom) puts them
side by side; the trends never shrink to a sliver; the alarm bar takes two rows in a
narrow dock instead of clipping its buttons."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication, QWidget

from factory_twin.ui.qt_alarm_panel import QtAlarmPanel
from factory_twin.ui.qt_detail_panel import NARROW_PX, TABLE_MIN_H, TREND_MIN_H

pytestmark = pytest.mark.gui


def _resize(qtbot, w: QWidget, width: int, height: int) -> None:
    w.resize(width, height)
    QApplication.processEvents()
    # once more: a panel turned wide needs less height than it had as a column
    w.resize(width, height)
    qtbot.waitUntil(lambda: w.width() == width and w.height() == height)
    for _ in range(3):
        QApplication.processEvents()


def _in(panel: QWidget, child: QWidget) -> QRect:
    """The child's rectangle in the panel's coordinates."""
    return QRect(child.mapTo(panel, child.rect().topLeft()), child.size())


def test_narrow_panel_stacks_table_over_trends(qtbot, etcher_panel) -> None:
    panel, _state, tool = etcher_panel
    panel.show_tool(tool)
    _resize(qtbot, panel, 480, 700)
    assert not panel.wide
    t, trend = _in(panel, panel.table), _in(panel, panel.trend_box)
    assert t.bottom() < trend.top() and abs(t.left() - trend.left()) <= 2
    assert trend.width() >= 0.9 * (panel.width() - 12)
    # the fields one above the other, the buttons under them
    assert _in(panel, panel.type_label).top() < _in(panel, panel.place_label).top()
    assert _in(panel, panel.buttons).top() > _in(panel, panel.recipe_label).bottom()


@pytest.mark.parametrize("size", [(1100, 420), (640, 300), (880, 700)])
def test_wide_panel_puts_table_and_trends_side_by_side(qtbot, etcher_panel, size) -> None:
    panel, _state, tool = etcher_panel
    panel.show_tool(tool)
    _resize(qtbot, panel, *size)
    assert panel.wide
    t, trend = _in(panel, panel.table), _in(panel, panel.trend_box)
    assert t.right() < trend.left()
    assert abs(t.top() - trend.top()) <= 2 and abs(t.height() - trend.height()) <= 2
    assert trend.width() >= 0.3 * panel.width() and t.width() >= 0.3 * panel.width()
    # the fields in two columns (the type across both) and the buttons beside the title:
    # the table gets the height
    assert abs(_in(panel, panel.place_label).top() - _in(panel, panel.state_label).top()) <= 2
    assert _in(panel, panel.type_label).bottom() < _in(panel, panel.place_label).top()
    assert _in(panel, panel.type_label).width() >= 0.6 * panel.width()
    assert _in(panel, panel.buttons).top() <= _in(panel, panel.title).bottom()
    assert t.height() >= 0.5 * panel.height()


@pytest.mark.parametrize("with_tool", [True, False])
def test_turning_narrow_again_restacks_and_keeps_both_usable(
    qtbot, etcher_panel, with_tool
) -> None:
    panel, _state, tool = etcher_panel
    panel.show_tool(tool if with_tool else None)
    _resize(qtbot, panel, 1000, 500)
    assert panel.wide
    # laid out wide, the panel can still be made narrower than the point it turns back
    assert panel.minimumSizeHint().width() < NARROW_PX - 40
    _resize(qtbot, panel, 740, 600)  # inside the margin: no flicker back
    assert panel.wide
    _resize(qtbot, panel, 460, 600)
    assert not panel.wide
    assert _in(panel, panel.table).bottom() < _in(panel, panel.trend_box).top()


def test_the_trends_are_not_squeezed_in_a_short_narrow_dock(qtbot, etcher_panel) -> None:
    """About the right dock's size at 1280x800 beside the alarms."""
    panel, _state, tool = etcher_panel
    panel.show_tool(tool)
    _resize(qtbot, panel, 470, 500)
    assert not panel.wide
    assert panel.trend_box.height() >= TREND_MIN_H
    assert panel.table.height() >= TABLE_MIN_H
    # the plot itself is the trend box's height (the list of tags beside it)
    assert panel.plot.height() >= TREND_MIN_H - 4
    assert _in(panel, panel.trend_box).bottom() <= panel.height()


def _buttons(p: QtAlarmPanel) -> list[QWidget]:
    return [p.ack_button, p.shelve_button, p.procedure_button, p.journal_button]


def test_alarm_bar_is_one_row_when_wide_and_two_when_narrow(qtbot) -> None:
    p = QtAlarmPanel()
    qtbot.addWidget(p)
    p.show()
    qtbot.waitExposed(p)
    _resize(qtbot, p, 1400, 300)
    assert p.bar.rows == 1
    tops = {_in(p, w).top() for w in [p.filter_edit, p.show_combo, *_buttons(p)]}
    assert max(tops) - min(tops) <= 4  # one row
    for width in (640, 480):
        _resize(qtbot, p, width, 300)
        assert p.bar.rows == 2, width
        assert _in(p, p.ack_button).top() > _in(p, p.filter_edit).bottom()
        for w in [p.filter_edit, p.priority_combo, p.show_combo, p.count_label, *_buttons(p)]:
            r = _in(p, w)
            # nothing clipped: inside the panel and at least as wide as it asks
            assert r.left() >= 0 and r.right() < p.width(), (w, r)
            assert r.width() >= w.minimumSizeHint().width(), (w, r)
        for b in _buttons(p):
            assert b.width() >= b.sizeHint().width()
        # the table still gets most of the height
        assert p.view.height() >= 0.5 * p.height()
    _resize(qtbot, p, 1400, 300)
    assert p.bar.rows == 1
