"""Shared by the tests of ``simulate --out`` and ``compare --out``: a folder's files, and a
Ctrl-C or an error half-way through a replication."""

from __future__ import annotations

from pathlib import Path

import pytest

from factory_twin.sim import runner


def listing(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> bytes)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def interrupt_run(
    monkeypatch: pytest.MonkeyPatch, after_calls: int, error: BaseException | None = None
) -> None:
    """Ctrl-C half-way through the replication after ``after_calls`` finished ones.

    With ``error``, that replication raises it instead (a model error part-way through a
    real run), and the replications after it would run as usual.
    """
    real = runner.FabModel.run
    calls = [0]

    def run(self: runner.FabModel, until_s: float) -> None:
        calls[0] += 1
        if calls[0] <= after_calls or (error is not None and calls[0] > after_calls + 1):
            real(self, until_s)
            return
        real(self, until_s / 2)  # records are on disk as chunks in rep-NNN/chunks by now
        raise KeyboardInterrupt if error is None else error

    monkeypatch.setattr(runner.FabModel, "run", run)
