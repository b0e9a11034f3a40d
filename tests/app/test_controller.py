"""Controller without Qt: replay of a real historian file, the alarm journal, the demo plant."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

from factory_twin.app.alarm_journal import AlarmJournal, priority_of
from factory_twin.app.controller import Controller, find_demo_plant, free_port
from factory_twin.app.replay import ReplaySource, event_time, load_history
from factory_twin.errors import ConfigError, FactoryTwinError
from factory_twin.model.config import load_plant
from factory_twin.model.events import AlarmEvent, E10State, TagUpdate
from factory_twin.opcua.historian import HistoryWriter
from factory_twin.sim.live import LiveSimulation

MINI = Path(__file__).resolve().parents[1] / "data" / "mini_plant.yaml"


@pytest.fixture
def controller(tmp_path):
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    yield c
    c.close()


def _record(tmp_path: Path, hours: float = 2.0) -> Path:
    spec = load_plant(MINI).spec
    sim = LiveSimulation(spec, seed=3, tag_period_s=60.0)
    path = tmp_path / "history.parquet"
    with HistoryWriter(path) as w:
        w.add(sim.snapshot())
        for _ in range(int(hours * 60)):
            w.add(sim.advance(60.0))
    return path


def test_demo_plant_is_found_and_valid():
    p = find_demo_plant()
    assert p.name == "demo_fab.yaml"
    assert len(load_plant(p).spec.equipment) > 10


def test_free_port_is_bindable():
    import socket

    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_replay_of_a_historian_file_rebuilds_the_plant(controller, tmp_path):
    path = _record(tmp_path)
    events = load_history(path)
    assert events and any(isinstance(e, TagUpdate) and e.tag == "state" for e in events)
    controller.set_plant(load_plant(MINI))
    replay = controller.start_replay(path, speed=1e6)
    assert controller.replay is replay and replay.end_s > replay.start_s
    deadline = time.monotonic() + 10
    while replay.playing and time.monotonic() < deadline:
        controller.apply_pending()
        time.sleep(0.01)
    controller.apply_pending()
    st = controller.state
    assert (st.codes >= 0).all()  # every tool got its state from the file
    assert st.clock_s == pytest.approx(replay.end_s)
    # seeking back rebuilds the state from the start
    controller.seek_replay(replay.start_s)
    assert controller.state is not st
    controller.apply_pending()
    assert controller.state.clock_s <= replay.start_s + 1e-6


def test_replay_source_hands_out_events_by_clock():
    evs = [TagUpdate("T", "x", float(i), float(i)) for i in range(10)]
    r = ReplaySource(reversed(evs), speed=1.0)
    assert [event_time(e) for e in r.events] == sorted(event_time(e) for e in evs)
    first = r.drain()
    assert [e.value for e in first] == [0.0]
    assert r.seek(5.0) is False
    assert [e.value for e in r.drain()] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert r.seek(2.0) is True  # backwards: the owner must rebuild
    assert len(r.drain()) == 3


def test_bad_history_file_is_a_clear_error(tmp_path):
    with pytest.raises(FactoryTwinError, match="no such history file"):
        load_history(tmp_path / "missing.parquet")
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    with pytest.raises(FactoryTwinError, match=r"junk\.parquet"):
        load_history(junk)


def test_broken_plant_keeps_the_current_one(controller, tmp_path):
    controller.set_plant(load_plant(MINI))
    before = controller.doc
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINI.read_text().replace("floor_m: [20, 10]", "floor_m: [20, -10]"))
    fut = controller.load_plant_async(bad)
    with pytest.raises(ConfigError) as exc:
        fut.result(timeout=30)
    assert any("bad.yaml" in line for line in exc.value.issues)
    assert controller.doc is before


def test_writes_are_off_unless_the_endpoint_enables_them(controller):
    controller.set_plant(load_plant(MINI))
    assert not controller.writes_enabled("ETCH-01")
    assert not controller.writes_enabled("NOPE")
    with pytest.raises(FactoryTwinError, match="not connected"):
        controller.request_write("ETCH-01", "chamber_pressure", 1.0)


def test_alarm_journal_search_and_csv(tmp_path):
    j = AlarmJournal(tmp_path / "j.sqlite")
    evs = [
        AlarmEvent(
            "a1", "ETCH-01", "chamber_pressure.hi", 700, "pressure high", 10.0, True, False
        ),
        AlarmEvent(
            "a1",
            "ETCH-01",
            "chamber_pressure.hi",
            700,
            "pressure high",
            20.0,
            True,
            True,
            user="ann",
            comment="valve checked",
        ),
        AlarmEvent("a2", "LITHO-01", "fault", 900, "stage fault", 30.0, True, False),
        AlarmEvent("a3", "ETCH-02", "temp.lo", 200, "cold", 40.0, True, False),
    ]
    assert j.record(evs, plant="mini") == 4
    assert j.count() == 4
    assert [e.time_s for e in j.search()] == [40.0, 30.0, 20.0, 10.0]
    assert {e.alarm_id for e in j.search(equipment="etch")} == {"a1", "a3"}
    assert [e.equipment for e in j.search(priorities=["critical"])] == ["LITHO-01"]
    assert [e.comment for e in j.search(text="VALVE")] == ["valve checked"]
    assert len(j.search(start_s=15.0, end_s=35.0)) == 2
    out = j.export_csv(tmp_path / "out.csv", j.search(equipment="ETCH-01"))
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2 and rows[0]["user"] == "ann" and rows[0]["state"] == "acknowledged"
    assert priority_of(900) == "critical" and priority_of(100) == "low"
    j.close()
    # the store survives a restart
    j2 = AlarmJournal(tmp_path / "j.sqlite")
    assert j2.count() == 4
    j2.close()


def test_state_values_from_replay_are_e10(controller, tmp_path):
    controller.set_plant(load_plant(MINI))
    controller.start_replay_events([TagUpdate("ETCH-01", "state", 4, 1.0)], speed=1e6)
    time.sleep(0.01)
    controller.apply_pending()
    assert controller.state.state_of("ETCH-01") is E10State.UNSCHEDULED_DOWN


def test_the_controller_says_when_the_simulator_lacks_companion_specs(tmp_path) -> None:
    """Served without DI/IA/Machinery, the window has a reason to show (none when loaded)."""
    import socket

    from factory_twin.app.controller import Controller
    from factory_twin.app.simulator import EmbeddedPlantSimulator
    from factory_twin.model.config import load_plant

    spec = load_plant(Path(__file__).resolve().parents[1] / "data" / "mini_plant.yaml").spec
    c = Controller(journal_path=tmp_path / "j.sqlite")
    try:
        for load in (False, True):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            sim = EmbeddedPlantSimulator(
                spec, endpoint=f"opc.tcp://127.0.0.1:{port}/", load_companion_specs=load
            )
            c.simulator = sim
            assert c.companion_specs_problem() is None  # not started: nothing to say
            c.loop.start()
            c.loop.submit(sim.start()).result(timeout=60)
            try:
                problem = c.companion_specs_problem()
                if load:
                    assert problem is None
                else:
                    assert problem is not None and "companion specifications" in problem
                    assert "not requested" in problem
            finally:
                c.loop.submit(sim.stop()).result(timeout=30)
    finally:
        c.simulator = None
        c.close()


def test_the_connection_test_names_an_unreachable_address(controller):
    # was: "opc.tcp://...: ConnectionRefusedError: [Errno 111] Connect call failed (...)"
    port = free_port()
    fut = controller.test_connection(f"opc.tcp://127.0.0.1:{port}/x/", timeout_s=2)
    with pytest.raises(FactoryTwinError) as info:
        fut.result(timeout=30)
    assert str(info.value) == f"cannot reach 127.0.0.1:{port}: connection refused"
