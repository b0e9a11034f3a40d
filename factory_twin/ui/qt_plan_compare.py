"""The Plan workspace's comparison: run an experiment, read its tables and charts, see it in 3-D.

:class:`QtComparePanel` puts together the experiment panel
(:class:`~factory_twin.ui.qt_plan_experiment.QtExperimentPanel`, left) and, for the opened
result, tabs of

* **KPIs**: per scenario mean ± 95 % half-width (hover: the interval and the replications);
* **Differences**: scenario - base, paired on common random numbers, with the change in %,
  the verdict (better green, worse red, no significant difference grey) and the replications
  behind it;
* **Charts** (:mod:`~factory_twin.ui.qt_plan_compare_charts`), each with PNG/SVG/CSV export;
* **Heat map**: tools on the 3-D floor coloured by utilisation, mean queue or mean wait of a
  scenario (scalar bar legend), and the bottleneck group of the base and of that scenario
  pinned on the floor (:class:`~factory_twin.ui.heat_scene.HeatOverlay`);
* **Gantt** (:class:`~factory_twin.ui.qt_plan_gantt.QtGanttChart`).

*Export report…* writes the HTML or PDF report of the shown result
(:func:`~factory_twin.app.experiment_report.write_report`).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.experiment_compare import HEAT_METRICS, RAIL_METRICS, Comparison
from factory_twin.app.experiment_job import ResultFolder, open_result
from factory_twin.app.experiment_report import write_report
from factory_twin.app.experiment_result import (
    BETTER,
    HIGHER,
    LOWER,
    NO_DIFFERENCE,
    WORSE,
    ExperimentResult,
)
from factory_twin.errors import FactoryTwinError
from factory_twin.model import schema as s
from factory_twin.ui.heat_scene import HeatOverlay
from factory_twin.ui.qt_plan_compare_charts import QtCompareCharts
from factory_twin.ui.qt_plan_experiment import QtExperimentPanel
from factory_twin.ui.qt_plan_gantt import QtGanttChart
from factory_twin.ui.qt_scene_view import QtSceneView
from factory_twin.ui.qt_tables import cell, row_table
from factory_twin.ui.theme import current_dark

logger = logging.getLogger(__name__)

VERDICT_COLOURS = {
    BETTER: "#1e7d3a",
    WORSE: "#a4262c",
    NO_DIFFERENCE: "#3a3f47",
    HIGHER: "#2b5d8a",
    LOWER: "#2b5d8a",
}


def fmt(v: float) -> str:
    """A number with 4 significant digits (``-`` for NaN)."""
    if not isinstance(v, (int, float)) or not math.isfinite(v):
        return "-"
    return f"{v:.4g}"


def _cell(text: str, tip: str = "", right: bool = True) -> QTableWidgetItem:
    """A figure's cell: right-aligned unless told."""
    return cell(text, tip, right=right)


