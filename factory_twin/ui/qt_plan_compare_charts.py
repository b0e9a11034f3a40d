"""The comparison's charts (pyqtgraph), each with PNG, SVG and CSV export.

Every chart draws a DataFrame of :class:`~factory_twin.app.experiment_compare.Comparison`
and keeps it as :attr:`QtExportChart.data`, so the CSV export holds exactly what is drawn:

* throughput and WIP over time (mean over the replications per bin, scenarios overlaid, the
  warm-up shaded);
* cycle-time ECDF per product (scenarios overlaid);
* E10 state stack per tool group (one stacked bar per group and scenario);
* utilisation per tool group with its 95 % CI;
* queue length per tool group over time.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
import pyqtgraph.exporters as pge
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.experiment_compare import Comparison
from factory_twin.model.colours import edge_colour
from factory_twin.model.config import atomic_write_text
from factory_twin.model.events import E10_COLOURS
from factory_twin.ui.theme import (
    PLOT_COLOURS,
    current_dark,
    follow_theme,
    on_theme,
    scenario_colour,
)

logger = logging.getLogger(__name__)


SCENARIO = "_scenario"  # the attribute that names the scenario (its index) a series draws
E10_STATE = "_e10_state"  # the attribute that names the E10 state a stacked bar item draws


def e10_pen(state: str, dark: bool) -> QPen | None:
    """The outline of an E10 state's bar segments: none on the dark theme; on the light
    theme a thin darker shade of the state's hue, at least 3:1 against the white plot (the
    pale hues, standby's yellow at 1.7:1, would not stand out from it)."""
    if dark:
        return None
    bg = str(PLOT_COLOURS[False]["background"])
    return pg.mkPen(edge_colour(E10_COLOURS[state], bg), width=1)


def colour(i: int, dark: bool | None = None) -> str:
    """The colour of scenario ``i`` in a theme (default: the current one)."""
    return scenario_colour(i, dark)


def scenario_item(item: Any, i: int) -> Any:
    """Mark a line or bars as scenario ``i``'s: a theme switch gives it that theme's colour."""
    setattr(item, SCENARIO, i)
    return item


class QtExportChart(QWidget):
    """A pyqtgraph plot with a title, an optional chooser and PNG / SVG / CSV buttons."""

    def __init__(
        self, title: str, xlabel: str, ylabel: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.title = title
        self.data = pd.DataFrame()
        self.plot = pg.PlotWidget()
        self.plot.setObjectName(f"chart_{title}")
        pi = self.plot.getPlotItem()
        pi.setLabel("bottom", xlabel)
        pi.setLabel("left", ylabel)
        pi.showGrid(x=True, y=True, alpha=0.25)
        self.legend = pi.addLegend(offset=(-10, 10))
        self.chooser = QComboBox()
        self.chooser.hide()
        self.chooser.currentIndexChanged.connect(lambda _i: self.redraw())
        self.note = QLabel("")
        self.note.setStyleSheet("color: #8a8f98;")
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.chooser)
        bar.addWidget(self.note, 1)
        for kind in ("PNG", "SVG", "CSV"):
            b = QPushButton(kind)
            b.setToolTip(
                f"save the chart's data as {kind}"
                if kind == "CSV"
                else f"save the chart as {kind}"
            )
            b.clicked.connect(lambda _=False, k=kind: self._ask_export(k))
            bar.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(bar)
        lay.addWidget(self.plot, 1)
        on_theme(pi, self._recolour)

    def _recolour(self, dark: bool) -> None:
        """Give every scenario's line or bars the theme's colour (the legend follows)."""
        for item in self.plot.getPlotItem().items:
            state = getattr(item, E10_STATE, None)
            if state is not None:
                item.setOpts(pen=e10_pen(state, dark))
            i = getattr(item, SCENARIO, None)
            if i is None:
                continue
            c = pg.mkColor(colour(i, dark))
            if isinstance(item, pg.PlotDataItem):
                pen = pg.mkPen(item.opts["pen"])
                pen.setColor(c)
                item.setPen(pen)
            elif isinstance(item, pg.BarGraphItem):
                item.setOpts(brush=pg.mkBrush(c))

    def scenario_colours(self) -> dict[int, str]:
        """Scenario index -> the colour its series is drawn in now (tests)."""
        out = {}
        for item in self.plot.getPlotItem().items:
            i = getattr(item, SCENARIO, None)
            if isinstance(item, pg.PlotDataItem) and i is not None:
                out[i] = item.opts["pen"].color().name()
            elif isinstance(item, pg.BarGraphItem) and i is not None:
                out[i] = pg.mkBrush(item.opts["brush"]).color().name()
        return out

    def redraw(self) -> None:
        """Draw :attr:`data` (subclasses)."""

    def clear(self) -> None:
        """Remove every item and legend entry."""
        self.plot.getPlotItem().clear()
        self.legend.clear()

    def item_count(self) -> int:
        """How many data items the plot holds (tests: a chart with data has some)."""
        return len(self.plot.getPlotItem().items)

    # -- export

    def _ask_export(self, kind: str) -> None:
        ext = kind.lower()
        name = self.title.lower().replace(" ", "_")
        path, _f = QFileDialog.getSaveFileName(
            self, f"Save {kind}", f"{name}.{ext}", f"{kind} (*.{ext})"
        )
        if path:
            self.export(path)

    def export(self, path: str | Path) -> Path:
        """Write the chart (``.png``, ``.svg``) or its data (``.csv``), by the suffix."""
        p = Path(path)
        ext = p.suffix.lower()
        if ext == ".csv":
            atomic_write_text(p, self.data.to_csv(index=False))
            return p
        item = self.plot.getPlotItem()
        tmp = p.with_name(f".{p.name}.tmp{ext}")
        if ext == ".svg":
            _write_svg(self.plot, tmp, self.title)
        else:
            ex = pge.ImageExporter(item)
            ex.parameters()["width"] = max(800, int(self.plot.width()))
            ex.export(str(tmp))
        tmp.replace(p)
        return p


