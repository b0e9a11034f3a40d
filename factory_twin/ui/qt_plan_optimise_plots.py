"""The Optimise dock's live plots: the objective history and the Pareto front (pyqtgraph).

Both draw from :attr:`OptimiseProgress.points <factory_twin.app.optimise.OptimiseProgress>`
(every complete trial's objective values and feasibility). The history plots the first
objective per trial number with the best feasible value so far as a step line; the Pareto
plot puts the first objective on x and the second on y (cost vs cycle time in the default
study), the non-dominated feasible trials joined by a line. Feasible trials are filled,
infeasible ones hollow grey; a click on a point emits :attr:`OptimisePlots.trial_clicked`
with its trial number, and :meth:`OptimisePlots.mark` rings the chosen one. The colours are
the theme's series colours (:data:`~factory_twin.ui.theme.PLOT_COLOURS`), redrawn on a theme
switch. Before the first trial each plot shows no axes (an empty 0-1 range says nothing),
only a centred line on what will appear there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QWidget

from factory_twin.ui.theme import follow_theme, on_theme, plot_colour

FEASIBLE = "series"  # theme colour roles (factory_twin.ui.theme.PLOT_COLOURS)
INFEASIBLE = "inactive"
FRONT = "accent"
MARK = "mark"
HISTORY_HINT = "Run an optimisation to see\nthe objective of each trial"
PARETO_HINT = "Run an optimisation to see the\ntrade-off of its two objectives"
ONE_OBJECTIVE_HINT = "A study of one objective\nhas no trade-off to show"

Point = tuple[int, tuple[float, ...], bool]


def _scale(values: list[float]) -> tuple[float, str]:
    """A divisor and unit word for large figures (cost in millions)."""
    top = max((abs(v) for v in values), default=0.0)
    if top >= 1e6:
        return 1e6, " (millions)"
    if top >= 1e3:
        return 1e3, " (thousands)"
    return 1.0, ""


def pareto_front(points: list[Point], signs: tuple[int, ...]) -> list[Point]:
    """The feasible points no other feasible point dominates (on the first two objectives)."""
    ok = [p for p in points if p[2] and len(p[1]) >= 2]

    def key(p: Point) -> tuple[float, float]:
        return (signs[0] * p[1][0], signs[1] * p[1][1])

    front = [p for p in ok if not any(_dominates(key(q), key(p)) for q in ok if q is not p)]
    return sorted(front, key=key)


def _dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[0] and a[1] <= b[1] and a != b


class OptimisePlots(QWidget):
    """The history and Pareto plots side by side."""

    trial_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.history = pg.PlotWidget()
        self.history.setTitle("Objective history")
        self.history.setLabel("bottom", "trial")
        self.history.showGrid(x=True, y=True, alpha=0.3)
        self.pareto = pg.PlotWidget()
        self.pareto.setTitle("Pareto front")
        self.pareto.showGrid(x=True, y=True, alpha=0.3)
        for w in (self.history, self.pareto):
            w.setMinimumSize(240, 180)
            lay.addWidget(w, 1)
        self.history_points = pg.ScatterPlotItem(size=8, hoverable=True)
        self.best_line = pg.PlotDataItem(pen=pg.mkPen(plot_colour(FRONT), width=2))
        self.pareto_points = pg.ScatterPlotItem(size=9, hoverable=True)
        self.front_line = pg.PlotDataItem(pen=pg.mkPen(plot_colour(FRONT), width=2))
        ring = pg.mkPen(plot_colour(MARK), width=2)
        self.marker = pg.ScatterPlotItem(size=18, pen=ring, brush=None)
        self.history_marker = pg.ScatterPlotItem(size=16, pen=ring, brush=None)
        for item, role in (
            (self.best_line, FRONT),
            (self.front_line, FRONT),
            (self.marker, MARK),
            (self.history_marker, MARK),
        ):
            follow_theme(item, role)
        # each point has the colour of its feasibility: redrawn on a theme switch
        on_theme(self.history_points, self._recolour)
        on_theme(self.pareto_points, self._recolour)
        self.history_hint = pg.TextItem(HISTORY_HINT, anchor=(0.5, 0.5))
        self.pareto_hint = pg.TextItem(PARETO_HINT, anchor=(0.5, 0.5))
        for hint in (self.history_hint, self.pareto_hint):
            follow_theme(hint, "muted")
        self.history.addItem(self.best_line)
        self.history.addItem(self.history_points)
        self.history.addItem(self.history_marker)
        self.pareto.addItem(self.front_line)
        self.pareto.addItem(self.pareto_points)
        self.pareto.addItem(self.marker)
        self.history_points.sigClicked.connect(self._clicked)
        self.pareto_points.sigClicked.connect(self._clicked)
        self.points: list[Point] = []
        self.labels: tuple[str, ...] = ()
        self.signs: tuple[int, ...] = ()
        self.x_scale = 1.0
        self.y_scale = 1.0
        self.h_scale = 1.0
        self.marked: int | None = None
        self._empty: dict[int, bool] = {}
        self._show_empty(self.history, self.history_hint, True)
        self._show_empty(self.pareto, self.pareto_hint, True)

    def _show_empty(self, plot: pg.PlotWidget, hint: pg.TextItem, empty: bool) -> None:
        """Axes and grid with points; no axes and a centred hint without them."""
        item = plot.getPlotItem()
        for axis in ("left", "bottom"):  # again each time: setting a label shows its axis
            item.showAxis(axis, not empty)
        if self._empty.get(id(plot)) is empty:
            return
        self._empty[id(plot)] = empty
        plot.showGrid(x=not empty, y=not empty, alpha=0.3)
        if empty:
            plot.addItem(hint)
            plot.setXRange(0.0, 1.0, padding=0.0)
            plot.setYRange(0.0, 1.0, padding=0.0)
            hint.setPos(0.5, 0.5)
        else:
            plot.removeItem(hint)
        plot.enableAutoRange(enable=not empty)

    def is_empty(self) -> tuple[bool, bool]:
        """Whether the history and the Pareto plot show their empty state (a hint, no axes)."""
        return self._empty[id(self.history)], self._empty[id(self.pareto)]

    def _recolour(self, _dark: bool) -> None:
        self._draw()

    def set_objectives(self, labels: tuple[str, ...], signs: tuple[int, ...]) -> None:
        """Name the axes after the study's objectives and clear the plots."""
        self.labels, self.signs = labels, signs
        self.points = []
        self.marked = None
        self._draw()

    def set_points(self, points: list[Point] | tuple[Point, ...]) -> None:
        """Draw every complete trial (called on each progress report)."""
        self.points = list(points)
        self._draw()

    def _draw(self) -> None:
        pts = self.points
        first = self.labels[0] if self.labels else "objective"
        hs, hunit = _scale([p[1][0] for p in pts if p[1]])
        self.h_scale = hs
        self.history.setLabel("left", f"{first}{hunit}")
        spots = [self._spot(p[0], p[1][0] / hs, p) for p in pts if p[1]]
        self._show_empty(self.history, self.history_hint, not spots)
        self.history_points.setData(spots)
        best: list[tuple[int, float]] = []
        cur: float | None = None
        sign = self.signs[0] if self.signs else 1
        for n, vals, ok in sorted(pts):
            if ok and vals and (cur is None or sign * vals[0] < sign * cur):
                cur = vals[0]
            if cur is not None:
                best.append((n, cur / hs))
        if best:
            self.best_line.setData([b[0] for b in best], [b[1] for b in best])
        else:
            self.best_line.setData([], [])
        two = [p for p in pts if len(p[1]) > 1]
        self.pareto_hint.setText(PARETO_HINT if len(self.labels) != 1 else ONE_OBJECTIVE_HINT)
        self._show_empty(self.pareto, self.pareto_hint, not two or len(self.labels) < 2)
        if len(self.labels) < 2:
            self.pareto.setTitle(
                "Pareto front (needs two objectives)" if self.labels else "Pareto front"
            )
            self.pareto_points.setData([])
            self.front_line.setData([], [])
            self._draw_marker()
            return
        self.pareto.setTitle("Pareto front")
        xs, xunit = _scale([p[1][0] for p in pts if len(p[1]) > 1])
        ys, yunit = _scale([p[1][1] for p in pts if len(p[1]) > 1])
        self.x_scale, self.y_scale = xs, ys
        self.pareto.setLabel("bottom", f"{self.labels[0]}{xunit}")
        self.pareto.setLabel("left", f"{self.labels[1]}{yunit}")
        self._show_empty(self.pareto, self.pareto_hint, not two)
        self.pareto_points.setData(
            [self._spot(p[0], p[1][0] / xs, p, p[1][1] / ys) for p in pts if len(p[1]) > 1]
        )
        front = pareto_front(pts, self.signs)
        self.front_line.setData([p[1][0] / xs for p in front], [p[1][1] / ys for p in front])
        self._draw_marker()

    @staticmethod
    def _spot(n: int, x: float, p: Point, y: float | None = None) -> dict[str, Any]:
        feasible = p[2]
        colour = plot_colour(FEASIBLE if feasible else INFEASIBLE)
        return {
            "pos": (float(n), x) if y is None else (x, y),
            "data": n,
            "brush": pg.mkBrush(colour if feasible else (0, 0, 0, 0)),
            "pen": pg.mkPen(colour, width=1.5),
            "symbol": "o",
        }

    def _clicked(self, _item: Any, spots: Any, *_ev: Any) -> None:
        if len(spots):
            self.trial_clicked.emit(int(spots[0].data()))

    def mark(self, trial: int | None) -> None:
        """Ring trial ``trial`` on both plots (None: no ring)."""
        self.marked = trial
        self._draw_marker()

    def _draw_marker(self) -> None:
        p = next((q for q in self.points if q[0] == self.marked), None)
        if p is None or not p[1]:
            self.marker.setData([])
            self.history_marker.setData([])
            return
        self.history_marker.setData([p[0]], [p[1][0] / self.h_scale])
        if len(p[1]) > 1 and len(self.labels) > 1:
            self.marker.setData([p[1][0] / self.x_scale], [p[1][1] / self.y_scale])
        else:
            self.marker.setData([])

    def point_position(self, trial: int) -> tuple[float, float] | None:
        """Where trial ``trial`` is drawn on the Pareto plot (data coordinates), or None."""
        for spot in self.pareto_points.points():
            if int(spot.data()) == trial:
                pos = spot.pos()
                return float(pos.x()), float(pos.y())
        return None

    def counts(self) -> tuple[int, int]:
        """Points drawn on the history and the Pareto plot."""
        h = np.asarray(self.history_points.data).size
        p = np.asarray(self.pareto_points.data).size
        return int(h), int(p)
