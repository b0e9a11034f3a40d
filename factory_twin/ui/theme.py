"""Dark and light themes (Fusion style with a palette), pyqtgraph colours, and the layout
pieces the workspaces share: a vertically scrolling panel and the three panes, whose widths
are remembered.

pyqtgraph reads its configured colours only when a plot is built, so :func:`apply_theme` also
re-styles every plot alive (:func:`restyle_plot`: background, axes, grid, titles, legends).
Text a plot draws itself (a hover box, a hint) and single-colour series (a line, a threshold,
uniform points) follow through :func:`follow_theme`; a plot whose points each have their own
colour redraws itself through :func:`on_theme`. Series colours have a version per theme, each
at least :data:`MIN_CONTRAST` (WCAG contrast ratio, :func:`contrast_ratio`) against that
theme's background: the pale tints that read well on the dark background vanish on white.

Widgets that colour their own text (a status dot, an error message, a safety note) take it
from :func:`text_colour`, whose colours are at least :data:`MIN_TEXT_CONTRAST` against the
theme's window and base backgrounds, and follow a switch through :func:`themed_style` (a
style sheet with ``$role`` colours, re-applied by :func:`apply_theme`) or
:func:`on_theme_change` (a widget that renders coloured rich text or table cells itself).
"""

from __future__ import annotations

import string
import weakref
from collections.abc import Callable
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsItem,
    QLabel,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from factory_twin.model.colours import contrast

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


# plot colours per theme (True: dark): background, axes and text, muted text, a box's fill;
# series: the main one (points, a trainee's scores), an accent (a best-so-far or front line),
# a target (a pass mark), a mark (a chosen point's ring), inactive (infeasible points), and
# the colours of a tool's trends in turn
PLOT_COLOURS: dict[bool, dict[str, Any]] = {
    True: {
        "background": "#1a1d22",
        "foreground": "#d0d0d0",
        "muted": "#9aa4b2",
        "fill": (20, 22, 26, 220),
        "series": "#4fc3f7",
        "accent": "#ffb74d",
        "target": "#f2c12e",
        "mark": "#ff5252",
        "inactive": "#8a8a8a",
        "trend": ("#4cc9f0", "#f72585", "#b5e48c", "#ffb703", "#c77dff", "#ff8fab"),
    },
    False: {
        "background": "#ffffff",
        "foreground": "#303030",
        "muted": "#5c6470",
        "fill": (255, 255, 255, 230),
        "series": "#0277bd",
        "accent": "#c45100",
        "target": "#9a6b00",
        "mark": "#d32f2f",
        "inactive": "#707070",
        "trend": ("#0277bd", "#c2185b", "#2e7d32", "#a15c00", "#7b1fa2", "#d81b60"),
    },
}
MIN_CONTRAST = 3.0  # WCAG's least contrast ratio for graphics against their background
_THEME = {"dark": True}
_ROLE = "_theme_role"  # the attribute follow_theme leaves on an item
_FN = "_theme_fn"  # the attribute on_theme leaves on an item


def contrast_ratio(a: Any, b: Any) -> float:
    """The WCAG 2 contrast ratio of two colours (anything ``pg.mkColor`` takes), 1 to 21
    (:func:`factory_twin.model.colours.contrast`)."""
    return contrast(pg.mkColor(a).name(), pg.mkColor(b).name())


def current_dark() -> bool:
    """Whether the dark theme was applied last (dark until a theme is applied)."""
    return _THEME["dark"]


def plot_colour(role: str, dark: bool | None = None) -> Any:
    """The colour of ``role`` (a key of :data:`PLOT_COLOURS`) in a theme (default: current)."""
    return PLOT_COLOURS[current_dark() if dark is None else dark][role]


def trend_colour(k: int, dark: bool | None = None) -> str:
    """The colour of a plot's ``k``-th trend in a theme (default: current)."""
    colours = plot_colour("trend", dark)
    return str(colours[k % len(colours)])


