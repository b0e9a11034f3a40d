"""``factory-twin record --deadband`` on a node of BaseDataType, and on a server that refuses
the deadband filter.

The servers are plain asyncua servers built here, on 127.0.0.1 and a free port. ETCH-01's
chamber_pressure node is declared BaseDataType (any Variant), so it may send a number and then
a String. asyncua's server applies an absolute deadband by subtracting the previous value from
the new one: on such a node the first String (or null) raised inside the server and the tag
delivered nothing more. The client now puts the deadband only on nodes whose DataType is a
number type, says once which tags go without it, and a tag whose filter the server refuses
(as a stack without deadband support answers) is monitored without it, with one warning.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from _any_type_server import ANY_TAG, AnyTypeServer, any_type_server
from _client_support import PLANT_YAML, plant_spec, wait_for
from asyncua import ua
from asyncua.server.monitored_item_service import MonitoredItemService

from factory_twin.model.events import Quality, TagUpdate
from factory_twin.opcua.client import PlantClient
from factory_twin.opcua.historian import read_history

pytestmark = pytest.mark.timeout(240)

REPO = Path(__file__).resolve().parents[2]
NODES = {
    "chamber_pressure": (3.0, ua.VariantType.Double),
    "rf_power": (200.0, ua.VariantType.Double),
    "step": (1, ua.VariantType.Int32),
    "door_open": (False, ua.VariantType.Boolean),
}


@pytest_asyncio.fixture
async def served() -> AsyncIterator[AnyTypeServer]:
    async with any_type_server(NODES) as srv:
        yield srv


async def test_record_with_deadband_keeps_a_base_data_type_node_that_sends_a_string(
    served: AnyTypeServer, tmp_path: Path
) -> None:
    plant = tmp_path / "plant.yaml"
    plant.write_text(PLANT_YAML.replace("PORT", "1").replace("WRITES", "false"))
    out = tmp_path / "history.parquet"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "factory_twin", "record", str(plant), "--out", str(out),
        "--endpoint", f"sim={served.url}", "--deadband", "0.5", "--duration", "5m",
        "--publishing-ms", "50", "--sampling-ms", "50",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )  # fmt: skip
    err: list[str] = []

    async def read_err() -> None:
        assert proc.stderr is not None
        async for line in proc.stderr:
            err.append(line.decode().rstrip())

    reader = asyncio.create_task(read_err())
    try:
        assert await wait_for(lambda: any("connected to" in x for x in err), 90), err
        # the number, a String, a number again; and a Double node's deadband still holds
        writes = [
            (*ANY_TAG, 5.0, ua.VariantType.Double),
            ("ETCH-01", "rf_power", 200.3, ua.VariantType.Double),  # within 0.5: filtered
            (*ANY_TAG, "sensor offline", ua.VariantType.String),
            ("ETCH-01", "rf_power", 201.0, ua.VariantType.Double),
            (*ANY_TAG, 7.0, ua.VariantType.Double),
        ]
        for eq, tag, value, vtype in writes:
            await served.write(eq, tag, value, vtype)
            await asyncio.sleep(0.4)
        await asyncio.sleep(0.6)
        proc.send_signal(signal.SIGINT)
        assert proc.stdout is not None
        stdout = (await asyncio.wait_for(proc.stdout.read(), 60)).decode()
        await asyncio.wait_for(proc.wait(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await asyncio.wait_for(reader, 10)
    assert proc.returncode == 0, (stdout, err)
    assert "stopped: SIGINT received" in stdout
    df = read_history(out)
    tags = df[df["kind"] == "tag"]
    cp = tags[(tags["equipment"] == "ETCH-01") & (tags["tag"] == "chamber_pressure")]
    # the numbers before and after the String are good values; the String itself is
    # recorded too, as a value that does not fit the float tag
    shown = [
        (q, v) if q == "good" else (q, s)
        for q, v, s in zip(cp["quality"], cp["value"], cp["status"], strict=True)
        if q == "good" or s == "BadTypeMismatch"
    ]
    assert shown == [
        ("good", 3.0),
        ("good", 5.0),
        ("bad", "BadTypeMismatch"),
        ("good", 7.0),
    ], cp[["quality", "value", "status"]]
    rf = tags[(tags["equipment"] == "ETCH-01") & (tags["tag"] == "rf_power")]
    assert rf["value"].tolist() == [200.0, 201.0]  # 200.3 was within the deadband
    # said once, in the command's output
    said = [x for x in err if "no deadband" in x]
    assert said == [
        "sim: no deadband on 1 tag whose node is not of a number type (every change is kept): "
        "ETCH-01.chamber_pressure (BaseDataType)"
    ], err
    assert not [x for x in err if "Traceback" in x or "deadband filter" in x], err


@pytest.fixture
def refuses_deadband(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the servers of this test answer a deadband filter as a stack without deadband
    support does (BadMonitoredItemFilterUnsupported); the node ids it refused are listed."""
    refused: list[str] = []
    create = MonitoredItemService._create_data_change_monitored_item

    async def refuse(
        self: MonitoredItemService, params: ua.MonitoredItemCreateRequest
    ) -> ua.MonitoredItemCreateResult:
        # decoded as asyncua's generated DataChangeFilter, not the ua.DataChangeFilter class
        deadband = getattr(params.RequestedParameters.Filter, "DeadbandType", 0)
        if deadband != ua.DeadbandType.None_:
            refused.append(params.ItemToMonitor.NodeId.to_string())
            result = ua.MonitoredItemCreateResult()
            result.StatusCode = ua.StatusCode(ua.StatusCodes.BadMonitoredItemFilterUnsupported)
            return result
        return await create(self, params)

    monkeypatch.setattr(MonitoredItemService, "_create_data_change_monitored_item", refuse)
    return refused


