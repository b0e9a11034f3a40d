"""The Plan workspace's side panels: scenarios, palette, placement, changes, problems,
flows and capacity. Each panel draws what it is given and emits what the planner asked
for; :mod:`factory_twin.ui.qt_plan_workspace` turns that into scenario changes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QDrag
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.flow_matrix import FlowFigure, FlowMatrix, flow_matrix
from factory_twin.app.plan_session import fmt_distance
from factory_twin.model import schema as s
from factory_twin.model.flows import FlowTable
from factory_twin.model.layout_check import LayoutProblem
from factory_twin.model.plan_figures import CapacityComparison
from factory_twin.ui.qt_flow_grid import QtFlowGrid
from factory_twin.ui.qt_tables import cell, row_table
from factory_twin.ui.theme import coloured

TYPE_MIME = "application/x-factory-twin-equipment-type"
RED = QColor(235, 60, 60)
PathRole = Qt.ItemDataRole.UserRole


def pct(v: float) -> str:
    """A utilisation as a percentage (``inf`` for a group that cannot keep up at all)."""
    return "∞" if not math.isfinite(v) else f"{v:.0%}"


class QtScenarioList(QWidget):
    """The plant and its scenarios (base first), their file actions and notes."""

    chosen = Signal(object)  # Path of a scenario, or None for the base plant
    new_requested = Signal()
    duplicate_requested = Signal()
    rename_requested = Signal()
    delete_requested = Signal()
    notes_edited = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setObjectName("plan_scenarios")
        self.list.currentItemChanged.connect(self._on_current)
        self.notes = QPlainTextEdit()
        self.notes.setObjectName("plan_notes")
        self.notes.setPlaceholderText("notes on this scenario (saved with it)")
        self.notes.setMaximumHeight(70)
        self.notes.textChanged.connect(lambda: self.notes_edited.emit(self.notes.toPlainText()))
        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, sig, tip in (
            ("new", "New", self.new_requested, "a new empty scenario of this plant"),
            ("dup", "Copy", self.duplicate_requested, "duplicate the selected scenario"),
            ("ren", "Rename", self.rename_requested, "rename the selected scenario's file"),
            ("del", "Delete", self.delete_requested, "delete it (kept as .bak)"),
        ):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(lambda _=False, sg=sig: sg.emit())
            row.addWidget(b)
            self.buttons[key] = b
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(QLabel("Scenarios"))
        lay.addWidget(self.list, 1)
        lay.addLayout(row)
        lay.addWidget(self.notes)

    def set_scenarios(
        self,
        entries: Sequence[tuple[str, Path]],
        broken: Sequence[tuple[Path, str]] = (),
        current: Path | None = None,
    ) -> None:
        """List the base (first) and its scenarios; a broken file is listed with its reason."""
        self.list.blockSignals(True)
        self.list.clear()
        pick = 0
        for k, (name, path) in enumerate(entries):
            it = QListWidgetItem(f"{name}  (base)" if k == 0 else name)
            it.setData(PathRole, None if k == 0 else str(path))
            it.setToolTip(str(path))
            self.list.addItem(it)
            if current is not None and k > 0 and Path(path) == current:
                pick = k
        for path, why in broken:
            it = QListWidgetItem(f"{path.name}  (does not read)")
            it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            it.setForeground(QBrush(RED))
            it.setToolTip(why)
            self.list.addItem(it)
        self.list.setCurrentRow(pick)
        self.list.blockSignals(False)
        self._sync_buttons()

    def current_path(self) -> Path | None:
        """The selected scenario's file (None for the base)."""
        it = self.list.currentItem()
        v = it.data(PathRole) if it is not None else None
        return Path(v) if v else None

    def set_notes(self, text: str, editable: bool) -> None:
        """Show a scenario's notes (no signal)."""
        self.notes.blockSignals(True)
        self.notes.setPlainText(text)
        self.notes.setReadOnly(not editable)
        self.notes.blockSignals(False)

    def _sync_buttons(self) -> None:
        has = self.current_path() is not None
        for key in ("dup", "ren", "del"):
            self.buttons[key].setEnabled(has)

    def _on_current(self, *_: object) -> None:
        self._sync_buttons()
        self.chosen.emit(self.current_path())


