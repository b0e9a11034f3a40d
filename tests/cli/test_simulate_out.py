"""``simulate --out DIR`` into a folder used before: DIR holds one run's results, never two.

Found by the bad-input audit: a second run with fewer replications left the first run's extra
``rep-NNN`` folders beside its ``summary.json`` (a reader mixed two runs), and Ctrl-C left an
empty ``rep-NNN`` folder. A run stopped before any replication finished must keep the
earlier results; only finished replications are kept.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from _run_folders import interrupt_run, listing

from factory_twin.cli import main
from factory_twin.cli.run_folder import RunFolder
from factory_twin.sim import runner

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "data" / "mini_plant.yaml"

pytestmark = pytest.mark.timeout(300)


def simulate(out: Path, replications: int, *extra: str) -> tuple[int, str]:
    """Run ``simulate`` on the mini plant in this process; return (exit code, stderr)."""
    err = io.StringIO()
    argv = ["simulate", str(MINI), "--days", "2", "--replications", str(replications),
            "--jobs", "1", "--chunk-rows", "20", "--out", str(out), *extra]  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


def test_a_second_run_with_fewer_replications_leaves_only_its_own(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    assert simulate(out, 3)[0] == 0
    assert simulate(out, 1)[0] == 0
    # was: rep-001 and rep-002 of the first run stayed beside the new summary
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "rep-000", "summary.json"]
    assert json.loads((out / "summary.json").read_text())["results"]["replications"] == 1
    assert (out / "notes.txt").read_text() == "mine\n"  # not a run's file: left alone


def test_ctrl_c_before_any_replication_finished_keeps_the_earlier_run(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert simulate(out, 2)[0] == 0
    before = listing(out)
    interrupt_run(monkeypatch, after_calls=0)
    code, err = simulate(out, 3)
    assert code == 130
    assert f"the earlier results in {out} are kept" in err, err
    assert listing(out) == before  # was: rep-000 left without its records
    assert sorted(p.name for p in out.iterdir()) == ["rep-000", "rep-001", "summary.json"]


def test_ctrl_c_leaves_no_empty_replication_folder(tmp_path, monkeypatch):
    out = tmp_path / "fresh"
    interrupt_run(monkeypatch, after_calls=0)
    code, err = simulate(out, 1)
    assert code == 130 and "interrupted before any replication finished" in err, err
    assert list(out.iterdir()) == []  # was: an empty rep-000


def test_ctrl_c_after_one_replication_keeps_only_the_finished_one(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert simulate(out, 3)[0] == 0
    interrupt_run(monkeypatch, after_calls=1)
    code, err = simulate(out, 3)
    assert code == 130 and "kept 1 finished replication(s)" in err, err
    # was: rep-001 empty and rep-002 of the earlier run beside the new summary
    assert sorted(p.name for p in out.iterdir()) == ["rep-000", "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["results"]["replications"] == 1 and summary["results"]["interrupted"]


def test_an_error_before_any_replication_finished_keeps_the_earlier_run(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert simulate(out, 2)[0] == 0
    before = listing(out)

    def broken(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(runner.FabModel, "run", broken)
    code, _ = simulate(out, 1)
    assert code == 1
    assert listing(out) == before


def test_a_run_killed_outright_is_sorted_out_by_the_next(tmp_path):
    out = tmp_path / "out"
    assert simulate(out, 2)[0] == 0
    before = listing(out)
    # killed after setting the earlier run aside, while its first replication ran
    folder = RunFolder(out)
    (out / "rep-000" / "chunks").mkdir(parents=True)
    (out / "rep-000" / "chunks" / "steps-0.parquet").write_bytes(b"half")
    del folder
    # the next run is stopped at once: the earlier results come back, not the half ones
    RunFolder(out).restore()
    assert listing(out) == before
    # killed while setting aside: summary.json (moved last) still in place
    stash = out / ".previous-20240101T000000"
    stash.mkdir()
    (out / "rep-001").rename(stash / "rep-001")
    folder = RunFolder(out)
    assert folder.previous == stash and not list(out.glob("rep-*"))
    folder.restore()
    assert listing(out) == before
    # killed while removing set-aside results: what is left of them goes
    (out / ".discard-20240101T000000" / "rep-009").mkdir(parents=True)
    RunFolder(out).restore()
    assert listing(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["rep-000", "rep-001", "summary.json"]
