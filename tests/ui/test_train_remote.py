"""Remote drills in the window, over real drill servers on loopback.

* A trainee who joined with *Join drill…* loses the connection to the drill server: the bar
  under the DRILL banner says so in the theme's error colour, naming the server and when the
  next reconnect is tried; the banner's actions that need the server are disabled, and so are
  Acknowledge, Shelve, Hold, Resume, opening a procedure (Open, the alarm's Open procedure),
  safety acknowledgements, Start step and a step's sign-off (their tooltip saying why); a
  drill action taken meanwhile is refused saying why; *Reconnect* joins again under the
  trainee's name with the saved token once the server is back, the bar goes and each of
  those is enabled again by its own rules, with its own tooltip.
* A trainee whose name the trainer released while the connection was down, and another
  trainee took, is told so in the bar once the server answers the rejoin: no more reconnects,
  *Join under another name…* instead of *Reconnect*; it opens the Join drill dialog with the
  server and a new name filled in, and joining under it works.
* A trainer following another computer's drill server sees the names it keeps from an
  earlier run in grey italic on the Live tab, like a drill of its own, until they rejoin.
* A trainer following another computer's drill server whose connection was lost sees, once
  it is back, the timeline entries that happened meanwhile marked as caught up (the mark in
  *What*, italics, the Event in the theme's ``info`` colour, readable on the table's rows in
  both themes, a tooltip saying when it happened) and is told once per reconnect how many
  were caught up (none, the next time).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _drill_names import join_once
from _qt_wait import wait_until
from _train_window import train_window
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from factory_twin.app.controller import find_demo_plant
from factory_twin.app.drill_server import DrillSimulator
from factory_twin.app.drill_session import DrillSession, start_drill_server
from factory_twin.model.config import load_plant
from factory_twin.ui.qt_drill_link import LOST_TIP
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_maintain_browser import LOST_NOTE
from factory_twin.ui.qt_train_join import saved_token
from factory_twin.ui.qt_train_live import CAUGHT_UP_MARK, EVENT_COLUMN
from factory_twin.ui.qt_train_workspace import QtTrainWorkspace
from factory_twin.ui.theme import MIN_TEXT_CONTRAST, contrast_ratio, plot_colour, text_colour

pytestmark = [pytest.mark.gui, pytest.mark.timeout(240)]

DRILL = "oht_jam"


def _serve(record: Path) -> DrillSimulator:
    spec = load_plant(find_demo_plant()).spec
    return start_drill_server(spec, DRILL, speed=5, record_dir=record, load_companion_specs=False)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DrillSimulator]:
    sim = _serve(tmp_path / "server")
    try:
        yield sim
    finally:
        sim.stop_in_thread()


async def _inject(server: DrillSimulator) -> str:
    """A pressure alarm on ETCH-01, as the trainer's Inject would (on the server's loop)."""
    return server.inject("alarm", "ETCH-01", "chamber_pressure", 2000, 0)


def _alarm_on(win: MainWindow, tool: str) -> str:
    """Wait for a standing alarm on ``tool``, select it in the alarm panel; its id."""
    st = win.controller.state
    wait_until(
        lambda: st is not None and any(r.event.equipment == tool for r in st.alarms.values()),
        30,
        f"an alarm on {tool}",
    )
    aid = next(a for a, r in st.alarms.items() if r.event.equipment == tool)
    win.alarms._dirty = True
    win.alarms.refresh()
    assert win.alarms.select_alarm(aid)
    return aid


async def _release(server: DrillSimulator, name: str) -> str:
    """The trainer releases ``name`` (on the server's loop, as its ReleaseName would)."""
    return server.release_name(name, by="trainer")


def _start_a_step(win: MainWindow, tool: str) -> str:
    """Open a procedure of ``tool`` in Maintain and start its first step, ready to sign;
    the procedure's id."""
    p = win.maintain.player
    spec = win.controller.doc.spec
    proc = spec.procedures_for(spec.tool(tool).type)[0]
    assert win.maintain.open_procedure(tool, proc.id)
    for cb in p.safety_checks:
        cb.click()
    p.start_button.click()
    p.name_edit.setText("ann")
    acc = proc.steps[0].acceptance
    if acc is not None:
        p.value_edit.setText(f"{acc.target if acc.target is not None else acc.max:g}")
    return proc.id


def _step_items(win: MainWindow) -> tuple[tuple[bool, str], tuple[bool, str]]:
    """(enabled, tooltip) of Start step on a step with no safety notes, not started (enabled
    by its own rules), and of the first safety box of a later step with notes (unchecked);
    the player then shows the first step again (started, ready to sign)."""
    p = win.maintain.player
    assert p.procedure is not None
    steps = p.procedure.steps
    p.show_step(next(k for k in range(1, len(steps)) if not steps[k].safety))
    start = p.start_button
    start_state = (start.isEnabled(), start.toolTip())
    p.show_step(next(k for k in range(1, len(steps)) if steps[k].safety))
    box = p.safety_checks[0]
    box_state = (box.isEnabled(), box.toolTip())
    p.show_step(0)
    return start_state, box_state


@pytest.fixture
def win(qapp: Any, tmp_path: Path) -> Iterator[MainWindow]:
    with train_window(tmp_path, find_demo_plant(), user="ann") as w:
        yield w


def test_a_trainee_sees_a_lost_connection_and_reconnects(
    win: MainWindow, server: DrillSimulator
) -> None:
    url = server.endpoint_url
    side = win.trainee
    c = win.controller
    side.join(url, "ann")
    wait_until(lambda: c.drill_mode and side.banner.isVisible(), 60, "ann to join")
    token = c.drill.client.token
    # the token is saved when the window hears of the join (a moment after drill_mode)
    wait_until(lambda: saved_token(win.settings, url, "ann") != "", 10, "the token saved")
    assert token and saved_token(win.settings, url, "ann") == token
    bar = side.link_bar
    buttons = (side.banner.maintenance_button, side.banner.lot_button)
    assert not bar.isVisible() and all(b.isEnabled() for b in buttons)
    # an alarm and a tool selected, a step ready to sign: the trainee's drill actions work
    assert server.submit(_inject(server)).result(30) == ""
    _alarm_on(win, "ETCH-01")
    win.select_tool("ETCH-01")
    proc = _start_a_step(win, "ETCH-01")
    alarms, detail, ws = win.alarms, win.detail, win.maintain
    player = ws.player
    actions = (
        alarms.ack_button,
        alarms.shelve_button,
        alarms.procedure_button,
        detail.hold_button,
        detail.resume_button,
        ws.open_button,
        player.sign_button,
    )
    assert all(b.isEnabled() for b in actions), [b.text() for b in actions if not b.isEnabled()]
    own_tips = [b.toolTip() for b in actions]
    own_steps = _step_items(win)  # Start step and a safety box, enabled by their own rules
    assert [on for on, _tip in own_steps] == [True, True], own_steps

    server.submit(server.stop()).result(30)
    wait_until(bar.isVisible, 20, "the loss said")
    text = bar.label.text()
    assert f"Lost the connection to the drill server {url}" in text
    assert text_colour("error") in bar.label.styleSheet()  # the theme's error colour
    assert bar.reconnect_button.isVisible() and bar.reconnect_button.isEnabled()
    assert not any(b.isEnabled() for b in buttons)
    # greyed out while lost, saying why (not refused only when pressed)
    assert not any(b.isEnabled() for b in actions), [b.text() for b in actions if b.isEnabled()]
    assert all(b.toolTip() == LOST_TIP for b in actions)
    assert _step_items(win) == ((False, LOST_TIP), (False, LOST_TIP))  # a drill's steps
    assert not player.sign_button.isEnabled()
    assert LOST_NOTE in ws.browser.title.text()  # said before a double-click is tried
    assert not ws.open_procedure("ETCH-01", proc)  # a double-click, the alarm's link
    assert "Not opened" in ws.info.text() and "drill server is lost" in ws.info.text()
    assert not alarms.shelve_hour_action.isEnabled()  # nor shelved from the context menu
    assert detail.fly_button.isEnabled()  # what stays on this computer still works
    assert side.banner.isVisible() and c.drill_mode  # still in the drill, reconnecting
    assert not side.call_maintenance("ETCH-01")
    box = win.last_error_box
    assert box is not None and "is lost" in box.text() and url in box.text()
    box.close()
    wait_until(lambda: "reconnect attempt" in bar.label.text(), 20, "the next attempt said")
    assert "Last try:" in bar.label.text()

    server.submit(server.start()).result(60)
    bar.reconnect_button.click()
    wait_until(lambda: not bar.isVisible(), 20, "the reconnect")
    assert all(b.isEnabled() for b in buttons)
    assert f"reconnected to the drill server {url} as ann" in win.statusBar().currentMessage()
    if alarms.selected_alarm_id() is None:  # the alarm list was refreshed on the reconnect
        _alarm_on(win, "ETCH-01")
    assert detail.tool == "ETCH-01"
    wait_until(lambda: all(b.isEnabled() for b in actions), 10, "the actions enabled again")
    assert [b.toolTip() for b in actions] == own_tips
    assert _step_items(win) == own_steps
    assert player.sign_button.isEnabled() and LOST_NOTE not in ws.browser.title.text()
    assert c.drill.joined_as == "ann" and c.drill.client.token == token
    assert side.call_maintenance("ETCH-01")
    wait_until(
        lambda: any(a.trainee == "ann" and a.equipment == "ETCH-01" for a in server.actions),
        20,
        "ann's call served",
    )
    side.leave()
    assert not bar.isVisible() and not c.drill_mode


def test_a_trainee_whose_name_was_taken_meanwhile_joins_under_another(
    win: MainWindow, server: DrillSimulator, tmp_path: Path
) -> None:
    url = server.endpoint_url
    side = win.trainee
    c = win.controller
    side.join(url, "ann")
    wait_until(lambda: saved_token(win.settings, url, "ann") != "", 60, "ann to join")
    keeper = c._drill_keeper
    assert keeper is not None
    keeper.first_delay_s = keeper.max_delay_s = 120.0  # no retry of its own after the first
    bar = side.link_bar
    server.submit(server.stop()).result(30)
    wait_until(bar.isVisible, 20, "the loss said")
    wait_until(lambda: "Last try:" in bar.label.text(), 20, "a failed try")
    # meanwhile the trainer releases the name and another trainee joins under it
    assert server.submit(_release(server, "ann")).result(30) == ""
    server.submit(server.start()).result(60)
    other = DrillSession(url, "ann")
    try:
        assert other.join().result(30) == "ann"
        bar.reconnect_button.click()
        wait_until(bar.rejoin_button.isVisible, 20, "the name taken said")
        text = bar.label.text()
        assert "your name 'ann' is now taken by someone else in this drill" in text
        assert "join again under another name" in text and "Last try:" not in text
        assert text_colour("error") in bar.label.styleSheet()
        assert not bar.reconnect_button.isVisible() and bar.rejoin_button.isEnabled()
        wait_until(lambda: keeper._task is not None and keeper._task.done(), 10, "no retries")
        assert not side.reconnect()  # nothing to try
        assert c.drill_mode and win.maintain.drill_link_lost and win.alarms.drill_link_lost
        assert not win.maintain.player.start_button.isEnabled()

        bar.rejoin_button.click()
        dlg = side.join_dialog
        assert dlg is not None and dlg.isVisible()
        assert dlg.values() == (url, "ann-2")  # the server, and a name nobody holds
        assert "Your name 'ann' is now taken by someone else" in dlg.note.text()
        dlg.accept()
        wait_until(lambda: saved_token(win.settings, url, "ann-2") != "", 60, "ann-2 to join")
        assert c.drill_mode and c.drill.joined_as == "ann-2"
        assert win.settings.value("drill/name") == "ann-2"
        assert not bar.isVisible()
        wait_until(lambda: not win.maintain.drill_link_lost, 10, "nothing greyed")
        assert not win.alarms.drill_link_lost and not win.detail.drill_link_lost
        assert "trainee ann-2" in side.banner.label.text()
        # the sign-offs go to a drill-only log; the real one is back once the trainee leaves
        assert side._real_log is not None
        assert side._real_log.path == tmp_path / "maintenance.jsonl"
        assert win.maintain.player.log.path != side._real_log.path
        assert side.call_maintenance("ETCH-01")
        wait_until(lambda: any(a.trainee == "ann-2" for a in server.actions), 20, "ann-2's call")
        side.leave()
        assert win.maintain.player.log.path == tmp_path / "maintenance.jsonl"
    finally:
        other.leave()


def test_a_following_trainer_sees_a_remote_servers_kept_names(
    win: MainWindow, tmp_path: Path
) -> None:
    record = tmp_path / "server"
    first = _serve(record)
    try:
        tokens = join_once(first.endpoint_url, ("ann", "bob"))
    finally:
        first.stop_in_thread()
    server = _serve(record)  # the drill again on that computer: the names are kept
    ann = DrillSession(server.endpoint_url, "ann", token=tokens["ann"])
    ws = win.train
    win.tabs.setCurrentWidget(ws)
    try:
        assert ws.connect_to(server.endpoint_url)
        wait_until(lambda: ws.desk is not None and ws.desk.running, 60, "following the drill")
        assert ws.desk.server is None  # another computer's server
        wait_until(lambda: ws.names.names() == ["ann", "bob"], 20, "the kept names listed")
        muted = QColor(plot_colour("muted"))
        for name in ("ann", "bob"):
            item = ws.trainee_list.findItems(name, Qt.MatchFlag.MatchExactly)[0]
            assert item.font().italic() and item.foreground().color() == muted
            assert "kept from an earlier run" in item.toolTip()
        assert "2 kept from an earlier run" in ws.names.label.text()

        assert ann.join().result(30) == "ann"

        def ann_joined() -> bool:
            found = ws.trainee_list.findItems("ann", Qt.MatchFlag.MatchExactly)
            return bool(found) and not found[0].font().italic()

        wait_until(ann_joined, 20, "ann joined again")
        bob = ws.trainee_list.findItems("bob", Qt.MatchFlag.MatchExactly)[0]
        assert bob.font().italic()
    finally:
        ann.leave()
        ws.stop_drill()
        server.stop_in_thread()


def _trainer_away(ws: QtTrainWorkspace) -> None:
    """The trainer's connection drops and stays down (its keeper stopped, which would
    reconnect at once to a server still serving) while the drill server goes on."""
    desk = ws.desk
    assert desk is not None and desk._keeper is not None and desk.session is not None
    desk._keeper.stop()
    ua = desk.session.client._client
    assert ua is not None
    desk.session.loop.call_soon(ua.disconnect_socket)
    wait_until(lambda: "Lost the connection" in ws.info.text(), 20, "the loss said")


def _trainer_back(ws: QtTrainWorkspace) -> None:
    """The trainer's keeper runs again: it reconnects at once; wait for the line to say so."""
    assert ws.desk is not None and ws.desk._keeper is not None
    ws._say("")
    ws.desk._keeper.start()
    wait_until(lambda: "Reconnected to the drill server" in ws.message, 30, "the reconnect")


def _rows(ws: QtTrainWorkspace) -> list[list[Any]]:
    t = ws.timeline_table
    return [[t.item(i, j) for j in range(t.columnCount())] for i in range(t.rowCount())]


def test_a_following_trainer_sees_what_was_caught_up_after_a_reconnect(
    win: MainWindow, server: DrillSimulator
) -> None:
    url = server.endpoint_url
    ws = win.train
    win.tabs.setCurrentWidget(ws)
    cy = DrillSession(url, "cy")
    try:
        assert ws.connect_to(url)
        wait_until(lambda: ws.desk is not None and ws.desk.running, 60, "following the drill")
        assert cy.join().result(30) == "cy"
        cy.call_maintenance("OHT", "before the gap").result(30)
        wait_until(lambda: any("before the gap" in r[EVENT_COLUMN].text() for r in _rows(ws)),
                   20, "the live action")  # fmt: skip
        assert not ws.live.caught_note.isVisible()

        _trainer_away(ws)
        cy.call_maintenance("OHT", "during the gap").result(30)
        wait_until(lambda: any(a.comment == "during the gap" for a in server.actions), 10,
                   "the action served")  # fmt: skip
        _trainer_back(ws)
        # told once how many entries the reconnect caught up: as many as the table marks
        said = re.search(r": (\d+) timeline entr(?:y|ies) that happened while the connection "
                         r"was lost caught up \(marked ↻, in italics, in the Live tab\)",
                         ws.message)  # fmt: skip
        assert said is not None and url in ws.message, ws.message
        assert "trainees join it" in ws.message and not ws.info.styleSheet()
        wait_until(lambda: any("during the gap" in r[EVENT_COLUMN].text() for r in _rows(ws)),
                   10, "the missed action in the table")  # fmt: skip
        marked = [r for r in _rows(ws) if r[1].text().endswith(f" {CAUGHT_UP_MARK}")]
        assert len(marked) == int(said.group(1)) >= 1
        gap = next(r for r in _rows(ws) if "during the gap" in r[EVENT_COLUMN].text())
        live = next(r for r in _rows(ws) if "before the gap" in r[EVENT_COLUMN].text())
        assert gap in marked and live not in marked
        assert gap[1].text() == f"action {CAUGHT_UP_MARK}" and live[1].text() == "action"
        entry = next(e for e in ws.live.timeline_entries() if "during the gap" in e.text)
        assert entry.caught_up
        for item in gap:
            assert "received after the reconnect: happened at drill time " in item.toolTip()
            assert f"{gap[0].text()}, while the link was lost" in item.toolTip()
        assert "during the gap" in gap[EVENT_COLUMN].toolTip()  # the whole text still there
        assert gap[1].font().italic() and gap[EVENT_COLUMN].font().italic()
        assert not live[EVENT_COLUMN].font().italic() and not live[1].toolTip().count("\n")
        note = ws.live.caught_note
        assert note.isVisible() and f"{len(marked)} entr" in note.text()

        # readable in both themes, on either row colour; a switch recolours the table
        t = ws.timeline_table
        for dark in (True, False):
            win.set_dark(dark)
            QApplication.processEvents()  # the widgets take the new palette
            gap = next(r for r in _rows(ws) if "during the gap" in r[EVENT_COLUMN].text())
            colour = gap[EVENT_COLUMN].foreground().color()
            assert colour == QColor(text_colour("info", dark)), dark
            for role in (t.palette().base(), t.palette().alternateBase()):
                ratio = contrast_ratio(colour.name(), role.color().name())
                assert ratio >= MIN_TEXT_CONTRAST, (dark, ratio)
            assert text_colour("info", dark) in note.text()

        # the next reconnect, with nothing missed (the drill paused: no alarm comes or goes)
        ws.toggle_pause()
        wait_until(lambda: any("drill paused" in r[EVENT_COLUMN].text() for r in _rows(ws)),
                   20, "the pause live")  # fmt: skip
        _trainer_away(ws)
        _trainer_back(ws)
        assert "nothing happened in the drill while the connection was lost" in ws.message
        ws._say("something else")
        for _ in range(6):  # the line is not said again at the next ticks
            ws.tick()
        assert ws.message == "something else"
        assert len([r for r in _rows(ws) if r[1].text().endswith(CAUGHT_UP_MARK)]) == len(marked)
    finally:
        cy.leave()
        ws.stop_drill()
