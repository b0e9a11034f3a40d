"""``compare --out DIR`` into a folder used before: DIR holds one run's results, never two.

Was: a second run with fewer plants or replications left the first run's extra
``scenario-N`` and ``rep-NNN`` folders beside its ``summary.json`` (a reader mixed two runs);
Ctrl-C or an error in the first replication removed the earlier run's ``scenario-0/rep-000``
and left nothing in its place; a scenario stopped before any replication finished left an
empty ``scenario-N`` folder; an error in a replication after others had finished left them
without a summary.json. The same scheme as ``simulate --out`` (test_simulate_out.py).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from _run_folders import assert_kept_whole, interrupt_run, listing

from factory_twin.cli import main
from factory_twin.errors import SimulationError
from factory_twin.sim import runner

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "data" / "mini_plant.yaml"

pytestmark = pytest.mark.timeout(300)


def command(name: str, out: Path, plants: int, replications: int) -> tuple[int, str]:
    """Run ``name`` (compare or simulate) on ``plants`` copies of the mini plant in-process."""
    err = io.StringIO()
    argv = [name, *[str(MINI)] * plants, "--days", "1", "--replications", str(replications),
            "--jobs", "1", "--chunk-rows", "20", "--out", str(out)]  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


def compare(out: Path, plants: int, replications: int) -> tuple[int, str]:
    """Compare ``plants`` copies of the mini plant; return (exit code, stderr)."""
    return command("compare", out, plants, replications)


def tree(folder: Path) -> list[str]:
    """Every folder and file under ``folder`` (relative names)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_dir()) + sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.parent == folder
    )


def test_a_second_run_with_fewer_plants_and_replications_leaves_only_its_own(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    assert compare(out, 3, 2)[0] == 0
    assert compare(out, 2, 1)[0] == 0
    # was: scenario-2, and rep-001 of scenario-0 and -1, stayed beside the new summary
    assert tree(out) == ["scenario-0", "scenario-0/rep-000", "scenario-1", "scenario-1/rep-000",
                         "notes.txt", "summary.json"]  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert [s["results"]["replications"] for s in summary["scenarios"]] == [1, 1]
    assert (out / "notes.txt").read_text() == "mine\n"  # not a run's file: left alone


def test_compare_after_simulate_in_the_same_folder_keeps_no_replication_of_simulate(tmp_path):
    out = tmp_path / "out"
    assert command("simulate", out, 1, 2)[0] == 0
    assert compare(out, 2, 1)[0] == 0
    assert not list(out.glob("rep-*"))  # was: simulate's rep-000, rep-001 beside compare's
    assert command("simulate", out, 1, 1)[0] == 0
    assert sorted(p.name for p in out.iterdir()) == ["rep-000", "summary.json"]


def test_ctrl_c_before_any_replication_finished_keeps_the_earlier_run(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert compare(out, 2, 2)[0] == 0
    before = listing(out)
    interrupt_run(monkeypatch, after_calls=0)
    code, err = compare(out, 3, 1)
    assert code == 130
    assert f"the earlier results in {out} are kept" in err, err
    assert listing(out) == before  # was: scenario-0/rep-000 gone, nothing in its place
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_ctrl_c_in_a_later_scenario_keeps_only_what_finished(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert compare(out, 3, 2)[0] == 0
    interrupt_run(monkeypatch, after_calls=2)  # scenario-0 finishes, scenario-1 is stopped
    code, err = compare(out, 3, 2)
    assert code == 130 and "kept 2 finished replication(s)" in err, err
    # was: an empty scenario-1 and the earlier run's scenario-2 beside the new summary
    assert tree(out) == ["scenario-0", "scenario-0/rep-000", "scenario-0/rep-001",
                         "summary.json"]  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert [s["results"]["replications"] for s in summary["scenarios"]] == [2, 0]


def test_an_error_before_any_replication_finished_keeps_the_earlier_run(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert compare(out, 2, 1)[0] == 0
    before = listing(out)

    def broken(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(runner.FabModel, "run", broken)
    code, _ = compare(out, 2, 1)
    assert code == 1
    assert listing(out) == before  # was: scenario-0/rep-000 of the earlier run removed
    assert sorted(p.name for p in out.iterdir()) == ["scenario-0", "scenario-1", "summary.json"]


@pytest.mark.parametrize(
    ("after_calls", "finished"),
    [(3, [2, 1]), (2, [2, 0])],
    ids=["second-replication-of-scenario-1", "first-replication-of-scenario-1"],
)
def test_an_error_in_a_later_scenario_writes_a_partial_summary(
    tmp_path, monkeypatch, after_calls, finished
):
    out = tmp_path / "out"
    assert compare(out, 3, 2)[0] == 0
    before = listing(out)
    failed = after_calls - 2  # scenario-0 ran replications 0 and 1
    interrupt_run(monkeypatch, after_calls, error=SimulationError("no tool for step 2"))
    code, err = compare(out, 3, 2)
    assert code == 1, err
    # was: scenario-0 and scenario-1 without a summary.json, the earlier run set aside
    assert f"(scenario-1): replication {failed} failed: SimulationError: no tool for step 2" in err
    assert (
        f"{sum(finished)} finished replication(s) are summarised in {out / 'summary.json'}" in err
    )
    kept = [p for p in out.iterdir() if p.name.startswith("earlier-run-")]
    assert len(kept) == 1 and f"the earlier results are kept in {kept[0]}" in err, err
    assert_kept_whole(kept[0], before, out)
    reps = [f"scenario-0/rep-00{r}" for r in range(2)] + ["scenario-1/rep-000"] * finished[1]
    scens = ["scenario-0"] + ["scenario-1"] * (finished[1] > 0)
    new = [p for p in tree(out) if not p.startswith(kept[0].name)]
    assert new == [*sorted(scens + reps), "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["partial"]["reason"] == "error"
    assert summary["partial"]["earlier_results"] == str(kept[0])
    assert (
        f"(scenario-1): replication {failed} failed (SimulationError: no tool"
        in (summary["partial"]["message"])
    )
    assert summary["partial"]["message"].endswith("not run: " + repr(str(MINI)))
    scs = summary["scenarios"]
    assert [s["results"]["replications"] for s in scs] == finished  # scenario-2 never ran
    assert scs[0]["partial"] is None and scs[0]["results"]["failed"] == []
    assert scs[1]["results"]["failed"] == [
        {"replication": failed, "error": "SimulationError: no tool for step 2"}
    ]
    # factory-twin report reads it and says it is partial, and why
    html = tmp_path / "r.html"
    rerr = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(rerr):
        assert main(["report", str(out), "-o", str(html)]) == 0
    page = html.read_text(encoding="utf-8")
    assert "Comparison report: " in page and "(PARTIAL)" in page
    assert f"replication {failed} failed (SimulationError: no tool for step 2)" in page
    assert "note: the results are partial" in rerr.getvalue()
