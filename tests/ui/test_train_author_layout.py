"""The Train workspace's Author tab at 1600x1000 and 1280x800: its side pane is wide enough
and no column of its tables has its header cut or hides past the table's edge; the tables
keep room for several rows (the forms below share a splitter with them and scroll), and
the splitter's sizes are remembered. At 1920x1200 every text of every demo drill's tables is
shown whole: the numbers on one line, the names and messages wrapped (also inside names,
after ``_``) in rows tall enough for them, nothing elided. At 1280x800 the rows are cut to
whole lines so that at least TABLE_ROWS of them are in sight (a drill of six injections shows
five), their texts elided there and whole in their tooltips; the fault and tool of each
injection keep their width before the message."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from _qt_wait import wait_until
from _train_window import close_train_window, open_train_window
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QStyle, QTableWidget

from factory_twin.app.controller import find_demo_plant
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_tables import breakable, row_cap
from factory_twin.ui.qt_train_author import (
    FORMS_MIN_PX,
    INJECTION_WRAP,
    RESPONSE_WRAP,
    TABLE_ROWS,
    QtDrillAuthor,
)
from factory_twin.ui.qt_train_workspace import PANE_LEAST

pytestmark = [pytest.mark.gui, pytest.mark.timeout(180)]


def _window(tmp_path: Path, size: tuple[int, int]) -> MainWindow:
    plant = tmp_path / "fab.yaml"
    if not plant.exists():
        shutil.copy(find_demo_plant(), plant)
    return open_train_window(tmp_path, plant, size=size)


_close = close_train_window


@pytest.fixture(params=[(1600, 1000), (1280, 800)], ids=["1600x1000", "1280x800"])
def win(request, qapp, tmp_path: Path) -> Iterator[MainWindow]:
    w = _window(tmp_path, request.param)
    try:
        yield w
    finally:
        _close(w)


def _header_need(t: QTableWidget, j: int) -> int:
    """The header text's width in the header's font plus the style's margin each side."""
    hh = t.horizontalHeader()
    margin = hh.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, hh)
    return hh.fontMetrics().horizontalAdvance(t.horizontalHeaderItem(j).text()) + 2 * margin


def test_author_tables_show_every_column_with_its_header_uncut(win: MainWindow) -> None:
    ws = win.train
    win.tabs.setCurrentWidget(ws)
    ws.side.setCurrentWidget(ws.author)
    author = ws.author
    # the side pane takes its default share of the width (PANE_FRACTIONS, at least PANE_LEAST)
    assert ws.pane_fit is not None
    wait_until(lambda: abs(ws.side.width() - ws.pane_fit.widths()[2]) <= 2, 10, "the side pane")
    assert ws.side.width() >= PANE_LEAST[1] - 2
    wait_until(lambda: author.injections.rowCount() > 0, 10, "the drill's injections")
    # the 3-D view keeps at least its own least width
    centre = ws.splitter.widget(1)
    assert centre.width() >= centre.minimumWidth()
    for _ in range(5):
        QApplication.processEvents()
    for t in (author.injections, author.responses):
        hh = t.horizontalHeader()
        widths = [hh.sectionSize(j) for j in range(t.columnCount())]
        for j, width in enumerate(widths):
            assert not hh.isSectionHidden(j)
            need = _header_need(t, j)
            assert width >= need, (t.horizontalHeaderItem(j).text(), width, need)
        # every column inside the table: no horizontal scroll bar, the last fills the rest
        assert sum(widths) <= t.viewport().width() + 1, (widths, t.viewport().width())
        assert t.horizontalScrollBar().maximum() == 0
        assert sum(widths) >= t.viewport().width() - 1
        # every cell's tooltip has its whole text
        for r in range(t.rowCount()):
            for j in range(t.columnCount()):
                item = t.item(r, j)
                if item is not None and item.text():
                    assert item.text() in item.toolTip()
    # the forms stand side by side, or one above the other in a narrow pane, each inside it
    boxes = author.add_inj_button.parentWidget(), author.add_resp_button.parentWidget()
    inj, resp = (QRect(b.mapTo(author, QPoint(0, 0)), b.size()) for b in boxes)
    assert inj.right() < resp.left() or inj.bottom() < resp.top()
    assert max(inj.right(), resp.right()) <= author.width()


def _show_author(win: MainWindow) -> None:
    ws = win.train
    win.tabs.setCurrentWidget(ws)
    ws.side.setCurrentWidget(ws.author)
    wait_until(lambda: ws.author.injections.rowCount() > 0, 10, "the drill's injections")
    for _ in range(5):
        QApplication.processEvents()


