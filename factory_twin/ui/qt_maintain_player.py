"""The procedure player: walk the steps, acknowledge safety, sign each step off.

Every acknowledgement, step start and sign-off goes through
:class:`~factory_twin.app.maintenance.ProcedureSession`, which writes the maintenance log
durably before the widget updates; the widget only shows what the session says.
"""

from __future__ import annotations

import html
import logging
import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QDoubleValidator, QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.maintenance import (
    MaintenanceError,
    MaintenanceLog,
    ProcedureSession,
    check_value,
    find_procedure,
    limits_text,
)
from factory_twin.model.schema import PlantSpec, Procedure
from factory_twin.ui.qt_drill_link import enable_unless_lost
from factory_twin.ui.qt_maintain_browser import format_minutes
from factory_twin.ui.qt_tables import row_table
from factory_twin.ui.qt_wrap_bar import QtWrapBar
from factory_twin.ui.theme import (
    on_theme_change,
    show_message,
    text_colour,
    themed_style,
    vertical_scroll,
)

logger = logging.getLogger(__name__)

SAFETY_LABELS = {
    "loto": "LOCKOUT / TAGOUT",
    "ppe": "PPE",
    "gas": "GAS",
    "electrical": "ELECTRICAL",
    "chemical": "CHEMICAL",
    "hot": "HOT SURFACE",
    "laser": "LASER",
    "general": "SAFETY",
}
CHECK_COLUMNS = ("#", "Step", "Signed by", "Time", "Value")
CHECKLIST_HEIGHTS = (110, 230)  # the checklist's least and most heights (pixels)
CHECKLIST_FRACTION = 0.3  # of the player's height, for the checklist, within those


