"""Install the render-quality switch into the main window's View menu.

*View → High-quality rendering* (Ctrl+Shift+Q) switches every 3-D view of the window (Monitor
and the workspaces' views) between the quality
look (PBR materials, three-point lighting, ambient occlusion) and the fast one
(:mod:`factory_twin.ui.render_quality`). The choice is saved in the window's QSettings
(``view/quality``: ``on`` or ``off``); until the user chooses, the view starts in quality
mode on a GPU and in fast mode on software OpenGL (llvmpipe, softpipe).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QKeySequence

from factory_twin.ui.qt_scene_view import QtSceneView
from factory_twin.ui.render_quality import default_quality, gl_renderer

SETTINGS_KEY = "view/quality"


def _view_menu(window: Any) -> Any:
    for action in window.menuBar().actions():
        if action.text().replace("&", "") == "View" and action.menu() is not None:
            return action.menu()
    return window.menuBar().addMenu("&View")


def initial_quality(settings: QSettings | None, render_window: Any) -> bool:
    """Return the saved choice, else quality on a GPU and fast on software GL."""
    saved = settings.value(SETTINGS_KEY) if settings is not None else None
    if saved in ("on", "off"):
        return saved == "on"
    return default_quality(render_window)


def install_quality(window: Any) -> QAction:
    """Add the checkable *High-quality rendering* action to the window's View menu."""
    settings = getattr(window, "settings", None)
    settings = settings if isinstance(settings, QSettings) else None
    view = window.view
    on = initial_quality(settings, view.plotter.ren_win)
    action = QAction("High-&quality rendering", window, checkable=True)
    action.setShortcut(QKeySequence("Ctrl+Shift+Q"))
    renderer = gl_renderer(view.plotter.ren_win) or "unknown"
    action.setToolTip(
        "PBR materials, three-point lighting and ambient occlusion; slower on software "
        f"OpenGL (this renderer: {renderer})"
    )
    action.setChecked(on)

    def apply(checked: bool) -> None:
        # every 3-D view of the window: Monitor's and the workspaces' (Maintain, Plan...)
        views = [view, *(v for v in window.findChildren(QtSceneView) if v is not view)]
        for v in views:
            v.set_quality(checked)

    apply(on)

    def toggled(checked: bool) -> None:
        apply(checked)
        if settings is not None:
            settings.setValue(SETTINGS_KEY, "on" if checked else "off")

    action.toggled.connect(toggled)
    menu = _view_menu(window)
    menu.addSeparator()
    menu.addAction(action)
    window.addAction(action)
    window.quality_action = action
    return action
