"""Remote drills in the window, over real drill servers on loopback.

* A trainee who joined with *Join drill…* loses the connection to the drill server: the bar
  under the DRILL banner says so in the theme's error colour, naming the server and when the
  next reconnect is tried; the banner's actions that need the server are disabled, and so are
  Acknowledge, Shelve, Hold, Resume and a step's sign-off (their tooltip saying why); a drill
  action taken meanwhile is refused saying why; *Reconnect* joins again under the trainee's
  name with the saved token once the server is back, and the bar goes.
* A trainer following another computer's drill server sees the names it keeps from an
  earlier run in grey italic on the Live tab, like a drill of its own, until they rejoin.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _drill_names import join_once
from _qt_wait import wait_until
from _train_window import train_window
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from factory_twin.app.controller import find_demo_plant
from factory_twin.app.drill_server import DrillSimulator
from factory_twin.app.drill_session import DrillSession, start_drill_server
from factory_twin.model.config import load_plant
from factory_twin.ui.qt_drill_link import LOST_TIP
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_train_join import saved_token
from factory_twin.ui.theme import plot_colour, text_colour

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


def _start_a_step(win: MainWindow, tool: str) -> None:
    """Open a procedure of ``tool`` in Maintain and start its first step, ready to sign."""
    p = win.maintain.player
    spec = win.controller.doc.spec
    proc = spec.procedures_for(spec.tool(tool).type)[0]
    p.open(spec, tool, proc.id)
    for cb in p.safety_checks:
        cb.click()
    p.start_button.click()
    p.name_edit.setText("ann")
    acc = proc.steps[0].acceptance
    if acc is not None:
        p.value_edit.setText(f"{acc.target if acc.target is not None else acc.max:g}")


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
    _start_a_step(win, "ETCH-01")
    alarms, detail, player = win.alarms, win.detail, win.maintain.player
    actions = (
        alarms.ack_button,
        alarms.shelve_button,
        detail.hold_button,
        detail.resume_button,
        player.sign_button,
    )
    assert all(b.isEnabled() for b in actions), [b.text() for b in actions if not b.isEnabled()]
    own_tips = [b.toolTip() for b in actions]

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
    assert c.drill.joined_as == "ann" and c.drill.client.token == token
    assert side.call_maintenance("ETCH-01")
    wait_until(
        lambda: any(a.trainee == "ann" and a.equipment == "ETCH-01" for a in server.actions),
        20,
        "ann's call served",
    )
    side.leave()
    assert not bar.isVisible() and not c.drill_mode


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