# text colours per theme (True: dark), by role: plain and muted text, a good state (ok), a
# warning (amber), a caution (out of limits, orange), an error, a safety danger note, an
# informative accent and a drill event; each at least MIN_TEXT_CONTRAST against the theme's
# window, base, alternate base and tool tip backgrounds (and a safety box's red tint)
TEXT_COLOURS: dict[bool, dict[str, str]] = {
    True: {
        "text": "#e6e6e6",
        "muted": "#a3a9b3",
        "ok": "#5cc46e",
        "warning": "#f2c12e",
        "caution": "#ff9f43",
        "error": "#ff6b6b",
        "danger": "#ffb3b3",
        "info": "#5aa9ff",
        "event": "#c77dff",
    },
    False: {
        "text": "#1f2328",
        "muted": "#565d68",
        "ok": "#176127",
        "warning": "#7a5600",
        "caution": "#9a3d00",
        "error": "#b3261e",
        "danger": "#9b1c1c",
        "info": "#1559b0",
        "event": "#7b1fa2",
    },
}
MIN_TEXT_CONTRAST = 4.5  # WCAG AA for normal text
_STYLE_PROP = "_theme_style"  # the dynamic property themed_style leaves on a widget
_WIDGET_FN = "_theme_widget_fn"  # the attribute on_theme_change leaves on a widget


def text_colour(role: str, dark: bool | None = None) -> str:
    """The text colour of ``role`` (a key of :data:`TEXT_COLOURS`) in a theme (default:
    current), as ``#rrggbb``.

    Examples
    --------
    >>> text_colour("error", dark=True), text_colour("error", dark=False)
    ('#ff6b6b', '#b3261e')
    >>> contrast_ratio(text_colour("warning", False), "#ffffff") >= MIN_TEXT_CONTRAST
    True
    """
    return TEXT_COLOURS[current_dark() if dark is None else dark][role]


def themed_css(template: str, dark: bool | None = None) -> str:
    """``template`` with every ``$role`` replaced by :func:`text_colour` of the theme.

    Examples
    --------
    >>> themed_css("color: $caution; font-weight: bold;", dark=False)
    'color: #9a3d00; font-weight: bold;'
    """
    return string.Template(template).substitute(
        TEXT_COLOURS[current_dark() if dark is None else dark]
    )


def themed_style(widget: QWidget, template: str) -> None:
    """Give ``widget`` the style sheet ``template`` (see :func:`themed_css`) now and after
    every theme switch; an empty template removes the widget's style sheet."""
    widget.setProperty(_STYLE_PROP, template or None)
    css = themed_css(template) if template else ""
    if widget.styleSheet() != css:  # a widget re-polishes on every set: not for nothing
        widget.setStyleSheet(css)


def on_theme_change(widget: QWidget, fn: Callable[[bool], None]) -> None:
    """Call ``fn(dark)`` after every theme switch while ``widget`` lives (for a widget whose
    rich text or table cells carry colours of their own). A bound method is held weakly."""
    ref: Callable[[], Callable[[bool], None] | None]
    if hasattr(fn, "__self__"):
        ref = weakref.WeakMethod(fn)
    else:
        ref = lambda: fn  # noqa: E731
    setattr(widget, _WIDGET_FN, ref)


def coloured(role: str, body: str) -> str:
    """``body`` (rich text) in a span of the current theme's text colour ``role``
    (:func:`text_colour`: ``error``, ``caution``, ``ok``, ...); a
    label showing it follows a theme switch once :func:`follow_colours` was called on it."""
    return f"<span style='color:{text_colour(role)}'>{body}</span>"


def follow_colours(label: QLabel) -> None:
    """Re-colour the :func:`coloured` spans of ``label``'s current text on every theme
    switch (each role's colour of the other theme becomes the new theme's)."""

    def recolour(dark: bool) -> None:
        text = label.text()
        new = text
        for role, c in TEXT_COLOURS[not dark].items():
            new = new.replace(f"color:{c}", f"color:{TEXT_COLOURS[dark][role]}")
        if new != text:
            label.setText(new)

    on_theme_change(label, recolour)
    recolour(current_dark())


def show_message(label: QLabel, text: str, *, error: bool = False) -> None:
    """Show ``text`` in ``label``: in the theme's error colour (following a switch) when
    ``error``, else in the label's plain text colour."""
    themed_style(label, "color: $error;" if error else "")
    label.setText(text)


