"""``simulate --out DIR`` into a folder used before: DIR holds one run's results, never two.

Found by the bad-input audit: a second run with fewer replications left the first run's extra
``rep-NNN`` folders beside its ``summary.json`` (a reader mixed two runs), and Ctrl-C left an
empty ``rep-NNN`` folder. A run stopped before any replication finished must keep the
earlier results; only finished replications are kept. An error in a replication after others
had finished left their ``rep-NNN`` folders without a summary.json (unreadable), the earlier
run set aside for the next run to delete; now they are summarised, marked partial.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _run_folders import assert_kept_whole, interrupt_run, listing

from factory_twin.cli import main
from factory_twin.cli.run_folder import RunFolder
from factory_twin.errors import SimulationError
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
    assert summary["partial"] == {
        "reason": "interrupted",
        "message": "interrupted (Ctrl-C); 1 of 3 replications finished",
    }
    assert summary["results"]["failed"] == []


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
    # killed after writing its summary, before removing the earlier run it set aside: the
    # finished run is the result (was: moving its rep-000 onto the stash's failed, ENOTEMPTY)
    older = out / ".previous-20230101T000000"
    shutil.copytree(out, older, ignore=shutil.ignore_patterns(".previous-*"))
    (older / "summary.json").write_text("{}")
    folder = RunFolder(out)
    assert not older.exists() and not list(out.glob("rep-*"))
    folder.restore()
    assert listing(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["rep-000", "rep-001", "summary.json"]


def report_of(out: Path, html: Path) -> tuple[int, str, str]:
    """``factory-twin report out -o html``: (exit code, the page, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["report", str(out), "-o", str(html)])
    return code, html.read_text(encoding="utf-8") if html.exists() else "", err.getvalue()


def test_an_error_after_some_replications_writes_a_partial_summary(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert simulate(out, 2)[0] == 0
    before = listing(out)
    boom = SimulationError("lot L7 has no tool for step 2")
    interrupt_run(monkeypatch, after_calls=2, error=boom)  # replication 2 fails half-way
    code, err = simulate(out, 4)
    assert code == 1, err
    # was: rep-000 and rep-001 without a summary.json; the earlier run set aside to be deleted
    assert "error: replication 2 failed: SimulationError: lot L7 has no tool for step 2" in err
    assert f"2 finished replication(s) are summarised in {out / 'summary.json'}" in err, err
    kept = [p for p in out.iterdir() if p.name.startswith("earlier-run-")]
    assert len(kept) == 1 and f"the earlier results are kept in {kept[0]}" in err, err
    assert_kept_whole(kept[0], before, out)
    assert sorted(p.name for p in out.iterdir() if p != kept[0]) == [
        "rep-000",
        "rep-001",
        "summary.json",
    ]  # fmt: skip  (the failed replication and the cancelled one leave no folder)
    summary = json.loads((out / "summary.json").read_text())
    res = summary["results"]
    assert summary["partial"] == {
        "reason": "error",
        "message": "replication 2 failed (SimulationError: lot L7 has no tool for step 2); "
        "2 of 4 replications finished",
        "earlier_results": str(kept[0]),
    }
    assert res["failed"] == [
        {"replication": 2, "error": "SimulationError: lot L7 has no tool for step 2"}
    ]
    assert (res["replications"], res["replications_requested"], res["interrupted"]) == (
        2,
        4,
        False,
    )
    assert [r["replication"] for r in res["per_replication"]] == [0, 1]
    assert res["kpis"]["throughput_lots_per_day"]["n"] == 2  # intervals over the 2 finished
    assert res["kpis"]["throughput_lots_per_day"]["half_width"] is not None
    # factory-twin report reads it and says it is partial, and why
    code, page, err = report_of(out, tmp_path / "r.html")
    assert code == 0, err
    assert "Simulation report: mini_plant (PARTIAL)" in page
    assert "PARTIAL RESULTS: replication 2 failed (SimulationError: lot L7 has no tool" in page
    assert f"The earlier run&#x27;s results are kept in {kept[0]}" in page
    assert "note: the results are partial: replication 2 failed" in err
    # the kept earlier run is a complete result of its own, and the next run leaves it alone
    code, page, _ = report_of(kept[0], tmp_path / "earlier.html")
    assert code == 0 and "Complete: every requested replication finished." in page
    monkeypatch.undo()
    assert simulate(out, 1)[0] == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [kept[0].name, "rep-000", "summary.json"]
    )
    assert json.loads((out / "summary.json").read_text())["partial"] is None


