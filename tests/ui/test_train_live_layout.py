"""The Train workspace's Live tab timeline at 1280x800 and 1920x1200 during a drill run in the
window: every text of every column is shown whole. The Event column takes the width the
others leave and wraps (also inside names, after ``_`` or ``.``: ``end_station_pressure.
hihi``); the other columns are no wider than they need (short headers, their tooltips whole;
the response on two lines in a narrow pane). Was: at 1280x800 Event got 91 px and cut
``end_station…``, ``open_proce…`` and ``dispatch_m…``, and What cut ``act…``, while Resp. /
limit and Points kept their long headers' width."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from _qt_wait import wait_until
from _train_window import train_window
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QStyle, QTableWidget

from factory_twin.app.controller import find_demo_plant
from factory_twin.app.drill_session import DrillSession
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_tables import breakable
from factory_twin.ui.qt_train_live import EVENT_COLUMN, HEADER_TIPS

pytestmark = [pytest.mark.gui, pytest.mark.timeout(240)]

DRILL = "toxic_gas_alarm"  # IMP-01's end_station_pressure alarms 90 s in


@pytest.fixture(params=[(1280, 800), (1920, 1200)], ids=["1280x800", "1920x1200"])
def win(request, qapp, tmp_path: Path) -> Iterator[MainWindow]:
    plant = tmp_path / "fab.yaml"
    shutil.copy(find_demo_plant(), plant)
    with train_window(tmp_path, plant, size=request.param) as w:
        w.tabs.setCurrentWidget(w.train)
        wait_until(lambda: w.width() == request.param[0], 10, "the window size")
        yield w


def _cut_cells(t: QTableWidget) -> list[tuple[str, int, int, int]]:
    """The cells whose text the table cannot show whole: (text, its width or height, the
    column's text width or the row's height, the column). Each text is laid out at its
    column's width as the cell draws it, in the cell's font (breaking at spaces, after
    hyphens and, in the Event column, after ``_`` and ``.``): a word wider than the column,
    or lines taller than the row, are cut."""
    margin = t.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, t) + 1
    flags = int(Qt.TextFlag.TextWordWrap)
    cut = []
    for j in range(t.columnCount()):
        room = t.columnWidth(j) - 2 * margin - 1  # the grid line
        for r in range(t.rowCount()):
            item = t.item(r, j)
            if item is None or not item.text():
                continue
            text = breakable(item.text()) if j == EVENT_COLUMN else item.text()
            box = QFontMetrics(item.font()).boundingRect(QRect(0, 0, room, 10_000), flags, text)
            if box.width() > room:
                cut.append((text, box.width(), room, j))
            if box.height() > t.rowHeight(r):
                cut.append((text, box.height(), t.rowHeight(r), j))
    return cut


def test_the_live_timeline_shows_every_text_whole(win: MainWindow) -> None:
    ws = win.train
    t = ws.timeline_table
    assert ws.side.currentWidget() is ws.live
    assert ws.choose_drill(DRILL)
    ws.start_drill(speed=30)
    wait_until(lambda: ws.desk is not None and ws.desk.running, 60, "the drill server")
    ann = DrillSession(ws.desk.url, "ann")
    try:
        assert ann.join().result(30) == "ann"
        wait_until(lambda: any("end_station_pressure.hihi" in e.text
                               for e in ws.live.timeline_entries()), 60, "the gas alarm")  # fmt: skip
        ann.hold("ETCH-01").result(30)  # a healthy tool: a wrong action
        ann.acknowledge("IMP-01", "end_station_pressure.hihi",
                        "AsH3 alarm GD-IMP01, gas box exhaust running, called EHS").result(30)  # fmt: skip
        ann.hold("IMP-01").result(30)
        ann.open_procedure("IMP-01", "implanter-source-change").result(30)
        ann.sign_off_step("IMP-01", "implanter-source-change", 2).result(30)
        ann.call_maintenance("IMP-01", "toxic gas alarm at the gas box, isolated and purged"
                             ).result(30)  # fmt: skip

        def shown() -> list[str]:
            return [t.item(r, 1).text() for r in range(t.rowCount())]

        wait_until(lambda: shown().count("action") >= 6 and "wrong" in shown(), 30,
                   "ann's actions in the table")  # fmt: skip
        for _ in range(5):  # a vertical scroll bar that shows refits the columns
            QApplication.processEvents()
        widths = [t.columnWidth(j) for j in range(t.columnCount())]
        assert sum(widths) <= t.viewport().width() + 1, widths
        assert t.horizontalScrollBar().maximum() == 0
        assert t.textElideMode() == Qt.TextElideMode.ElideRight
        # nothing elided: every word within its column, every text within its row
        assert _cut_cells(t) == [], (win.width(), widths)
        # Event takes what the others leave: none of them wider than its text on one line
        # or its header; at 1280x800 the response wraps, at 1920x1200 it has room
        others = [j for j in range(t.columnCount()) if j != EVENT_COLUMN]
        for j in others:
            one_line = max(t.sizeHintForColumn(j), t.horizontalHeader().sectionSizeHint(j))
            assert widths[j] <= one_line, (t.horizontalHeaderItem(j).text(), widths[j], one_line)
        assert widths[EVENT_COLUMN] >= 0.3 * t.viewport().width(), widths
        rows = [[t.item(r, j).text() for j in range(t.columnCount())] for r in range(t.rowCount())]
        long = [r for r in range(t.rowCount()) if "end_station_pressure.hihi" in rows[r][5]]
        assert long and all(t.rowHeight(r) >= 2 * t.fontMetrics().height() for r in long)
        # every cell's and the short headers' whole text in their tooltips
        for r in range(t.rowCount()):
            for j in range(t.columnCount()):
                item = t.item(r, j)
                if item.text():
                    assert item.text() in item.toolTip()
        for j, tip in HEADER_TIPS.items():
            assert t.horizontalHeaderItem(j).toolTip() == tip
    finally:
        ann.leave()
        ws.stop_drill()
