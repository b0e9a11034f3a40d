"""The from-to grid of the Plan workspace's Flows tab: a :class:`~factory_twin.app.
flow_matrix.FlowMatrix` as a table, one heat-coloured cell per pair of tool groups.

:class:`FlowGridModel` serves the cells from the matrix's arrays (only the cells on
screen are asked for, so a plant of a hundred groups refreshes while a tool is dragged);
:class:`QtFlowGrid` is the view: compact cells, names cut in the headers (whole in their
tooltips, with the group's totals), Ctrl+C copies the selected cells as tab-separated text.
Choosing a cell tells :attr:`QtFlowGrid.pair_chosen` its groups (the Plan view lights them);
clearing the selection tells it two empty names.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from factory_twin.app.flow_matrix import (
    FlowFigure,
    FlowMatrix,
    compact,
    short_name,
)

ROW_NAME_CHARS = 14
COLUMN_NAME_CHARS = 9
HEAT_LOW = (255, 237, 210)  # the smallest flow: a light cream
HEAT_HIGH = (190, 30, 20)  # the largest: a strong red
MORE = (200, 40, 40)  # change vs base: more transport (worse)
LESS = (30, 100, 200)  # less transport (better)
WHITE = (255, 255, 255)

Index = QModelIndex | QPersistentModelIndex


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], f: float) -> QColor:
    return QColor(*(round(x + (y - x) * f) for x, y in zip(a, b, strict=True)))


def cell_colour(shade: float, figure: FlowFigure) -> QColor | None:
    """Return a cell's background: heat from light to strong by ``shade`` in [0, 1], or for
    a change red (more) / blue (less) from white by ``shade`` in [-1, 1]; None for 0."""
    if shade == 0:
        return None
    if figure is FlowFigure.CHANGE:
        return _mix(WHITE, MORE if shade > 0 else LESS, 0.15 + 0.85 * abs(shade))
    return _mix(HEAT_LOW, HEAT_HIGH, shade)


def text_colour(background: QColor) -> QColor:
    """Black on a light background, white on a dark one (either theme)."""
    luma = 0.299 * background.red() + 0.587 * background.green() + 0.114 * background.blue()
    return QColor(0, 0, 0) if luma > 140 else QColor(255, 255, 255)


class FlowGridModel(QAbstractTableModel):
    """A flow matrix's cells: text, colours and words of the chosen figure."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.matrix = FlowMatrix([], *(np.zeros((0, 0)) for _ in range(4)))
        self.figure = FlowFigure.MOVES
        self._values = np.zeros((0, 0))
        self._shades = np.zeros((0, 0))
        self._totals = (np.zeros(0), np.zeros(0))

    def set_matrix(self, matrix: FlowMatrix, figure: FlowFigure) -> None:
        """Show ``matrix``'s ``figure``: the cells change in place when the groups stay."""
        same = matrix.groups == self.matrix.groups
        if not same:
            self.beginResetModel()
        self.matrix, self.figure = matrix, figure
        self._values = matrix.values(figure)
        self._shades = matrix.shades(figure)
        self._totals = matrix.totals(figure)
        if not same:
            self.endResetModel()
            return
        n = len(matrix.groups)
        if n:
            self.dataChanged.emit(self.index(0, 0), self.index(n - 1, n - 1))
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, n - 1)
            self.headerDataChanged.emit(Qt.Orientation.Vertical, 0, n - 1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """One row per group (none under a parent: a flat table)."""
        return 0 if parent.isValid() else len(self.matrix.groups)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """One column per group."""
        return 0 if parent.isValid() else len(self.matrix.groups)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """A cell's text, background, text colour, alignment or tooltip."""
        if not index.isValid():
            return None
        i, j = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return compact(float(self._values[i, j]), signed=self.figure is FlowFigure.CHANGE)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.matrix.tip(i, j)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole):
            bg = cell_colour(float(self._shades[i, j]), self.figure)
            if bg is None:
                return None
            return bg if role == Qt.ItemDataRole.BackgroundRole else text_colour(bg)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        """A group's name (cut to fit) and, in the tooltip, whole with its total."""
        if not 0 <= section < len(self.matrix.groups):
            return None
        name = self.matrix.groups[section]
        rows = orientation == Qt.Orientation.Vertical
        if role == Qt.ItemDataRole.DisplayRole:
            return short_name(name, ROW_NAME_CHARS if rows else COLUMN_NAME_CHARS)
        if role == Qt.ItemDataRole.ToolTipRole:
            total = self._totals[0 if rows else 1][section]
            way = "from" if rows else "to"
            change = self.figure is FlowFigure.CHANGE
            return (
                f"{way} {name}: {compact(float(total), signed=change) or '0'} {self.figure.value}"
            )
        return None


