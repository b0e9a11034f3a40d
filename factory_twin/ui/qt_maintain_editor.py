"""The procedure author: edit procedures and steps with undo/redo, validate, save.

Every change is an app-layer :class:`~factory_twin.app.maintenance.ProcedureEdit` pushed
on a ``QUndoStack`` (:class:`~factory_twin.ui.qt_undo.SpecEditCommand`), so Ctrl+Z / Ctrl+Shift+Z undo and redo exactly
what was done, and the plant spec is changed only through those edits.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEventLoop, QModelIndex, Qt, Signal
from PySide6.QtGui import (
    QCursor,
    QDoubleValidator,
    QKeySequence,
    QShortcut,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app import maintenance_authoring as m
from factory_twin.model.schema import PlantSpec, Procedure, StepAction
from factory_twin.ui.qt_undo import SpecEditCommand, undo_buttons
from factory_twin.ui.qt_wrap_bar import QtWrapBar
from factory_twin.ui.theme import coloured, follow_colours, vertical_scroll

logger = logging.getLogger(__name__)

SAFETY_KINDS = ("loto", "ppe", "gas", "electrical", "chemical", "hot", "laser", "general")


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _num(text: str) -> float | None:
    t = text.strip().replace(",", ".")
    if not t:
        return None
    try:
        return float(t)
    except ValueError:
        raise m.EditError(f"{text!r} is not a number") from None


def parse_safety(text: str) -> list[dict[str, str]]:
    """Parse safety notes written one per line as ``kind: text`` (kind defaults to general)."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        kind, sep, rest = line.partition(":")
        if sep and kind.strip().lower() in SAFETY_KINDS:
            out.append({"kind": kind.strip().lower(), "text": rest.strip()})
        else:
            out.append({"kind": "general", "text": line})
        if not out[-1]["text"]:
            msg = f"safety note {n} has no text"
            raise m.EditError(msg)
    return out


