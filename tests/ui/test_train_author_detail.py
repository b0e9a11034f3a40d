"""The Author tab's detail pane at 1280x800: the selected injection or response whole.

There the tables cut their rows to one line (so that five of them stay in sight) and elide
long fault names and messages. The pane under them shows the selected row in words, wrapped
and inside the window, not cut; it follows the selection in either table and the timeline,
and an edit, its undo and its redo."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from _qt_wait import wait_until
from _train_window import close_train_window, open_train_window
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QApplication, QStyle, QTableWidget

from factory_twin.app.controller import find_demo_plant
from factory_twin.ui.qt_drill_detail import NO_ROW
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_tables import ZWSP, breakable, header_text_width, one_line
from factory_twin.ui.qt_train_author import TABLE_ROWS, QtDrillAuthor

pytestmark = [pytest.mark.gui, pytest.mark.timeout(180)]

MESSAGE = (
    "Chamber pressure on ETCH-02 is rising slowly: check the helium backside cooling line "
    "and the chuck seal before the next lot starts"
)
LONGER = MESSAGE + (
    ", then write down the leak rate you read on the tool screen, compare it with the last "
    "preventive maintenance record and call the etch equipment engineer on shift if it is "
    "above the limit"
)


def _shown(author: QtDrillAuthor) -> str:
    """The detail pane's text as the reader sees it (no markup, no line-break hints)."""
    doc = QTextDocument()
    doc.setHtml(author.detail.text())
    return doc.toPlainText().replace(ZWSP, "")


def _settle() -> None:
    for _ in range(8):
        QApplication.processEvents()


def _assert_whole_in_sight(author: QtDrillAuthor) -> None:
    """The pane is inside the Author tab and the window, tall and wide enough for its text."""
    d = author.detail
    win = author.window()
    box = QRect(d.mapTo(win, QPoint(0, 0)), d.size())
    assert win.rect().contains(box), (box, win.rect())
    assert QRect(d.mapTo(author, QPoint(0, 0)), d.size()).bottom() < author.height()
    assert d.visibleRegion().boundingRect() == d.rect()  # no parent cuts it
    assert d.sizeHint().height() <= d.height(), (d.sizeHint(), d.height())
    doc = QTextDocument()  # laid out in the pane: no word wider, no line below its bottom
    doc.setDocumentMargin(0)
    doc.setDefaultFont(d.font())
    doc.setHtml(d.text())
    room = d.contentsRect().adjusted(d.margin(), d.margin(), -d.margin(), -d.margin())
    doc.setTextWidth(room.width())
    assert doc.idealWidth() <= room.width(), (doc.idealWidth(), room)
    assert doc.size().height() <= room.height() + 1, (doc.size(), room)


def _rows_in_sight(t: QTableWidget) -> int:
    h = t.viewport().height()
    return sum(t.rowViewportPosition(r) + t.rowHeight(r) <= h for r in range(t.rowCount()))


@pytest.fixture
def window(qapp, tmp_path: Path) -> Iterator[MainWindow]:
    """The main window at 1280x800 on a copy of the demo plant, its Author tab shown."""
    plant = tmp_path / "fab.yaml"
    shutil.copy(find_demo_plant(), plant)
    w = open_train_window(tmp_path, plant, size=(1280, 800))
    try:
        w.tabs.setCurrentWidget(w.train)
        w.train.side.setCurrentWidget(w.train.author)
        wait_until(lambda: w.train.author.injections.rowCount() > 0, 10, "the injections")
        yield w
    finally:
        close_train_window(w)


@pytest.fixture
def author(window: MainWindow) -> QtDrillAuthor:
    """The Author tab on etch_helium_leak with four injections added, one of them (the
    third row) with a long message: six injections, five responses."""
    author: QtDrillAuthor = window.train.author
    author.show_drill("etch_helium_leak")
    author.set_tool("ETCH-02")
    fields = {"at_s": 900.0, "fault": "tag_drift", "equipment": "ETCH-02",
              "tag": "chamber_pressure", "value": 9.0, "duration_s": 1800.0,
              "message": MESSAGE}  # fmt: skip
    assert author.add_injection(fields), author.problems.text()
    for k in range(3):  # six injections: the table must still show five whole rows
        more = {"at_s": 1500.0 + 600 * k, "fault": "comm_loss", "equipment": "ETCH-02",
                "duration_s": 120.0, "message": f"a short message {k}"}  # fmt: skip
        assert author.add_injection(more), author.problems.text()
    _settle()
    assert author.injections.rowCount() == 6
    return author


def _assert_first_lines_whole(t: QTableWidget) -> None:
    """The fault and tool of each injection (its first line) have the room to show whole."""
    fm = t.fontMetrics()
    margin = t.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, t) + 1
    room = t.columnWidth(1) - 2 * margin
    for r in range(t.rowCount()):
        first = t.item(r, 1).text().split("\n")[0]
        assert fm.horizontalAdvance(first) <= room, (first, room)
        assert one_line(breakable(t.item(r, 1).text()), fm, room).startswith(breakable(first))


