"""`factory-twin record` run in-process quietens the OPC UA loggers only while it records.

A short recording of the demo fab, served by the plant simulator server (real asyncua,
127.0.0.1, a free port) on a loop thread of its own: while it runs, a watcher thread sees
the asyncua and client loggers at CRITICAL and ERROR; afterwards each has the level it had
before, whether set by the host (INFO) or never set (NOTSET), also when the run fails.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from factory_twin.cli import main
from factory_twin.model.config import load_plant
from factory_twin.opcua.historian import read_history
from factory_twin.opcua.loop import AsyncioThread
from factory_twin.opcua.server import PlantServer

DEMO = Path(__file__).resolve().parents[2] / "plant_configs" / "demo_fab.yaml"
NAMES = ("asyncua", "factory_twin.opcua.client")

pytestmark = pytest.mark.timeout(180)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def host_levels() -> Iterator[dict[str, int]]:
    """The levels a host program set (client INFO) or left alone (asyncua NOTSET);
    put back after the test whatever happens."""
    saved = {n: logging.getLogger(n).level for n in NAMES}
    levels = {"asyncua": logging.NOTSET, "factory_twin.opcua.client": logging.INFO}
    for n, level in levels.items():
        logging.getLogger(n).setLevel(level)
    yield levels
    for n, level in saved.items():
        logging.getLogger(n).setLevel(level)


class _Watcher:
    """Notes every level the loggers have, polling from another thread."""

    def __init__(self) -> None:
        self.seen: set[tuple[int, int]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.seen.add(tuple(logging.getLogger(n).level for n in NAMES))  # type: ignore[arg-type]

    def __enter__(self) -> _Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def test_record_puts_the_log_levels_back_when_it_ends(
    tmp_path: Path, host_levels: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"opc.tcp://127.0.0.1:{_free_port()}/factory_twin/"
    out = tmp_path / "h.parquet"
    with AsyncioThread("test-plant-server") as loop:
        server = PlantServer(load_plant(DEMO).spec, endpoint=url)
        loop.run(server.start())
        try:
            with _Watcher() as watcher:
                rc = main(
                    ["record", str(DEMO), "--duration", "3s", "--out", str(out),
                     "--endpoint", f"simulator={url}", "--publishing-ms", "100", "--sampling-ms", "100"]
                )  # fmt: skip
        finally:
            loop.run(server.stop())
    stdout, stderr = capsys.readouterr()
    assert rc == 0, stdout + stderr
    assert (read_history(out)["kind"] == "tag").sum() > 0  # it really recorded
    assert (logging.CRITICAL, logging.ERROR) in watcher.seen  # quiet while recording
    assert {n: logging.getLogger(n).level for n in NAMES} == host_levels
    # a run that fails (no server: nothing recorded) puts them back too
    rc = main(
        ["record", str(DEMO), "--duration", "1s", "--out", str(tmp_path / "none.parquet"),
         "--endpoint", f"simulator={url}"]
    )  # fmt: skip
    assert rc == 1
    assert {n: logging.getLogger(n).level for n in NAMES} == host_levels
    # and -v leaves them alone
    with _Watcher() as watcher:
        rc = main(
            ["-v", "record", str(DEMO), "--duration", "1s", "--out",
             str(tmp_path / "v.parquet"), "--endpoint", f"simulator={url}"]
        )  # fmt: skip
    assert watcher.seen == {(logging.NOTSET, logging.INFO)}
    assert {n: logging.getLogger(n).level for n in NAMES} == host_levels
