"""The drill server's event log kept in its record directory (``<drill>.events``).

Real DrillSimulators on free loopback ports, made again as new objects on the same record
directory (what a new ``factory-twin serve --drill --record DIR`` process does): while the
drill's run goes on the log goes on under the same id with its entries, drill events and
alarm transitions alike, the copy before the last write kept as ``.bak``; once the drill has
finished, the next run starts a new log (a new id) and keeps the finished run's as ``.prev``,
so the file does not grow over every run of the drill in the folder; within a run the log
keeps its newest entries, the numbers intact. A damaged file does not stop the drill server:
the message names the file and line (and column), the file is moved aside to ``.damaged``
and a new log with a new id starts, which a client reads from its start.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from asyncua import Client, ua
from test_drill_server import _until, _url

from factory_twin.app.drill_server import DrillSimulator
from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.model.drills import find_drill
from factory_twin.opcua.drill_client import DrillClient
from factory_twin.opcua.server.drill_events import (
    HEADER,
    DrillEventLog,
    EventLogError,
    LoggedEvent,
    read_event_log,
)

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "plant_configs" / "demo_fab.yaml"


@pytest.fixture(scope="module")
def demo() -> s.PlantSpec:
    return load_plant(DEMO).spec


def _drill_server(demo: s.PlantSpec, record: Path) -> DrillSimulator:
    return DrillSimulator(
        demo,
        find_drill(demo, "oht_jam"),
        endpoint=_url(),
        speed=30,
        load_companion_specs=False,
        record_dir=record,
    )


async def _get_events(url: str, after: int) -> dict[str, object]:
    """``Drill.GetEvents(after)`` called by a plain asyncua client, its JSON read."""
    client = Client(url, timeout=10)
    await client.connect()
    try:
        ns = (await client.get_namespace_array()).index("urn:factory-twin:plant")
        text = await client.get_node(ua.NodeId("Drill", ns)).call_method(
            ua.NodeId("Drill.GetEvents", ns), ua.Variant(after, ua.VariantType.UInt32)
        )
    finally:
        await client.disconnect()
    data = json.loads(text)
    assert isinstance(data, dict)
    return data


async def test_the_log_outlasts_the_server_process_under_its_id(
    demo: s.PlantSpec, tmp_path: Path
) -> None:
    events_file = tmp_path / "oht_jam.events"
    sim = _drill_server(demo, tmp_path)
    assert sim.events_path == events_file
    await sim.start()
    ann = DrillClient(sim.endpoint_url, "ann")
    try:
        await ann.connect()
        await ann.call_maintenance("OHT", "first run")
        assert sim.inject("alarm", "IMP-01", "end_station_pressure", 0.0123, 20.0) == ""
        await _until(lambda: any(e.kind == "alarm" for e in sim.events.events))
    finally:
        await ann.disconnect()
        await sim.stop()
    log_id, kept = read_event_log(events_file) or ("", [])
    assert log_id == sim.events.id and [e.seq for e in kept] == list(range(1, len(kept) + 1))
    assert kept == sim.events.events  # every entry as served, the alarm fields too
    alarm = next(e for e in kept if e.kind == "alarm")
    assert alarm.active and alarm.code.startswith("end_station_pressure.") and alarm.event_id
    assert any("first run" in e.message for e in kept)
    backup = read_event_log(tmp_path / "oht_jam.events.bak")  # the copy before the last write
    assert backup is not None and backup[0] == log_id and len(backup[1]) < len(kept)

    again = _drill_server(demo, tmp_path)  # a new process on the same directory
    assert again.events.id == log_id and again.events.events == kept
    assert not again.events.problem
    await again.start()
    try:
        got = await _get_events(again.endpoint_url, len(kept) - 1)
        assert got["log"] == log_id and got["last"] == len(kept)
        assert got["events"] == [kept[-1].to_dict()]
        bob = DrillClient(again.endpoint_url, "bob")
        await bob.connect()  # numbered on from the kept ones
        await bob.disconnect()
        await _until(lambda: again.events.last > len(kept))
        assert again.events.events[len(kept)].seq == len(kept) + 1
    finally:
        await again.stop()
    assert read_event_log(events_file) == (log_id, again.events.events)


def _damaged(path: Path) -> bytes:
    """A log of an earlier run whose line 4 was cut short."""
    data = "\n".join(
        [
            HEADER,
            json.dumps({"log": "old-run"}),
            json.dumps({"seq": 1, "kind": "state", "message": "drill paused"}),
            '{"seq": 2, "kind": "action", "message": "ann: hold_t',
            json.dumps({"seq": 3, "kind": "state", "message": "drill running"}),
        ]
    ).encode()
    path.write_bytes(data + b"\n")
    return data + b"\n"


async def test_a_damaged_log_is_set_aside_and_a_new_log_starts(
    demo: s.PlantSpec, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    events_file = tmp_path / "oht_jam.events"
    aside = tmp_path / "oht_jam.events.damaged"
    data = _damaged(events_file)
    with caplog.at_level(logging.ERROR):
        sim = _drill_server(demo, tmp_path)  # no exception: the drill server starts
    problem = sim.events.problem
    assert problem.startswith(f"{events_file}:4: the drill's event log is damaged: not a JSON")
    assert "column" in problem and f"moved aside to {aside}" in problem
    damage = sim.events.damage  # the same, for a window to say: file, line, column
    assert damage is not None and (damage.path, damage.line) == (events_file, 4)
    assert damage.column is not None and f"at column {damage.column})" in problem
    assert sim.events.damaged_path == aside
    assert any(r.levelno == logging.ERROR and r.getMessage() == problem for r in caplog.records)
    assert aside.read_bytes() == data and not events_file.exists()
    assert sim.events.id != "old-run" and sim.events.last == 0
    await sim.start()
    try:
        got = await _get_events(sim.endpoint_url, 0)
        assert got["log"] == sim.events.id  # a new id: clients read the new log from its start
        assert read_event_log(events_file) == (sim.events.id, sim.events.events)
    finally:
        await sim.stop()
    assert aside.read_bytes() == data  # never overwritten by the new log


@pytest.mark.parametrize(
    ("lines", "where", "problem"),
    [
        ([b'{"log": "x"}', b'{"seq": 1, "kind": "state", "message": "\xff"}'], ":2:",
         "not UTF-8 text (byte 41 of the line)"),
        ([b'{"log": "x"}', b'{"seq": 2, "kind": "state", "message": "m"}'], ":2:",
         "the entry is numbered 2, not 1"),
        ([b'{"log": "x"}', b'{"seq": 1, "kind": "alarm", "message": "m", "active": 1}'], ":2:",
         "'active' must be true or false, not 1"),
        ([b'{"log": "x"}', b'{"seq": 1, "kind": "state", "message": "m", "who": 1}'], ":2:",
         "unknown field 'who'"),
        ([b"# nothing but a comment"], ": ", "it holds no log id"),
        ([b'{"seq": 1, "kind": "state", "message": "m"}'], ":1:",
         'the first entry must be the log id, {"log": ID}'),
        ([b'{"log": "x"}', b"[1, 2]"], ":2:", "not a JSON object"),
        ([b'{"log": "x", "first": 0}'], ":1:", "'first' must be a whole number from 1, not 0"),
        ([b'{"log": "x", "first": true}'], ":1:", "'first' must be a whole number from 1"),
        ([b'{"log": "x", "ended": "yes"}'], ":1:", "'ended' must be true or false, not 'yes'"),
        ([b'{"log": "x", "last": 3}'], ":1:", 'the first entry must be the log id'),
        ([b'{"log": "x", "first": 5}', b'{"seq": 4, "kind": "state", "message": "m"}'], ":2:",
         "the entry is numbered 4, not 5"),
    ],
)  # fmt: skip
def test_every_kind_of_damage_names_the_file_and_line(
    tmp_path: Path, lines: list[bytes], where: str, problem: str
) -> None:
    path = tmp_path / "d.events"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(EventLogError) as err:
        read_event_log(path)
    assert str(err.value).startswith(f"{path}{where}"), err.value
    assert problem in str(err.value)
    log = DrillEventLog.open(path)
    assert log.problem.startswith(str(err.value)) and log.last == 0


def test_an_unreadable_log_starts_a_new_one_in_memory(tmp_path: Path) -> None:
    odd = tmp_path / "odd.events"
    odd.mkdir()
    with pytest.raises(EventLogError, match=r"odd\.events: .*cannot read it"):
        read_event_log(odd)
    log = DrillEventLog.open(odd)  # moved aside: the new log takes the name
    assert (tmp_path / "odd.events.damaged").is_dir() and log.path == odd
    assert log.damage is not None and (log.damage.line, log.damage.column) == (None, None)
    assert log.damaged_path == tmp_path / "odd.events.damaged"
    log.add("state", "drill running")
    log.flush()
    assert read_event_log(odd) == (log.id, log.events)


def test_serve_starts_with_a_new_log_on_a_damaged_one(tmp_path: Path) -> None:
    events_file = tmp_path / "oht_jam.events"
    _damaged(events_file)
    cmd = [sys.executable, "-m", "factory_twin", "serve", str(DEMO), "--drill", "oht_jam",
           "--endpoint", _url(), "--no-companion-specs", "--duration", "1",
           "--record", str(tmp_path)]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert f"{events_file}:4: the drill's event log is damaged" in run.stderr
    assert "Traceback" not in run.stderr
    assert f"kept in {events_file}" in run.stdout and "a new log" in run.stdout
    log_id, _ = read_event_log(events_file) or ("", [])
    assert log_id and log_id != "old-run" and log_id in run.stdout
    assert (tmp_path / "oht_jam.events.damaged").exists()


def _head(path: Path) -> dict[str, object]:
    """The log file's first entry (its id, and where not 1 and false, first and ended)."""
    line = path.read_text(encoding="utf-8").splitlines()[1]
    head = json.loads(line)
    assert isinstance(head, dict)
    return head