class QtFlowGrid(QTableView):
    """The from-to grid: compact cells, the pair's headers lit, Ctrl+C copies.

    :attr:`pair_chosen` carries the current cell's groups (from, to) whenever the chosen
    cell changes, and ``("", "")`` when no cell is selected any more.
    """

    pair_chosen = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("plan_flow_grid")
        self.grid_model = FlowGridModel(self)
        self.setModel(self.grid_model)
        self.pair: tuple[str, str] | None = None
        self.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.selectionModel().currentChanged.connect(
            lambda _now, _before: self._on_selection_changed()
        )
        self.grid_model.modelReset.connect(self._on_selection_changed)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setWordWrap(False)
        font = self.font()
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        self.setFont(font)
        cols, rows = self.horizontalHeader(), self.verticalHeader()
        for h in (cols, rows):
            h.setFont(font)
            h.setHighlightSections(True)
            h.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
            h.setMinimumSectionSize(10)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 4)
        rows.setMinimumWidth(self.fontMetrics().horizontalAdvance("M" * 8))

    def show_matrix(self, matrix: FlowMatrix, figure: FlowFigure) -> None:
        """Show ``figure`` of ``matrix``; each column as wide as its name or a figure."""
        fresh = matrix.groups != self.grid_model.matrix.groups
        self.grid_model.set_matrix(matrix, figure)
        if not fresh:
            return
        head = self.horizontalHeader()
        fm = head.fontMetrics()
        least = fm.horizontalAdvance("+888k")
        for j, g in enumerate(matrix.groups):
            name = short_name(g, COLUMN_NAME_CHARS)
            head.resizeSection(j, max(least, fm.horizontalAdvance(name)) + 10)

    def chosen_pair(self) -> tuple[str, str] | None:
        """The groups (from, to) of the chosen cell: the current one if it is selected,
        else the first selected; None when no cell is selected."""
        sm = self.selectionModel()
        picked = sm.selectedIndexes()
        if not picked:
            return None
        cur = self.currentIndex()
        ix = cur if cur.isValid() and sm.isSelected(cur) else picked[0]
        groups = self.grid_model.matrix.groups
        if not (0 <= ix.row() < len(groups) and 0 <= ix.column() < len(groups)):
            return None
        return groups[ix.row()], groups[ix.column()]

    def _on_selection_changed(
        self, _sel: QItemSelection | None = None, _desel: QItemSelection | None = None
    ) -> None:
        pair = self.chosen_pair()
        if pair == self.pair:
            return
        self.pair = pair
        self.pair_chosen.emit(*(pair or ("", "")))

    def copy_text(self) -> str:
        """The selected cells (their rows x columns) as tab-separated text, with names."""
        picked = self.selectionModel().selectedIndexes()
        if not picked:
            return ""
        rows = sorted({ix.row() for ix in picked})
        cols = sorted({ix.column() for ix in picked})
        m = self.grid_model
        return m.matrix.tsv(rows, cols, m.figure)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Ctrl+C copies the selection; other keys as a table takes them."""
        if event.matches(QKeySequence.StandardKey.Copy):
            text = self.copy_text()
            if text:
                QGuiApplication.clipboard().setText(text)
            event.accept()
            return
        super().keyPressEvent(event)
