"""Shared by the tests of ``simulate --out`` and ``compare --out``: a folder's files, and a
Ctrl-C or an error half-way through a replication."""

from __future__ import annotations

import json
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


def assert_kept_whole(kept: Path, before: dict[str, bytes], out: Path) -> None:
    """``kept`` holds the earlier run that was in ``out`` (``before``: its :func:`listing`)
    whole, its summary naming each record file where it is now."""
    now = listing(kept)
    assert {k: v for k, v in now.items() if k != "summary.json"} == {
        k: v for k, v in before.items() if k != "summary.json"
    }
    old, new = json.loads(before["summary.json"]), json.loads(now["summary.json"])

    def files(summary: dict, root: Path) -> list[list[str]]:  # type: ignore[type-arg]
        parts = summary.get("scenarios") or [summary]
        return [[str(Path(f).relative_to(root)) for rep in p["run"]["files"].values()
                 for f in rep.values()] for p in parts]  # fmt: skip

    assert files(new, kept) == files(old, out) and any(files(new, kept))
    for summary in (old, new):  # and nothing else of it changed
        for p in summary.get("scenarios") or [summary]:
            del p["run"]["files"]
    assert old == new


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