class QtPalette(QListWidget):
    """Equipment types to drag onto the floor (a new tool of that type where dropped)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("plan_palette")
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setToolTip("drag a type onto the floor to add a tool of it")

    def set_types(self, spec: s.PlantSpec) -> None:
        """List the plant's equipment types with their tool counts."""
        self.clear()
        count: dict[str, int] = {}
        for e in spec.equipment:
            count[e.type] = count.get(e.type, 0) + 1
        for t in spec.equipment_types:
            it = QListWidgetItem(f"{t.id}  ({count.get(t.id, 0)})")
            it.setData(PathRole, t.id)
            what = " ".join(x for x in (t.manufacturer, t.model) if x) or t.kind.value
            it.setToolTip(f"{t.id} ({what}): drag onto the floor to add one")
            self.addItem(it)

    def mimeData(self, items: Sequence[QListWidgetItem]) -> QMimeData:
        """The dragged type's id, as :data:`TYPE_MIME`."""
        md = QMimeData()
        if items:
            md.setData(TYPE_MIME, str(items[0].data(PathRole)).encode("utf-8"))
        return md

    def mimeTypes(self) -> list[str]:
        """The one MIME type the palette drags."""
        return [TYPE_MIME]

    def startDrag(self, actions: Qt.DropAction) -> None:
        """Drag the current type as a copy."""
        items = self.selectedItems()
        if not items:
            return
        drag = QDrag(self)
        drag.setMimeData(self.mimeData(items))
        drag.exec(Qt.DropAction.CopyAction)


