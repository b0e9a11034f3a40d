"""Speed of the SMT2020 HVLM fab (Kopp et al. 2020) in the simulator, at full scale.

Prints, for ``plant_configs/smt2020_hvlm.yaml`` (1,443 tools, 2,255 initial WIP lots):

* single core: plant load and model build time, simulated days per CPU second in steady
  state, lot-steps (moves) per CPU second, SimPy events per CPU second, peak memory (RSS) of
  a run whose record chunks go straight into the KPI sums (``simulate --summary-only``,
  bounded memory), KPI time, and what writing every record to Parquet would add;
* the bare SimPy ceiling of the same fab: every lot a SimPy process walking its real route
  through ``simpy.Resource`` tool groups of the real sizes with the mean process times
  (no dispatching rules, batching, setups, failures, PM, sampling or records), in lot-steps
  per CPU second; the model's share of that ceiling;
* the extrapolated time and memory of one simulated year on one core (target < 5 min, < 4 GB);
* with ``--year``: a real 365-day replication through the path ``factory-twin simulate
  --summary-only --warmup-days 50`` takes, timed end to end from loading the plant file, in a
  fresh process (its own peak RSS); ``--year-records`` adds one through ``--out DIR`` (every
  record to Parquet, KPIs read back chunk by chunk);
* with ``--memory D [D ...]``: the peak memory (RSS) of one ``--summary-only`` replication
  of each horizon D days, each in a fresh process: records streamed to temporary Parquet
  chunks and KPIs computed chunk by chunk (today's path), against every record held in
  memory (the path summary-only runs took before); the first stays flat as the horizon
  grows, the second grows with it;
* ten replications of a few days serial, in local processes across the cores and on a Dask
  LocalCluster, with the wall-clock speed-ups.

Single-core figures are CPU seconds of this process (``time.process_time``), so other load
on a shared machine does not count against the model; the parallel figures are wall-clock
and do feel that load (the report prints the load average).

Usage: ``python benchmarks/smt2020_speed.py [--days 10] [--reps 10] [--rep-days 3]
[--year | --year-records] [--memory 30 90 [--memory-only]] [--no-parallel] [--plant PATH]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import simpy

from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.sim.kpi import KpiAccumulator
from factory_twin.sim.model import FabModel
from factory_twin.sim.records import DEFAULT_CHUNK_ROWS, Recorder
from factory_twin.sim.runner import RunOptions, run_experiment, run_replication

ROOT = Path(__file__).resolve().parents[1]
DAY = 86400.0
YEAR_DAYS = 365.0


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def single_core(spec: s.PlantSpec, days: float, spill: Path) -> dict[str, float]:
    """Simulate ``days`` on one core as ``simulate --summary-only`` does; return the figures.

    Record chunks go straight into the KPI sums (:class:`KpiAccumulator`), as in a
    summary-only run with a fixed warm-up. The first day is timed apart (start-up transient:
    every tool idle, every lot queued), the rest is the steady-state rate used for the
    extrapolation. Writing every record to Parquet instead (``simulate --out``) is timed
    apart at the end: the chunked writer on the same rows.
    """
    t0 = time.process_time()
    acc = KpiAccumulator(spec, 0.0, days * DAY)
    kept = [0]

    def sink(table: str, rows: list[tuple[object, ...]]) -> None:
        if table == "steps":
            kept[0] += len(rows)
        acc.add_rows(table, rows)

    rec = Recorder(None, DEFAULT_CHUNK_ROWS, sink=sink)
    model = FabModel(spec, seed=1, replication=0, recorder=rec)
    build = time.process_time() - t0
    t0 = time.process_time()
    model.run(1 * DAY)
    first_day = time.process_time() - t0
    ev1 = model.events_scheduled()
    steps1 = kept[0] + len(rec.steps)
    t0 = time.process_time()
    model.run(days * DAY)
    steady = time.process_time() - t0
    ev2 = model.events_scheduled()
    steps2 = kept[0] + len(rec.steps)
    model.finalize()
    rpt = {pid: pr.rpt_s for pid, pr in model.products.items()}
    del model
    t0 = time.process_time()
    rec.flush()
    kpis, _ = acc.finish(rec.frame("lots"), rec.frame("qtime"), rpt)
    kpi_s = time.process_time() - t0
    rows = kept[0]
    # the Parquet path's extra cost per row: the same rows through the chunked writer
    sample = [(f"L{i}", "p", 1, "g", "t", 0.0, 1.0, 2.0, 3.0, 25, i, 0) for i in range(50_000)]
    wrec = Recorder(spill / "chunks", DEFAULT_CHUNK_ROWS)
    t0 = time.process_time()
    wrec.steps.extend(sample)
    wrec.spill("steps")
    wrec.write_parquet(spill)
    write_s = (time.process_time() - t0) / len(sample) * rows
    return {
        "build_s": build,
        "first_day_s": first_day,
        "steady_s": steady,
        "steady_days": days - 1,
        "days_per_s": (days - 1) / steady,
        "steps_per_s": (steps2 - steps1) / steady,
        "events_per_s": (ev2 - ev1) / steady,
        "moves_per_day": kpis["moves_per_day"],
        "write_s": write_s,
        "kpi_s": kpi_s,
        "rows": float(rows),
        "peak_rss_mb": peak_rss_mb(),
    }


def bare_simpy_ceiling(spec: s.PlantSpec, days: float) -> dict[str, float]:
    """The same fab as bare SimPy processes; return lot-steps per CPU second.

    Each lot is a process that walks its product's route: request the step's tool group (a
    ``simpy.Resource`` with as many slots as the group has tools), hold the mean process
    time of the step (per lot; per wafer times the wafers), release, then a transport
    timeout. Releases follow the plant's constant intervals; the initial WIP starts at its
    steps. This is what plain SimPy costs per lot-step on this fab, with none of the model's
    logic and no records.
    """
    env = simpy.Environment()
    groups = spec.groups()
    res = {g: simpy.Resource(env, capacity=len(m)) for g, m in groups.items()}
    routes = {r.id: r for r in spec.routes}
    gcfg = {g.id: g for g in spec.tool_groups}
    ft = spec.transport.fixed_time
    tr = ft.mean if ft is not None else spec.transport.handling_s
    plans: dict[str, list[tuple[simpy.Resource, float]]] = {}
    for p in spec.products:
        r = routes[p.route]
        plan = []
        for st in r.steps:
            t = st.process_time.mean
            if st.per == "wafer":
                t *= p.wafers_per_lot
            cfg = gcfg.get(st.tool_group)
            if cfg is not None:
                t += cfg.load_s + cfg.unload_s
            plan.append((res[st.tool_group], t))
        plans[p.id] = plan
    done = [0]

    def lot(plan: list[tuple[simpy.Resource, float]], first: int) -> object:
        for r, t in plan[first:]:
            with r.request() as req:
                yield req
                yield env.timeout(t)
            done[0] += 1
            yield env.timeout(tr)

    def releases(pid: str, interval: float) -> object:
        while True:
            env.process(lot(plans[pid], 0))
            yield env.timeout(interval)

    for w in spec.initial_wip:
        env.process(lot(plans[w.product], w.step - 1))
    for p in spec.products:
        if p.release is not None and p.release.interarrival is not None:
            env.process(releases(p.id, p.release.interarrival.mean))
    env.run(until=1 * DAY)  # same start-up transient as the model, not timed
    d0 = done[0]
    t0 = time.process_time()
    env.run(until=days * DAY)
    cpu = time.process_time() - t0
    return {"steps_per_s": (done[0] - d0) / cpu, "days_per_s": (days - 1) / cpu, "cpu_s": cpu}


def real_year(plant: Path, records: bool) -> dict[str, float]:
    """One 365-day replication as ``factory-twin simulate --summary-only`` runs it (or, with
    ``records``, ``--out DIR``: every record to Parquet, KPIs read back), end to end from
    loading the plant file."""
    w0, c0 = time.perf_counter(), time.process_time()
    spec = load_plant(plant).spec
    with tempfile.TemporaryDirectory(prefix="smt2020-year-") as d:
        out_dir = d if records else None
        opts = RunOptions(days=YEAR_DAYS, warmup_days=50, seed=1, out_dir=out_dir)
        r = run_replication(spec, opts, 0)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        disk = sum(f.stat().st_size for f in Path(d).rglob("*") if f.is_file())
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": peak_rss_mb(),
        "disk_mb": disk / 2**20,
        "throughput": r.kpis["throughput_lots_per_day"],
        "wip": r.kpis["wip_lots"],
        "x_factor": r.kpis["x_factor"],
    }


def _summary_only_child(
    plant: str, days: float, in_memory: bool, chunk_rows: int
) -> dict[str, float]:
    """One summary-only replication in this (fresh) process; its figures and peak RSS."""
    spec = load_plant(plant).spec
    base = peak_rss_mb()
    c0 = time.process_time()
    # keep_frames without out_dir is the old summary-only path: every record in memory
    opts = RunOptions(days=days, seed=1, keep_frames=in_memory, spill_rows=chunk_rows)
    r = run_replication(spec, opts, 0)
    return {
        "cpu_s": time.process_time() - c0,
        "peak_rss_mb": peak_rss_mb(),
        "loaded_rss_mb": base,
        "peak_rows": float(r.peak_rows),
        "moves": r.kpis["moves_per_day"] * days,
    }


def summary_only_memory(
    plant: Path,
    horizons: list[float],
    in_memory: bool = True,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> list[dict[str, float]]:
    """Peak RSS of summary-only replications of each horizon, each in a fresh process.

    Streamed (records to temporary Parquet chunks, KPIs chunk by chunk) and, with
    ``in_memory``, every record held in memory, one process at a time.
    """
    out = []
    ctx = mp.get_context("spawn")
    for days in horizons:
        for mem in (False, True) if in_memory else (False,):
            with cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
                m = pool.submit(_summary_only_child, str(plant), days, mem, chunk_rows).result()
            out.append({"days": days, "in_memory": float(mem), **m})
    return out


def parallel(spec: s.PlantSpec, reps: int, days: float) -> dict[str, float]:
    """Wall-clock time of ``reps`` replications: serial, local processes, Dask LocalCluster."""
    opts = RunOptions(days=days, seed=5)
    ncpu = os.cpu_count() or 1
    out: dict[str, float] = {"cores": float(ncpu)}
    t0 = time.perf_counter()
    serial = run_experiment(spec, opts, reps, jobs=1)
    out["serial_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pool = run_experiment(spec, opts, reps, jobs=ncpu)
    out["pool_s"] = time.perf_counter() - t0
    same = [r.kpis["moves_per_day"] for r in serial.results] == [
        r.kpis["moves_per_day"] for r in pool.results
    ]
    out["pool_identical"] = float(same)
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask[distributed] is a dependency
        return out
    with LocalCluster(n_workers=ncpu, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:  # fmt: skip
        t0 = time.perf_counter()
        dask = run_experiment(spec, opts, reps, scheduler=client)
        out["dask_s"] = time.perf_counter() - t0
    out["dask_identical"] = float(
        [r.kpis["moves_per_day"] for r in serial.results]
        == [r.kpis["moves_per_day"] for r in dask.results]
    )
    return out


def memory_report(plant: Path, horizons: list[float], in_memory: bool, chunk_rows: int) -> None:
    """Print the peak RSS of summary-only replications of each horizon."""
    print(f"summary-only replication, peak memory (RSS) of a fresh process per run, "
          f"chunks of {chunk_rows:,} rows:")  # fmt: skip
    rows = summary_only_memory(plant, horizons, in_memory, chunk_rows)
    for m in rows:
        how = "every record in memory (before)" if m["in_memory"] else "streamed to Parquet chunks"
        how = f"{how:31s}"
        print(f"  {m['days']:5g} days  {how}  peak {m['peak_rss_mb']:6.0f} MiB "
              f"(plant loaded {m['loaded_rss_mb']:4.0f} MiB), {m['moves']:11,.0f} moves, "
              f"at most {m['peak_rows']:11,.0f} step/state rows held, {m['cpu_s']:5.0f} CPU s")  # fmt: skip
    for mem in (False, True) if in_memory else (False,):
        sel = [m for m in rows if m["in_memory"] == float(mem)]
        if len(sel) >= 2:
            a, b = sel[0], sel[-1]
            print(f"  {'in memory' if mem else 'streamed '}: {a['days']:g} -> {b['days']:g} days "
                  f"({b['days'] / a['days']:.1f}x the horizon): peak RSS x{b['peak_rss_mb'] / a['peak_rss_mb']:.2f} "
                  f"({b['peak_rss_mb'] - a['peak_rss_mb']:+.0f} MiB)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plant", type=Path, default=ROOT / "plant_configs" / "smt2020_hvlm.yaml")
    ap.add_argument("--days", type=float, default=10.0, help="single-core run length (10)")
    ap.add_argument("--reps", type=int, default=10, help="replications in the parallel test (10)")
    ap.add_argument(
        "--rep-days", type=float, default=3.0, help="days per parallel replication (3)"
    )
    ap.add_argument(
        "--year", action="store_true", help="also simulate a real year, summary-only (minutes)"
    )
    ap.add_argument(
        "--year-records",
        action="store_true",
        help="--year, then a year with every record to Parquet",
    )
    ap.add_argument("--no-parallel", action="store_true", help="skip the parallel test")
    ap.add_argument(
        "--memory", type=float, nargs="+", default=None, metavar="D",
        help="peak RSS of summary-only replications of these horizons (days), streamed and in memory",
    )  # fmt: skip
    ap.add_argument("--memory-only", action="store_true", help="only the --memory test")
    ap.add_argument(
        "--no-in-memory", action="store_true", help="--memory without the in-memory runs"
    )
    ap.add_argument(
        "--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS, help="rows per chunk in --memory"
    )
    args = ap.parse_args(argv)
    if args.days <= 1:
        ap.error("--days must exceed 1 (the first day is the start-up transient)")
    if args.memory_only and not args.memory:
        ap.error("--memory-only needs --memory D [D ...]")
    if args.memory_only:
        print(
            f"plant {args.plant.name}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        memory_report(args.plant, args.memory, not args.no_in_memory, args.chunk_rows)
        return 0
    print(
        f"plant {args.plant.name}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    t0 = time.process_time()
    spec = load_plant(args.plant).spec
    load_s = time.process_time() - t0
    print(f"  plant file loaded and validated in {load_s:.1f} CPU s: {len(spec.equipment):,} tools, "
          f"{len(spec.groups())} groups, {len(spec.initial_wip):,} initial WIP lots")  # fmt: skip
    print(
        f"single core, {args.days:g} simulated days, record chunks into the KPI sums (--summary-only):"
    )
    with tempfile.TemporaryDirectory(prefix="smt2020-speed-") as d:
        m = single_core(spec, args.days, Path(d))
    print(f"  model build                {m['build_s']:8.2f} CPU s")
    print(f"  first day (start-up)       {m['first_day_s']:8.2f} CPU s")
    print(f"  steady state               {m['days_per_s']:8.2f} simulated days per CPU s")
    print(f"                             {m['steps_per_s']:8,.0f} lot-steps per CPU s "
          f"({m['moves_per_day']:,.0f} moves per simulated day)")  # fmt: skip
    print(f"                             {m['events_per_s']:8,.0f} SimPy events per CPU s")
    print(f"  KPIs at the end            {m['kpi_s']:8.2f} CPU s ({m['rows']:,.0f} step rows); writing "
          f"them all to Parquet (--out) would add {m['write_s']:.2f} CPU s")  # fmt: skip
    print(f"  peak memory (RSS)          {m['peak_rss_mb']:8.0f} MiB")
    b = bare_simpy_ceiling(spec, min(args.days, 5.0))
    print("bare SimPy ceiling of the same fab (processes + Resources, mean times, no logic):")
    print(f"                             {b['steps_per_s']:8,.0f} lot-steps per CPU s "
          f"({b['days_per_s']:.2f} days per CPU s)")  # fmt: skip
    print(f"  model / ceiling            {m['steps_per_s'] / b['steps_per_s']:8.2f}")
    per_day = 1.0 / m["days_per_s"]
    year_s = load_s + m["build_s"] + m["first_day_s"] + per_day * (YEAR_DAYS - 1) + m["kpi_s"]
    write_s = m["write_s"] / max(m["rows"], 1.0) * m["moves_per_day"] * YEAR_DAYS
    print(f"one simulated year on one core, extrapolated from these days (an upper bound: the "
          f"first days also build thousands of lazy random streams): {year_s / 60:.1f} CPU min "
          f"(target < 5), {(year_s + write_s) / 60:.1f} with every record to Parquet; memory "
          f"bounded by the chunks: peak {m['peak_rss_mb']:.0f} MiB over {args.days:g} days "
          f"(target < 4 GiB)")  # fmt: skip
    for records in (False, True) if args.year_records else (False,) if args.year else ():
        with cf.ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
            y = pool.submit(real_year, args.plant, records).result()  # its own peak RSS
        how = "--out: every record to Parquet" if records else "--summary-only"
        print(f"one simulated year, measured ({YEAR_DAYS:g} days, warm-up 50, {how}):")
        print(f"  wall {y['wall_s'] / 60:.2f} min, CPU {y['cpu_s'] / 60:.2f} min from loading the "
              f"plant file, peak RSS {y['peak_rss_mb']:.0f} MiB"
              + (f", Parquet on disk {y['disk_mb']:.0f} MiB" if records else ""))  # fmt: skip
        print(f"  throughput {y['throughput']:.1f} lots/day, WIP {y['wip']:.0f} lots, "
              f"X-factor {y['x_factor']:.2f}")  # fmt: skip
    if args.memory:
        memory_report(args.plant, args.memory, not args.no_in_memory, args.chunk_rows)
    if not args.no_parallel:
        p = parallel(spec, args.reps, args.rep_days)
        print(f"{args.reps} replications of {args.rep_days:g} days, wall clock "
              f"(load average now {os.getloadavg()[0]:.1f}):")  # fmt: skip
        print(f"  serial (1 process)         {p['serial_s']:8.1f} s")
        print(
            f"  {int(p['cores'])} local processes        {p['pool_s']:8.1f} s  "
            f"speed-up {p['serial_s'] / p['pool_s']:.2f}x, identical KPIs: {bool(p['pool_identical'])}"
        )
        if "dask_s" in p:
            print(f"  Dask LocalCluster ({int(p['cores'])} workers) {p['dask_s']:6.1f} s  "
                  f"speed-up {p['serial_s'] / p['dask_s']:.2f}x, identical KPIs: "
                  f"{bool(p['dask_identical'])}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