def _write_svg(plot: pg.PlotWidget, path: Path, title: str) -> None:
    """Render the plot's scene with Qt's SVG generator.

    pyqtgraph's SVGExporter rewrites path coordinates assuming ``x,y`` pairs and fails on
    the ``x y`` form Qt 6 writes (a ValueError on any plot with a path); Qt's own
    generator needs no rewriting.
    """
    from PySide6.QtCore import QRect, QSize
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    w, h = max(plot.width(), 400), max(plot.height(), 300)
    gen = QSvgGenerator()
    gen.setFileName(str(path))
    gen.setSize(QSize(w, h))
    gen.setViewBox(QRect(0, 0, w, h))
    gen.setTitle(title)
    painter = QPainter(gen)
    try:
        plot.render(painter)
    finally:
        painter.end()


class QtTimeChart(QtExportChart):
    """A series over time per scenario (mean of the replications), the warm-up shaded."""

    def __init__(self, name: str, title: str, ylabel: str, per_group: bool = False) -> None:
        super().__init__(title, "time (days)", ylabel)
        self.name = name
        self.per_group = per_group
        self.comparison: Comparison | None = None
        if per_group:
            self.chooser.show()
            self.chooser.setToolTip("tool group")

    def set_comparison(self, comp: Comparison) -> None:
        """Show ``comp``'s series."""
        self.comparison = comp
        df = comp.series_mean(self.name)
        if self.per_group:
            self.chooser.blockSignals(True)
            self.chooser.clear()
            self.chooser.addItems([g for g in comp.groups if g in set(df["group"])])
            self.chooser.blockSignals(False)
        self.all_data = df
        self.redraw()

    def redraw(self) -> None:
        comp = self.comparison
        if comp is None:
            return
        df = self.all_data
        if self.per_group:
            df = df[df["group"] == self.chooser.currentText()]
        self.data = df.reset_index(drop=True)
        self.clear()
        warm = comp.warmup_days()
        shown = max(warm.values(), default=0.0)
        if shown > 0:
            region = pg.LinearRegionItem(
                (0.0, shown), movable=False, brush=QColor(140, 150, 170, 45)
            )
            region.setZValue(-10)
            self.plot.addItem(region)
            self.note.setText(f"shaded: warm-up ({shown:.1f} days), deleted from the KPIs")
        for i, name in enumerate(comp.res.names()):
            d = df[df["scenario"] == name].sort_values("time_d")
            line = self.plot.plot(
                d["time_d"].to_numpy(), d["value"].to_numpy(), pen=pg.mkPen(colour(i), width=2),
                name=name,
            )  # fmt: skip
            scenario_item(line, i)


class QtEcdfChart(QtExportChart):
    """The cycle-time ECDF of one product, scenarios overlaid."""

    def __init__(self) -> None:
        super().__init__("Cycle time ECDF", "cycle time (h)", "share of lots")
        self.chooser.show()
        self.chooser.setToolTip("product")
        self.comparison: Comparison | None = None
        self.all_data = pd.DataFrame()

    def set_comparison(self, comp: Comparison) -> None:
        """Show ``comp``'s cycle times."""
        self.comparison = comp
        self.all_data = comp.ecdf()
        self.chooser.blockSignals(True)
        self.chooser.clear()
        self.chooser.addItems(sorted(set(self.all_data["product"].astype(str))))
        self.chooser.blockSignals(False)
        self.redraw()

    def redraw(self) -> None:
        comp = self.comparison
        if comp is None:
            return
        d0 = self.all_data[self.all_data["product"] == self.chooser.currentText()]
        self.data = d0.reset_index(drop=True)
        self.clear()
        self.note.setText("lots of every replication pooled (those the cycle-time KPIs count)")
        for i, name in enumerate(comp.res.names()):
            d = d0[d0["scenario"] == name]
            if len(d):
                x, y = ecdf_steps(d["cycle_time_h"].to_numpy(), d["share"].to_numpy())
                line = self.plot.plot(
                    x, y, pen=pg.mkPen(colour(i), width=2), name=f"{name} ({len(d)} lots)"
                )
                scenario_item(line, i)


