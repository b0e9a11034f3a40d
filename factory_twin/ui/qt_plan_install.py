"""Install the Plan workspace into the main window: tab, Ctrl+P, *Plan* menu, close question.

While the Plan tab is shown, its keys win over the window's (Ctrl+D duplicates tools
instead of showing the detail dock, Ctrl+S saves the scenario, R turns tools) and the
Monitor's docks step aside; both come back with another tab. The *Plan* menu is where the
Compare dock (:mod:`factory_twin.ui.qt_plan_compare_install`, installed after this) puts
its entries; *Heat map on the Plan view* paints the open comparison on the Plan's floor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox

from factory_twin.errors import ConfigError
from factory_twin.ui.qt_close import on_window_close
from factory_twin.ui.qt_plan_compare_install import refresh_scenarios
from factory_twin.ui.qt_plan_dock import DocksAside
from factory_twin.ui.qt_plan_workspace import QtPlanWorkspace


class _PlanTab:
    """What the window does when its Plan tab comes and goes."""

    def __init__(self, window: Any, ws: QtPlanWorkspace) -> None:
        self.window, self.ws = window, ws
        self.mine = {a.shortcut().toString() for a in ws.actions() if not a.shortcut().isEmpty()}
        self.stolen: dict[QAction, QKeySequence] = {}
        self.aside = DocksAside(window, ws)  # the Monitor's docks make room

    def plant_path(self) -> Path | None:
        doc = getattr(self.window.controller, "doc", None)
        p = getattr(doc, "path", None)
        return Path(p) if p is not None else None

    def ensure(self) -> None:
        """Plan on the open plant (once the tab is seen)."""
        p = self.plant_path()
        if p is not None and self.ws.isVisible():
            try:
                self.ws.set_plant_path(p)
            except ConfigError as exc:
                self.ws._error("The plant does not open for planning", exc)

    def show(self) -> None:
        self.window.tabs.setCurrentWidget(self.ws)
        self.ensure()
        self.ws.view.setFocus()

    def on_tab(self, i: int) -> None:
        self.aside.on_tab(i)
        if self.window.tabs.currentWidget() is self.ws:
            dark = bool(getattr(self.window, "_dark", True))
            if dark != self.ws.dark:  # the theme changed while another tab was shown
                self.ws.set_dark(dark)
            QTimer.singleShot(0, self.ws.view.reset_view)  # the overview at its final size
            for a in self.window.findChildren(QAction):
                if a.parent() is not self.ws and a.shortcut().toString() in self.mine:
                    self.stolen[a] = a.shortcut()
                    a.setShortcut(QKeySequence())
            self.ensure()
            return
        for a, keys in self.stolen.items():
            a.setShortcut(keys)
        self.stolen.clear()

    def on_plant(self, _doc: object) -> None:
        p = self.plant_path()
        ses = self.ws.session
        if ses is not None and p is not None and ses.plant_path != p:
            self.ws.session = None
        self.ensure()

    def heat_on_plan(self) -> None:
        """Paint the open comparison's heat map on the Plan view (Esc: back to editing)."""
        panel = getattr(self.window, "compare", None)
        self.show()
        ws = self.ws
        if panel is None or getattr(panel, "comparison", None) is None:
            QMessageBox.information(
                ws,
                "No comparison yet",
                "Run or open an experiment in Compare scenarios (Ctrl+Shift+C) first.",
            )
            return
        ws.begin_heat()
        panel.attach_view(ws.view)
        n = panel.show_heat()
        ws.on_heat_end = panel.detach_view
        ws.info.setText(
            f"Heat map on the floor ({n} tools): {panel.heat_info.text()} (Esc: back to editing)"
        )


def install_plan(window: Any) -> QtPlanWorkspace:
    """Add the Plan workspace (Ctrl+P), its *Plan* menu and the unsaved-edits question."""
    settings = getattr(window, "settings", None)
    ws = QtPlanWorkspace(settings if isinstance(settings, QSettings) else None)
    ws.dark = bool(getattr(window, "_dark", True))
    window.add_workspace("Plan", ws)
    window.plan = ws

    tab = _PlanTab(window, ws)
    window.tabs.currentChanged.connect(tab.on_tab)
    window.controller.plant_changed.connect(tab.on_plant)
    window.plan_tab = tab

    def scenarios_changed() -> None:
        if getattr(window, "compare", None) is not None:  # the Compare dock lists them too
            refresh_scenarios(window)

    ws.scenarios_changed.connect(scenarios_changed)

    menu = window.menuBar().addMenu("&Plan")
    help_menu = next((a for a in window.menuBar().actions() if a.text() == "&Help"), None)
    if help_menu is not None:
        window.menuBar().insertMenu(help_menu, menu)
    show = QAction("&Plan workspace", window)
    show.setShortcut(QKeySequence("Ctrl+P"))
    show.triggered.connect(lambda _=False: tab.show())
    menu.addAction(show)
    menu.addSeparator()
    for a in (
        ws.new_action,
        ws.save_action,
        ws.undo_action,
        ws.redo_action,
        ws.rotate_action,
        ws.duplicate_action,
        ws.delete_action,
    ):
        menu.addAction(a)
    menu.addSeparator()
    heat = QAction("&Heat map on the Plan view", window)
    heat.setToolTip("colour the Plan view's tools by the open comparison (Compare scenarios)")
    heat.triggered.connect(lambda _=False: tab.heat_on_plan())
    menu.addAction(heat)
    window.addAction(show)
    menu.setToolTipsVisible(True)  # the rotate entry tells of the Ctrl-drag turn
    window.plan_menu = menu
    window.plan_action = show
    window.plan_heat_action = heat
    on_window_close(window, ws.close_view, ask=lambda: ws.maybe_save("closing"))
    on_window_close(window, tab.aside.on_close)
    guards = getattr(window, "unsaved_guards", None)
    if guards is not None:
        guards.append(lambda: ws.maybe_save("opening another plant"))
    return ws
