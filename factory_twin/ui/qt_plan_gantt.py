"""Lot Gantt per tool for a time window of one replication (pyqtgraph).

One row per tool (of one group or all), time in hours of simulated time. Bars come from
:meth:`~factory_twin.app.experiment_result.ExperimentResult.gantt`, which aggregates a window
holding more bars than can be seen. Every kind of bar is drawn as ONE graphics item (a
single ``QPainterPath`` per kind and colour): processing by recipe colour, setups, PMs,
failures, engineering and other downtime, and aggregated processing cells shaded by their
busy share. Zoom and pan are pyqtgraph's (wheel, drag); hovering a bar tells its tool, lot,
step, recipe and wait (or, for an aggregated cell, how many lots and how busy).
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGraphicsPathItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.experiment_compare import Comparison
from factory_twin.ui.theme import follow_theme, themed_style

RECIPE_COLOURS = ["#4e79a7", "#59a14f", "#76b7b2", "#edc948", "#b07aa1", "#9c755f", "#86bcb6",
                  "#8cd17d"]  # fmt: skip
KIND_COLOURS = {  # setup pink: beside the PM orange (E10 scheduled down) an orange was lost
    "setup": "#ff9da7",
    "pm": "#ff7f0e",
    "failure": "#e15759",
    "engineering": "#1f8fd6",
    "down": "#9467bd",
}
BAR_H = 0.7
MAX_TICKS = 60


def recipe_colour(recipe: str) -> int:
    """The colour class of a recipe (stable across runs: a CRC, not Python's hash)."""
    return zlib.crc32(recipe.encode()) % len(RECIPE_COLOURS)


class QtGanttChart(QWidget):
    """The lot Gantt of a comparison (see the module notes).

    Signals
    -------
    hovered(str)
        The text of the bar under the mouse (empty off bars).
    """

    hovered = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.comparison: Comparison | None = None
        self.frame = pd.DataFrame()
        self.tools: list[str] = []
        self.items: dict[str, QGraphicsPathItem] = {}
        self.scenario = QComboBox()
        self.scenario.setToolTip("scenario")
        self.replication = QSpinBox(minimum=0, maximum=0)
        self.replication.setPrefix("replication ")
        self.group = QComboBox()
        self.group.setToolTip("tool group (or every tool)")
        self.start = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=1e6, value=0.0)
        self.start.setPrefix("from day ")
        self.length = QDoubleSpinBox(decimals=1, minimum=0.1, maximum=24 * 3650.0, value=24.0)
        self.length.setSuffix(" h")
        self.length.setToolTip("window length; a long window aggregates what cannot be seen")
        self.show_button = QPushButton("Show")
        self.show_button.setToolTip("draw the window")
        self.show_button.clicked.connect(lambda: self.refresh())
        self.info = QLabel("")
        themed_style(self.info, "color: $muted;")
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("gantt_plot")
        pi = self.plot.getPlotItem()
        pi.setLabel("bottom", "simulated time (h)")
        pi.invertY(True)
        pi.showGrid(x=True, y=False, alpha=0.2)
        self.plot.setMouseEnabled(x=True, y=True)
        self.hover_label = pg.TextItem("", anchor=(0, 1))
        follow_theme(self.hover_label, "foreground", fill=True)
        self.hover_label.setZValue(100)
        self.hover_label.hide()
        self.plot.addItem(self.hover_label, ignoreBounds=True)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        top = QHBoxLayout()
        for w in (self.scenario, self.replication, self.group, self.start, self.length,
                  self.show_button):  # fmt: skip
            top.addWidget(w)
        top.addWidget(self.info, 1)
        legend = QLabel(
            " ".join(
                f"<span style='color:{c}'>■</span> {k}"
                for k, c in [("process (by recipe)", RECIPE_COLOURS[0]), *KIND_COLOURS.items()]
            )
            + " <span style='color:#6a7b93'>■</span> aggregated (shade: busy share)"
        )
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(legend)
        lay.addWidget(self.plot, 1)

    def set_comparison(self, comp: Comparison) -> None:
        """Offer ``comp``'s scenarios, replications and groups (nothing is read yet)."""
        self.comparison = comp
        self.scenario.clear()
        self.scenario.addItems(comp.res.names())
        reps = comp.res.base.replications
        self.replication.setRange(min(reps), max(reps))
        self.group.clear()
        self.group.addItem("every tool", None)
        groups = sorted(set(comp.tools()["group"].astype(str)))
        busiest = [g for g in comp.groups if g in groups]
        for g in busiest + [g for g in groups if g not in busiest]:
            self.group.addItem(g, g)
        if busiest:
            self.group.setCurrentIndex(1)
        warm = comp.res.base.warmup_s / 86400.0
        self.start.setMaximum(max(0.0, comp.horizon_s() / 86400.0))
        self.start.setValue(round(warm, 2))
        self.info.setText("press Show to draw the chosen window")  # the empty plot is no result

    def refresh(self) -> pd.DataFrame:
        """Read and draw the chosen window; return its rows."""
        comp = self.comparison
        if comp is None:
            return self.frame
        t0 = self.start.value() * 86400.0
        t1 = min(t0 + self.length.value() * 3600.0, comp.horizon_s())
        if t1 <= t0:
            t0 = max(0.0, t1 - 3600.0)
        df = comp.gantt_window(self.scenario.currentText(), self.replication.value(), t0, t1)
        group = self.group.currentData()
        if group is not None:
            df = df[df["group"] == group]
        self.draw(df.reset_index(drop=True), t0, t1)
        return self.frame

    def draw(self, df: pd.DataFrame, t0_s: float, t1_s: float) -> None:
        """Draw Gantt rows (the columns of :data:`~...experiment_gantt.GANTT_COLUMNS`)."""
        pi = self.plot.getPlotItem()
        for it in self.items.values():
            pi.removeItem(it)
        self.items = {}
        self.frame = df
        self.tools = sorted(set(df["tool"].astype(str)))
        row = {t: i for i, t in enumerate(self.tools)}
        self._rows = df["tool"].map(row).to_numpy(dtype=float) if len(df) else np.zeros(0)
        self._x0 = df["start_s"].to_numpy(dtype=float) / 3600.0
        self._x1 = df["end_s"].to_numpy(dtype=float) / 3600.0
        kinds = df["kind"].astype(str).to_numpy()
        agg = df["aggregated"].to_numpy(dtype=bool)
        cls = np.array([f"k:{k}" for k in kinds], dtype=object)
        proc = (kinds == "process") & ~agg
        if proc.any():
            cls[proc] = [f"r:{recipe_colour(str(r))}" for r in df.loc[proc, "recipe"]]
        if agg.any():
            share = np.nan_to_num(df["busy_share"].to_numpy(dtype=float)[agg])
            cls[agg] = [f"a:{min(3, int(s * 4))}" for s in share]
        for c in sorted(set(cls)):
            m = cls == c
            self._add_path(c, self._rows[m], self._x0[m], self._x1[m])
        ticks = [(float(i), t) for i, t in enumerate(self.tools)]
        step = max(1, math.ceil(len(ticks) / MAX_TICKS))
        pi.getAxis("left").setTicks([ticks[::step], []])
        pi.setXRange(t0_s / 3600.0, t1_s / 3600.0, padding=0.01)
        pi.setYRange(-0.5, max(len(self.tools), 1) - 0.5, padding=0.02)
        n_agg = int(agg.sum())
        self.info.setText(
            f"{len(df)} bars on {len(self.tools)} tools"
            + (f" ({n_agg} aggregated cells)" if n_agg else "")
        )

    def _add_path(self, cls: str, rows: np.ndarray, x0: np.ndarray, x1: np.ndarray) -> None:
        path = QPainterPath()
        path.setFillRule(pg.QtCore.Qt.FillRule.WindingFill)
        for y, a, b in zip(rows.tolist(), x0.tolist(), x1.tolist(), strict=True):
            path.addRect(QRectF(a, y - BAR_H / 2, max(b - a, 1e-4), BAR_H))
        kind, _, arg = cls.partition(":")
        if kind == "r":
            col = QColor(RECIPE_COLOURS[int(arg)])
        elif kind == "a":
            col = QColor("#6a7b93")
            col.setAlpha(90 + 55 * int(arg))
        else:
            col = QColor(KIND_COLOURS.get(arg, "#aaaaaa"))
        item = QGraphicsPathItem(path)
        item.setBrush(QBrush(col))
        pen = QPen(col.darker(140))
        pen.setCosmetic(True)
        pen.setWidth(0)
        item.setPen(pen)
        item.setZValue(5 if kind == "k" else 1)  # downtimes over processing
        self.plot.addItem(item)
        self.items[cls] = item

    # -- hover

    def bar_at(self, x_h: float, y: float) -> int | None:
        """The row of :attr:`frame` under a point (x in hours, y in rows), or None.

        Downtimes win over processing where they overlap (they are drawn on top).
        """
        if not len(self.frame):
            return None
        r = round(y)
        if abs(y - r) > BAR_H / 2:
            return None
        hit = np.flatnonzero((self._rows == r) & (self._x0 <= x_h) & (self._x1 >= x_h))
        if not len(hit):
            return None
        kinds = self.frame["kind"].to_numpy()[hit]
        down = hit[kinds != "process"]
        return int(down[0] if len(down) else hit[0])

    def hover_text(self, i: int) -> str:
        """What hovering row ``i`` of :attr:`frame` says."""
        b: Any = self.frame.iloc[i]
        span = f"{b['start_s'] / 3600:.2f}-{b['end_s'] / 3600:.2f} h"
        if b["aggregated"]:
            return (f"{b['tool']}: {int(b['count'])} {b['kind']} start(s) in {span}, "
                    f"busy {100 * float(b['busy_share']):.0f} %")  # fmt: skip
        if b["kind"] != "process":
            return f"{b['tool']}: {b['kind']} {span}"
        wait = b["wait_s"]
        w = f"{wait / 60:.1f} min" if isinstance(wait, float) and math.isfinite(wait) else "-"
        return (f"{b['tool']}: lot {b['lot']} ({b['product']}), step {int(b['step'])}, "
                f"recipe {b['recipe']}\n{span}, waited {w}")  # fmt: skip

    def _on_mouse_moved(self, pos: QPointF) -> None:
        vb = self.plot.getPlotItem().vb
        if not self.plot.sceneBoundingRect().contains(pos):
            return
        p = vb.mapSceneToView(pos)
        i = self.bar_at(p.x(), p.y())
        if i is None:
            self.hover_label.hide()
            self.hovered.emit("")
            return
        text = self.hover_text(i)
        self.hover_label.setText(text)
        self.hover_label.setPos(p.x(), p.y())
        self.hover_label.show()
        self.hovered.emit(text)