class QtPlacement(QWidget):
    """Exact position and rotation of the selected tool."""

    apply_requested = Signal(float, float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tool = QLabel("no tool selected")
        self.x_box = QDoubleSpinBox()
        self.y_box = QDoubleSpinBox()
        self.rot_box = QDoubleSpinBox()
        for w, name in (
            (self.x_box, "plan_x"),
            (self.y_box, "plan_y"),
            (self.rot_box, "plan_rot"),
        ):
            w.setObjectName(name)
            w.setDecimals(2)
            w.setRange(-1e5, 1e5)
            w.setKeyboardTracking(False)
        self.x_box.setSuffix(" m")
        self.y_box.setSuffix(" m")
        self.rot_box.setSuffix(" °")
        self.rot_box.setRange(0, 359.99)
        self.rot_box.setWrapping(True)
        self.apply = QPushButton("Place")
        self.apply.setToolTip("move the selected tool exactly here (one change)")
        self.apply.clicked.connect(
            lambda: self.apply_requested.emit(
                self.x_box.value(), self.y_box.value(), self.rot_box.value()
            )
        )
        form = QFormLayout(self)
        form.setContentsMargins(2, 2, 2, 2)
        form.addRow(self.tool)
        form.addRow("x", self.x_box)
        form.addRow("y", self.y_box)
        form.addRow("rotation", self.rot_box)
        form.addRow(self.apply)
        self.show_tool(None)

    def show_tool(self, eq: s.Equipment | None, editable: bool = False) -> None:
        """Show a tool's placement (None: nothing selected)."""
        on = eq is not None
        for w in (self.x_box, self.y_box, self.rot_box, self.apply):
            w.setEnabled(on and editable)
        if eq is None:
            self.tool.setText("no tool selected")
            return
        self.tool.setText(f"{eq.id} ({eq.type}, {eq.group}, bay {eq.bay})")
        for w, v in ((self.x_box, eq.position_m[0]), (self.y_box, eq.position_m[1])):
            w.blockSignals(True)
            w.setValue(float(v))
            w.blockSignals(False)
        self.rot_box.setValue(float(eq.rotation_deg) % 360)


class QtChangeList(QWidget):
    """The scenario's changes in words; select one to highlight its tools."""

    selected = Signal(int)  # -1: none
    remove_requested = Signal(int)
    move_requested = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setObjectName("plan_changes")
        self.list.setWordWrap(True)
        self.list.currentRowChanged.connect(self.selected.emit)
        #: what the empty list means, in place of it (set_changes)
        self.hint = QLabel()
        self.hint.setObjectName("plan_changes_hint")
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        row = QHBoxLayout()
        self.remove = QPushButton("Remove")
        self.up = QPushButton("Up")
        self.down = QPushButton("Down")
        self.remove.setToolTip("take this change out of the scenario (undoable)")
        self.up.setToolTip("apply this change earlier")
        self.down.setToolTip("apply this change later")
        self.remove.clicked.connect(lambda: self._emit_remove())
        self.up.clicked.connect(lambda: self._emit_move(-1))
        self.down.clicked.connect(lambda: self._emit_move(1))
        for b in (self.remove, self.up, self.down):
            row.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.hint, 1)
        lay.addWidget(self.list, 1)
        lay.addLayout(row)

    def set_changes(
        self, words: Sequence[str], bad: Sequence[int] = (), *, empty: str = ""
    ) -> None:
        """List the changes in words (those at fault in red); keeps the selected row. With
        none, ``empty`` says why in place of the list (and Remove, Up, Down are off)."""
        self.hint.setText(empty)
        self.hint.setVisible(not words and bool(empty))
        self.list.setVisible(bool(words) or not empty)
        for b in (self.remove, self.up, self.down):
            b.setEnabled(bool(words))
        row = self.list.currentRow()
        self.list.blockSignals(True)
        self.list.clear()
        for k, w in enumerate(words):
            it = QListWidgetItem(f"{k + 1}. {w}")
            it.setToolTip(w)
            if k in bad:
                it.setForeground(QBrush(RED))
            self.list.addItem(it)
        if 0 <= row < len(words):
            self.list.setCurrentRow(row)
        self.list.blockSignals(False)

    def _emit_remove(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.remove_requested.emit(row)

    def _emit_move(self, step: int) -> None:
        row = self.list.currentRow()
        new = row + step
        if row >= 0 and 0 <= new < self.list.count():
            self.move_requested.emit(row, new)


class QtProblemList(QListWidget):
    """Layout problems (blocking in red) and the scenario's own problems."""

    tool_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("plan_problems")
        self.setWordWrap(True)
        self.itemClicked.connect(self._on_click)

    def set_problems(self, layout: Sequence[LayoutProblem], scenario: Sequence[str]) -> None:
        """Show the layout problems (blocking ones first: what must be fixed to validate)
        and the scenario's other problems (a change that no longer fits, ...)."""
        self.clear()
        blocking = [p for p in layout if p.blocking]
        warnings = [p for p in layout if not p.blocking]
        for p in blocking + warnings:
            tag = "must fix" if p.blocking else "warning"
            it = QListWidgetItem(f"{tag}: {p.message}")
            it.setData(PathRole, p.tool_id)
            it.setForeground(QBrush(RED if p.blocking else QColor(230, 150, 30)))
            it.setToolTip(p.message)
            self.addItem(it)
        for text in scenario:
            it = QListWidgetItem(f"scenario: {text}")
            it.setForeground(QBrush(RED))
            it.setToolTip(text)
            self.addItem(it)
        if self.count() == 0:
            it = QListWidgetItem("no layout problems")
            it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            self.addItem(it)

    def _on_click(self, it: QListWidgetItem) -> None:
        tid = it.data(PathRole)
        if tid:
            self.tool_clicked.emit(str(tid))


class QtFlowPanel(QWidget):
    """Total transport per day and the from-to grid of the scenario against the base.

    Rows are the groups lots leave, columns where they go; a cell shows the figure the
    selector asks for (moves per day, distance-weighted flow or its change against the
    base), shaded from light (small) to strong (large), or red (more transport) and blue
    (less) for the change. ``order`` puts the groups in route order (the workspace sets
    it from the plant); "busiest first" sorts them by their flow in and out.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headline = QLabel("")
        self.headline.setObjectName("plan_flow_headline")
        self.headline.setWordWrap(True)
        self.legend = QLabel(
            "Overlay: ribbon width = moves/day, colour = distance per move (blue short, red long)."
        )
        self.legend.setWordWrap(True)
        self.figure = QComboBox()
        self.figure.setObjectName("plan_flow_figure")
        for f in FlowFigure:
            self.figure.addItem(f.value, f)
        self.figure.setToolTip(
            "what a cell shows: lot moves per day, metres travelled per day (moves x "
            "distance per move), or that against the base (red more, blue less)"
        )
        self.order_box = QComboBox()
        self.order_box.setObjectName("plan_flow_order")
        self.order_box.addItems(["route order", "busiest first"])
        self.order_box.setToolTip(
            "rows and columns in the order the routes first reach the groups, or the "
            "groups with the most of the figure (in plus out) first"
        )
        self.figure.currentIndexChanged.connect(lambda _i: self._show())
        self.order_box.currentIndexChanged.connect(lambda _i: self._show())
        self.grid = QtFlowGrid()
        self.grid.setToolTip("rows: from, columns: to; Ctrl+C copies the selected cells")
        row = QHBoxLayout()
        row.addWidget(QLabel("Cells:"))
        row.addWidget(self.figure, 1)
        row.addWidget(self.order_box)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.headline)
        lay.addWidget(self.legend)
        lay.addLayout(row)
        lay.addWidget(self.grid, 1)
        self.total_m_per_day = math.nan
        self.order: list[str] = []
        self.matrix: FlowMatrix | None = None

    def show_flows(self, base: FlowTable, now: FlowTable) -> None:
        """Fill the headline and the from-to grid."""
        self.total_m_per_day = now.total_distance_m_per_day
        d = now.total_distance_m_per_day - base.total_distance_m_per_day
        sign = "+" if d >= 0 else "-"
        self.headline.setText(
            f"<b>Transport: {fmt_distance(now.total_distance_m_per_day)}</b> "
            f"(base {fmt_distance(base.total_distance_m_per_day)}, {sign}"
            f"{fmt_distance(abs(d))}), {now.total_moves_per_day:.0f} moves/day, "
            f"{now.total_transport_s_per_day / 3600:.1f} carrier-h/day"
        )
        self.matrix = flow_matrix(base, now, self.order)
        self._show()

    @property
    def figure_shown(self) -> FlowFigure:
        """What the cells show."""
        return FlowFigure(self.figure.currentData())

    def _show(self) -> None:
        m = self.matrix
        if m is None:
            return
        fig = self.figure_shown
        if self.order_box.currentIndex() == 1:
            m = m.busiest_first(fig)
        self.grid.show_matrix(m, fig)


class QtCapacityPanel(QWidget):
    """Per tool group loading, base vs scenario, and a dispatch rule editor."""

    dispatch_requested = Signal(str, str)

    NOTE = (
        "Static estimate: long-run load against available time (failures, PMs, setups), "
        "no queueing. The simulation (Compare scenarios) is the honest answer."
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headline = QLabel("")
        self.headline.setObjectName("plan_capacity_headline")
        self.headline.setWordWrap(True)
        note = QLabel(self.NOTE)
        note.setObjectName("plan_capacity_note")
        note.setWordWrap(True)
        self.table = row_table(
            ["group", "tools", "base", "scenario", "change", "dispatch"], name="plan_capacity"
        )
        self.group = QComboBox()
        self.group.setObjectName("plan_dispatch_group")
        self.rule = QComboBox()
        self.rule.setObjectName("plan_dispatch_rule")
        for r in s.DispatchRule:
            self.rule.addItem(r.value, r.value)
        self.set_rule = QPushButton("Set rule")
        self.set_rule.setToolTip("change the group's dispatch rule (one scenario change)")
        self.set_rule.clicked.connect(
            lambda: self.dispatch_requested.emit(
                self.group.currentText(), str(self.rule.currentData())
            )
        )
        row = QHBoxLayout()
        row.addWidget(QLabel("Dispatch:"))
        row.addWidget(self.group, 1)
        row.addWidget(self.rule, 1)
        row.addWidget(self.set_rule)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.headline)
        lay.addWidget(note)
        lay.addWidget(self.table, 1)
        lay.addLayout(row)

    def show_capacity(self, cmp: CapacityComparison, spec: s.PlantSpec) -> None:
        """Fill the table: groups over 100 % in red, the bottlenecks named."""
        moved = "" if not cmp.bottleneck_moved else " (moved)"
        over = cmp.over_capacity
        self.headline.setText(
            f"<b>Bottleneck: {cmp.scenario_bottleneck or '-'}</b>{moved}, base "
            f"{cmp.base_bottleneck or '-'}; "
            + (
                coloured("error", f"over 100 %: {', '.join(over)}")
                if over
                else "no group over 100 %"
            )
        )
        rules = {g.id: g.dispatch.value for g in spec.tool_groups}
        t = self.table
        t.setUpdatesEnabled(False)
        t.setRowCount(len(cmp.rows))
        for r, row in enumerate(cmp.rows):
            bt = row.base.tools if row.base is not None else 0
            st = row.scenario.tools if row.scenario is not None else 0
            ch = row.change
            cells = [
                cell(
                    row.group + ("  ◀ bottleneck" if row.group == cmp.scenario_bottleneck else "")
                ),
                cell(f"{bt}" if bt == st else f"{bt} → {st}", right=True),
                cell(pct(row.base_utilisation), right=True),
                cell(pct(row.scenario_utilisation), right=True),
                cell("" if not math.isfinite(ch) or abs(ch) < 5e-4 else f"{ch:+.1%}", right=True),
                cell(rules.get(row.group, "fifo")),
            ]
            if row.base_over:
                cells[2].setForeground(QBrush(RED))
            if row.scenario_over:
                cells[3].setForeground(QBrush(RED))
                cells[0].setForeground(QBrush(RED))
            for c, it in enumerate(cells):
                t.setItem(r, c, it)
        t.setUpdatesEnabled(True)
        keep = self.group.currentText()
        self.group.blockSignals(True)
        self.group.clear()
        self.group.addItems([row.group for row in cmp.rows])
        if keep:
            self.group.setCurrentText(keep)
        self.group.blockSignals(False)

    def row_colour(self, group: str, column: int = 3) -> QColor:
        """The text colour of a group's cell (tests read the red this way)."""
        for r in range(self.table.rowCount()):
            it = self.table.item(r, 0)
            if it is not None and it.text().split()[0] == group:
                item = self.table.item(r, column)
                assert item is not None
                return item.foreground().color()
        raise KeyError(group)