class QtProcedureEditor(QWidget):
    """Edit the procedures of the selected tool's type.

    Signals
    -------
    pick_requested(bool)
        The user toggled "Pick in 3-D": the workspace turns the next click in the view
        into a component (see :meth:`set_component`).
    step_selected(int)
        A step was selected (the workspace shows it in 3-D).
    saved(str)
        The plant was saved to that path.
    """

    pick_requested = Signal(bool)
    step_selected = Signal(int)
    changed = Signal(str)  # procedure id
    saved = Signal(str)

    def __init__(self, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = undo_stack
        self.spec: PlantSpec | None = None
        self.doc: Any = None
        self.tool: str | None = None
        self.proc_id: str | None = None
        self.step_index = 0
        self._loading = False
        self._build()
        self.setEnabled(False)

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        self._build_toolbar(outer)
        body = QWidget()
        bl = QVBoxLayout(body)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self._build_procedure_box())
        bl.addWidget(self._build_steps_box())
        bl.addWidget(self._build_step_box())
        bl.addStretch(1)
        outer.addWidget(vertical_scroll(body), 1)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setObjectName("author_problems")
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.problems)
        follow_colours(self.problems)

        self._connect_signals()

    def _build_toolbar(self, outer: QVBoxLayout) -> None:
        """New, Undo, Redo, Validate, Save, and the unsaved-edits line under them."""
        bar = QtWrapBar()  # two rows when the pane is narrow
        self.new_proc_button = QPushButton("New…")
        self.new_proc_button.setToolTip("new procedure for the selected tool's type")
        self.undo_button, self.redo_button = undo_buttons(self.undo_stack)
        self.validate_button = QPushButton("Validate")
        self.save_button = QPushButton("Save")
        self.save_button.setToolTip("validate, then save the plant file (comments are kept)")
        self.save_button.setObjectName("author_save")
        bar.add_group([self.new_proc_button, self.undo_button, self.redo_button])
        bar.add_group([self.validate_button, self.save_button])
        outer.addWidget(bar)
        self.dirty_label = QLabel()
        self.dirty_label.setObjectName("author_dirty")
        follow_colours(self.dirty_label)
        outer.addWidget(self.dirty_label)

    def _build_procedure_box(self) -> QGroupBox:
        """The procedure's own fields: id, name, revision, description, alarm codes."""
        pbox = QGroupBox("Procedure")
        pf = QFormLayout(pbox)
        self.id_label = QLabel()
        self.id_label.setWordWrap(True)
        self.name_edit = QLineEdit()
        self.rev_edit = QLineEdit()
        self.desc_edit = QLineEdit()
        self.alarms_edit = QLineEdit()
        self.alarms_edit.setPlaceholderText("e.g. temperature.hi, fault")
        pf.addRow("Id", self.id_label)
        pf.addRow("Name", self.name_edit)
        pf.addRow("Revision", self.rev_edit)
        pf.addRow("Description", self.desc_edit)
        pf.addRow("Alarm codes", self.alarms_edit)
        return pbox

    def _build_steps_box(self) -> QGroupBox:
        """The step list (drag to reorder) with Add and Remove."""
        sbox = QGroupBox("Steps (drag to reorder)")
        sl = QVBoxLayout(sbox)
        self.steps = QListWidget()
        self.steps.setObjectName("author_steps")
        self.steps.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.steps.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.steps.setMinimumHeight(120)
        self.steps.setMaximumHeight(200)
        sl.addWidget(self.steps)
        sb = QHBoxLayout()
        self.add_step_button = QPushButton("Add step")
        self.remove_step_button = QPushButton("Remove step")
        sb.addWidget(self.add_step_button)
        sb.addWidget(self.remove_step_button)
        sb.addStretch(1)
        sl.addLayout(sb)
        return sbox

    def _build_step_box(self) -> QGroupBox:
        """The selected step's fields, its acceptance and the Apply button."""
        fbox = QGroupBox("Step")
        ff = QFormLayout(fbox)
        self.title_edit = QLineEdit()
        self.text_edit = QPlainTextEdit()
        self.text_edit.setMaximumHeight(80)
        comp_row = QHBoxLayout()
        self.component_combo = QComboBox()
        self.pick_button = QPushButton("Pick 3-D")
        self.pick_button.setCheckable(True)
        self.pick_button.setToolTip(
            "then click the tool in the 3-D view: the nearest component is taken"
        )
        for combo in (self.component_combo,):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(8)
        comp_row.addWidget(self.component_combo, 1)
        comp_row.addWidget(self.pick_button)
        self.action_combo = QComboBox()
        self.action_combo.addItems([a.value for a in StepAction])
        self.tools_edit = QLineEdit()
        self.tools_edit.setPlaceholderText("comma separated")
        self.parts_edit = QLineEdit()
        self.parts_edit.setPlaceholderText("comma separated")
        self.safety_edit = QPlainTextEdit()
        self.safety_edit.setMaximumHeight(70)
        self.safety_edit.setPlaceholderText(
            "one per line: kind: text (kinds: " + ", ".join(SAFETY_KINDS) + ")"
        )
        self.duration_spin = QDoubleSpinBox()
        self.duration_spin.setRange(0.1, 100000)
        self.duration_spin.setDecimals(1)
        self.duration_spin.setSuffix(" min")
        ff.addRow("Title", self.title_edit)
        ff.addRow("Text", self.text_edit)
        ff.addRow("Component", comp_row)
        ff.addRow("Action", self.action_combo)
        ff.addRow("Tools", self.tools_edit)
        ff.addRow("Parts", self.parts_edit)
        ff.addRow("Safety", self.safety_edit)
        ff.addRow("Duration", self.duration_spin)
        ff.addRow(self._build_acceptance_box())
        self.apply_button = QPushButton("Apply step changes")
        self.apply_button.setToolTip("Ctrl+Enter; also applied when you select another step")
        self.apply_button.setObjectName("author_apply")
        ff.addRow(self.apply_button)
        return fbox

    def _build_acceptance_box(self) -> QGroupBox:
        """The step's acceptance: a measured quantity with its unit and limits (checkable)."""
        self.acc_box = QGroupBox("Acceptance (a measured value)")
        self.acc_box.setCheckable(True)
        af = QFormLayout(self.acc_box)
        self.acc_quantity = QLineEdit()
        self.acc_unit = QLineEdit()
        self.acc_min = QLineEdit()
        self.acc_max = QLineEdit()
        self.acc_target = QLineEdit()
        for e in (self.acc_min, self.acc_max, self.acc_target):
            e.setValidator(QDoubleValidator())
        af.addRow("Quantity", self.acc_quantity)
        af.addRow("Unit", self.acc_unit)
        af.addRow("Min", self.acc_min)
        af.addRow("Max", self.acc_max)
        af.addRow("Target", self.acc_target)
        return self.acc_box

    def _connect_signals(self) -> None:
        self.new_proc_button.clicked.connect(self._on_new_procedure_clicked)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self._on_clean_changed(True)
        self.validate_button.clicked.connect(self.validate)
        self.save_button.clicked.connect(self.save)
        self.add_step_button.clicked.connect(self.add_step)
        self.remove_step_button.clicked.connect(self.remove_current_step)
        self.apply_button.clicked.connect(self.apply_step_changes)
        QShortcut(
            QKeySequence("Ctrl+Return"),
            self,
            self.apply_step_changes,
            context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
        )
        self.steps.currentRowChanged.connect(self._on_step_row_changed)
        self.steps.model().rowsMoved.connect(self._on_rows_moved)
        self.pick_button.toggled.connect(self.pick_requested.emit)
        for e in (self.name_edit, self.rev_edit, self.desc_edit, self.alarms_edit):
            e.editingFinished.connect(self._on_procedure_fields_edited)

    def _on_clean_changed(self, clean: bool) -> None:
        self.dirty_label.setText(
            ""
            if clean
            else coloured(
                "caution", "● unsaved procedure edits: Save writes them to the plant file"
            )
        )
        self.dirty_label.setVisible(not clean)

    # ------------------------------------------------------------------ showing

    def set_document(self, doc: Any) -> None:
        """Edit the procedures of a plant document (its ``spec`` is changed in place)."""
        self.doc = doc
        self.spec = doc.spec if doc is not None else None
        self.undo_stack.clear()
        self.proc_id = None
        self.tool = None
        self._load_procedure()

    def show_procedure(self, tool: str, proc_id: str | None, step: int = 0) -> None:
        """Edit procedure ``proc_id`` (of ``tool``'s type)."""
        self.tool = tool
        self.proc_id = proc_id
        self.step_index = step
        self._load_procedure()

    def procedure(self) -> Procedure | None:
        """The procedure being edited."""
        if self.spec is None or self.proc_id is None:
            return None
        return next((p for p in self.spec.procedures if p.id == self.proc_id), None)

    def _load_procedure(self) -> None:
        proc = self.procedure()
        self.setEnabled(self.spec is not None)
        for w in (
            self.steps,
            self.add_step_button,
            self.remove_step_button,
            self.apply_button,
            self.name_edit,
            self.rev_edit,
            self.desc_edit,
            self.alarms_edit,
        ):
            w.setEnabled(proc is not None)
        self._loading = True
        try:
            if proc is None:
                self.id_label.setText("— pick a tool and a procedure, or make a new one —")
                for e in (self.name_edit, self.rev_edit, self.desc_edit, self.alarms_edit):
                    e.clear()
                self.steps.clear()
                self._load_step()
                return
            self.id_label.setText(f"{proc.id} ({proc.equipment_type})")
            self.name_edit.setText(proc.name)
            self.rev_edit.setText(proc.revision)
            self.desc_edit.setText(proc.description)
            self.alarms_edit.setText(", ".join(proc.alarm_codes))
            assert self.spec is not None
            t = self.spec.equipment_type(proc.equipment_type)
            self.component_combo.clear()
            self.component_combo.addItems([c.name for c in t.components])
            self.steps.clear()
            for k, st in enumerate(proc.steps):
                it = QListWidgetItem(f"{k + 1}. {st.title}  [{st.component}]")
                it.setData(Qt.ItemDataRole.UserRole, k)
                self.steps.addItem(it)
            self.step_index = max(0, min(self.step_index, len(proc.steps) - 1))
            self.steps.setCurrentRow(self.step_index)
            self._load_step()
        finally:
            self._loading = False

    def _load_step(self) -> None:
        proc = self.procedure()
        st = proc.steps[self.step_index] if proc is not None and proc.steps else None
        was = self._loading
        self._loading = True
        try:
            self.title_edit.setText(st.title if st else "")
            self.text_edit.setPlainText(st.text if st else "")
            if st is not None:
                self.component_combo.setCurrentText(st.component)
                self.action_combo.setCurrentText(st.action.value)
            self.tools_edit.setText(", ".join(st.tools) if st else "")
            self.parts_edit.setText(", ".join(st.parts) if st else "")
            self.safety_edit.setPlainText(
                "\n".join(f"{n.kind}: {n.text}" for n in st.safety) if st else ""
            )
            self.duration_spin.setValue(st.duration_s / 60 if st else 5.0)
            acc = st.acceptance if st else None
            self.acc_box.setChecked(acc is not None)
            self.acc_quantity.setText(acc.quantity if acc else "")
            self.acc_unit.setText(acc.unit if acc else "")
            for e, v in (
                (self.acc_min, acc.min if acc else None),
                (self.acc_max, acc.max if acc else None),
                (self.acc_target, acc.target if acc else None),
            ):
                e.setText("" if v is None else f"{v:g}")
        finally:
            self._loading = was

    def _on_step_row_changed(self, row: int) -> None:
        if self._loading or row < 0:
            return
        if self._step_form_dirty():
            self.apply_step_changes()
        self.step_index = row
        self._load_step()
        self.step_selected.emit(row)

    # ------------------------------------------------------------------ edits

    def _push(self, edit: m.ProcedureEdit) -> None:
        assert self.spec is not None
        self.undo_stack.push(SpecEditCommand(self.spec, edit, self._on_edit_done))

    def _on_edit_done(self, edit: m.ProcedureEdit, undone: bool) -> None:
        """Refresh after an edit was done or undone (called by the undo stack)."""
        p = edit.before if undone else edit.after
        self.proc_id = p.id if p is not None else None
        if edit.step is not None:
            self.step_index = edit.step
        self._load_procedure()
        self.problems.setText("")
        self.changed.emit(edit.procedure_id)

    def _run(self, make: Callable[[], m.ProcedureEdit]) -> bool:
        try:
            edit = make()
        except m.EditError as exc:
            self.problems.setText(coloured("error", html.escape(str(exc))))
            return False
        self._push(edit)
        return True

    def _step_fields(self) -> dict[str, Any]:
        acc: dict[str, Any] | None = None
        if self.acc_box.isChecked():
            acc = {
                "quantity": self.acc_quantity.text().strip(),
                "unit": self.acc_unit.text().strip(),
            }
            for key, e in (
                ("min", self.acc_min),
                ("max", self.acc_max),
                ("target", self.acc_target),
            ):
                v = _num(e.text())
                if v is not None:
                    acc[key] = v
        return {
            "title": self.title_edit.text().strip(),
            "text": self.text_edit.toPlainText().strip(),
            "component": self.component_combo.currentText(),
            "action": self.action_combo.currentText(),
            "tools": _split(self.tools_edit.text()),
            "parts": _split(self.parts_edit.text()),
            "safety": parse_safety(self.safety_edit.toPlainText()),
            "duration_s": round(self.duration_spin.value() * 60, 3),
            "acceptance": acc,
        }

    def _step_form_dirty(self) -> bool:
        proc = self.procedure()
        if proc is None or not proc.steps or self.step_index >= len(proc.steps):
            return False
        try:
            new = self._step_fields()
        except m.EditError:
            return True
        old = proc.steps[self.step_index].model_dump(mode="json")
        for key, v in new.items():
            ov = old.get(key)
            if key == "acceptance" and v is not None and ov is not None:
                ov = {k: x for k, x in ov.items() if x is not None and (x != "" or k == "unit")}
                v = {"unit": "", **v}
            if key == "duration_s":
                if abs(float(ov or 0.0) - float(v)) > 0.051 * 60:
                    return True
                continue
            if ov != v:
                return True
        return False

    def apply_step_changes(self) -> bool:
        """Commit the step form as one undoable edit (only the fields that changed)."""
        proc = self.procedure()
        if proc is None or self.spec is None:
            return False
        k = self.step_index
        try:
            fields = self._step_fields()
        except m.EditError as exc:
            self.problems.setText(coloured("error", html.escape(str(exc))))
            return False
        old = proc.steps[k]
        changed: dict[str, Any] = {}
        for key, v in fields.items():
            ov = getattr(old, key)
            ov = (
                ov.model_dump(mode="json", exclude_unset=True) if hasattr(ov, "model_dump") else ov
            )
            if key == "action":
                ov = old.action.value
            if key == "safety":
                ov = [n.model_dump(mode="json") for n in old.safety]
            if key == "duration_s" and abs(float(ov) - float(v)) <= 0.051 * 60:
                continue
            if (
                key == "acceptance"
                and v is not None
                and ov is not None
                and {a: x for a, x in v.items() if x != ""}
                == {a: x for a, x in ov.items() if x != ""}
            ):
                continue
            if ov != v:
                changed[key] = v
        if not changed:
            return False
        spec = self.spec
        return self._run(lambda: m.set_step_fields(spec, proc.id, k, **changed))

    def set_component(self, name: str) -> bool:
        """Set the current step's component (from a 3-D pick) as an undoable edit."""
        self.pick_button.setChecked(False)
        proc = self.procedure()
        if proc is None or self.spec is None:
            return False
        self._loading = True
        self.component_combo.setCurrentText(name)
        self._loading = False
        if proc.steps[self.step_index].component == name:
            return False
        k = self.step_index
        spec = self.spec
        return self._run(lambda: m.set_step_fields(spec, proc.id, k, component=name))

    def _on_procedure_fields_edited(self) -> None:
        if self._loading:
            return
        proc = self.procedure()
        if proc is None or self.spec is None:
            return
        new = {
            "name": self.name_edit.text().strip(),
            "revision": self.rev_edit.text().strip(),
            "description": self.desc_edit.text().strip(),
            "alarm_codes": _split(self.alarms_edit.text()),
        }
        changed = {k: v for k, v in new.items() if getattr(proc, k) != v}
        if changed:
            spec = self.spec
            self._run(lambda: m.set_procedure_fields(spec, proc.id, **changed))

    def add_step(self, component: str | None = None, title: str = "New step") -> bool:
        """Insert a new step after the current one."""
        proc = self.procedure()
        if proc is None or self.spec is None:
            return False
        comp = (
            component
            or self.component_combo.currentText()
            or proc.steps[self.step_index].component
        )
        k = min(self.step_index + 1, len(proc.steps))
        spec = self.spec
        return self._run(
            lambda: m.insert_step(spec, proc.id, k, {"title": title, "component": comp})
        )

    def remove_current_step(self) -> bool:
        """Remove the current step."""
        proc = self.procedure()
        if proc is None or self.spec is None:
            return False
        k = self.step_index
        spec = self.spec
        return self._run(lambda: m.remove_step(spec, proc.id, k))

    def move_step(self, src: int, dst: int) -> bool:
        """Move a step (what a drag and drop in the step list does)."""
        proc = self.procedure()
        if proc is None or self.spec is None or src == dst:
            return False
        spec = self.spec
        return self._run(lambda: m.move_step(spec, proc.id, src, dst))

    def _on_rows_moved(
        self, _parent: QModelIndex, start: int, _end: int, _dest: QModelIndex, row: int
    ) -> None:
        if self._loading:
            return
        dst = row if row < start else row - 1
        # rebuild the list from the spec once the view has finished its own move
        from PySide6.QtCore import QTimer

        def move() -> None:
            if not self.move_step(start, dst):
                self._load_procedure()  # put the list back as the spec has it

        QTimer.singleShot(0, move)

    def new_procedure(self, proc_id: str, name: str, component: str | None = None) -> bool:
        """Create a procedure for the selected tool's type with one step."""
        if self.spec is None or self.tool is None:
            self.problems.setText("Pick a tool first: a procedure belongs to a tool type.")
            return False
        etype = self.spec.equipment_type(self.spec.tool(self.tool).type)
        comp = component or (etype.components[0].name if etype.components else "")
        if not comp:
            self.problems.setText(
                f"Type {etype.id} has no components to point steps at; add "
                "components to the plant file first."
            )
            return False
        data = {
            "id": proc_id.strip(),
            "name": name.strip(),
            "equipment_type": etype.id,
            "steps": [{"title": "First step", "component": comp}],
        }
        spec = self.spec
        return self._run(lambda: m.add_procedure(spec, data))

    def _on_new_procedure_clicked(self) -> None:
        pid, ok = QInputDialog.getText(self, "New procedure", "Id (letters, digits, - _ .):")
        if not ok or not pid.strip():
            return
        name, ok = QInputDialog.getText(self, "New procedure", "Name:")
        if ok:
            self.new_procedure(pid, name or pid)

    # ------------------------------------------------------------------ checking and saving

    def validate(self) -> list[str]:
        """Check the plant (cross-references); show and return the problems."""
        if self.spec is None:
            return []
        from factory_twin.model.config import validate_spec

        problems = validate_spec(self.spec)
        if problems:
            items = "".join(f"<li>{html.escape(p)}</li>" for p in problems[:12])
            more = f"<li>… and {len(problems) - 12} more</li>" if len(problems) > 12 else ""
            self.problems.setText(
                coloured("error", f"<b>{len(problems)} problem(s):</b><ul>{items}{more}</ul>")
            )
        else:
            self.problems.setText(coloured("ok", "The plant is valid."))
        return problems

    def has_unsaved_edits(self) -> bool:
        """True if procedure edits (applied or still in the step form) are not saved."""
        if self.doc is None:
            return False
        return not self.undo_stack.isClean() or self._step_form_dirty()

    def discard_edits(self) -> None:
        """Throw away the unsaved edits: undo back to the saved state, reload the form."""
        st = self.undo_stack
        if not st.isClean() and st.cleanIndex() >= 0:
            st.setIndex(st.cleanIndex())  # the spec is edited in place: revert it
        st.clear()
        self._load_procedure()

    def save(self) -> str | None:
        """Validate, then save the plant file (atomic, keeps comments); return the path."""
        if self._step_form_dirty():
            self.apply_step_changes()
        if self.doc is None or self.validate():
            return None
        from factory_twin.errors import FactoryTwinError

        # the round trip that keeps the file's comments takes a moment (seconds on big plants):
        # say so with the busy cursor (callers need the outcome, so this save stays in line)
        self.problems.setText("Saving…")
        QApplication.setOverrideCursor(QCursor(Qt.CursorShape.WaitCursor))
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        try:
            path = self.doc.save()
        except (FactoryTwinError, OSError) as exc:
            self.problems.setText(coloured("error", f"Cannot save: {html.escape(str(exc))}"))
            return None
        finally:
            QApplication.restoreOverrideCursor()
        self.undo_stack.setClean()
        self.problems.setText(coloured("ok", f"Saved {html.escape(str(path))}"))
        self.saved.emit(str(path))
        return str(path)
