"""KPIs chunk by chunk with bounded memory, and summary-only runs that leave nothing behind."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pandas as pd
import pytest

from factory_twin.__main__ import main
from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.sim.kpi import KpiAccumulator, compute_kpis, compute_kpis_chunked
from factory_twin.sim.model import FabModel
from factory_twin.sim.records import KPI_COLUMNS, Recorder, iter_parquet, read_frames
from factory_twin.sim.runner import RunOptions, run_experiment, run_replication

ROOT = Path(__file__).parents[2]
DEMO = ROOT / "plant_configs" / "demo_fab.yaml"
MINI = ROOT / "tests" / "data" / "mini_plant.yaml"
DAY = 86400.0


@pytest.fixture(scope="module")
def demo() -> s.PlantSpec:
    return load_plant(DEMO).spec


def _same_kpis(a: dict[str, float], b: dict[str, float]) -> None:
    """Equal to floating-point rounding (partial sums are added in another order)."""
    assert a.keys() == b.keys()
    for k, v in a.items():
        if math.isnan(v):
            assert math.isnan(b[k]), k
        else:
            assert b[k] == pytest.approx(v, rel=1e-12, abs=1e-12), k


def _slices(df: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    return [df.iloc[i : i + n] for i in range(0, len(df), n)]


def test_chunked_kpis_equal_the_whole_table_pass(demo: s.PlantSpec, tmp_path: Path) -> None:
    whole = run_replication(demo, RunOptions(days=20, warmup_days=3, seed=3, keep_frames=True), 0)
    f = whole.frames
    assert f is not None
    rows = min(len(f["steps"]), len(f["states"]))
    assert rows > 20 * 613  # the tiny chunks below make dozens of chunks per table
    # the same run through the chunked paths: summary-only with a fixed warm-up (chunks go
    # straight from the recorder into the KPI sums), and tables written to --out
    spilled = run_replication(demo, RunOptions(days=20, warmup_days=3, seed=3, spill_rows=613), 0)
    written = run_replication(
        demo, RunOptions(days=20, warmup_days=3, seed=3, spill_rows=401, out_dir=str(tmp_path)), 0
    )
    for r in (spilled, written):
        _same_kpis(whole.kpis, r.kpis)
        assert r.bottleneck is not None and whole.bottleneck is not None
        assert r.bottleneck.group == whole.bottleneck.group
        assert r.bottleneck.busy == pytest.approx(whole.bottleneck.busy, rel=1e-12)
    assert whole.peak_rows == max(len(f["steps"]), len(f["states"]))
    assert spilled.peak_rows <= 613 and written.peak_rows <= 401
    # summary-only with an automatic warm-up spills to a temporary directory and reads back
    spill = tmp_path / "spill"
    auto = run_replication(
        demo,
        RunOptions(days=20, warmup_days=None, seed=3, spill_rows=613, spill_dir=str(spill)),
        0,
    )
    ref, _ = compute_kpis(f, demo, auto.warmup_s, 20 * DAY)
    _same_kpis(ref, auto.kpis)
    assert auto.peak_rows <= 613
    # any split of the tables, any window, gives the same KPIs; one chunk is bitwise the same
    for warm in (0.0, 7.5 * DAY):
        ref, bn = compute_kpis(f, demo, warm, 20 * DAY)
        k, bn2 = compute_kpis_chunked(
            _slices(f["steps"], 997),
            _slices(f["states"], 50),
            f["lots"],
            f["qtime"],
            demo,
            warm,
            20 * DAY,
        )
        _same_kpis(ref, k)
        assert bn is not None and bn2 is not None and bn.group == bn2.group
        one, _ = compute_kpis_chunked(
            [f["steps"]], [f["states"]], f["lots"], f["qtime"], demo, warm, 20 * DAY
        )
        assert one.keys() == ref.keys()
        assert all(one[x] == ref[x] or (math.isnan(one[x]) and math.isnan(ref[x])) for x in ref)
    # ... and the chunked sums really see every row: moves count rows ending in the window
    moves = f["steps"]["end_s"].between(3 * DAY, 20 * DAY).sum()
    assert spilled.kpis["moves_per_day"] * 17 == pytest.approx(moves)


def test_accumulator_ignores_empty_chunks_and_needs_a_window(demo: s.PlantSpec) -> None:
    with pytest.raises(ValueError, match="observation window is empty"):
        KpiAccumulator(demo, 5 * DAY, 5 * DAY)
    rec = Recorder()
    m = FabModel(demo, seed=1, recorder=rec)
    m.run(2 * DAY)
    m.finalize()
    f = rec.frames()
    ref, _ = compute_kpis(f, demo, 0.0, 2 * DAY)
    empty_steps, empty_states = f["steps"].iloc[:0], f["states"].iloc[:0]
    k, _ = compute_kpis_chunked(
        [empty_steps, f["steps"], empty_steps], [empty_states, f["states"]], f["lots"], f["qtime"],
        demo, 0.0, 2 * DAY,
    )  # fmt: skip
    _same_kpis(ref, k)


def test_parquet_chunks_are_bounded_and_complete(demo: s.PlantSpec, tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "chunks", chunk_rows=700)
    m = FabModel(demo, seed=2, recorder=rec)
    m.run(6 * DAY)
    m.finalize()
    paths = rec.write_parquet(tmp_path)
    assert not (tmp_path / "chunks").exists()
    whole = read_frames(paths, kpi_only=True)
    for table in ("steps", "states"):
        chunks = list(iter_parquet(paths[table], KPI_COLUMNS[table], 250))
        assert len(chunks) > 3 and all(len(c) <= 250 for c in chunks)
        assert all(
            isinstance(c["tool" if table == "states" else "group"].dtype, pd.CategoricalDtype)
            for c in chunks
        )
        # chunks have their own categories: compare the strings
        back = pd.concat(
            [c.astype({k: str for k in c.select_dtypes("category")}) for c in chunks],
            ignore_index=True,
        )
        ref = whole[table]
        ref = ref.astype({k: str for k in ref.select_dtypes("category")})
        assert list(back.columns) == KPI_COLUMNS[table]
        pd.testing.assert_frame_equal(back, ref)


def test_recorder_never_holds_more_than_a_chunk(demo: s.PlantSpec, tmp_path: Path) -> None:
    limit = 300
    rec = Recorder(tmp_path / "spill", chunk_rows=limit)
    m = FabModel(demo, seed=5, recorder=rec)
    seen = 0
    for hour in range(1, 24 * 8 + 1):  # watch the held rows as the run goes, hour by hour
        m.run(hour * 3600.0)
        seen = max(seen, len(rec.steps), len(rec.states))
    m.finalize()
    assert seen <= limit
    assert rec.peak_rows("steps") <= limit and rec.peak_rows("states") <= limit
    spilled = sorted(p.name for p in (tmp_path / "spill").iterdir())
    assert sum(n.startswith("steps-") for n in spilled) >= 10  # many chunks went to disk
    total = sum(len(c) for c in rec.iter_chunks("steps", ["end_s"]))
    assert total > 10 * limit
    assert rec.peak_rows("steps") <= limit  # reading back keeps the bound
    rec.discard_chunks()
    assert not (tmp_path / "spill").exists()


def test_memory_stays_bounded_whatever_the_horizon(demo: s.PlantSpec, tmp_path: Path) -> None:
    """Rows held at once do not grow with the horizon; in-memory runs grow with it."""
    opts = {"warmup_days": 1, "seed": 4, "spill_rows": 500, "spill_dir": str(tmp_path)}
    short = run_replication(demo, RunOptions(days=4, **opts), 0)
    long = run_replication(demo, RunOptions(days=16, **opts), 0)
    assert short.peak_rows == long.peak_rows == 500
    assert long.kpis["moves_per_day"] * 15 > 20 * 500
    held = run_replication(demo, RunOptions(days=16, warmup_days=1, seed=4, keep_frames=True), 0)
    assert held.peak_rows > 20 * 500
    _same_kpis(held.kpis, long.kpis)
    assert list(tmp_path.iterdir()) == []


def test_summary_only_leaves_no_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code = main(["simulate", str(MINI), "--days", "6", "--replications", "2", "--jobs", "1",
                 "--summary-only", "--chunk-rows", "50", "--out", str(out)])  # fmt: skip
    assert code == 0
    assert "throughput" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]
    code = main(["simulate", str(MINI), "--days", "2", "--replications", "1", "--chunk-rows", "0"])
    assert code == 2
    assert "argument --chunk-rows: must be >= 1" in capsys.readouterr().err


def test_spill_is_removed_on_error(tmp_path: Path) -> None:
    spec = load_plant(MINI).spec
    spill = tmp_path / "spill"

    def fail(done: int, total: int) -> None:
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        run_experiment(
            spec, RunOptions(days=5, warmup_days=None, seed=1, spill_rows=40, spill_dir=str(spill)), 3,
            jobs=1, progress=fail,
        )  # fmt: skip
    assert list(spill.iterdir()) == []


def test_interrupted_pool_leaves_no_spill(tmp_path: Path) -> None:
    """Ctrl-C stops the worker processes mid-run; their chunk files are removed anyway."""
    spec = load_plant(DEMO).spec
    spill = tmp_path / "spill"
    out = tmp_path / "out"
    watch = [spill, "*/*/*.parquet"]  # where the workers' chunk files appear
    held: list[int] = []

    def interrupt(done: int, total: int) -> None:
        # Ctrl-C while the other worker has chunk files on disk
        deadline = time.monotonic() + 20
        root, pattern = watch
        while not list(root.glob(pattern)) and time.monotonic() < deadline:
            time.sleep(0.01)
        held.append(len(list(root.glob(pattern))))
        raise KeyboardInterrupt

    opts = RunOptions(days=10, warmup_days=None, seed=1, spill_rows=200, spill_dir=str(spill))
    exp = run_experiment(spec, opts, 4, jobs=2, progress=interrupt)
    assert exp.interrupted and len(exp.results) == 1
    assert held[-1] > 0
    assert list(spill.iterdir()) == []
    watch[:] = [out, "rep-*/chunks/*.parquet"]
    opts = RunOptions(days=10, seed=1, spill_rows=200, out_dir=str(out))
    exp = run_experiment(spec, opts, 4, jobs=2, progress=interrupt)
    assert held[-1] > 0
    assert exp.interrupted and len(exp.results) == 1
    assert not list(out.glob("rep-*/chunks"))
    assert (out / f"rep-{exp.results[0].replication:03d}" / "steps.parquet").exists()


def test_live_simulation_keeps_no_records(demo: s.PlantSpec) -> None:
    """The stepped live mode runs for weeks: none of its records may pile up in memory."""
    from factory_twin.sim.live import LiveSimulation

    sim = LiveSimulation(demo, seed=1, tag_period_s=600)
    events = 0
    for _ in range(3):
        events += len(sim.advance(DAY))
    rec = sim.model.rec
    assert events > 1000  # tools did change state
    assert all(len(getattr(rec, t)) == 0 for t in ("steps", "states", "wip", "lots", "qtime"))
