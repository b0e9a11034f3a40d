"""A Plan panel as a dock of the main window: what the Compare and Optimise docks share.

:func:`install_plan_dock` puts a panel (:class:`~factory_twin.ui.qt_plan_compare.QtComparePanel`,
:class:`~factory_twin.ui.qt_plan_optimise.QtOptimisePanel`) in a hidden dock at the bottom
(movable to the right), makes the dock's show/hide action with its shortcut, and lists it
(and the panel's own actions) in the *Plan* menu, or in an *Experiments* menu shared by the
docks when there is no Plan menu. Closing the window stops the panel's running work
(:func:`~factory_twin.ui.qt_close.on_window_close`). The docks start hidden at every start
(they are made after the window restored its saved layout); :func:`hide_plan_docks` hides
them when the window closes in a workspace that gives the Monitor's docks back
(:class:`DocksAside`, used by Plan and Train).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer
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


class DocksAside:
    """The Monitor's docks (tool details, alarms) give their room to a workspace ``ws``
    (Plan, Train) while its tab is shown, and come back with another tab, and when the
    window closes there (before it saves its layout, the Monitor's: a dock saved hidden
    stays hidden). Connect :meth:`on_tab` to the tabs' ``currentChanged`` and
    :meth:`on_close` to the window's closing."""

    def __init__(self, window: Any, ws: QWidget) -> None:
        self.window, self.ws = window, ws
        self.hidden: list[Any] = []
        self.entered: Any = None  # the window's dock layout once the tab was entered

    def on_tab(self, _i: int) -> None:
        w = self.window
        if w.tabs.currentWidget() is not self.ws:
            self.give_docks_back()
            return
        # after Maintain (if it was shown) gave the Monitor's arrangement back
        QTimer.singleShot(0, self.remember_layout)
        for dock in (getattr(w, "detail_dock", None), getattr(w, "alarm_dock", None)):
            if dock is not None and dock.isVisible():
                self.hidden.append(dock)
                dock.hide()

    def remember_layout(self) -> None:
        if self.window.tabs.currentWidget() is self.ws:
            self.entered = self.window.saveState()

    def give_docks_back(self) -> None:
        while self.hidden:
            self.hidden.pop().show()

    def on_close(self) -> None:
        """The layout saved: the Monitor's as the workspace found it (an open Compare or
        Optimise dock hidden: beside it, the docks given back grew the window and took its
        height)."""
        if self.hidden:
            hide_plan_docks(self.window)
            if self.entered is not None:
                self.window.restoreState(self.entered)
        self.give_docks_back()


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
