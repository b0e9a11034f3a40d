"""The experiment result store: caching by key, cancel, identical results on every path."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
from experiment_helpers import DEMO, REPO, write_experiment, write_scenario

from factory_twin.app.experiment import ExperimentCancelled, load_result, run
from factory_twin.app.experiment_spec import loads_experiment
from factory_twin.errors import ConfigError

SCAN4 = REPO / "plant_configs" / "demo_fab_fourth_scanner.scenario.yaml"


def _calls():
    seen: list[tuple] = []
    return seen, lambda *a: seen.append(a)


def test_unchanged_is_not_run_again_and_one_change_reruns_only_it(tmp_path):
    sc = write_scenario(
        tmp_path, "rule", [{"change": "set_dispatch", "group": "IMP", "rule": "fifo"}]
    )
    exp = write_experiment(tmp_path, [DEMO, sc], horizon_days=3, warmup=0.5)
    seen, cb = _calls()
    first = run(exp, progress=cb)
    assert {a[0] for a in seen if a[1] >= 0} == {"demo_fab", "rule"}
    marker = first.base.folder / "complete.json"
    stamp = marker.stat().st_mtime_ns
    seen2, cb2 = _calls()
    again = run(exp, progress=cb2)
    assert seen2 == []  # no simulation started
    pd.testing.assert_frame_equal(first.kpis(), again.kpis())
    write_scenario(tmp_path, "rule", [{"change": "set_dispatch", "group": "IMP", "rule": "spt"}])
    seen3, cb3 = _calls()
    third = run(exp, progress=cb3)
    assert {a[0] for a in seen3 if a[1] >= 0} == {"rule"}
    assert marker.stat().st_mtime_ns == stamp and third.base.key == first.base.key
    assert third.scenarios[1].key != first.scenarios[1].key
    assert third.scenarios[1].description == ["set IMP dispatch rule from setup_avoid to spt"] or (
        "spt" in " ".join(third.scenarios[1].description)
    )


def test_a_cancelled_run_leaves_nothing_that_reads_as_complete(tmp_path):
    exp = write_experiment(tmp_path, [DEMO, SCAN4], horizon_days=3, warmup=0.5, replications=3)
    stop = threading.Event()

    def cb(scenario, rep, done, total, eta):
        if done >= 1:
            stop.set()

    with pytest.raises(ExperimentCancelled):
        run(exp, progress=cb, cancel=stop)
    out = tmp_path / "t.results"
    leftovers = [p.name for p in out.iterdir()]
    assert not any(n.startswith(".partial") for n in leftovers)
    assert not (out / "experiment.json").exists()
    with pytest.raises(ConfigError, match="not an experiment result folder"):
        load_result(out)
    res = run(exp)  # and the next run completes it
    assert [len(s.replications) for s in res.scenarios] == [3, 3]


def test_headless_command_and_api_give_identical_results(tmp_path):
    from factory_twin.cli import main

    exp = write_experiment(tmp_path, [DEMO, SCAN4], horizon_days=3, warmup="auto")
    assert main(["experiment", str(exp), "-o", str(tmp_path / "cli"), "--processes", "2"]) == 0
    api = run(exp, tmp_path / "api", processes=1)
    cli = load_result(tmp_path / "cli")
    pd.testing.assert_frame_equal(cli.kpis(), api.kpis())
    pd.testing.assert_frame_equal(cli.series("wip"), api.series("wip"))
    assert cli.warmup()["warmup_s"].tolist() == api.warmup()["warmup_s"].tolist()


def test_dask_local_cluster_and_local_processes_are_identical(tmp_path):
    from distributed import Client, LocalCluster

    exp = write_experiment(tmp_path, [DEMO, SCAN4], horizon_days=3, warmup="auto")
    local = run(exp, tmp_path / "local")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, Client(lc) as client:  # fmt: skip
        dask = run(exp, tmp_path / "dask", executor=client)
    pd.testing.assert_frame_equal(local.kpis(), dask.kpis())


def test_accessors_and_gantt(tmp_path):
    res = run(write_experiment(tmp_path, [DEMO, SCAN4], horizon_days=4, warmup=1))
    s = res.summary()
    assert set(s["scenario"]) == {"demo_fab", "demo_fab_fourth_scanner"}
    assert (s.query("kpi == 'throughput_lots_per_day'")["n"] == 2).all()
    d = res.differences()
    assert set(d["verdict"]) <= {"better", "worse", "no significant difference", "higher", "lower"}
    u = d.set_index("kpi").loc["utilisation/SCAN"]
    assert u["verdict"] in ("lower", "no significant difference")  # no direction for utilisation
    wip = res.series("wip")
    assert wip["in_warmup"].any() and (~wip["in_warmup"]).any()
    q = res.series("queue", group="SCAN")
    assert set(q["group"]) == {"SCAN"} and (q["value"] >= 0).all()
    ct = res.cycle_times()
    assert (ct["exit_s"] >= 86400).all() and (ct["cycle_time_h"] > 0).all()
    st = res.states().groupby(["scenario", "replication", "group"])["share"].sum()
    assert ((st - 1).abs() < 1e-6).all()  # the E10 states cover all of the time
    tu = res.tool_utilisation()
    assert "SCAN-04" in set(tu.query("scenario == 'demo_fab_fourth_scanner'")["tool"])
    assert tu["utilisation"].between(0, 1).all()
    g = res.gantt("demo_fab", 0, 86400.0, 90000.0)
    proc = g[g["kind"] == "process"]
    assert len(proc) and proc["lot"].str.len().gt(0).all() and not g["aggregated"].any()
    assert (g["start_s"] >= 86400.0).all() and (g["end_s"] <= 90000.0).all()
    big = res.gantt("demo_fab", 0, 0.0, 4 * 86400.0, max_bars=300)
    agg = big[big["aggregated"]]
    assert len(agg) and agg["busy_share"].between(0, 1).all()
    assert len(agg) <= 2 * 300  # process and setup cells
    with pytest.raises(KeyError, match="no scenario"):
        res.gantt("nope", 0, 0, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("scenarios: [a.yaml]\nhorizon_days: -1\n", "e.experiment.yaml:2: horizon_days:"),
        ("scenarios: [a]\nhorizon_days: 5\nwarmup: soon\n", "e.experiment.yaml:3: warmup: expected 'auto'"),
        ("scenarios: [a]\nhorizon_days: 5\nwarmup: 6\n", "must be shorter than horizon_days"),
        ("scenarios: [a]\nhorizon_days: 5\nreplications: {until_half_width_pct: 5, min: 9, max: 3}\n",
         "e.experiment.yaml:3: replications: min (9) must not exceed max (3)"),
        ("scenarios: [a]\nhorizon_days: 5\nexecutor: dask://x\n", "e.experiment.yaml:3: executor:"),
        ("scenarios: [a]\nhorizon_days: 5\nfoo: 1\n", "e.experiment.yaml:3: foo: unknown field"),
        ("- a\n", "e.experiment.yaml:1: expected a mapping"),
    ],
)  # fmt: skip
def test_bad_experiment_files_name_file_line_and_field(text, expected):
    with pytest.raises(ConfigError) as info:
        loads_experiment(text, source="e.experiment.yaml")
    assert any(expected in line for line in info.value.issues), info.value.issues


def test_a_missing_scenario_file_is_named_at_its_line(tmp_path, capsys):
    from factory_twin.cli import main

    exp = tmp_path / "x.experiment.yaml"
    exp.write_text(f"scenarios:\n  - {DEMO}\n  - nowhere.scenario.yaml\nhorizon_days: 2\n")
    assert main(["experiment", str(exp)]) == 2
    err = capsys.readouterr().err
    assert f"{exp}:3: scenarios[1]: no such file" in err and "Traceback" not in err
