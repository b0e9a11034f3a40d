"""The historian: Parquet round trip, and `factory-twin record` surviving SIGINT and a server restart."""

from __future__ import annotations

import asyncio
import math
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from _client_support import PLANT_YAML, free_port, plant_spec, start_server, wait_for

from factory_twin.errors import FactoryTwinError
from factory_twin.model.events import (
    RAIL_EQUIPMENT,
    VEHICLE_PREFIX,
    AlarmEvent,
    ConnectionStatus,
    E10State,
    LotMove,
    Quality,
    ShelvingState,
    StateChange,
    TagUpdate,
)
from factory_twin.opcua.historian import HistoryWriter, iter_events, read_history, recover_partial

REPO = Path(__file__).resolve().parents[2]


def test_round_trip_every_event_kind_in_row_groups(tmp_path: Path) -> None:
    events = [
        TagUpdate("T1", "temp", 21.5, 10.0, Quality.GOOD, 10.1, "Good"),
        TagUpdate("T1", "count", 2**40, 11.0),
        TagUpdate("T1", "door", True, 12.0),
        TagUpdate("T1", "state", "productive", 9.0),
        TagUpdate("T1", "temp", None, 13.0, Quality.STALE, None, "BadNoCommunication"),
        AlarmEvent("ns=2;s=T1.Alarms.temp.hi", "T1", "temp.hi", 600, "temp.hi: high", 14.0, True, False,
                   event_id=b"\x01\x02"),
        AlarmEvent("ns=2;s=T1.Alarms.temp.lo", "T1", "temp.lo", 500, "temp.lo: low", 14.5, True, False,
                   shelving=ShelvingState.TIMED, unshelve_time_s=3600.0),
        AlarmEvent("ns=2;s=T1.Alarms.p.hi", "T1", "p.hi", 700, "p.hi: high", 14.6, True, True,
                   out_of_service=True),
        ConnectionStatus("sim", True, "back", 15.0, 3.5),
        StateChange("T1", E10State.SCHEDULED_DOWN, 16.0, "pm"),
        LotMove("L1", "p1", None, "T1", 17.0, 18.0, 1),
    ]  # fmt: skip
    out = tmp_path / "h.parquet"
    with HistoryWriter(out, rows_per_group=3) as w:
        for ev in events:
            w.add([ev])
        assert not out.exists()  # only the .partial exists until closed
    assert out.exists() and not (tmp_path / "h.parquet.partial").exists()
    assert pq.ParquetFile(out).metadata.num_row_groups == math.ceil(len(events) / 3)
    df = read_history(out)
    assert len(df) == len(events)
    assert df["value"].tolist()[:5] == [21.5, 2**40, True, "productive", None]
    assert type(df["value"][2]) is bool and type(df["value"][1]) is int
    back = list(iter_events(out))
    assert back == sorted(
        events,
        key=lambda e: getattr(e, "time_s", getattr(e, "source_ts", getattr(e, "depart_s", 0))),
    )
    assert next(e for e in back if isinstance(e, AlarmEvent)).event_id == b"\x01\x02"
    shelved = next(e for e in back if isinstance(e, AlarmEvent) and e.code == "temp.lo")
    assert shelved.shelving is ShelvingState.TIMED and shelved.unshelve_time_s == 3600.0
    assert shelved.suppressed  # a replay shows it shelved, as it was live
    assert next(e for e in back if isinstance(e, AlarmEvent) and e.code == "p.hi").out_of_service


def test_a_version_1_history_reads_its_alarms_as_unshelved(tmp_path: Path) -> None:
    """Files recorded before the suppression columns existed still replay."""
    old = tmp_path / "old.parquet"
    out = tmp_path / "new.parquet"
    with HistoryWriter(out) as w:
        w.add([AlarmEvent("a", "T1", "temp.hi", 600, "m", 1.0, True, False)])
    table = pq.read_table(out)
    gone = [n for n in ("shelving", "unshelve_s", "out_of_service") if n in table.column_names]
    assert len(gone) == 3
    pq.write_table(table.drop_columns(gone), old)
    (ev,) = list(iter_events(old))
    assert ev.shelving is ShelvingState.UNSHELVED and not ev.out_of_service and ev.active


def test_bad_history_files_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FactoryTwinError, match="no such history file"):
        read_history(tmp_path / "missing.parquet")
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    with pytest.raises(FactoryTwinError, match="not a Parquet file"):
        list(iter_events(junk))
    import pandas as pd

    other = tmp_path / "other.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(other)
    with pytest.raises(FactoryTwinError, match="not a factory_twin history"):
        read_history(other)


