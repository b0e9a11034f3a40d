"""The Maintain workspace: procedure browser, 3-D work instructions, player, author, AR export.

Layout: the procedure browser on the left, the 3-D view in the middle (its own
:class:`~factory_twin.ui.qt_scene_view.QtSceneView` with a
:class:`~factory_twin.ui.maintain_scene.StepOverlay`), and on the right the *Run* tab (the
player and its sign-off checklist) and the *Author* tab (the procedure editor). The main
window's *Alarms* and *Tool details* docks sit side by side below them while Maintain is
shown (:mod:`~factory_twin.ui.qt_maintain_docks`).

:func:`install_maintain` adds the workspace, a *Maintain* menu and the alarm panel's
"Open procedure" link to a :class:`~factory_twin.ui.qt_main_window.MainWindow`.
"""

from __future__ import annotations

import contextlib
import html
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.maintenance import (
    MaintenanceError,
    MaintenanceLog,
    nearest_component,
    procedures_for_alarm,
)
from factory_twin.model.config import PlantDocument
from factory_twin.ui.maintain_scene import StepOverlay
from factory_twin.ui.qt_close import on_window_close
from factory_twin.ui.qt_drill_link import LOST_TIP, enable_unless_lost
from factory_twin.ui.qt_maintain_browser import QtProcedureBrowser
from factory_twin.ui.qt_maintain_docks import MaintainDocks, install_maintain_docks
from factory_twin.ui.qt_maintain_editor import QtProcedureEditor
from factory_twin.ui.qt_maintain_export import QtExportDialog
from factory_twin.ui.qt_maintain_player import QtProcedurePlayer
from factory_twin.ui.qt_pane_fit import PaneFit
from factory_twin.ui.qt_scene_view import QtSceneView
from factory_twin.ui.qt_undo import undo_actions
from factory_twin.ui.theme import (
    coloured,
    current_dark,
    follow_colours,
    remember_panes,
    three_panes,
)

logger = logging.getLogger(__name__)

PANES_KEY = "maintain/panes"  # the pane widths the user dragged to, in the window's settings
BROWSER_KEY = "maintain/browser_panes"  # the heights of the browser's tools and procedures
# by default the browser and the Run/Author tabs take these shares of the width (at most
# PANE_MOST pixels), so the 3-D view gets well over half of a 1280-pixel window
PANE_FRACTIONS = (0.16, 0.27)
PANE_MOST = (300, 440)


def ask_unsaved_edits(
    parent: QWidget, text: str, title: str = "Unsaved procedure edits"
) -> QMessageBox.StandardButton:
    """Ask Save / Discard / Cancel about unsaved edits (procedures unless ``title`` says
    otherwise); return the button.

    A plain :meth:`QMessageBox.question`, so tests answer it by patching that static
    method or by clicking the button of the modal box from a QTimer.
    """
    B = QMessageBox.StandardButton
    return QMessageBox.question(parent, title, text, B.Save | B.Discard | B.Cancel, B.Save)


