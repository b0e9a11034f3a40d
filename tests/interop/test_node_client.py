"""node-opcua (an independent OPC UA stack) as a client of our plant simulator server:
it browses Objects/Machines, subscribes to a tool's Parameters and to alarm events on the
Server object, and acknowledges the alarm it receives.

Marked ``interop``; needs ``node`` and ``tests/interop/node_modules`` (scripts/setup.sh runs
``npm ci --prefix tests/interop``): skipped without them, failed under CI (tests/_requirements.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from _requirements import requires

from factory_twin.model.config import load_plant
from factory_twin.model.events import TagUpdate
from factory_twin.opcua.server import SEVERITY, PlantServer

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "client_browse_subscribe.js"
MINI_PLANT = HERE.parent / "data" / "mini_plant.yaml"

pytestmark = [
    pytest.mark.interop,
    requires(shutil.which("node"), "node is not installed (Debian: apt-get install nodejs)"),
    requires(
        (HERE / "node_modules" / "node-opcua").is_dir(),
        "node-opcua is not installed: run scripts/setup.sh (or 'npm ci --prefix tests/interop')",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _run_node_client(
    server: PlantServer, equipment: str, security: str, pki: Path, on_ready: Any, ack: bool = False
) -> list[dict[str, Any]]:
    env = dict(os.environ, NODE_OPCUA_PKI=str(pki))
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        server.endpoint_url,
        equipment,
        security,
        "40",
        *(["ack"] if ack else []),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(120):
            while True:
                raw = await proc.stdout.readline()
                if not raw:
                    break
                text = raw.decode().strip()
                if not text.startswith("{"):
                    continue  # node-opcua's own progress messages
                msg = json.loads(text)
                lines.append(msg)
                if msg["type"] == "ready":
                    await on_ready()
            rc = await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    err = (await proc.stderr.read()).decode()
    assert rc == 0, f"node client exited {rc}: {err[-2000:]}"
    return lines


@pytest.mark.parametrize("security", ["none", "sign-encrypt"])
async def test_node_opcua_client_browses_subscribes_and_gets_alarms(
    security: str, tmp_path: Path
) -> None:
    spec = load_plant(MINI_PLANT).spec
    server = PlantServer(
        spec,
        endpoint=f"opc.tcp://127.0.0.1:{_free_port()}/factory_twin/",
        security=security,
        cert_dir=tmp_path / "server_pki",
    )
    eq, tag = "ETCH-01", "chamber_pressure"
    hi = spec.equipment_type("etcher").tag(tag).alarms.hi  # type: ignore[union-attr]

    async def act() -> None:
        for k in range(4):
            await server.apply([TagUpdate(eq, tag, 4.0 + 0.1 * k, float(k))])
            await asyncio.sleep(0.2)
        await server.apply([TagUpdate(eq, tag, hi + 1.0, 10.0)])

    async with server:
        lines = await _run_node_client(server, eq, security, tmp_path / "node_pki", act, ack=True)

    browse = next(m for m in lines if m["type"] == "browse")
    assert set(browse["machines"]) == {e.id for e in spec.equipment}
    assert browse["parameters"] == [tag]
    assert browse["location"] == "etch"
    values = [m["value"] for m in lines if m["type"] == "data"]
    assert [v for v in values if 3.9 < v < 4.4] == [4.0, 4.1, 4.2, 4.3]
    assert hi + 1.0 in values
    events = [m for m in lines if m["type"] == "event" and m["sourceName"] == eq]
    assert events, lines
    ev = events[0]
    assert ev["conditionName"] == f"{tag}.hi"
    assert ev["severity"] == SEVERITY["hi"]
    assert ev["message"].startswith(f"{tag}.hi: ")
    assert ev["active"] is True and ev["acked"] is False
    # node-opcua acknowledged the alarm (ConditionId + EventId it received) and saw the result.
    assert [m["status"] for m in lines if m["type"] == "ack"] == ["Good"]
    assert any(m["acked"] for m in events), events
    acks = [a for a in server.alarm_log if a.code == f"{tag}.hi" and a.acked]
    assert acks and acks[0].comment == "acknowledged from node-opcua"
    done = lines[-1]
    assert done["type"] == "done" and done["events"] >= 2