def _record_args(tmp_path: Path, url: str) -> tuple[list[str], Path]:
    """The command line of ``factory-twin record`` against the server at ``url``, and its output."""
    plant = tmp_path / "plant.yaml"
    # the plant file's port is wrong on purpose: --endpoint must override it
    plant.write_text(PLANT_YAML.replace("PORT", "1").replace("WRITES", "false"))
    out = tmp_path / "history.parquet"
    args = [sys.executable, "-m", "factory_twin", "record", str(plant), "--out", str(out),
            "--endpoint", f"sim={url}", "--publishing-ms", "50", "--sampling-ms", "50"]  # fmt: skip
    return args, out


async def _spawn(
    args: list[str], duration: str, stdout: int
) -> tuple[asyncio.subprocess.Process, list[str], asyncio.Task[None]]:
    """Start the recorder; its stderr lines collect in the returned list as they come."""
    proc = await asyncio.create_subprocess_exec(
        *args, "--duration", duration, stdout=stdout, stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )  # fmt: skip
    err_lines: list[str] = []

    async def read_err() -> None:
        assert proc.stderr is not None
        async for line in proc.stderr:
            err_lines.append(line.decode().rstrip())

    return proc, err_lines, asyncio.create_task(read_err())


async def _within(what: str, aw: Any, timeout_s: float, err_lines: list[str]) -> Any:
    """Await ``aw`` or fail naming the step that hung and what the recorder said by then."""
    try:
        return await asyncio.wait_for(aw, timeout_s)
    except TimeoutError:
        pytest.fail(f"{what} took over {timeout_s:.0f} s; recorder stderr: {err_lines}")


@pytest.mark.timeout(300)
async def test_record_survives_server_restart_and_sigint(tmp_path: Path) -> None:
    port = free_port()
    spec = plant_spec(port)
    srv = await start_server(spec, port)
    args, out = _record_args(tmp_path, srv.url)
    proc, err_lines, reader = await _spawn(args, "10m", asyncio.subprocess.PIPE)
    sent: list[float] = []
    try:
        assert await wait_for(lambda: any("connected to" in x for x in err_lines), 60), err_lines
        for i in range(1, 16):
            sent.append(float(i))
            await _within(
                "a server write", srv.set("ETCH-01", "rf_power", float(i)), 10, err_lines
            )
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        await _within("stopping the server", srv.stop(), 20, err_lines)
        assert await wait_for(lambda: any("lost connection" in x for x in err_lines), 10), (
            err_lines
        )
        srv = await _within(
            "restarting the server",
            start_server(spec, port, state={"values": {("ETCH-01", "rf_power"): 100.0}}),
            30,
            err_lines,
        )
        sent.append(100.0)
        assert await wait_for(lambda: any("back after" in x for x in err_lines), 60), err_lines
        for i in range(101, 116):
            sent.append(float(i))
            await _within(
                "a server write", srv.set("ETCH-01", "rf_power", float(i)), 10, err_lines
            )
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        assert proc.stdout is not None
        stdout = await _within(
            "the recorder's output after SIGINT", proc.stdout.read(), 30, err_lines
        )
        await _within("the recorder's exit after SIGINT", proc.wait(), 30, err_lines)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await _within("stopping the server", srv.stop(), 20, err_lines)
        await _within("the recorder's stderr", reader, 10, err_lines)
    text = stdout.decode()
    assert proc.returncode == 0, (text, err_lines)
    assert "stopped: SIGINT received" in text
    m = re.search(
        r"(\d+) rows \((\d+) tag updates, (\d+) alarm events, (\d+) connection changes\)", text
    )
    assert m, text
    rows, tags = int(m.group(1)), int(m.group(2))
    df = read_history(out)
    assert len(df) == rows
    assert (df["kind"] == "tag").sum() == tags  # every update the client received is in the file
    rf = df[(df["kind"] == "tag") & (df["equipment"] == "ETCH-01") & (df["tag"] == "rf_power")]
    good = rf[rf["quality"] == "good"]["value"].tolist()
    for v in sent:
        assert v in good, f"value {v} sent while connected is missing from {good}"
    stale = df[df["quality"] == "stale"]
    assert len(stale) == 18 and rf[rf["quality"] == "stale"]["value"].tolist() == [15.0]
    conn = df[df["kind"] == "connection"]
    assert conn["connected"].tolist().count(False) >= 2  # lost, then stopped
    gaps = conn["gap_s"].dropna().tolist()
    assert len(gaps) == 1 and gaps[0] > 0.5


