"""The procedure browser of the Maintain workspace: tools on the left, their procedures below."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from factory_twin.model.schema import PlantSpec
from factory_twin.ui.qt_tables import row_table
from factory_twin.ui.theme import coloured, follow_colours

logger = logging.getLogger(__name__)

# two-line headers: the browser pane is narrow, and a centred one-line header was cut at both ends
PROC_COLUMNS = ("Procedure\n(alarm links)", "Rev", "Steps,\ntime")
# under the title while a trainee's connection to the drill server is lost
LOST_NOTE = "Opening one waits: the connection to the drill server is lost."


def format_minutes(seconds: float) -> str:
    """Return a duration as ``45 min`` or ``2 h 15 min``."""
    m = round(seconds / 60)
    if m < 60:
        return f"{m} min"
    return f"{m // 60} h {m % 60:02d} min" if m % 60 else f"{m // 60} h"


class QtProcedureBrowser(QWidget):
    """Tools (filterable), and the procedures of the selected tool's type.

    Signals
    -------
    tool_changed(str)
        The user picked a tool in the list.
    procedure_activated(str, str)
        Tool id and procedure id, on double-click or Enter.
    """

    tool_changed = Signal(str)
    procedure_selected = Signal(str, str)
    procedure_activated = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec: PlantSpec | None = None
        self.tool: str | None = None
        # a trainee's connection to the drill server is lost: the title says that opening a
        # procedure (reported to that server in a drill) waits (set_drill_link_lost)
        self.drill_link_lost = False
        self._title = "<b>Procedures</b>"
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter tools (id, type)")
        self.filter_edit.setClearButtonEnabled(True)
        self.tools = QListWidget()
        self.tools.setObjectName("maintain_tools")
        # a narrow pane elides the types (the ids stay whole; the tooltip has it all)
        self.tools.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tools.setTextElideMode(Qt.TextElideMode.ElideRight)
        split = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("<b>Tools</b> (or click one in the 3\u2011D view)")
        heading.setWordWrap(True)
        tl.addWidget(heading)
        tl.addWidget(self.filter_edit)
        tl.addWidget(self.tools, 1)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel(self._title)
        self.title.setWordWrap(True)
        follow_colours(self.title)
        self.table = row_table(PROC_COLUMNS, name="maintain_procedures", single=True, stretch=0)
        self.table.setWordWrap(True)
        bl.addWidget(self.title)
        bl.addWidget(self.table, 1)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setSizes([300, 300])
        self.splitter = split  # the tools over the procedures (its heights are remembered)
        lay.addWidget(split)
        self.filter_edit.textChanged.connect(self._on_filter_changed)
        self.tools.currentItemChanged.connect(self._on_tool_item_changed)
        self.table.itemSelectionChanged.connect(self._on_proc_selection_changed)
        self.table.itemActivated.connect(self._on_proc_activated)
        self.table.itemDoubleClicked.connect(self._on_proc_activated)

    def set_spec(self, spec: PlantSpec | None) -> None:
        """Show the tools of a plant (those whose type has procedures first)."""
        self.spec = spec
        self.tools.blockSignals(True)
        self.tools.clear()
        if spec is not None:
            with_procs = {p.equipment_type for p in spec.procedures}
            for e in sorted(spec.equipment, key=lambda e: (e.type not in with_procs, e.id)):
                n = len(spec.procedures_for(e.type))
                it = QListWidgetItem(f"{e.id}  ·  {e.type}" + (f"  ({n})" if n else ""))
                it.setData(Qt.ItemDataRole.UserRole, e.id)
                it.setToolTip(f"{e.id}: {e.type}, {n} procedure(s)")
                if not n:  # set apart by the font: a colour taken now would miss a theme change
                    font = it.font()
                    font.setItalic(True)
                    it.setFont(font)
                    it.setToolTip(f"no maintenance procedures for type {e.type} yet")
                self.tools.addItem(it)
        self.tools.blockSignals(False)
        self._on_filter_changed()
        if (
            self.tool is not None
            and spec is not None
            and any(e.id == self.tool for e in spec.equipment)
        ):
            self.select_tool(self.tool, emit=False)
        else:
            self.tool = None
            self.refresh_procedures()

    def select_tool(self, tool_id: str, *, emit: bool = True) -> bool:
        """Select a tool in the list; return False if the plant has no such tool."""
        for r in range(self.tools.count()):
            it = self.tools.item(r)
            if it.data(Qt.ItemDataRole.UserRole) == tool_id:
                self.tools.blockSignals(True)
                self.tools.setCurrentItem(it)
                self.tools.blockSignals(False)
                self.tools.scrollToItem(it)
                self.tool = tool_id
                self.refresh_procedures()
                if emit:
                    self.tool_changed.emit(tool_id)
                return True
        return False

    def _on_filter_changed(self) -> None:
        t = self.filter_edit.text().strip().lower()
        for r in range(self.tools.count()):
            it = self.tools.item(r)
            it.setHidden(bool(t) and t not in it.text().lower())

    def _on_tool_item_changed(self, cur: QListWidgetItem | None, _prev: object) -> None:
        if cur is None:
            return
        self.tool = cur.data(Qt.ItemDataRole.UserRole)
        self.refresh_procedures()
        self.tool_changed.emit(self.tool)

    def refresh_procedures(self, select: str | None = None) -> None:
        """List the procedures of the selected tool's type (keep or set the selection)."""
        keep = select or self.selected_procedure()
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        spec = self.spec
        if spec is None or self.tool is None:
            self._show_title("<b>Procedures</b>: pick a tool")
            self.table.blockSignals(False)
            return
        tool = spec.tool(self.tool)
        procs = spec.procedures_for(tool.type)
        self._show_title(f"<b>Procedures</b> for {tool.id} ({tool.type}): {len(procs)}")
        self.table.setRowCount(len(procs))
        for r, p in enumerate(procs):
            total = sum(s.duration_s for s in p.steps)
            alarms = ", ".join(p.alarm_codes) or "none"
            vals = (
                f"{p.name}\nalarms: {alarms}",
                p.revision,
                f"{len(p.steps)} steps\n{format_minutes(total)}",
            )
            for c, v in enumerate(vals):
                it = QTableWidgetItem(v)
                it.setData(Qt.ItemDataRole.UserRole, p.id)
                it.setToolTip(f"{p.id} rev {p.revision}\n{p.description}" if c == 0 else v)
                self.table.setItem(r, c, it)
        self.table.resizeRowsToContents()
        self.table.blockSignals(False)
        if keep is not None:
            self.select_procedure(keep, emit=False)

    def set_drill_link_lost(self, lost: bool) -> None:
        """Say under the title, in the theme's error colour, that opening a procedure waits
        while the connection to the drill server is ``lost`` (the workspace greys out Open)."""
        self.drill_link_lost = lost
        self._show_title(self._title)

    def _show_title(self, title: str) -> None:
        self._title = title
        lost = coloured("error", LOST_NOTE) if self.drill_link_lost else ""
        self.title.setText(f"{title}<br>{lost}" if lost else title)

    def selected_procedure(self) -> str | None:
        """Return the id of the selected procedure."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        it = self.table.item(rows[0].row(), 0)
        return it.data(Qt.ItemDataRole.UserRole) if it is not None else None

    def select_procedure(self, proc_id: str, *, emit: bool = True) -> bool:
        """Select a procedure row by id."""
        for r in range(self.table.rowCount()):
            it = self.table.item(r, 0)
            if it is not None and it.data(Qt.ItemDataRole.UserRole) == proc_id:
                self.table.blockSignals(not emit)
                self.table.selectRow(r)
                self.table.blockSignals(False)
                return True
        return False

    def _on_proc_selection_changed(self) -> None:
        pid = self.selected_procedure()
        if pid and self.tool:
            self.procedure_selected.emit(self.tool, pid)

    def _on_proc_activated(self, item: QTableWidgetItem) -> None:
        if self.tool:
            self.procedure_activated.emit(self.tool, item.data(Qt.ItemDataRole.UserRole))
