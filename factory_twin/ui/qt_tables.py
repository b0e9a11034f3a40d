"""Row tables of the side panels (Maintain, Train, Plan): one set-up, one kind of cell.

:func:`row_table` makes a ``QTableWidget`` that lists records one a row: no row numbers,
a click selects the whole row, read-only unless asked, columns sized to their contents
with one column taking the rest of the width. :func:`cell` makes one cell: read-only
unless asked, with an optional tooltip, right alignment (numbers) and text colour.
:func:`fit_columns` sizes a table filled by hand: every column to its contents and the last
one stretched to the table's width (never narrower than its own contents).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem


def row_table(
    headers: Sequence[str] = (),
    *,
    name: str = "",
    single: bool = False,
    editable: bool = False,
    alternating: bool = False,
    fit: bool = True,
    stretch: int | None = -1,
) -> QTableWidget:
    """Return an empty table with columns ``headers``.

    Parameters
    ----------
    name
        The object name (tests and style sheets find the table by it).
    single
        Select one row at a time.
    editable
        Cells may be edited in place (each cell still decides, see :func:`cell`).
    alternating
        Alternate the rows' background.
    fit
        Size the columns to their contents (the user cannot drag them); False: the caller
        sizes them (e.g. ``resizeColumnsToContents`` after each fill).
    stretch
        The column that takes the remaining width: -1 the last, None none.
    """
    t = QTableWidget(0, len(headers))
    if name:
        t.setObjectName(name)
    if headers:
        t.setHorizontalHeaderLabels(list(headers))
    t.verticalHeader().setVisible(False)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    if single:
        t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    if not editable:
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setAlternatingRowColors(alternating)
    hh = t.horizontalHeader()
    if fit:
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    if stretch == -1:
        hh.setStretchLastSection(True)
    elif stretch is not None:
        hh.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return t


def cell(
    text: str,
    tip: str = "",
    *,
    right: bool = False,
    colour: str | None = None,
    editable: bool = False,
) -> QTableWidgetItem:
    """Return a table cell showing ``text``.

    ``tip`` is its tooltip, ``right`` aligns it right (numbers), ``colour`` (``#rrggbb``)
    colours its text; it is read-only unless ``editable``.
    """
    it = QTableWidgetItem(text)
    if not editable:
        it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if tip:
        it.setToolTip(tip)
    if right:
        it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if colour:
        it.setForeground(QColor(colour))
    return it


class _LastColumnFit(QObject):
    """Refits a table's last column whenever its viewport changes size."""

    def __init__(self, table: QTableWidget) -> None:
        super().__init__(table)
        self.table = table
        table.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            _fit_last(self.table)
        return False


def _fit_last(table: QTableWidget) -> None:
    last = table.columnCount() - 1
    if last < 0:
        return
    hh = table.horizontalHeader()
    others = sum(hh.sectionSize(j) for j in range(last) if not hh.isSectionHidden(j))
    need = max(table.sizeHintForColumn(last), hh.sectionSizeHint(last))
    hh.resizeSection(last, max(need, table.viewport().width() - others))


def fit_last_column(table: QTableWidget) -> None:
    """Stretch the last column of ``table`` over the width the others leave, never narrower
    than its contents (a horizontal scroll bar shows instead); it stays so as the table is
    resized. Unlike ``setStretchLastSection``, the column fills the width at once after a
    fill, not only after the table's next resize."""
    hh = table.horizontalHeader()
    hh.setStretchLastSection(False)
    if table.columnCount():
        hh.setSectionResizeMode(table.columnCount() - 1, QHeaderView.ResizeMode.Interactive)
    if table.findChild(_LastColumnFit) is None:
        _LastColumnFit(table)
    _fit_last(table)


def fit_columns(table: QTableWidget) -> None:
    """Size every column of ``table`` to its contents and stretch the last
    (:func:`fit_last_column`)."""
    table.resizeColumnsToContents()
    fit_last_column(table)
