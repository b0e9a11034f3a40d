"""Step overlays on an off-screen pyvista plotter (no Qt): highlight, callout, camera, picking.

The highlight is the equipment model's real part the component maps to (the lid is the lid),
the same part the AR exports single out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pyvista as pv

from factory_twin.app.maintenance import anchor_world, nearest_component
from factory_twin.model.config import load_plant
from factory_twin.model.geometry import (
    component_part,
    part_solid,
    place,
    type_geometry,
)
from factory_twin.ui.maintain_scene import (
    HIGHLIGHT_PAD_M,
    StepOverlay,
    component_mesh,
    wrap_callout,
)
from factory_twin.ui.scene import FabScene

REPO = Path(__file__).resolve().parents[2]
SHIPPED = [p for p in sorted((REPO / "plant_configs").glob("*.yaml")) if p.name.count(".") == 1]


@pytest.fixture(scope="module")
def led():
    return load_plant(REPO / "plant_configs" / "led_line.yaml").spec


@pytest.fixture
def overlay(led):
    p = pv.Plotter(off_screen=True, window_size=(640, 420))
    yield StepOverlay(FabScene(p, led, show_legend=False))
    p.close()


def test_every_step_of_the_led_line_frames_its_anchor_and_part(overlay, led):
    p = overlay.plotter
    before = set(p.actors)
    for proc in led.procedures:
        tool = next(e.id for e in led.equipment if e.type == proc.equipment_type)
        for step in proc.steps:
            h = overlay.show_step(
                tool, step.component, step.title, step.text, safety=bool(step.safety)
            )
            assert np.allclose(h.anchor, anchor_world(led, tool, step.component))
            overlay.scene.set_camera(
                overlay.step_camera(tool, h.anchor, h.label_point, h.part_bounds)
            )
            w, hgt = p.window_size
            for point in (h.anchor, h.label_point):
                x, y = overlay.display_of(point)
                assert 0 <= x <= w and 0 <= y <= hgt, (proc.id, step.title, point, x, y)
            if h.part is not None:
                assert overlay.highlight_actor.GetVisibility()
                found = component_mesh(led, tool, step.component)
                assert found is not None and found[0] == h.part
                assert np.allclose(overlay.highlight_actor.GetBounds(), found[1].bounds)
                # the padded highlight wraps the part's own bounds
                b, pb = np.array(found[1].bounds), np.array(h.part_bounds)
                assert np.allclose(b[::2], pb[::2] - HIGHLIGHT_PAD_M, atol=0.02)
                assert np.allclose(b[1::2], pb[1::2] + HIGHLIGHT_PAD_M, atol=0.02)
            assert all(not a.GetVisibility() for a in overlay.scene.label_actors)
    img = p.screenshot(return_img=True)
    assert (np.abs(img.astype(int) - img[0, 0]).sum(-1) > 0).mean() > 0.3
    overlay.clear()
    assert set(p.actors) == before and overlay.shown is None
    assert all(a.GetVisibility() for a in overlay.scene.label_actors)


def test_picking_the_anchor_gives_its_component(overlay, led):
    proc = led.procedures[0]
    tool = next(e.id for e in led.equipment if e.type == proc.equipment_type)
    hits = 0
    etype = led.equipment_type(proc.equipment_type)
    for comp in etype.components:
        h = overlay.show_step(tool, comp.name, comp.name, "")
        # straight down onto the anchor: from the front, other parts may hide it
        a = np.array(h.anchor)
        overlay.scene.set_camera(
            (tuple(a + np.array([0.0, 0.0, 12.0])), tuple(a), (0.0, 1.0, 0.0))
        )
        overlay.plotter.render()
        hit = overlay.pick(*overlay.display_of(h.anchor))
        if hit is None:
            continue  # an anchor over empty floor (e.g. beside the tool) picks nothing
        assert hit[0] == tool
        got = nearest_component(led, tool, hit[1])
        sharing = [c.name for c in etype.components if c.part == comp.part]
        if len(sharing) == 1:  # its own part: exactly this component
            assert got.name == comp.name
            hits += 1
        else:  # anchors stacked inside one part: the one nearest the clicked surface
            assert got.name in sharing
    assert hits >= 4


def test_callout_text_wraps_and_is_cut_with_an_ellipsis():
    text = wrap_callout("Title", "word " * 100, width=20, max_lines=4)
    lines = text.splitlines()
    assert lines[0] == "Title" and len(lines) == 4 and lines[-1].endswith("…")
    assert all(len(x) <= 20 for x in lines)


def _world_bounds(tool, shape_part) -> np.ndarray:
    """World bounds (VTK order) of a plant-file part: its box, or its cylinder as a circle."""
    pts, _, _ = part_solid(shape_part, segments=720)
    w = place(pts, tool.position_m, tool.rotation_deg)
    return np.array(
        [w[:, 0].min(), w[:, 0].max(), w[:, 1].min(), w[:, 1].max(), w[:, 2].min(), w[:, 2].max()]
    )


@pytest.mark.parametrize("plant", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_procedure_highlights_the_model_part_the_ar_export_shows(plant):
    spec = load_plant(plant).spec
    lids = set()
    for proc in spec.procedures:
        etype = spec.equipment_type(proc.equipment_type)
        ar = type_geometry(etype)  # the AR exports' geometry (finer cylinders)
        # every tool of the type: rotated ones too
        tools = [e for e in spec.equipment if e.type == etype.id]
        for step in proc.steps:
            comp = etype.component(step.component)
            i = component_part(ar, comp)
            assert i is not None, (proc.id, step.component)
            for tool in tools:
                found = component_mesh(spec, tool.id, comp.name, pad=0.0)
                assert found is not None, (proc.id, comp.name)
                name, mesh = found
                assert name == ar.parts[i].name  # the same part as the AR export
                plant_part = next(
                    q for q in etype.shape.parts if q.name == (ar.parts[i].refines or name)
                )
                outer = _world_bounds(tool, plant_part)
                got = np.array(mesh.bounds)
                tol = 1e-3
                assert np.all(got[::2] >= outer[::2] - tol), (proc.id, comp.name, got, outer)
                assert np.all(got[1::2] <= outer[1::2] + tol), (proc.id, comp.name, got, outer)
                if ar.parts[i].generated and name.endswith(" lid"):
                    lids.add(name)
                    # the lid alone: the top of the chamber, far thinner than the chamber
                    height, outer_h = got[5] - got[4], outer[5] - outer[4]
                    assert height < 0.5 * outer_h, (name, height, outer_h)
                    assert got[4] > outer[4] + 0.4 * outer_h
                    assert abs(got[5] - outer[5]) < tol
                    whole = component_mesh(spec, tool.id, comp.name, pad=0.0)
                    assert whole is not None and whole[1].n_cells < 200
    want = {"demo_fab": {"chamber 1 lid"}, "led_line": {"reactor lid"}}.get(plant.stem, set())
    assert want <= lids, (plant.stem, lids)


def test_a_component_of_a_chamber_shows_the_chamber_with_its_lid_not_the_signal_tower():
    spec = load_plant(REPO / "plant_configs" / "demo_fab.yaml").spec
    tool = next(e for e in spec.equipment if e.type == "etch_mainframe")
    # 'turbo pump' names the plant file's 'chamber 1': vessel and lid, as the plant file has it
    pump = component_mesh(spec, tool.id, "turbo pump", pad=0.0)
    lid = component_mesh(spec, tool.id, "chamber 1 lid", pad=0.0)
    assert pump is not None and lid is not None
    assert pump[0] == "chamber 1" and lid[0] == "chamber 1 lid"
    etype = spec.equipment_type("etch_mainframe")
    chamber = next(q for q in etype.shape.parts if q.name == "chamber 1")
    assert np.allclose(pump[1].bounds, _world_bounds(tool, chamber), atol=0.02)
    assert lid[1].bounds[4] > pump[1].bounds[4] + 0.5  # the lid sits on top
    # a component on a main body: the body, never the signal tower standing on it
    furnace = spec.equipment_type("vertical_furnace")
    ftool = next(e for e in spec.equipment if e.type == "vertical_furnace")
    heater = component_mesh(spec, ftool.id, "heater", pad=0.0)
    body = next(q for q in furnace.shape.parts if q.name == furnace.component("heater").part)
    assert heater is not None
    assert heater[1].bounds[5] <= _world_bounds(ftool, body)[5] + 1e-6


def _orange(img: np.ndarray) -> np.ndarray:
    """Mask of the highlight's orange at any shading."""
    r, g, b = (img[..., i].astype(int) for i in range(3))
    return (r > 100) & (r - b > 80) & (g > 0.35 * r) & (g < 0.78 * r)


