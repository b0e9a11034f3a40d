"""Run an optimisation study: search tool counts and dispatch rules by simulation.

Reads NAME.study.yaml (base plant or scenario, variables, objectives, constraints, budget)
and writes the output folder (default NAME.optimise/ beside it): optuna's storage
(study.db), the report (report.txt, report.json, pareto.png) and the winner as
NAME_optimised.scenario.yaml that the Plan workspace opens. Run it again on the same
folder to resume: finished trials are kept (also after Ctrl-C or a crash). Prints a
progress line with the best feasible trial so far, then the report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from factory_twin.app.optimise import OptimiseProgress, load_study
from factory_twin.app.optimise import run as run_study
from factory_twin.cli.args import bounded_int
from factory_twin.cli.experiment import _dask, _duration


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument("study", type=Path, metavar="STUDY.yaml", help="study file")
    p.add_argument(
        "-o", "--out", type=Path, default=None, metavar="DIR",
        help="output folder (default: NAME.optimise beside the study file); an existing "
        "one is resumed",
    )  # fmt: skip
    p.add_argument(
        "--dask", type=_dask, default=None, metavar="ADDRESS",
        help="run the replications on this Dask scheduler (host:port or dask://host:port)",
    )  # fmt: skip
    p.add_argument(
        "--processes", type=bounded_int(1, 1024), default=None, metavar="N",
        help="local worker processes (default: the file's, else one per core)",
    )  # fmt: skip


class _Line:
    """One progress line on a terminal (rewritten in place), a line per event otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.shown = False
        self.last = ""

    def __call__(self, p: OptimiseProgress) -> None:
        if p.phase == "search":
            text = (f"[{p.done}/{p.total} trials, {p.pruned} pruned, {p.running} running, "
                    f"{_duration(p.elapsed_s)}] best: {p.best or '-'}")  # fmt: skip
        else:
            text = f"final selection: {p.done}/{p.total} replications"
        if text == self.last:
            return
        self.last = text
        if self.tty:
            sys.stderr.write("\r\x1b[2K" + text[:200])
            self.shown = True
        else:
            print(text, file=sys.stderr)
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def run(args: argparse.Namespace) -> int:
    """Run; return 0, 2 on bad input, 130 if interrupted."""
    study = load_study(args.study)
    line = _Line()
    try:
        outcome = run_study(study, args.out, progress=line, executor=args.dask,
                            processes=args.processes)  # fmt: skip
    finally:
        line.close()
    print((outcome.out_dir / "report.txt").read_text(encoding="utf-8"), end="")
    print(f"\nreport, plot and storage in {outcome.out_dir} ({_duration(outcome.wall_s)})")
    return 0
