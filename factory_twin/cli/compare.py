"""Compare plant scenarios on common random numbers.

Every scenario runs the same replications with the same seed, so each random stream (a
tool's failures, a step's process times, a product's arrivals) is shared; the KPI
differences (scenario - first plant) are paired per replication and reported with a 95%
confidence interval, or "no significant difference" when the interval spans zero.

With --out DIR it writes summary.json and, per plant, scenario-N/ with its replications'
record tables. As with simulate, an earlier run's files in DIR move aside into
DIR/.previous-<time> and go once the new summary.json is written; a run stopped before any
replication finished puts them back, and a scenario or replication that did not finish
leaves no folder. An error in a replication stops the run after that scenario: the finished
replications are summarised in a summary.json marked partial (naming the scenario, the
replication and the error), the earlier run's files are kept in DIR/earlier-run-<time>, and
the exit code is 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from factory_twin.cli.run_folder import RunFolder
from factory_twin.cli.simulate import Progress, add_common, finish, nothing_finished, options_from
from factory_twin.errors import SimulationError
from factory_twin.model.scenario import load_plant_or_scenario
from factory_twin.sim.model import check_spec
from factory_twin.sim.report import comparison_table, kpi_table
from factory_twin.sim.runner import compare


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument(
        "plants",
        type=Path,
        nargs="+",
        metavar="PLANT.yaml",
        help="baseline first, then scenarios (plant files or *.scenario.yaml)",
    )
    add_common(p)


def run(args: argparse.Namespace) -> int:
    """Compare; return 0, 1 if a replication failed, 2 on bad input, 130 if interrupted."""
    if len(args.plants) < 2:
        print("factory-twin: error: compare needs at least two plant files", file=sys.stderr)
        return 2
    specs = []
    names: list[str] = []
    for p in args.plants:
        loaded = load_plant_or_scenario(p)
        spec = loaded.spec
        try:
            check_spec(spec)
        except SimulationError as exc:
            print(f"factory-twin: error: {p}: {exc}", file=sys.stderr)
            return 2
        name = loaded.name if loaded.name not in names else str(p)
        names.append(name)
        specs.append((name, spec))
    try:
        opts = options_from(args, args.out)
    except SimulationError as exc:
        print(f"factory-twin: error: {exc}", file=sys.stderr)
        return 2
    folder = RunFolder(args.out) if args.out is not None else None
    bar = Progress(args.replications * len(specs), "compare")
    finished = [0]

    def progress(done: int, total: int) -> None:
        finished[0] = done
        bar(done, total)

    try:
        cmp = compare(
            specs, opts, args.replications, jobs=args.jobs, scheduler=args.scheduler,
            progress=progress,
        )  # fmt: skip
    except BaseException:
        if folder is not None:  # no summary can be written: the earlier results come back
            folder.restore()
        raise
    finally:
        bar.close()
    failure = next(
        (f"scenario {e.name!r} (scenario-{i}): replication {e.failure.replication} failed: "
         f"{e.failure.error}" for i, e in enumerate(cmp.experiments) if e.failure is not None),
        None,
    )  # fmt: skip
    interrupted = any(e.interrupted for e in cmp.experiments) or len(cmp.experiments) < len(specs)
    done = sum(len(e.results) for e in cmp.experiments)
    if not cmp.experiments[0].results:
        return nothing_finished(folder)
    text = "\n\n".join([*(kpi_table(e) for e in cmp.experiments), comparison_table(cmp)])
    return finish(
        cmp.to_json(), text, args, interrupted and failure is None, done, folder, failure
    )
