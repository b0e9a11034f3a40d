"""Scenario colours of the comparison: Tableau 10, one version per theme, each readable on
that theme's plot background (WCAG contrast computed here), and the charts, the heat map's
views and its scale redrawn in the other theme's colours on a switch (``MainWindow.set_dark``).

A tiny experiment (the demo fab and its fourth-scanner scenario, 2 replications of 4 days,
one process; lots of both products finish) runs in-process once for the module.
"""

from __future__ import annotations

import colorsys
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from factory_twin.app import experiment
from factory_twin.app.controller import Controller
from factory_twin.app.experiment_charts import COLOURS, SCENARIO_COLOURS, TABLEAU_10
from factory_twin.app.experiment_job import ExperimentChoices, experiment_path, write_experiment
from factory_twin.model.colours import contrast as wcag_contrast
from factory_twin.model.config import load_plant
from factory_twin.model.events import E10_COLOURS
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_plan_compare_install import install_compare
from factory_twin.ui.qt_plan_install import install_plan
from factory_twin.ui.qt_scene_view import QtSceneView
from factory_twin.ui.theme import PLOT_COLOURS, apply_theme, scenario_colour

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[2]
FILES = ["demo_fab.yaml", "demo_fab_fourth_scanner.scenario.yaml"]


def _hue(c: str) -> float:
    h = c.lstrip("#")
    return colorsys.rgb_to_hls(*(int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)))[0]


@pytest.mark.parametrize("dark", [True, False])
def test_scenario_colours_are_tableau_10_readable_on_their_background(dark: bool) -> None:
    bg = PLOT_COLOURS[dark]["background"]
    colours = SCENARIO_COLOURS[dark]
    assert len(colours) == len(TABLEAU_10) == len(set(colours)) == 10
    assert wcag_contrast("#000000", "#ffffff") == pytest.approx(21.0)
    for c, t in zip(colours, TABLEAU_10, strict=True):
        assert wcag_contrast(c, bg) >= 3.0, (c, bg)
        # a Tableau colour, or one made lighter or darker keeping its hue
        assert c == t or abs(_hue(c) - _hue(t)) < 0.02, (c, t)
    # the pale Tableau colours do fail on white, the dark ones on the dark background
    assert min(wcag_contrast(t, bg) for t in TABLEAU_10) < 3.0
    assert [scenario_colour(i, dark) for i in range(12)] == [*colours, *colours[:2]]
    assert list(SCENARIO_COLOURS[False]) == COLOURS  # the reports' charts, on white


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny experiment's result folder (the plant files beside it)."""
    folder = tmp_path_factory.mktemp("colours")
    for f in FILES:
        shutil.copy(REPO / "plant_configs" / f, folder / f)
    plant, scen = folder / FILES[0], folder / FILES[1]
    choices = ExperimentChoices(
        scenarios=(plant, scen), horizon_days=4.0, warmup_days=0.5, replications=2, seed=5,
        processes=1, name="colours",
    )  # fmt: skip
    exp = write_experiment(choices, experiment_path(plant, "colours"))
    out = folder / "colours.results"
    experiment.run(exp.path, out, processes=1)
    return out