def test_author_tables_keep_rows_and_the_split_is_remembered(
    win: MainWindow, tmp_path: Path
) -> None:
    _show_author(win)
    author = win.train.author
    # the forms take their whole height where the tables keep TABLE_ROWS rows beside them,
    # else what the tables leave (at least FORMS_MIN_PX); what does not fit scrolls
    _tables_h, forms_h = author.splitter.sizes()
    assert forms_h >= FORMS_MIN_PX
    for t in (author.injections, author.responses):
        row_h = t.verticalHeader().defaultSectionSize()
        assert t.viewport().height() >= TABLE_ROWS * row_h, (t.viewport().height(), row_h)
    sb = author.forms_scroll.verticalScrollBar()
    if win.height() >= 1000:
        assert sb.maximum() == 0  # every field and button of the forms in sight
    author.forms_scroll.ensureWidgetVisible(author.add_resp_button)
    QApplication.processEvents()
    assert not author.add_resp_button.visibleRegion().isEmpty()
    assert not author.save_button.visibleRegion().isEmpty()  # below the splitter, always
    # the user drags the handle up: the forms grow; the next window has the same sizes
    handle = author.splitter.handle(1)
    mid = handle.rect().center()
    QTest.mousePress(handle, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, mid)
    QTest.mouseMove(handle, QPoint(mid.x(), mid.y() - 60))
    QTest.mouseRelease(
        handle, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
        QPoint(mid.x(), mid.y() - 60),
    )  # fmt: skip
    wait_until(lambda: author.splitter.sizes()[1] > forms_h + 30, 5, "the drag")
    dragged = author.splitter.sizes()
    win.settings.sync()
    size = (win.width(), win.height())
    other = _window(tmp_path, size)
    try:
        _show_author(other)
        assert abs(other.train.author.splitter.sizes()[1] - dragged[1]) <= 2, (
            other.train.author.splitter.sizes(),
            dragged,
        )
    finally:
        _close(other)


def _cut_cells(t: QTableWidget, wraps: tuple[int, ...]) -> list[tuple[str, int, int, int]]:
    """The cells whose text the table cannot show whole: (text, its width or height, the
    column's text width or the row's height, the column). A wrapping column's text is laid
    out at the column's width as the cell draws it (breaking at spaces, after hyphens and
    after ``_``); a word wider than the column, or lines taller than the row, are cut. Any
    other column's text must fit on one line."""
    fm = t.fontMetrics()
    margin = t.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, t) + 1
    cut = []
    for j in range(t.columnCount()):
        room = t.columnWidth(j) - 2 * margin
        for r in range(t.rowCount()):
            item = t.item(r, j)
            text = item.text() if item is not None else ""
            if not text:
                continue
            if j not in wraps:
                if fm.horizontalAdvance(text) > room:
                    cut.append((text, fm.horizontalAdvance(text), room, j))
                continue
            flags = int(Qt.TextFlag.TextWordWrap)
            box = fm.boundingRect(QRect(0, 0, room, 10_000), flags, breakable(text))
            if box.width() > room:
                cut.append((text, box.width(), room, j))
            if box.height() > t.rowHeight(r):
                cut.append((text, box.height(), t.rowHeight(r), j))
    return cut


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1200)], ids=["1280x800", "1920x1200"])
def test_author_tables_show_every_drill_text_whole(
    qapp, tmp_path: Path, size: tuple[int, int]
) -> None:
    w = _window(tmp_path, size)
    try:
        _show_author(w)
        author: QtDrillAuthor = w.train.author
        drills = [d.id for d in author.spec.drills]  # type: ignore[union-attr]
        assert len(drills) >= 5
        for drill in drills:
            author.show_drill(drill)
            for _ in range(5):  # a vertical scroll bar that shows refits the columns
                QApplication.processEvents()
            for t, wraps in ((author.injections, INJECTION_WRAP),
                             (author.responses, RESPONSE_WRAP)):  # fmt: skip
                assert t.rowCount() > 0, drill
                assert t.textElideMode() == Qt.TextElideMode.ElideRight
                widths = [t.columnWidth(j) for j in range(t.columnCount())]
                assert sum(widths) <= t.viewport().width() + 1, (drill, widths)
                cap = row_cap(t, TABLE_ROWS)
                assert max(t.rowHeight(r) for r in range(t.rowCount())) <= cap, drill
                for r in range(t.rowCount()):  # what a row cannot show is in its tooltips
                    for j in range(t.columnCount()):
                        item = t.item(r, j)
                        assert item is None or item.text() in item.toolTip()
                if size[1] >= 1200:  # the height for every text whole
                    assert _cut_cells(t, wraps) == [], (drill, size, widths)
        if size[0] == 1280:
            _six_injections_in_sight(author)
    finally:
        _close(w)


def _six_injections_in_sight(author: QtDrillAuthor) -> None:
    """A drill of six injections with long messages, in the 1280x800 window: its rows are
    one line each, at least TABLE_ROWS (here five) of them whole in the table; the fault
    and tool of each keep their width (in the tooltip with the tag)."""
    author.show_drill("etch_helium_leak")
    author.set_tool("ETCH-02")
    for k, (fault, extra) in enumerate([
        ("tag_drift", {"tag": "chamber_pressure", "value": 9.0}),
        ("alarm", {"tag": "helium_leak", "value": 3.0}),
        ("breakdown", {}),
        ("comm_loss", {"duration_s": 120.0}),
    ]):  # fmt: skip
        fields = {"at_s": 900.0 + 600 * k, "fault": fault, "equipment": "ETCH-02",
                  "message": f"a long message to the trainees, number {k}, that the narrow "
                  "pane cannot show on one line", **extra}  # fmt: skip
        assert author.add_injection(fields), author.problems.text()
    for _ in range(5):
        QApplication.processEvents()
    t = author.injections
    assert t.rowCount() == 6
    line = t.verticalHeader().minimumSectionSize()
    assert all(t.rowHeight(r) == line for r in range(6)), [t.rowHeight(r) for r in range(6)]
    h = t.viewport().height()
    in_sight = [r for r in range(6) if t.rowViewportPosition(r) + t.rowHeight(r) <= h]
    assert len(in_sight) >= max(TABLE_ROWS, 5), (in_sight, h, line)
    fm = t.fontMetrics()
    assert t.columnWidth(1) >= fm.horizontalAdvance("tag_drift ETCH-02")
    assert t.item(2, 1).toolTip() == "tag_drift ETCH-02\nchamber_pressure"
