"""The alarm panel (ISA-18.2 style) and the alarm journal dialog."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.alarm_journal import PRIORITIES, AlarmJournal, priority_of, priority_rank
from factory_twin.app.plant_state import AlarmRecord, PlantState
from factory_twin.model.events import AlarmEvent, AlarmState, ShelvingState
from factory_twin.ui.qt_detail_panel import format_ts
from factory_twin.ui.qt_drill_link import enable_unless_lost
from factory_twin.ui.qt_wrap_bar import QtWrapBar
from factory_twin.ui.theme import current_dark, text_colour

logger = logging.getLogger(__name__)

PRIORITY_COLORS = {"critical": "#ff3b3b", "high": "#ff8c1a", "medium": "#f2c12e", "low": "#4cc9f0"}
# on the light theme the priorities take the theme's text colours of the same meaning
PRIORITY_ROLES = {"critical": "error", "high": "caution", "medium": "warning", "low": "info"}
PRIORITY_COLORS_LIGHT = {p: text_colour(role, dark=False) for p, role in PRIORITY_ROLES.items()}
STATE_TEXT = {
    AlarmState.ACTIVE_UNACKED: "Active, unacknowledged",
    AlarmState.ACTIVE_ACKED: "Active, acknowledged",
    AlarmState.CLEARED_UNACKED: "Returned, unacknowledged",
    AlarmState.CLEARED: "Returned to normal",
}
COLUMNS = ("Priority", "Time", "Source", "Message", "State")
# What the panel lists: the operator's list hides shelved and out-of-service alarms (ISA-18.2
# suppression); the second view shows only those, so nothing suppressed is forgotten.
SHOW_OPERATOR, SHOW_SUPPRESSED, SHOW_ALL = 0, 1, 2
SHELVE_HOUR_S = 3600.0


def suppression_text(ev: AlarmEvent) -> str:
    """Return how an alarm is suppressed ('' if it is not), e.g. 'shelved, 42 min left'."""
    parts = []
    if ev.shelving is ShelvingState.TIMED:
        parts.append(f"shelved, {max(ev.unshelve_time_s, 0) / 60:.0f} min left at last change")
    elif ev.shelving is ShelvingState.ONE_SHOT:
        parts.append("shelved until it clears")
    if ev.out_of_service:
        parts.append("out of service")
    return "; ".join(parts)


class AlarmTableModel(QAbstractTableModel):
    """The standing alarms of a plant state."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[AlarmRecord] = []

    def set_rows(self, rows: list[AlarmRecord]) -> None:
        """Replace the rows."""
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        rec = self.rows[index.row()]
        ev = rec.event
        pr = priority_of(ev.severity)
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            sup = suppression_text(ev)
            return (
                pr.capitalize(),
                format_ts(rec.raised_s),
                ev.equipment,
                f"{ev.message} [{ev.code}]",
                STATE_TEXT[rec.state] + (f" ({sup})" if sup else ""),
            )[col]
        if role == Qt.ItemDataRole.UserRole:  # sort keys
            return (
                priority_rank(pr),
                rec.raised_s,
                ev.equipment,
                ev.message,
                list(AlarmState).index(rec.state),
            )[col]
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == 0:
                return QBrush(
                    QColor((PRIORITY_COLORS if current_dark() else PRIORITY_COLORS_LIGHT)[pr])
                )
            if rec.state is AlarmState.ACTIVE_UNACKED:
                return QBrush(QColor(text_colour("error")))
        if role == Qt.ItemDataRole.FontRole and rec.state is AlarmState.ACTIVE_UNACKED:
            from PySide6.QtGui import QFont

            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.ToolTipRole:
            extra = f"\nacknowledged by {ev.user}: {ev.comment}" if ev.acked and ev.user else ""
            sup = suppression_text(ev)
            if sup:
                extra += f"\n{sup}" + (f" by {ev.user}: {ev.comment}" if ev.user else "")
            return f"{ev.equipment} {ev.code} {pr} priority (severity {ev.severity}){extra}"
        return None


