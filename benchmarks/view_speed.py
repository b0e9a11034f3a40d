"""How fast is the 3-D fab view? Frame times under a live tag stream, against bare VTK.

For each plant (the demo fab, and ``plant_configs/smt2020_hvlm.yaml`` if present) this

1. builds the scene (``factory_twin.ui.scene.FabScene``) on an off-screen plotter;
2. runs N frames where each frame applies one GUI-tick batch of tag updates
   (``--rate`` updates per second at 25 Hz, with state changes among them) to the
   :class:`~factory_twin.app.plant_state.PlantState`, recolours the tools in place, moves
   every carrier (``--carriers`` lots in flight) and renders (with a 1-pixel read-back so
   software GL really finishes the frame);
3. renders the same merged tool mesh and carrier glyphs with bare VTK (no pyvista, no
   state, no updates) through the same camera at the same size: the ceiling; app and bare
   frames alternate, so that both meet the same load on a shared machine;
4. reports the median frame times and ``ratio = ceiling / app`` (1.0 = no overhead), and
   the same from process CPU time per frame (all GL threads; steadier than wall time
   while other work shares the machine).

``--fleet`` (on by default when ``plant_configs/smt2020_hvlm_smat2022.yaml`` exists) runs the
SMT2020 fab on its real SMAT2022 layout with its OHT rails and 100 vehicles driving along them
at their real speed (5 m/s straight, 1 m/s on curves, one 25 Hz frame = 0.04 plant seconds),
every vehicle's x and y arriving as tag updates each frame (5,000 updates/s) on top of the
``--rate`` tool updates; the bare VTK frame then also draws the same rail lines and vehicle
glyphs.

``--live`` also measures, over real OPC UA, the time from start to the first frame in which
every tool of the demo fab shows its live state (embedded simulator + PlantClient, no Qt).
``--gui SECONDS`` runs the real window on the live demo fab (needs an X display, e.g.
``xvfb-run``) and reports GUI-thread ticks over 100 ms.

Run: ``python benchmarks/view_speed.py [--frames 40] [--fleet 100] [--only-fleet] [--live]
[--gui 20]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _readback(rw: object) -> None:
    import vtk

    arr = vtk.vtkUnsignedCharArray()
    rw.GetRGBACharPixelData(0, 0, 0, 0, 0, arr)  # type: ignore[attr-defined]


def _draw_lots(scene: object, state: object, t: float) -> None:
    """Move the carriers, and the OHT vehicles over those riding the rails (as the view does)."""
    pos, prod, _ = state.lot_positions(t)  # type: ignore[attr-defined]
    scene.set_lots(pos, prod)  # type: ignore[attr-defined]
    amhs = scene.amhs  # type: ignore[attr-defined]
    if amhs is not None and not len(state.vehicles):  # type: ignore[attr-defined]
        # (with vehicles served one by one, those are drawn instead)
        xy = state.carrying_vehicles(t)  # type: ignore[attr-defined]
        # (the view samples them for the heat map 4 times a second, not every frame)
        amhs.set_vehicles(xy, np.zeros(len(xy), dtype=bool))


def _tag_batches(
    spec: object, n_frames: int, per_frame: int, rng: np.random.Generator, t0: float
) -> list[list[object]]:
    from factory_twin.model.events import E10State, TagUpdate

    tools = spec.equipment  # type: ignore[attr-defined]
    tags = []
    for e in tools:
        et = spec.equipment_type(e.type)  # type: ignore[attr-defined]
        tags += [(e.id, t.name) for t in et.tags if t.data_type.value == "float"]
    if not tags:
        tags = [(e.id, "x") for e in tools]
    states = [s.value for s in E10State]
    batches = []
    for f in range(n_frames):
        t = t0 + f * 0.04
        idx = rng.integers(0, len(tags), per_frame)
        vals = rng.normal(10, 2, per_frame)
        b: list[object] = [
            TagUpdate(tags[k][0], tags[k][1], float(v), t) for k, v in zip(idx, vals, strict=True)
        ]
        # about 1 % of the stream are state changes
        for k in rng.integers(0, len(tools), max(1, per_frame // 100)):
            b.append(TagUpdate(tools[k].id, "state", states[rng.integers(0, len(states))], t))
        batches.append(b)
    return batches


def _fleet_batches(
    spec: object, n: int, n_frames: int, rng: np.random.Generator, t0: float, dt: float = 0.04
) -> list[list[object]]:
    """Per frame, the tag updates of ``n`` vehicles driving along the plant's rail links.

    Each vehicle starts on a random link and drives at the link's speed limit (capped by the
    vehicle's top speed), taking a random outgoing link at each node; its position is
    interpolated along the link, as the simulator serves it. About one vehicle in 200 per
    frame picks a lot up or sets one down (a state update).
    """
    from factory_twin.model.events import VEHICLE_PREFIX, TagUpdate, vehicle_name

    am = spec.amhs  # type: ignore[attr-defined]
    index = {nd.id: i for i, nd in enumerate(am.nodes)}
    xy = np.array([nd.at_m for nd in am.nodes], dtype=float)
    frm = np.array([index[lk.from_] for lk in am.links])
    to = np.array([index[lk.to] for lk in am.links])
    length = np.array([max(lk.length_m, 1e-3) for lk in am.links])
    speed = np.array([min(lk.max_speed_m_s, am.vehicle.max_speed_m_s) for lk in am.links])
    out_links: list[list[int]] = [[] for _ in am.nodes]
    for k, a in enumerate(frm):
        out_links[a].append(k)
    link = rng.integers(0, len(am.links), n)
    s = rng.uniform(0, 1, n) * length[link]
    loaded = rng.random(n) < 0.3
    names = [VEHICLE_PREFIX + vehicle_name(i) for i in range(n)]
    batches: list[list[object]] = []
    for f in range(n_frames):
        t = t0 + f * dt
        s += speed[link] * dt
        for i in np.flatnonzero(s >= length[link]):
            while s[i] >= length[link[i]]:
                s[i] -= length[link[i]]
                nxt = out_links[to[link[i]]]
                link[i] = nxt[int(rng.integers(0, len(nxt)))] if nxt else link[i]
        a, b = xy[frm[link]], xy[to[link]]
        pos = a + (b - a) * (s / length[link])[:, None]
        batch: list[object] = []
        for i, name in enumerate(names):
            batch.append(TagUpdate(name, "x", float(pos[i, 0]), t))
            batch.append(TagUpdate(name, "y", float(pos[i, 1]), t))
        for i in np.flatnonzero(rng.random(n) < 0.005):
            loaded[i] = not loaded[i]
            batch.append(TagUpdate(names[i], "state", "loaded" if loaded[i] else "moving", t))
        batches.append(batch)
    return batches


def bench_plant(
    path: Path,
    *,
    frames: int,
    rate: float,
    carriers: int,
    size: tuple[int, int],
    vehicles: int = 0,
    extras: bool = True,
) -> dict:
    import pyvista as pv
    import vtk

    from factory_twin.app.plant_state import PlantState
    from factory_twin.model.config import load_plant
    from factory_twin.model.events import LotMove
    from factory_twin.model.geometry import plant_geometry
    from factory_twin.ui.render_quality import apply_quality
    from factory_twin.ui.scene import FabScene
    from factory_twin.ui.scene_meshes import tool_polydata

    pv.global_theme.multi_samples = 1
    out: dict = {"plant": path.name}
    t = time.perf_counter()
    doc = load_plant(path)
    out["load_s"] = time.perf_counter() - t
    spec = doc.spec
    out["tools"] = len(spec.equipment)
    t = time.perf_counter()
    geo = plant_geometry(spec, path.parent)
    out["geometry_s"] = time.perf_counter() - t
    out["triangles"] = len(geo.faces)

    p = pv.Plotter(off_screen=True, window_size=size)
    t = time.perf_counter()
    scene = FabScene(p, spec, geometry=geo, show_legend=False)
    p.render()
    out["scene_build_s"] = time.perf_counter() - t

    state = PlantState(spec)
    rng = np.random.default_rng(0)
    ids = [e.id for e in spec.equipment]
    t0 = 1000.0
    moves = []
    for k in range(carriers):
        a, b = rng.integers(0, len(ids), 2)
        dep = t0 + rng.uniform(-5, 5)
        moves.append(LotMove(f"L{k}", "", ids[a], ids[b], dep, dep + rng.uniform(5, 30)))
    state.apply(moves)
    per_frame = int(rate / 25)
    batches = _tag_batches(spec, frames + 5, per_frame, rng, t0)
    layer = scene.amhs if vehicles else None
    if vehicles:
        if layer is None:
            msg = f"{path.name}: no rails to drive {vehicles} vehicles on"
            raise SystemExit(msg)
        fleet = _fleet_batches(spec, vehicles, frames + 5, rng, t0)
        batches = [b + v for b, v in zip(batches, fleet, strict=True)]
        out["vehicles"] = vehicles
        out["rail_links"] = int(layer.rails.n_cells)

    def move_vehicles(t: float) -> None:
        if layer is not None:
            _, xy, loaded = state.vehicles.arrays()
            layer.set_vehicles(xy, loaded, t)

    # warm-up
    for f, b in enumerate(batches[:5]):
        state.apply(b)
        scene.set_states(state.codes, state.stale)
        _draw_lots(scene, state, state.clock_s)
        move_vehicles(t0 + f * 0.04)
        p.render()
    rw = p.ren_win
    lot_pos = scene.lot_points.points.copy()

    # bare VTK ceiling: the same merged mesh and carrier glyphs, nothing else, in its own
    # window of the same size, looking through the same camera
    ren = vtk.vtkRenderer()
    rw2 = vtk.vtkRenderWindow()
    rw2.SetOffScreenRendering(1)
    rw2.SetMultiSamples(0)
    rw2.SetSize(*size)
    rw2.AddRenderer(ren)
    m = vtk.vtkPolyDataMapper()
    m.SetInputData(tool_polydata(geo))
    m.SetScalarModeToUseCellFieldData()
    m.SelectColorArray("state")
    m.SetScalarRange(-0.5, 7.5)
    a = vtk.vtkActor()
    a.SetMapper(m)
    ren.AddActor(a)
    pts = vtk.vtkPoints()
    for q in lot_pos:
        pts.InsertNextPoint(*q)
    pd = vtk.vtkPolyData()
    pd.SetPoints(pts)
    cube = vtk.vtkCubeSource()
    cube.SetXLength(0.6)
    cube.SetYLength(0.6)
    cube.SetZLength(0.5)
    gm = vtk.vtkGlyph3DMapper()
    gm.SetInputData(pd)
    gm.SetSourceConnection(cube.GetOutputPort())
    ga = vtk.vtkActor()
    ga.SetMapper(gm)
    ren.AddActor(ga)
    if layer is not None:  # the same rail lines and vehicle glyphs
        rails = vtk.vtkPolyData()
        rails.DeepCopy(layer.rails)
        rm = vtk.vtkPolyDataMapper()
        rm.SetInputData(rails)
        rm.ScalarVisibilityOff()
        ra = vtk.vtkActor()
        ra.SetMapper(rm)
        ra.GetProperty().SetLineWidth(2)
        ren.AddActor(ra)
        vpts = vtk.vtkPoints()
        for q in np.asarray(layer.vehicle_points.points):
            vpts.InsertNextPoint(*q)
        vpd = vtk.vtkPolyData()
        vpd.SetPoints(vpts)
        body = vtk.vtkCubeSource()
        body.SetXLength(1.1)
        body.SetYLength(0.7)
        body.SetZLength(0.45)
        vm = vtk.vtkGlyph3DMapper()
        vm.SetInputData(vpd)
        vm.SetSourceConnection(body.GetOutputPort())
        va = vtk.vtkActor()
        va.SetMapper(vm)
        ren.AddActor(va)
    light = vtk.vtkLight()
    light.SetLightTypeToHeadlight()
    ren.AddLight(light)
    c2 = ren.GetActiveCamera()

    def bare_camera() -> None:
        cam = p.camera  # the view of the app's frame just measured
        c2.SetPosition(*cam.position)
        c2.SetFocalPoint(*cam.focal_point)
        c2.SetViewUp(*cam.up)
        c2.SetViewAngle(cam.view_angle)
        ren.ResetCameraClippingRange()

    bare_camera()
    for _ in range(5):
        rw2.Render()
    # app and bare frames alternate, so that both meet the same machine load (the
    # machine is shared); each is timed on its own
    times, apply_ms, bare = [], [], []
    cpu, bare_cpu = [], []  # process CPU time (all GL threads): steadier under others' load
    for f, b in enumerate(batches[5:]):
        t = time.perf_counter()
        c = time.process_time()
        state.apply(b)
        scene.set_states(state.codes, state.stale)
        _draw_lots(scene, state, t0 + f * 0.04)
        move_vehicles(t0 + (f + 5) * 0.04)
        t_mid = time.perf_counter()
        p.camera.Azimuth(0.3)
        rw.Render()
        _readback(rw)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        apply_ms.append((t_mid - t) * 1000)
        bare_camera()  # (not timed: the app's camera moves by itself)
        t = time.perf_counter()
        c = time.process_time()
        c2.Azimuth(0.3)
        rw2.Render()
        _readback(rw2)
        bare.append(time.perf_counter() - t)
        bare_cpu.append(time.process_time() - c)
    out["app_frame_ms"] = float(np.median(times) * 1000)
    out["app_update_ms"] = float(np.median(apply_ms))
    out["carriers_drawn"] = int(scene.lot_points.n_points)
    out["vehicles_drawn"] = scene.amhs.vehicle_count if scene.amhs is not None else 0
    out["updates_per_s"] = per_frame * 25
    out["bare_vtk_frame_ms"] = float(np.median(bare) * 1000)
    out["ratio"] = out["bare_vtk_frame_ms"] / out["app_frame_ms"]
    out["app_frame_cpu_ms"] = float(np.median(cpu) * 1000)
    out["bare_vtk_frame_cpu_ms"] = float(np.median(bare_cpu) * 1000)
    out["ratio_cpu"] = out["bare_vtk_frame_cpu_ms"] / out["app_frame_cpu_ms"]
    if layer is not None:
        out["vehicles_drawn"] = layer.vehicle_count
        out["vehicle_updates_per_s"] = 2 * vehicles * 25
    if not extras:
        rw2.Finalize()
        p.close()
        return out
    # the quality look's cost: the same frames with PBR, the light kit and SSAO
    apply_quality(scene, True, render=False)
    out["quality_frame_ms"] = _frames_ms(scene, state, batches[5:], t0)[0]
    apply_quality(scene, False, render=False)
    out["fast_again_frame_ms"] = _frames_ms(scene, state, batches[5:], t0)[0]
    out["quality_cost"] = out["quality_frame_ms"] / out["fast_again_frame_ms"]
    rw2.Finalize()
    p.close()
    # "before": the plant file's parts as bare boxes and cylinders (no equipment model),
    # drawn by the same scene with the same updates
    plain = plant_geometry(spec, path.parent, plain=True, segments=16)  # as before the models
    out["plain_triangles"] = len(plain.faces)
    # the same frames, plain and modelled alternating (both meet the same machine load)
    scenes = []
    for g in (plain, geo):
        q = pv.Plotter(off_screen=True, window_size=size)
        scenes.append(FabScene(q, spec, geometry=g, show_legend=False))
        q.render()
    plain_ms, model_ms = _frames_ms(scenes, state, batches[5:], t0)
    out["plain_frame_ms"], out["model_frame_ms"] = plain_ms, model_ms
    out["model_vs_plain"] = model_ms / plain_ms
    for sc_ in scenes:
        sc_.plotter.close()
    return out


def _frames_ms(scenes: object, state: object, batches: list, t0: float) -> list[float]:
    """Median ms per scene of frames that apply a tag batch, move the carriers and render.

    ``scenes`` is one scene or a list; with several, their frames alternate.
    """
    many = scenes if isinstance(scenes, list) else [scenes]
    times: list[list[float]] = [[] for _ in many]
    for f, b in enumerate(batches):
        for k, scene in enumerate(many):
            p = scene.plotter
            rw = p.ren_win
            t = time.perf_counter()
            state.apply(b)  # type: ignore[attr-defined]
            scene.set_states(state.codes, state.stale)
            _draw_lots(scene, state, t0 + f * 0.04)
            p.camera.Azimuth(0.3)
            rw.Render()
            _readback(rw)
            times[k].append(time.perf_counter() - t)
    return [float(np.median(ts[2:]) * 1000) for ts in times]


def bench_live(timeout_s: float = 120.0) -> dict:
    """Seconds from start to a rendered frame with every demo tool live, over OPC UA."""
    import pyvista as pv

    pv.global_theme.multi_samples = 1
    t0 = time.perf_counter()
    from factory_twin.app.controller import ConnectionSettings, Controller, find_demo_plant
    from factory_twin.model.config import load_plant
    from factory_twin.ui.scene import FabScene

    c = Controller(journal_path=Path(os.environ.get("TMPDIR", "/tmp")) / "ft_bench_journal.sqlite")
    c.set_plant(load_plant(find_demo_plant()))
    p = pv.Plotter(off_screen=True, window_size=(1100, 700))
    scene = FabScene(p, c.doc.spec, show_legend=False)  # type: ignore[union-attr]
    c.connect(ConnectionSettings(use_simulator=True))
    first = None
    try:
        while time.perf_counter() - t0 < timeout_s:
            c.apply_pending()
            st = c.state
            assert st is not None
            if ((st.codes >= 0) & ~st.stale).all():
                scene.set_states(st.codes, st.stale)
                p.render()
                first = time.perf_counter() - t0
                break
            time.sleep(0.02)
    finally:
        c.close()
        p.close()
    return {"start_to_first_live_frame_s": first}


def bench_gui(seconds: float) -> dict:
    """Run the window on the live demo fab; report ticks and stalls over 100 ms."""
    import pyvista as pv
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from factory_twin.app.controller import ConnectionSettings, Controller, find_demo_plant
    from factory_twin.ui.qt_main_window import MainWindow

    pv.global_theme.multi_samples = 1
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    t0 = time.perf_counter()
    app = QApplication.instance() or QApplication([])
    c = Controller(journal_path=tmp / "ft_bench_gui_journal.sqlite")
    w = MainWindow(c, QSettings(str(tmp / "ft_bench_settings.ini"), QSettings.Format.IniFormat))
    c.settings = ConnectionSettings(use_simulator=True)
    w.resize(1400, 900)
    w.show()
    w.open_plant(str(find_demo_plant()))
    live_at: list[float] = []

    def poll() -> None:
        if not live_at and c.state is not None and w.live_tool_count() == len(c.state.ids):
            live_at.append(time.perf_counter() - t0)
            w.stalls.clear()
            w.stall_log.clear()
            w.tick_ms.clear()
            w.view.frame_ms.clear()
            QTimer.singleShot(int(seconds * 1000), app.quit)

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(50)
    QTimer.singleShot(int((seconds + 150) * 1000), app.quit)
    app.exec()
    res = {
        "gui_start_to_all_tools_live_s": live_at[0] if live_at else None,
        "gui_ticks": len(w.tick_ms),
        "gui_tick_median_ms": float(np.median(w.tick_ms)) if w.tick_ms else None,
        "gui_stalls_over_100ms": len(w.stalls),
        "gui_stall_log": w.stall_log[:10],
        "gui_render_median_ms": float(np.median(w.view.frame_ms)) if w.view.frame_ms else None,
        "gui_seconds": seconds,
    }
    w.close()
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--rate", type=float, default=10_000, help="tag updates per second")
    ap.add_argument("--carriers", type=int, default=2000)
    ap.add_argument("--size", default="1100x700", help="render size WxH")
    ap.add_argument(
        "--fleet",
        type=int,
        default=100,
        help="vehicles driving on the SMAT2022 rails of smt2020_hvlm_smat2022.yaml (0: skip)",
    )
    ap.add_argument("--only-fleet", action="store_true", help="run only the fleet case")
    ap.add_argument("--live", action="store_true", help="measure start to first live frame")
    ap.add_argument("--gui", type=float, default=0.0, help="seconds of the live window")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument(
        "--plants", default="demo_fab,smt2020_hvlm", help="comma-separated plant_configs names"
    )
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    results = []
    plants = [REPO / "plant_configs" / f"{name.strip()}.yaml" for name in args.plants.split(",")]
    for path in [] if args.only_fleet else plants:
        if not path.exists():
            continue
        carriers = min(args.carriers, 60) if path.name == "demo_fab.yaml" else args.carriers
        r = bench_plant(path, frames=args.frames, rate=args.rate, carriers=carriers, size=size)
        results.append(r)
        print(
            f"{r['plant']}: {r['tools']} tools, {r['triangles']} triangles, "
            f"{r['carriers_drawn']} carriers; load {r['load_s']:.2f} s, geometry "
            f"{r['geometry_s']:.2f} s, scene {r['scene_build_s']:.2f} s; frame "
            f"{r['app_frame_ms']:.1f} ms (updates {r['app_update_ms']:.1f} ms) at "
            f"{r['updates_per_s']:.0f} updates/s vs bare VTK {r['bare_vtk_frame_ms']:.1f} ms: "
            f"ratio {r['ratio']:.2f} (CPU time per frame {r['app_frame_cpu_ms']:.1f} vs "
            f"{r['bare_vtk_frame_cpu_ms']:.1f} ms: ratio {r['ratio_cpu']:.2f})"
        )
        print(
            f"  equipment models: {r['triangles']} triangles vs {r['plain_triangles']} as plain "
            f"parts; frame {r['model_frame_ms']:.1f} ms vs {r['plain_frame_ms']:.1f} ms: "
            f"x{r['model_vs_plain']:.2f}; quality mode {r['quality_frame_ms']:.1f} ms vs fast "
            f"{r['fast_again_frame_ms']:.1f} ms: x{r['quality_cost']:.2f}"
        )
    fleet_plant = REPO / "plant_configs" / "smt2020_hvlm_smat2022.yaml"
    if args.fleet > 0 and fleet_plant.exists():
        r = bench_plant(
            fleet_plant,
            frames=args.frames,
            rate=args.rate,
            carriers=args.carriers,
            size=size,
            vehicles=args.fleet,
            extras=False,
        )
        results.append(r)
        print(
            f"{r['plant']}: {r['tools']} tools, {r['triangles']} triangles, {r['rail_links']} "
            f"rail links, {r['vehicles_drawn']} vehicles moving, {r['carriers_drawn']} carriers; "
            f"frame {r['app_frame_ms']:.1f} ms (updates {r['app_update_ms']:.1f} ms) at "
            f"{r['updates_per_s']:.0f} tool + {r['vehicle_updates_per_s']:.0f} vehicle updates/s "
            f"vs bare VTK {r['bare_vtk_frame_ms']:.1f} ms (same tools, carriers, rails, "
            f"vehicles): ratio {r['ratio']:.2f} (CPU time per frame {r['app_frame_cpu_ms']:.1f} "
            f"vs {r['bare_vtk_frame_cpu_ms']:.1f} ms: ratio {r['ratio_cpu']:.2f})"
        )
    if args.live:
        r = bench_live()
        results.append(r)
        print(f"start to first live frame (demo fab, OPC UA): {r['start_to_first_live_frame_s']}")
    if args.gui > 0:
        r = bench_gui(args.gui)
        results.append(r)
        print(
            f"window: all tools live after {r['gui_start_to_all_tools_live_s']} s; "
            f"{r['gui_ticks']} ticks in {args.gui:.0f} s, median {r['gui_tick_median_ms']} ms, "
            f"{r['gui_stalls_over_100ms']} stalls > 100 ms, render median "
            f"{r['gui_render_median_ms']} ms"
        )
        for line in r["gui_stall_log"]:
            print("  stall:", line)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