@pytest.fixture
def win(qtbot, tmp_path: Path, result: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    w = MainWindow(c, settings)
    ws = install_plan(w)
    install_compare(w)

    def forget(_w: MainWindow) -> None:
        if ws.session is not None:
            ws.session.dirty = False  # closing must not ask Save/Discard/Cancel

    qtbot.addWidget(w, before_close_func=forget)
    c.set_plant(load_plant(result.parent / FILES[0]))
    w.resize(1500, 950)
    w.show()
    qtbot.waitExposed(w)
    try:
        yield w
    finally:
        qtbot.wait(50)  # queued camera resets run before the views close
        apply_theme(QApplication.instance(), True)  # type: ignore[arg-type]


def _series(win: MainWindow) -> list:  # type: ignore[type-arg]
    ch = win.compare.charts
    return [ch.throughput, ch.wip, ch.ecdf, ch.utilisation, ch.queue]


def _assert_colours(win: MainWindow, dark: bool) -> None:
    want = {i: SCENARIO_COLOURS[dark][i] for i in (0, 1)}
    bg = PLOT_COLOURS[dark]["background"]
    for chart in _series(win):
        assert chart.scenario_colours() == want, (chart.title, dark)
        assert chart.plot.backgroundBrush().color().name() == bg
        for i, c in chart.scenario_colours().items():
            assert wcag_contrast(c, chart.plot.backgroundBrush().color().name()) >= 3.0, (i, c)
        # the legend's samples draw the same items
        legend = [
            (pg.mkPen(s.item.opts["pen"]).color().name()
             if isinstance(s.item, pg.PlotDataItem)
             else pg.mkBrush(s.item.opts["brush"]).color().name())
            for s, _label in chart.legend.items
        ]  # fmt: skip
        assert legend == [want[0], want[1]], chart.title


def _background(view: QtSceneView) -> float:
    return float(np.mean(view.plotter.renderer.GetBackground()))


def test_the_charts_and_the_heat_map_switch_palette_with_the_theme(qtbot, win: MainWindow):  # type: ignore[no-untyped-def]
    panel = win.compare
    win.compare_action.trigger()
    assert panel.open_folder(_result_of(win)) is not None
    _assert_colours(win, dark=True)
    panel.tabs.setCurrentWidget(panel.heat_tab)
    assert panel.show_heat() > 40 and panel.view is not None and panel.heat is not None
    assert _background(panel.view) < 0.2
    win.set_dark(False)
    QApplication.processEvents()
    _assert_colours(win, dark=False)
    assert _background(panel.view) > 0.8
    assert panel.heat.bar is not None  # its scale's text dark on the light background
    assert max(panel.heat.bar.GetLabelTextProperty().GetColor()) < 0.3
    # a chooser's redraw (another tool group) draws in the light theme's colours too
    q = win.compare.charts.queue
    q.chooser.setCurrentIndex(min(1, q.chooser.count() - 1))
    assert q.scenario_colours() == {i: SCENARIO_COLOURS[False][i] for i in (0, 1)}
    win.set_dark(True)
    QApplication.processEvents()
    _assert_colours(win, dark=True)
    assert _background(panel.view) < 0.2
    assert min(panel.heat.bar.GetLabelTextProperty().GetColor()) > 0.8


def _result_of(win: MainWindow) -> Path:
    plant = Path(win.controller.doc.path)  # type: ignore[union-attr]
    return plant.parent / "colours.results"


def test_the_heat_map_on_the_plan_view_keeps_the_light_theme(qtbot, win: MainWindow):  # type: ignore[no-untyped-def]
    ws, panel = win.plan, win.compare
    win.set_dark(False)
    win.plan_action.trigger()
    qtbot.waitUntil(lambda: ws.session is not None and ws.overlay is not None)
    assert _background(ws.view) > 0.8
    assert panel.open_folder(_result_of(win)) is not None
    win.plan_heat_action.trigger()
    assert ws.heat_shown and panel.view is ws.view
    assert _background(ws.view) > 0.8  # the comparison's floor, in the window's theme
    win.set_dark(True)  # while the heat map is shown
    QApplication.processEvents()
    assert _background(ws.view) < 0.2
    ws.escape()
    assert not ws.heat_shown and _background(ws.view) < 0.2


def test_the_cycle_time_ecdf_is_drawn_as_a_staircase(qtbot, win: MainWindow):  # type: ignore[no-untyped-def]
    panel = win.compare
    assert panel.open_folder(_result_of(win)) is not None
    chart = panel.charts.ecdf
    lines = [it for it in chart.plot.getPlotItem().items if isinstance(it, pg.PlotDataItem)]
    assert len(lines) == 2
    for line, (name, d) in zip(lines, chart.data.groupby("scenario", sort=False), strict=True):
        x, y = line.getData()
        pts = d.sort_values("cycle_time_h")
        # from 0 up to 1, rising only at a lot's cycle time, flat between
        assert y[0] == 0.0 and y[-1] == pytest.approx(1.0), name
        assert (np.diff(y) >= 0).all() and (np.diff(x) >= 0).all()
        moves = np.flatnonzero((np.diff(x) != 0) & (np.diff(y) != 0))
        assert len(moves) == 0, "a diagonal segment"
        assert sorted(set(x)) == sorted(set(pts["cycle_time_h"]))
        assert len(x) == 2 * len(pts)


def test_e10_segments_stand_out_from_the_light_background(qtbot, win: MainWindow):  # type: ignore[no-untyped-def]
    """E10 hues are a convention: kept, but on the light theme each state's segments get a
    thin darker outline of the same hue, at least 3:1 against white (standby's yellow is
    1.7:1); none on the dark theme. The bar items' pens are read back after each switch."""
    from factory_twin.ui.qt_plan_compare_charts import E10_STATE

    panel = win.compare
    win.compare_action.trigger()
    assert panel.open_folder(_result_of(win)) is not None
    chart = win.compare.charts.states
    assert wcag_contrast(E10_COLOURS["standby"], "#ffffff") < 2.0  # why the outline is there
    for dark in (False, True, False):
        win.set_dark(dark)
        QApplication.processEvents()
        bg = chart.plot.backgroundBrush().color().name()
        bars = [it for it in chart.plot.getPlotItem().items if hasattr(it, E10_STATE)]
        assert [getattr(b, E10_STATE) for b in bars] == list(E10_COLOURS)
        for b in bars:
            state = getattr(b, E10_STATE)
            fill = pg.mkBrush(b.opts["brush"]).color().name()
            assert fill == E10_COLOURS[state]  # the hue is kept
            pen = pg.mkPen(b.opts["pen"])
            if dark:
                assert pen.style() == pg.QtCore.Qt.PenStyle.NoPen
                continue
            assert pen.style() != pg.QtCore.Qt.PenStyle.NoPen and pen.widthF() <= 1.5
            edge = pen.color().name()
            assert wcag_contrast(edge, bg) >= 3.0, (state, edge)
            assert abs(_hue(edge) - _hue(fill)) < 0.03 or edge == fill, state  # same hue


def test_the_report_e10_chart_outlines_its_segments(result: Path) -> None:
    """The report's E10 chart (matplotlib, on a white page): each segment's edge is a darker
    shade of its fill, at least 3:1 against white; the fills keep the E10 hues."""
    from matplotlib.axes import Axes
    from matplotlib.colors import to_hex

    from factory_twin.app import experiment_charts
    from factory_twin.app.experiment import load_result

    drawn: list[tuple[str, str]] = []
    real_bar = Axes.bar

    def bar(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        out = real_bar(self, *args, **kwargs)
        drawn.extend((to_hex(p.get_facecolor()), to_hex(p.get_edgecolor())) for p in out.patches)
        return out

    res = load_result(result)
    mp = pytest.MonkeyPatch()
    mp.setattr(Axes, "bar", bar)
    try:
        png = experiment_charts.e10_chart(res, experiment_charts.top_groups(res))
    finally:
        mp.undo()
    assert png.startswith(b"\x89PNG") and drawn
    fills = {f for f, _e in drawn}
    assert to_hex(E10_COLOURS["standby"]) in fills
    for fill, edge in drawn:
        assert wcag_contrast(edge, "#ffffff") >= 3.0, (fill, edge)
        assert abs(_hue(edge) - _hue(fill)) < 0.03 or edge == fill


def test_every_e10_state_has_one_colour_in_the_window_and_the_reports() -> None:
    """The 3-D tools and legend (scene_colors) and the charts share model.events.E10_COLOURS:
    the HTML report once drew engineering purple and scheduled down blue."""
    from factory_twin.model.events import E10State
    from factory_twin.ui.scene_colors import STATE_COLORS

    assert list(E10_COLOURS) == [st.value for st in E10State]
    assert [STATE_COLORS[st.code] for st in E10State] == list(E10_COLOURS.values())
