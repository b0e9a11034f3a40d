"""The Done-when of the Train workspace, over real OPC UA on loopback.

A trainer starts "etch helium leak" on the demo fab from the Train workspace; two trainee
app instances (each a main window with its own Controller) join it with *Join drill…* and
take it in the ordinary Monitor and Maintain workspaces: ann passes with full points, bob
fails (a healthy tool held, the alarm acknowledged late). The trainer watches their actions
arrive in the live timeline, injects an extra fault on a tool clicked in the 3-D view,
finishes the drill, and gets a debrief per trainee with the hand-computed score and a
replay with the actions marked on the time slider; each trainee opens *Your debrief…* and
sees their own, during the drill and, refreshed, the trainer's one at the end. Sign-offs made in the drill stay out of
the real maintenance log.

Hand-computed scores (the drill's expected responses: ack with comment 10 within 300 s,
hold ETCH-02 20 within 420 s, open the wet-clean procedure 10 within 600 s, sign off its
three safety steps 20 within 1200 s, call maintenance 10 within 900 s, all after the leak
injected at 60 s; a healthy tool held costs 5):

* ann does all five in time: 10 + 20 + 10 + 20 + 10 = 70 of 70, 100 %, pass;
* bob holds ETCH-01 (healthy: -5) and ETCH-02 in time (20), acknowledges after the 300 s
  limit (0), nothing else: 20 - 5 = 15 of 70, 21 %, fail (pass mark 80 %).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _qt_wait import wait_until
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox

from factory_twin.app.controller import Controller, find_demo_plant
from factory_twin.app.drill_debrief import TraineeHistory
from factory_twin.app.maintenance import MaintenanceLog
from factory_twin.ui import scene_colors
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_maintain_workspace import install_maintain
from factory_twin.ui.qt_train_install import install_train

pytestmark = [pytest.mark.gui, pytest.mark.slow, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
DRILL = "etch_helium_leak"
ALARM = "helium_leak.hi"
PROC = "etch-chamber-wet-clean"


def make_window(tmp: Path, name: str) -> MainWindow:
    """One app instance: its own Controller, settings, maintenance log, Train workspace."""
    d = tmp / name
    d.mkdir()
    settings = QSettings(str(d / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(Controller(journal_path=d / "journal.sqlite", user=name), settings)
    install_maintain(win, MaintenanceLog(d / "maintenance.jsonl"))
    install_train(win, record_dir=d / "drills", history=TraineeHistory(d / "history.sqlite"))
    win.train.options = {"load_companion_specs": False}
    win.trainee.signoff_dir = d / "drill_signoffs"
    win.resize(1500, 900)
    win.show()
    QTest.qWaitForWindowExposed(win)
    win.open_plant(str(find_demo_plant()), connect=False)
    wait_until(lambda: win.controller.doc is not None, 60, f"{name}'s plant to open")
    return win


@pytest.fixture
def windows(qapp, tmp_path, monkeypatch) -> Iterator[dict[str, MainWindow]]:
    # the trainees confirm Hold with Yes, like a user would
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    wins: dict[str, MainWindow] = {}
    try:
        for name in ("trainer", "ann", "bob"):
            wins[name] = make_window(tmp_path, name)
        yield wins
    finally:
        for w in wins.values():
            w.train.undo_stack.clear()  # no Save/Discard/Cancel box about unsaved drill edits
            w.close()
        QApplication.processEvents()


def _ack_in_monitor(win: MainWindow, monkeypatch: Any, comment: str) -> None:
    """Select the helium alarm in the alarm panel and acknowledge it with ``comment``."""
    st = win.controller.state
    wait_until(
        lambda: any(
            r.event.equipment == "ETCH-02" and r.event.code == ALARM for r in st.alarms.values()
        ),
        30,
        f"{win.controller.user} to see the helium alarm",
    )
    aid = next(
        a for a, r in st.alarms.items() if r.event.equipment == "ETCH-02" and r.event.code == ALARM
    )
    win.alarms.refresh()
    assert win.alarms.select_alarm(aid)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: (comment, True))
    assert win.alarms.ack_button.isEnabled()
    win.alarms.ack_button.click()


def _hold_in_monitor(win: MainWindow, tool: str) -> None:
    """Select a tool and press Hold in the tool details (confirmed with Yes)."""
    win.select_tool(tool)
    assert win.detail.tool == tool
    win.detail.hold_button.click()


def _sign_safety_steps(win: MainWindow) -> None:
    """Open the wet-clean procedure from the alarm, sign off its safety steps 1-3."""
    ws = win.maintain
    win.tabs.setCurrentWidget(ws)
    assert ws.open_for_alarm("ETCH-02", ALARM) == PROC
    p = ws.player
    for k in range(3):
        assert p.current == k
        for cb in p.safety_checks:
            cb.click()
        p.start_button.click()
        p.name_edit.setText(win.controller.user)
        if p.value_edit.isVisibleTo(p) and not p.sign_button.isEnabled():
            acc = p.procedure.steps[k].acceptance
            p.value_edit.setText(f"{acc.target if acc.target is not None else acc.max:g}")
        assert p.sign_button.isEnabled(), p.message.text()
        p.sign_button.click()
        assert p.session is not None and p.session.is_signed(k), p.message.text()
    win.tabs.setCurrentWidget(win.monitor)


def _actions(trainer: MainWindow, who: str) -> list[str]:
    return [
        e.text
        for e in trainer.train.live.timeline_entries()
        if e.kind == "action" and e.trainee == who
    ]


def test_trainer_runs_the_helium_leak_for_two_trainees(windows, monkeypatch, tmp_path) -> None:
    trainer, ann, bob = windows["trainer"], windows["ann"], windows["bob"]
    ws = trainer.train
    # the trainer opens the Train workspace (Ctrl+T), picks the drill and reads the briefing
    trainer.tabs.setCurrentIndex(0)
    assert trainer.train_action.shortcut().toString() == "Ctrl+T"
    trainer.train_action.trigger()
    assert trainer.tabs.currentWidget() is ws
    assert ws.choose_drill(DRILL)
    assert "helium" in ws.briefing.toPlainText()
    ws.speed_spin.setValue(1)  # real time while the class joins
    ws.start_button.click()
    wait_until(lambda: ws.desk is not None and ws.desk.running, 90, "the drill server to start")
    url = ws.desk.url
    assert url.startswith("opc.tcp://127.0.0.1:")

    # two trainees join from their own app; the banner shows in every workspace
    for win, name in ((ann, "ann"), (bob, "bob")):
        win.trainee.join(url, name)
    for win in (ann, bob):
        wait_until(lambda w=win: w.controller.drill_mode, 30, "joining")
        wait_until(lambda w=win: w.live_tool_count() > 0, 60, "the drill plant in Monitor")
        for page in (win.monitor, win.maintain, win.train):
            win.tabs.setCurrentWidget(page)
            assert win.trainee.banner.isVisible()
        win.tabs.setCurrentWidget(win.monitor)
        assert "DRILL — simulated plant" in win.trainee.banner.label.text()
    wait_until(lambda: sorted(ws.desk.trainees()) == ["ann", "bob"], 20, "both trainees listed")
    wait_until(lambda: ws.trainee_list.count() == 2, 5, "the trainee list")

    # bob holds the healthy ETCH-01 before anything happened (a wrong action)
    _hold_in_monitor(bob, "ETCH-01")
    wait_until(lambda: any("hold_tool ETCH-01" in t for t in _actions(trainer, "bob")), 20,
               "bob's hold in the trainer's timeline")  # fmt: skip
    assert ws.desk.clock_s < 150
    ws.speed_spin.setValue(30)  # on to the leak
    ws.set_speed_button.click()

    # the leak alarm: the trainer slows the drill down for the class
    wait_until(
        lambda: any(
            e.kind == "alarm" and e.equipment == "ETCH-02" for e in ws.live.timeline_entries()
        ),
        60,
        "the helium alarm in the trainer's timeline",
    )
    ws.set_speed(4)
    wait_until(lambda: ws.desk.speed == 4, 10, "the new speed")
    assert ws.desk.clock_s < 300  # the alarm rises near 220 s: time is left to answer

    # ann answers everything in the Monitor and Maintain workspaces
    _ack_in_monitor(ann, monkeypatch, "He leak climbing on ETCH-02, chuck seal suspected")
    _hold_in_monitor(ann, "ETCH-02")
    _sign_safety_steps(ann)
    ann.select_tool("ETCH-02")
    assert ann.trainee.call_maintenance()
    _hold_in_monitor(bob, "ETCH-02")
    wait_until(
        lambda: [sc.score for sc in ws.desk.scores() if sc.trainee == "ann"] == [70.0],
        30,
        "ann's full score at the trainer",
    )
    # ann opens her debrief from the banner mid-drill: everything answered on time so far
    ann.trainee.banner.debrief_button.click()
    own = ann.trainee.debrief_dialog
    assert own is not None and own.isVisible()
    wait_until(lambda: "70 of 70" in own.verdict.text(), 10, "ann's debrief so far")
    assert "SO FAR" in own.verdict.text() and "so far" in own.heading.text()
    assert [own.responses.item(i, 5).text() for i in range(5)] == ["on time"] * 5
    ann_actions = [
        e for e in ws.live.timeline_entries() if e.trainee == "ann" and e.kind == "action"
    ]
    scored = [e for e in ann_actions if e.points]
    # each answered response shows once, with its points: 10 + 20 + 10 + 20 + 10
    assert len(scored) == 5 and sum(e.points for e in scored) == 70  # type: ignore[misc]
    assert all(e.response_s is not None for e in scored)
    assert all(e.response_s <= e.limit_s for e in scored)  # type: ignore[operator]
    ws.refresh_live()
    assert ws.timeline_table.rowCount() == len(ws.live.timeline_entries())

    # the trainer injects an extra fault on a tool clicked in the 3-D view
    ws.view.fly_to_tool("ETCH-01")
    wait_until(lambda: not ws.view._fly_timer.isActive(), 10, "the camera")
    ws.view.plotter.render()
    pos = ws.view.widget_position_of("ETCH-01")
    iw = ws.view.plotter.interactor
    QTest.mouseClick(iw, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    wait_until(lambda: ws.picked_tool == "ETCH-01", 5, "the tool picked in 3-D")
    ws.inject_bar.fault_box.setCurrentText("breakdown")
    ws.inject_bar.inject_button.click()
    wait_until(
        lambda: any(
            e.kind == "injection" and "ETCH-01" in e.text for e in ws.live.timeline_entries()
        ),
        20,
        "the ad-hoc fault in the timeline",
    )

    _screenshots(trainer, bob, tmp_path)

    # bob acknowledges after the 300 s limit (the trainer speeds the drill up to get there)
    ws.set_speed(120)
    wait_until(lambda: ws.desk.clock_s > 365, 30, "the ack limit to pass")
    _ack_in_monitor(bob, monkeypatch, "helium alarm seen")
    wait_until(lambda: any("acknowledge_alarm" in t for t in _actions(trainer, "bob")), 20,
               "bob's late acknowledgement")  # fmt: skip
    ws.finish_button.click()
    wait_until(lambda: ws.debrief.log is not None, 30, "the debrief")

    _check_debrief(ws, tmp_path)
    # each trainee sees the result in their own app
    for win, text in ((ann, "your score 70 of 70 (PASS)"), (bob, "your score 15 of 70 (FAIL)")):
        wait_until(
            lambda w=win, x=text: (w.trainee.banner.refresh(), x in w.trainee.banner.label.text())[
                1
            ],
            10,
            text,
        )
    _check_own_debriefs(ws, ann, bob, tmp_path)
    _check_replay(trainer)

    # the trainees' sign-offs went to the drill log only, not the real maintenance log
    assert not ann.maintain.log.signoffs()
    assert len(ann.maintain.player.log.signoffs()) == 3
    # after leaving the drill ann can still read her debrief
    ann.trainee.leave()
    own = ann.trainee.debrief_dialog
    assert own is not None
    wait_until(lambda: "you left the drill" in own.heading.text(), 10, "the heading")
    assert ann.trainee.debrief_action.isEnabled() and "PASS" in own.verdict.text()


def _check_debrief(ws: Any, tmp_path: Path) -> None:
    # the debrief: hand-computed scores, pass and fail
    sc = ws.debrief.scores
    assert sc["ann"].score == 70 and sc["ann"].max_points == 70 and sc["ann"].passed
    assert not sc["ann"].wrong
    assert sc["bob"].score == 15 and sc["bob"].max_points == 70 and not sc["bob"].passed
    assert [w.equipment for w in sc["bob"].wrong] == ["ETCH-01"]
    ack = next(r for r in sc["bob"].rows if r.action == "acknowledge_alarm")
    assert ack.status == "late" and ack.points == 0
    ws.debrief.trainee_box.setCurrentText("bob")
    assert "FAIL" in ws.debrief.verdict.text() and "15 of 70" in ws.debrief.verdict.text()
    ws.debrief.trainee_box.setCurrentText("ann")
    assert "PASS" in ws.debrief.verdict.text()
    assert ws.debrief.responses.rowCount() == 5
    assert ws.debrief.chart_points() == ([1.0], [100.0])
    html_out = ws.debrief.export("html", tmp_path / "debrief.html")
    pdf_out = ws.debrief.export("pdf", tmp_path / "debrief.pdf")
    assert "ann" in html_out.read_text() and pdf_out.read_bytes().startswith(b"%PDF")
    ws.side.setCurrentWidget(ws.debrief)
    QTest.qWait(100)
    shot = _grab(ws.debrief)
    assert shot.std() > 10
    assert ws.debrief.grab().save(str(tmp_path / "debrief.png"))
    ws.debrief.history.export_csv(tmp_path / "history.csv")
    assert (tmp_path / "history.csv").read_text().count("\n") == 3  # header + two trainees


def _cells(table: Any) -> list[list[str]]:
    return [
        [table.item(i, j).text() for j in range(table.columnCount())]
        for i in range(table.rowCount())
    ]


def _check_own_debriefs(ws: Any, ann: MainWindow, bob: MainWindow, tmp_path: Path) -> None:
    """ann's open debrief refreshes to the final one, bob opens his from the Train menu:
    each shows exactly what the trainer's Debrief tab shows for them, and only that."""
    for win, name in ((ann, "ann"), (bob, "bob")):
        if win is bob:
            assert bob.trainee.debrief_action in bob.train_menu.actions()
            assert bob.trainee.debrief_action.isEnabled()
            bob.trainee.debrief_action.trigger()
        own = win.trainee.debrief_dialog
        assert own is not None and own.isVisible()
        ws.debrief.trainee_box.setCurrentText(name)
        wait_until(
            lambda o=own: o.verdict.text() == ws.debrief.verdict.text(), 10, f"{name}'s final"
        )
        assert "final" in own.heading.text() and name in own.heading.text()
        assert _cells(own.responses) == _cells(ws.debrief.responses)
        assert _cells(own.timeline) == _cells(ws.debrief.timeline)
    assert "15 of 70" in bob.trainee.debrief_dialog.verdict.text()  # type: ignore[union-attr]
    own = ann.trainee.debrief_dialog
    assert own is not None
    assert own.grab().save(str(tmp_path / "own_debrief.png"))