class QtMaintainWorkspace(QWidget):
    """Work instructions for maintenance crews.

    Parameters
    ----------
    controller
        The application controller (its ``plant_changed`` signal and ``doc``).
    log
        The maintenance log (default: the user data folder).
    """

    procedure_opened = Signal(str, str)  # tool, procedure id

    def __init__(
        self, controller: Any, log: MaintenanceLog | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.log = log if log is not None else MaintenanceLog()
        self.doc: PlantDocument | None = None
        self.overlay: StepOverlay | None = None
        self.tool: str | None = None
        self.proc_id: str | None = None
        self.export_dialog: QtExportDialog | None = None
        self.picking = False
        self.last_pick: tuple[str, str] | None = None
        self.undo_stack = QUndoStack(self)
        self.docks: MaintainDocks | None = None  # the window's docks while shown (install)
        # a trainee's connection to the drill server is lost: opening a procedure, reported
        # to that server in a drill, is greyed out until it is back (set_drill_link_lost)
        self.drill_link_lost = False
        self.pane_fit: PaneFit | None = None  # the default pane widths, none remembered

        self.browser = QtProcedureBrowser()
        self.view = QtSceneView()
        self.view.legend.hide()  # tool states do not matter here; the callout does
        self.player = QtProcedurePlayer(self.log)
        self.editor = QtProcedureEditor(self.undo_stack)
        self.side = QTabWidget()
        self.side.addTab(self.player, "Run")
        self.side.addTab(self.editor, "Author")

        center = QWidget()
        cl = QVBoxLayout(center)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(2)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 6, 2)
        self.info = QLabel("Pick a tool (list or 3-D view), then a procedure.")
        self.info.setObjectName("maintain_info")
        follow_colours(self.info)
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("open the selected procedure in the player (Run tab)")
        self.export_button = QPushButton("Export AR…")
        self.export_button.setToolTip(
            "export the selected procedure for AR devices, tablets and paper"
        )
        self.overview_button = QPushButton("Overview")
        self.info.setMinimumWidth(60)
        bar.addWidget(self.info, 1)
        bar.addWidget(self.overview_button)
        bar.addWidget(self.open_button)
        bar.addWidget(self.export_button)
        cl.addLayout(bar)
        cl.addWidget(self.view, 1)

        self.splitter = three_panes(
            self, (self.browser, center, self.side), (300, 780, 430), (160, 320, 340)
        )

        self.undo_action, self.redo_action = undo_actions(self, self.undo_stack, "procedure edit")

        self.browser.tool_changed.connect(self._on_tool_chosen)
        self.browser.procedure_selected.connect(self._on_procedure_selected)
        self.browser.procedure_activated.connect(lambda t, p: self.open_procedure(t, p))
        self.view.tool_selected.connect(self._on_view_tool_selected)
        self.view.plotter.iren.add_observer("LeftButtonReleaseEvent", self._on_view_release)
        self.player.step_shown.connect(self._on_player_step)
        self.editor.step_selected.connect(self._on_editor_step)
        self.editor.pick_requested.connect(self.set_picking)
        self.editor.changed.connect(self._on_procedures_edited)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.export_button.clicked.connect(lambda: self.open_export_dialog())
        self.overview_button.clicked.connect(self.show_overview)
        self.side.currentChanged.connect(self._on_side_tab_changed)
        controller.plant_changed.connect(self.set_document)
        if getattr(controller, "doc", None) is not None:
            self.set_document(controller.doc)
        self._update_buttons()

    # ------------------------------------------------------------------ plant

    def set_document(self, doc: PlantDocument | None) -> None:
        """Show a plant (called when the controller opens one)."""
        if doc is not None and self.doc is doc:
            return
        self.doc = doc
        self.overlay = None
        if doc is not None:
            self.view.set_plant(doc.spec, None, dark=current_dark())
            self.view.legend.hide()
            assert self.view.scene is not None
            self.overlay = StepOverlay(self.view.scene)
        self.browser.set_spec(doc.spec if doc is not None else None)
        self.editor.set_document(doc)
        self.tool = self.proc_id = None
        self._update_buttons()

    @property
    def spec(self) -> Any:
        """The plant spec shown (None before a plant is open)."""
        return self.doc.spec if self.doc is not None else None

    # ------------------------------------------------------------------ choosing

    def select_tool(self, tool_id: str) -> bool:
        """Choose a tool: list its type's procedures and fly to it."""
        if self.spec is None or not self.browser.select_tool(tool_id, emit=False):
            return False
        self._on_tool_chosen(tool_id)
        return True

    def _on_tool_chosen(self, tool_id: str) -> None:
        self.tool = tool_id
        self.view.select(tool_id)
        self.view.fly_to_tool(tool_id)
        n = len(self.spec.procedures_for(self.spec.tool(tool_id).type)) if self.spec else 0
        self.info.setText(f"<b>{tool_id}</b>: {n} procedure(s)")
        self.editor.show_procedure(tool_id, None)
        self._update_buttons()

    def _on_view_tool_selected(self, tool_id: str) -> None:
        if tool_id and not self.picking:
            self.browser.select_tool(tool_id, emit=False)
            self._on_tool_chosen(tool_id)

    def _on_procedure_selected(self, tool: str, proc_id: str) -> None:
        self.proc_id = proc_id
        self.editor.show_procedure(tool, proc_id)
        self._update_buttons()

    def _on_open_clicked(self) -> None:
        pid = self.browser.selected_procedure()
        if self.tool and pid:
            self.open_procedure(self.tool, pid)

    def _update_buttons(self) -> None:
        ok = self.tool is not None and self.browser.selected_procedure() is not None
        enable_unless_lost(self.open_button, ok, self.drill_link_lost)
        self.export_button.setEnabled(ok)

    def set_drill_link_lost(self, lost: bool) -> None:
        """While a trainee's connection to the drill server is ``lost``, grey out opening a
        procedure (Open, with a tooltip saying why; the browser says it under its title) and
        the player's safety acknowledgements, Start step and sign-off; by their own rules
        again once it is back."""
        self.drill_link_lost = lost
        self.browser.set_drill_link_lost(lost)
        self.player.set_drill_link_lost(lost)
        self._update_buttons()

    # ------------------------------------------------------------------ running

    def open_procedure(self, tool: str, procedure: str) -> bool:
        """Open a procedure on a tool in the player (resuming an unfinished run); refused,
        saying why, while a trainee's connection to the drill server is lost."""
        if self.spec is None:
            return False
        if self.drill_link_lost:  # a double-click in the browser, the alarm panel's link
            self.info.setText(coloured("error", html.escape(f"Not opened: {LOST_TIP}.")))
            return False
        if self.tool != tool:
            self.select_tool(tool)
        self.side.setCurrentWidget(self.player)
        try:
            self.player.open(
                self.spec, tool, procedure, technician=getattr(self.controller, "user", "")
            )
        except MaintenanceError as exc:
            self.info.setText(coloured("error", html.escape(str(exc))))
            return False
        assert self.player.procedure is not None
        self.proc_id = self.player.procedure.id
        self.browser.select_procedure(self.proc_id, emit=False)
        self.editor.show_procedure(tool, self.proc_id, self.player.current)
        self.side.setCurrentWidget(self.player)
        self._update_buttons()
        self.procedure_opened.emit(tool, self.proc_id)
        return True

    def open_for_alarm(self, tool: str, code: str) -> str | None:
        """Open the procedure linked to an alarm code on a tool; return its id (None if none)."""
        if self.spec is None:
            return None
        procs = procedures_for_alarm(self.spec, tool, code)
        if not procs:
            self.select_tool(tool)
            self.info.setText(
                f"<b>{tool}</b>: no procedure lists alarm <b>{code}</b>; "
                "its type's procedures are listed."
            )
            return None
        if not self.open_procedure(tool, procs[0].id) and self.drill_link_lost:
            return None  # the info line says why it was not opened
        self.info.setText(
            f"<b>{tool}</b>: alarm <b>{code}</b> → {procs[0].name}"
            + (f" (+{len(procs) - 1} more listed)" if len(procs) > 1 else "")
        )
        return procs[0].id

    def _on_player_step(self, k: int) -> None:
        if self.side.currentWidget() is not self.player:
            return  # the Author tab owns the 3-D view now
        proc = self.player.procedure
        if proc is not None and self.player.tool is not None:
            self.show_step(self.player.tool, proc.steps[k], animate=True)

    def _on_editor_step(self, k: int) -> None:
        proc = self.editor.procedure()
        if proc is not None and self.tool is not None and k < len(proc.steps):
            self.show_step(self.tool, proc.steps[k], animate=True)

    def show_step(self, tool: str, step: Any, *, animate: bool = True) -> None:
        """Highlight a step's component, draw its callout and move the camera to it."""
        if self.overlay is None:
            return
        try:
            h = self.overlay.show_step(
                tool, step.component, step.title, step.text, safety=bool(step.safety)
            )
        except KeyError:
            logger.info("step component %r not on %s", step.component, tool)
            self.overlay.clear()
            self.view.request_render()
            return
        self.view.select(None)
        cam = self.overlay.step_camera(tool, h.anchor, h.label_point, h.part_bounds)
        if animate:
            self.view.fly_to(cam)
        else:
            assert self.view.scene is not None
            self.view.scene.set_camera(cam, render=False)
        self.view.request_render()

    def show_overview(self) -> None:
        """Clear the step overlay and show the whole floor (a step click shows it again)."""
        if self.overlay is not None:
            self.overlay.clear()
        self.view.overview()

    def camera_settled(self) -> bool:
        """Return True when no camera flight is running."""
        return not self.view._fly_timer.isActive()

    def _on_side_tab_changed(self, _i: int) -> None:
        if self.side.currentWidget() is self.player and self.player.procedure is not None:
            self._on_player_step(self.player.current)
        elif self.side.currentWidget() is self.editor and self.editor.procedure() is not None:
            self._on_editor_step(self.editor.step_index)

    def _on_procedures_edited(self, proc_id: str) -> None:
        self.browser.refresh_procedures(select=proc_id if self.browser.tool else None)
        pl = self.player
        if (
            pl.procedure is not None
            and pl.procedure.id == proc_id
            and pl.session is None
            and self.spec is not None
            and pl.tool is not None
        ):
            # nothing signed yet: the player shows the edited procedure (a run in progress
            # keeps the revision it started on)
            with contextlib.suppress(MaintenanceError):  # removed: keep what it had
                pl.open(self.spec, pl.tool, proc_id)
        proc = self.editor.procedure()
        if proc is not None and self.tool is not None and self.side.currentWidget() is self.editor:
            k = min(self.editor.step_index, len(proc.steps) - 1)
            self.show_step(self.tool, proc.steps[k], animate=False)
        self._update_buttons()

    # ------------------------------------------------------------------ picking components

    def set_picking(self, on: bool) -> None:
        """Make the next click in the 3-D view choose the edited step's component."""
        self.picking = on
        self.info.setText(
            "Click the component on the tool in the 3-D view…" if on else self.info.text()
        )

    def _on_view_release(self, _obj: object, _event: str) -> None:
        if not self.picking:
            return
        x, y = self.view.plotter.iren.get_event_position()
        self.pick_component_at(x, y)

    def pick_component_at(self, x: float, y: float) -> str | None:
        """Pick at display pixel (x, y): the nearest component of the tool hit becomes the
        edited step's component. Returns the component name (None if nothing was hit)."""
        if self.overlay is None or self.spec is None:
            return None
        hit = self.overlay.pick(x, y)
        self.picking = False
        self.editor.pick_button.setChecked(False)
        if hit is None:
            self.info.setText("Nothing picked: click on a tool.")
            return None
        tool, point = hit
        comp = nearest_component(self.spec, tool, point)
        if comp is None:
            self.info.setText(f"{tool}'s type has no components.")
            return None
        proc = self.editor.procedure()
        if proc is not None and self.spec.tool(tool).type != proc.equipment_type:
            self.info.setText(
                f"{tool} is not a {proc.equipment_type}: pick on "
                f"{self.tool or 'a tool of that type'}."
            )
            return None
        self.last_pick = (tool, comp.name)
        self.info.setText(f"Picked <b>{comp.name}</b> on {tool}")
        self.editor.set_component(comp.name)
        return comp.name

    # ------------------------------------------------------------------ export

    def open_export_dialog(
        self,
        tool: str | None = None,
        procedure: str | None = None,
        out_dir: str | Path | None = None,
    ) -> QtExportDialog | None:
        """Open the AR export dialog for a procedure on a tool (default: the selected)."""
        tool = tool or self.tool
        procedure = procedure or self.proc_id or self.browser.selected_procedure()
        if self.doc is None or tool is None or procedure is None:
            self.info.setText("Pick a tool and a procedure to export.")
            return None
        dlg = QtExportDialog(
            self.doc.spec, tool, procedure, plant_path=self.doc.path, out_dir=out_dir, parent=self
        )
        self.export_dialog = dlg
        dlg.open()
        return dlg

    # ------------------------------------------------------------------ unsaved edits

    def has_unsaved_edits(self) -> bool:
        """True if the Author tab holds procedure edits not saved to the plant file."""
        return self.editor.has_unsaved_edits()

    def discard_edits(self) -> None:
        """Throw the unsaved procedure edits away (the plant in memory is reverted too)."""
        self.editor.discard_edits()

    def maybe_save_edits(self, action: str = "closing") -> bool:
        """Before ``action`` (closing, opening another plant): ask about unsaved edits.

        Save writes the plant file (if it does not validate, the Author tab shows why and
        the action is cancelled); Discard reverts the edits; Cancel stops the action.
        Returns True if the action may go on. Without unsaved edits nothing is asked.
        """
        if not self.has_unsaved_edits():
            return True
        name = self.doc.path.name if self.doc is not None and self.doc.path else "the plant file"
        n = self.undo_stack.count() - max(self.undo_stack.cleanIndex(), 0)
        what = (
            f"{n} unsaved procedure edit{'s' if n != 1 else ''}"
            if n > 0
            else "unsaved procedure edits (in the step form)"
        )
        answer = ask_unsaved_edits(
            self.window(), f"There are {what}. Save them to {name} before {action}?"
        )
        B = QMessageBox.StandardButton
        if answer == B.Save:
            if self.editor.save() is not None:
                return True
            self._show_author()  # the problems label says why it was not saved
            return False
        if answer == B.Discard:
            self.discard_edits()
            return True
        return False

    def _show_author(self) -> None:
        win = self.window()
        tabs = getattr(win, "tabs", None)
        if tabs is not None:
            tabs.setCurrentWidget(self)
        self.side.setCurrentWidget(self.editor)

    def close_view(self) -> None:
        """Release the 3-D view and stop a running export (call before deletion)."""
        if self.export_dialog is not None and self.export_dialog.state == "running":
            self.export_dialog.cancel()
            self.export_dialog.wait()
        try:
            self.controller.plant_changed.disconnect(self.set_document)
        except (TypeError, ValueError, RuntimeError):
            logger.debug("plant_changed was not connected")
        self.view.close_view()