async def test_the_next_run_of_a_finished_drill_starts_a_new_log_keeping_the_last(
    demo: s.PlantSpec, tmp_path: Path
) -> None:
    """Was: every run of the drill in the folder appended to one log under one id."""
    events_file = tmp_path / "oht_jam.events"
    prev = tmp_path / "oht_jam.events.prev"
    sim = _drill_server(demo, tmp_path)
    await sim.start()
    ann = DrillClient(sim.endpoint_url, "ann")
    try:
        await ann.connect()
        await ann.call_maintenance("OHT", "first run")
        await ann.call("Finish")  # the trainer ends the drill (anyone may: no --trainer)
        await _until(lambda: sim.state == "finished")
    finally:
        await ann.disconnect()
        await sim.stop()
    first_id, first_run = read_event_log(events_file) or ("", [])
    assert first_id == sim.events.id and first_run[-1].message == "drill oht_jam finished"
    assert _head(events_file) == {"log": first_id, "ended": True}

    second = _drill_server(demo, tmp_path)  # the next run, in a new process
    assert second.events.id != first_id and second.events.last == 0
    assert second.events.previous == prev and not events_file.exists()
    assert read_event_log(prev) == (first_id, first_run)  # the last run's log, whole
    await second.start()
    try:
        got = await _get_events(second.endpoint_url, 0)
        assert got["log"] == second.events.id  # a new id: a client reads it from its start
        assert all("first run" not in str(e) for e in got["events"])
    finally:
        await second.stop()
    second_id, second_run = read_event_log(events_file) or ("", [])
    assert second_id == second.events.id and _head(events_file) == {"log": second_id}

    again = _drill_server(demo, tmp_path)  # the second run restarted before it finished
    assert (again.events.id, again.events.events) == (second_id, second_run)
    assert again.events.previous is None and read_event_log(prev) == (first_id, first_run)
    await again.finish()  # ended, stopped: the run after it starts anew, this log its .prev
    third = _drill_server(demo, tmp_path)
    assert third.events.id not in (first_id, second_id) and third.events.last == 0
    prev_id, prev_run = read_event_log(prev) or ("", [])
    assert prev_id == second_id and prev_run[: len(second_run)] == second_run
    # the new log's file is written at its first entry; the last run's log is the .prev
    names = sorted(p.name for p in tmp_path.glob("oht_jam.events*"))
    assert names == ["oht_jam.events.bak", "oht_jam.events.prev"]


