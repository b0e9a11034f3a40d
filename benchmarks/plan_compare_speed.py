"""Workspace overhead: an experiment run from the Plan workspace against ``factory-twin experiment``.

The same work both ways: the demo fab and its fourth-scanner scenario, ``--replications`` x
``--days`` on local processes, written as the workspace writes it (one experiment file).

* headless: ``python -m factory_twin experiment FILE -o DIR`` in a subprocess, wall time
  from start to exit (the result printed);
* workspace: a :class:`~factory_twin.ui.qt_plan_compare.QtComparePanel` in a shown window
  starts the run (writes the file, plans, the worker thread), its timer polls the progress
  and redraws the bars, and at the end the comparison opens (tables, charts); wall time from
  *Run* to the tables filled. The Qt event loop runs throughout.

Each is run ``--rounds`` times, alternating, into fresh folders (nothing cached); the
medians are compared (target: workspace overhead <= 10 %). The second figure is a re-run of
the unchanged experiment from the workspace (all cached: no simulation starts).

Run: ``PYVISTA_OFF_SCREEN=true PYTHONPATH=. xvfb-run -a .venv/bin/python
benchmarks/plan_compare_speed.py [--days 60 --replications 4 --rounds 3]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLANTS = ROOT / "plant_configs"
FILES = ["demo_fab.yaml", "demo_fab_fourth_scanner.scenario.yaml"]


def _plant(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for f in FILES:
        shutil.copy(PLANTS / f, folder / f)
    return folder / FILES[0], folder / FILES[1]


def headless(folder: Path, choices: object) -> float:
    """Wall time of ``factory-twin experiment`` on the workspace's experiment file."""
    from factory_twin.app.experiment_job import (
        ExperimentChoices,
        experiment_path,
        write_experiment,
    )

    assert isinstance(choices, ExperimentChoices)
    plant = Path(choices.scenarios[0])
    exp = write_experiment(choices, experiment_path(plant, choices.name))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "factory_twin", "experiment", str(exp.path),
         "-o", str(folder / "headless.results")],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - t0


def workspace(panel: object, app: object, choices: object) -> tuple[float, float]:
    """Wall time from Run to the comparison shown, and that of the comparison alone."""
    from factory_twin.ui.qt_plan_compare import QtComparePanel

    assert isinstance(panel, QtComparePanel)
    shown: list[float] = []
    panel.result_shown.connect(lambda _c: shown.append(time.perf_counter()))
    t0 = time.perf_counter()
    job = panel.experiment.start(choices)  # type: ignore[arg-type]
    assert job is not None
    while not shown:
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.005)
        if job.state == "failed":
            raise SystemExit(job.error)
    panel.result_shown.disconnect()
    return shown[0] - t0, shown[0] - job.finished


def main() -> None:
    """Print the medians and the overhead."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=60.0)
    ap.add_argument("--replications", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from factory_twin.app.experiment_job import ExperimentChoices
    from factory_twin.ui.qt_plan_compare import QtComparePanel
    from factory_twin.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv)
    apply_theme(app, True)  # type: ignore[arg-type]
    tmp = Path(tempfile.mkdtemp(prefix="compare_speed_"))
    try:
        settings = QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat)
        panel = QtComparePanel(settings)
        panel.resize(1400, 850)
        panel.show()
        head, ws, opened = [], [], []
        for i in range(args.rounds):
            for kind in ("headless", "workspace") if i % 2 == 0 else ("workspace", "headless"):
                plant, scen = _plant(tmp / f"{kind}{i}")
                ch = ExperimentChoices(
                    scenarios=(plant, scen), horizon_days=args.days, warmup_days=None,
                    replications=args.replications, seed=3, name="bench",
                )  # fmt: skip
                if kind == "headless":
                    head.append(headless(tmp / f"{kind}{i}", ch))
                else:
                    panel.set_scenarios(plant, [("base", plant), ("scenario", scen)])
                    w, o = workspace(panel, app, ch)
                    ws.append(w)
                    opened.append(o)
                print(f"round {i} {kind}: {(head if kind == 'headless' else ws)[-1]:.1f} s")
        again0 = time.perf_counter()
        workspace(panel, app, ch)
        again = time.perf_counter() - again0
        h, w = statistics.median(head), statistics.median(ws)
        print(
            f"demo fab, 2 scenarios x {args.replications} replications x {args.days:g} days, "
            f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
        )
        print(
            f"  headless factory-twin experiment: median {h:.1f} s ({', '.join(f'{x:.1f}' for x in head)})"
        )
        print(
            f"  workspace run + comparison shown: median {w:.1f} s ({', '.join(f'{x:.1f}' for x in ws)})"
        )
        print(f"  of which opening the comparison: median {statistics.median(opened):.2f} s")
        print(f"  workspace overhead: {100 * (w - h) / h:+.1f} % (target <= 10 %)")
        print(f"  re-run of the unchanged experiment from the workspace (cached): {again:.2f} s")
        panel.shutdown()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
