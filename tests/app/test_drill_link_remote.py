"""Drill connections over real drill servers on loopback, seen from another computer.

* A trainee's app (the Controller's drill session) notices a lost connection, refuses its
  drill actions naming the server, reconnects with back-off and joins again under its name
  with its token, over a restart of the server's network side and over a new drill server
  process on the same record folder (the names are kept in ``<record>/<drill>.tokens``).
* A trainee's app whose name the trainer released while its connection was down, and another
  trainee took, stops reconnecting at the server's answer (no attempt can succeed) and says
  so; the trainee joins again under another name.
* A trainer following a remote drill server gets the drill events it missed while the
  connection was down in its timeline once it is back, each once; an alarm that rose, cleared
  and was acknowledged in the gap too (no ConditionRefresh brings it back), once, marked
  caught up, at its drill time.
* The event log outlasts the drill server process (``<record>/<drill>.events``): a trainer
  whose connection dropped while the old process still served, and who reconnects to a new
  process on the same record folder, gets what the old one and the new one served meanwhile,
  each once (the same log id).
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
from factory_twin.opcua.client_common import host_port
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
        assert lost is not None and not lost.up
        assert f"cannot reach {host_port(url)}: connection refused" in lost.last_error
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


GAS = "end_station_pressure"  # IMP-01's: hi 0.001 Pa, hihi 0.005 Pa
GAS_TEXT = "= 0.0123 Pa above the hihi limit"  # the message of the alarm the gap raises


def _alarm_comes_and_goes(server: DrillSimulator) -> None:
    """Drive IMP-01's end station pressure to 0.0123 Pa for 10 plant s (past its hi and hihi
    limits), wait until both alarms are back to normal and acknowledge them: nothing of it
    stands any more, so no ConditionRefresh brings it back."""
    why = server.call(server.inject, "alarm", "IMP-01", GAS, 0.0123, 10.0).result(30)
    assert why == ""

    def back() -> bool:
        last = {a.code: a for a in list(server.alarms) if a.equipment == "IMP-01"}
        return all(f"{GAS}.{k}" in last and not last[f"{GAS}.{k}"].active for k in ("hi", "hihi"))

    wait_for(back, 30, "the gas alarms to rise and clear")
    plant = server.server
    assert plant is not None
    for limit in ("hi", "hihi"):
        server.submit(plant.acknowledge(f"IMP-01.{GAS}.{limit}", "seen", "")).result(10)
    wait_for(lambda: [(a.active, a.acked) for a in server.alarms
                      if a.code == f"{GAS}.hihi"][-1] == (False, True), 10, "the ack")  # fmt: skip


def _trainer_away(desk: TrainerDesk) -> None:
    """The trainer's connection drops and stays down (its keeper, which would reconnect at
    once to a server still serving, is stopped) while the drill server goes on."""
    keeper, session = desk._keeper, desk.session
    assert keeper is not None and session is not None
    keeper.stop()
    ua = session.client._client
    assert ua is not None
    session.loop.call_soon(ua.disconnect_socket)
    wait_for(lambda: not desk.running, 15, "the loss to be noticed")


def _trainer_back(desk: TrainerDesk) -> None:
    """The trainer's keeper runs again: it reconnects at once (the link is down)."""
    assert desk._keeper is not None
    desk._keeper.start()


def _gas_notices(desk: TrainerDesk) -> list[tuple[bool, bool, bool]]:
    """(active, acked, caught up) of every hihi gas alarm notice the desk took, in order."""
    desk.poll()
    return [
        (n.active, n.acked, n.caught_up)
        for n in desk.notices
        if n.kind == "alarm" and n.equipment == "IMP-01" and n.code == f"{GAS}.hihi"
    ]