async def test_a_long_run_keeps_its_newest_entries_with_their_numbers(
    demo: s.PlantSpec, tmp_path: Path
) -> None:
    events_file = tmp_path / "oht_jam.events"
    sim = _drill_server(demo, tmp_path)
    sim.events.max_entries = 3
    await sim.start()
    ann = DrillClient(sim.endpoint_url, "ann")
    try:
        await ann.connect()
        for k in range(4):
            await ann.call_maintenance("OHT", f"call {k}")
        await _until(lambda: sim.events.last >= 6)
        last = sim.events.last
        got = await _get_events(sim.endpoint_url, 0)
        assert got["log"] == sim.events.id and got["last"] == last
        events = got["events"]
        assert isinstance(events, list)
        assert [e["seq"] for e in events] == [last - 2, last - 1, last]  # numbers as served
        kept = {e.seq: e.to_dict() for e in sim.events.events}
        assert all(kept.get(e["seq"], e) == e for e in events)  # the entries themselves
        tail = await _get_events(sim.endpoint_url, last - 1)
        assert [e["seq"] for e in tail["events"]] == [last]
    finally:
        await ann.disconnect()
        await sim.stop()
    log_id = sim.events.id
    assert _head(events_file) == {"log": log_id, "first": sim.events.first}
    assert [e.seq for e in (read_event_log(events_file) or ("", []))[1]] == list(
        range(sim.events.first, sim.events.last + 1)
    )
    assert len(sim.events.events) == 3

    again = _drill_server(demo, tmp_path)  # restarted before the drill finished
    assert again.events.id == log_id and again.events.first == sim.events.first
    assert again.events.last == sim.events.last
    again.events.add("state", "drill running")
    assert again.events.last == sim.events.last + 1  # numbered on from the kept ones


