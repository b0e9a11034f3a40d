"""The Train workspace's Author tab: a drill's injections and expected responses on a timeline.

Two tables (injections: time, fault and tool over the tag or event, value, duration, message;
expected responses: action and tool over the procedure, alarm or lot, limit, points, after)
and a timeline strip that draws the injections and each response's window (from its
injection to its limit). *Add injection* and *Add response* take the tool picked in the
3-D view; every change is an undoable :class:`~factory_twin.app.drill_authoring.DrillEdit`
(Ctrl+Z / Ctrl+Shift+Z), refused with a message when it would make the drill invalid. *Save*
writes the plant file atomically, keeping its comments; *Test run* starts the drill alone
(the workspace serves it).

The tables (with the timeline strip and the detail pane) and the forms below them share a
vertical splitter (:attr:`QtDrillAuthor.splitter`): the forms scroll when their pane is short,
and by default take what the tables leave, at least :data:`FORMS_MIN_PX`, so the tables keep
room on a 1280x800 screen (when the tables can show :data:`TABLE_ROWS` rows beside them, the
forms get their whole height); the sizes the user drags are remembered
(:meth:`QtDrillAuthor.remember_split`).

The tables fit the Train workspace's side pane (about 360 px on a 1280x800 screen): the
numbers' columns fit their contents and the text columns share the rest, the fault and tool
of an injection (the first line of its cell) keeping their width before the message; the text
wraps onto more lines, also inside names after ``_`` or ``.``
(:func:`~factory_twin.ui.qt_tables.fit_wrapped_columns`,
:func:`~factory_twin.ui.qt_tables.break_names`), as far as each table still shows
:data:`TABLE_ROWS` rows: in a short table (1280x800) every row is one line, its text elided
there, and each cell's tooltip has its whole text. Under the tables, the detail pane
(:class:`~factory_twin.ui.qt_drill_detail.QtDrillDetail`) shows the row selected in either
table (or by a click on the timeline) whole, wrapped, as the drill has it after each edit, undo
or redo; selecting a row in one table clears the other's selection. On a 1280x800 screen the
forms give it their room (down to :data:`FORMS_MIN_PX`). In a narrow pane the two forms stand
one above the other and the buttons under them take two rows
(:class:`~factory_twin.ui.qt_wrap_bar.QtWrapBar`).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen, QUndoStack
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app import drill_authoring as da
from factory_twin.errors import FactoryTwinError
from factory_twin.model import schema as s
from factory_twin.model.drill_scoring import anchor_of
from factory_twin.ui.qt_drill_detail import QtDrillDetail, injection_detail, response_detail
from factory_twin.ui.qt_tables import break_names, cell, fit_wrapped_columns, row_table
from factory_twin.ui.qt_undo import SpecEditCommand, undo_buttons
from factory_twin.ui.qt_wrap_bar import QtWrapBar
from factory_twin.ui.theme import coloured, remember_panes, text_colour, vertical_scroll

#: shown until a tool is picked (a non-breaking hyphen: a wrapped line never ends in "3-")
NO_TOOL_PICKED = "Picked tool: none (click one in the 3\u2011D view)"

logger = logging.getLogger(__name__)

FAULTS = ("breakdown", "tag_drift", "tag_stuck", "alarm", "comm_loss", "transport_jam",
          "hot_lot", "interlock")  # fmt: skip
SIDE_PANE_PX = 560
"""The side pane's width before the workspace's pane fit (ui.qt_pane_fit) or the user's
widths apply: the tables' texts fit on one line; narrower, they wrap."""
FORMS_MIN_PX = 90
"""The least height the Author tab's forms get by default (the picked tool and a form's first
field; the rest scrolls), when the tables and the detail pane could not show TABLE_ROWS rows
and the selected row whole beside their whole height (1280x800)."""
TABLE_ROWS = 4
"""The rows each Author table shows at least: beside the whole forms when the height allows,
and its rows cut to whole lines (at least one) so that this many fit."""
ACTIONS = ("acknowledge_alarm", "hold_tool", "open_procedure", "sign_off_step",
           "dispatch_maintenance", "prioritise_lot", "reroute_lot")  # fmt: skip


