"""Row tables of the side panels (Maintain, Train, Plan): one set-up, one kind of cell.

:func:`row_table` makes a ``QTableWidget`` that lists records one a row: no row numbers,
a click selects the whole row, read-only unless asked, columns sized to their contents
with one column taking the rest of the width. :func:`cell` makes one cell: read-only
unless asked, with an optional tooltip, right alignment (numbers) and text colour.
:func:`fit_columns` sizes a table filled by hand: every column to its contents and the last
one stretched to the table's width (never narrower than its own contents).
:func:`fit_text_columns` sizes a narrow side panel's table: every column to its contents
within limits, long text columns shortened first (never below their header) so that the
columns fit the table's width, and the last stretched over what is left.
:func:`fit_wrapped_columns` sizes a table with one long text column (a timeline's events,
a debrief's expected actions): that column takes the width the others leave and wraps its
text there, so the table never scrolls sideways; :func:`fill_wrapped` fills such a table,
each cell's whole text also its tooltip. :func:`break_names` lets the text of some columns
wrap inside names as well (after ``_`` or ``.``: ``immersion_water_temperature``);
:func:`widest_word` is how narrow a column may get before a word of it is cut. With ``keep_rows``,
:func:`fit_wrapped_columns` caps the rows' height (:func:`row_cap`) so that a short table still
shows that many rows, their texts elided to whole lines (the tooltips have them whole); a row
cut to one line draws its lines joined by " · " (:func:`one_line`: the first line whole where
it fits).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import partial

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionHeader,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
)

MIN_WRAP_PX = 100
"""The wrapping column of :func:`fit_wrapped_columns` is never narrower than this."""


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
    # a selected row selects all its columns: a table view would set every header in bold,
    # telling nothing and cutting the headers the column fits measure in the normal font
    hh.setHighlightSections(False)
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


TEXT_MAX_PX = 260
"""The widest a column grows to show its contents (longer text is elided, its cell's
tooltip shows it whole)."""


def header_text_width(table: QTableWidget, column: int) -> int:
    """The width (pixels) the header of ``column`` needs to show its text uncut: the text
    in the header's font plus the style's margins on both sides."""
    hh = table.horizontalHeader()
    item = table.horizontalHeaderItem(column)
    text = item.text() if item is not None else str(column + 1)
    opt = QStyleOptionHeader()
    opt.initFrom(hh)
    margin = hh.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, opt, hh)
    fm = hh.fontMetrics()  # a header of two lines ("Resp. /\nlimit") is as wide as its widest
    return max(fm.horizontalAdvance(line) for line in text.split("\n")) + 2 * margin + 2


def _floor(table: QTableWidget, column: int) -> int:
    """The narrowest a column may get: its header uncut."""
    hh = table.horizontalHeader()
    return max(hh.sectionSizeHint(column), header_text_width(table, column))


def shrink_columns(natural: list[int], floors: list[int], room: int) -> list[int]:
    """Widths within ``room``: the widest columns are cut to a common cap first, none
    below its floor (the sum may stay over ``room`` when the floors alone are)."""
    if sum(natural) <= room:
        return list(natural)
    lo, hi = 0, max(natural)
    while lo < hi:  # the largest cap that fits
        cap = (lo + hi + 1) // 2
        if sum(max(f, min(n, cap)) for n, f in zip(natural, floors, strict=True)) <= room:
            lo = cap
        else:
            hi = cap - 1
    return [max(f, min(n, lo)) for n, f in zip(natural, floors, strict=True)]


def _fit_text(table: QTableWidget, max_px: int) -> None:
    n = table.columnCount()
    hh = table.horizontalHeader()
    shown = [j for j in range(n) if not hh.isSectionHidden(j)]
    if not shown:
        return
    floors = [_floor(table, j) for j in shown]
    natural = [
        max(f, min(max_px, table.sizeHintForColumn(j))) for j, f in zip(shown, floors, strict=True)
    ]
    room = table.viewport().width()
    widths = shrink_columns(natural, floors, room)
    widths[-1] = max(widths[-1], room - sum(widths[:-1]))  # the last takes what is left
    for j, width in zip(shown, widths, strict=True):
        hh.resizeSection(j, width)


class _WidthFit(QObject):
    """Calls ``refit(table)`` whenever a table's viewport changes width (not on a change of
    its height alone); one per kind of fit (its object name) on a table."""

    def __init__(self, table: QTableWidget, name: str) -> None:
        super().__init__(table)
        self.setObjectName(name)
        self.table = table
        self.refit: Callable[[QTableWidget], None] = lambda _t: None
        self.width = -1
        table.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.table.viewport().width() != self.width:
            self.width = self.table.viewport().width()
            self.refit(self.table)
        return False


def _refit_on_width(table: QTableWidget, name: str, refit: Callable[[QTableWidget], None]) -> None:
    """Fit ``table`` now with ``refit`` and again whenever its width changes (the fit
    named ``name`` installed before, if any, now calls this ``refit``)."""
    fit = table.findChild(_WidthFit, name)
    if fit is None:
        fit = _WidthFit(table, name)
    fit.refit = refit
    fit.width = table.viewport().width()
    refit(table)


def fit_text_columns(table: QTableWidget, max_px: int = TEXT_MAX_PX) -> None:
    """Size the columns of ``table`` (a side panel's, filled by hand) to fit its width.

    Each column gets its contents' width, at most ``max_px`` (a long text is elided, not
    a reason for a horizontal scroll bar) and never less than its header text. If they
    still do not fit, the widest are shortened to a common width (never below their
    header), and the last column stretches over what is left. The user can drag the
    columns; the table is refitted when its width changes. Call it again after a fill.
    """
    hh = table.horizontalHeader()
    hh.setStretchLastSection(False)
    hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    hh.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    _refit_on_width(table, "fit_text_columns", partial(_fit_text, max_px=max_px))


# ---------------------------------------------------------------------- a wrapping column


def _wrap_columns(wrap: int | Sequence[int], n: int) -> list[int]:
    """The wrapping columns of a table of ``n`` columns, in order (any not in it: the last)."""
    asked = [wrap] if isinstance(wrap, int) else list(wrap)
    got = sorted({j for j in asked if 0 <= j < n})
    return got or ([n - 1] if n else [])


def row_cap(table: QTableWidget, keep_rows: int) -> int:
    """The tallest a row of ``table`` may be for ``keep_rows`` rows to show in its height: a
    whole number of text lines, at least one (the header's least row height).

    Each line after the first adds the font's line spacing to the least height (a one-line
    row, with its air); a row of text cut there shows its last line elided."""
    least = table.verticalHeader().minimumSectionSize()
    line = table.fontMetrics().lineSpacing()
    room = table.viewport().height() // max(keep_rows, 1)
    return least + max(0, (room - least) // max(line, 1)) * line


def _fit_rows(table: QTableWidget, keep_rows: int) -> None:
    """Rows as tall as their wrapped text; with ``keep_rows``, none taller than
    :func:`row_cap`."""
    table.resizeRowsToContents()
    if keep_rows <= 0:
        return
    cap = row_cap(table, keep_rows)
    for r in range(table.rowCount()):
        if table.rowHeight(r) > cap:
            table.setRowHeight(r, cap)


class _RowFit(QObject):
    """Refits a table's row heights (:func:`_fit_rows`) when its viewport's height changes."""

    def __init__(self, table: QTableWidget) -> None:
        super().__init__(table)
        self.table = table
        self.keep_rows = 0
        self.height = -1
        table.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.table.viewport().height() != self.height:
            self.height = self.table.viewport().height()
            _fit_rows(self.table, self.keep_rows)
        return False


def _fit_wrapped(
    table: QTableWidget,
    wrap: int | Sequence[int],
    share: float = 0.0,
    keep_rows: int = 0,
    first_lines: Sequence[int] = (),
) -> None:
    n = table.columnCount()
    wraps = _wrap_columns(wrap, n)
    if not wraps:
        return
    hh = table.horizontalHeader()
    shown = [j for j in range(n) if j not in wraps and not hh.isSectionHidden(j)]
    width = table.viewport().width()
    # the other columns fit their contents; in a narrow pane the widest of them are cut,
    # not below their header nor their widest word (a cut text wraps at its spaces: "1:45 /
    # 2:00" on two lines), so the wrapping columns keep their least width
    natural = [max(table.sizeHintForColumn(j), hh.sectionSizeHint(j)) for j in shown]
    floors = [max(header_text_width(table, j), widest_word(table, j)) for j in shown]
    wrap_heads = [max(header_text_width(table, w), widest_word(table, w)) for w in wraps]
    wrap_least = max(
        sum(hh.sectionSizeHint(w) for w in wraps), MIN_WRAP_PX, sum(wrap_heads), int(share * width)
    )
    if sum(floors) > width - wrap_least:  # the wrapping columns give way, to their headers
        wrap_least = max(sum(wrap_heads), width - sum(floors))
    if sum(floors) > width - wrap_least:  # narrower still: words and headers are cut (tooltips)
        least = hh.fontMetrics().horizontalAdvance("M…") + 8
        floors = [min(f, least) for f in floors]
    for j, w in zip(shown, shrink_columns(natural, floors, width - wrap_least), strict=True):
        hh.resizeSection(j, w)
    room = max(wrap_least, width - sum(hh.sectionSize(j) for j in shown))
    # the wrapping columns share their room: the widest texts cut to a common width first
    # (they wrap there, not below their headers); the first takes what is left
    floors = [
        max(head, first_line(table, w, " · …")) if w in first_lines else head
        for w, head in zip(wraps, wrap_heads, strict=True)
    ]
    wide = [
        max(table.sizeHintForColumn(w), hh.sectionSizeHint(w), f)
        for w, f in zip(wraps, floors, strict=True)
    ]
    widths = shrink_columns(wide, floors, room)
    widths[0] = max(1, room - sum(widths[1:]))
    if wraps[0] in first_lines:  # its first line whole before the others' widest words
        short = first_line(table, wraps[0]) - widths[0]
        for k in range(len(widths) - 1, 0, -1):
            give = max(0, min(short, widths[k] - header_text_width(table, wraps[k])))
            widths[k] -= give
            widths[0] += give
            short -= give
    for w, px in zip(wraps, widths, strict=True):
        hh.resizeSection(w, px)
    _fit_rows(table, keep_rows)


def fit_wrapped_columns(
    table: QTableWidget,
    wrap: int | Sequence[int] = -1,
    *,
    share: float = 0.0,
    keep_rows: int = 0,
    first_lines: Sequence[int] = (),
) -> None:
    """Size every column of ``table`` but ``wrap`` (a column or several; default: the last)
    to its contents (in a table too narrow for them, the widest are cut, never below their
    header nor their widest word (:func:`widest_word`), so their text wraps at its spaces);
    the ``wrap`` columns take the rest of the width (together at least their headers, their
    widest words, :data:`MIN_WRAP_PX` and ``share`` of the width; the widest texts cut to a
    common width first, the first of them taking what is left) and wrap their text onto more
    lines, also as the table is resized. Only a pane too narrow for every column's widest
    word elides a word (its tooltip has it all). The table never scrolls sideways; call it
    again after a fill.

    ``share`` (0 to 1) favours the wrapping columns in a narrow pane: the others give up
    their one-line width (down to their widest word) before the wrapping ones go below it.

    ``keep_rows`` (> 0) keeps that many rows in sight in a short table: no row is taller
    than :func:`row_cap` (whole lines, at least one; the last line shown is elided, the
    tooltip has the whole text), also as the table's height changes. The wrapping columns of
    ``first_lines`` keep the first line of their texts whole (a row cut to one line shows it),
    with room for a `` · …`` after it while the others keep their headers; the first wrapping
    column's first line whole comes before the other wrapping columns' widest words (a
    one-line row elides them anyway, the tooltips have them whole), never before their
    headers."""
    table.setWordWrap(True)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    # rows fit their wrapped text, a one-line row keeping some air like the other tables
    table.verticalHeader().setMinimumSectionSize(table.fontMetrics().height() + 8)
    hh = table.horizontalHeader()
    hh.setStretchLastSection(False)
    hh.setTextElideMode(Qt.TextElideMode.ElideRight)
    for j in range(table.columnCount()):  # a header cut in a narrow pane: its tooltip whole
        head = table.horizontalHeaderItem(j)
        if head is not None and not head.toolTip():
            head.setToolTip(head.text())
    if keep_rows > 0:
        rows = table.findChild(_RowFit)
        if rows is None:
            rows = _RowFit(table)
        rows.keep_rows = keep_rows
        rows.height = table.viewport().height()
    refit = partial(
        _fit_wrapped, wrap=wrap, share=share, keep_rows=keep_rows, first_lines=first_lines
    )
    _refit_on_width(table, "fit_wrapped_columns", refit)


def fill_wrapped(
    table: QTableWidget,
    rows: list[list[tuple[str, str | None]]],
    wrap: int | Sequence[int] = -1,
) -> None:
    """Replace a table's rows with (text, colour) cells, each text also as its tooltip (a
    narrow pane elides the columns); then :func:`fit_wrapped_columns` (``wrap`` the column
    or columns that wrap, default the last)."""
    table.setRowCount(len(rows))
    for i, row in enumerate(rows):
        for j, (text, colour) in enumerate(row):
            table.setItem(i, j, cell(text, text, colour=colour))
    fit_wrapped_columns(table, wrap)


# ------------------------------------------------------------------ line breaks inside names

_NAME_BREAK = re.compile(r"([_.])(?=[^\W\d_])")
ZWSP = "\u200b"
"""A zero-width space: a place a line may break without anything drawn."""


def breakable(text: str) -> str:
    """``text`` with a zero-width space after each ``_`` or ``.`` followed by a letter, where
    a wrapped line may then break (Qt breaks at spaces and after hyphens only; a tag name
    like ``immersion_water_temperature`` would be elided instead of wrapped).

    Examples
    --------
    >>> breakable("stage_temperature.hi 22.5").split(ZWSP)
    ['stage_', 'temperature.', 'hi 22.5']
    """
    return _NAME_BREAK.sub(rf"\1{ZWSP}", text)


class _NameBreaks(QStyledItemDelegate):
    """Draws (and measures) a cell's text with :func:`breakable` line breaks; the cell's
    own text, its editor and its tooltip stay as they are. In a row one line high (cut so,
    see :func:`row_cap`) its text is drawn on that line, its line breaks as " · " and the
    end elided, rather than wrapped after its first word and elided there; where the
    first line just fits, it is drawn whole and alone, not elided to make room for a
    " · …"."""

    def displayText(self, value: object, locale: object) -> str:
        return breakable(super().displayText(value, locale))  # type: ignore[arg-type]

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        if opt.rect.height() >= 2 * opt.fontMetrics.lineSpacing() or not text:
            super().paint(painter, option, index)
            return
        opt.features &= ~QStyleOptionViewItem.ViewItemFeature.WrapText
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        box = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget)
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1
        opt.text = one_line(text, opt.fontMetrics, box.width() - 2 * margin)
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)


def one_line(text: str, fm: QFontMetrics, room: int) -> str:
    """``text`` for a row one line high, ``room`` pixels wide in ``fm``'s font: its lines
    joined by " · " (the style elides the end); where the first line fits but not with a
    " · …" after it, the first line alone, whole rather than elided."""
    lines = [part.strip() for part in text.splitlines() if part.strip()]
    joined = " · ".join(lines)
    if (
        len(lines) > 1
        and fm.horizontalAdvance(joined) > room
        and fm.horizontalAdvance(lines[0] + " · …") > room >= fm.horizontalAdvance(lines[0])
    ):
        return lines[0]
    return joined


def break_names(table: QTableWidget, columns: Sequence[int]) -> None:
    """Let the wrapped text of ``columns`` of ``table`` break inside names, after ``_`` or
    ``.`` (:func:`breakable`), as well as at spaces."""
    delegate = table.findChild(_NameBreaks)
    if delegate is None:
        delegate = _NameBreaks(table)
    for j in columns:
        table.setItemDelegateForColumn(j, delegate)


# where a wrapped line may break: white space (a zero-width space too), after a hyphen
# followed by a letter (not in "IMP-02": no break before a digit)
_BREAKS = re.compile(rf"[\s{ZWSP}]+|(?<=-)(?=[^\W\d_])")


def widest_word(table: QTableWidget, column: int) -> int:
    """The width (pixels) a cell of ``column`` needs for its widest word: a column at least
    this wide wraps every text there without cutting one (0 for an empty column). Words
    end at white space and after a hyphen before a letter, and inside names after ``_``
    or ``.`` in a column of :func:`break_names`; each cell in its own font."""
    names = isinstance(table.itemDelegateForColumn(column), _NameBreaks)
    most = 0
    for r in range(table.rowCount()):
        item = table.item(r, column)
        if item is None or not item.text():
            continue
        text = breakable(item.text()) if names else item.text()
        font = item.data(Qt.ItemDataRole.FontRole)  # set on the cell (italics), else the table's
        fm = QFontMetrics(font) if font is not None else table.fontMetrics()
        most = max(most, *(fm.horizontalAdvance(w) for w in _BREAKS.split(text)))
    return _text_room(table, most)


def _text_room(table: QTableWidget, px: int) -> int:
    """The column width a cell needs to draw ``px`` pixels of text uncut (0 stays 0)."""
    if not px:
        return 0
    # the cell draws its text inside a margin each side (as the style's item views do), left
    # of the grid line, and elides a line that is a fraction of a pixel too wide
    margin = table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table)
    return px + 2 * (margin + 1) + 2


def first_line(table: QTableWidget, column: int, then: str = "") -> int:
    """The width (pixels) a cell of ``column`` needs for the first line of its text (up to
    its first line break) uncut, and ``then`` after it if more lines follow (`` · …``: a row
    cut to one line, see :func:`one_line`, shows that more follows); each cell in its own
    font (0 for an empty column)."""
    most = 0
    for r in range(table.rowCount()):
        item = table.item(r, column)
        if item is None or not item.text():
            continue
        font = item.data(Qt.ItemDataRole.FontRole)
        fm = QFontMetrics(font) if font is not None else table.fontMetrics()
        first, _, rest = item.text().partition("\n")
        most = max(most, fm.horizontalAdvance(first + (then if rest.strip() else "")))
    return _text_room(table, most)
