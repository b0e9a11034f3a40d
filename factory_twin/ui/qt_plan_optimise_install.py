"""Install the Optimise dock into the main window: *Plan* menu entry, Ctrl+Shift+O.

The dock holds a :class:`~factory_twin.ui.qt_plan_optimise.QtOptimisePanel` whose base is
the scenario open in the Plan workspace (when it is saved), else the open plant. A trial
clicked on its plots, or the winner, is taken into Plan as an ordinary scenario beside the
plant: the Plan tab is shown with it listed, selected and open, and the Compare dock lists
it too. Closing the window cancels a running study (its finished trials are kept;
:mod:`factory_twin.ui.qt_plan_dock`, shared with the Compare dock).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from factory_twin.app.optimise_take import plant_of
from factory_twin.errors import ConfigError
from factory_twin.ui.qt_plan_dock import install_plan_dock, window_settings
from factory_twin.ui.qt_plan_optimise import QtOptimisePanel


def current_base(window: Any) -> Path | None:
    """The scenario open in the Plan workspace (saved), else the open plant's file."""
    ws = getattr(window, "plan", None)
    ses = getattr(ws, "session", None)
    scen = getattr(ses, "scenario", None)
    if scen is not None and scen.path is not None and not getattr(ses, "dirty", False):
        return Path(scen.path)
    doc = getattr(window.controller, "doc", None)
    path = getattr(doc, "path", None)
    return Path(path) if path is not None else None


def refresh_base(window: Any) -> None:
    """Define studies on the current base (the dock is shown, or the plant changed)."""
    panel: QtOptimisePanel = window.optimise
    if panel.job is not None and panel.job.running:
        return
    base = current_base(window)
    if base is not None:
        panel.set_base(base)


def show_in_plan(window: Any, path: Path) -> bool:
    """Open the scenario file ``path`` in the Plan workspace (its tab shown); True if it opened.

    A scenario beside the plant (a trial taken into Plan) is listed and selected too.
    """
    ws = getattr(window, "plan", None)
    tab = getattr(window, "plan_tab", None)
    if ws is None or tab is None:
        return False
    tab.show()
    panel: QtOptimisePanel = window.optimise
    study = panel.job.study if panel.job is not None else panel.study
    if study is not None:
        plant = plant_of(study)
        if ws.session is None or Path(ws.session.plant_path).resolve() != plant.resolve():
            try:
                ws.set_plant_path(plant)
            except ConfigError as exc:
                ws._error("The study's plant does not open for planning", exc)
                return False
    path = Path(path)
    ses = ws.session
    # beside the plant: taken into Plan, so listed and selected; else in the study's folder
    beside = ses is not None and Path(ses.plant_path).resolve().parent == path.resolve().parent
    ok = ws.show_new_scenario(path) if beside else ws.open_scenario(path)
    ses = ws.session
    return ok and ses is not None and ses.scenario is not None and ses.scenario.path == path


def install_optimise(window: Any) -> QtOptimisePanel:
    """Add the Optimise dock, its *Plan* menu entry and Ctrl+Shift+O to a main window."""
    panel = QtOptimisePanel(window_settings(window))
    dock, show = install_plan_dock(
        window,
        panel,
        title="Optimise",
        name="optimise_dock",
        text="&Optimise…",
        shortcut="Ctrl+Shift+O",
        tip="search tool counts and dispatch rules by simulation, with an honest final "
        "selection (Ctrl+Shift+O)",
        stop=panel.shutdown,
    )
    window.optimise = panel
    window.optimise_dock = dock
    window.optimise_action = show
    dock.visibilityChanged.connect(lambda on: refresh_base(window) if on else None)
    window.controller.plant_changed.connect(lambda _doc: refresh_base(window))
    panel.scenario_chosen.connect(lambda p: show_in_plan(window, Path(p)))
    refresh_base(window)
    return panel