def ecdf_steps(x: np.ndarray, share: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The corners of an ECDF's staircase: up at each cycle time, flat to the next (a lone
    lot is a visible riser from 0, where a line through the points draws nothing)."""
    xs = np.repeat(x, 2)
    ys = np.concatenate([[0.0], np.repeat(share, 2)[:-1]])
    return xs, ys


def _group_axis(plot: pg.PlotWidget, groups: list[str]) -> None:
    ax = plot.getPlotItem().getAxis("bottom")
    ax.setTicks([[(float(i), g) for i, g in enumerate(groups)]])


class QtStatesChart(QtExportChart):
    """E10 state shares per tool group: one stacked bar per group and scenario."""

    def __init__(self) -> None:
        super().__init__("E10 states", "tool group (bars: scenarios in order)", "share of time")

    def set_comparison(self, comp: Comparison) -> None:
        """Show ``comp``'s state shares."""
        df = comp.states()
        self.data = df
        self.clear()
        groups = comp.groups
        names = comp.res.names()
        n = len(names)
        w = 0.8 / max(n, 1)
        x = np.array([gi - 0.4 + w * (si + 0.5) for gi in range(len(groups)) for si in range(n)])
        base = np.zeros(len(x))
        wide = df.pivot_table(index=["group", "scenario"], columns="state", values="share")
        for state, col in E10_COLOURS.items():
            h = np.array(
                [
                    float(wide.loc[(g, s), state])
                    if (g, s) in wide.index and state in wide
                    else 0.0
                    for g in groups
                    for s in names
                ]
            )
            h = np.nan_to_num(h)
            bars = pg.BarGraphItem(
                x=x,
                y0=base,
                height=h,
                width=w * 0.9,
                brush=col,
                pen=e10_pen(state, current_dark()),
            )
            setattr(bars, E10_STATE, state)
            self.plot.addItem(bars)
            self.legend.addItem(bars, state.replace("_", " "))
            base = base + h
        _group_axis(self.plot, groups)
        self.note.setText(f"scenarios left to right: {', '.join(names)}")


class QtUtilisationChart(QtExportChart):
    """Utilisation per tool group with its 95 % CI, scenarios side by side."""

    def __init__(self) -> None:
        super().__init__("Utilisation", "tool group", "utilisation")
        # shares 0-1 as they are, not "x0.001" with values in the hundreds
        self.plot.getPlotItem().getAxis("left").enableAutoSIPrefix(False)

    def set_comparison(self, comp: Comparison) -> None:
        """Show ``comp``'s group utilisation."""
        df = comp.utilisation()
        self.data = df
        self.clear()
        groups = comp.groups
        names = comp.res.names()
        w = 0.8 / max(len(names), 1)
        for si, name in enumerate(names):
            d = df[df["scenario"] == name].set_index("group")
            x = np.array([gi - 0.4 + w * (si + 0.5) for gi in range(len(groups))])
            m = np.array([float(d.loc[g, "mean"]) if g in d.index else 0.0 for g in groups])
            hw = np.array([float(d.loc[g, "half_width"]) if g in d.index else 0.0 for g in groups])
            bars = pg.BarGraphItem(x=x, height=np.nan_to_num(m), width=w * 0.9, brush=colour(si))
            scenario_item(bars, si)
            self.plot.addItem(bars)
            self.legend.addItem(bars, name)
            err = pg.ErrorBarItem(x=x, y=np.nan_to_num(m), height=2 * np.nan_to_num(hw),
                                  beam=w * 0.3)  # fmt: skip
            follow_theme(err)  # the plot's foreground: readable on either background
            self.plot.addItem(err)
        _group_axis(self.plot, groups)
        self.note.setText("whiskers: 95 % CI over the replications")


class QtCompareCharts(QTabWidget):
    """The comparison's charts as tabs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.throughput = QtTimeChart("throughput", "Throughput", "lots/day")
        self.wip = QtTimeChart("wip", "WIP", "lots")
        self.ecdf = QtEcdfChart()
        self.states = QtStatesChart()
        self.utilisation = QtUtilisationChart()
        self.queue = QtTimeChart("queue", "Queue", "lots waiting", per_group=True)
        self.charts: list[Any] = [
            self.throughput, self.wip, self.ecdf, self.states, self.utilisation, self.queue,
        ]  # fmt: skip
        for c, label in zip(
            self.charts,
            ["Throughput", "WIP", "Cycle time", "E10 states", "Utilisation", "Queues"],
            strict=True,
        ):
            self.addTab(c, label)
        self.setDocumentMode(True)
        self.tabBar().setElideMode(Qt.TextElideMode.ElideNone)

    def set_comparison(self, comp: Comparison) -> None:
        """Draw every chart of ``comp``."""
        for c in self.charts:
            c.set_comparison(comp)