def test_the_detail_pane_shows_the_selected_row_whole_and_follows_it(
    author: QtDrillAuthor,
) -> None:
    inj, resp = author.injections, author.responses
    assert author.selected_row() is None
    assert _shown(author) == NO_ROW
    # the table cuts the long message (one line per row, five rows in sight) ...
    assert inj.rowHeight(2) == inj.verticalHeader().minimumSectionSize()
    assert inj.fontMetrics().horizontalAdvance(MESSAGE) > inj.columnWidth(4)
    assert _rows_in_sight(inj) >= max(TABLE_ROWS, 5)
    assert _rows_in_sight(resp) >= TABLE_ROWS
    _assert_first_lines_whole(inj)
    # ... the pane under the tables shows the selected injection whole
    inj.selectRow(2)
    _settle()
    assert author.selected_row() == ("injection", 2)
    text = _shown(author)
    assert MESSAGE in text, text
    for part in ("Injection 3", "tag_drift", "ETCH-02", "at 900 s", "for 1800 s",
                 "tag chamber_pressure", "value 9"):  # fmt: skip
        assert part in text, (part, text)
    _assert_whole_in_sight(author)
    assert _rows_in_sight(inj) >= max(TABLE_ROWS, 5)  # the pane takes the forms' room
    assert author.forms_scroll.height() > 0
    # a response selected: the injection's selection goes, the pane shows the response
    resp.selectRow(2)
    _settle()
    assert author.selected_row() == ("response", 2)
    assert not inj.selectionModel().selectedRows()
    text = _shown(author)
    assert "Response 3" in text and "open_procedure" in text, text
    assert "procedure etch-chamber-wet-clean; within 600 s of injection 1 (leak)" in text
    assert "; 10 points." in text, text
    _assert_whole_in_sight(author)
    hh = resp.horizontalHeader()  # a selected row leaves the headers in the font measured
    assert not hh.highlightSections()
    assert all(hh.sectionSize(j) >= header_text_width(resp, j) for j in range(4))
    # a lane of the timeline selects its row: the pane follows
    author.select_lane(2)
    _settle()
    assert author.selected_row() == ("injection", 2) and MESSAGE in _shown(author)


def test_the_detail_pane_follows_edits_undo_redo_and_removal(author: QtDrillAuthor) -> None:
    inj, resp = author.injections, author.responses
    inj.selectRow(2)
    _settle()
    # an edit in place, its undo and redo: the pane shows the drill as it is now
    height = author.detail.height()
    inj.item(2, 4).setText("Short now")
    _settle()
    assert author.drill().injections[2].message == "Short now"  # type: ignore[union-attr]
    assert "Message: Short now" in _shown(author) and MESSAGE not in _shown(author)
    author.undo_stack.undo()
    _settle()
    assert MESSAGE in _shown(author) and author.selected_row() == ("injection", 2)
    assert author.detail.height() == height
    _assert_whole_in_sight(author)
    author.undo_stack.redo()
    _settle()
    assert "Message: Short now" in _shown(author)
    # a message longer than the pane keeps room for: the pane grows, the text whole;
    # the forms give way first, the tables keep TABLE_ROWS rows in sight
    inj.item(2, 4).setText(LONGER)
    _settle()
    assert LONGER in _shown(author) and author.detail.height() > height
    _assert_whole_in_sight(author)
    assert _rows_in_sight(inj) >= TABLE_ROWS and _rows_in_sight(resp) >= TABLE_ROWS
    author.undo_stack.undo()
    author.undo_stack.undo()
    _settle()
    assert MESSAGE in _shown(author) and author.detail.height() == height
    assert _rows_in_sight(inj) >= max(TABLE_ROWS, 5)
    # the row removed: the next one takes its place, highlighted and in the pane
    author.remove_inj_button.click()
    _settle()
    assert inj.rowCount() == 5 and author.selected_row() == ("injection", 2)
    assert "a short message 0" in _shown(author) and MESSAGE not in _shown(author)
    inj.clearSelection()  # nothing selected: the pane says so
    _settle()
    assert author.selected_row() is None and _shown(author) == NO_ROW


def test_an_injection_on_an_event_shows_its_trigger_and_lot_whole(window: MainWindow) -> None:
    author: QtDrillAuthor = window.train.author
    author.show_drill("furnace_breakdown_hot_lot")
    _settle()
    author.injections.selectRow(1)
    _settle()
    text = _shown(author)
    for part in ("Injection 2 (hot)", "hot_lot", "FURN_OX",
                 "when FURN-03 enters unscheduled_down (+60 s)", "route step 2",
                 "product LOGIC-A", "lot HOT-0001", "priority 100",
                 "Customer hot lot HOT-0001 arrives for gate oxidation"):  # fmt: skip
        assert part in text, (part, text)
    _assert_whole_in_sight(author)
