"""The side panels' row tables and cells (ui/qt_tables.py)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView

from factory_twin.ui.qt_tables import cell, row_table

pytestmark = pytest.mark.gui


def test_a_read_only_row_table_fits_its_columns_and_stretches_the_chosen_one(qtbot):
    t = row_table(["Procedure", "Rev", "Steps"], name="procs", single=True, stretch=0)
    qtbot.addWidget(t)
    assert t.objectName() == "procs" and t.columnCount() == 3 and t.rowCount() == 0
    assert t.horizontalHeaderItem(1).text() == "Rev"
    assert not t.verticalHeader().isVisible()
    assert t.selectionBehavior() == QAbstractItemView.SelectionBehavior.SelectRows
    assert t.selectionMode() == QAbstractItemView.SelectionMode.SingleSelection
    assert t.editTriggers() == QAbstractItemView.EditTrigger.NoEditTriggers
    hh = t.horizontalHeader()
    assert hh.sectionResizeMode(0) == QHeaderView.ResizeMode.Stretch
    assert hh.sectionResizeMode(2) == QHeaderView.ResizeMode.ResizeToContents
    assert not hh.stretchLastSection()


def test_an_editable_table_sized_by_its_caller(qtbot):
    t = row_table(["At", "Value"], editable=True, fit=False, alternating=True)
    qtbot.addWidget(t)
    assert t.editTriggers() != QAbstractItemView.EditTrigger.NoEditTriggers
    assert t.selectionMode() == QAbstractItemView.SelectionMode.ExtendedSelection
    assert t.alternatingRowColors() and t.horizontalHeader().stretchLastSection()
    assert t.horizontalHeader().sectionResizeMode(0) == QHeaderView.ResizeMode.Interactive


def test_cells_are_read_only_unless_asked_and_carry_tip_alignment_and_colour():
    c = cell("12.5", "mean of 10 runs", right=True, colour="#ff0000")
    assert c.text() == "12.5" and c.toolTip() == "mean of 10 runs"
    assert not c.flags() & Qt.ItemFlag.ItemIsEditable
    assert c.textAlignment() == int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    assert c.foreground().color().name() == "#ff0000"
    e = cell("60", editable=True)
    assert e.flags() & Qt.ItemFlag.ItemIsEditable and e.toolTip() == ""


def test_fit_text_columns_keeps_headers_whole_and_every_column_in_the_table(qtbot):
    from PySide6.QtWidgets import QStyle

    from factory_twin.ui.qt_tables import fit_text_columns

    t = row_table(["At (s)", "Fault", "Tool", "Duration (s)", "Message"], fit=False)
    qtbot.addWidget(t)
    long = "the chamber pressure drifts above its high limit an hour into the shift " * 2
    t.setRowCount(2)
    for r, row in enumerate(
        [["3600", "tag_drift", "ETCH-01", "1800", long], ["7200", "x", "y", "", "z"]]
    ):
        for j, text in enumerate(row):
            t.setItem(r, j, cell(text, text))
    t.resize(460, 200)
    t.show()
    qtbot.waitExposed(t)
    fit_text_columns(t)
    hh = t.horizontalHeader()
    margin = hh.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, hh)

    def widths() -> list[int]:
        return [hh.sectionSize(j) for j in range(t.columnCount())]

    for j, w in enumerate(widths()):
        text = t.horizontalHeaderItem(j).text()
        assert w >= hh.fontMetrics().horizontalAdvance(text) + 2 * margin, (text, w)
    assert sum(widths()) == t.viewport().width()  # all inside, the last filling the rest
    qtbot.waitUntil(lambda: t.horizontalScrollBar().maximum() == 0)  # no scroll bar
    # short columns keep their contents' width; the long text is the one shortened
    assert widths()[2] >= t.sizeHintForColumn(2)
    assert widths()[4] < t.sizeHintForColumn(4)
    # made wider, the table refits: the last column takes the new width
    before = widths()
    t.resize(900, 200)
    qtbot.waitUntil(lambda: t.viewport().width() > 800)
    qtbot.waitUntil(lambda: sum(widths()) == t.viewport().width())
    assert widths()[4] > before[4]
    assert hh.sectionResizeMode(0) == QHeaderView.ResizeMode.Interactive  # the user may drag


def test_several_columns_wrap_and_names_break_after_underscores(qtbot):
    from factory_twin.ui.qt_tables import ZWSP, break_names, breakable, fill_wrapped

    t = row_table(["At", "Name", "Value", "Message"], fit=False)
    qtbot.addWidget(t)
    t.resize(300, 300)
    t.show()
    qtbot.waitExposed(t)
    message = "Immersion water thermistor frozen while the stage chiller loop runs warm"
    rows = [["120", "tag_stuck SCAN-02\nimmersion_water_temperature", "22.045", message]]
    break_names(t, (1, 3))
    fill_wrapped(t, [[(text, None) for text in row] for row in rows], (1, 3))
    hh = t.horizontalHeader()

    def widths() -> list[int]:
        return [hh.sectionSize(j) for j in range(t.columnCount())]

    qtbot.waitUntil(lambda: sum(widths()) == t.viewport().width())
    # the numbers keep their contents' width; the two text columns share the rest and wrap
    for j in (0, 2):
        assert widths()[j] >= t.sizeHintForColumn(j)
    fm = t.fontMetrics()
    assert fm.horizontalAdvance("immersion_water_temperature") > widths()[1]
    assert fm.horizontalAdvance(message) > widths()[3]
    assert t.rowHeight(0) >= 3 * fm.height()
    # the name breaks after its underscores where it is drawn; the cell keeps its text
    assert t.item(0, 1).text() == rows[0][1] and t.item(0, 1).toolTip() == rows[0][1]
    shown = t.itemDelegateForColumn(1).displayText(rows[0][1], t.locale())
    # (Qt draws a new line as a line separator)
    assert shown.replace("\u2028", "\n") == breakable(rows[0][1]) and shown.count(ZWSP) == 3
    assert t.itemDelegateForColumn(0) is None  # the numbers: no breaks
    # made wide enough for every text on one line: the first text column takes the rest
    t.resize(1200, 300)
    qtbot.waitUntil(lambda: t.viewport().width() > 1100)
    qtbot.waitUntil(lambda: sum(widths()) == t.viewport().width())
    assert widths()[3] >= t.sizeHintForColumn(3)
    assert widths()[1] > t.sizeHintForColumn(1)
    assert t.rowHeight(0) < 3 * fm.height()


def test_keep_rows_cuts_tall_rows_to_whole_lines_while_the_table_is_short(qtbot):
    from factory_twin.ui.qt_tables import break_names, fill_wrapped, fit_wrapped_columns, row_cap

    t = row_table(["At", "Injection", "Value", "Message"], fit=False)
    qtbot.addWidget(t)
    t.resize(340, 150)
    t.show()
    qtbot.waitExposed(t)
    message = "Immersion water thermistor frozen while the stage chiller loop runs warm"
    rows = [[str(60 * k), f"tag_stuck SCAN-0{k}\nimmersion_water_temperature", "22.5", message]
            for k in range(6)]  # fmt: skip
    break_names(t, (1, 3))
    fill_wrapped(t, [[(text, None) for text in row] for row in rows], (1, 3))
    fit_wrapped_columns(t, (1, 3), keep_rows=4, first_lines=(1,))
    fm = t.fontMetrics()
    least = t.verticalHeader().minimumSectionSize()
    whole = t.sizeHintForRow(0)
    assert whole >= least + 2 * fm.lineSpacing()  # the text wraps onto three lines or more

    def in_sight() -> int:
        h = t.viewport().height()
        return sum(t.rowViewportPosition(r) + t.rowHeight(r) <= h for r in range(t.rowCount()))

    # short: rows cut to whole lines (one here), at least four of them in sight
    cap = row_cap(t, 4)
    assert least <= cap <= max(least, t.viewport().height() // 4)
    assert (cap - least) % fm.lineSpacing() == 0
    qtbot.waitUntil(lambda: all(t.rowHeight(r) <= cap for r in range(t.rowCount())))
    assert in_sight() >= 4
    # the injection's first line ("tag_stuck SCAN-05") keeps its width; the message gives way
    assert t.columnWidth(1) >= fm.horizontalAdvance("tag_stuck SCAN-05")
    assert t.columnWidth(3) < fm.horizontalAdvance(message)
    for r in range(t.rowCount()):  # what is cut is in the tooltips
        assert t.item(r, 3).toolTip() == message and t.item(r, 1).toolTip() == rows[r][1]
    assert not t.grab().isNull()  # the one-line rows draw (line breaks as " · ", elided)
    # made tall (its width alone unchanged): every row shows its whole text again
    t.resize(340, 6 * whole + 80)
    qtbot.waitUntil(lambda: all(t.rowHeight(r) >= whole for r in range(t.rowCount())))
    assert in_sight() == 6


def test_a_one_line_row_keeps_the_first_line_whole_before_eliding_it(qapp):
    from PySide6.QtGui import QFontMetrics

    from factory_twin.ui.qt_tables import one_line

    fm = QFontMetrics(qapp.font())
    text = "tag_drift ETCH-02\nchamber_pressure\n"
    first = fm.horizontalAdvance("tag_drift ETCH-02")
    # room for all: the lines joined; room for the first and " · …": joined (the style
    # elides after the first line); room for the first line only: the first line alone
    assert one_line(text, fm, 1000) == "tag_drift ETCH-02 · chamber_pressure"
    assert one_line(text, fm, fm.horizontalAdvance("tag_drift ETCH-02 · …")) == (
        "tag_drift ETCH-02 · chamber_pressure"
    )
    assert one_line(text, fm, first) == "tag_drift ETCH-02"
    assert one_line(text, fm, first - 1) == "tag_drift ETCH-02 · chamber_pressure"  # elided
    assert one_line("breakdown ETCH-02", fm, 10) == "breakdown ETCH-02"