class QtProcedurePlayer(QWidget):
    """Steps of one procedure on one tool, with the sign-off checklist.

    Signals
    -------
    step_shown(int)
        The step now shown (the workspace moves the camera and the callout).
    signed(int)
        A step was signed off (and is in the log).
    """

    step_shown = Signal(int)
    signed = Signal(int)

    def __init__(self, log: MaintenanceLog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.log = log
        self.spec: PlantSpec | None = None
        self.tool: str | None = None
        self.procedure: Procedure | None = None
        self.session: ProcedureSession | None = None
        self.current = 0
        # a trainee's connection to the drill server is lost: safety acknowledgements, Start
        # step and sign-offs, a drill's steps, are greyed out until it is back
        # (set_drill_link_lost)
        self.drill_link_lost = False
        self._build()
        self._show_empty()

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setObjectName("player_header")
        self.session_label = QLabel()
        self.session_label.setWordWrap(True)
        outer.addWidget(self.header)
        outer.addWidget(self.session_label)
        outer.addWidget(self._build_checklist())

        body = QWidget()
        bl = QVBoxLayout(body)
        bl.setContentsMargins(0, 0, 0, 0)
        self.step_title = QLabel()
        self.step_title.setWordWrap(True)
        self.step_title.setObjectName("step_title")
        self.step_meta = QLabel()
        self.step_meta.setWordWrap(True)
        self.step_text = QLabel()
        self.step_text.setWordWrap(True)
        self.step_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bl.addWidget(self.step_title)
        bl.addWidget(self.step_meta)
        bl.addWidget(self.step_text)

        bl.addWidget(self._build_safety_box())

        self.start_button = QPushButton("Start step")
        self.start_button.setObjectName("start_step")
        bl.addWidget(self.start_button)

        bl.addWidget(self._build_sign_box())
        bl.addStretch(1)
        outer.addWidget(vertical_scroll(body), 1)

        outer.addWidget(self._build_navigation())
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("player_message")
        self.message.hide()
        outer.addWidget(self.message)

        self._connect_signals()
        on_theme_change(self, self._on_theme_changed)

    def _build_checklist(self) -> QTableWidget:
        """The table of steps with their state (click a row to show that step)."""
        self.checklist = row_table(CHECK_COLUMNS, name="player_checklist", single=True, stretch=1)
        self.checklist.setMinimumHeight(CHECKLIST_HEIGHTS[0])
        self.checklist.setMaximumHeight(CHECKLIST_HEIGHTS[1])
        return self.checklist

    def resizeEvent(self, event: QResizeEvent) -> None:
        # on a short screen the checklist gives the step itself room (it scrolls)
        least, most = CHECKLIST_HEIGHTS
        h = round(CHECKLIST_FRACTION * event.size().height())
        self.checklist.setMaximumHeight(min(most, max(least, h)))
        super().resizeEvent(event)

    def _build_safety_box(self) -> QGroupBox:
        """The red box of safety notes, filled per step with one checkbox each."""
        # a short title: a group box's title does not wrap, and sets the pane's least width
        self.safety_box = QGroupBox("Safety: acknowledge every note first")
        self.safety_box.setObjectName("safety_box")
        themed_style(
            self.safety_box,
            "QGroupBox#safety_box { border: 2px solid $error; border-radius: 4px;"
            " margin-top: 14px; padding: 6px; background: rgba(224,49,49,40); }"
            " QGroupBox#safety_box::title { color: $error; font-weight: bold;"
            " subcontrol-origin: margin; left: 8px; }",
        )
        self.safety_layout = QVBoxLayout(self.safety_box)
        self.safety_checks: list[QCheckBox] = []
        self.safety_rows: list[QWidget] = []
        return self.safety_box

    def _build_sign_box(self) -> QGroupBox:
        """Technician, measured value against its limits, remark and the sign-off button."""
        self.sign_box = QGroupBox("Sign-off")
        form = QFormLayout(self.sign_box)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("technician name")
        self.value_edit = QLineEdit()
        self.value_edit.setValidator(QDoubleValidator())
        self.value_label = QLabel("Measured")
        self.limits_label = QLabel()
        self.limits_label.setWordWrap(True)
        self.confirm_check = QCheckBox("Value is out of limits: record it anyway")
        themed_style(self.confirm_check, "color: $caution; font-weight: bold;")
        self.confirm_check.setVisible(False)  # only while a measured value is out of limits
        self.comment_edit = QLineEdit()
        self.comment_edit.setPlaceholderText("optional remark")
        self.sign_button = QPushButton("Sign off step")
        self.sign_button.setObjectName("sign_off")
        form.addRow("Technician", self.name_edit)
        form.addRow(self.value_label, self.value_edit)
        form.addRow("", self.limits_label)
        form.addRow("", self.confirm_check)
        form.addRow("Comment", self.comment_edit)
        form.addRow("", self.sign_button)
        return self.sign_box

    def _build_navigation(self) -> QtWrapBar:
        """Previous and Next, New run and the CSV export of the log (two rows when the pane
        is narrow)."""
        nav = QtWrapBar()
        self.prev_button = QPushButton("◀ Previous")
        self.next_button = QPushButton("Next ▶")
        self.csv_button = QPushButton("Export log CSV…")
        self.new_run_button = QPushButton("New run")
        self.new_run_button.setToolTip("close this run unfinished and start a fresh checklist")
        nav.add_group([self.prev_button, self.next_button])
        nav.add_group([self.new_run_button, self.csv_button])
        return nav

    def _connect_signals(self) -> None:
        self.prev_button.clicked.connect(lambda: self.show_step(self.current - 1))
        self.next_button.clicked.connect(lambda: self.show_step(self.current + 1))
        self.start_button.clicked.connect(self._on_start_clicked)
        self.sign_button.clicked.connect(self._on_sign_clicked)
        self.value_edit.textChanged.connect(self._update_limits)
        self.confirm_check.toggled.connect(self._update_buttons)
        self.name_edit.textChanged.connect(self._update_buttons)
        self.checklist.cellClicked.connect(lambda r, _c: self.show_step(r))
        self.csv_button.clicked.connect(self._on_csv_clicked)
        self.new_run_button.clicked.connect(self.new_run)

    def _show_empty(self) -> None:
        self.header.setText(
            "<b>No procedure open.</b> Pick a tool, then double-click one of its procedures."
        )
        self.session_label.setText("")
        self.checklist.setRowCount(0)
        for label in (self.step_title, self.step_meta, self.step_text):
            label.setText("")
        self.safety_box.hide()
        for w in (
            self.start_button,
            self.sign_box,
            self.prev_button,
            self.next_button,
            self.new_run_button,
        ):
            w.setEnabled(False)

    # ------------------------------------------------------------------ opening

    def open(self, spec: PlantSpec, tool: str, procedure: str, *, technician: str = "") -> None:
        """Show a procedure on a tool; an unfinished run in the log is resumed."""
        _, proc = find_procedure(spec, tool, procedure)
        self.spec, self.tool, self.procedure = spec, tool, proc
        self.session = None
        if technician and not self.name_edit.text():
            self.name_edit.setText(technician)
        resumed = ""
        for info in self.log.open_sessions(tool, proc.id):
            try:
                self.session = ProcedureSession.resume(self.log, spec, info["session"])
            except MaintenanceError as exc:
                logger.info("not resuming %s: %s", info["session"], exc)
                continue
            resumed = (
                f"Resumed the run started {info['started_at']} by "
                f"{info['technician'] or 'unknown'}: {self.session.signed_count()} of "
                f"{len(proc.steps)} steps signed."
            )
            break
        self.session_label.setText(
            resumed or "New run: it is logged when you acknowledge or start the first step."
        )
        self.header.setText(
            f"<span style='font-size:13pt'><b>{html.escape(proc.name)}</b></span><br>"
            f"{html.escape(tool)} · rev {html.escape(proc.revision)} · {len(proc.steps)} steps · "
            f"{format_minutes(sum(s.duration_s for s in proc.steps))}"
        )
        self.new_run_button.setEnabled(True)
        self._fill_checklist()
        self.show_step(self.session.current if self.session is not None else 0)

    def new_run(self) -> None:
        """Close the current run unfinished and start over."""
        if self.session is not None and self.session.finished is None:
            self.session.abort("new run started")
        self.session = None
        if self.spec and self.tool and self.procedure:
            self.open(self.spec, self.tool, self.procedure.id)

    def _ensure_session(self) -> ProcedureSession:
        if self.session is None or self.session.finished is not None:
            assert self.spec is not None and self.tool is not None and self.procedure is not None
            self.session = ProcedureSession.start(
                self.log,
                self.spec,
                self.tool,
                self.procedure.id,
                technician=self.name_edit.text().strip(),
            )
            self.session_label.setText(
                f"Run {self.session.session_id[:8]} logged to {self.log.path}"
            )
        return self.session

    # ------------------------------------------------------------------ showing

    def _fill_checklist(self) -> None:
        proc = self.procedure
        if proc is None:
            return
        self.checklist.setRowCount(len(proc.steps))
        for k, st in enumerate(proc.steps):
            so = self.session.status[k].signoff if self.session is not None else None
            mark = "✔" if so else ("⚠" if st.safety else "")
            vals = [
                f"{k + 1} {mark}",
                st.title,
                so.technician if so else "",
                so.signed_at.replace("T", " ")[:19] if so else "",
                ""
                if so is None or so.value is None
                else f"{so.value:g} {st.acceptance.unit if st.acceptance else ''}".strip(),
            ]
            for c, v in enumerate(vals):
                it = QTableWidgetItem(v)
                if so is not None:
                    role = "caution" if so.within_limits is False else "ok"
                    it.setForeground(QBrush(QColor(text_colour(role))))
                    if so.within_limits is False:
                        it.setToolTip("out of limits, confirmed by the technician")
                self.checklist.setItem(k, c, it)
        signed = self.session.signed_count() if self.session is not None else 0
        done = " — complete" if self.session is not None and self.session.is_complete() else ""
        self.checklist.setToolTip(f"{signed} of {len(proc.steps)} steps signed{done}")

    def show_step(self, k: int) -> None:
        """Show step ``k`` (clamped to the procedure)."""
        proc = self.procedure
        if proc is None:
            return
        k = max(0, min(k, len(proc.steps) - 1))
        self.current = k
        if self.session is not None:
            self.session.go_to(k)
        st = proc.steps[k]
        self.checklist.blockSignals(True)
        self.checklist.selectRow(k)
        self.checklist.blockSignals(False)
        self.step_title.setText(
            f"<span style='font-size:12pt'><b>Step {k + 1} of "
            f"{len(proc.steps)}: {html.escape(st.title)}</b></span>"
        )
        meta = [
            f"<b>{st.action.value.capitalize()}</b> · {html.escape(st.component)} · "
            f"{format_minutes(st.duration_s)}"
        ]
        if st.tools:
            meta.append("Tools: " + html.escape(", ".join(st.tools)))
        if st.parts:
            meta.append("Parts: " + html.escape(", ".join(st.parts)))
        if st.acceptance is not None:
            meta.append(
                f"Accept: {html.escape(st.acceptance.quantity)} {limits_text(st.acceptance)}"
            )
        self.step_meta.setText("<br>".join(meta))
        self.step_text.setText(st.text)
        # safety notes: a check box and a wrapped label per note
        for row in self.safety_rows:
            row.hide()
            self.safety_layout.removeWidget(row)
            row.setParent(None)
            row.deleteLater()
        self.safety_rows = []
        self.safety_checks = []
        for n, note in enumerate(st.safety):
            row = QWidget()
            rl = QHBoxLayout(row)
            rl.setContentsMargins(0, 0, 0, 0)
            cb = QCheckBox()
            cb.setToolTip("I have read this and taken the precaution")
            label = QLabel(f"<b>{SAFETY_LABELS[note.kind]}:</b> {html.escape(note.text)}")
            label.setWordWrap(True)
            themed_style(label, "color: $danger;")
            label.setBuddy(cb)
            rl.addWidget(cb, 0, Qt.AlignmentFlag.AlignTop)
            rl.addWidget(label, 1)
            acked = self.session is not None and n in self.session.status[k].acknowledged
            cb.setChecked(acked)
            enable_unless_lost(cb, not acked, self.drill_link_lost)
            cb.toggled.connect(lambda on, n=n: self._on_ack_toggled(n, on))
            self.safety_layout.addWidget(row)
            self.safety_rows.append(row)
            self.safety_checks.append(cb)
        self.safety_box.setVisible(bool(st.safety))
        acc = st.acceptance
        self.value_label.setVisible(acc is not None)
        self.value_edit.setVisible(acc is not None)
        self.limits_label.setVisible(acc is not None)
        if acc is not None:
            self.value_label.setText(f"{acc.quantity}" + (f" ({acc.unit})" if acc.unit else ""))
            tgt = f", target {acc.target:g}" if acc.target is not None else ""
            self.limits_label.setText(f"limits {limits_text(acc)}{tgt}")
        self.value_edit.clear()
        self.comment_edit.clear()
        self.confirm_check.setChecked(False)
        self._update_limits()
        self._say("")
        self.step_shown.emit(k)

    def _update_limits(self) -> None:
        st = self._step()
        value = self.measured_value()
        ok = check_value(st.acceptance, value) if st is not None else None
        self.confirm_check.setVisible(ok is False)
        if ok is False:
            themed_style(self.value_edit, "QLineEdit { border: 2px solid $caution; }")
        else:
            themed_style(self.value_edit, "")
            self.confirm_check.setChecked(False)
        self._update_buttons()

    def _step(self):
        return self.procedure.steps[self.current] if self.procedure is not None else None

    def measured_value(self) -> float | None:
        """Return the number in the value field (None if empty or not a number)."""
        text = self.value_edit.text().strip().replace(",", ".")
        try:
            v = float(text)
        except ValueError:
            return None
        return v if math.isfinite(v) else None

    def set_drill_link_lost(self, lost: bool) -> None:
        """Grey out the safety acknowledgements, Start step and the sign-off while the
        connection to the drill server is lost (``lost``), with a tooltip saying why; their
        own rules again once it is back."""
        self.drill_link_lost = lost
        self._update_buttons()

    def _update_buttons(self) -> None:
        st = self._step()
        if st is None:
            return
        k = self.current
        sess = self.session
        signed = sess is not None and sess.is_signed(k)
        acked = len(st.safety) == 0 or (sess is not None and sess.safety_acknowledged(k))
        started = sess is not None and sess.is_started(k)
        lost = self.drill_link_lost
        for n, cb in enumerate(self.safety_checks):
            enable_unless_lost(cb, sess is None or n not in sess.status[k].acknowledged, lost)
        enable_unless_lost(self.start_button, acked and not started and not signed, lost)
        self.start_button.setText(
            "Step started"
            if started
            else "Start step"
            if acked
            else "Start step (acknowledge safety first)"
        )
        self.sign_box.setEnabled(started and not signed)
        need_value = st.acceptance is not None
        value = self.measured_value()
        ok = check_value(st.acceptance, value)
        can = (
            started
            and not signed
            and bool(self.name_edit.text().strip())
            and (not need_value or value is not None)
            and (ok is not False or self.confirm_check.isChecked())
        )
        enable_unless_lost(self.sign_button, can, lost)
        if signed and sess is not None:
            so = sess.status[k].signoff
            assert so is not None
            flag = " (OUT OF LIMITS, confirmed)" if so.within_limits is False else ""
            self.sign_box.setTitle(f"Signed off by {so.technician} at {so.signed_at}{flag}")
        else:
            self.sign_box.setTitle("Sign-off")
        self.prev_button.setEnabled(k > 0)
        self.next_button.setEnabled(
            self.procedure is not None and k < len(self.procedure.steps) - 1
        )

    # ------------------------------------------------------------------ actions

    def _fail(self, exc: Exception) -> None:
        self._say(f"<span>{html.escape(str(exc))}</span>", error=True)

    def _say(self, text: str, *, error: bool = False) -> None:
        """Show a message under the player (rich text); an error in the theme's error colour."""
        show_message(self.message, text, error=error)
        self.message.setVisible(bool(text))  # an empty line takes the step's room

    def _on_theme_changed(self, _dark: bool) -> None:
        self._fill_checklist()  # its signed steps are coloured ok or out of limits

    def _on_ack_toggled(self, note: int, on: bool) -> None:
        if on:
            self.acknowledge(note)

    def acknowledge(self, note: int | None = None) -> None:
        """Acknowledge one (or every) safety note of the current step."""
        try:
            self._ensure_session().acknowledge_safety(self.current, note)
        except MaintenanceError as exc:
            self._fail(exc)
            return
        for n, cb in enumerate(self.safety_checks):
            if self.session is not None and n in self.session.status[self.current].acknowledged:
                cb.blockSignals(True)
                cb.setChecked(True)
                cb.setEnabled(False)
                cb.blockSignals(False)
        self._update_buttons()

    def _on_start_clicked(self) -> None:
        self.start_step()

    def start_step(self) -> bool:
        """Start the current step (refused until its safety notes are acknowledged)."""
        try:
            self._ensure_session().start_step(self.current)
        except MaintenanceError as exc:
            self._fail(exc)
            return False
        self._say(f"Step {self.current + 1} started.")
        self._update_buttons()
        return True

    def _on_sign_clicked(self) -> None:
        self.sign_off()

    def sign_off(self) -> bool:
        """Sign the current step off with the form's name, value and confirmation."""
        k = self.current
        try:
            sess = self._ensure_session()
            so = sess.sign_off(
                k,
                self.name_edit.text(),
                value=self.measured_value(),
                confirm_out_of_limit=self.confirm_check.isChecked(),
                comment=self.comment_edit.text().strip(),
            )
        except MaintenanceError as exc:
            self._fail(exc)
            return False
        self._fill_checklist()
        self.signed.emit(k)
        if sess.is_complete():
            self.show_step(k)
            self._say(
                f"<b>All {len(sess.steps)} steps signed off.</b> The run is complete and logged."
            )
        else:
            self.show_step(k + 1)
            flag = " Out-of-limit value recorded." if so.within_limits is False else ""
            self._say(f"Step {k + 1} signed off by {so.technician}.{flag}")
        return True

    def _on_csv_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export maintenance log", "maintenance_log.csv", "CSV files (*.csv)"
        )
        if path:
            self.export_csv(path)

    def export_csv(self, path: str, *, this_run_only: bool = False) -> int:
        """Write the log's sign-offs (all, or this run's) to a CSV file."""
        sid = self.session.session_id if (this_run_only and self.session is not None) else None
        try:
            n = self.log.export_csv(path, sid)
        except MaintenanceError as exc:
            QMessageBox.warning(self, "Export failed", str(exc))
            return 0
        self._say(f"{n} sign-offs written to {path}")
        return n
