"""The main window: workspaces, docks, the Monitor workspace, plant files and commands.

The menus and tool bar are built in :mod:`~factory_twin.ui.qt_main_menus`, the status bar
in :mod:`~factory_twin.ui.qt_main_status`, and what the window keeps between sessions in
:mod:`~factory_twin.ui.qt_main_settings`.

Data flow: the controller's client (or replay) queue is drained on a :class:`QTimer` at
25 Hz (:meth:`MainWindow._on_tick` -> ``controller.apply_pending()``); the plant state emits
its signals once per batch; the views mark themselves dirty and redraw on the same tick.
Nothing on the GUI thread waits for the network: connecting, loading a plant and
acknowledging return futures that the tick polls.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QIcon
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.controller import ConnectionSettings, Controller
from factory_twin.errors import ConfigError, FactoryTwinError
from factory_twin.model.config import PlantDocument
from factory_twin.model.geometry import PlantGeometry, plant_geometry
from factory_twin.ui.qt_alarm_panel import QtAlarmPanel, QtJournalDialog
from factory_twin.ui.qt_alarm_report import QtAlarmReportDialog
from factory_twin.ui.qt_detail_panel import QtDetailPanel
from factory_twin.ui.qt_kpi_strip import QtKpiStrip
from factory_twin.ui.qt_main_menus import build_menus, rebuild_camera_menu
from factory_twin.ui.qt_main_settings import (
    DockFit,
    default_detail_width,
    fill_recent_menu,
    recent_plants,
    remember_plant,
    restore_layout,
    save_layout,
)
from factory_twin.ui.qt_main_status import MainStatusLabels
from factory_twin.ui.qt_offer_bar import QtOfferBar
from factory_twin.ui.qt_replay_bar import QtReplayBar
from factory_twin.ui.qt_scene_view import QtSceneView
from factory_twin.ui.theme import apply_theme

logger = logging.getLogger(__name__)

TICK_MS = 40  # 25 Hz
STALL_MS = 100.0
PANEL_EVERY = 4  # refresh panels every 4th tick


def _load_with_geometry(path: str | Path) -> tuple[PlantDocument, PlantGeometry]:
    """Read a plant and merge its tool mesh (runs on the worker thread)."""
    from factory_twin.model.config import load_plant

    doc = load_plant(path)
    return doc, plant_geometry(doc.spec, doc.path.parent if doc.path is not None else None)


class MonitorWorkspace(QWidget):
    """The live fab: 3-D view above the KPI strip and the replay bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.view = QtSceneView(self)
        self.kpis = QtKpiStrip(self)
        self.replay_bar = QtReplayBar(self)
        self.replay_bar.setVisible(False)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.replay_bar)
        lay.addWidget(self.kpis)


