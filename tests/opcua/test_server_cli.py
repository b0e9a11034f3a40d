"""``factory-twin serve``: runs until Ctrl-C, prints its endpoint, refuses bad input clearly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from _server_support import WATCHDOG_S, find_free_port
from asyncua import Client

from factory_twin.cli.serve import endpoint_with_port, split_equipment
from factory_twin.model.schema import PlantSpec
from factory_twin.opcua.server import NAMESPACE_URI

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "tests" / "data" / "mini_plant.yaml"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "factory_twin", "serve", *args]


async def _read_until(
    proc: asyncio.subprocess.Process, marker: str, timeout: float = 180
) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(timeout):
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                break
            lines.append(raw.decode().rstrip())
            if marker in lines[-1]:
                break
    return lines


async def test_serve_runs_until_ctrl_c(tmp_path: Path) -> None:
    port = find_free_port()
    url = f"opc.tcp://127.0.0.1:{port}/factory_twin/"
    proc = await asyncio.create_subprocess_exec(
        *_cli(str(MINI), "--endpoint", url, "--speed", "600", "--no-companion-specs"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    try:
        lines = await _read_until(proc, "Ctrl-C stops")
        assert any(f"endpoint: {url}" in ln for ln in lines), lines
        assert any("3 tools, 2 tags" in ln for ln in lines), lines
        # --no-companion-specs: the output says so, as a warning
        assert any(
            ln.startswith("warning: companion specs") and "not requested" in ln for ln in lines
        ), lines
        async with Client(url, watchdog_intervall=WATCHDOG_S) as c:
            ns = await c.get_namespace_index(NAMESPACE_URI)
            assert (
                await c.get_node(f"ns={ns};s=LITHO-01.Identification.Location").read_value()
                == "litho"
            )
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert "stopped at plant time" in out.decode()
    assert "Traceback" not in err.decode()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.yaml"], "missing.yaml: no such file"),
        ([str(MINI), "--split", "0"], "argument --split: must be between 1 and 64"),
        ([str(MINI), "--split", "4"], "more than the plant's 3 tools"),
        ([str(MINI), "--speed", "-1"], "argument --speed: must be >= 0"),
        ([str(MINI), "--users", "no-users.yaml"], "no-users.yaml: cannot read users file"),
        (
            [str(MINI), "--endpoint", "http://x"],
            "argument --endpoint: an OPC UA endpoint looks like opc.tcp://",
        ),
        ([str(MINI), "--security", "paranoid"], "invalid choice: 'paranoid'"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from factory_twin.__main__ import main

    monkeypatch.chdir(tmp_path)
    try:
        rc = main(["serve", *args])
    except SystemExit as exc:  # argparse's own errors
        rc = int(exc.code or 0)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert message in err


def test_port_in_use_exits_1(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run(
            _cli(
                str(MINI), "--endpoint", f"opc.tcp://127.0.0.1:{port}/x/", "--no-companion-specs"
            ),
            capture_output=True,
            text=True,
            timeout=180,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
        )
    assert r.returncode == 1, r.stderr
    assert f"cannot listen on opc.tcp://127.0.0.1:{port}/x/" in r.stderr
    assert "Traceback" not in r.stderr


def test_split_helpers(mini_spec: PlantSpec) -> None:
    assert endpoint_with_port("opc.tcp://127.0.0.1:4840/a/", 2) == "opc.tcp://127.0.0.1:4842/a/"
    assert endpoint_with_port("opc.tcp://localhost/a/", 1) == "opc.tcp://localhost:4841/a/"
    groups = split_equipment(mini_spec, 2)
    assert [g for g in groups if g] == groups  # no empty part
    assert sorted(i for g in groups for i in g) == sorted(e.id for e in mini_spec.equipment)
    assert [len(g) for g in split_equipment(mini_spec, 3)] == [1, 1, 1]


@pytest.mark.slow
async def test_split_serves_each_tool_once() -> None:
    port = find_free_port()
    url = f"opc.tcp://127.0.0.1:{port}/factory_twin/"
    proc = await asyncio.create_subprocess_exec(
        *_cli(
            str(MINI), "--endpoint", url, "--split", "2", "--speed", "600", "--no-companion-specs"
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    tree: list[psutil.Process] = []
    try:
        lines = await _read_until(proc, "Ctrl-C stops", timeout=300)
        tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        urls = [url, endpoint_with_port(url, 1)]
        for u in urls:
            assert any(u in ln for ln in lines), lines
        served: list[str] = []
        for u in urls:
            async with Client(u, watchdog_intervall=WATCHDOG_S) as c:
                ns = await c.get_namespace_index(NAMESPACE_URI)
                machines = await c.nodes.objects.get_child(f"{ns}:Machines")
                served += [
                    (await m.read_browse_name()).Name for m in await machines.get_children()
                ]
        assert sorted(served) == ["ETCH-01", "ETCH-02", "LITHO-01"]
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert "stopped at plant time" in out.decode()
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, alive  # no orphans


async def _fab(c: Client, ns: int) -> dict[str, float]:
    names = ("PlantClock", "LotsCompleted", "WafersCompleted", "WIP", "Moves")
    values = await c.read_values([c.get_node(f"ns={ns};s=Fab.{n}") for n in names])
    return dict(zip(names, values, strict=True))


async def _same_fab(a: Client, na: int, b: Client, nb: int) -> dict[str, float]:
    """Fab counters (clock aside) that both servers publish alike; fails when they never agree."""
    last: tuple[dict[str, float], dict[str, float]] | None = None
    for _ in range(50):
        fa, fb = await _fab(a, na), await _fab(b, nb)
        last = (fa, fb)
        if {k: v for k, v in fa.items() if k != "PlantClock"} == {
            k: v for k, v in fb.items() if k != "PlantClock"
        }:
            return fa
        await asyncio.sleep(0.1)
    pytest.fail(f"the two servers never published the same fab counters: {last}")


async def _state(c: Client, ns: int, tool: str) -> str:
    return str(await c.get_node(f"ns={ns};s={tool}.State.E10StateName").read_value())


@pytest.mark.slow
async def test_split_shares_one_simulation() -> None:
    """A Hold sent to process 2 stops the plant that process 1 serves; Resume restarts it."""
    speed = 2400  # a litho load (1800 s) takes under a wall second, a lot arrives every ~1.7 s
    port = find_free_port()
    url = f"opc.tcp://127.0.0.1:{port}/factory_twin/"
    urls = [url, endpoint_with_port(url, 1)]
    proc = await asyncio.create_subprocess_exec(
        *_cli(str(MINI), "--endpoint", url, "--split", "2", "--speed", str(speed)),
        "--no-companion-specs",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    tree: list[psutil.Process] = []
    try:
        await _read_until(proc, "Ctrl-C stops", timeout=300)
        tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        assert len(tree) >= 3, tree  # the parent and (at least) one process per part
        async with (
            Client(urls[0], watchdog_intervall=WATCHDOG_S) as a,
            Client(urls[1], watchdog_intervall=WATCHDOG_S) as b,
        ):
            na = await a.get_namespace_index(NAMESPACE_URI)
            nb = await b.get_namespace_index(NAMESPACE_URI)
            # split_equipment puts the etchers on the first port, the scanner on the second
            litho = b.get_node(f"ns={nb};s=LITHO-01")
            lots_done = (await _same_fab(a, na, b, nb))["LotsCompleted"]

            async def fab_a() -> dict[str, float]:
                return await _fab(a, na)

            # the plant runs: lots leave the etchers (served by process 1)
            deadline = asyncio.get_running_loop().time() + 60
            while (await fab_a())["LotsCompleted"] <= lots_done:
                assert asyncio.get_running_loop().time() < deadline, "no lot completed"
                await asyncio.sleep(0.2)

            # Hold the scanner through process 2: process 2 shows it held...
            await litho.call_method(f"{nb}:Hold")
            deadline = asyncio.get_running_loop().time() + 30
            while await _state(b, nb, "LITHO-01") != "engineering":
                assert asyncio.get_running_loop().time() < deadline, "LITHO-01 never held"
                await asyncio.sleep(0.1)
            # ... and process 1's etchers run dry: no lot reaches them any more
            deadline = asyncio.get_running_loop().time() + 30
            while {await _state(a, na, t) for t in ("ETCH-01", "ETCH-02")} != {"standby"}:
                assert asyncio.get_running_loop().time() < deadline, "the etchers never ran dry"
                await asyncio.sleep(0.1)
            held = await _same_fab(a, na, b, nb)
            # six mean interarrival times of plant time later, still nothing has completed
            while (await fab_a())["PlantClock"] < held["PlantClock"] + 24_000:
                await asyncio.sleep(0.2)
            after = await _same_fab(a, na, b, nb)
            assert after["LotsCompleted"] == held["LotsCompleted"], (held, after)
            assert after["Moves"] == held["Moves"], (held, after)
            assert after["WIP"] > held["WIP"]  # lots are still released, and wait for litho
            assert {await _state(a, na, t) for t in ("ETCH-01", "ETCH-02")} == {"standby"}
            # one plant clock: both servers publish (nearly) the same time
            ca, cb = (await _fab(a, na))["PlantClock"], (await _fab(b, nb))["PlantClock"]
            assert abs(ca - cb) <= 2 * speed, (ca, cb)

            # Resume through process 2: the scanner works again, lots reach process 1's tools
            await litho.call_method(f"{nb}:Resume")
            deadline = asyncio.get_running_loop().time() + 30
            while await _state(b, nb, "LITHO-01") == "engineering":
                assert asyncio.get_running_loop().time() < deadline, "LITHO-01 still held"
                await asyncio.sleep(0.1)
            deadline = asyncio.get_running_loop().time() + 60
            while (await fab_a())["LotsCompleted"] <= after["LotsCompleted"]:
                assert asyncio.get_running_loop().time() < deadline, "no lot after Resume"
                await asyncio.sleep(0.2)
            await _same_fab(a, na, b, nb)
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert "Traceback" not in err.decode(), err.decode()
    # no orphans: every process of the tree is gone
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, alive


@pytest.mark.slow
async def test_split_server_processes_stop_when_the_parent_is_killed() -> None:
    port = find_free_port()
    url = f"opc.tcp://127.0.0.1:{port}/factory_twin/"
    proc = await asyncio.create_subprocess_exec(
        *_cli(str(MINI), "--endpoint", url, "--split", "2", "--no-companion-specs"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    children: list[psutil.Process] = []
    try:
        await _read_until(proc, "Ctrl-C stops", timeout=300)
        children = psutil.Process(proc.pid).children(recursive=True)
    finally:
        proc.kill()  # SIGKILL: no chance to stop its server processes itself
        await proc.wait()
    assert len(children) >= 2
    _, alive = psutil.wait_procs(children, timeout=20)
    for p in alive:
        p.kill()
    assert not alive, alive  # each server process noticed its parent was gone