SITE = """
import os
if os.environ.get("FT_TEST_FAIL_REPLICATION"):
    from factory_twin.errors import SimulationError
    from factory_twin.sim.model import FabModel
    fail, real = int(os.environ["FT_TEST_FAIL_REPLICATION"]), FabModel.run
    def run(self, until_s):
        if self.streams.replication != fail:
            return real(self, until_s)
        real(self, until_s / 2)
        raise SimulationError(f"model error at {until_s / 2:g} s")
    FabModel.run = run
"""


def test_an_error_in_a_worker_process_writes_a_partial_summary(tmp_path):
    """The real command with two worker processes; replication 2 raises in its worker.

    Replication 2 starts when a worker is free, so one of 0 and 1 has finished by then.
    """
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITE)  # loaded by the workers too
    out = tmp_path / "out"
    env = {**os.environ, "FT_TEST_FAIL_REPLICATION": "2",
           "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "factory_twin", "simulate", str(MINI), "--days", "2",
         "--replications", "3", "--jobs", "2", "--json", "--out", str(out)],
        capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "error: replication 2 failed: SimulationError: model error at 86400 s" in proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert json.loads(proc.stdout) == summary  # --json prints the same summary
    res = summary["results"]
    assert res["failed"] == [
        {"replication": 2, "error": "SimulationError: model error at 86400 s"}
    ]
    done = [r["replication"] for r in res["per_replication"]]
    assert done in ([0], [1], [0, 1]), done
    assert sorted(p.name for p in out.glob("rep-*")) == [f"rep-{r:03d}" for r in done]
    assert summary["partial"]["reason"] == "error" and "earlier_results" not in summary["partial"]


def test_an_error_on_a_dask_worker_writes_a_partial_summary(tmp_path, monkeypatch):
    """--scheduler: the workers are threads of this process, so the failure reaches them."""
    import distributed  # a dependency (dask[distributed]); imported here to keep collection fast

    out = tmp_path / "out"
    real = runner.FabModel.run

    def run(self: runner.FabModel, until_s: float) -> None:
        real(self, until_s / 2 if self.streams.replication == 2 else until_s)
        if self.streams.replication == 2:
            raise SimulationError("no tool")

    monkeypatch.setattr(runner.FabModel, "run", run)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
        dashboard_address=None,
    ) as cl:  # fmt: skip
        code, err = simulate(out, 4, "--warmup-days", "auto", "--scheduler", cl.scheduler_address)
    assert code == 1 and "error: replication 2 failed: SimulationError: no tool" in err, err
    res = json.loads((out / "summary.json").read_text())["results"]
    assert res["failed"] == [{"replication": 2, "error": "SimulationError: no tool"}]
    # the two finished ones got their KPIs with the common (MSER-5) warm-up, on the worker
    assert [r["replication"] for r in res["per_replication"]] == [0, 1]
    assert len(set(res["warmup_s"])) == 1 and res["kpis"]["wip_lots"]["n"] == 2


def test_a_library_caller_gets_a_replications_error_unless_it_asks_for_partial(monkeypatch):
    """``run_experiment`` raises by default (benchmarks and scripts must not take a partial
    run for a whole one); ``on_failure="partial"`` returns the finished replications."""
    from factory_twin.model.config import load_plant

    spec = load_plant(MINI).spec
    opts = runner.RunOptions(days=2, seed=3)
    boom = SimulationError("lot L7 has no tool for step 2")
    interrupt_run(monkeypatch, after_calls=2, error=boom)
    with pytest.raises(SimulationError, match="no tool for step 2"):
        runner.run_experiment(spec, opts, 4, jobs=1)
    interrupt_run(monkeypatch, after_calls=2, error=boom)
    exp = runner.run_experiment(spec, opts, 4, jobs=1, on_failure="partial")
    assert [r.replication for r in exp.results] == [0, 1]
    assert exp.failure is not None and exp.failure.replication == 2
    assert exp.partial == (
        "replication 2 failed (SimulationError: lot L7 has no tool for step 2); "
        "2 of 4 replications finished"
    )
