"""Dark and light themes (Fusion style with a palette), pyqtgraph colours, and the layout
pieces the workspaces share: a vertically scrolling panel and the three panes, whose widths
are remembered.

pyqtgraph reads its configured colours only when a plot is built, so :func:`apply_theme` also
re-styles every plot alive (:func:`restyle_plot`: background, axes, grid, titles, legends).
Text a plot draws itself (a hover box, a hint) follows through :func:`follow_theme`.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsItem,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

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


# plot colours per theme (True: dark): background, axes and text, muted text, a box's fill
PLOT_COLOURS: dict[bool, dict[str, Any]] = {
    True: {
        "background": "#1a1d22",
        "foreground": "#d0d0d0",
        "muted": "#9aa4b2",
        "fill": (20, 22, 26, 220),
    },
    False: {
        "background": "#ffffff",
        "foreground": "#303030",
        "muted": "#5c6470",
        "fill": (255, 255, 255, 230),
    },
}
_THEME = {"dark": True}
_ROLE = "_theme_role"  # the attribute follow_theme leaves on an item


def current_dark() -> bool:
    """Whether the dark theme was applied last (dark until a theme is applied)."""
    return _THEME["dark"]


def plot_colour(role: str, dark: bool | None = None) -> Any:
    """The colour of ``role`` (a key of :data:`PLOT_COLOURS`) in a theme (default: current)."""
    return PLOT_COLOURS[current_dark() if dark is None else dark][role]


def follow_theme(item: QGraphicsItem, role: str = "foreground", fill: bool = False) -> None:
    """Colour ``item`` (a ``pg.TextItem`` or ``pg.ErrorBarItem``) with ``role`` now and on
    every theme switch; ``fill``: a text item's box takes the theme's fill too."""
    setattr(item, _ROLE, (role, fill))
    _style_item(item, current_dark())


def _style_item(item: QGraphicsItem, dark: bool) -> None:
    role, fill = getattr(item, _ROLE)
    colour = plot_colour(role, dark)
    if isinstance(item, pg.TextItem):
        item.setColor(colour)
        if fill:
            item.fill = pg.mkBrush(plot_colour("fill", dark))
        item.update()
    elif isinstance(item, pg.ErrorBarItem):
        item.setData(pen=pg.mkPen(colour))


def restyle_plot(view: pg.GraphicsView, dark: bool) -> None:
    """Give a pyqtgraph widget (PlotWidget, GraphicsLayoutWidget) the colours of a theme:
    background, axis lines, ticks, grid and labels, titles, legend text and box, and the
    items passed to :func:`follow_theme`. Series keep their colours."""
    bg = plot_colour("background", dark)
    fg = plot_colour("foreground", dark)
    view.setBackground(bg)
    for item in view.scene().items():
        if isinstance(item, pg.AxisItem):
            item.setPen(fg)
            item.setTextPen(fg)
        elif isinstance(item, pg.LegendItem):
            item.opts["labelTextColor"] = pg.mkColor(fg)
            brush = item.opts.get("brush")
            if brush is not None and brush.style() != Qt.BrushStyle.NoBrush:
                c = pg.mkColor(bg)
                c.setAlpha(brush.color().alpha())
                item.setBrush(pg.mkBrush(c))
        elif isinstance(item, pg.LabelItem):  # titles and legend entries
            item.opts["color"] = fg
            if item.text:
                item.setText(item.text)
        elif hasattr(item, _ROLE):
            _style_item(item, dark)
    view.update()


def restyle_plots(dark: bool) -> int:
    """Re-style every pyqtgraph widget in the application's windows (see
    :func:`restyle_plot`); return how many."""
    seen: dict[int, pg.GraphicsView] = {}
    for top in QApplication.topLevelWidgets():
        views = top.findChildren(pg.GraphicsView)
        if isinstance(top, pg.GraphicsView):
            views.append(top)
        for v in views:
            seen.setdefault(id(v), v)
    for v in seen.values():
        restyle_plot(v, dark)
    return len(seen)


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
    else:
        app.setPalette(app.style().standardPalette())
    _THEME["dark"] = dark
    pg.setConfigOptions(
        background=plot_colour("background", dark), foreground=plot_colour("foreground", dark)
    )
    restyle_plots(dark)


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
