"""A theme switch re-colours the plots alive, not only the ones built afterwards: the tool
trend in the window, and (in windows of their own, as the app opens them) the lot Gantt with
its hover box, the optimisation plots with their titles, a chart's legend and the drill
timeline the Train workspace paints itself."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor

from factory_twin.app.controller import Controller
from factory_twin.model.config import load_plant
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_plan_compare_charts import QtExportChart
from factory_twin.ui.qt_plan_gantt import QtGanttChart
from factory_twin.ui.qt_plan_optimise_plots import OptimisePlots
from factory_twin.ui.qt_train_author import QtDrillTimeline
from factory_twin.ui.theme import PLOT_COLOURS

pytestmark = pytest.mark.gui


def _shown(qtbot, w):  # type: ignore[no-untyped-def]
    qtbot.addWidget(w)
    w.resize(500, 300)
    w.show()
    qtbot.waitExposed(w)
    return w


def _assert_theme(plots: list[pg.PlotWidget], gantt: QtGanttChart, chart: QtExportChart,
                  opt: OptimisePlots, dark: bool) -> None:  # fmt: skip
    bg = QColor(PLOT_COLOURS[dark]["background"])
    fg = QColor(PLOT_COLOURS[dark]["foreground"])
    for plot in plots:
        assert plot.backgroundBrush().color() == bg, plot.objectName()
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            assert axis.textPen().color() == fg
            assert axis.pen().color() == fg  # the line, ticks and grid
            assert axis.labelStyle["color"] == fg.name()  # the axis title
    argb = f"color:{fg.name()};"  # a LabelItem's text (title, legend entry), as Qt keeps it
    for plot in (opt.history, opt.pareto):
        assert argb in plot.getPlotItem().titleLabel.item.toHtml()
    assert gantt.hover_label.color == fg
    fill = gantt.hover_label.fill.color()
    assert (fill.red(), fill.green(), fill.blue()) == (bg.red(), bg.green(), bg.blue()) or (
        fill.getRgb() == PLOT_COLOURS[dark]["fill"]
    )
    for _sample, label in chart.legend.items:
        assert argb in label.item.toHtml()


def test_switching_the_theme_restyles_every_plot(qtbot, tmp_path: Path, mini_plant_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    win = MainWindow(c, settings)  # dark: the default theme
    qtbot.addWidget(win)
    c.set_plant(load_plant(mini_plant_path))
    win.show()
    qtbot.waitExposed(win)
    # built in the dark theme, each in a window of its own
    gantt = _shown(qtbot, QtGanttChart())
    opt = _shown(qtbot, OptimisePlots())
    opt.set_objectives(("cycle time", "cost"), (1, 1))
    opt.set_points([(0, (12.0, 2e6), True), (1, (14.0, 1e6), True)])
    chart = _shown(qtbot, QtExportChart("Throughput", "day", "lots"))
    chart.plot.plot([0, 1], [1, 2], name="base")
    timeline = _shown(qtbot, QtDrillTimeline())
    plots = [win.detail.plot, gantt.plot, opt.history, opt.pareto, chart.plot]
    _assert_theme(plots, gantt, chart, opt, dark=True)
    dark_strip = timeline.grab().toImage().pixelColor(3, 3)

    win.set_dark(False)
    qtbot.wait(20)
    _assert_theme(plots, gantt, chart, opt, dark=False)
    light_strip = timeline.grab().toImage().pixelColor(3, 3)
    assert light_strip.lightness() > 200 > dark_strip.lightness() + 120

    win.set_dark(True)
    qtbot.wait(20)
    _assert_theme(plots, gantt, chart, opt, dark=True)
    assert timeline.grab().toImage().pixelColor(3, 3) == dark_strip
    # a plot built after the switch starts in the theme too
    late = _shown(qtbot, QtGanttChart())
    _assert_theme([late.plot], late, chart, opt, dark=True)