def install_maintain(window: Any, log: MaintenanceLog | None = None) -> QtMaintainWorkspace:
    """Add the Maintain workspace, its menu and the alarm link to a main window."""
    ws = QtMaintainWorkspace(window.controller, log)
    settings = getattr(window, "settings", None)
    if not remember_panes(ws.splitter, settings, PANES_KEY):
        ws.pane_fit = PaneFit(ws.splitter, PANE_FRACTIONS, PANE_MOST)
    remember_panes(ws.browser.splitter, settings, BROWSER_KEY)
    window.add_workspace("Maintain", ws)
    window.maintain = ws

    def show_ws() -> None:
        window.tabs.setCurrentWidget(ws)

    def open_for_selected() -> None:
        tool = getattr(window.detail, "tool", None) or ws.tool
        show_ws()
        if tool:
            ws.select_tool(tool)

    def open_for_alarm(tool: str, code: str) -> None:
        show_ws()
        ws.open_for_alarm(tool, code)

    def export_ar() -> None:
        show_ws()
        ws.open_export_dialog()

    menu = window.menuBar().addMenu("&Maintain")
    help_menu = next((a for a in window.menuBar().actions() if a.text() == "&Help"), None)
    if help_menu is not None:
        window.menuBar().insertMenu(help_menu, menu)
    acts = [
        ("&Maintain workspace", show_ws, "Ctrl+M"),
        ("&Procedures of the selected tool", open_for_selected, "Ctrl+Shift+M"),
        ("&Export procedure for AR…", export_ar, "Ctrl+Shift+E"),
        ("Export maintenance &log (CSV)…", ws.player._on_csv_clicked, None),
    ]
    for text, slot, sc in acts:
        a = QAction(text, window)
        if sc:
            a.setShortcut(QKeySequence(sc))
        a.triggered.connect(lambda _=False, f=slot: f())
        menu.addAction(a)
    menu.addSeparator()
    menu.addAction(ws.undo_action)
    menu.addAction(ws.redo_action)
    window.maintain_menu = menu
    alarms = getattr(window, "alarms", None)
    if alarms is not None and hasattr(alarms, "procedure_requested"):
        alarms.procedure_requested.connect(open_for_alarm)
    # the Monitor's docks side by side along the bottom while Maintain is shown
    ws.docks = install_maintain_docks(window, ws)
    if ws.docks is not None:
        on_window_close(window, ws.docks.close)  # before the window saves its layout
    # Cancel (or a failed save) keeps the window open
    on_window_close(window, ws.close_view, ask=lambda: ws.maybe_save_edits("closing"))
    guards = getattr(window, "unsaved_guards", None)
    if guards is not None:  # asked before another plant replaces this one
        guards.append(lambda: ws.maybe_save_edits("opening another plant"))
    return ws
