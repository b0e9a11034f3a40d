"""Remote drills in the window, over real drill servers on loopback.

* A trainee who joined with *Join drill…* loses the connection to the drill server: the bar
  under the DRILL banner says so in the theme's error colour, naming the server and when the
  next reconnect is tried; the banner's actions that need the server are disabled and a drill
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
    assert token and saved_token(win.settings, url, "ann") == token
    bar = side.link_bar
    buttons = (side.banner.maintenance_button, side.banner.lot_button)
    assert not bar.isVisible() and all(b.isEnabled() for b in buttons)

    server.submit(server.stop()).result(30)
    wait_until(bar.isVisible, 20, "the loss said")
    text = bar.label.text()
    assert f"Lost the connection to the drill server {url}" in text
    assert text_colour("error") in bar.label.styleSheet()  # the theme's error colour
    assert bar.reconnect_button.isVisible() and bar.reconnect_button.isEnabled()
    assert not any(b.isEnabled() for b in buttons)
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
