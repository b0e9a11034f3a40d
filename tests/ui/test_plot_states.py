"""Plots before and after their data: a replayed trend on the recording's own time, the
Optimise plots' and the Debrief chart's empty states, and series colours that keep a WCAG
contrast of 3:1 against the plot background in both themes."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from factory_twin.app.controller import Controller
from factory_twin.app.drill_debrief import TraineeHistory
from factory_twin.app.drill_log import DrillLog
from factory_twin.model.config import load_plant
from factory_twin.model.drill_scoring import ActionRecord, InjectionRecord
from factory_twin.model.drills import find_drill
from factory_twin.model.events import TagUpdate
from factory_twin.opcua.historian import HistoryWriter
from factory_twin.sim.live import LiveSimulation
from factory_twin.ui.qt_detail_panel import LIVE_AXIS, REPLAY_AXIS
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_plan_optimise_plots import OptimisePlots
from factory_twin.ui.qt_train_debrief import QtDebriefPanel
from factory_twin.ui.theme import MIN_CONTRAST, apply_theme, contrast_ratio, plot_colour

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "plant_configs" / "demo_fab.yaml"
DAY_S = 86400.0


@pytest.fixture
def themes(qapp) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Leave the application in the dark theme (the default) whatever a test switched to."""
    yield
    apply_theme(qapp, True)


def _record_yesterday(tmp_path: Path, mini_plant_path: Path) -> Path:
    """A 30-minute history of the mini plant recorded a day ago (source times in the past)."""
    spec = load_plant(mini_plant_path).spec
    sim = LiveSimulation(spec, seed=3, tag_period_s=60.0)
    base = time.time() - DAY_S
    path = tmp_path / "yesterday.parquet"
    with HistoryWriter(path) as w:
        batches = [sim.snapshot()] + [sim.advance(60.0) for _ in range(30)]
        for batch in batches:
            w.add(
                dataclasses.replace(e, source_ts=base + e.source_ts)
                for e in batch
                if isinstance(e, TagUpdate)
            )
    return path


