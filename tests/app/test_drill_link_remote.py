"""Drill connections over real drill servers on loopback, seen from another computer.

* A trainee's app (the Controller's drill session) notices a lost connection, refuses its
  drill actions naming the server, reconnects with back-off and joins again under its name
  with its token, over a restart of the server's network side and over a new drill server
  process on the same record folder (the names are kept in ``<record>/<drill>.tokens``).
* A trainee's app whose name the trainer released while its connection was down, and another
  trainee took, stops reconnecting at the server's answer (no attempt can succeed) and says
  so; the trainee joins again under another name.
* A trainer following a remote drill server gets the drill events it missed while the
  connection was down in its timeline once it is back, each once.
* A trainer following a remote drill server sees the names it keeps from an earlier run
  (``TakenNames``: names only).
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _drill_names import join_once
from _wait import wait_for

from factory_twin.app.controller import Controller
from factory_twin.app.drill_link import another_name, lost_text
from factory_twin.app.drill_server import DrillSimulator
from factory_twin.app.drill_session import DrillSession, start_drill_server
from factory_twin.app.drill_trainer import NameLine, TrainerDesk
from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.opcua.drill_client import DrillNameTaken, DrillRefused, name_taken_message

REPO = Path(__file__).resolve().parents[2]
DRILL = "oht_jam"

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def spec() -> s.PlantSpec:
    return load_plant(REPO / "plant_configs" / "demo_fab.yaml").spec


def _free_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"opc.tcp://127.0.0.1:{port}/factory_twin/"


def _serve(spec: s.PlantSpec, url: str, record: Path) -> DrillSimulator:
    return start_drill_server(
        spec, DRILL, endpoint=url, speed=5, record_dir=record, load_companion_specs=False
    )


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Controller]:
    c = Controller(journal_path=tmp_path / "journal.sqlite", user="ann")
    try:
        yield c
    finally:
        c.close()


def test_a_trainee_reconnects_and_joins_again_with_its_token(
    spec: s.PlantSpec, controller: Controller, tmp_path: Path
) -> None:
    record = tmp_path / "drills"
    url = _free_url()
    server = _serve(spec, url, record)
    try:
        c = controller
        assert c.join_drill(url, "ann").result(60) == "ann"
        token = c.drill.client.token
        assert token and c.drill_mode
        link = c.drill_link()
        assert link is not None and link.up and link.url == url
        c.drill.call_maintenance("OHT", "first call").result(30)

        # the server's network side goes: the trainee stays in the drill, reconnecting
        server.submit(server.stop()).result(30)
        wait_for(lambda: not c.drill.client.link_up, 15, "the loss to be noticed")
        assert c.drill_mode
        with pytest.raises(DrillRefused, match=r"connection to the drill server .* is lost"):
            c.drill.call_maintenance("OHT", "while lost")
        with pytest.raises(DrillRefused, match=re.escape(url)):
            c.call_method("ETCH-01", "Hold")
        wait_for(lambda: (c.drill_link() or link).attempts >= 2, 15, "two failed attempts")
        lost = c.drill_link()
        assert lost is not None and not lost.up and url in lost.last_error
        assert lost.retry_in_s is not None and lost.retry_in_s <= 4.0  # waits 1, 2, then 4 s

        server.submit(server.start()).result(60)
        assert c.reconnect_drill()  # at once, not after the back-off
        wait_for(lambda: c.drill.client.link_up, 15, "the reconnect")
        back = c.drill_link()
        assert back is not None and back.up and back.reconnects == 1
        assert c.drill.joined_as == "ann" and c.drill.client.token == token
        c.drill.call_maintenance("OHT", "after the restart").result(30)

        # a new drill server process on the same folder: the name is kept in its token
        # file, so ann's app joins again with its token and nobody else joins as ann
        server.stop_in_thread()
        assert (record / f"{DRILL}.tokens").is_file()
        wait_for(lambda: not c.drill.client.link_up, 15, "the second loss")
        server = _serve(spec, url, record)
        c.reconnect_drill()
        wait_for(lambda: (c.drill_link() or back).reconnects == 2, 30, "the rejoin")
        assert c.drill.joined_as == "ann" and c.drill.client.token == token
        c.drill.call_maintenance("OHT", "on the new server").result(30)
        wait_for(lambda: "ann" in server.trainees, 10, "ann on the new server")
        assert [a.comment for a in server.actions if a.trainee == "ann"] == ["on the new server"]
        other = DrillSession(url, "ann")
        try:
            with pytest.raises(DrillNameTaken):
                other.join().result(30)
        finally:
            other.leave()
    finally:
        controller.leave_drill()
        server.stop_in_thread()
    assert controller.drill_link() is None and not controller.reconnect_drill()


async def _release(server: DrillSimulator, name: str) -> str:
    """The trainer releases ``name`` (on the server's loop, as its ReleaseName would)."""
    return server.release_name(name, by="trainer")


def test_a_trainee_whose_name_was_taken_meanwhile_stops_reconnecting(
    spec: s.PlantSpec, controller: Controller, tmp_path: Path
) -> None:
    url = _free_url()
    server = _serve(spec, url, tmp_path / "drills")
    other = DrillSession(url, "ann")
    try:
        c = controller
        assert c.join_drill(url, "ann").result(60) == "ann"
        keeper = c._drill_keeper
        assert keeper is not None
        keeper.first_delay_s = keeper.max_delay_s = 120.0  # no retry of its own after the first

        server.submit(server.stop()).result(30)
        wait_for(lambda: (c.drill_link() or keeper.status()).attempts >= 1, 15, "a failed try")
        # meanwhile the trainer releases the name and another trainee joins under it
        assert server.submit(_release(server, "ann")).result(30) == ""
        server.submit(server.start()).result(60)
        assert other.join().result(30) == "ann"

        assert c.reconnect_drill()
        wait_for(lambda: keeper.gave_up, 20, "the server's answer")
        link = c.drill_link()
        assert link is not None and not link.up and link.taken_name == "ann"
        assert link.attempts == 2 and link.retry_in_s is None
        assert link.last_error == name_taken_message("ann")
        assert "your name 'ann' is now taken by someone else" in lost_text(link)
        assert "join again under another name" in lost_text(link)
        # no attempt follows: the keeper has stopped, Reconnect has nothing to try
        wait_for(lambda: keeper._task is not None and keeper._task.done(), 10, "the keeper stop")
        assert not c.reconnect_drill()
        assert c.drill_mode and not c.drill.client.link_up  # in the drill until it rejoins
        with pytest.raises(DrillRefused, match="is lost"):
            c.drill.call_maintenance("OHT", "under a taken name")
        other.call_maintenance("OHT", "the new ann").result(30)  # the name is the other's

        # the trainee joins again under another name
        name = another_name("ann", server.taken_names)
        assert name == "ann-2"
        assert c.join_drill(url, name).result(60) == name
        back = c.drill_link()
        assert back is not None and back.up and not back.taken_name
        c.drill.call_maintenance("OHT", "as ann-2").result(30)
        wait_for(lambda: any(a.trainee == name for a in server.actions), 10, "ann-2's call")
        assert [a.comment for a in server.actions if a.trainee == "ann"] == ["the new ann"]
    finally:
        other.leave()
        controller.leave_drill()
        server.stop_in_thread()


def _actions(desk: TrainerDesk, text: str) -> list[str]:
    """The timeline's entries saying ``text``, after taking what arrived (as the GUI does)."""
    desk.poll()
    return [e.text for e in desk.timeline() if text in e.text]


def test_events_missed_while_the_link_was_down_join_the_timeline_once(
    spec: s.PlantSpec, tmp_path: Path
) -> None:
    url = _free_url()
    server = _serve(spec, url, tmp_path / "drills")
    desk = TrainerDesk(spec)
    cy = DrillSession(url, "cy")
    try:
        assert desk.connect(url) == DRILL
        assert cy.join().result(30) == "cy"
        cy.call_maintenance("OHT", "before the gap").result(30)
        wait_for(lambda: _actions(desk, "before the gap"), 15, "the first action live")
        keeper = desk._keeper
        assert keeper is not None
        keeper.first_delay_s = keeper.max_delay_s = 120.0  # no retry of its own in this test

        server.submit(server.stop()).result(30)
        wait_for(lambda: not desk.running, 15, "the loss to be noticed")
        wait_for(lambda: (desk.link() or keeper.status()).attempts >= 1, 15, "a failed try")
        server.submit(server.start()).result(60)
        cy.leave()  # cy's app joins again and acts while the trainer's desk is away
        cy = DrillSession(url, "cy", token=cy.client.token)
        assert cy.join().result(30) == "cy"
        cy.call_maintenance("OHT", "during the gap").result(30)
        cy.prioritise_lot("no-such-lot").exception(30)  # refused: a refused event too
        wait_for(lambda: any(a.comment == "during the gap" for a in server.actions), 10,
                 "the action served")  # fmt: skip
        assert not desk.running and not _actions(desk, "during the gap")

        desk.reconnect_now()
        wait_for(lambda: desk.running, 20, "the reconnect")
        wait_for(lambda: _actions(desk, "during the gap"), 15, "the missed action")
        assert desk.session is not None and desk.session.client.replayed >= 2
        entries = [e for e in desk.timeline() if e.trainee == "cy"]
        missed = next(e for e in entries if "during the gap" in e.text)
        assert missed.kind == "action" and missed.time_s > 0, desk.timeline()
        assert any(e.kind == "refused" and "no-such-lot" in e.text for e in entries)
        cy.call_maintenance("OHT", "after the gap").result(30)
        wait_for(lambda: _actions(desk, "after the gap"), 15, "the next action live")
        time.sleep(0.5)
        desk.poll()
        for text in ("before the gap", "during the gap", "after the gap"):
            assert len(_actions(desk, text)) == 1, (text, _actions(desk, text))
        texts = [(e.kind, e.text) for e in desk.timeline()]
        assert len(texts) == len(set(texts)), texts  # nothing twice

        # the TCP connection drops while the server runs: nothing comes twice either
        before = len(desk.timeline())
        keeper.first_delay_s = keeper.max_delay_s = 1.0
        ua = desk.session.client._client
        assert ua is not None
        desk.session.loop.call_soon(ua.disconnect_socket)
        wait_for(lambda: not desk.running, 15, "the drop to be noticed")
        wait_for(lambda: desk.running, 20, "the reconnect after the drop")
        time.sleep(0.5)
        desk.poll()
        assert len(desk.timeline()) == before
    finally:
        cy.leave()
        desk.stop()
        server.stop_in_thread()


def test_a_remote_server_publishes_its_kept_names_not_their_tokens(
    spec: s.PlantSpec, tmp_path: Path
) -> None:
    record = tmp_path / "drills"
    server = _serve(spec, _free_url(), record)
    tokens = join_once(server.endpoint_url, ("ann", "bob"))
    server.stop_in_thread()
    # the drill again, on another computer's server: the names are kept in its token file
    server = _serve(spec, _free_url(), record)
    desk = TrainerDesk(spec)
    ann = DrillSession(server.endpoint_url, "ann", token=tokens["ann"])
    try:
        desk.connect(server.endpoint_url)
        assert desk.server is None and desk.token_path is None  # remote: no file of ours
        wait_for(lambda: desk.names() == [NameLine("ann", False), NameLine("bob", False)], 15,
                 "the kept names")  # fmt: skip
        published = desk.value("TakenNames")
        assert list(published) == ["ann", "bob"]
        assert not any(t in str(published) for t in tokens.values())

        assert ann.join().result(30) == "ann"
        wait_for(lambda: desk.names() == [NameLine("ann", True), NameLine("bob", False)], 15,
                 "ann joined again")  # fmt: skip
        desk.release_name("bob").result(30)
        wait_for(lambda: desk.names() == [NameLine("ann", True)], 15, "bob released")
        assert desk.taken_names == ["ann"]
    finally:
        ann.leave()
        desk.stop()
        server.stop_in_thread()
