"""Our PlantClient against a node-opcua SERVER (an independent OPC UA stack).

The server is tests/opcua/interop_server/server.js; node-opcua comes from
tests/interop/node_modules (``npm ci --prefix tests/interop``). Skipped with a reason when
node or node-opcua is missing, except in CI (``CI`` set), where that fails the tests.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from _client_support import free_port, plant_spec, wait_for
from _node_tools import node_opcua_missing
from _requirements import requires

from factory_twin.model.events import AlarmEvent, Quality, TagUpdate
from factory_twin.model.schema import PlantSpec
from factory_twin.opcua.client import PlantClient

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "interop_server" / "server.js"
MISSING = node_opcua_missing()

pytestmark = [pytest.mark.interop, pytest.mark.timeout(180), requires(not MISSING, MISSING)]


class NodeServer:
    """The node-opcua server process and the JSON lines it prints."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[dict[str, Any]] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            text = raw.decode(errors="replace").strip()
            if text.startswith("{"):
                self.lines.append(json.loads(text))

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())

    def seen(self, key: str) -> list[Any]:
        return [x[key] for x in self.lines if key in x]

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.send(cmd="stop")
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        await self.reader


async def test_client_binds_subscribes_calls_and_acknowledges_on_node_opcua(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = dict(os.environ, NODE_OPCUA_PKI=str(tmp_path / "pki"))
    proc = await asyncio.create_subprocess_exec(
        "node", str(SCRIPT), str(port),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )  # fmt: skip
    node = NodeServer(proc)
    try:
        assert await wait_for(lambda: node.seen("ready") or proc.returncode is not None, 90)
        assert node.seen("ready"), "node-opcua server did not start"
        data = plant_spec(port).model_dump(mode="json")
        data["endpoints"][0]["url"] = f"opc.tcp://127.0.0.1:{port}/interop"
        data["equipment"] = [e for e in data["equipment"] if e["id"] == "ETCH-01"]
        spec = PlantSpec.model_validate(data)
        client = PlantClient(spec, publishing_ms=100, sampling_ms=100)
        await client.start()
        events: list = []

        def got(pred: Any) -> bool:
            events.extend(client.drain())
            return any(pred(e) for e in events)

        try:
            assert await client.wait_connected(30), client.status()
            # binding by the convention works on a foreign stack
            assert client.problems() == []
            assert len(client.bound()) == 4 + 5
            assert client.bound()[("ETCH-01", "rf_power")] == "ns=2;s=ETCH-01.Parameters.rf_power"
            # subscription: the ramping value arrives, several times
            assert await wait_for(
                lambda: (
                    got(lambda e: False)
                    or len(
                        {
                            e.value
                            for e in events
                            if isinstance(e, TagUpdate) and e.tag == "rf_power"
                        }
                    )
                    >= 5
                ),
                15,
            )
            ops = [e for e in events if isinstance(e, TagUpdate) and e.tag == "operation_mode"]
            assert ops and ops[-1].value == "processing" and ops[-1].quality is Quality.GOOD
            # a method call
            assert await client.call_method("ETCH-01", "Hold") is True
            assert await wait_for(lambda: node.seen("method") == ["Hold"], 10)
            # an ExclusiveLimitAlarm on the server becomes an AlarmEvent
            node.send(cmd="set", tag="chamber_pressure", value=9.5)
            assert await wait_for(
                lambda: got(lambda e: isinstance(e, AlarmEvent) and e.active and not e.acked), 15
            ), events[-5:]
            alarm = next(
                e for e in events if isinstance(e, AlarmEvent) and e.active and not e.acked
            )
            assert alarm.equipment == "ETCH-01" and alarm.code == "chamber_pressure.hi"
            assert alarm.event_id and alarm.alarm_id.startswith(
                "ns=2;s=ETCH-01.Alarms.chamber_pressure.hi"
            )
            # and acknowledging it reaches the node-opcua condition
            await client.acknowledge(alarm, "interop ack", "alice")
            assert await wait_for(lambda: node.seen("ack") == ["interop ack"], 10)
            assert await wait_for(
                lambda: got(lambda e: isinstance(e, AlarmEvent) and e.acked and e.active), 10
            ), [e for e in events if isinstance(e, AlarmEvent)]
        finally:
            await client.stop()
    finally:
        await node.stop()