def test_an_old_long_log_is_cut_to_the_newest_entries_at_the_first_write(tmp_path: Path) -> None:
    path = tmp_path / "d.events"
    kept = [LoggedEvent(n, "state", f"event {n}") for n in range(1, 13)]
    old = DrillEventLog("old-run", path, kept)  # as written before logs were bounded
    old.flush()
    assert _head(path) == {"log": "old-run"}
    log = DrillEventLog.open(path, max_entries=5)
    assert (log.id, log.first, log.last) == ("old-run", 8, 12)
    assert [e.seq for e in log.after(0)] == [8, 9, 10, 11, 12]
    assert [e.seq for e in log.after(9)] == [10, 11, 12] and log.after(12) == []
    assert json.loads(log.to_json(10))["events"] == [e.to_dict() for e in kept[10:]]
    log.flush()
    assert _head(path) == {"log": "old-run", "first": 8}
    assert read_event_log(path) == ("old-run", kept[7:])
    assert log.add("state", "next") == 13 and log.first == 9


def test_serve_on_a_finished_run_starts_the_next_with_a_new_log(tmp_path: Path) -> None:
    events_file = tmp_path / "oht_jam.events"
    ended = DrillEventLog("last-run", events_file, ended=True)
    ended.add("state", "drill oht_jam finished")
    ended.flush()
    before = events_file.read_bytes()
    cmd = [sys.executable, "-m", "factory_twin", "serve", str(DEMO), "--drill", "oht_jam",
           "--endpoint", _url(), "--no-companion-specs", "--duration", "1",
           "--record", str(tmp_path)]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    prev = tmp_path / "oht_jam.events.prev"
    assert f"a new run: the finished run's log is kept as {prev}" in run.stdout
    assert prev.read_bytes() == before
    log_id, _ = read_event_log(events_file) or ("", [])
    assert log_id and log_id != "last-run" and log_id in run.stdout
