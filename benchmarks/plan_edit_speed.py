"""How fast does the Plan workspace's model follow a drag? Time per drag event, headless.

For each plant (the demo fab, and ``plant_configs/smt2020_hvlm.yaml``, 1,443 tools) this
drags tools of the busiest tool groups along a random walk on the floor and times, per drag
event, what the Plan workspace's model does on every mouse move:

1. ``LayoutChecker.move`` + ``problems_of`` (overlap, clearance, bay and floor checks
   through the grid index);
2. ``FlowModel.move_tool`` + ``table`` (from-to flows, distances, transport times);
3. ``compare_capacity`` of the scenario against the base (the base's table computed once,
   as a live view does; the tool positions do not enter the capacity figures, so the
   scenario is the plant itself here, at the full cost of its table). A move is one of
   the change kinds after which ``plan_figures.changes_capacity`` says the capacity
   stands, so a live view skips it while dragging: ``drag_ms`` is checks + flows, and
   ``model_ms`` adds the capacity compare that any other edit (a tool added, a rate
   changed) costs.

In the same run, alternating with it event by event so both meet the same load, it times the
bare full rebuild per event: ``flow_table`` on the edited plant plus a fresh
``LayoutChecker`` and the moved tool's problems. It prints the median and 90th percentile
milliseconds per event and ``speed-up = rebuild / incremental``.

The whole drag event of the Plan workspace (:func:`measure_ui_drag`): on the same scene
code as the window (a :class:`~factory_twin.ui.scene.FabScene` with the Plan's
:class:`~factory_twin.ui.plan_scene.PlanOverlay`, on an off-screen pyvista plotter of
1280 x 800), each event does what the workspace's drag does: ``PlanSession.preview_move``
(checks + flows), the moved tool's points, the tool colours, the flow ribbons, the Qt from-to
grid and problems list (offscreen Qt), and one render. Alternating with it, event by
event, it renders the unchanged scene: the bare frame time. The issue's targets (33 ms per
drag event on the demo fab, 100 ms on SMT2020) are for this whole event.

Run: ``python benchmarks/plan_edit_speed.py [--events 200] [--json out.json] [--no-ui]``
(headless: ``xvfb-run -a python benchmarks/plan_edit_speed.py``; the render needs an X display)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from factory_twin.model import schema as s  # noqa: E402
from factory_twin.model.capacity import capacity_table  # noqa: E402
from factory_twin.model.config import load_plant  # noqa: E402
from factory_twin.model.flows import FlowModel, flow_table  # noqa: E402
from factory_twin.model.layout_check import LayoutChecker  # noqa: E402
from factory_twin.model.plan_figures import changes_capacity, compare_capacity  # noqa: E402


def busiest_tools(spec: s.PlantSpec, n: int) -> list[str]:
    """Tools of the groups with the most moves in and out (the dearest flows to update)."""
    moves: dict[str, float] = {}
    for f in flow_table(spec).flows:
        moves[f.src] = moves.get(f.src, 0.0) + f.moves_per_day
        moves[f.dst] = moves.get(f.dst, 0.0) + f.moves_per_day
    groups = spec.groups()
    ranked = sorted(groups, key=lambda g: -moves.get(g, 0.0))
    out: list[str] = []
    for g in ranked:
        out += [e.id for e in groups[g]][: max(1, n - len(out))]
        if len(out) >= n:
            break
    return out[:n]


def drag_path(
    spec: s.PlantSpec, tools: list[str], n_events: int, rng: np.random.Generator
) -> list[tuple[str, tuple[float, float]]]:
    """``n_events`` mouse moves: each tool in turn walks in 0.1-0.5 m steps over the floor."""
    fw, fd = spec.site.floor_m
    pos = {t: spec.tool(t).position_m for t in tools}
    events = []
    per_tool = max(1, n_events // len(tools))
    for k in range(n_events):
        t = tools[min(k // per_tool, len(tools) - 1)]
        x, y = pos[t]
        dx, dy = rng.uniform(-0.5, 0.5, 2)
        p = (round(min(fw, max(0.0, x + dx)), 1), round(min(fd, max(0.0, y + dy)), 1))
        pos[t] = p
        events.append((t, p))
    return events


def _moved(spec: s.PlantSpec, tool: str, pos: tuple[float, float]) -> s.PlantSpec:
    eq = [e.model_copy(update={"position_m": pos}) if e.id == tool else e for e in spec.equipment]
    return spec.model_copy(update={"equipment": eq})


def measure_model_drag(
    spec: s.PlantSpec,
    n_events: int,
    *,
    base_dir: Path | None = None,
    seed: int = 0,
    tools: int = 5,
    rebuild: bool = True,
) -> dict[str, Any]:
    """Time the Plan workspace's model over ``n_events`` drag events on ``spec``.

    Parameters
    ----------
    spec
        The plant (it is not changed).
    n_events
        Mouse moves to time.
    base_dir
        The plant file's folder (mesh footprints).
    seed
        Seed of the drag path.
    tools
        Tools dragged in turn, from the busiest tool groups.
    rebuild
        Also time the full rebuild per event (flow_table + a fresh LayoutChecker).

    Returns
    -------
    dict
        Per-event milliseconds (median and 90th percentile, ``*_p90_ms``) of a drag
        (``drag_ms``: checks + flows), of the parts (``check_ms``, ``flows_ms``,
        ``capacity_ms``), of all three (``model_ms``: an edit that changes capacity) and of
        the rebuild (``rebuild_ms``); set-up times; ``speedup`` = rebuild / drag (medians).
    """
    rng = np.random.default_rng(seed)
    events = drag_path(spec, busiest_tools(spec, tools), n_events, rng)
    t0 = time.perf_counter()
    checker = LayoutChecker(spec, base_dir)
    t1 = time.perf_counter()
    flows = FlowModel(spec)
    t2 = time.perf_counter()
    base_rows = capacity_table(spec)
    t3 = time.perf_counter()
    parts: dict[str, list[float]] = {
        "check": [],
        "flows": [],
        "capacity": [],
        "drag": [],
        "model": [],
    }
    rebuilt: list[float] = []
    edited = spec
    n_problems = 0
    assert not changes_capacity("move_tool")
    for tool, pos in events:
        a = time.perf_counter()
        checker.move(tool, pos)
        n_problems = len(checker.problems_of(tool))
        b = time.perf_counter()
        flows.move_tool(tool, pos)
        table = flows.table()
        c = time.perf_counter()
        compare_capacity(spec, spec, base_rows=base_rows)
        d = time.perf_counter()
        for name, v in (
            ("check", b - a),
            ("flows", c - b),
            ("capacity", d - c),
            ("drag", c - a),
            ("model", d - a),
        ):
            parts[name].append(v * 1e3)
        if rebuild:
            edited = _moved(edited, tool, pos)
            e = time.perf_counter()
            full = flow_table(edited)
            LayoutChecker(edited, base_dir).problems_of(tool)
            rebuilt.append((time.perf_counter() - e) * 1e3)
            assert full == table, "the incremental flows left the full rebuild"
    out: dict[str, Any] = {
        "tools": len(spec.equipment),
        "flows": len(table.flows),
        "events": n_events,
        "checker_build_ms": (t1 - t0) * 1e3,
        "flow_model_build_ms": (t2 - t1) * 1e3,
        "base_capacity_ms": (t3 - t2) * 1e3,
        "problems_of_last_tool": n_problems,
    }
    for name, values in parts.items():
        out[f"{name}_ms"] = statistics.median(values)
        out[f"{name}_p90_ms"] = float(np.percentile(values, 90))
    if rebuilt:
        out["rebuild_ms"] = statistics.median(rebuilt)
        out["rebuild_p90_ms"] = float(np.percentile(rebuilt, 90))
        # like for like: the rebuild redoes the checks and flows, no capacity compare
        out["speedup"] = out["rebuild_ms"] / out["drag_ms"]
    return out


def measure_ui_drag(path: Path, n_events: int, *, seed: int = 0, tools: int = 5) -> dict[str, Any]:
    """Time whole drag events of the Plan workspace on the plant file ``path`` (see notes).

    Returns
    -------
    dict
        Milliseconds per event (median, ``*_p90_ms``): ``event_ms`` (everything),
        ``edit_ms`` (model, points, colours, flows overlay, panels), ``render_ms`` (the
        render of the edited scene) and ``bare_frame_ms`` (a render of the unchanged scene);
        ``ratio`` = event / bare frame.
    """
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyvista as pv
    from PySide6.QtWidgets import QApplication

    from factory_twin.app.flow_matrix import route_order
    from factory_twin.app.plan_session import PlanSession
    from factory_twin.ui.plan_scene import PlanOverlay
    from factory_twin.ui.qt_plan_panels import QtFlowPanel, QtProblemList
    from factory_twin.ui.scene import FabScene

    app = QApplication.instance() or QApplication([])
    ses = PlanSession(path)
    spec = ses.plant
    # as the window's view: one sample per pixel (MSAA costs ~30 ms a frame on software GL)
    pv.global_theme.multi_samples = 1
    plotter = pv.Plotter(off_screen=True, window_size=[1280, 800])
    scene = FabScene(plotter, spec, show_legend=False, base_dir=path.parent)
    overlay = PlanOverlay(scene, {e.id: ses.placement(e.id) for e in spec.equipment})
    overlay.set_flow_scale(ses.base_flows)
    overlay.show_flows(ses.flow_table())
    flows_panel, problems = QtFlowPanel(), QtProblemList()
    flows_panel.order = route_order(spec)
    win = plotter.ren_win  # Render() itself: pyvista's render() waits for show()
    assert win is not None
    win.Render()
    win.Render()
    rng = np.random.default_rng(seed)
    events = drag_path(spec, busiest_tools(spec, tools), n_events, rng)
    edit, render, bare, whole = [], [], [], []
    for tool, pos in events:
        a = time.perf_counter()
        rot = ses.placement(tool)[1]
        ses.preview_move(tool, pos, rot)
        overlay.move_tool(tool, pos, rot)
        bad, warn = ses.problem_tools()
        overlay.colour_tools(changed=[tool], selected=[tool], warning=warn, problem=bad)
        table = ses.flow_table()
        overlay.show_flows(table)
        flows_panel.show_flows(ses.base_flows, table)
        problems.set_problems(ses.layout_problems(), [])
        app.processEvents()
        b = time.perf_counter()
        win.Render()
        c = time.perf_counter()
        win.Render()  # nothing changed: the bare frame
        d = time.perf_counter()
        edit.append((b - a) * 1e3)
        render.append((c - b) * 1e3)
        whole.append((c - a) * 1e3)
        bare.append((d - c) * 1e3)
    plotter.close()
    out: dict[str, Any] = {"ui_events": n_events}
    for name, values in (
        ("event", whole),
        ("edit", edit),
        ("render", render),
        ("bare_frame", bare),
    ):
        out[f"{name}_ms"] = statistics.median(values)
        out[f"{name}_p90_ms"] = float(np.percentile(values, 90))
    out["ratio"] = out["event_ms"] / out["bare_frame_ms"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200, help="drag events per plant")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--no-ui", action="store_true", help="the model only (no scene, no Qt)")
    args = ap.parse_args()
    results = []
    for path in (
        REPO / "plant_configs" / "demo_fab.yaml",
        REPO / "plant_configs" / "smt2020_hvlm.yaml",
    ):
        if not path.exists():
            continue
        spec = load_plant(path).spec
        events = args.events if len(spec.equipment) < 500 else max(20, args.events // 4)
        r = {"plant": path.name, **measure_model_drag(spec, events, base_dir=path.parent)}
        results.append(r)
        print(
            f"{r['plant']}: {r['tools']} tools, {r['flows']} flows, {r['events']} drag events; "
            f"set-up: checker {r['checker_build_ms']:.1f} ms, flows "
            f"{r['flow_model_build_ms']:.1f} ms, base capacity {r['base_capacity_ms']:.1f} ms\n"
            f"  per drag event: {r['drag_ms']:.2f} ms median, {r['drag_p90_ms']:.2f} ms p90 "
            f"(checks {r['check_ms']:.2f}, flows {r['flows_ms']:.2f} ms) vs full rebuild "
            f"{r['rebuild_ms']:.2f} ms (p90 {r['rebuild_p90_ms']:.2f}): speed-up "
            f"{r['speedup']:.0f}x\n"
            f"  with the capacity compare (an edit that changes capacity): {r['model_ms']:.2f} "
            f"ms median, {r['model_p90_ms']:.2f} ms p90 (capacity {r['capacity_ms']:.2f} ms)"
        )
        if args.no_ui:
            continue
        u = measure_ui_drag(path, max(20, events // 2), seed=args.seed)
        r.update(u)
        print(
            f"  whole drag event in the Plan view (model, points, colours, flow ribbons, "
            f"panels, render): {u['event_ms']:.1f} ms median, {u['event_p90_ms']:.1f} ms p90 "
            f"(edit {u['edit_ms']:.1f} ms + render {u['render_ms']:.1f} ms) vs bare frame "
            f"{u['bare_frame_ms']:.1f} ms: {u['ratio']:.1f}x a frame"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