class _AlarmFilter(QSortFilterProxyModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.text = ""
        self.max_rank = 4
        self.show = SHOW_OPERATOR
        self.setSortRole(Qt.ItemDataRole.UserRole)

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        m = self.sourceModel()
        assert isinstance(m, AlarmTableModel)
        rec = m.rows[row]
        if self.show != SHOW_ALL and rec.event.suppressed != (self.show == SHOW_SUPPRESSED):
            return False
        if priority_rank(priority_of(rec.event.severity)) > self.max_rank:
            return False
        if self.text:
            hay = f"{rec.event.equipment} {rec.event.message} {rec.event.code}".lower()
            return self.text.lower() in hay
        return True


class QtAlarmPanel(QWidget):
    """Standing alarms: sortable, filterable; Acknowledge, shelve, out of service, fly-to-tool.

    Shelved and out-of-service alarms leave the operator's list (the default view) and are
    listed under "Shelved / out of service". Shelving and out of service ask for a reason.
    """

    fly_to_requested = Signal(str)
    acknowledge_requested = Signal(str, str)  # alarm id, comment
    shelve_requested = Signal(str, object, float, str)  # alarm id, ShelvingState, s, reason
    out_of_service_requested = Signal(str, bool, str)  # alarm id, out, reason
    journal_requested = Signal()
    procedure_requested = Signal(str, str)  # equipment, alarm code

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state: PlantState | None = None
        # a drill class shares one simulated plant: each trainee acknowledges for themself,
        # so an alarm another trainee acknowledged can be acknowledged again
        self.reacknowledge = False
        # a trainee's connection to the drill server is lost: acknowledging, shelving and
        # opening the linked procedure, which go to that server, are greyed out until it is
        # back (set_drill_link_lost)
        self.drill_link_lost = False
        self._dirty = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        bar = QtWrapBar()
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter alarms (tool, text, code)")
        self.filter_edit.setClearButtonEnabled(True)
        self.priority_combo = QComboBox()
        self.priority_combo.addItems(
            ["All priorities", "Critical", "High and above", "Medium and above"]
        )
        self.show_combo = QComboBox()
        self.show_combo.addItems(["Operator list", "Shelved / out of service", "All alarms"])
        self.show_combo.setToolTip(
            "shelved and out-of-service alarms are kept off the operator list"
        )
        self.count_label = QLabel("0 alarms")
        self.ack_button = QPushButton("Acknowledge…")
        self.ack_button.setEnabled(False)
        self.shelve_button = QPushButton("Shelve")
        self.shelve_button.setToolTip(
            "shelve, unshelve, or take the selected alarm out of service"
        )
        self.shelve_button.setEnabled(False)
        self.shelve_menu = QMenu(self)
        self.shelve_hour_action = self.shelve_menu.addAction("Shelve for 1 h…")
        self.shelve_once_action = self.shelve_menu.addAction("Shelve until it clears…")
        self.unshelve_action = self.shelve_menu.addAction("Unshelve")
        self.shelve_menu.addSeparator()
        self.out_of_service_action = self.shelve_menu.addAction("Out of service…")
        self.in_service_action = self.shelve_menu.addAction("Return to service")
        self.shelve_button.setMenu(self.shelve_menu)
        self.journal_button = QPushButton("Journal…")
        self.procedure_button = QPushButton("Open procedure")
        self.procedure_button.setToolTip("open the maintenance procedure linked to this alarm")
        self.procedure_button.setEnabled(False)
        # the filters, then the count and the actions: one row, or two in a narrow dock
        self.filter_edit.setMinimumWidth(140)
        self.count_label.setWordWrap(True)  # a long count takes two lines, not the buttons
        bar.add_group(
            [self.filter_edit, self.priority_combo, self.show_combo], stretch=self.filter_edit
        )
        bar.add_group(
            [
                self.count_label,
                self.ack_button,
                self.shelve_button,
                self.procedure_button,
                self.journal_button,
            ],
            stretch=self.count_label,
        )
        self.bar = bar
        lay.addWidget(bar)
        self.model = AlarmTableModel(self)
        self.proxy = _AlarmFilter(self)
        self.proxy.setSourceModel(self.model)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(1, Qt.SortOrder.DescendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().setVisible(False)
        self.view.setAlternatingRowColors(True)
        hh = self.view.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.view, 1)
        self.filter_edit.textChanged.connect(self._on_filter_changed)
        self.priority_combo.currentIndexChanged.connect(self._on_filter_changed)
        self.show_combo.currentIndexChanged.connect(self._on_filter_changed)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._on_context_menu)
        self.shelve_hour_action.triggered.connect(
            lambda: self._shelve(ShelvingState.TIMED, SHELVE_HOUR_S)
        )
        self.shelve_once_action.triggered.connect(lambda: self._shelve(ShelvingState.ONE_SHOT))
        self.unshelve_action.triggered.connect(lambda: self._shelve(ShelvingState.UNSHELVED))
        self.out_of_service_action.triggered.connect(lambda: self._out_of_service(True))
        self.in_service_action.triggered.connect(lambda: self._out_of_service(False))
        self.view.doubleClicked.connect(self._on_double_click)
        self.view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.ack_button.clicked.connect(self._on_ack_clicked)
        self.journal_button.clicked.connect(self.journal_requested.emit)
        self.procedure_button.clicked.connect(self._on_procedure_clicked)

    def set_state(self, state: PlantState | None) -> None:
        """Follow a plant state."""
        if self.state is not None:
            self.state.alarms_changed.disconnect(self._on_alarms_changed)
        self.state = state
        if state is not None:
            state.alarms_changed.connect(self._on_alarms_changed)
        self._dirty = True
        self.refresh()

    def _on_alarms_changed(self, _events: list) -> None:
        self._dirty = True

    def refresh(self) -> None:
        """Rebuild the table if alarms changed (called on the GUI timer)."""
        if not self._dirty:
            return
        self._dirty = False
        sel = self.selected_alarm_id()
        self.model.set_rows(self.state.alarm_list() if self.state is not None else [])
        rows = self.model.rows
        suppressed = sum(1 for r in rows if r.event.suppressed)
        unacked = sum(1 for r in rows if not r.event.acked and not r.event.suppressed)
        shown = len(rows) - suppressed
        text = f"{shown} alarm{'' if shown == 1 else 's'}, {unacked} unacknowledged"
        self.count_label.setText(
            text + (f", {suppressed} shelved/out of service" if suppressed else "")
        )
        self.bar.relayout()  # the count's width changed
        if sel is not None:
            self.select_alarm(sel)
        self._on_selection_changed()

    def _on_filter_changed(self) -> None:
        self.proxy.text = self.filter_edit.text().strip()
        self.proxy.max_rank = {0: 4, 1: 1, 2: 2, 3: 3}[self.priority_combo.currentIndex()]
        self.proxy.show = self.show_combo.currentIndex()
        self.proxy.invalidate()

    def _record_at(self, proxy_row: int) -> AlarmRecord:
        src = self.proxy.mapToSource(self.proxy.index(proxy_row, 0))
        return self.model.rows[src.row()]

    def selected_alarm_id(self) -> str | None:
        """Return the id of the selected alarm."""
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return None
        return self._record_at(rows[0].row()).event.alarm_id

    def select_alarm(self, alarm_id: str) -> bool:
        """Select an alarm by id; return False if it is not shown."""
        for r in range(self.proxy.rowCount()):
            if self._record_at(r).event.alarm_id == alarm_id:
                self.view.selectRow(r)
                return True
        return False

    def set_drill_link_lost(self, lost: bool) -> None:
        """Grey out Acknowledge, Shelve and Open procedure (an opened procedure is reported
        to the drill) while the connection to the drill server is lost (``lost``), with a
        tooltip saying why; their own rules again once it is back."""
        self.drill_link_lost = lost
        self._on_selection_changed()

    def _on_selection_changed(self, *_: Any) -> None:
        aid = self.selected_alarm_id()
        rec = self.state.alarms.get(aid) if (self.state is not None and aid) else None
        lost = self.drill_link_lost
        enable_unless_lost(
            self.ack_button, rec is not None and (not rec.event.acked or self.reacknowledge), lost
        )
        enable_unless_lost(self.procedure_button, rec is not None, lost)  # opened in a drill
        enable_unless_lost(self.shelve_button, rec is not None, lost)
        ev = None if rec is None or lost else rec.event  # no shelving from the context menu
        shelved = ev is not None and ev.shelving is not ShelvingState.UNSHELVED
        self.shelve_hour_action.setEnabled(
            ev is not None and ev.shelving is not ShelvingState.TIMED
        )
        self.shelve_once_action.setEnabled(
            ev is not None and ev.shelving is not ShelvingState.ONE_SHOT
        )
        self.unshelve_action.setEnabled(shelved)
        self.out_of_service_action.setEnabled(ev is not None and not ev.out_of_service)
        self.in_service_action.setEnabled(ev is not None and ev.out_of_service)

    def _on_context_menu(self, pos: Any) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        self.view.selectRow(index.row())
        self._on_selection_changed()
        self.shelve_menu.popup(self.view.viewport().mapToGlobal(pos))

    def ask_reason(self, title: str, label: str) -> str | None:
        """Ask for the reason of a shelve or out of service (None: cancelled or empty)."""
        text, ok = QInputDialog.getText(self, title, label)
        text = text.strip()
        return text if ok and text else None

    def _selected_event(self) -> AlarmEvent | None:
        aid = self.selected_alarm_id()
        rec = self.state.alarms.get(aid) if (self.state is not None and aid) else None
        return rec.event if rec is not None else None

    def _shelve(self, kind: ShelvingState, duration_s: float = 0.0) -> None:
        ev = self._selected_event()
        if ev is None:
            return
        reason = ""
        if kind is not ShelvingState.UNSHELVED:
            how = "for 1 h" if kind is ShelvingState.TIMED else "until it returns to normal"
            got = self.ask_reason(
                "Shelve alarm",
                f"{ev.equipment}: {ev.message}\n\nShelve {how}. Reason (required):",
            )
            if got is None:
                return
            reason = got
        self.shelve_requested.emit(ev.alarm_id, kind, float(duration_s), reason)

    def _out_of_service(self, out: bool) -> None:
        ev = self._selected_event()
        if ev is None:
            return
        reason = ""
        if out:
            got = self.ask_reason(
                "Out of service",
                f"{ev.equipment}: {ev.message}\n\nTake this alarm out of service. "
                "Reason (required):",
            )
            if got is None:
                return
            reason = got
        self.out_of_service_requested.emit(ev.alarm_id, out, reason)

    def _on_procedure_clicked(self) -> None:
        aid = self.selected_alarm_id()
        rec = self.state.alarms.get(aid) if (self.state is not None and aid) else None
        if rec is not None:
            self.procedure_requested.emit(rec.event.equipment, rec.event.code)

    def _on_double_click(self, index: QModelIndex) -> None:
        self.fly_to_requested.emit(self._record_at(index.row()).event.equipment)

    def _on_ack_clicked(self) -> None:
        aid = self.selected_alarm_id()
        if aid is None:
            return
        from PySide6.QtWidgets import QInputDialog

        rec = self.state.alarms.get(aid) if self.state is not None else None
        label = f"{rec.event.equipment}: {rec.event.message}\n\nComment:" if rec else "Comment:"
        comment, ok = QInputDialog.getText(self, "Acknowledge alarm", label)
        if ok:
            self.acknowledge_requested.emit(aid, comment)