def restyle_widgets(dark: bool) -> int:
    """Re-apply the :func:`themed_style` sheets (and every other widget's own style sheet,
    so that it takes the new palette) and call the :func:`on_theme_change` functions of
    every widget alive; return how many widgets followed."""
    n = 0
    for w in QApplication.allWidgets():
        template = w.property(_STYLE_PROP)
        if isinstance(template, str) and template:
            w.setStyleSheet(themed_css(template, dark))
            n += 1
        elif w.styleSheet():
            # a widget with a style sheet keeps the palette it was polished with (a title
            # that sets only its font stays pale on white): setting it again re-polishes it
            w.setStyleSheet(w.styleSheet())
            n += 1
        ref = getattr(w, _WIDGET_FN, None)
        fn = ref() if ref is not None else None
        if fn is not None:
            fn(dark)
            n += 1
    return n


def follow_theme(item: QGraphicsItem, role: str = "foreground", fill: bool = False) -> None:
    """Colour ``item`` with ``role`` now and on every theme switch: a ``pg.TextItem`` (with
    ``fill``, its box takes the theme's fill too), a ``pg.ErrorBarItem``, a
    ``pg.InfiniteLine`` or a ``pg.PlotDataItem`` (their pens keep width and dash; the data
    item's symbols, if any, take the colour too) or a ``pg.ScatterPlotItem`` (every point)."""
    setattr(item, _ROLE, (role, fill))
    _style_item(item, current_dark())


def on_theme(item: QGraphicsItem, fn: Callable[[bool], None]) -> None:
    """Call ``fn(dark)`` on every theme switch while ``item`` is in a plot (for a plot whose
    points each have their own colour). A bound method is held weakly: no reference cycle
    through the item."""
    ref: Callable[[], Callable[[bool], None] | None]
    if hasattr(fn, "__self__"):
        ref = weakref.WeakMethod(fn)
    else:
        ref = lambda: fn  # noqa: E731
    setattr(item, _FN, ref)


def _recoloured(pen: Any, colour: Any) -> Any:
    out = pg.mkPen(pen)
    out.setColor(pg.mkColor(colour))
    return out


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
    elif isinstance(item, pg.InfiniteLine):
        item.setPen(_recoloured(item.pen, colour))
    elif isinstance(item, pg.PlotDataItem):
        item.setPen(_recoloured(item.opts["pen"], colour))
        if item.opts.get("symbol") is not None:
            item.setSymbolPen(_recoloured(item.opts["symbolPen"], colour))
            item.setSymbolBrush(pg.mkBrush(colour))
    elif isinstance(item, pg.ScatterPlotItem):
        item.setPen(_recoloured(item.opts["pen"], colour))
        if item.opts["brush"] is not None and item.opts["brush"].style() != Qt.BrushStyle.NoBrush:
            item.setBrush(pg.mkBrush(colour))


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
        if hasattr(item, _FN):
            fn = getattr(item, _FN)()
            if fn is not None:
                fn(dark)
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
    restyle_widgets(dark)


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


def remember_panes(split: QSplitter, settings: Any, key: str) -> bool:
    """Give ``split`` the pane widths saved under ``key`` in ``settings`` (a QSettings, or None:
    nothing is remembered) and save them whenever the user drags a handle. Returns True if
    saved widths were restored."""
    if settings is None:
        return False
    saved = settings.value(key)
    restored = isinstance(saved, QByteArray) and not saved.isEmpty() and split.restoreState(saved)
    split.splitterMoved.connect(lambda _pos, _i: settings.setValue(key, split.saveState()))
    return bool(restored)


def remember_tab(tabs: QTabWidget, settings: Any, key: str) -> None:
    """Show the tab of ``tabs`` saved under ``key`` in ``settings`` (a QSettings, or None:
    nothing is remembered) and save the index of each tab shown from now on."""
    if settings is None:
        return
    saved = str(settings.value(key, ""))
    if saved.isdigit() and int(saved) < tabs.count():
        tabs.setCurrentIndex(int(saved))
    tabs.currentChanged.connect(lambda i: settings.setValue(key, i))


# -- the scenarios' colours in a comparison


def scenario_colour(i: int, dark: bool | None = None) -> str:
    """The colour of the ``i``-th scenario of a comparison in a theme (default: current):
    :data:`~factory_twin.app.experiment_charts.SCENARIO_COLOURS`, at least
    :data:`MIN_CONTRAST` against that theme's plot background."""
    from factory_twin.app.experiment_charts import SCENARIO_COLOURS

    colours = SCENARIO_COLOURS[current_dark() if dark is None else dark]
    return colours[i % len(colours)]