async def test_a_tag_whose_deadband_the_server_refuses_is_monitored_without_it(
    served: AnyTypeServer, refuses_deadband: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="factory_twin.opcua.client")
    spec = plant_spec(served.port)
    client = PlantClient(spec, publishing_ms=50, sampling_ms=50, deadband=0.5)
    await client.start()
    got: list[TagUpdate] = []

    def values(equipment: str, tag: str) -> list[Any]:
        got.extend(e for e in client.drain() if isinstance(e, TagUpdate))
        return [
            u.value
            for u in got
            if (u.equipment, u.tag) == (equipment, tag) and u.quality is Quality.GOOD
        ]

    try:
        assert await client.wait_connected(20), client.status()
        # every numeric tag on a number node asked for the filter and was refused, and yet
        # every one of them is monitored
        numbers = [("ETCH-01", "rf_power"), ("ETCH-01", "step"), ("ETCH-02", "chamber_pressure"),
                   ("ETCH-02", "rf_power"), ("ETCH-02", "step")]  # fmt: skip
        assert sorted(refuses_deadband) == sorted(served.node(*k).to_string() for k in numbers)
        assert client.monitored_item_count() == 8  # those five, two Booleans and the BaseDataType
        for v in (200.2, 200.4):  # within the deadband: each is kept, the server has none
            await served.write("ETCH-01", "rf_power", v, ua.VariantType.Double)
            assert await wait_for(lambda v=v: v in values("ETCH-01", "rf_power"), 10)
        await served.write("ETCH-02", "step", 2, ua.VariantType.Int32)
        assert await wait_for(lambda: 2 in values("ETCH-02", "step"), 10)
        warned = [
            r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and "deadband" in r.getMessage()
        ]  # fmt: skip
        assert warned == [
            "endpoint sim: the server refused the deadband filter "
            "(BadMonitoredItemFilterUnsupported) on ETCH-01.rf_power, ETCH-01.step, "
            "ETCH-02.chamber_pressure, ETCH-02.rf_power, ETCH-02.step: monitored without it, "
            "every change is kept"
        ], warned
        assert client.notices() == [
            "no deadband on 1 tag whose node is not of a number type (every change is kept): "
            "ETCH-01.chamber_pressure (BaseDataType)",
            warned[0].removeprefix("endpoint sim: "),
        ]
        assert not [p for p in client.problems() if "refused to monitor" in p]
    finally:
        await client.stop()
