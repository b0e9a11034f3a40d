"""Install the comparison into the main window: a *Compare scenarios* dock, menu and keys.

The dock holds a :class:`~factory_twin.ui.qt_plan_compare.QtComparePanel` for the open
plant (its scenarios: the plant and the ``*.scenario.yaml`` files beside it that build on
it). Ctrl+Shift+C shows or hides it; it goes into the *Plan* menu when there is one, else
into a menu of its own, with *Export report…* (Ctrl+Shift+R). Closing the window cancels
a running experiment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSettings, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget

from factory_twin.app.plan_files import scenarios_beside
from factory_twin.ui.qt_plan_compare import QtComparePanel


class _CloseWatcher(QObject):
    """Stops a running experiment when the main window closes."""

    def __init__(self, panel: QtComparePanel, parent: QObject) -> None:
        super().__init__(parent)
        self.panel = panel

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close and event.isAccepted():
            self.panel.shutdown()
        return False


def refresh_scenarios(window: Any) -> None:
    """Offer the open plant's scenarios (the dock is shown, or the plant changed)."""
    doc = getattr(window.controller, "doc", None)
    path = getattr(doc, "path", None)
    if path is not None:
        window.compare.set_scenarios(Path(path), scenarios_beside(path))


def install_compare(window: Any) -> QtComparePanel:
    """Add the comparison dock, its menu entries and keys to a main window."""
    settings = getattr(window, "settings", None)
    panel = QtComparePanel(settings if isinstance(settings, QSettings) else None)
    dock = QDockWidget("Compare scenarios", window)
    dock.setObjectName("compare_dock")
    dock.setWidget(panel)
    dock.setAllowedAreas(
        Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea
    )
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    dock.hide()
    show = dock.toggleViewAction()
    show.setText("&Compare scenarios")
    show.setShortcut(QKeySequence("Ctrl+Shift+C"))
    show.setToolTip(
        "run experiments and compare scenarios with confidence intervals (Ctrl+Shift+C)"
    )
    window.addAction(show)
    window.addAction(panel.report_action)
    menu = getattr(window, "plan_menu", None)
    if menu is None:
        menu = window.menuBar().addMenu("E&xperiments")
    menu.addSeparator()
    menu.addAction(show)
    menu.addAction(panel.report_action)
    window.compare = panel
    window.compare_dock = dock
    window.compare_action = show
    dock.visibilityChanged.connect(lambda on: refresh_scenarios(window) if on else None)
    window.controller.plant_changed.connect(lambda _doc: refresh_scenarios(window))
    window.installEventFilter(_CloseWatcher(panel, window))
    refresh_scenarios(window)
    return panel