def test_an_unfinished_recording_stays_readable_and_is_recovered(tmp_path: Path) -> None:
    out = tmp_path / "h.parquet"
    w = HistoryWriter(out, rows_per_group=2)
    for i in range(7):  # three groups of two written, one row still buffered
        w.add([TagUpdate("T1", "temp", float(i), float(i))])
    partial = tmp_path / "h.parquet.partial"
    whole = partial.read_bytes()
    w._sink.close()  # the process dies here: no close(), no Parquet file
    partial.write_bytes(whole + whole[-40:])  # and a torn last write after the complete groups
    assert read_history(partial)["value"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    # the next recording to the same file keeps the old data first
    w2 = HistoryWriter(out)
    assert w2.recovered is not None and w2.recovered.name.startswith("h.recovered-")
    assert read_history(w2.recovered)["value"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    w2.add([TagUpdate("T1", "temp", 99.0, 99.0)])
    w2.close()
    assert read_history(out)["value"].tolist() == [99.0] and not partial.exists()
    # something else under the .partial name is never overwritten
    partial.write_text("not a stream")
    with pytest.raises(FactoryTwinError, match="move it away or delete it"):
        HistoryWriter(out)
    assert partial.read_text() == "not a stream"
    partial.write_bytes(b"")  # killed before it wrote anything: nothing to keep
    assert recover_partial(partial) is None and not partial.exists()


# three recorder processes start in turn (each imports asyncua, pandas and pyarrow): on a
# loaded two-core machine that alone took over two minutes once
@pytest.mark.timeout(360)
async def test_record_killed_outright_loses_nothing_flushed(tmp_path: Path) -> None:
    port = free_port()
    spec = plant_spec(port)
    srv = await start_server(spec, port)
    args, out = _record_args(tmp_path, srv.url)
    proc, err_lines, reader = await _spawn(args, "10m", asyncio.subprocess.DEVNULL)
    try:
        assert await wait_for(lambda: any("connected to" in x for x in err_lines), 60), err_lines
        for v in (11.0, 12.0, 13.0):
            await srv.set("ETCH-01", "rf_power", v)
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)
        await srv.stop()  # a lost connection flushes what was received
        assert await wait_for(lambda: any("lost connection" in x for x in err_lines), 10), (
            err_lines
        )
        proc.kill()
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await srv.stop()
        await reader
    partial = tmp_path / "history.parquet.partial"
    assert not out.exists() and partial.exists()
    df = read_history(partial)
    rf = df[(df["tag"] == "rf_power") & (df["quality"] == "good")]["value"].tolist()
    assert [v for v in rf if v in (11.0, 12.0, 13.0)] == [11.0, 12.0, 13.0]
    # the next recording to the same file keeps it, and says where
    again = await asyncio.create_subprocess_exec(
        *args, "--duration", "1s", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )  # fmt: skip
    text = (await asyncio.wait_for(again.communicate(), 60))[0].decode()
    assert again.returncode == 1, text  # the server is gone: this run itself recorded nothing
    kept = list(tmp_path.glob("history.recovered-*.parquet"))
    assert len(kept) == 1 and str(kept[0]) in text and "unfinished recording" in text
    assert read_history(kept[0])["value"].tolist() == df["value"].tolist()
    assert out.exists() and not partial.exists()


def test_duration_strings() -> None:
    from factory_twin.cli.record import parse_duration

    assert [parse_duration(t) for t in ("30s", "10m", "1h", "2d", "90", "1.5h")] == [
        30.0, 600.0, 3600.0, 172800.0, 90.0, 5400.0,
    ]  # fmt: skip
    for bad in ("", "0s", "-1m", "5x", "1 hour"):
        with pytest.raises(FactoryTwinError, match="duration must look like"):
            parse_duration(bad)


def test_vehicle_positions_are_thinned_to_one_per_period_ending_where_they_stop(
    tmp_path: Path,
) -> None:
    """100 updates/s of one vehicle keep 1 per second, the last place and each state change."""
    eq = f"{VEHICLE_PREFIX}OHT-001"
    events: list[Any] = []
    for k in range(501):  # 5 s at 100 Hz: x runs 0..500, y fixed; then it stands still
        t = 1000.0 + k * 0.01
        events += [TagUpdate(eq, "x", float(k), t), TagUpdate(eq, "y", 2.0, t)]
        if k == 250:  # it picks a lot up at x = 250
            events.append(TagUpdate(eq, "state", "loaded", t))
        events.append(TagUpdate("T1", "temp", 20.0 + k, t))  # a tool's tag: never thinned
    out = tmp_path / "v.parquet"
    with HistoryWriter(out, rows_per_group=10_000, flush_s=1e9, vehicle_period_s=1.0) as w:
        for k in range(0, len(events), 7):  # in batches, as a client drains them
            w.add(events[k : k + 7])
        w.add([TagUpdate("T1", "temp", 0.0, 1010.0)])  # time goes on: the held place is due
        assert w.vehicles.dropped > 900
    back = [e for e in iter_events(out) if isinstance(e, TagUpdate)]
    assert len([e for e in back if e.equipment == "T1"]) == 502
    xs = [(e.source_ts, e.value) for e in back if e.equipment == eq and e.tag == "x"]
    ts = [t for t, _ in xs]
    # one position a second (plus the one at the state change), never two closer than that
    # except the state change's
    assert 6 <= len(xs) <= 8
    assert xs[0] == (1000.0, 0.0)
    assert xs[-1][1] == 500.0  # where it stopped
    assert (1002.5, 250.0) in [(round(t, 6), v) for t, v in xs]  # where it picked the lot up
    gaps = np.diff(ts)
    assert (gaps > 0).all()
    assert sum(gaps < 0.99) <= 2  # the state change's sample and the last one
    ys = [e for e in back if e.equipment == eq and e.tag == "y"]
    assert len(ys) >= 1 and all(e.value == 2.0 for e in ys)
    states = [e.value for e in back if e.equipment == eq and e.tag == "state"]
    assert states == ["loaded"]


def test_vehicle_period_zero_keeps_every_update(tmp_path: Path) -> None:
    eq = f"{VEHICLE_PREFIX}OHT-002"
    out = tmp_path / "all.parquet"
    with HistoryWriter(out, vehicle_period_s=0.0) as w:
        w.add([TagUpdate(eq, "x", float(k), 5.0 + k * 0.01) for k in range(50)])
    assert len(read_history(out)) == 50


def test_rail_congestion_arrays_are_kept_once_a_minute_and_read_back(tmp_path: Path) -> None:
    out = tmp_path / "rails.parquet"
    with HistoryWriter(out, flush_s=1e9) as w:
        for k in range(300):  # 5 minutes of a new array every second
            t = 100.0 + k
            w.add([TagUpdate(RAIL_EQUIPMENT, "blocked_s_per_h", (float(k), 0.5), t)])
            w.add([TagUpdate(RAIL_EQUIPMENT, "link_ids", ("L1", "L2"), t)])
    back = [e for e in iter_events(out) if isinstance(e, TagUpdate)]
    blocked = [e for e in back if e.tag == "blocked_s_per_h"]
    assert [e.source_ts for e in blocked] == [100.0, 160.0, 220.0, 280.0, 340.0, 399.0]
    assert blocked[-1].value == (299.0, 0.5)  # the newest, kept at the end
    assert all(e.value == ("L1", "L2") for e in back if e.tag == "link_ids")


def test_a_listener_thread_may_add_while_the_recording_is_closed(tmp_path: Path) -> None:
    """A simulator's listener adds from its own thread while the window closes the recording
    (the drill server does): every row that was taken is in the file, the file reads back,
    and what comes after the close is dropped, not written to a closed stream."""
    out = tmp_path / "race.parquet"
    w = HistoryWriter(out, rows_per_group=7, flush_s=0.0)
    taken: list[int] = []
    failed: list[BaseException] = []
    started = threading.Event()

    def listener() -> None:
        i = 0
        try:
            while True:
                n = w.add([TagUpdate("T1", "state", f"run {i}", float(i))] * 3)
                started.set()
                if n == 0:
                    return  # closed
                taken.append(n)
                i += 1
        except BaseException as exc:
            failed.append(exc)
            started.set()

    t = threading.Thread(target=listener)
    t.start()
    assert started.wait(10)
    time.sleep(0.05)  # rows keep coming while the recording closes
    w.close()
    t.join(10)
    assert not t.is_alive()
    assert failed == []
    df = read_history(out)
    assert len(df) == sum(taken) > 0
    assert w.add([TagUpdate("T1", "state", "late", 1e9)]) == 0
