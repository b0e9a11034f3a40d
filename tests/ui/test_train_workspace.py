"""The Train workspace without a class: the guard, drill authoring with undo, a test run.

* Joining (trainee) or following (trainer) an endpoint that is not our simulator in drill
  mode is refused with the guard's reason, shown to the user; the app stays out of drill mode.
* Authoring: on a copy of the demo fab, a tool clicked in the 3-D view gets a new injection
  and expected response; a wrong edit is refused naming what; undo and redo walk the edits
  back and forth; the briefing edit is undoable; saving writes the file atomically (a .bak
  of the old one) with its comments, and the file read back has the drill as edited.
* *Test run* serves the edited drill and the trainer follows it (the injection added
  fires on the plant).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _qt_wait import wait_until
from _train_window import train_window
from asyncua import Server
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from factory_twin.app.controller import find_demo_plant
from factory_twin.model.config import load_plant
from factory_twin.opcua.loop import AsyncioThread
from factory_twin.ui.qt_main_window import MainWindow

pytestmark = [pytest.mark.gui, pytest.mark.timeout(180)]

COMMENT = "# the trainers keep this comment"


@pytest.fixture
def plant(tmp_path: Path) -> Path:
    p = tmp_path / "fab.yaml"
    shutil.copy(find_demo_plant(), p)
    text = p.read_text()
    p.write_text(text.replace("drills:\n", f"drills:\n  {COMMENT}\n", 1))
    return p


@pytest.fixture
def win(qapp, tmp_path: Path, plant: Path) -> Iterator[MainWindow]:
    with train_window(tmp_path, plant) as w:
        yield w


@pytest.fixture
def foreign_server() -> Iterator[str]:
    """A plain OPC UA server on loopback: not ours, not in drill mode."""
    loop = AsyncioThread(name="foreign-server")
    loop.start()
    import socket

    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    url = f"opc.tcp://127.0.0.1:{port}/other/"
    server = Server()

    async def up() -> None:
        await server.init()
        server.set_endpoint(url)
        await server.start()

    loop.run(up(), timeout=30)
    try:
        yield url
    finally:
        loop.run(server.stop(), timeout=30)
        loop.stop()


def test_the_guard_refuses_a_non_drill_endpoint(win: MainWindow, foreign_server: str) -> None:
    win.trainee.join(foreign_server, "ann")
    wait_until(lambda: win.trainee.last_error, 30, "the refusal")
    why = win.trainee.last_error
    assert "refusing to take a drill" in why and "not the factory_twin plant simulator" in why
    assert "live plant" in why
    box = win.last_error_box
    assert box.windowTitle() == "Cannot join the drill" and box.text() == why
    box.close()
    assert not win.controller.drill_mode and not win.trainee.banner.isVisible()
    assert win.controller.drill is None
    # the trainer's Connect is refused the same way
    ws = win.train
    assert ws.connect_to(foreign_server)
    wait_until(lambda: "cannot connect to the drill server" in ws.message, 30, "the refusal")
    assert "not the factory_twin plant simulator" in ws.message
    assert ws.desk is None
    # no name, no plant: said, not tried
    win.trainee.join(foreign_server, "")
    assert "your name" in win.trainee.last_error


def test_authoring_round_trip_with_undo_and_a_test_run(win: MainWindow, plant: Path) -> None:
    ws = win.train
    win.train_action.trigger()
    ws.side.setCurrentWidget(ws.author)
    author = ws.author
    assert ws.choose_drill("etch_helium_leak")
    drill0 = author.drill()
    assert drill0 is not None and author.injections.rowCount() == 2
    assert author.responses.rowCount() == 5
    # pick ETCH-01 with a real click in the 3-D view
    ws.view.fly_to_tool("ETCH-01")
    wait_until(lambda: not ws.view._fly_timer.isActive(), 10, "the camera")
    ws.view.plotter.render()
    pos = ws.view.widget_position_of("ETCH-01")
    QTest.mouseClick(
        ws.view.plotter.interactor, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos
    )
    wait_until(lambda: author.tool == "ETCH-01", 5, "the picked tool")
    # an alarm on the picked tool at 30 s, from the form
    author.fault_box.setCurrentText("alarm")
    author.at_spin.setValue(30)
    author.tag_edit.setText("chamber_pressure")
    author.value_spin.setValue(2000)
    author.duration_spin.setValue(600)
    author.add_inj_button.click()
    assert author.problems.text() == "", author.problems.text()
    d = author.drill()
    assert [i.at_s for i in d.injections] == [30, 60, 360]  # kept in time order
    new = d.injections[0]
    assert (new.fault, new.equipment, new.tag, new.value) == (
        "alarm",
        "ETCH-01",
        "chamber_pressure",
        2000,
    )
    assert new.id == "inj3"
    # its expected response: acknowledge within 120 s after it
    author.action_box.setCurrentText("acknowledge_alarm")
    author.target_edit.setText("chamber_pressure.hi")
    author.within_spin.setValue(120)
    author.points_spin.setValue(5)
    author.after_box.setCurrentText("inj3")
    author.add_resp_button.click()
    assert author.responses.rowCount() == 6
    assert author.timeline.spans()[-1] == ("acknowledge_alarm ETCH-01", 30.0, 150.0)
    # a click on a lane of the timeline selects its row
    tl = author.timeline
    QTest.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(tl.width() // 2, tl.lane_y(8)))
    assert [i.row() for i in author.responses.selectionModel().selectedRows()] == [5]
    QTest.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(tl.width() // 2, tl.lane_y(1)))
    assert [i.row() for i in author.injections.selectionModel().selectedRows()] == [1]
    _not_blank(author, plant.parent / "author.png")
    # a wrong edit is refused, saying what
    author.fault_box.setCurrentText("tag_drift")
    author.tag_edit.setText("no_such_tag")
    author.add_inj_button.click()
    assert "no_such_tag" in author.problems.text() and "injections" in author.problems.text()
    assert len(author.drill().injections) == 3
    # a time edited in place in the table (undoable); a wrong value refused, naming it
    author.injections.item(0, 0).setText("45")
    assert author.drill().injections[0].at_s == 45
    author.responses.item(5, 1).setText("-3")
    assert "within_s" in author.problems.text() and author.drill().expected[5].within_s == 120
    assert author.responses.item(5, 1).text() == "120"
    ws.undo_stack.undo()
    assert author.drill().injections[0].at_s == 30
    # removing an injection a response points at is refused
    assert not author.remove_injection(0)
    assert "after" in author.problems.text()
    # briefing edited in the set-up, undoable
    ws.briefing.setPlainText("Short briefing for the test.")
    assert ws.apply_briefing()
    assert author.drill().briefing == "Short briefing for the test."
    assert ws.undo_stack.count() == 3
    ws.undo_stack.undo()
    assert author.drill().briefing == drill0.briefing
    assert ws.briefing.toPlainText() == drill0.briefing
    ws.undo_stack.undo()
    ws.undo_stack.undo()
    assert author.drill() == drill0
    assert author.injections.rowCount() == 2
    ws.undo_stack.redo()
    ws.undo_stack.redo()
    assert len(author.drill().injections) == 3 and len(author.drill().expected) == 6
    assert author.has_unsaved_edits()
    # save: atomic, the old file kept as .bak, comments kept; read back as edited
    author.save_button.click()
    assert "Saved" in author.problems.text()
    assert not author.has_unsaved_edits()
    text = plant.read_text()
    assert COMMENT in text
    assert plant.with_suffix(".yaml.bak").exists() or plant.with_name("fab.yaml.bak").exists()
    back = next(d for d in load_plant(plant).spec.drills if d.id == "etch_helium_leak")
    assert back == author.drill()
    _test_run_alone(ws)


def test_closing_with_unsaved_drill_edits_asks_before_anything_stops(
    win: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = win.train
    assert ws.choose_drill("oht_jam")
    before = ws.drill().briefing
    assert ws.author.set_briefing("Edited, not saved.")
    asked: list[str] = []
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Discard]

    def question(_parent, title, text, *_a):
        assert title == "Unsaved drill edits"
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    assert not win.close()  # Cancel: the window, the edit and the 3-D view stay
    assert len(asked) == 1 and "1 unsaved drill edit" in asked[0]
    assert win.isVisible() and ws.author.has_unsaved_edits()
    assert ws.drill().briefing == "Edited, not saved."
    assert ws.view.scene is not None and ws.timer.isActive()
    assert win.close()  # Discard: the edit is undone, the window closes
    assert len(asked) == 2 and not win.isVisible()
    assert ws.drill().briefing == before and not ws.author.has_unsaved_edits()


def test_a_broken_drill_log_is_refused_with_its_name(win: MainWindow, tmp_path: Path) -> None:
    bad = tmp_path / "x.drill.json"
    bad.write_text("{not json")
    ws = win.train
    assert not ws.debrief.open_log(bad, win.controller.spec)
    assert "x.drill.json" in ws.debrief.message


def test_every_fault_kind_injected_ad_hoc_and_a_trainee_joins_and_leaves(
    win: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from factory_twin.ui.qt_train_author import FAULTS

    ws = win.train
    assert ws.choose_drill("oht_jam")
    ws.start_drill(speed=20)
    wait_until(lambda: ws.desk is not None and ws.desk.running, 60, "the drill server")
    ws.pick_tool("ETCH-01")
    # pause stops the drill clock, resume runs it again
    ws.pause_button.click()
    wait_until(lambda: ws.desk.state == "paused", 10, "paused")
    ws.tick()
    assert ws.pause_button.text() == "Resume"
    t0 = ws.desk.clock_s
    QTest.qWait(600)
    assert ws.desk.clock_s == t0
    ws.pause_button.click()
    wait_until(lambda: ws.desk.state == "running" and ws.desk.clock_s > t0, 10, "running")
    assert win.settings.value("train/drill") == "oht_jam"
    assert win.settings.value("train/url") == ws.desk.url
    server = ws.desk.server
    assert server is not None

    def adhoc() -> list:
        return [i for i in server.injections if i.injection_id.startswith("adhoc")]

    for k, fault in enumerate(FAULTS):
        ws.inject_bar.fault_box.setCurrentText(fault)
        if fault in ("tag_drift", "tag_stuck", "alarm"):
            ws.inject_bar.tag_box.setCurrentText("chamber_pressure")
            ws.inject_bar.value_spin.setValue(2000)
        elif fault in ("interlock", "hot_lot"):
            assert (
                ws.inject_bar.tag_label.text() in ("Procedure:", "Product:")
                and ws.inject_bar.tag_box.count() > 0
            )
            ws.inject_bar.tag_box.setCurrentText("")
        ws.inject_bar.inject_button.click()
        wait_until(lambda k=k: len(adhoc()) > k, 20, f"the ad-hoc {fault}")
        assert adhoc()[-1].fault == fault, k
    wait_until(
        lambda: (
            {e.text.split(" ", 1)[0] for e in ws.live.timeline_entries() if e.kind == "injection"}
            >= set(FAULTS)
        ),
        10,
        "every kind in the timeline",
    )
    # a wrong one is refused with the server's reason
    ws.inject_bar.fault_box.setCurrentText("tag_stuck")
    ws.inject_bar.tag_box.setCurrentText("no_such_tag")
    ws.inject_bar.inject_button.click()
    wait_until(lambda: "no_such_tag" in ws.message, 10, "the refusal with its reason")
    assert "Inject refused" in ws.message

    # a plant without the drill served is refused, saying so
    spec = win.controller.spec
    k_drill = next(i for i, d in enumerate(spec.drills) if d.id == "oht_jam")
    drill = spec.drills.pop(k_drill)
    try:
        win.trainee.join(ws.desk.url, "ann")
        wait_until(lambda: "does not have" in win.trainee.last_error, 30, "the refusal")
        assert "'oht_jam'" in win.trainee.last_error
        assert not win.controller.drill_mode
    finally:
        spec.drills.insert(k_drill, drill)
    win.last_error_box.close()

    # the same window joins the drill as a trainee, then leaves; a procedure run started on
    # the real log before joining is not continued in the drill
    before = win.controller.settings
    real_log = win.maintain.player.log
    assert win.maintain.open_procedure("ETCH-01", "etch-chamber-wet-clean")
    for cb in win.maintain.player.safety_checks:
        cb.click()
    assert win.maintain.player.session is not None  # logged on the real log
    real_run = win.maintain.player.session
    win.trainee.join(ws.desk.url, "ann")
    wait_until(lambda: win.alarms.reacknowledge, 30, "joining")
    assert win.controller.drill_mode
    win.trainee.banner.refresh()
    assert win.trainee.banner.isVisible() and "trainee ann" in win.trainee.banner.label.text()
    assert win.alarms.reacknowledge and win.maintain.player.log is not real_log
    assert win.maintain.player.session is None or win.maintain.player.session is not real_run
    assert win.maintain.player.procedure is not None  # still shown, on the drill log
    wait_until(lambda: "ann" in ws.desk.trainees(), 10, "ann listed")
    assert win.trainee.prioritise_lot(adhoc()[-2].lot)  # the hot lot
    # resuming the interlocked ETCH-01 from the tool details is refused, and the trainee is
    # told why
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    win.select_tool("ETCH-01")
    win.detail.resume_button.click()
    wait_until(lambda: "interlocked" in win.trainee.last_refusal, 20, "the reason")
    assert "ETCH-01" in win.trainee.last_refusal
    wait_until(lambda: any(a.action == "prioritise_lot" for a in server.actions), 10, "the call")
    win.trainee.leave()
    assert not win.controller.drill_mode and not win.trainee.banner.isVisible()
    assert win.controller.settings is before and not win.alarms.reacknowledge
    assert win.maintain.player.log is real_log
    ws.stop_drill()


def test_following_a_drill_server_already_running(win: MainWindow, tmp_path: Path) -> None:
    """The trainer connects to `serve --drill`-style server: timeline from the drill events,
    scores from ScoresJson; the recorded drill log opens in the Debrief tab."""
    from factory_twin.app.drill_session import DrillSession, start_drill_server

    ws = win.train
    spec = win.controller.spec
    server = start_drill_server(
        spec, "oht_jam", speed=30, record_dir=tmp_path, load_companion_specs=False
    )
    cy = DrillSession(server.endpoint_url, "cy")
    try:
        ws.url_edit.setText(server.endpoint_url)
        ws.connect_button.click()
        wait_until(lambda: "following drill oht_jam" in ws.message, 30, "following")
        assert ws.drill_id() == "oht_jam" and ws.desk.running and ws.desk.server is None
        assert cy.join().result(30) == "cy"
        cy.call_maintenance("OHT", "vehicle stopped on the loop").result(30)
        wait_until(lambda: [s.trainee for s in ws.desk.scores()] == ["cy"], 20, "cy's score")
        wait_until(
            lambda: any(
                e.kind == "action" and "dispatch_maintenance" in e.text
                for e in ws.live.timeline_entries()
            ),
            20,
            "cy's action in the timeline",
        )
        assert ws.inject_bar.inject(
            fault="alarm", equipment="ETCH-01", tag="chamber_pressure", value=2000
        )
        wait_until(
            lambda: any(
                e.kind == "alarm" and e.equipment == "ETCH-01" for e in ws.live.timeline_entries()
            ),
            20,
            "the alarm in the timeline",
        )
        wait_until(lambda: ws.scores_table.rowCount() == 1, 5, "the scores table")
        inj = next(
            e
            for e in ws.live.timeline_entries()
            if e.kind == "injection" and e.equipment == "ETCH-01"
        )
        alarm = next(
            e for e in ws.live.timeline_entries() if e.kind == "alarm" and e.equipment == "ETCH-01"
        )
        assert inj.time_s > 0 and alarm.time_s >= inj.time_s  # stamped on the drill clock
        ws.finish_button.click()
        wait_until(lambda: "open its drill log" in ws.message, 20, "the end of the drill")
        cy.leave()
        log_path = server.close_recording()
        assert log_path is not None
        assert ws.debrief.open_log(log_path, spec)
        assert [
            ws.debrief.trainee_box.itemText(i) for i in range(ws.debrief.trainee_box.count())
        ] == ["cy"]
        assert ws.debrief.replay_button.isEnabled()
    finally:
        cy.leave()
        ws.stop_drill()
        server.stop_in_thread()


def _test_run_alone(ws: Any) -> None:
    # test run alone: the edited drill is served; the added alarm fires at 30 s
    ws.author.test_button.click()
    wait_until(lambda: ws.desk is not None and ws.desk.running, 60, "the test run")
    ws.set_speed(60)
    wait_until(
        lambda: any(
            e.kind == "injection" and "ETCH-01" in e.text for e in ws.live.timeline_entries()
        ),
        30,
        "the new injection to fire",
    )
    assert ws.desk.trainees() == []  # the trainer alone is not scored
    ws.stop_drill()
    assert ws.desk is None


def _not_blank(w: Any, path: Path) -> None:
    """The widget is drawn (not one flat colour); its picture is kept at ``path``."""
    QTest.qWait(100)
    img = w.grab().toImage()
    assert img.save(str(path))
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    assert arr.std() > 10


def test_a_plant_with_drills_opens_with_its_first_drill_chosen(win: MainWindow) -> None:
    """The drill list has a placeholder text for plants without drills; with one, a combo box
    would then choose nothing by itself. The demo fab opens with its first drill chosen and
    ready to start (no drill remembered in the settings)."""
    ws = win.train
    assert ws.spec is not None and ws.spec.drills
    assert ws.drill_box.currentIndex() == 0
    assert ws.drill_id() == ws.spec.drills[0].id
    assert ws.briefing.toPlainText().strip()
    assert ws.start_button.isEnabled()


def test_the_empty_live_tables_fill_their_width_without_a_scroll_bar(win: MainWindow) -> None:
    """Before a drill runs, the scores and timeline headers fit the table: the last column
    takes the rest of the width and no horizontal scroll bar shows."""
    win.tabs.setCurrentWidget(win.train)
    QApplication.processEvents()
    for t in (win.train.scores_table, win.train.timeline_table):
        hh = t.horizontalHeader()
        widths = [hh.sectionSize(j) for j in range(t.columnCount())]
        assert sum(widths) == t.viewport().width(), (t.objectName(), widths)
        assert not t.horizontalScrollBar().isVisible()
        for j in range(t.columnCount()):
            assert widths[j] >= hh.sectionSizeHint(j)


def test_the_train_and_maintain_views_follow_a_theme_switch(win: MainWindow) -> None:
    views = {"train": win.train.view, "maintain": win.maintain.view}
    for name, view in views.items():
        wait_until(lambda v=view: v.scene is not None, 30, f"the {name} scene")

    def mean_bg(view: object) -> float:
        return float(np.mean(view.plotter.background_color.float_rgb))  # type: ignore[attr-defined]

    for name, view in views.items():
        assert mean_bg(view) < 0.2, name  # the window starts dark
    win.set_dark(False)
    QApplication.processEvents()
    for name, view in views.items():
        assert mean_bg(view) > 0.8, name
    win.set_dark(True)
    QApplication.processEvents()
    for name, view in views.items():
        assert mean_bg(view) < 0.2, name
