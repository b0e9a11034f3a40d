"""The simulate/compare commands, KPIs, warm-up detection and confidence intervals."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from factory_twin.__main__ import main
from factory_twin.model.config import load_plant
from factory_twin.sim.runner import RunOptions, run_replication
from factory_twin.sim.stats import mser, paired_difference, t_interval

ROOT = Path(__file__).parents[2]
MINI = str(ROOT / "tests" / "data" / "mini_plant.yaml")
DEMO = str(ROOT / "plant_configs" / "demo_fab.yaml")


def test_t_interval_matches_scipy() -> None:
    x = [3.1, 2.7, 3.9, 3.3, 2.8, 3.0]
    iv = t_interval(x)
    lo, hi = sps.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=sps.sem(x))
    assert iv.low == pytest.approx(lo) and iv.high == pytest.approx(hi)
    assert math.isinf(t_interval([1.0]).half_width)
    assert math.isnan(t_interval([]).mean)
    d = paired_difference([1.0, 2.0, 3.0], [1.5, 2.4, 3.6])
    assert d.mean == pytest.approx(0.5) and not d.spans_zero()


def test_mser5_finds_the_transient(rng: np.random.Generator) -> None:
    y = np.concatenate([np.linspace(50, 10, 200), 10 + rng.normal(0, 1, 1800)])
    d = mser(y)
    assert 150 <= d <= 260
    assert mser(10 + rng.normal(0, 1, 1000)) < 100


def test_replication_kpis_and_auto_warmup() -> None:
    spec = load_plant(MINI).spec
    r = run_replication(spec, RunOptions(days=20, warmup_days=None, seed=2, keep_frames=True), 0)
    k = r.kpis
    assert 0 <= r.warmup_s < 10 * 86400
    # release every 4000 s on average: 21.6 lots/day in, and out in steady state
    assert k["throughput_lots_per_day"] == pytest.approx(21.6, rel=0.15)
    assert k["throughput_wafers_per_day"] == pytest.approx(25 * k["throughput_lots_per_day"])
    assert k["utilisation/LITHO"] == pytest.approx(1800 / 4000, rel=0.15)
    assert sum(
        k[f"e10.{s}/LITHO"]
        for s in (
            "productive",
            "standby",
            "engineering",
            "scheduled_down",
            "unscheduled_down",
            "non_scheduled",
        )
    ) == pytest.approx(1.0)
    assert k["oee/LITHO"] == pytest.approx(
        k["availability/LITHO"] * k["performance/LITHO"] * k["quality/LITHO"]
    )
    assert k["x_factor"] > 1.0
    assert r.bottleneck is not None and r.bottleneck.group == "LITHO"
    assert r.frames is not None and set(r.frames) == {"steps", "states", "wip", "lots", "qtime"}


def test_spilling_recorder_gives_the_same_frames(tmp_path: Path) -> None:
    spec = load_plant(MINI).spec
    a = run_replication(spec, RunOptions(days=10, seed=4, keep_frames=True), 0)
    b = run_replication(
        spec,
        RunOptions(days=10, seed=4, keep_frames=True, out_dir=str(tmp_path), spill_rows=100),
        0,
    )
    assert a.frames is not None and b.frames is not None
    for name in a.frames:
        pd.testing.assert_frame_equal(a.frames[name], b.frames[name], check_dtype=False)
    assert a.kpis == b.kpis
    assert (tmp_path / "rep-000" / "steps.parquet").exists()
    assert not (tmp_path / "rep-000" / "chunks").exists()


def test_simulate_cli_writes_summary_and_parquet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    code = main(["simulate", MINI, "--days", "6", "--warmup-days", "1", "--replications", "3",
                 "--seed", "1", "--jobs", "1", "--out", str(out), "--rule", "spt"])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "throughput (lots/day)" in text and "±" in text and "bottleneck: LITHO" in text
    summary = json.loads((out / "summary.json").read_text())
    res = summary["results"]
    assert res["replications"] == 3 and res["options"]["rule"] == "spt"
    iv = res["kpis"]["cycle_time_mean_h"]
    assert iv["low"] <= iv["mean"] <= iv["high"]
    assert res["bottleneck"]["group"] == "LITHO"
    steps = pd.read_parquet(out / "rep-002" / "steps.parquet")
    assert {"lot", "tool", "queue_enter_s", "start_s", "end_s", "transport_s", "wafers"} <= set(
        steps.columns
    )
    code = main(
        [
            "simulate",
            MINI,
            "--days",
            "3",
            "--replications",
            "2",
            "--jobs",
            "1",
            "--json",
            "--summary-only",
            "--out",
            str(tmp_path / "s"),
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["results"]["replications"] == 2
    assert not (tmp_path / "s" / "rep-000").exists() and (tmp_path / "s" / "summary.json").exists()


def test_one_replication_table_shows_values_without_an_interval(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        main(
            [
                "simulate",
                MINI,
                "--days",
                "2",
                "--warmup-days",
                "0.5",
                "--replications",
                "1",
                "--jobs",
                "1",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "1 replication of 2 days" in text and "no confidence interval" in text
    row = next(line for line in text.splitlines() if "throughput (lots/day)" in line)
    assert float(row.split()[-1].replace(",", "")) > 0 and "±" not in row and "inf" not in row


def test_simulate_cli_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", MINI, "--rule", "fastest"]) == 2
    assert "invalid choice: 'fastest'" in capsys.readouterr().err
    assert main(["simulate", MINI, "--days", "2", "--warmup-days", "3"]) == 2
    assert "--warmup-days must be in [0, days)" in capsys.readouterr().err
    bad = load_plant(MINI).spec.model_dump(mode="json")
    bad["routes"][0]["steps"].append({"tool_group": "IMPLANT", "process_time": 5})
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps(bad))
    assert main(["simulate", str(path), "--days", "1"]) == 2
    err = capsys.readouterr().err
    assert "IMPLANT" in err and "Traceback" not in err  # the loader or check_spec names it
    bad = load_plant(MINI).spec.model_dump(mode="json")
    bad["routes"][0]["steps"][1].update(per="batch", batch={"min_wafers": 10, "max_wafers": 20})
    path.write_text(json.dumps(bad))
    assert main(["simulate", str(path), "--days", "1"]) == 2
    err = capsys.readouterr().err
    assert "impossible batch size" in err and "Traceback" not in err


def test_compare_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    faster = load_plant(MINI).spec.model_dump(mode="json")
    faster["routes"][0]["steps"][0]["process_time"] = 1200
    path = tmp_path / "faster_litho.yaml"
    path.write_text(json.dumps(faster))
    code = main(["compare", MINI, str(path), "--days", "6", "--warmup-days", "1", "--replications", "4",
                 "--jobs", "1", "--out", str(tmp_path / "cmp")])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "faster_litho vs mini_plant" in text
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("cycle_time_mean_h"))
    assert "lower" in line
    data = json.loads((tmp_path / "cmp" / "summary.json").read_text())
    assert data["differences"]["cycle_time_mean_h"][0]["verdict"] == "lower"
    assert main(["compare", MINI]) == 2


def test_ctrl_c_keeps_finished_replications(tmp_path: Path) -> None:
    out = tmp_path / "int"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # Ctrl-C as on a terminal: a test run started in the background (``cmd &`` in a script)
    # inherits SIGINT ignored, and so would the child. While the parent handles SIGINT in
    # Python, the child starts with the default action and installs its own handler.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "factory_twin", "simulate", DEMO, "--days", "120", "--replications",
             "40", "--jobs", "1", "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 240
    while not (out / "rep-001").exists():  # replication 0 is complete
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert (
        summary["results"]["interrupted"] is True and 1 <= summary["results"]["replications"] < 40
    )
    assert "throughput" in stdout


def test_two_runs_with_one_seed_give_byte_identical_results(tmp_path: Path, capsys) -> None:
    texts = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert main(["simulate", MINI, "--days", "4", "--replications", "2", "--jobs", "1",
                     "--seed", "5", "--out", str(out), "--summary-only"]) == 0  # fmt: skip
        data = json.loads((out / "summary.json").read_text())
        assert data["run"]["out"] == str(out) and data["run"]["wall_s"]  # metadata kept apart
        texts.append(json.dumps(data["results"], indent=2))
    assert texts[0] == texts[1]
    res = json.loads(texts[0])
    kpis = res["kpis"]
    for name in ("scrapped_lots", "qtime_violations", "reworks"):
        assert name in res["counts"] and "count" in res["counts"][name]
        assert kpis[f"{name}_per_day"]["mean"] == pytest.approx(kpis[name]["mean"] / 4)
    table = capsys.readouterr().out
    assert "scrapped lots (count in window)" in table and "scrapped lots/day" in table


def test_t_intervals_equal_t_interval_column_by_column() -> None:
    import numpy as np

    from factory_twin.sim.stats import t_interval, t_intervals

    rng = np.random.default_rng(7)
    x = rng.normal(10.0, 3.0, size=(9, 40))
    x[rng.random(x.shape) < 0.2] = np.nan  # some replications miss some quantities
    x[:, 3] = np.nan  # none at all
    x[1:, 5] = np.nan  # only one
    got = t_intervals(x, 0.9)
    for j in range(x.shape[1]):
        want = t_interval(x[:, j].tolist(), 0.9)
        assert got["n"][j] == want.n
        for k in ("mean", "half_width", "low", "high", "sd"):
            assert np.isclose(got[k][j], getattr(want, k), equal_nan=True), (j, k)