class MainWindow(QMainWindow):
    """The factory_twin desktop window.

    Parameters
    ----------
    controller
        The application controller (the window calls :meth:`Controller.close` on close).
    settings
        Where window layout, recent files and theme are kept (tests pass a temporary
        INI-file ``QSettings``).
    """

    # the menus' actions (built by qt_main_menus.build_menus)
    open_action: QAction
    replay_action: QAction
    save_action: QAction
    save_as_action: QAction
    recent_menu: QMenu
    cam_menu: QMenu
    overview_action: QAction
    reset_action: QAction
    fly_selected_action: QAction
    find_action: QAction
    dark_action: QAction
    light_action: QAction
    connect_action: QAction
    disconnect_action: QAction
    endpoints_action: QAction
    journal_action: QAction
    alarm_report_action: QAction
    toolbar: QToolBar

    def __init__(
        self,
        controller: Controller,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.settings = (
            settings if settings is not None else QSettings("factory_twin", "factory_twin")
        )
        self.setWindowTitle("factory_twin")
        self.setDockNestingEnabled(True)
        self._workspaces: dict[str, QWidget] = {}
        self._pending: list[
            tuple[
                concurrent.futures.Future[Any],
                Callable[[Any], None],
                Callable[[BaseException], None],
            ]
        ] = []
        # Saving a big plant keeps its comments through ruamel's round trip, which takes
        # seconds (about 30 s for SMT2020): it runs on this one worker, the window stays live.
        self._save_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="save")
        self.saving: QProgressDialog | None = None
        self._states_dirty = True
        self._geometry: PlantGeometry | None = None
        self.stall_log: list[str] = []
        self._ticks = 0
        self._dark = self.settings.value("theme", "dark") == "dark"
        self.stalls: list[float] = []
        self.tick_ms: list[float] = []
        self.first_live_frame_s: float | None = None
        self._t_start = time.perf_counter()
        # callables asked before another plant replaces the open one; False cancels
        self.unsaved_guards: list[Callable[[], bool]] = []

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setTabPosition(QTabWidget.TabPosition.West)
        # an explicit minimum overrides the pages' minimum size hints, so one wide workspace
        # page cannot squeeze the docks
        self.tabs.setMinimumSize(360, 240)
        central = QWidget()
        col = QVBoxLayout(central)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        self.offer_bar = QtOfferBar()
        self.offer_bar.start_requested.connect(self.start_offered_simulator)
        col.addWidget(self.offer_bar)
        col.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.monitor = MonitorWorkspace()
        self.view = self.monitor.view
        self.monitor.replay_bar.remember_speed(self.settings)
        self.add_workspace("Monitor", self.monitor)

        self.detail = QtDetailPanel()
        self.detail_dock = self._dock(
            "Tool details", "dock_details", self.detail, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.alarms = QtAlarmPanel()
        self.alarm_dock = self._dock(
            "Alarms", "dock_alarms", self.alarms, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        build_menus(self)
        self.status_labels = MainStatusLabels(self.statusBar())
        self.source_label = self.status_labels.source
        self.conn_label = self.status_labels.conn
        self.clock_label = self.status_labels.clock
        self.rate_label = self.status_labels.rate
        self._wire()
        apply_theme(QApplication.instance(), self._dark)  # type: ignore[arg-type]
        self.dock_fit: DockFit | None = None  # the details dock's width follows the window
        if not restore_layout(self, self.settings, self._default_dock_sizes):
            self.dock_fit = DockFit(self, self.detail_dock, default_detail_width)

        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._on_tick)
        self.timer.start()

    # ------------------------------------------------------------------ building

    def add_workspace(self, name: str, widget: QWidget, icon: QIcon | None = None) -> int:
        """Add a workspace page to the switcher; return its index."""
        if name in self._workspaces:
            msg = f"a workspace called {name!r} exists already"
            raise ValueError(msg)
        self._workspaces[name] = widget
        return (
            self.tabs.addTab(widget, icon, name)
            if icon is not None
            else self.tabs.addTab(widget, name)
        )

    def workspace(self, name: str) -> QWidget:
        """Return the workspace widget called ``name``."""
        return self._workspaces[name]

    def start_offered_simulator(self) -> None:
        """Reconnect to the embedded plant simulator instead of the plant's endpoints."""
        cur = self.controller.settings
        self.connect_live(
            ConnectionSettings(
                credentials=dict(cur.credentials),
                use_simulator=True,
                simulator_speed=cur.simulator_speed,
                seed=cur.seed,
            )
        )

    def _dock(
        self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea
    ) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setAllowedAreas(Qt.DockWidgetArea.AllDockWidgetAreas)
        self.addDockWidget(area, dock)
        return dock

    def _wire(self) -> None:
        c = self.controller
        c.plant_changed.connect(self._on_plant_changed)
        c.source_changed.connect(self._on_source_changed)
        self.view.tool_selected.connect(self._on_tool_selected)
        self.view.tool_hovered.connect(
            lambda t: self.statusBar().showMessage(t, 2000) if t else None
        )
        self.alarms.fly_to_requested.connect(self._fly_and_select)
        self.alarms.acknowledge_requested.connect(self.acknowledge)
        self.alarms.shelve_requested.connect(self.shelve_alarm)
        self.alarms.out_of_service_requested.connect(self.set_alarm_out_of_service)
        self.alarms.journal_requested.connect(self.journal_dialog)
        self.detail.fly_to_requested.connect(self.view.fly_to_tool)
        self.detail.method_requested.connect(self.call_method)
        self.detail.write_requested.connect(self.write_tag)
        self.monitor.replay_bar.seek_requested.connect(self.controller.seek_replay)

    # ------------------------------------------------------------------ settings

    @property
    def dark(self) -> bool:
        """Whether the dark theme is on."""
        return self._dark

    def _default_dock_sizes(self) -> None:
        self.resizeDocks(
            [self.detail_dock], [default_detail_width(self.width())], Qt.Orientation.Horizontal
        )
        self.resizeDocks([self.alarm_dock], [190], Qt.Orientation.Vertical)

    def save_layout(self) -> None:
        """Store geometry and dock layout for the next start (the details at their default
        width first while it follows the window's: a fit queued when Plan or Train gave the
        dock back on closing would come too late)."""
        if self.dock_fit is not None:
            self.dock_fit.fit()
        save_layout(self, self.settings, dark=self._dark)

    def recent_plants(self) -> list[str]:
        """Return the recently opened plant files, newest first."""
        return recent_plants(self.settings)

    def remember_plant(self, path: Path) -> None:
        """Put a plant file first in *File → Recent plants*."""
        remember_plant(self.settings, path)
        self.update_recent_menu()

    def update_recent_menu(self) -> None:
        """List the recent plants in *File → Recent plants*."""
        fill_recent_menu(self.recent_menu, self.recent_plants(), self.open_plant)

    # ------------------------------------------------------------------ plants

    def open_dialog(self) -> None:
        """Ask for a plant file and open it."""
        start = (
            str(self.controller.doc.path.parent)
            if self.controller.doc and self.controller.doc.path
            else ""
        )
        path, _ = QFileDialog.getOpenFileName(
            self, "Open plant", start, "Plant files (*.yaml *.yml)"
        )
        if path:
            self.open_plant(path)

    def open_plant(self, path: str | Path, *, connect: bool = True) -> None:
        """Load a plant on a worker thread; a broken file keeps the current plant.

        Workspaces with unsaved edits are asked first (see :attr:`unsaved_guards`).
        """
        if not self.confirm_unsaved():
            self.statusBar().showMessage(f"not opening {path}: unsaved edits", 4000)
            return
        self.statusBar().showMessage(f"loading {path}…")
        fut = self.controller.run_in_worker(_load_with_geometry, path)

        def done(result: tuple[PlantDocument, PlantGeometry]) -> None:
            doc, self._geometry = result
            settings = ConnectionSettings(
                use_simulator=self.controller.settings.use_simulator,
                simulator_speed=self.controller.settings.simulator_speed,
            )
            self.controller.set_plant(doc)
            self.offer_bar.reset()
            self.remember_plant(Path(path))
            self.statusBar().showMessage(f"opened {path}", 4000)
            if connect:
                self.connect_live(settings)

        self.when_done(fut, done, lambda exc: self._show_error(f"Cannot open {path}", exc))

    def confirm_unsaved(self) -> bool:
        """Ask every unsaved-edits guard; False as soon as one cancels."""
        return all(guard() for guard in list(self.unsaved_guards))

    def _show_error(self, title: str, exc: BaseException) -> None:
        if isinstance(exc, ConfigError):
            text = "\n".join(exc.issues)
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                title,
                "The plant file is invalid; the current plant stays open.",
                parent=self,
            )
            box.setObjectName("config_error_box")
            box.setDetailedText(text)
            box.setInformativeText(text if len(text) < 1500 else text[:1500] + "\n…")
        elif isinstance(exc, (FactoryTwinError, OSError)):  # bad input or a file we cannot write
            box = QMessageBox(QMessageBox.Icon.Warning, title, str(exc), parent=self)
        else:
            logger.error("%s", title, exc_info=exc)
            box = QMessageBox(
                QMessageBox.Icon.Critical, title, f"{type(exc).__name__}: {exc}", parent=self
            )
        self.last_error_box = box
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()

    def save(self) -> None:
        """Save the plant file (in the background, see :meth:`_save_to`)."""
        self._save_to(None)

    def save_as(self) -> None:
        """Save the plant under a new name."""
        path, _ = QFileDialog.getSaveFileName(self, "Save plant as", "", "Plant files (*.yaml)")
        if path:
            self._save_to(Path(path), remember=True)

    def _save_to(self, path: Path | None, *, remember: bool = False) -> None:
        """Save on a worker thread behind a window-modal busy dialog (no edits meanwhile).

        The dialog shows only if saving takes longer than a moment; the 3-D view and live
        data go on updating. The file is written atomically, so closing the window while
        saving waits for the save to finish rather than leave half a file.
        """
        if self.saving is not None:
            self.statusBar().showMessage("already saving", 3000)
            return
        doc = self.controller.doc
        target = path if path is not None else (doc.path if doc is not None else None)
        name = target.name if target is not None else "the plant"
        dlg = QProgressDialog(f"Saving {name}…", "", 0, 0, self)
        dlg.setCancelButton(None)
        dlg.setWindowTitle("Saving")
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.setAutoClose(False)
        dlg.setAutoReset(False)
        dlg.cancel()  # no automatic showing: shown below only if saving is not done by then
        self.saving = dlg
        QTimer.singleShot(400, lambda: dlg.show() if self.saving is dlg else None)
        self.statusBar().showMessage(f"saving {name}…")
        fut = self._save_pool.submit(self.controller.save, path)

        def done() -> None:
            dlg.reset()
            dlg.deleteLater()
            self.saving = None

        def ok(p: Path) -> None:
            done()
            if remember:
                self.remember_plant(p)
            self.statusBar().showMessage(f"saved {p}", 4000)

        def err(exc: BaseException) -> None:
            done()
            self.statusBar().clearMessage()
            self._show_error("Cannot save", exc)

        self.when_done(fut, ok, err)

    def replay_dialog(self) -> None:
        """Ask for a historian Parquet file and replay it."""
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Replay history",
            "",
            "Histories (*.parquet *.partial);;Parquet files (*.parquet);;Unfinished recordings (*.partial)",
        )
        if path:
            self.start_replay(path)

    def start_replay(self, path: str | Path, speed: float | None = None) -> None:
        """Replay a historian file in the same view, at ``speed`` if given (the nearest the
        replay bar offers), else at the bar's speed (the one chosen last)."""
        try:
            replay = self.controller.start_replay(path, speed=speed or 60.0)
        except FactoryTwinError as exc:
            self._show_error(f"Cannot replay {path}", exc)
            return
        self.monitor.replay_bar.set_replay(replay, speed)

    def _on_plant_changed(self, doc: PlantDocument) -> None:
        st = self.controller.state
        name = doc.spec.site.name
        self.setWindowTitle(f"{name} — factory_twin" + (f" ({doc.path.name})" if doc.path else ""))
        keep = self.detail.tool
        geo, self._geometry = self._geometry, None
        self.view.set_plant(doc.spec, st, dark=self._dark, geometry=geo)
        self.detail.set_state(st)
        self.alarms.set_state(st)
        self.monitor.kpis.set_state(st)
        rebuild_camera_menu(self)
        self._states_dirty = True
        if keep and st is not None and keep in st.index:
            self.view.select(keep)
        self.monitor.replay_bar.set_replay(self.controller.replay)
        self.detail.set_replaying(self.controller.replay is not None)
        self.source_label.setText(self.source_text())

    def _on_source_changed(self, kind: str) -> None:
        self.source_label.setText({"live": "live", "replay": "replay", "none": "offline"}[kind])
        if kind != "replay":
            self.monitor.replay_bar.set_replay(None)
        self.detail.set_replaying(kind == "replay")

    def source_text(self) -> str:
        """What feeds the view: 'no plant', 'offline' (a plant, no source), 'live', 'replay'."""
        c = self.controller
        if c.doc is None:
            return "no plant"
        if c.replay is not None:
            return "replay"
        if c.client is not None or c.simulator is not None or c.phase:
            return "live"
        return "offline"

    # ------------------------------------------------------------------ connection

    def connect_live(self, settings: ConnectionSettings | None = None) -> None:
        """Connect to the plant's servers (or the embedded simulator) without blocking."""
        try:
            fut = self.controller.connect(settings)
        except FactoryTwinError as exc:
            self._show_error("Cannot connect", exc)
            return
        self._t_connect = time.perf_counter()
        self.first_live_frame_s = None
        self.statusBar().showMessage("connecting…", 3000)
        self.when_done(fut, lambda _r: None, lambda exc: self._show_error("Cannot connect", exc))

    def disconnect_live(self) -> None:
        """Disconnect (the view greys the tools)."""
        self.controller.disconnect(wait=False)
        self._states_dirty = True

    def endpoints_dialog(self) -> None:
        """Edit, test and save endpoints; reconnects with the new settings."""
        from factory_twin.ui.qt_connection_dialog import QtConnectionDialog

        dlg = QtConnectionDialog(self.controller, self)
        if dlg.exec():
            self.connect_live(dlg.settings())

    def acknowledge(self, alarm_id: str, comment: str) -> None:
        """Acknowledge an alarm on its server."""
        try:
            fut = self.controller.acknowledge(alarm_id, comment)
        except FactoryTwinError as exc:
            self._show_error("Cannot acknowledge", exc)
            return
        self.when_done(
            fut,
            lambda _r: self.statusBar().showMessage("alarm acknowledged", 3000),
            lambda exc: self._show_error("Acknowledge failed", exc),
        )

    def shelve_alarm(self, alarm_id: str, kind: Any, duration_s: float, reason: str) -> None:
        """Shelve or unshelve an alarm on its server (kind: a ShelvingState)."""
        self._alarm_action(
            "shelve", lambda: self.controller.shelve(alarm_id, kind, duration_s, reason)
        )

    def set_alarm_out_of_service(self, alarm_id: str, out: bool, reason: str) -> None:
        """Take an alarm out of service (or back) on its server."""
        self._alarm_action(
            "out of service" if out else "return to service",
            lambda: self.controller.set_out_of_service(alarm_id, out, reason),
        )

    def _alarm_action(self, what: str, start: Any) -> None:
        try:
            fut = start()
        except FactoryTwinError as exc:
            self._show_error(f"Cannot {what}", exc)
            return
        self.when_done(
            fut,
            lambda _r: self.statusBar().showMessage(f"alarm: {what} done", 3000),
            lambda exc: self._show_error(f"{what.capitalize()} failed", exc),
        )

    def _writes_allowed(self, equipment: str, title: str, what: str) -> bool:
        """True if the plant file enables writes to ``equipment``; else say why and refuse."""
        if self.controller.writes_enabled(equipment):
            return True
        QMessageBox.information(
            self,
            title,
            f"{what} to {equipment} are disabled: its endpoint has writes_enabled: false in "
            "the plant file.",
        )
        return False

    def call_method(self, equipment: str, method: str) -> None:
        """Call Hold/Resume on a tool after confirmation (writes are off by default)."""
        if not self._writes_allowed(equipment, f"{method} {equipment}", "Commands"):
            return
        where = "the drill's simulated plant" if self.controller.drill_mode else "the live server"
        if (
            QMessageBox.question(
                self, f"{method} {equipment}", f"Send {method} to {equipment} on {where}?"
            )
            != QMessageBox.StandardButton.Yes
        ):
            return
        try:
            fut = self.controller.call_method(equipment, method)
        except FactoryTwinError as exc:
            self._show_error(f"{method} failed", exc)
            return
        self.when_done(
            fut,
            lambda ok: self.statusBar().showMessage(
                f"{method} {equipment}: {'done' if ok else 'refused'}", 4000
            ),
            lambda exc: self._show_error(f"{method} failed", exc),
        )

    def write_tag(self, equipment: str, tag: str) -> None:
        """Write a tag value after confirmation; off unless the plant file enables writes."""
        st = self.controller.state
        spec = st.tag_spec(equipment, tag) if st is not None else None
        if spec is None or not spec.writable:
            self.statusBar().showMessage(f"{equipment}.{tag} is not a writable tag", 4000)
            return
        if not self._writes_allowed(equipment, f"Write {equipment}.{tag}", "Writes"):
            return
        cur = st.tags.get((equipment, tag)) if st is not None else None
        start = (
            float(cur.value) if cur is not None and isinstance(cur.value, (int, float)) else 0.0
        )
        lo, hi = spec.normal_range or (-1e12, 1e12)
        value, ok = QInputDialog.getDouble(
            self,
            f"Write {equipment}.{tag}",
            f"New value ({spec.unit or 'no unit'}):",
            start,
            min(lo, start) - abs(hi - lo) * 10 - 1e6,
            max(hi, start) + abs(hi - lo) * 10 + 1e6,
            4,
        )
        if not ok:
            return
        if (
            QMessageBox.question(
                self,
                "Confirm write",
                f"Write {value:g} {spec.unit} to {equipment}.{tag} on the live server?\n"
                f"This is logged with your user name ({self.controller.user}).",
            )
            != QMessageBox.StandardButton.Yes
        ):
            return
        try:
            fut = self.controller.request_write(equipment, tag, value)
        except FactoryTwinError as exc:
            self._show_error("Write failed", exc)
            return
        self.when_done(
            fut,
            lambda _r: self.statusBar().showMessage(f"wrote {value:g} to {equipment}.{tag}", 4000),
            lambda exc: self._show_error("Write failed", exc),
        )

    def journal_dialog(self) -> None:
        """Open the alarm journal."""
        QtJournalDialog(self.controller.journal, self).open()

    def alarm_report_dialog(self) -> QtAlarmReportDialog:
        """Open the ISA-18.2 alarm performance report (computed on the worker thread)."""
        dlg = QtAlarmReportDialog(
            self.controller.journal, self.controller.run_in_worker, parent=self
        )
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.open()
        return dlg

    # ------------------------------------------------------------------ selection and camera

    def _on_tool_selected(self, tool: str) -> None:
        self.detail.show_tool(tool or None)
        if tool:
            self.detail_dock.show()
            self.detail_dock.raise_()

    def select_tool(self, tool: str) -> None:
        """Select a tool as a click would."""
        self.view.select(tool)
        self._on_tool_selected(tool)

    def _fly_and_select(self, tool: str) -> None:
        self.select_tool(tool)
        self.view.fly_to_tool(tool)

    def fly_to_selected(self) -> None:
        """Fly to the selected tool."""
        if self.detail.tool:
            self.view.fly_to_tool(self.detail.tool)

    def find_tool_dialog(self) -> None:
        """Search a tool by id and fly to it."""
        st = self.controller.state
        if st is None:
            return
        tool, ok = QInputDialog.getItem(self, "Find tool", "Tool id:", st.ids, 0, True)
        if ok and tool:
            self.find_tool(tool)

    def find_tool(self, text: str) -> bool:
        """Select and fly to the first tool whose id contains ``text`` (case-insensitive)."""
        st = self.controller.state
        if st is None:
            return False
        t = text.strip().lower()
        match = next((i for i in st.ids if i.lower() == t), None) or next(
            (i for i in st.ids if t in i.lower()), None
        )
        if match is None:
            self.statusBar().showMessage(f"no tool matches {text!r}", 4000)
            return False
        self._fly_and_select(match)
        return True

    def set_dark(self, dark: bool) -> None:
        """Switch the theme."""
        self._dark = dark
        apply_theme(QApplication.instance(), dark)  # type: ignore[arg-type]
        self.view.set_dark(dark)
        for ws in self._workspaces.values():  # the other 3-D views (Plan follows on its tab)
            view = getattr(ws, "view", None)
            if (
                isinstance(view, QtSceneView)
                and view is not self.view
                and not hasattr(ws, "set_dark")
            ):
                view.set_dark(dark)
        self.settings.setValue("theme", "dark" if dark else "light")
        # the status labels colour their rich text at each refresh: show the new colours now
        self.status_labels.refresh(self.controller, self.source_text(), self.view.last_frame_ms)
        self.detail.refresh()

    # ------------------------------------------------------------------ the tick

    def when_done(
        self,
        fut: concurrent.futures.Future[Any],
        ok: Callable[[Any], None],
        err: Callable[[BaseException], None],
    ) -> None:
        """Call ``ok(result)`` or ``err(exc)`` on the GUI thread once ``fut`` finishes."""
        self._pending.append((fut, ok, err))

    def _on_tick(self) -> None:
        t0 = time.perf_counter()
        for item in list(self._pending):
            fut, ok, err = item
            if fut.done():
                self._pending.remove(item)
                exc = fut.exception()
                if exc is not None:
                    err(exc)
                else:
                    ok(fut.result())
        c = self.controller
        st = c.state
        if st is not None and c.state is not self.view.state:
            self._on_plant_changed(c.doc)  # type: ignore[arg-type]
        t1 = time.perf_counter()
        t_cb = (t1 - t0) * 1000
        n = c.apply_pending()
        if n:
            self._states_dirty = True  # cheap: set_states compares arrays
        t2 = time.perf_counter()
        t_apply = (t2 - t1) * 1000
        self.view.refresh(states_dirty=self._states_dirty)
        t_view = (time.perf_counter() - t2) * 1000
        self._states_dirty = False
        self._ticks += 1
        if self._ticks % PANEL_EVERY == 0:  # tables and charts: ~6 Hz is plenty
            self.detail.refresh()
            self.alarms.refresh()
            self.monitor.kpis.refresh()
            self.monitor.replay_bar.refresh()
            self.status_labels.refresh(
                self.controller, self.source_text(), self.view.last_frame_ms
            )
            self.offer_bar.refresh(self.controller.simulator_offer())
        if (
            self.first_live_frame_s is None
            and st is not None
            and (st.codes >= 0).any()
            and c.client is not None
        ):
            self.first_live_frame_s = time.perf_counter() - self._t_start
        dt = (time.perf_counter() - t0) * 1000
        self.tick_ms.append(dt)
        if len(self.tick_ms) > 2000:
            del self.tick_ms[:1000]
        if dt > STALL_MS:
            self.stalls.append(dt)
            self.stall_log.append(
                f"{dt:.0f} ms: callbacks {t_cb:.0f}, drain {n} events "
                f"{t_apply:.0f}, view {t_view:.0f}"
            )
            logger.info("GUI tick stalled: %s", self.stall_log[-1])

    def live_tool_count(self) -> int:
        """Return how many tools show a live (non-stale) state."""
        st = self.controller.state
        return 0 if st is None else int(((st.codes >= 0) & ~st.stale).sum())

    def stale_mask(self) -> np.ndarray:
        """Return the stale flag of every tool."""
        st = self.controller.state
        return np.zeros(0, bool) if st is None else st.stale.copy()

    # ------------------------------------------------------------------ closing

    def closeEvent(self, event: QCloseEvent) -> None:
        """Save the layout, stop the timer, disconnect and release the 3-D view."""
        self.save_layout()
        self._save_pool.shutdown(wait=True)  # a save under way finishes first
        self.timer.stop()
        try:
            self.controller.close()
        finally:
            self.view.close_view()
        super().closeEvent(event)
