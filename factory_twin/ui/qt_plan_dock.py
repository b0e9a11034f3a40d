"""A Plan panel as a dock of the main window: what the Compare and Optimise docks share.

:func:`install_plan_dock` puts a panel (:class:`~factory_twin.ui.qt_plan_compare.QtComparePanel`,
:class:`~factory_twin.ui.qt_plan_optimise.QtOptimisePanel`) in a hidden dock at the bottom
(movable to the right), makes the dock's show/hide action with its shortcut, and lists it
(and the panel's own actions) in the *Plan* menu, or in an *Experiments* menu shared by the
docks when there is no Plan menu. Closing the window stops the panel's running work
(:func:`~factory_twin.ui.qt_close.on_window_close`). The docks start hidden at every start
(they are made after the window restored its saved layout); :func:`hide_plan_docks` hides
them when the window closes in a workspace that gives the Monitor's docks back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu, QWidget

from factory_twin.ui.qt_close import on_window_close


def window_settings(window: Any) -> QSettings | None:
    """The main window's QSettings (None for a window without them)."""
    settings = getattr(window, "settings", None)
    return settings if isinstance(settings, QSettings) else None


def hide_plan_docks(window: Any) -> None:
    """Hide the docks :func:`install_plan_dock` added to ``window`` (when it closes, before
    the Monitor's docks are shown again for the layout it saves: beside an open Compare or
    Optimise dock, whose minimum sizes are large, they grew the window past a 1280x800
    screen, and the next start came back that large, its Alarms dock over 500 px high)."""
    for dock in getattr(window, "plan_docks", ()):
        dock.hide()


def plan_menu(window: Any) -> QMenu:
    """The *Plan* menu, else the *Experiments* menu the docks share (made once)."""
    menu = getattr(window, "plan_menu", None) or getattr(window, "experiments_menu", None)
    if menu is None:
        menu = window.menuBar().addMenu("E&xperiments")
        window.experiments_menu = menu
    return menu


def install_plan_dock(
    window: Any,
    panel: QWidget,
    *,
    title: str,
    name: str,
    text: str,
    shortcut: str,
    tip: str,
    stop: Callable[[], None],
    actions: Sequence[QAction] = (),
) -> tuple[QDockWidget, QAction]:
    """Add ``panel`` to ``window`` as a hidden dock; return the dock and its show action.

    Parameters
    ----------
    title, name
        The dock's title and object name (the window's saved layout keys on it).
    text, shortcut, tip
        The show/hide action's menu text, key and tooltip.
    stop
        Called when the window closes (cancels the panel's running work).
    actions
        The panel's own actions, listed after the show action and active window-wide.
    """
    dock = QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setWidget(panel)
    dock.setAllowedAreas(
        Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea
    )
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    dock.hide()
    if not hasattr(window, "plan_docks"):
        window.plan_docks = []
    window.plan_docks.append(dock)
    show = dock.toggleViewAction()
    show.setText(text)
    show.setShortcut(QKeySequence(shortcut))
    show.setToolTip(tip)
    menu = plan_menu(window)
    menu.addSeparator()
    for a in (show, *actions):
        window.addAction(a)
        menu.addAction(a)
    on_window_close(window, stop)
    return dock, show
