"""The Plan workspace: scenarios of the open plant, edited on the 3-D floor.

Layout: on the left the scenario list (base first) with its notes, the palette of
equipment types and the exact placement of the selected tool; in the middle the 3-D view
(the same :class:`~factory_twin.ui.qt_scene_view.QtSceneView` and scene code as Monitor,
with a :class:`~factory_twin.ui.plan_scene.PlanOverlay`); on the right the change list,
the problems, the flows and the capacity.

Mouse on the view: click a tool to select it, Ctrl-click to add or take it away,
Shift-drag on the floor for a rubber band, drag a selected tool to move the selection
(snapped to the grid and to bay edges), Ctrl-drag a selected tool, or drag the
selection's rotate knob (a cyan disc on a stalk beyond its box, in a scenario), to turn the
selection about its centre (15° steps, Shift held: any angle, the pressed or first tool's
origin kept on the grid); dragging the empty floor turns the camera as in Monitor. Clicking a cell of the Flows tab's from-to grid lights that pair of
groups on the floor ("from" green, "to" magenta, an arrow between them). Keys (while the workspace has the focus): R turns the selection by 90°,
Delete removes it, Ctrl+D duplicates it, Ctrl+Z / Ctrl+Shift+Z undo and redo, Ctrl+S
saves the scenario, Ctrl+N makes a new one, Esc ends a drag (a move or a turn) or the
heat map.

Every edit is a scenario change through :class:`~factory_twin.app.plan_session.
PlanSession`, pushed on a ``QUndoStack`` by the workspace's ``edits``
(:class:`~factory_twin.ui.qt_plan_edits.PlanEdits`). While a tool is dragged only the live
checks, the flows and the moved tools' points change (no rebuild); the drop adds one change.

The next start shows the scenario shown last (if it is still beside the plant) and the
same tabs on both sides (:data:`SCENARIO_KEY`, :data:`LEFT_TAB_KEY`, :data:`RIGHT_TAB_KEY`
in the settings), as well as the pane widths, grid, bay-edge snapping and flows choice.

:func:`~factory_twin.ui.qt_plan_install.install_plan` adds it to the main window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QPoint, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.flow_matrix import FlowPair, flow_pair, route_order
from factory_twin.app.plan_files import (
    delete_scenario,
    duplicate_scenario,
    new_scenario,
    rename_scenario,
    scenarios_beside,
)
from factory_twin.app.plan_session import GRID_STEPS_M, PlanSession
from factory_twin.errors import ConfigError
from factory_twin.model.amhs_layout import generated_amhs
from factory_twin.ui.amhs_scene import has_rails
from factory_twin.ui.plan_scene import PlanOverlay, floor_point
from factory_twin.ui.qt_plan_edits import PlanEdits, busy
from factory_twin.ui.qt_plan_input import PlanViewInput
from factory_twin.ui.qt_plan_panels import (
    QtCapacityPanel,
    QtChangeList,
    QtFlowPanel,
    QtPalette,
    QtPlacement,
    QtProblemList,
    QtScenarioList,
)
from factory_twin.ui.qt_scene_view import QtSceneView
from factory_twin.ui.qt_undo import undo_actions
from factory_twin.ui.theme import current_dark, remember_panes, remember_tab, three_panes

logger = logging.getLogger(__name__)

SCENARIO_KEY = "plan/scenario"  # the scenario file shown last ("": the base plant)
LEFT_TAB_KEY = "plan/left_tab"  # the index of the left side's tab shown last
RIGHT_TAB_KEY = "plan/right_tab"  # and the right side's


class QtPlanWorkspace(QWidget):
    """Scenario editing for planners (see the module notes).

    Parameters
    ----------
    settings
        Where the grid step and the overlay switch are remembered (None: the app's).
    """

    edited = Signal()
    scenarios_changed = Signal()  # a scenario file was made, copied, renamed, deleted or saved

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.session: PlanSession | None = None
        self.overlay: PlanOverlay | None = None
        self.selection: list[str] = []
        self.pair: tuple[str, str] | None = None  # the from-to grid cell lit on the floor
        self.lit: FlowPair | None = None
        self.heat_shown = False
        self.dark = current_dark()  # the theme applied last (install_plan says it too)
        self.undo_stack = QUndoStack(self)
        self.edits = PlanEdits(self)
        self.on_heat_end: Callable[[], None] | None = None

        self.scenarios = QtScenarioList()
        self.type_palette = QtPalette()
        self.placement = QtPlacement()
        left = QTabWidget()
        left.addTab(self.scenarios, "Scenarios")
        left.addTab(self.type_palette, "Palette")
        left.addTab(self.placement, "Placement")
        self.left_tabs = left

        center = self._build_center()

        self.changes = QtChangeList()
        self.problems = QtProblemList()
        self.flows = QtFlowPanel()
        self.capacity = QtCapacityPanel()
        right = QTabWidget()
        right.addTab(self.changes, "Changes")
        right.addTab(self.problems, "Problems")
        right.addTab(self.flows, "Flows")
        right.addTab(self.capacity, "Capacity")
        self.right_tabs = right

        self.splitter = three_panes(self, (left, center, right), (290, 800, 400), (280, 320, 360))
        remember_panes(self.splitter, self.settings, "plan/panes")
        remember_tab(left, self.settings, LEFT_TAB_KEY)
        remember_tab(right, self.settings, RIGHT_TAB_KEY)

        self._build_actions()
        self.scenarios.chosen.connect(self._on_scenario_chosen)
        self.scenarios.new_requested.connect(self.new_scenario_dialog)
        self.scenarios.duplicate_requested.connect(self.duplicate_dialog)
        self.scenarios.rename_requested.connect(self.rename_dialog)
        self.scenarios.delete_requested.connect(self.delete_dialog)
        self.scenarios.notes_edited.connect(self._on_notes)
        self.changes.selected.connect(self._on_change_selected)
        self.changes.remove_requested.connect(self.edits.remove_change)
        self.changes.move_requested.connect(self.edits.move_change)
        self.problems.tool_clicked.connect(lambda t: self.select([t]))
        self.placement.apply_requested.connect(self.edits.place_selected)
        self.capacity.dispatch_requested.connect(self.edits.set_dispatch)
        self.flows.grid.pair_chosen.connect(self._on_pair_chosen)

    def _build_center(self) -> QWidget:
        """The 3-D view with its bar: info, grid step, bay-edge snap, flow overlay."""
        self.view = QtSceneView()
        self.view.legend.hide()
        self.view.tooltip_text = self.tool_tip
        self.interactor = self.view.plotter.interactor
        self.interactor.setAcceptDrops(True)
        self.input = PlanViewInput(self)
        self.interactor.installEventFilter(self.input)
        self.grid = QComboBox()
        self.grid.setObjectName("plan_grid")
        for g in GRID_STEPS_M:
            self.grid.addItem(f"grid {g:g} m", g)
        self.grid.setToolTip("drag snaps tool origins to this grid")
        self.edge_snap = QCheckBox("snap to bay edges")
        self.flows_box = QCheckBox("flows")
        self.flows_box.setToolTip("draw the flows between tool groups on the floor")
        grid = float(str(self.settings.value("plan/grid_m", 0.5)))
        self.grid.setCurrentIndex(max(0, self.grid.findData(grid)))
        self.edge_snap.setChecked(self.settings.value("plan/bay_edges", "true") == "true")
        self.flows_box.setChecked(self.settings.value("plan/flows", "true") == "true")
        self.grid.currentIndexChanged.connect(lambda _i: self._remember())
        self.edge_snap.toggled.connect(lambda _on: self._remember())
        self.flows_box.toggled.connect(self._on_flows_toggled)
        self.info = QLabel("")
        self.info.setObjectName("plan_info")
        self.info.setMinimumWidth(80)
        self.info.setContentsMargins(6, 2, 6, 0)
        self.info.setWordWrap(True)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 6, 2)
        bar.addStretch(1)
        bar.addWidget(self.grid)
        bar.addWidget(self.edge_snap)
        bar.addWidget(self.flows_box)
        center = QWidget()
        cl = QVBoxLayout(center)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(2)
        cl.addWidget(self.info)
        cl.addLayout(bar)
        cl.addWidget(self.view, 1)
        return center

    # ------------------------------------------------------------------ actions

    def _action(
        self, text: str, slot: Callable[[], Any], keys: str | QKeySequence.StandardKey | None
    ) -> QAction:
        a = QAction(text, self)
        if keys is not None:
            a.setShortcut(QKeySequence(keys))
        a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        a.triggered.connect(lambda _=False: slot())
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        self.undo_action, self.redo_action = undo_actions(self, self.undo_stack, "plan edit")
        self.new_action = self._action("&New scenario…", self.new_scenario_dialog, "Ctrl+N")
        self.save_action = self._action("&Save scenario", self.save, "Ctrl+S")
        self.rotate_action = self._action("&Rotate selection 90°", self.edits.rotate_selected, "R")
        turn_tip = (
            "or Ctrl-drag a selected tool, or drag the selection's round knob, on the floor:"
            " 15° steps, Shift any angle"
        )
        self.rotate_action.setToolTip(f"turn the selection by 90° ({turn_tip})")
        self.rotate_action.setStatusTip(f"R turns the selection by 90°; {turn_tip}")
        self.delete_action = self._action(
            "&Delete selected tools", self.edits.delete_selected, QKeySequence.StandardKey.Delete
        )
        self.duplicate_action = self._action(
            "D&uplicate selected tools", self.edits.duplicate_selected, "Ctrl+D"
        )
        self.escape_action = self._action("End drag / heat map", self.escape, "Esc")

    def _on_flows_toggled(self, _on: bool) -> None:
        self._remember()
        self.refresh_drawing()

    def _remember(self) -> None:
        self.settings.setValue("plan/grid_m", self.grid_m)
        self.settings.setValue("plan/bay_edges", "true" if self.edge_snap.isChecked() else "false")
        self.settings.setValue("plan/flows", "true" if self.flows_box.isChecked() else "false")

    @property
    def grid_m(self) -> float:
        """The drag grid (metres)."""
        return float(self.grid.currentData())

    def _last_scenario(self) -> Path | None:
        """The scenario shown last, if it is one of the open plant's (else None: the base)."""
        saved = str(self.settings.value(SCENARIO_KEY, ""))
        if not saved or self.session is None:
            return None
        beside = [p for _name, p in scenarios_beside(self.session.plant_path)[1:]]
        return next((p for p in beside if str(p) == saved), None)

    # ------------------------------------------------------------------ plant and scenarios

    def set_plant_path(self, path: str | Path) -> None:
        """Plan on the plant file ``path`` (its scenarios beside it); opens the base."""
        p = Path(path)
        if self.session is not None and self.session.plant_path == p:
            return
        with busy():
            self.session = PlanSession(p)
        self.undo_stack.clear()
        self.type_palette.set_types(self.session.base)
        last = self._last_scenario()  # the one shown at the end of the last session
        self.refresh_list(last)
        if not self.open_scenario(last) or (last is not None and self.session.scenario is None):
            self.refresh_list(None)  # it did not open: the base is shown

    def refresh_list(self, current: Path | None) -> None:
        """List the plant and the scenarios beside it (the broken ones with their reason)."""
        if self.session is None:
            return
        broken: list[tuple[Path, str]] = []
        entries = scenarios_beside(self.session.plant_path, broken)
        self.scenarios.set_scenarios(entries, broken, current)

    def open_scenario(self, path: Path | None) -> bool:
        """Show the base (None) or a scenario; False if it was not opened."""
        ses = self.session
        if ses is None:
            return False
        cur = ses.scenario.path if ses.scenario is not None else None
        if path == cur and (path is not None or ses.scenario is None) and self.overlay is not None:
            return True
        if not self.maybe_save("opening another scenario"):
            self.refresh_list(cur)
            return False
        try:
            with busy():
                ses.open(path)
        except ConfigError as exc:
            self._error("The scenario does not open", exc)
            ses.open(None)
        self.undo_stack.clear()
        self.selection = []
        with busy():
            self._rebuild_scene()
            self.refresh_panels()
        shown = ses.scenario.path if ses.scenario is not None else None
        self.settings.setValue(SCENARIO_KEY, str(shown) if shown is not None else "")
        return True

    def _on_scenario_chosen(self, path: object) -> None:
        self.open_scenario(Path(str(path)) if path else None)

    def _on_notes(self, text: str) -> None:
        if self.session is not None and self.session.editable:
            self.session.set_notes(text)
            self._update_info()

    def _ask_name(self, title: str, label: str, text: str = "") -> str | None:
        name, ok = QInputDialog.getText(self, title, label, text=text)
        return name.strip() if ok and name.strip() else None

    def new_scenario(self, name: str) -> Path | None:
        """Make an empty scenario called ``name`` beside the plant and open it."""
        if self.session is None:
            return None
        try:
            path = new_scenario(self.session.plant_path, name)
        except ConfigError as exc:
            self._error("No new scenario", exc)
            return None
        self.show_new_scenario(path)
        return path

    def show_new_scenario(self, path: Path) -> bool:
        """List a scenario file just written beside the plant, select and open it.

        The Compare dock hears of it (:attr:`scenarios_changed`); False if it was not
        opened (unsaved edits kept on Cancel: it is listed all the same).
        """
        self.refresh_list(path)
        ok = self.open_scenario(path)
        self.scenarios_changed.emit()
        return ok

    def new_scenario_dialog(self) -> None:
        """Ask for a name and make a new scenario."""
        name = self._ask_name("New scenario", "Name (letters, digits, _ - .):")
        if name:
            self.new_scenario(name)

    def duplicate_dialog(self) -> None:
        """Copy the selected scenario under a new name."""
        src = self.scenarios.current_path()
        if src is None or self.session is None or not self.maybe_save("duplicating it"):
            return
        name = self._ask_name(
            "Duplicate scenario", "Name of the copy:", f"{src.name.split('.')[0]}_copy"
        )
        if name:
            try:
                path = duplicate_scenario(src, name)
            except ConfigError as exc:
                self._error("Not duplicated", exc)
                return
            self.show_new_scenario(path)

    def rename_dialog(self) -> None:
        """Rename the selected scenario's file."""
        src = self.scenarios.current_path()
        if src is None or self.session is None or not self.maybe_save("renaming it"):
            return
        name = self._ask_name("Rename scenario", "New name:", src.name.split(".")[0])
        if name:
            try:
                path = rename_scenario(src, name)
            except ConfigError as exc:
                self._error("Not renamed", exc)
                return
            self.session.open(path)
            self.refresh_list(path)
            self.refresh_panels()
            self.scenarios_changed.emit()

    def delete_dialog(self) -> None:
        """Delete the selected scenario after asking (its text is kept as .bak)."""
        src = self.scenarios.current_path()
        if src is None or self.session is None:
            return
        B = QMessageBox.StandardButton
        if (
            QMessageBox.question(
                self,
                "Delete scenario",
                f"Delete {src.name}? (its text is kept as .bak)",
                B.Yes | B.No,
                B.No,
            )
            != B.Yes
        ):
            return
        self.session.dirty = False
        delete_scenario(src)
        self.refresh_list(None)
        self.open_scenario(None)
        self.scenarios_changed.emit()

    def save(self) -> Path | None:
        """Save the open scenario (atomically, comments kept); None for the base."""
        ses = self.session
        if ses is None or not ses.editable:
            return None
        try:
            path = ses.save()
        except (ConfigError, OSError) as exc:
            self._error("The scenario was not saved", exc)
            return None
        self.undo_stack.setClean()
        self._update_info()
        self.scenarios_changed.emit()
        return path

    def maybe_save(self, why: str) -> bool:
        """Ask about unsaved scenario edits (Save / Discard / Cancel); False on Cancel."""
        ses = self.session
        if ses is None or not ses.dirty:
            return True
        B = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self,
            "Unsaved scenario edits",
            f"The scenario {ses.name} has unsaved edits. Save them before {why}?",
            B.Save | B.Discard | B.Cancel,
            B.Save,
        )
        if answer == B.Cancel:
            return False
        if answer == B.Save:
            return self.save() is not None
        ses.dirty = False
        return True

    def _error(self, title: str, exc: BaseException) -> None:
        issues = getattr(exc, "issues", None) or [str(exc)]
        self.info.setText(f"{title}: {issues[0]}")
        QMessageBox.warning(self, title, "\n".join(str(i) for i in issues[:20]))

    # ------------------------------------------------------------------ drawing

    def _rebuild_scene(self) -> None:
        ses = self.session
        if ses is None:
            return
        if self.overlay is not None:
            self.overlay.dispose()
        if self.heat_shown:  # the Compare dock lets go of the view first
            self.heat_shown = False
            done, self.on_heat_end = self.on_heat_end, None
            if done is not None:
                done()
        self.view.set_plant(ses.plant, None, dark=self.dark)
        self.view.legend.hide()
        assert self.view.scene is not None
        self.overlay = PlanOverlay(
            self.view.scene, {e.id: ses.placement(e.id) for e in ses.plant.equipment}
        )
        self.overlay.set_flow_scale(ses.base_flows)
        self.view.reset_view()
        self.refresh_drawing()

    def _sync_scene(self) -> None:
        """Bring the view to the session's plant: tools moved in place, else rebuilt."""
        ses, ov = self.session, self.overlay
        if ses is None:
            return
        if self.heat_shown:
            self.end_heat()  # an edit ends the heat map (the Compare dock lets go of the view)
            return
        if (
            ov is None
            or [e.id for e in ses.plant.equipment] != list(ov.scene.ids)
            or [e.type for e in ses.plant.equipment] != [e.type for e in ov.scene.spec.equipment]
        ):
            self._rebuild_scene()
            return
        moved = False
        for e in ses.plant.equipment:
            pos, rot = ses.placement(e.id)
            moved = ov.move_tool(e.id, pos, rot) or moved
        layer = ov.scene.amhs
        if moved and layer is not None and not has_rails(ses.plant):
            layer.set_rails(generated_amhs(ses.plant))  # rails follow the tools' new ports

    def refresh_drawing(self) -> None:
        """Colour the tools and draw the flows; schedule one render."""
        ses, ov = self.session, self.overlay
        if ses is None or ov is None:
            return
        bad, warn = ses.problem_tools()
        table = ses.flow_table()
        lit = self.lit = None
        if self.pair is not None:
            lit = self.lit = flow_pair(ses.plant, table, *self.pair)
        ov.colour_tools(
            changed=ses.changed_tools(),
            selected=self.selection,
            warning=warn,
            problem=bad,
            pair_from=lit.from_tools if lit else (),
            pair_to=lit.to_tools if lit else (),
        )
        ov.show_pair_arrow(lit.arrow if lit else None)
        ov.show_flows(table if self.flows_box.isChecked() else None, dim=lit is not None)
        self.input.show_knob()
        self.view.select(self.selection[0] if len(self.selection) == 1 else None)
        self.view.request_render()

    def refresh_panels(self) -> None:
        """Fill every panel from the session."""
        ses = self.session
        if ses is None:
            return
        self.scenarios.set_notes(
            ses.scenario.spec.notes if ses.scenario is not None else "", ses.editable
        )
        bad = {k for k, text in enumerate(ses.descriptions) if text.endswith("(does not apply)")}
        self.changes.set_changes(
            ses.descriptions,
            sorted(bad),
            empty=(
                "No changes yet: add tools from the Palette, or move, rotate or delete tools "
                "in the 3-D view. Each change is listed here, in the order applied."
                if ses.editable
                else "This is the base plant, shown as it is. New scenario (Ctrl+N) makes an "
                "editable copy; its changes are listed here."
            ),
        )
        self.flows.order = route_order(ses.plant)
        self._refresh_live_panels()
        self.capacity.show_capacity(ses.capacity, ses.plant)
        self._show_placement()
        for a in (
            self.rotate_action,
            self.delete_action,
            self.duplicate_action,
            self.save_action,
        ):
            a.setEnabled(ses.editable)
        self.capacity.set_rule.setEnabled(ses.editable)
        self._update_info()

    def _refresh_live_panels(self) -> None:
        ses = self.session
        assert ses is not None
        self.problems.set_problems(ses.layout_problems(), ses.other_problems())
        self.flows.show_flows(ses.base_flows, ses.flow_table())
        blocking = len(ses.checker.blocking())
        self.right_tabs.setTabText(1, f"Problems ({blocking})" if blocking else "Problems")

    def _update_info(self) -> None:
        ses = self.session
        if ses is None:
            return
        if not ses.editable:
            text = f"{ses.name} (base plant, read-only here): New scenario (Ctrl+N) to edit"
        else:
            n = len(ses.descriptions)
            state = "unsaved" if ses.dirty else "saved"
            must = ses.to_fix()
            fix = f", {must} to fix before it validates" if must else ", validates"
            text = f"{ses.name}: {n} change{'s' if n != 1 else ''}, {state}{fix}"
        if self.selection:
            text += f" · selected: {', '.join(self.selection[:4])}" + (
                "…" if len(self.selection) > 4 else ""
            )
            if ses.editable:
                text += " (drag moves, Ctrl-drag turns, R: 90°)"
        if self.lit is not None:
            text += f" · flow {self.lit.text()}"
        self.info.setText(text)

    def after_edit(self) -> None:
        """Redraw after the session changed (an edit, its undo or redo)."""
        ses = self.session
        if ses is None:
            return
        ids = {e.id for e in ses.plant.equipment}
        self.selection = [t for t in self.selection if t in ids]
        self._sync_scene()
        self.refresh_drawing()
        self.refresh_panels()
        self.edited.emit()

    def tool_tip(self, tool_id: str) -> str:
        """The hover text of a tool: its place and its layout problems."""
        ses = self.session
        if ses is None:
            return tool_id
        try:
            eq = ses.tool(tool_id)
        except KeyError:
            return tool_id
        (x, y), rot = ses.placement(tool_id)
        lines = [f"{tool_id} ({eq.type}, {eq.group}) at ({x:g}, {y:g}) m, {rot:g}°"]
        lines += [p.message for p in ses.checker.problems_of(tool_id)]
        return "\n".join(lines)

    # ------------------------------------------------------------------ selection

    def select(self, tools: list[str], *, add: bool = False) -> None:
        """Select tools (``add``: toggle them in the current selection)."""
        if self.heat_shown:
            self.end_heat()
        if add:
            sel = list(self.selection)
            for t in tools:
                if t in sel:
                    sel.remove(t)
                else:
                    sel.append(t)
            self.selection = sel
        else:
            self.selection = list(dict.fromkeys(tools))
        self._show_placement()
        self.refresh_drawing()
        self._update_info()

    def _show_placement(self) -> None:
        ses = self.session
        if ses is None or len(self.selection) != 1:
            self.placement.show_tool(None)
            return
        try:
            eq = ses.tool(self.selection[0])
        except KeyError:
            self.placement.show_tool(None)
            return
        self.placement.show_tool(eq, ses.editable)

    def _on_pair_chosen(self, src: str, dst: str) -> None:
        """Light a from-to grid cell's groups on the floor (empty names: none)."""
        self.pair = (src, dst) if src and dst else None
        if self.heat_shown and self.pair is not None:
            self.end_heat()
        self.refresh_drawing()
        self._update_info()

    def _on_change_selected(self, k: int) -> None:
        if self.session is not None and k >= 0:
            self.select(self.session.change_tools(k))

    # ------------------------------------------------------------------ mouse on the view

    def _display(self, pos: QPoint) -> tuple[float, float]:
        w = self.interactor
        r = w.devicePixelRatioF() or 1.0
        return (pos.x() * r, (w.height() - pos.y()) * r)

    def floor_at(self, pos: QPoint) -> tuple[float, float] | None:
        """The floor point under a widget pixel of the view."""
        x, y = self._display(pos)
        return floor_point(self.view.plotter.renderer, x, y)

    def tool_at(self, pos: QPoint) -> str | None:
        """The tool under a widget pixel of the view."""
        return self.view.pick(*self._display(pos))

    def widget_position_of_floor(self, point: tuple[float, float], z: float = 0.0) -> QPoint:
        """Where a floor point (raised by ``z``) appears in the view (also tests' drags)."""
        import vtk

        c = vtk.vtkCoordinate()
        c.SetCoordinateSystemToWorld()
        c.SetValue(float(point[0]), float(point[1]), float(z))
        x, y = c.GetComputedDoubleDisplayValue(self.view.plotter.renderer)
        w = self.interactor
        r = w.devicePixelRatioF() or 1.0
        return QPoint(round(x / r), round(w.height() - y / r))

    def escape(self) -> None:
        """End a drag without moving anything, or leave the heat map."""
        if self.input.drag is not None and self.session is not None:
            self.input.drag = None
            self.session.cancel_preview()
            if self.overlay is not None:
                self.overlay.show_turn_ring(None)
            self._sync_scene()
            self.refresh_drawing()
            self._refresh_live_panels()
            self._update_info()
        elif self.heat_shown:
            self.end_heat()

    # ------------------------------------------------------------------ heat map

    def begin_heat(self) -> None:
        """The Compare dock paints this view: the plan drawing steps aside until Esc."""
        if self.overlay is not None:
            self.overlay.dispose()
        self.overlay = None
        self.heat_shown = True
        self.info.setText(
            "Heat map of the comparison on the floor. Esc or a click: back to editing."
        )

    def end_heat(self) -> None:
        """Leave the heat map and draw the plan again."""
        if not self.heat_shown:
            return
        self._rebuild_scene()
        self._update_info()

    def set_dark(self, dark: bool) -> None:
        """Follow the window's theme."""
        self.dark = dark
        self.view.set_dark(dark)  # with no plant yet, its empty background follows too
        if self.view.scene is not None:
            self.refresh_drawing()

    def changeEvent(self, event: QEvent) -> None:
        """Follow a theme switch, shown or not: apply_theme sets the style and the palette;
        either change brings a look at the theme applied last, once it is applied."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.PaletteChange):
            QTimer.singleShot(0, self, self._follow_theme)

    def _follow_theme(self) -> None:
        if current_dark() != self.dark:
            self.set_dark(current_dark())

    def close_view(self) -> None:
        """Release the 3-D view (before the window goes)."""
        self.view.close_view()