def test_a_lid_step_highlights_the_lid_alone_on_screen(tmp_path):
    spec = load_plant(REPO / "plant_configs" / "demo_fab.yaml").spec
    tool = next(e.id for e in spec.equipment if e.type == "etch_mainframe")
    p = pv.Plotter(off_screen=True, window_size=(900, 640))
    try:
        overlay = StepOverlay(FabScene(p, spec, show_legend=False))
        # the whole chamber first (the turbo pump names it), then its lid from the same camera
        h = overlay.show_step(tool, "turbo pump", "Turbo pump", "")
        h_lid = overlay.show_step(tool, "chamber 1 lid", "Open the lid", "Lift the lid.")
        cam = overlay.step_camera(tool, h_lid.anchor, h_lid.label_point, h.part_bounds)
        overlay.scene.set_camera(cam)
        lid_img = p.screenshot(str(tmp_path / "maintain_lid.png"), return_img=True)
        assert h_lid.part == "chamber 1 lid"
        overlay.show_step(tool, "turbo pump", "Turbo pump", "")
        overlay.scene.set_camera(cam)
        chamber_img = p.screenshot(return_img=True)
    finally:
        p.close()
    lid, chamber = _orange(lid_img), _orange(chamber_img)
    assert lid.sum() > 300, "the lid's highlight is not visible"
    assert lid.sum() < 0.9 * chamber.sum()
    # the lid is the chamber's top: the chamber's highlight reaches far lower on screen
    rows_lid = np.nonzero(lid.any(axis=1))[0]
    rows_ch = np.nonzero(chamber.any(axis=1))[0]
    assert rows_lid.min() >= rows_ch.min() - 3
    assert rows_lid.max() < rows_ch.max() - 0.15 * (rows_ch.max() - rows_ch.min())