def test_an_alarm_that_came_and_went_in_the_gap_joins_the_timeline_once(
    spec: s.PlantSpec, tmp_path: Path
) -> None:
    url = _free_url()
    server = _serve(spec, url, tmp_path / "drills")
    desk = TrainerDesk(spec)
    try:
        assert desk.connect(url) == DRILL
        _trainer_away(desk)
        start_s = server.clock_s
        _alarm_comes_and_goes(server)  # the server goes on serving meanwhile
        end_s = server.clock_s
        assert not _gas_notices(desk)

        _trainer_back(desk)
        wait_for(lambda: desk.running, 20, "the reconnect")
        wait_for(lambda: _gas_notices(desk), 15, "the missed alarm")
        # once per reconnect: how many timeline entries it caught up
        caught = desk.take_caught_up()
        assert caught == sum(1 for e in desk.timeline() if e.caught_up) >= 2
        assert desk.take_caught_up() is None
        time.sleep(1.0)  # a late live copy or a refresh would show by now
        # raised, returned to normal, acknowledged: each once, in order, all caught up
        assert _gas_notices(desk) == [
            (True, False, True),
            (False, False, True),
            (False, True, True),
        ]
        alarms = [e for e in desk.timeline() if e.kind == "alarm" and GAS_TEXT in e.text]
        assert len(alarms) == 1, desk.timeline()
        assert alarms[0].caught_up and alarms[0].equipment == "IMP-01"
        assert start_s <= alarms[0].time_s <= end_s  # when it rose, not when it was fetched
        injected = [
            e for e in desk.timeline() if e.kind == "injection" and e.equipment == "IMP-01"
        ]
        assert len(injected) == 1 and injected[0].caught_up
        assert desk.session.client.replayed >= 4

        # live again: a new alarm comes live, not caught up, and the old one stays once
        server.call(server.inject, "alarm", "IMP-01", GAS, 0.0321, 10.0).result(30)
        wait_for(lambda: len(_gas_notices(desk)) >= 4, 20, "the next alarm live")
        assert _gas_notices(desk)[3] == (True, False, False)
        assert len([e for e in desk.timeline() if GAS_TEXT in e.text]) == 1
    finally:
        desk.stop()
        server.stop_in_thread()


def test_a_restarted_server_on_the_same_record_folder_serves_what_was_missed(
    spec: s.PlantSpec, tmp_path: Path
) -> None:
    record = tmp_path / "drills"
    url = _free_url()
    server = _serve(spec, url, record)
    log_id = server.events.id
    desk = TrainerDesk(spec)
    cy = DrillSession(url, "cy")
    try:
        assert desk.connect(url) == DRILL
        assert cy.join().result(30) == "cy"
        token = cy.client.token
        cy.call_maintenance("OHT", "before the gap").result(30)
        wait_for(lambda: _actions(desk, "before the gap"), 15, "the first action live")
        _trainer_away(desk)  # the trainer's link drops ...
        cy.call_maintenance("OHT", "on the old server").result(30)  # ... the old one serves
        _alarm_comes_and_goes(server)
        last = server.events.last
        server.stop_in_thread()  # ... and its process ends
        cy.leave()
        events_file = record / f"{DRILL}.events"
        assert events_file.is_file() and (record / f"{DRILL}.events.bak").is_file()

        server = _serve(spec, url, record)  # a new process on the same record folder
        assert server.events.id == log_id and server.events.last >= last
        cy = DrillSession(url, "cy", token=token)
        assert cy.join().result(30) == "cy"
        cy.call_maintenance("OHT", "on the new server").result(30)
        wait_for(lambda: any(a.comment == "on the new server" for a in server.actions), 10,
                 "the action served")  # fmt: skip
        assert not desk.running

        _trainer_back(desk)
        wait_for(lambda: desk.running, 30, "the reconnect to the new server")
        wait_for(lambda: _actions(desk, "on the new server"), 15, "the missed actions")
        time.sleep(0.5)
        for text in ("before the gap", "on the old server", "on the new server", GAS_TEXT):
            assert len(_actions(desk, text)) == 1, (text, desk.timeline())
        missed = [
            e for e in desk.timeline() if "on the old server" in e.text or GAS_TEXT in e.text
        ]
        assert all(e.caught_up for e in missed), missed
        assert desk.session.client._log_id == log_id  # the same log: read on from its number
        texts = [(e.kind, e.text) for e in desk.timeline()]
        assert len(texts) == len(set(texts)), texts  # nothing twice
    finally:
        cy.leave()
        desk.stop()
        server.stop_in_thread()


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
