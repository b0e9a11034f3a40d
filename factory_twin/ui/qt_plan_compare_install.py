"""Install the comparison into the main window: a *Compare scenarios* dock, menu and keys.

The dock holds a :class:`~factory_twin.ui.qt_plan_compare.QtComparePanel` for the open
plant (its scenarios: the plant and the ``*.scenario.yaml`` files beside it that build on
it). Ctrl+Shift+C shows or hides it; it goes into the *Plan* menu when there is one, else
into a menu of its own, with *Export report…* (Ctrl+Shift+R). Closing the window cancels
a running experiment (:mod:`factory_twin.ui.qt_plan_dock`, shared with the Optimise dock).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from factory_twin.app.plan_files import scenarios_beside
from factory_twin.ui.qt_plan_compare import QtComparePanel
from factory_twin.ui.qt_plan_dock import install_plan_dock, window_settings


def refresh_scenarios(window: Any) -> None:
    """Offer the open plant's scenarios (the dock is shown, or the plant changed)."""
    doc = getattr(window.controller, "doc", None)
    path = getattr(doc, "path", None)
    if path is not None:
        window.compare.set_scenarios(Path(path), scenarios_beside(path))


def install_compare(window: Any) -> QtComparePanel:
    """Add the comparison dock, its menu entries and keys to a main window."""
    panel = QtComparePanel(window_settings(window))
    dock, show = install_plan_dock(
        window,
        panel,
        title="Compare scenarios",
        name="compare_dock",
        text="&Compare scenarios",
        shortcut="Ctrl+Shift+C",
        tip="run experiments and compare scenarios with confidence intervals (Ctrl+Shift+C)",
        stop=panel.shutdown,
        actions=[panel.report_action],
    )
    window.compare = panel
    window.compare_dock = dock
    window.compare_action = show
    dock.visibilityChanged.connect(lambda on: refresh_scenarios(window) if on else None)
    window.controller.plant_changed.connect(lambda _doc: refresh_scenarios(window))
    refresh_scenarios(window)
    return panel