def _mini_window(qtbot, tmp_path: Path, mini_plant_path: Path) -> tuple[Controller, MainWindow]:  # type: ignore[no-untyped-def]
    """A shown main window on the mini plant, with its own settings and journal."""
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    w = MainWindow(c, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    c.set_plant(load_plant(mini_plant_path))
    w.show()
    qtbot.waitExposed(w)
    return c, w


def test_replayed_trend_shows_the_recorded_time_and_live_time_after(
    qtbot, tmp_path, mini_plant_path
) -> None:  # type: ignore[no-untyped-def]
    path = _record_yesterday(tmp_path, mini_plant_path)
    c, w = _mini_window(qtbot, tmp_path, mini_plant_path)
    w.start_replay(path, speed=1e6)
    replay = c.replay
    assert replay is not None and replay.end_s - replay.start_s >= 1700
    assert w.find_tool("etch")
    qtbot.waitUntil(lambda: not replay.playing, timeout=10_000)
    qtbot.waitUntil(lambda: w.detail.trend_points("chamber_pressure") > 20, timeout=5000)
    curve = w.detail._curves["chamber_pressure"]
    xs = curve.xData
    assert replay.start_s <= xs.min() and xs.max() <= replay.end_s
    item = w.detail.plot.getPlotItem()
    w.detail.grab()  # auto-range is applied when the plot paints
    lo, hi = item.viewRange()[0]
    span = replay.end_s - replay.start_s
    assert replay.start_s - span <= lo and hi <= replay.end_s + span, (lo, hi)
    assert hi < time.time() - DAY_S / 2, "the axis shows the time of playback"
    assert item.getAxis("bottom").labelText == REPLAY_AXIS

    # the replay ends: live data starts on a fresh state, on live time
    c.stop_replay()
    assert w.detail.state is c.state and w.detail.tool == "ETCH-01"
    assert item.getAxis("bottom").labelText == LIVE_AXIS
    assert w.detail.trend_points("chamber_pressure") == 0
    now = time.time()
    c.state.apply([TagUpdate("ETCH-01", "chamber_pressure", 4.0 + k, now + k) for k in range(3)])
    qtbot.waitUntil(lambda: w.detail.trend_points("chamber_pressure") == 3, timeout=3000)
    w.detail.grab()
    lo, hi = item.viewRange()[0]
    assert now - 60 <= lo and hi <= now + 60, (lo, hi)
    w.close()


def test_optimise_plots_show_a_hint_until_the_first_trial(qtbot) -> None:  # type: ignore[no-untyped-def]
    opt = OptimisePlots()
    qtbot.addWidget(opt)
    opt.resize(640, 260)
    opt.show()
    for plot, hint in ((opt.history, opt.history_hint), (opt.pareto, opt.pareto_hint)):
        item = plot.getPlotItem()
        assert hint in item.items and hint.isVisible()
        assert "Run an optimisation" in hint.textItem.toPlainText()
        assert not item.getAxis("left").isVisible() and not item.getAxis("bottom").isVisible()
    assert opt.is_empty() == (True, True)
    opt.set_objectives(("cycle time", "cost"), (1, 1))
    assert opt.is_empty() == (True, True)
    opt._recolour(False)  # a theme switch redraws: still no axes (a label shows its axis)
    for plot in (opt.history, opt.pareto):
        assert not plot.getPlotItem().getAxis("left").isVisible()
    opt.set_points([(0, (12.0, 2e6), True), (1, (14.0, 1e6), False)])
    assert opt.is_empty() == (False, False)
    for plot, hint in ((opt.history, opt.history_hint), (opt.pareto, opt.pareto_hint)):
        item = plot.getPlotItem()
        assert hint not in item.items
        assert item.getAxis("left").isVisible() and item.getAxis("bottom").isVisible()
    assert opt.counts() == (2, 2)
    opt.grab()
    lo, hi = opt.pareto.getPlotItem().viewRange()[0]
    assert lo <= 12.0 and hi >= 14.0, "the axes do not follow the points"
    # a new study clears the plots: the hints come back
    opt.set_objectives(("cycle time",), (1,))
    assert opt.is_empty() == (True, True)
    assert "one objective" in opt.pareto_hint.textItem.toPlainText()
    opt.set_points([(0, (12.0,), True)])
    assert opt.is_empty() == (False, True), "one objective: no Pareto plot"


def _drill_run() -> tuple[object, object, DrillLog]:
    spec = load_plant(DEMO).spec
    drill = find_drill(spec, "etch_helium_leak")
    log = DrillLog(
        plant=spec.site.name,
        drill_id=drill.id,
        start_plant_s=7200,
        started_at=1_700_000_000.0,
        injections=[InjectionRecord("leak", "tag_drift", "ETCH-02", 60)],
        actions=[ActionRecord("ann", "hold_tool", 230, "ETCH-02")],
        alarms=[],
        trainees=["ann"],
        end_s=900,
    )
    return spec, drill, log


def test_debrief_chart_draws_no_pass_line_before_a_drill(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = QtDebriefPanel(TraineeHistory())
    qtbot.addWidget(panel)
    panel.resize(700, 600)
    panel.show()
    item = panel.chart.getPlotItem()
    assert panel.pass_mark_drawn() is None
    assert not [i for i in item.items if isinstance(i, pg.InfiniteLine)], "a line at 0"
    assert (
        panel.chart_hint.isVisible()
        and "Finish a drill" in panel.chart_hint.textItem.toPlainText()
    )
    spec, drill, log = _drill_run()
    panel.set_run(log, drill, spec)  # type: ignore[arg-type]
    assert panel.chart_points()[0] == [1.0]
    assert panel.pass_mark_drawn() == pytest.approx(drill.pass_mark_pct)  # type: ignore[attr-defined]
    assert drill.pass_mark_pct > 0  # type: ignore[attr-defined]
    assert not panel.chart_hint.isVisible()
    # no trainee shown: no pass line, the hint again
    panel.show_trainee("nobody")
    assert panel.pass_mark_drawn() is None and panel.chart_hint.isVisible()


def _colours_of(opt: OptimisePlots, panel: QtDebriefPanel, w: MainWindow) -> dict[str, QColor]:
    feasible = next(s for s in opt.pareto_points.points() if int(s.data()) == 0)
    infeasible = next(s for s in opt.pareto_points.points() if int(s.data()) == 1)
    trends = w.detail._curves
    out = {
        "feasible point fill": feasible.brush().color(),
        "feasible point edge": feasible.pen().color(),
        "infeasible point edge": infeasible.pen().color(),
        "pareto front": opt.front_line.opts["pen"].color(),
        "best so far": opt.best_line.opts["pen"].color(),
        "chosen ring": opt.marker.opts["pen"].color(),
        "debrief target line": panel.pass_line.pen.color(),
        "debrief scores": panel.curve.opts["pen"].color(),
        "debrief score points": pg.mkBrush(panel.curve.opts["symbolBrush"]).color(),
    }
    for k, (name, curve) in enumerate(trends.items()):
        out[f"trend {k} {name}"] = curve.opts["pen"].color()
    return out


def test_series_colours_contrast_with_the_background_in_both_themes(
    qtbot, qapp, tmp_path, mini_plant_path, themes
) -> None:  # type: ignore[no-untyped-def]
    _c, w = _mini_window(qtbot, tmp_path, mini_plant_path)
    assert w.find_tool("etch")
    w.detail.set_trend_tags(
        [w.detail.tag_list.item(r).text() for r in range(w.detail.tag_list.count())]
    )
    opt = OptimisePlots()
    qtbot.addWidget(opt)
    opt.show()
    opt.set_objectives(("cycle time", "cost"), (1, 1))
    opt.set_points([(0, (12.0, 2e6), True), (1, (14.0, 1e6), False)])
    opt.mark(0)
    panel = QtDebriefPanel(TraineeHistory())
    qtbot.addWidget(panel)
    panel.show()
    spec, drill, log = _drill_run()
    panel.set_run(log, drill, spec)  # type: ignore[arg-type]
    seen: dict[bool, dict[str, str]] = {}
    for dark in (False, True, False):  # built dark, switched to light, back, and light again
        w.set_dark(dark)
        QApplication.processEvents()
        for view in (opt.pareto, panel.chart, w.detail.plot):
            bg = view.backgroundBrush().color()
            assert bg.name() == plot_colour("background", dark)
        bg = plot_colour("background", dark)
        colours = _colours_of(opt, panel, w)
        assert len(colours) > 9  # the etcher has trends too
        low = {
            what: round(contrast_ratio(col, bg), 2)
            for what, col in colours.items()
            if contrast_ratio(col, bg) < MIN_CONTRAST
        }
        assert not low, f"{'dark' if dark else 'light'} theme: {low}"
        seen[dark] = {what: col.name() for what, col in colours.items()}
    # the series follow the switch: the pale dark-theme tints are not kept on white
    assert seen[False]["feasible point fill"] != seen[True]["feasible point fill"]
    assert seen[False]["debrief target line"] != seen[True]["debrief target line"]
    w.close()
