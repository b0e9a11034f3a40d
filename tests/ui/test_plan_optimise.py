"""The Optimise dock: define a study on the open plant, run it, watch the plots, pick a trial.

Runs under Xvfb on the small optimise plant (three groups, one product) with a tiny budget
(10 simulated days, one replication per trial), so a whole study takes seconds.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QSettings, Qt

from factory_twin.app.optimise_job import stored_trials
from factory_twin.app.worker_job import CANCELLED, COMPLETE
from factory_twin.model.study import load_study

REPO = Path(__file__).resolve().parents[2]
PLANT = REPO / "tests" / "data" / "optimise_plant.yaml"


@pytest.fixture
def window(qtbot, tmp_path):
    from factory_twin.app.controller import Controller
    from factory_twin.model.config import load_plant
    from factory_twin.ui.qt_main_window import MainWindow
    from factory_twin.ui.qt_plan_compare_install import install_compare
    from factory_twin.ui.qt_plan_install import install_plan
    from factory_twin.ui.qt_plan_optimise_install import install_optimise

    folder = tmp_path / "plant"
    folder.mkdir()
    plant = folder / "optimise_plant.yaml"
    shutil.copy(PLANT, plant)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    w = MainWindow(c, settings)
    qtbot.addWidget(w)
    install_plan(w)
    install_compare(w)
    install_optimise(w)
    c.set_plant(load_plant(plant))
    w.resize(1600, 1000)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.optimise.shutdown()
    w.compare.shutdown()


def _define(panel, trials: int) -> None:
    """A tiny study: A in 1..3 tools, C in 2..4, cost and cycle time."""
    panel.name_edit.setText("tiny")
    panel.set_group("A", 1, 3)
    panel.set_group("C", 2, 4)
    panel.objective1.setCurrentText("cost")
    panel.objective2.setCurrentText("cycle_time_mean_h")
    panel.trials_spin.setValue(trials)
    panel.reps_spin.setValue(1)
    panel.horizon_spin.setValue(10)
    panel.warmup_spin.setValue(2)
    panel.top_k_spin.setValue(2)
    panel.sel_reps_spin.setValue(2)


def _click(plot, x: float, y: float) -> None:
    """A real left click on the plot at data coordinates (x, y)."""
    from PySide6.QtTest import QTest

    scene_pos = plot.getPlotItem().vb.mapViewToScene(QPointF(x, y))
    pos = plot.mapFromScene(scene_pos)
    QTest.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_study_runs_from_the_dock_plots_fill_and_a_click_opens_the_trial(qtbot, window, tmp_path):  # fmt: skip
    w = window
    panel = w.optimise
    assert w.optimise_action in w.plan_menu.actions()
    assert w.optimise_action.shortcut().toString() == "Ctrl+Shift+O"
    w.optimise_action.trigger()
    assert w.optimise_dock.isVisible()
    assert [r.group for r in panel.rows] == ["A", "B", "C"]
    assert [r.tools for r in panel.rows] == [2, 2, 3]
    _define(panel, trials=6)
    seen: list[int] = []
    panel.bar.valueChanged.connect(seen.append)
    job = panel.start()
    assert job is not None and job.running
    assert not panel.run_button.isEnabled() and panel.cancel_button.isEnabled()
    # the study file beside the plant, valid, and what the form said
    sf = load_study(w.controller.doc.path.parent / "tiny.study.yaml")
    assert [o.kpi for o in sf.spec.objectives] == ["cost", "cycle_time_mean_h"]
    assert sf.spec.budget.trials == 6 and sf.spec.replications == 1
    qtbot.waitUntil(lambda: not job.running, timeout=120_000)
    assert job.state == COMPLETE, job.error
    assert any(0 < v < 1000 for v in seen) and panel.bar.value() == 1000
    recs = stored_trials(sf, job.out_dir)
    complete = [r for r in recs if r.state == "complete"]
    assert len(complete) >= 1
    n_hist, n_pareto = panel.plots.counts()
    assert n_hist == n_pareto == len(complete)
    assert "Best so far: trial" in panel.best_label.text()
    # the verdict is the report (winner or tied list with CIs)
    text = panel.result.toPlainText()
    assert text and text == (job.out_dir / "report.txt").read_text()
    assert panel.report_button.isEnabled()
    assert panel.winner_button.isEnabled() == (panel.winner_file() is not None)
    # a click on a point of the Pareto plot opens that trial on the Plan floor
    target = max(complete, key=lambda r: r.values[0])  # the dearest: tools added, not only cut
    xy = panel.plots.point_position(target.number)
    assert xy is not None
    _click(panel.plots.pareto, *xy)
    qtbot.waitUntil(lambda: panel.chosen_trial == target.number, timeout=5000)
    ws = w.plan
    assert w.tabs.currentWidget() is ws
    assert ws.session is not None and ws.session.scenario is not None
    assert ws.session.scenario.path == panel.chosen_scenario
    groups = ws.session.plant.groups()
    assert len(groups["A"]) == target.params["tools/A"]
    assert len(groups["C"]) == target.params["tools/C"]
    assert f"Trial {target.number}" in panel.trial_label.text()
    # taken into Plan: an ordinary scenario beside the plant, listed and selected in Plan's
    # list and offered by the Compare dock; the status says where it went
    folder = w.controller.doc.path.parent
    taken = folder / f"tiny_trial_{target.number}.scenario.yaml"
    assert panel.chosen_scenario == taken and taken.is_file()
    assert ws.scenarios.current_path() == taken
    assert ws.scenarios.list.currentItem().text() == f"tiny trial {target.number}"
    assert f"saved beside the plant as {taken.name}" in panel.status.text()
    assert _compare_offers(w, taken)
    # the same trial again: the file is reused, not copied
    assert panel.choose_trial(target.number) == taken
    assert "is already beside the plant" in panel.status.text()
    assert sorted(p.name for p in folder.glob("*.scenario.yaml")) == [taken.name]
    # screenshot: the Plan floor with the trial and the dock's plots
    for d in (getattr(w, "alarm_dock", None), getattr(w, "detail_dock", None)):
        if d is not None:
            d.hide()
    w.resizeDocks([w.optimise_dock], [460], Qt.Orientation.Vertical)
    _click(panel.plots.pareto, *xy)
    qtbot.wait(400)
    img = w.grab().toImage()
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    assert arr.std() > 10  # not blank
    shot = tmp_path / "optimise.png"
    assert w.grab().save(str(shot))
    if os.environ.get("FACTORY_TWIN_SCREENSHOTS"):
        shutil.copy(shot, REPO / "docs" / "screenshot_optimise.png")


def test_the_winner_is_taken_into_plan_and_an_unwritable_plant_folder_is_said(qtbot, window, monkeypatch):  # fmt: skip
    from factory_twin.model import config

    w, panel, ws = window, window.optimise, window.plan
    folder = w.controller.doc.path.parent
    w.optimise_action.trigger()
    _define(panel, trials=4)
    panel.objective2.setCurrentText("(none)")  # cost alone, no constraints: a winner
    panel.throughput_on.setChecked(False)
    panel.util_on.setChecked(False)
    job = panel.start()
    assert job is not None
    qtbot.waitUntil(lambda: not job.running, timeout=120_000)
    assert job.state == COMPLETE, job.error
    assert panel.winner_button.isEnabled()
    panel.winner_button.click()
    won = folder / "tiny_winner.scenario.yaml"
    assert ws.session.scenario.path == panel.chosen_scenario == won
    assert ws.scenarios.current_path() == won and _compare_offers(w, won)
    assert ws.scenarios.list.currentItem().text() == "tiny winner"
    assert ws.session.scenario.spec.notes.startswith("the winner of the optimisation study tiny")
    assert "The winner saved beside the plant as tiny_winner.scenario.yaml" in panel.status.text()
    # a plant folder that cannot be written: the study's folder, as before, and said so
    real = config.tempfile.mkstemp

    def refuse(*args, dir=None, **kw):  # root ignores chmod: refuse the plant's folder here
        if Path(dir) == folder:
            raise PermissionError(13, "Permission denied", str(dir))
        return real(*args, dir=dir, **kw)

    monkeypatch.setattr(config.tempfile, "mkstemp", refuse)
    n = next(r.number for r in panel.trials.values() if r.state == "complete")
    path = panel.choose_trial(n)
    assert path == job.out_dir / f"tiny_trial_{n}.scenario.yaml"
    text = panel.status.text()
    assert "not in Plan's scenario list" in text and "cannot be written" in text
    assert ws.session.scenario.path == path  # open in Plan all the same
    assert ws.scenarios.current_path() != path
    assert not (folder / f"tiny_trial_{n}.scenario.yaml").exists()


def _compare_offers(w, path: Path) -> bool:
    """The Compare dock lists the scenario file ``path``."""
    listed = w.compare.experiment.scenario_list
    return str(path) in {str(listed.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(listed.count())}  # fmt: skip


def test_cancel_keeps_finished_trials_and_run_resumes(qtbot, window):
    panel = window.optimise
    window.optimise_action.trigger()
    _define(panel, trials=40)
    job = panel.start()
    assert job is not None
    qtbot.waitUntil(lambda: job.last is not None and job.last.done >= 2, timeout=120_000)
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: not job.running, timeout=30_000)
    assert job.state == CANCELLED
    kept = [r for r in stored_trials(job.study, job.out_dir) if r.state == "complete"]
    assert len(kept) >= 2
    assert len(kept) < 40
    assert panel.run_button.text().startswith("Resume (")
    assert panel.plots.counts()[0] == len(kept)
    # the next run resumes: the kept trials are still there, with the same values
    panel.trials_spin.setValue(len(kept) + 1)
    again = panel.start()
    assert again is not None
    qtbot.waitUntil(lambda: not again.running, timeout=120_000)
    assert again.state == COMPLETE, again.error
    after = {r.number: r for r in stored_trials(again.study, again.out_dir)}
    for r in kept:
        assert after[r.number].state == "complete" and after[r.number].values == r.values


def test_settings_remembered_and_bad_study_named_with_its_line(qtbot, window, tmp_path):
    from factory_twin.ui.qt_plan_optimise import QtOptimisePanel

    panel = window.optimise
    window.optimise_action.trigger()
    _define(panel, trials=17)
    assert panel.save() is not None
    again = QtOptimisePanel(window.optimise.settings)
    qtbot.addWidget(again)
    assert again.trials_spin.value() == 17 and again.name_edit.text() == "tiny"
    assert again.horizon_spin.value() == 10
    # an existing study opens into the form
    again.set_base(window.controller.doc.path)
    assert again.open_study(window.controller.doc.path.parent / "tiny.study.yaml") is not None
    assert again.choices().groups == panel.choices().groups
    # a broken one is refused with file:line, and the good file is left as it was
    bad = window.controller.doc.path.parent / "bad.study.yaml"
    good = (window.controller.doc.path.parent / "tiny.study.yaml").read_text()
    bad.write_text(good.replace("tools: A", "tools: NOPE"))
    assert again.open_study(bad) is None
    assert f"{bad}:" in again.status.text() and "NOPE" in again.status.text()
    panel.set_group("A", 3, 1)  # empty bounds: not saved, the last good file kept
    assert panel.save() is None
    assert "tiny.study.yaml:" in panel.status.text()
    assert (window.controller.doc.path.parent / "tiny.study.yaml").read_text() == good


def test_a_study_another_run_is_using_is_shown_running_and_left_alone(qtbot, window):
    """Was: opening the study failed the other run's running trials (and broke that run)."""
    from _optimise_gate import held_run, trial_states

    panel = window.optimise
    window.optimise_action.trigger()
    _define(panel, trials=6)
    sf = panel.save()
    assert sf is not None
    out = sf.default_out_dir()
    with held_run(sf.path, out):  # a run of the study, its first trial being simulated
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        stored = trial_states(out)
        running = sorted(n for n, st in stored.items() if st == "RUNNING")
        assert len(running) == 2 and "FAIL" not in stored.values()  # one replication a trial
        assert panel.open_study(sf.path) is not None
        assert f"2 trials running: another optimise run is using {out}" in panel.status.text()
        assert sorted(n for n, r in panel.trials.items() if r.state == "running") == running
        assert panel.start() is None  # refused before Save rewrites the study file
        assert f"another optimise run is using {out}" in panel.status.text()
        assert panel.job is None
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
        assert trial_states(out) == stored