def label_x(x0: float, x1: float, width: float, left: float, right: float) -> float:
    """Where a lane's label of ``width`` pixels starts: after its dot or bar (``x0``..``x1``),
    else before it where it would run past ``right`` (never left of ``left``)."""
    after = x1 + 6
    return after if after + width <= right else max(left, x0 - 6 - width)


class QtDrillTimeline(QWidget):
    """Injections (dots) and response windows (bars) of a drill on one time axis; a click on
    a lane emits :attr:`lane_clicked` with its index (injections first, then responses)."""

    lane_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.drill: s.Drill | None = None
        self.setMinimumHeight(150)

    def lane_height(self) -> float:
        """Height of one lane in pixels."""
        return max(6.0, (self.height() - 18) / max(len(self.spans()), 1))

    def lane_y(self, k: int) -> int:
        """The middle of lane ``k`` (pixels)."""
        return int(2 + k * self.lane_height() + min(self.lane_height() - 1, 8) / 2)

    def mousePressEvent(self, e: Any) -> None:
        k = int((e.position().y() - 2) // self.lane_height())
        if 0 <= k < len(self.spans()):
            self.lane_clicked.emit(k)

    def set_drill(self, drill: s.Drill | None) -> None:
        """Draw ``drill``."""
        self.drill = drill
        self.update()

    def spans(self) -> list[tuple[str, float, float]]:
        """(label, start, end) in drill seconds: injections (start = end) then responses."""
        d = self.drill
        if d is None:
            return []
        at = {i.id: float(i.at_s) for i in d.injections if i.at_s is not None}
        out = [(f"{i.fault} {i.equipment}", at.get(i.id, 0.0), at.get(i.id, 0.0))
               for i in d.injections]  # fmt: skip
        for r in d.expected:
            a = anchor_of(d, r)
            t0 = at.get(a.id, 0.0) if a is not None else 0.0
            out.append((f"{r.action} {r.equipment}".strip(), t0, t0 + r.within_s))
        return out

    def paintEvent(self, _e: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        spans = self.spans()
        w, h = self.width(), self.height()
        # the theme's colours (the application palette): the strip follows a theme switch
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.Text)
        muted = pal.color(QPalette.ColorRole.PlaceholderText)
        p.fillRect(0, 0, w, h, pal.color(QPalette.ColorRole.Base))
        if not spans:
            p.setPen(muted)
            p.drawText(8, 20, "no drill")
            p.end()
            return
        end = max(e for _, _, e in spans) * 1.05 or 1.0
        left, right = 8, w - 8
        x = lambda t: left + (right - left) * t / end  # noqa: E731
        n = len(spans)
        lane = max(6.0, (h - 18) / max(n, 1))
        p.setPen(QPen(muted))
        p.drawLine(left, h - 14, right, h - 14)
        step = 60 * max(1, round(end / 60 / 8))
        t = 0.0
        while t <= end:
            p.drawText(int(x(t)) - 8, h - 2, f"{int(t // 60)}m")
            t += step
        for k, (label, t0, t1) in enumerate(spans):
            y = 2 + k * lane
            if t1 == t0:
                p.setBrush(QColor(text_colour("event")))
                p.setPen(Qt.PenStyle.NoPen)
                p.drawEllipse(QRectF(x(t0) - 4, y, 8, min(lane - 1, 8)))
            else:
                p.setBrush(QColor(text_colour("info")))
                p.setPen(Qt.PenStyle.NoPen)
                p.drawRect(QRectF(x(t0), y, max(x(t1) - x(t0), 2), min(lane - 1, 8)))
            if lane >= 9:
                p.setPen(text)
                flags = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
                tw = p.fontMetrics().horizontalAdvance(label) + 2
                lx = label_x(x(t0), x(t1), tw, left, right)
                p.drawText(QRectF(lx, y - 4, tw, min(lane - 1, 8) + 8), flags, label)
        p.end()


INJECTION_COLUMNS = ("At (s)", "Injection", "Value", "Dur. (s)", "Message")
RESPONSE_COLUMNS = ("Response", "Within (s)", "Points", "After")
# cells edited in place: injection column -> field, response column -> field
INJECTION_EDITS = {0: "at_s", 2: "value", 3: "duration_s", 4: "message"}
RESPONSE_EDITS = {1: "within_s", 2: "points"}
# the columns whose text wraps (the others hold numbers): names, a message
INJECTION_WRAP = (1, 4)
RESPONSE_WRAP = (0, 3)


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


def _lines(*parts: str) -> str:
    """The non-empty ``parts``, stripped, one a line."""
    return "\n".join(p.strip() for p in parts if p.strip())


class QtDrillAuthor(QWidget):
    """Edit one drill of the open plant (see the module doc).

    Signals
    -------
    changed(str)
        The drill (id) was edited, undone or redone.
    test_run_requested(str)
        Run the drill alone (the workspace starts it).
    saved(str)
        The plant file was saved there.
    """

    changed = Signal(str)
    test_run_requested = Signal(str)
    saved = Signal(str)

    def __init__(self, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = undo_stack
        self.doc: Any = None
        self.drill_id = ""
        self.tool = ""  # the tool picked in the 3-D view
        self._filling = False

        self._build()

    def _build(self) -> None:
        undo_stack = self.undo_stack
        self.timeline = QtDrillTimeline()
        # cells edited in place (INJECTION_EDITS, RESPONSE_EDITS); columns sized on each fill
        self.injections = row_table(
            INJECTION_COLUMNS, single=True, editable=True, fit=False, alternating=True
        )
        self.responses = row_table(
            RESPONSE_COLUMNS, single=True, editable=True, fit=False, alternating=True
        )
        # short headers (a narrow pane keeps them whole); the long words in their tooltips
        for table, col, tip in (
            (self.injections, 1, "fault and tool; below them the tag and the event it waits for"),
            (self.injections, 3, "duration (s)"),
            (self.responses, 0, "action and tool; below them the procedure, alarm code or lot"),
            (self.responses, 3, "the injection the limit counts from"),
        ):
            head = table.horizontalHeaderItem(col)
            if head is not None:
                head.setToolTip(tip)
        for table, wrap in ((self.injections, INJECTION_WRAP), (self.responses, RESPONSE_WRAP)):
            break_names(table, wrap)
            fit_wrapped_columns(table, wrap, keep_rows=TABLE_ROWS, first_lines=wrap[:1])
        inj_box = self._build_injection_form()
        resp_box = self._build_response_form()
        self._build_rest(inj_box, resp_box, undo_stack)

    def remember_split(self, settings: Any, key: str) -> None:
        """Restore the splitter's sizes saved under ``key`` in ``settings`` (a QSettings;
        None: nothing kept) and save them whenever the user drags its handle."""
        if settings is not None and settings.value(key):
            self._split_sized = True  # the user's sizes, not the default
        remember_panes(self.splitter, settings, key)

    def showEvent(self, e: Any) -> None:
        """Until the user drags the handle: the default sizes (:meth:`_default_split`)."""
        super().showEvent(e)
        self._default_split()

    def resizeEvent(self, e: Any) -> None:
        """Until the user drags the handle: the default sizes (:meth:`_default_split`)."""
        super().resizeEvent(e)
        self._default_split()

    def _on_split_dragged(self, *_: Any) -> None:
        self._split_sized = True

    def _default_split(self) -> None:
        """The forms get their height if the tables can still show TABLE_ROWS rows each,
        else what the tables leave, at least FORMS_MIN_PX (they scroll)."""
        if self._split_sized or not self.isVisible():
            return
        lay = self.layout()
        if lay is not None:
            lay.activate()
        total = sum(self.splitter.sizes())
        if total > 0:
            want = self._forms_body.sizeHint().height()
            forms = min(want, max(FORMS_MIN_PX, total - self._tables_need()))
            self.splitter.setSizes([total - forms, forms])

    def _tables_need(self) -> int:
        """The height of the tables' pane with TABLE_ROWS rows in each table."""
        tables = (self.injections, self.responses)
        need = (
            self.timeline.minimumHeight()
            + sum(lb.sizeHint().height() for lb in self._table_labels)
            + self.detail.minimumHeight()  # its height is fixed to fit its texts
        )
        for table in tables:
            rows = TABLE_ROWS * table.verticalHeader().defaultSectionSize()
            need += table.horizontalHeader().sizeHint().height() + rows + 2 * table.frameWidth()
        spacing = self.splitter.widget(0).layout().spacing()  # type: ignore[union-attr]
        return need + 5 * max(spacing, 0)

    def _build_injection_form(self) -> QGroupBox:
        inj_box = QGroupBox("Add an injection")
        f1 = QFormLayout(inj_box)
        self.fault_box = QComboBox()
        self.fault_box.addItems(FAULTS)
        self.at_spin = QDoubleSpinBox()
        self.at_spin.setRange(0, 86400 * 7)
        self.at_spin.setSuffix(" s")
        self.at_spin.setValue(60)
        self.tag_edit = QLineEdit()
        self.tag_edit.setPlaceholderText("tag (drift, stuck, alarm)")
        self.value_spin = QDoubleSpinBox()
        self.value_spin.setRange(-1e9, 1e9)
        self.value_spin.setDecimals(3)
        self.duration_spin = QDoubleSpinBox()
        self.duration_spin.setRange(0, 86400 * 7)
        self.duration_spin.setSuffix(" s")
        self.duration_spin.setSpecialValueText("default")
        self.extra_edit = QLineEdit()
        self.extra_edit.setPlaceholderText("procedure:step (interlock) or product (hot lot)")
        self.add_inj_button = QPushButton("Add injection")
        self.add_inj_button.setToolTip("add the injection on the tool picked in the 3-D view")
        self.remove_inj_button = QPushButton("Remove selected")
        f1.addRow("Fault:", self.fault_box)
        f1.addRow("At:", self.at_spin)
        f1.addRow("Tag:", self.tag_edit)
        f1.addRow("Value:", self.value_spin)
        f1.addRow("Duration:", self.duration_spin)
        f1.addRow("Detail:", self.extra_edit)
        row1 = QtWrapBar()  # one above the other in a narrow form
        row1.add_group([self.add_inj_button])
        row1.add_group([self.remove_inj_button])
        f1.addRow(row1)
        return inj_box

    def _build_response_form(self) -> QGroupBox:
        resp_box = QGroupBox("Add an expected response")
        f2 = QFormLayout(resp_box)
        self.action_box = QComboBox()
        self.action_box.addItems(ACTIONS)
        self.target_edit = QLineEdit()
        self.target_edit.setPlaceholderText("procedure or alarm code or lot")
        self.within_spin = QDoubleSpinBox()
        self.within_spin.setRange(1, 86400)
        self.within_spin.setValue(300)
        self.within_spin.setSuffix(" s")
        self.points_spin = QDoubleSpinBox()
        self.points_spin.setRange(0, 1000)
        self.points_spin.setValue(10)
        self.after_box = QComboBox()
        self.add_resp_button = QPushButton("Add response")
        self.add_resp_button.setToolTip("add the response for the tool picked in the 3-D view")
        self.remove_resp_button = QPushButton("Remove selected")
        f2.addRow("Action:", self.action_box)
        f2.addRow("Target:", self.target_edit)
        f2.addRow("Within:", self.within_spin)
        f2.addRow("Points:", self.points_spin)
        f2.addRow("After:", self.after_box)
        row2 = QtWrapBar()  # one above the other in a narrow form
        row2.add_group([self.add_resp_button])
        row2.add_group([self.remove_resp_button])
        f2.addRow(row2)
        return resp_box

    def _build_rest(self, inj_box: QGroupBox, resp_box: QGroupBox, undo_stack: QUndoStack) -> None:
        self.tool_label = QLabel(NO_TOOL_PICKED)
        self.tool_label.setWordWrap(True)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setObjectName("author_problems")
        self.problems.hide()  # shown with a message (_say): the tables keep its height
        bottom = QtWrapBar()  # two rows when the pane is narrow
        self.undo_button, self.redo_button = undo_buttons(undo_stack)
        self.test_button = QPushButton("Test run")
        self.test_button.setToolTip("serve this drill alone on this computer and follow it")
        self.save_button = QPushButton("Save")
        self.save_button.setToolTip("save the drills to the plant file (comments are kept)")
        bottom.add_group([self.undo_button, self.redo_button])
        bottom.add_group([self.test_button, self.save_button])

        tables = QWidget()
        top = QVBoxLayout(tables)
        top.setContentsMargins(0, 0, 0, 0)
        self._table_labels = (QLabel("Injections"), QLabel("Expected responses"))
        self.detail = QtDrillDetail()  # the selected row whole: the rows above may be cut
        self.detail.fitted.connect(lambda _h: self._default_split())
        self._detail_of: QTableWidget | None = None  # the table whose row it shows
        top.addWidget(self.timeline)
        top.addWidget(self._table_labels[0])
        top.addWidget(self.injections, 1)
        top.addWidget(self._table_labels[1])
        top.addWidget(self.responses, 1)
        top.addWidget(self.detail)
        for table in (self.injections, self.responses):  # a few rows, not all of them
            table.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustIgnored)
            table.setMinimumHeight(table.horizontalHeader().sizeHint().height() + 2 * 24)
        body = QWidget()
        low = QVBoxLayout(body)
        low.setContentsMargins(0, 0, 0, 0)
        low.addWidget(self.tool_label)
        forms = QtWrapBar()  # side by side when the pane is wide enough, else one above the other
        forms.add_group([inj_box], stretch=inj_box)
        forms.add_group([resp_box], stretch=resp_box)
        low.addWidget(forms)
        low.addStretch(1)
        self._forms_body = body
        self.forms_scroll = vertical_scroll(body)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("author_splitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(tables)
        self.splitter.addWidget(self.forms_scroll)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self._split_sized = False  # True once the user dragged the handle (or it was restored)
        self.splitter.splitterMoved.connect(self._on_split_dragged)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.splitter, 1)
        lay.addWidget(self.problems)
        lay.addWidget(bottom)

        self.timeline.lane_clicked.connect(self.select_lane)
        for table in (self.injections, self.responses):
            table.selectionModel().selectionChanged.connect(
                lambda *_, t=table: self._on_selection_changed(t)
            )
        self.injections.itemChanged.connect(lambda it: self._on_cell_edited(it, True))
        self.responses.itemChanged.connect(lambda it: self._on_cell_edited(it, False))
        self.add_inj_button.clicked.connect(self._on_add_injection)
        self.remove_inj_button.clicked.connect(self._on_remove_injection)
        self.add_resp_button.clicked.connect(self._on_add_response)
        self.remove_resp_button.clicked.connect(self._on_remove_response)
        self.test_button.clicked.connect(lambda: self.test_run_requested.emit(self.drill_id))
        self.save_button.clicked.connect(lambda: self.save())

    @property
    def spec(self) -> s.PlantSpec | None:
        """The plant spec edited."""
        return self.doc.spec if self.doc is not None else None

    def set_document(self, doc: Any) -> None:
        """Edit the drills of ``doc`` (the undo history is dropped)."""
        self.doc = doc
        self.undo_stack.clear()
        self.drill_id = ""
        self.refresh()

    def show_drill(self, drill_id: str) -> None:
        """Show drill ``drill_id``."""
        self.drill_id = drill_id
        self.refresh()

    def set_tool(self, tool: str) -> None:
        """The tool new injections and responses are on (picked in the 3-D view)."""
        self.tool = tool
        self.tool_label.setText(f"Picked tool: <b>{html.escape(tool)}</b>" if tool else
                                NO_TOOL_PICKED)  # fmt: skip

    def drill(self) -> s.Drill | None:
        """The drill shown, as in the plant now."""
        spec = self.spec
        if spec is None or not self.drill_id:
            return None
        return next((d for d in spec.drills if d.id == self.drill_id), None)

    def refresh(self) -> None:
        """Fill the tables and timeline from the plant."""
        self._filling = True
        try:
            self._fill()
        finally:
            self._filling = False

    def _fill(self) -> None:
        d = self.drill()
        self.timeline.set_drill(d)
        injs = d.injections if d is not None else []
        self.injections.setRowCount(len(injs))
        for k, i in enumerate(injs):
            # an injection set off by an event: "event" in the narrow time column, the
            # event itself on the last line of the Injection column
            timed = i.at_s is not None
            when = "" if timed else f"on {i.trigger.describe()}"  # type: ignore[union-attr]
            what = _lines(f"{i.fault} {i.equipment}", i.tag or "", when)
            cells = [_num(i.at_s) if timed else "event", what, _num(i.value),
                     _num(i.duration_s), i.message]  # fmt: skip
            for j, text in enumerate(cells):
                tip = f"{text}: {when}" if j == 0 and not timed else text
                self.injections.setItem(
                    k, j, cell(text, tip, editable=j in INJECTION_EDITS and (timed or j != 0))
                )
        resps = d.expected if d is not None else []
        self.responses.setRowCount(len(resps))
        for k, r in enumerate(resps):
            target = r.procedure or r.alarm or r.lot or ""
            if r.step:
                target += f" step {r.step}"
            what = _lines(f"{r.action} {r.equipment}", target)
            cells = [what, _num(r.within_s), _num(r.points), r.after or ""]
            for j, text in enumerate(cells):
                self.responses.setItem(k, j, cell(text, text, editable=j in RESPONSE_EDITS))
        for table, wrap in ((self.injections, INJECTION_WRAP), (self.responses, RESPONSE_WRAP)):
            fit_wrapped_columns(table, wrap, keep_rows=TABLE_ROWS, first_lines=wrap[:1])
        self.detail.set_rows(
            [injection_detail(i, k) for k, i in enumerate(injs)]
            + [response_detail(d, r, k) for k, r in enumerate(resps)]  # type: ignore[arg-type]
        )
        self._show_detail()
        self.after_box.clear()
        self.after_box.addItem("")
        self.after_box.addItems([i.id for i in injs])
        on = d is not None
        for w in (self.add_inj_button, self.add_resp_button, self.test_button):
            w.setEnabled(on)

    def select_lane(self, k: int) -> None:
        """Select the table row of timeline lane ``k`` (injections first, then responses)."""
        d = self.drill()
        if d is None:
            return
        n = len(d.injections)
        table, row = (self.injections, k) if k < n else (self.responses, k - n)
        table.selectRow(row)
        item = table.item(row, 0)
        if item is not None:
            table.scrollToItem(item)

    def _on_selection_changed(self, table: QTableWidget) -> None:
        """A row selected in one table: the other's selection goes, the detail shows it."""
        if table.selectionModel().selectedRows():
            self._detail_of = table
            other = self.responses if table is self.injections else self.injections
            other.clearSelection()
        self._show_detail()

    def selected_row(self) -> tuple[str, int] | None:
        """The row the detail pane shows: ("injection" or "response", its index), or None."""
        table = self._detail_of
        rows = table.selectionModel().selectedRows() if table is not None else []
        if not rows:
            return None
        return ("injection" if table is self.injections else "response"), rows[0].row()

    def _show_detail(self) -> None:
        """The detail pane shows the selected row as the drill has it now."""
        d = self.drill()
        sel = self.selected_row()
        text = None
        if d is not None and sel is not None:
            kind, k = sel
            if kind == "injection" and k < len(d.injections):
                text = injection_detail(d.injections[k], k)
            elif kind == "response" and k < len(d.expected):
                text = response_detail(d, d.expected[k], k)
        self.detail.show_row(text)

    # ------------------------------------------------------------------ editing

    def _on_cell_edited(self, item: QTableWidgetItem, injections: bool) -> None:
        """A cell edited in place: the field changes as an undoable edit (or is refused)."""
        if self._filling:
            return
        fields = INJECTION_EDITS if injections else RESPONSE_EDITS
        name = fields.get(item.column())
        if name is None:
            return
        text = item.text().strip()
        value: Any = text
        if name != "message":
            try:
                value = float(text) if text else None
            except ValueError:
                self._problem(f"{name}: {text!r} is not a number")
                self.refresh()
                return
        k = item.row()
        fn = da.set_injection_fields if injections else da.set_response_fields
        if not self._push(lambda: fn(self.spec, self.drill_id, k, **{name: value})):  # type: ignore[arg-type]
            self.refresh()  # refused: show the drill as it is

    def _push(self, make: Callable[[], da.DrillEdit]) -> bool:
        spec = self.spec
        if spec is None or not self.drill_id:
            self._problem("choose a drill first")
            return False
        try:
            edit = make()
        except FactoryTwinError as exc:
            self._problem(str(exc))
            return False
        self.undo_stack.push(SpecEditCommand(spec, edit, self._on_edited))
        self._say("")
        return True

    def _on_edited(self, edit: da.DrillEdit, _undone: bool) -> None:
        self.refresh()
        self.changed.emit(edit.drill_id)

    def _problem(self, text: str) -> None:
        self._say(coloured("error", html.escape(text)))

    def _say(self, text: str) -> None:
        """Show ``text`` (rich text) under the tables and forms; "" hides the line."""
        self.problems.setText(text)
        self.problems.setVisible(bool(text))

    def injection_fields(self) -> dict[str, Any]:
        """The injection the form describes (on the picked tool)."""
        fault = self.fault_box.currentText()
        f: dict[str, Any] = {"at_s": self.at_spin.value(), "fault": fault, "equipment": self.tool}
        if fault in ("tag_drift", "tag_stuck", "alarm"):
            f["tag"] = self.tag_edit.text().strip()
            f["value"] = self.value_spin.value()
        if self.duration_spin.value() > 0:
            f["duration_s"] = self.duration_spin.value()
        extra = self.extra_edit.text().strip()
        if fault == "interlock" and extra:
            proc, _, step = extra.partition(":")
            f["procedure"] = proc.strip()
            f["step"] = int(step) if step.strip().isdigit() else 1
        elif fault == "hot_lot":
            f["product"] = extra
            f["priority"] = 100
        return f

    def add_injection(self, fields: dict[str, Any] | None = None) -> bool:
        """Add an injection (default: the form's); False and a message if refused."""
        data = fields if fields is not None else self.injection_fields()
        return self._push(lambda: da.add_injection(self.spec, self.drill_id, data))  # type: ignore[arg-type]

    def remove_injection(self, k: int) -> bool:
        """Remove injection ``k`` (0-based)."""
        return self._push(lambda: da.remove_injection(self.spec, self.drill_id, k))  # type: ignore[arg-type]

    def response_fields(self) -> dict[str, Any]:
        """The expected response the form describes (for the picked tool)."""
        action = self.action_box.currentText()
        f: dict[str, Any] = {
            "action": action,
            "equipment": self.tool,
            "within_s": self.within_spin.value(),
            "points": self.points_spin.value(),
            "after": self.after_box.currentText(),
        }
        target = self.target_edit.text().strip()
        if action in ("open_procedure", "sign_off_step"):
            f["procedure"] = target
        elif action == "acknowledge_alarm":
            f["alarm"] = target
        elif action in ("prioritise_lot", "reroute_lot"):
            f["lot"] = target
        return f

    def add_response(self, fields: dict[str, Any] | None = None) -> bool:
        """Add an expected response (default: the form's)."""
        data = fields if fields is not None else self.response_fields()
        return self._push(lambda: da.add_response(self.spec, self.drill_id, data))  # type: ignore[arg-type]

    def remove_response(self, k: int) -> bool:
        """Remove expected response ``k`` (0-based)."""
        return self._push(lambda: da.remove_response(self.spec, self.drill_id, k))  # type: ignore[arg-type]

    def set_briefing(self, text: str) -> bool:
        """Change the drill's briefing (undoable)."""
        d = self.drill()
        if d is None or d.briefing == text:
            return False
        return self._push(lambda: da.set_drill_fields(self.spec, self.drill_id, briefing=text))  # type: ignore[arg-type]

    def _on_add_injection(self) -> None:
        if not self.tool and self.fault_box.currentText() not in ("transport_jam", "hot_lot"):
            self._problem("pick the tool in the 3-D view first")
            return
        self.add_injection()

    def _on_remove_injection(self) -> None:
        rows = self.injections.selectionModel().selectedRows()
        if rows:
            self.remove_injection(rows[0].row())

    def _on_add_response(self) -> None:
        self.add_response()

    def _on_remove_response(self) -> None:
        rows = self.responses.selectionModel().selectedRows()
        if rows:
            self.remove_response(rows[0].row())

    # ------------------------------------------------------------------ saving

    def has_unsaved_edits(self) -> bool:
        """True if drill edits are not saved to the plant file."""
        return not self.undo_stack.isClean()

    def save(self, path: str | None = None) -> str | None:
        """Save the plant file (atomic, comments kept, old file as .bak); return the path."""
        if self.doc is None:
            return None
        try:
            out = self.doc.save(path)
        except (FactoryTwinError, OSError) as exc:
            self._problem(f"not saved: {exc}")
            return None
        self.undo_stack.setClean()
        self._say(coloured("ok", f"Saved {html.escape(str(out))}"))
        self.saved.emit(str(out))
        return str(out)
