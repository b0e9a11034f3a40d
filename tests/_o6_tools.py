"""open62541 OPC UA peers (the PyPI package ``o6``), each in its own process.

The PyPI ``o6`` wheel is the commercial build in ten-minute Script Mode: importing ``o6``
starts a process-wide timer and the process is ended after ten minutes. So the test process
never imports it (:class:`O6Peer` checks); each client or server is a script under
tests/interop run with this interpreter, with its own time limit well under ten minutes,
exchanging JSON lines on stdin/stdout.

``o6`` is in the ``test`` dependency group (scripts/setup.sh installs it): like every Python
dependency, a missing one fails the tests everywhere, it is not skipped.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import pytest

INTEROP = Path(__file__).resolve().parent / "interop"
LIMIT_S = 240  # each o6 process ends itself after this (Script Mode would at 600 s)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for(pred: Any, timeout: float = 10.0) -> bool:
    """Poll ``pred()`` until it is true or ``timeout`` passes; return the last result."""
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() > deadline:
            return bool(pred())
        await asyncio.sleep(0.05)


def require_o6() -> None:
    """Fail the test, with how to install it, if the ``o6`` package is missing."""
    if importlib.util.find_spec("o6") is None:
        pytest.fail(
            "the o6 package (open62541 for Python) is not installed: run scripts/setup.sh "
            "(pip install -c constraints.txt --group test)",
            pytrace=False,
        )


class O6Peer:
    """A script of tests/interop using o6, run by this interpreter, speaking JSON lines.

    Lines it prints that start with ``{`` are kept in :attr:`lines` (o6 prints a banner
    too); :meth:`request` sends a command with an id and waits for the line answering it.
    """

    def __init__(self, script: str, *args: str, cwd: Path) -> None:
        require_o6()
        assert "o6" not in sys.modules, "o6 was imported into the test process"
        self.proc = subprocess.Popen(
            [sys.executable, str(INTEROP / script), *args, str(LIMIT_S)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, cwd=cwd,
        )  # fmt: skip
        self.lines: list[dict[str, Any]] = []
        self.ready: dict[str, Any] = {}  # the line it printed once ready (wait_ready)
        self.stderr: deque[str] = deque(maxlen=60)
        self._changed = threading.Condition()
        self._next_id = 0
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            if raw.startswith("{"):
                with self._changed:
                    self.lines.append(json.loads(raw))
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.stderr.append(raw.rstrip())

    def log(self) -> str:
        """The last lines the process wrote to stderr (for failure messages)."""
        return "\n".join(self.stderr)

    def seen(self, key: str) -> list[dict[str, Any]]:
        """The lines printed so far that have ``key``."""
        with self._changed:
            return [x for x in self.lines if key in x]

    def wait_line(self, key: str, timeout: float) -> dict[str, Any]:
        """Wait for the first line with ``key``; fail with the process's log if none comes."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [x for x in self.lines if key in x]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    break
                self._changed.wait(min(left, 0.5))
        pytest.fail(f"no {key!r} line from o6 peer (exit {self.proc.poll()}):\n{self.log()}")

    def wait_ready(self, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the peer says it is ready (connected, or listening); return that line."""
        self.ready = self.wait_line("ready", timeout)
        return self.ready

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def request(self, cmd: str, timeout: float = 30.0, **args: Any) -> dict[str, Any]:
        """Send ``cmd`` and return its answer; fail if it is not ok or does not come."""
        self._next_id += 1
        rid = self._next_id
        self.send(cmd=cmd, id=rid, **args)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                answer = next((x for x in self.lines if x.get("id") == rid), None)
                if answer is not None:
                    break
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    pytest.fail(
                        f"o6 peer gave no answer to {cmd!r} (exit {self.proc.poll()}):\n{self.log()}"
                    )
                self._changed.wait(min(left, 0.5))
        assert answer["ok"], f"o6 peer: {cmd} failed: {answer['error']}\n{self.log()}"
        return answer

    def stop(self, **cmd: Any) -> None:
        """Send the stop command (if any) and close its input; kill it if it lingers."""
        if self.proc.poll() is None:
            try:
                if cmd:
                    self.send(**cmd)
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(15)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