def test_a_component_without_a_part_lights_the_part_at_its_anchor_as_the_ar_export_does():
    spec = load_plant(REPO / "tests" / "ar" / "data" / "ar_plant.yaml").spec
    etype = spec.equipment_type("pvd_cluster")
    door = etype.component("load lock door")
    assert door.part is None
    found = component_mesh(spec, "PVD-01", door.name, pad=0.0)
    assert found is not None and found[0] == "load lock"  # the box its anchor is on
    ar = type_geometry(etype)
    assert ar.parts[component_part(ar, door)].name == found[0]
    # an anchor in the air next to nothing shows no highlight (only the marker and callout)
    p = pv.Plotter(off_screen=True, window_size=(400, 300))
    try:
        overlay = StepOverlay(FabScene(p, spec, show_legend=False))
        far = door.model_copy(update={"name": "far", "anchor_m": (0.0, 0.0, 9.0)})
        etype.components.append(far)
        h = overlay.show_step("PVD-01", door.name, "Door", "")
        assert h.part == "load lock" and overlay.highlight_actor is not None
        h = overlay.show_step("PVD-01", "far", "Far", "")  # the door's highlight goes
        assert h.part is None and h.part_bounds is None and overlay.highlight_actor is None
        assert "maintain_highlight" not in p.actors
    finally:
        p.close()


def test_the_highlight_grows_each_solid_by_its_pad_and_drops_collapsed_triangles():
    from factory_twin.ui.maintain_scene import _grown
    from factory_twin.ui.scene_meshes import triangles_polydata

    a = pv.Box(bounds=(0, 1, 0, 2, 0, 3)).triangulate()
    b = pv.Box(bounds=(4, 4.4, 0, 0.4, 0, 0.4)).triangulate()  # a FOUP beside its cabinet
    n = a.n_points + b.n_points
    pts = np.vstack([a.points, b.points, [[9, 9, 9], [9, 9, 9], [9.5, 9, 9]]])
    faces = np.vstack([a.regular_faces, b.regular_faces + a.n_points, [[n, n + 1, n + 2]]])
    grown = _grown(triangles_polydata(pts, faces), 0.03)
    assert grown.n_cells == a.n_cells + b.n_cells  # the collapsed triangle is gone
    bodies = grown.connectivity("all").split_bodies()
    got = sorted(np.round(body.bounds, 6).tolist() for body in bodies)
    assert got == [
        [-0.03, 1.03, -0.03, 2.03, -0.03, 3.03],
        [3.97, 4.43, -0.03, 0.43, -0.03, 0.43],  # each solid about its own centre
    ]