def _check_replay(trainer: MainWindow) -> None:
    ws = trainer.train
    # the replay of the recorded drill in the 3-D view, the actions marked on the slider
    ws.debrief.trainee_box.setCurrentText("ann")
    assert ws.debrief.replay_button.isEnabled()
    ws.debrief.replay_button.click()
    assert trainer.tabs.currentWidget() is trainer.monitor
    bar = trainer.monitor.replay_bar
    assert trainer.controller.replay is not None and bar.isVisible()
    log = ws.debrief.log
    assert log is not None
    ann_n = sum(1 for a in log.actions if a.trainee == "ann")
    assert len(bar.markers) == len(log.injections) + ann_n
    xs = bar.marker_x()
    assert len(set(xs)) > 2 and all(0 <= x <= bar.mark_strip.width() for x in xs)
    # seeking back (the state is rebuilt) keeps the marks; another history drops them
    trainer.controller.seek_replay(trainer.controller.replay.start_s)
    QTest.qWait(300)
    assert len(bar.markers) == len(log.injections) + ann_n
    trainer.start_replay(ws.debrief.history_file())
    assert bar.markers == []


def _grab(w: Any) -> np.ndarray:
    img = w.grab().toImage().convertToFormat(w.grab().toImage().Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3)


def _screenshots(trainer: MainWindow, trainee: MainWindow, tmp_path: Path) -> None:
    """The trainer's workspace mid-drill and a trainee's window: not blank, 3-D not black."""
    ws = trainer.train
    trainer.tabs.setCurrentWidget(ws)
    ws.side.setCurrentIndex(0)
    ws.refresh_live()
    # the trainer's 3-D view shows the drill's plant live: every tool has a state
    wait_until(
        lambda: (ws.view.scene.tool_codes < scene_colors.UNKNOWN_CODE).all(),
        30,
        "the tools coloured",
    )
    ws.view.fly_to_bay(trainer.controller.spec.tool("ETCH-02").bay)  # where the drill happens
    wait_until(lambda: not ws.view._fly_timer.isActive(), 10, "the camera")
    ws.view.plotter.render()
    QTest.qWait(200)
    view = ws.view.screenshot()
    assert view.std() > 10 and (view.reshape(-1, view.shape[-1])[:, :3].mean(1) > 40).mean() > 0.05
    img = _grab(trainer)
    assert img.std() > 10
    assert trainer.grab().save(str(tmp_path / "train.png"))
    if os.environ.get("FACTORY_TWIN_SCREENSHOTS"):
        trainer.grab().save(str(REPO / "docs" / "screenshot_train.png"))
    # the trainee's banner is drawn: a band of its dark red across the top
    banner = _grab(trainee.trainee.banner)
    red = (banner[..., 0] > 110) & (banner[..., 1] < 60) & (banner[..., 2] < 60)
    assert red.mean() > 0.3
    assert trainee.grab().save(str(tmp_path / "trainee.png"))
