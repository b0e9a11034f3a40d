"""Dark and light themes (Fusion style with a palette), pyqtgraph colours, and the layout
pieces the workspaces share: a vertically scrolling panel and the three panes, whose widths
are remembered."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QScrollArea, QSplitter, QVBoxLayout, QWidget

_DARK = {
    QPalette.ColorRole.Window: "#22262c",
    QPalette.ColorRole.WindowText: "#e6e6e6",
    QPalette.ColorRole.Base: "#1a1d22",
    QPalette.ColorRole.AlternateBase: "#262a31",
    QPalette.ColorRole.ToolTipBase: "#2f343c",
    QPalette.ColorRole.ToolTipText: "#f0f0f0",
    QPalette.ColorRole.Text: "#e6e6e6",
    QPalette.ColorRole.Button: "#2c3138",
    QPalette.ColorRole.ButtonText: "#e6e6e6",
    QPalette.ColorRole.BrightText: "#ff5c5c",
    QPalette.ColorRole.Link: "#4cc9f0",
    QPalette.ColorRole.Highlight: "#2f6fb0",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.PlaceholderText: "#8a8f98",
}


def apply_theme(app: QApplication | None, dark: bool) -> None:
    """Apply the dark or the light theme to the whole application."""
    if app is None:
        return
    app.setStyle("Fusion")
    if dark:
        pal = QPalette()
        for role, color in _DARK.items():
            pal.setColor(role, QColor(color))
        for role in (
            QPalette.ColorRole.Text,
            QPalette.ColorRole.ButtonText,
            QPalette.ColorRole.WindowText,
        ):
            pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6c717a"))
        app.setPalette(pal)
        pg.setConfigOptions(background="#1a1d22", foreground="#d0d0d0")
    else:
        app.setPalette(app.style().standardPalette())
        pg.setConfigOptions(background="#ffffff", foreground="#303030")


def vertical_scroll(body: QWidget) -> QScrollArea:
    """Wrap a tall panel in a frameless area that scrolls vertically only."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(body)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return scroll


def three_panes(
    owner: QWidget,
    panes: tuple[QWidget, QWidget, QWidget],
    sizes: tuple[int, int, int],
    min_widths: tuple[int | None, int | None, int | None],
) -> QSplitter:
    """Fill ``owner`` with its left, centre (the 3-D view) and right panes side by side.

    The centre takes any extra width; no pane collapses to nothing; ``sizes`` are the
    starting widths (pixels) and ``min_widths`` the least ones (None: the pane's own).
    """
    split = QSplitter(Qt.Orientation.Horizontal)
    for pane, least in zip(panes, min_widths, strict=True):
        split.addWidget(pane)
        if least is not None:
            pane.setMinimumWidth(least)
    split.setStretchFactor(1, 1)
    split.setChildrenCollapsible(False)
    split.setSizes(list(sizes))
    lay = QVBoxLayout(owner)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(split)
    return split


def remember_panes(split: QSplitter, settings: Any, key: str) -> None:
    """Give ``split`` the pane widths saved under ``key`` in ``settings`` (a QSettings, or None:
    nothing is remembered) and save them whenever the user drags a handle."""
    if settings is None:
        return
    saved = settings.value(key)
    if isinstance(saved, QByteArray) and not saved.isEmpty():
        split.restoreState(saved)
    split.splitterMoved.connect(lambda _pos, _i: settings.setValue(key, split.saveState()))