class QtJournalDialog(QDialog):
    """Search the alarm journal by time, tool, priority and text; export to CSV."""

    def __init__(self, journal: AlarmJournal, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Alarm journal")
        self.resize(900, 520)
        self.journal = journal
        self.entries: list = []
        lay = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.tool_edit = QLineEdit()
        self.tool_edit.setPlaceholderText("Tool")
        self.tool_edit.setMinimumWidth(self.tool_edit.fontMetrics().horizontalAdvance("M" * 9))
        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText("Text in message, code or comment")
        self.text_edit.setMinimumWidth(
            self.text_edit.fontMetrics().horizontalAdvance(self.text_edit.placeholderText()) + 16
        )
        self.priority_combo = QComboBox()
        self.priority_combo.addItems(["Any priority", *[p.capitalize() for p in PRIORITIES]])
        self.from_spin = QDoubleSpinBox()
        self.to_spin = QDoubleSpinBox()
        for sp, tip in ((self.from_spin, "from (s)"), (self.to_spin, "to (s, 0 = no limit)")):
            sp.setRange(0, 1e12)
            sp.setDecimals(0)
            sp.setSuffix(" s")
            sp.setSpecialValueText("no limit")  # 0: the search has no bound on that side
            sp.setToolTip(f"alarm time {tip}")
        search = QPushButton("Search")
        search.setDefault(True)
        export = QPushButton("Export CSV…")
        for w in (
            QLabel("From"),
            self.from_spin,
            QLabel("to"),
            self.to_spin,
            self.tool_edit,
            self.priority_combo,
            self.text_edit,
            search,
            export,
        ):
            bar.addWidget(w)
        lay.addLayout(bar)
        self.table = QTableWidget(0, 8)
        self.table.setHorizontalHeaderLabels(
            ["Time", "Tool", "Priority", "State", "Code", "Message", "User", "Comment"]
        )
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setStretchLastSection(True)
        lay.addWidget(self.table, 1)
        self.summary = QLabel()
        lay.addWidget(self.summary)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.reject)
        lay.addWidget(box)
        search.clicked.connect(self.search)
        export.clicked.connect(self._on_export)
        for e in (self.tool_edit, self.text_edit):
            e.returnPressed.connect(self.search)
        self.search()

    def search(self) -> None:
        """Run the query of the filter fields."""
        pi = self.priority_combo.currentIndex()
        self.entries = self.journal.search(
            start_s=self.from_spin.value() or None,
            end_s=self.to_spin.value() or None,
            equipment=self.tool_edit.text().strip() or None,
            priorities=[PRIORITIES[pi - 1]] if pi > 0 else None,
            text=self.text_edit.text().strip() or None,
        )
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.entries))
        for r, e in enumerate(self.entries):
            for c, v in enumerate(
                [
                    format_ts(e.time_s),
                    e.equipment,
                    e.priority,
                    e.state,
                    e.code,
                    e.message,
                    e.user,
                    e.comment,
                ]
            ):
                self.table.setItem(r, c, QTableWidgetItem(str(v)))
        self.table.setSortingEnabled(True)
        self.table.resizeColumnsToContents()
        n = len(self.entries)
        self.summary.setText(
            f"{n} transition{'' if n == 1 else 's'} (of {self.journal.count()} stored)"
        )

    def _on_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export alarm journal", "alarm_journal.csv", "CSV files (*.csv)"
        )
        if not path:
            return
        try:
            self.journal.export_csv(path, self.entries)
        except OSError as exc:
            QMessageBox.warning(self, "Export failed", f"Cannot write {path}:\n{exc}")