class QtComparePanel(QWidget):
    """Experiments and the comparison of their results (see the module notes).

    Parameters
    ----------
    settings
        Where the experiment choices are remembered (default: the app's QSettings).
    """

    result_shown = Signal(object)

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.comparison: Comparison | None = None
        self.experiment = QtExperimentPanel(settings)
        self.experiment.result_ready.connect(self.show_result)
        self.experiment.open_requested.connect(self.open_folder)
        self.title = QLabel("No result open: run an experiment or open one of the results.")
        self.title.setObjectName("compare_title")
        self.title.setWordWrap(True)
        self.kpi_table = row_table(name="compare_kpis", alternating=True)
        self.diff_table = row_table(name="compare_differences", alternating=True)
        self.charts = QtCompareCharts()
        self.gantt = QtGanttChart()
        self.view: QtSceneView | None = None
        self.heat: HeatOverlay | None = None
        self._heat_key: tuple[str, str] | None = None
        self._build_heat_tab()
        self.report_action = QAction("Export &report…", self)
        self.report_action.setShortcut(QKeySequence("Ctrl+Shift+R"))
        self.report_action.setToolTip(
            "write the shown result's report as HTML or PDF (Ctrl+Shift+R)"
        )
        self.report_action.setEnabled(False)
        self.report_action.triggered.connect(lambda _=False: self.ask_report())
        self.addAction(self.report_action)
        report_button = QPushButton("Export report…")
        report_button.setToolTip(self.report_action.toolTip())
        report_button.clicked.connect(lambda: self.report_action.trigger())
        self.report_button = report_button

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.kpi_table, "KPIs")
        self.tabs.addTab(self.diff_table, "Differences")
        self.tabs.addTab(self.charts, "Charts")
        self.tabs.addTab(self.heat_tab, "Heat map")
        self.tabs.addTab(self.gantt, "Gantt")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(report_button)
        rl.addLayout(head)
        rl.addWidget(self.tabs, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.experiment)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        self.experiment.setMinimumWidth(350)
        split.setSizes([360, 900])
        self.splitter = split
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

    def _build_heat_tab(self) -> None:
        self.heat_tab = QWidget()
        self.heat_scenario = QComboBox()
        self.heat_scenario.setToolTip("the scenario whose values colour the tools")
        self.heat_metric = QComboBox()
        for key, (_col, title, _scale) in HEAT_METRICS.items():
            self.heat_metric.addItem(title, key)
        self.heat_metric.setToolTip("what colours the tools")
        self.heat_info = QLabel("")
        self.heat_info.setObjectName("heat_info")
        self.heat_info.setWordWrap(True)
        for w in (self.heat_scenario, self.heat_metric):
            w.currentIndexChanged.connect(lambda _i: self.show_heat())
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Scenario"))
        bar.addWidget(self.heat_scenario)
        bar.addWidget(QLabel("colour by"))
        bar.addWidget(self.heat_metric)
        bar.addStretch(1)
        self.heat_layout = QVBoxLayout(self.heat_tab)
        self.heat_layout.setContentsMargins(2, 2, 2, 2)
        self.heat_layout.addLayout(bar)
        self.heat_layout.addWidget(self.heat_info)

    # ------------------------------------------------------------------ plant and results

    def set_scenarios(self, plant_path: str | Path, scenarios: list[tuple[str, Path]]) -> None:
        """The plant's scenarios (``(name, path)``, base first) to choose from."""
        self.experiment.set_scenarios(plant_path, scenarios)

    def open_folder(self, folder: ResultFolder | str | Path) -> Comparison | None:
        """Open a result folder and show it (a message if it is not a complete result)."""
        try:
            res = open_result(folder)
        except FactoryTwinError as exc:
            QMessageBox.warning(self, "Open result", str(exc))
            return None
        return self.show_result(res)

    def show_result(self, res: ExperimentResult) -> Comparison:
        """Fill the tables, charts, heat map choices and Gantt from ``res``."""
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            comp = Comparison(res)
            self.comparison = comp
            self._fill_kpis(comp)
            self._fill_differences(comp)
            self.charts.set_comparison(comp)
            self.gantt.set_comparison(comp)
            self.heat_scenario.blockSignals(True)
            self.heat_scenario.clear()
            self.heat_scenario.addItems(res.names())
            self.heat_scenario.setCurrentIndex(len(res.names()) - 1)
            self.heat_scenario.blockSignals(False)
            # the rail metrics, when the scenarios ran the OHT fleet
            self.heat_metric.blockSignals(True)
            for key in RAIL_METRICS:
                i = self.heat_metric.findData(key)
                if i >= 0:
                    self.heat_metric.removeItem(i)
            if comp.has_rails():
                for key, (_col, title) in RAIL_METRICS.items():
                    self.heat_metric.addItem(title.replace("\n", " "), key)
            self.heat_metric.blockSignals(False)
            self._heat_key = None
            if self.tabs.currentWidget() is self.heat_tab:
                self.show_heat()
            n = ", ".join(f"{sc.name} ({len(sc.replications)})" for sc in res.scenarios)
            self.title.setText(f"<b>{res.name}</b>: {n} replications; {res.path}")
            self.report_action.setEnabled(True)
        finally:
            QApplication.restoreOverrideCursor()
        self.result_shown.emit(comp)
        return comp

    def _fill_kpis(self, comp: Comparison) -> None:
        t = comp.kpi_table()
        names = comp.res.names()
        kpis = comp.kpis()
        tbl = self.kpi_table
        tbl.clear()
        tbl.setColumnCount(1 + len(names))
        n_of = {sc.name: len(sc.replications) for sc in comp.res.scenarios}
        tbl.setHorizontalHeaderLabels(["KPI", *[f"{n} (n={n_of[n]})" for n in names]])
        tbl.setRowCount(len(kpis))
        idx = t.set_index(["kpi", "scenario"])
        for r, k in enumerate(kpis):
            it = _cell(str(t.loc[t["kpi"] == k, "label"].iloc[0]), k, right=False)
            it.setData(Qt.ItemDataRole.UserRole, k)
            tbl.setItem(r, 0, it)
            for c, name in enumerate(names, start=1):
                if (k, name) not in idx.index:
                    tbl.setItem(r, c, _cell("-"))
                    continue
                row = idx.loc[(k, name)]
                hw = float(row["half_width"])
                text = fmt(row["mean"]) + (f" ± {fmt(hw)}" if math.isfinite(hw) else "")
                tip = (f"95 % CI [{fmt(row['low'])}, {fmt(row['high'])}] over "
                       f"{int(row['n'])} replications")  # fmt: skip
                tbl.setItem(r, c, _cell(text, tip))

    def _fill_differences(self, comp: Comparison) -> None:
        d = comp.difference_table()
        tbl = self.diff_table
        tbl.clear()
        cols = [
            "scenario",
            "KPI",
            "base",
            "Δ (scenario - base)",
            "95 % CI",
            "change",
            "n",
            "verdict",
        ]
        tbl.setColumnCount(len(cols))
        tbl.setHorizontalHeaderLabels(cols)
        tbl.setRowCount(len(d))
        for r, row in enumerate(d.itertuples(index=False)):
            verdict = str(row.verdict)
            cells = [
                _cell(str(row.scenario), right=False),
                _cell(str(row.label), str(row.kpi), right=False),
                _cell(fmt(row.base_mean)),
                _cell(f"{row.mean:+.4g}" if math.isfinite(row.mean) else "-"),
                _cell(f"[{fmt(row.low)}, {fmt(row.high)}]"),
                _cell(f"{row.change_pct:+.1f} %" if math.isfinite(row.change_pct) else "-"),
                _cell(str(int(row.n)), "replications paired on common random numbers"),
                _cell(verdict, right=False),
            ]
            cells[1].setData(Qt.ItemDataRole.UserRole, str(row.kpi))
            colour = QColor(VERDICT_COLOURS.get(verdict, "#3a3f47"))
            for c, it in enumerate(cells):
                if c >= 3:
                    it.setBackground(colour)
                    it.setForeground(QColor("#ffffff"))
                tbl.setItem(r, c, it)

    def verdicts(self) -> dict[tuple[str, str], str]:
        """``(scenario, kpi) -> verdict`` as the difference table shows them (tests)."""
        out = {}
        t = self.diff_table
        for r in range(t.rowCount()):
            scn, kpi, verdict = t.item(r, 0), t.item(r, 1), t.item(r, 7)
            if scn is not None and kpi is not None and verdict is not None:
                out[(scn.text(), str(kpi.data(Qt.ItemDataRole.UserRole)))] = verdict.text()
        return out

    # ------------------------------------------------------------------ heat map

    def attach_view(self, view: QtSceneView) -> None:
        """Paint the heat map on ``view`` (default: a view of the panel's own, made when needed)."""
        if view is not self.view and self.heat is not None:
            self.heat.dispose()
            self.heat = None
        self.view = view
        self._heat_key = None  # the next show_heat draws the scene on it afresh

    def detach_view(self) -> None:
        """Stop painting on a view given to :meth:`attach_view` (its owner redraws it)."""
        if self.heat is not None:
            self.heat.dispose()
            self.heat = None
        if self.view is not None and self.view.parent() is not self.heat_tab:
            self.view = None
        self._heat_key = None

    def _ensure_view(self) -> QtSceneView:
        if self.view is None:
            self.view = QtSceneView()
            self.view.legend.hide()
            self.heat_layout.addWidget(self.view, 1)
        return self.view

    def changeEvent(self, event: QEvent) -> None:
        """Follow a theme switch (apply_theme sets the style and the palette): the heat map's
        own view and its scale; the Plan view, when the map is painted there, follows with
        its workspace."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.PaletteChange):
            QTimer.singleShot(0, self, self._follow_theme)

    def _follow_theme(self) -> None:
        view, dark = self.view, current_dark()
        if view is None:
            return
        if view.parent() is self.heat_tab and view.scene is not None and view.scene.dark != dark:
            view.set_dark(dark)
        self._style_heat_bar(dark)

    def _style_heat_bar(self, dark: bool) -> None:
        """The scale's text: light on the dark background, dark on the light one."""
        bar = self.heat.bar if self.heat is not None else None
        if bar is None or self.view is None:
            return
        rgb = (0.92, 0.92, 0.92) if dark else (0.13, 0.13, 0.13)
        for tp in (bar.GetTitleTextProperty(), bar.GetLabelTextProperty()):
            tp.SetColor(*rgb)
        self.view.request_render()

    def _on_tab_changed(self, _i: int) -> None:
        if self.tabs.currentWidget() is self.heat_tab and self.comparison is not None:
            self.show_heat()

    def _scenario_spec(self, name: str) -> s.PlantSpec:
        assert self.comparison is not None
        sc = self.comparison.res.scenario(name)
        data = json.loads((sc.folder / "plant.json").read_text(encoding="utf-8"))
        return s.PlantSpec.model_validate(data)

    def show_heat(self) -> int:
        """Colour the tools by the chosen scenario and metric; return the tools coloured."""
        comp = self.comparison
        if comp is None or not self.heat_scenario.currentText():
            return 0
        name = self.heat_scenario.currentText()
        metric = str(self.heat_metric.currentData())
        view = self._ensure_view()
        spec = self._scenario_spec(name)
        ids = [e.id for e in spec.equipment]
        if (
            view.scene is None
            or list(view.scene.ids) != ids
            or self._heat_key is None
            or (self._heat_key[0] != name)
        ):
            if self.heat is not None:
                self.heat.dispose()
            view.set_plant(spec, None, dark=current_dark())
            view.legend.hide()
            assert view.scene is not None
            self.heat = HeatOverlay(view.scene)
        assert self.heat is not None
        self._heat_key = (name, metric)
        layer = view.scene.amhs if view.scene is not None else None
        if metric in RAIL_METRICS:
            return self._show_rail_heat(comp, name, metric)
        if layer is not None:
            layer.set_heat_map(False)
        values = comp.heat_values(name, metric)
        _col, title, _scale = HEAT_METRICS[metric]
        n = self.heat.show(values.to_dict(), comp.heat_range(metric), title)
        self._style_heat_bar(current_dark())
        base = comp.res.base.name
        old, new = comp.bottleneck(base), comp.bottleneck(name)
        group_of = {e.id: e.group for e in spec.equipment}
        old_tools = [t for t, g in group_of.items() if g == old]
        new_tools = [t for t, g in group_of.items() if g == new]
        if name == base or old == new:
            self.heat.mark_shift([], new_tools, "", f"bottleneck: {new}")
            shift = f"bottleneck {new} (pinned)"
        else:
            self.heat.mark_shift(old_tools, new_tools, f"{base}: {old}", f"{name}: {new}")
            shift = (
                f"bottleneck moved: {old} in {base} (grey pins) → {new} in {name} (magenta pins)"
            )
        lo, hi = comp.heat_range(metric)
        self.heat_info.setText(f"{name}: {title} of {n} tools, scale {lo:.3g}-{hi:.3g}; {shift}")
        view.request_render()
        return n

    def _show_rail_heat(self, comp: Comparison, name: str, metric: str) -> int:
        """Colour the scenario's rails by a rail metric (tools in grey); return the links."""
        assert self.view is not None and self.view.scene is not None and self.heat is not None
        layer = self.view.scene.amhs
        self.heat.show({}, (0.0, 1.0), "")
        if self.heat.bar is not None:
            self.heat.bar.SetVisibility(False)
        self.heat.clear_marks()
        if layer is None:
            self.heat_info.setText(f"{name}: no rails in this scenario's plant")
            self.view.request_render()
            return 0
        values = comp.rail_values(name, metric)
        per_link = np.array([values.get(lk, np.nan) for lk in layer.link_ids], dtype=float)
        _col, title = RAIL_METRICS[metric]
        lo, hi = comp.rail_range(metric)
        layer.set_congestion(np.nan_to_num(per_link), title=title, clim=(lo, hi))
        layer.set_heat_map(True)
        n = int(np.isfinite(per_link).sum())
        top = values.sort_values(ascending=False).head(3)
        busiest = ", ".join(f"{k} {v:.3g}" for k, v in top.items())
        self.heat_info.setText(
            f"{name}: {title.replace(chr(10), ' ')} on {n} links, scale {lo:.3g}-{hi:.3g} "
            f"(the same for every scenario); highest: {busiest}"
        )
        self.view.request_render()
        return n

    def tool_colour(self, tool_id: str) -> tuple[int, int, int]:
        """The colour a tool is drawn in on the heat map's scene (tests)."""
        assert self.view is not None and self.view.scene is not None
        return self.view.scene.tool_rgb_of(tool_id)

    # ------------------------------------------------------------------ report

    def ask_report(self) -> Path | None:
        """Ask where to write the report, then write it."""
        comp = self.comparison
        if comp is None:
            return None
        start = str(comp.res.path.parent / f"{comp.res.path.stem}_report.html")
        path, _f = QFileDialog.getSaveFileName(
            self, "Export report", start, "HTML report (*.html);;PDF report (*.pdf)"
        )
        if not path:
            return None
        return self.write_report(path)

    def write_report(self, path: str | Path) -> Path | None:
        """Write the shown result's report (``.html`` or ``.pdf``); a message on failure."""
        comp = self.comparison
        if comp is None:
            return None
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            out = write_report(comp.res, path)
        except (FactoryTwinError, OSError, ValueError) as exc:
            QMessageBox.warning(self, "Export report", f"Cannot write {path}: {exc}")
            return None
        finally:
            QApplication.restoreOverrideCursor()
        self.title.setText(self.title.text().split("<br>")[0] + f"<br>report written: {out}")
        return out

    def shutdown(self) -> None:
        """Stop a running experiment and release the 3-D view (the window closes)."""
        self.experiment.shutdown()
        if self.view is not None and self.view.parent() is self.heat_tab:
            self.view.close_view()

    def state(self) -> dict[str, Any]:
        """What is shown (tests, screenshots)."""
        comp = self.comparison
        return {
            "result": None if comp is None else str(comp.res.path),
            "kpis": self.kpi_table.rowCount(),
            "differences": self.diff_table.rowCount(),
        }
