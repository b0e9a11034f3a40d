"""The plotter-agnostic fab scene on an off-screen pyvista plotter."""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv
from _images import compare_with_reference

from factory_twin.model.config import load_plant
from factory_twin.model.events import E10State
from factory_twin.ui import scene as sc
from factory_twin.ui import scene_camera, scene_colors, scene_labels

pytestmark = pytest.mark.gui


@pytest.fixture
def plotter():
    p = pv.Plotter(off_screen=True, window_size=(480, 300))
    yield p
    p.close()


@pytest.fixture
def mini(mini_plant_path):
    return load_plant(mini_plant_path).spec


def _non_bg_fraction(img: np.ndarray) -> float:
    return float((np.abs(img.astype(int) - img[2, 2]).sum(-1) > 30).mean())


def test_all_tools_in_one_mesh_with_cell_tool_index(plotter, mini):
    scene = sc.FabScene(plotter, mini)
    geo = scene.geometry
    assert scene.tool_mesh.n_cells == len(geo.cell_tool)
    assert set(np.unique(geo.cell_tool)) == set(range(len(mini.equipment)))
    # one actor for all tools, whatever the plant size
    tool_actors = [a for name, a in plotter.actors.items() if name == "tools"]
    assert len(tool_actors) == 1
    # every tool's cells lie inside its footprint around its position
    for i, eq in enumerate(mini.equipment):
        b = geo.bounds[i]
        assert b[0] < eq.position_m[0] < b[1]
        assert b[2] < eq.position_m[1] < b[3]


def test_state_codes_update_in_place(plotter, mini):
    scene = sc.FabScene(plotter, mini)
    arr_before = scene.tool_mesh.cell_data["state"]
    codes = np.array([E10State.PRODUCTIVE.code, E10State.UNSCHEDULED_DOWN.code, -1])
    scene.set_states(codes, np.array([False, False, False]))
    assert set(scene.cell_codes_of("ETCH-01")) == {E10State.PRODUCTIVE.code}
    assert set(scene.cell_codes_of("ETCH-02")) == {E10State.UNSCHEDULED_DOWN.code}
    assert set(scene.cell_codes_of("LITHO-01")) == {scene_colors.UNKNOWN_CODE}
    scene.set_states(codes, np.array([False, True, False]))
    assert set(scene.cell_codes_of("ETCH-02")) == {scene_colors.STALE_CODE}
    assert scene.stale_actor is not None and scene.stale_actor.GetVisibility()
    assert scene.tool_mesh.cell_data["state"] is not None
    assert np.shares_memory(np.asarray(arr_before), np.asarray(scene.tool_mesh.cell_data["state"]))


def test_colour_follows_state_in_pixels(plotter, mini):
    scene = sc.FabScene(plotter, mini, show_labels=False)
    scene.set_camera(scene.tool_camera("ETCH-01"), render=False)
    scene.set_states(np.array([E10State.UNSCHEDULED_DOWN.code, -1, -1]), np.zeros(3, bool))
    plotter.render()
    x, y = scene.display_position("ETCH-01")
    img = plotter.screenshot(return_img=True)
    h = img.shape[0]
    px = img[int(h - y), int(x)].astype(int)
    assert px[0] > 120 and px[1] < 90 and px[2] < 90, px  # red for unscheduled down
    scene.set_states(np.array([E10State.PRODUCTIVE.code, -1, -1]), np.zeros(3, bool))
    plotter.render()
    img = plotter.screenshot(return_img=True)
    px = img[int(h - y), int(x)].astype(int)
    assert px[1] > px[0] + 40 and px[1] > px[2] + 40, px  # green for productive


def test_pick_tool_at_projected_position(plotter, mini):
    scene = sc.FabScene(plotter, mini)
    plotter.render()
    for tid in ("ETCH-01", "ETCH-02", "LITHO-01"):
        assert scene.tool_at_display(*scene.display_position(tid)) == tid
    assert scene.tool_at_display(2, 2) is None


def test_lots_are_one_glyph_set(plotter, mini):
    scene = sc.FabScene(plotter, mini)
    scene.set_lots(np.array([[1.0, 1.0, 0.0], [2.0, 2.0, 3.2]]), np.array([0, 1]))
    assert scene.lot_points.n_points == 2
    scene.set_lots(np.array([[1.5, 1.0, 0.0], [2.5, 2.0, 3.2]]), np.array([0, 1]))
    assert np.allclose(scene.lot_points.points[0], (1.5, 1.0, 0.0))
    scene.set_lots(np.zeros((0, 3)))
    assert scene.lot_points.n_points == 0


def test_render_matches_reference_image(plotter, mini, image_cache):
    """The fab renders as in the committed reference (tolerant of GL backend noise)."""
    scene = sc.FabScene(plotter, mini)
    scene.set_states(np.array([0, 4, 1]), np.array([False, False, True]))
    scene.select("ETCH-02")
    plotter.render()
    img = plotter.screenshot(return_img=True)
    assert _non_bg_fraction(img) > 0.15  # the floor and tools fill the view
    compare_with_reference(img, image_cache / "scene_mini.png")


def test_bay_labels_are_inside_the_view(plotter, mini):
    sc.FabScene(plotter, mini)
    plotter.render()
    w, h = plotter.window_size
    for b in mini.site.bays:
        coord = pv._vtk.vtkCoordinate()
        coord.SetCoordinateSystemToWorld()
        coord.SetValue(b.origin_m[0] + b.size_m[0] / 2, b.origin_m[1] + 0.6, 0.05)
        x, y = coord.GetComputedDoubleDisplayValue(plotter.renderer)
        assert 40 < x < w - 40 and 15 < y < h - 15, (b.id, x, y)


def test_camera_presets_frame_targets(plotter, mini):
    scene = sc.FabScene(plotter, mini)
    _, focal, _up = scene.bay_camera("litho")
    assert focal[0] == pytest.approx(15.0) and focal[1] == pytest.approx(5.0)
    _pos, focal, _ = scene.tool_camera("ETCH-01")
    assert focal[0] == pytest.approx(3.0, abs=0.01)
    mid = scene_camera.interpolate_camera(
        scene.overview_camera(), scene.tool_camera("ETCH-01"), 0.5
    )
    assert len(mid) == 3


def test_tool_colours_follow_states_texel_by_texel(plotter):
    """Each tool's body points name its own texel, which carries its state's colour, after
    full and partial updates; its neutral parts (FOUPs, lids, racks) name their material's
    texel, which no state change touches."""
    from factory_twin.app.controller import find_demo_plant

    scene = sc.FabScene(plotter, load_plant(find_demo_plant()).spec, show_labels=False)
    n = len(scene.ids)
    tc = np.asarray(scene.tool_mesh.active_texture_coordinates)
    w, h, _ = scene._tool_image.dimensions
    texel = np.floor(tc[:, 0] * w).astype(int) + w * np.floor(tc[:, 1] * h).astype(int)
    faces = scene.tool_mesh.regular_faces
    mat = scene.geometry.point_material
    for i in range(n):
        pts = np.unique(faces[scene.geometry.cell_tool == i].ravel())
        body = pts[mat[pts] == 0]
        assert len(body) > 0 and set(texel[body]) == {i}
        neutral = pts[mat[pts] > 0]
        assert len(neutral) > 0  # every shipped tool has FOUPs, a lid or a rack
        np.testing.assert_array_equal(texel[neutral], n + mat[neutral] - 1)
    rgb = np.asarray(scene._tool_image.point_data["rgb"]).reshape(-1, 3)
    np.testing.assert_array_equal(
        rgb[n : n + len(scene_colors.NEUTRAL_RGB)], scene_colors.NEUTRAL_RGB
    )
    rng = np.random.default_rng(3)
    codes = rng.integers(-1, 6, n)
    stale = np.zeros(n, bool)
    for step in range(4):
        if step:  # a few tools change: the partial path
            k = rng.integers(0, n, 2)
            codes[k] = (codes[k] + 2) % 6
            stale[rng.integers(0, n)] = step == 2
        scene.set_states(codes, stale)
        disp = np.where(codes < 0, scene_colors.UNKNOWN_CODE, codes)
        disp[stale] = scene_colors.STALE_CODE
        for i, tid in enumerate(scene.ids):
            assert scene.tool_rgb_of(tid) == tuple(scene_colors.STATE_RGB[disp[i]]), (step, tid)
            assert set(scene.cell_codes_of(tid)) == {disp[i]}
        np.testing.assert_array_equal(
            rgb[n : n + len(scene_colors.NEUTRAL_RGB)], scene_colors.NEUTRAL_RGB
        )


def test_labels_of_neighbouring_bays_do_not_overlap():
    """Names placed on top of each other move apart; the lowest keeps its place."""
    y = scene_labels.declutter(
        [100.0, 130.0, 400.0], [50.0, 52.0, 50.0], [60.0] * 3, [18.0] * 3, [True, True, True]
    )
    assert y[0] == 50.0 and y[2] == 50.0  # the lowest and the one far away stay
    assert y[1] >= 50.0 + 18.0  # the other one went above the first
    assert scene_labels.declutter(
        [100.0, 130.0], [50.0, 52.0], [60.0] * 2, [18.0] * 2, [True, False]
    ) == [
        50.0,
        52.0,
    ]  # a hidden label moves nothing


def test_mesh_only_type_is_drawn_from_its_mesh_file(plotter, mini_plant_path, tmp_path):
    """A type with only ``shape.mesh`` is drawn as that mesh (once a 1 x 1 x 1.5 m box)."""
    import trimesh

    pump = trimesh.creation.cylinder(radius=0.6, height=1.8, sections=10)  # 40 triangles
    pump.apply_translation((0.0, 0.0, 0.9))  # standing on the floor
    (tmp_path / "meshes").mkdir()
    pump.export(tmp_path / "meshes" / "pump.ply")
    text = mini_plant_path.read_text(encoding="utf-8")
    text = text.replace(
        "equipment_types:\n",
        "equipment_types:\n  - {id: pump, kind: other, shape: {mesh: meshes/pump.ply}}\n",
        1,
    )
    text = text.replace(
        "equipment:\n",
        "equipment:\n"
        "  - {id: PUMP-01, type: pump, group: PUMP, bay: etch, position_m: [8, 8.5]}\n",
        1,
    )
    (tmp_path / "plant.yaml").write_text(text, encoding="utf-8")
    spec = load_plant(tmp_path / "plant.yaml").spec
    scene = sc.FabScene(plotter, spec, show_labels=False)
    i = scene.index["PUMP-01"]
    assert (scene.geometry.cell_tool == i).sum() == len(pump.faces) == 40
    assert scene.tool_mesh.n_cells == len(scene.geometry.cell_tool)
    pts = scene.tool_mesh.points[
        np.unique(scene.tool_mesh.regular_faces[scene.geometry.cell_tool == i])
    ]
    at = np.array([8.0, 8.5, 0.0])  # the tool's position: the mesh's origin
    np.testing.assert_allclose(pts.min(axis=0), pump.bounds[0] + at, atol=1e-5)
    np.testing.assert_allclose(pts.max(axis=0), pump.bounds[1] + at, atol=1e-5)
    assert pts[:, 2].max() == pytest.approx(1.8, abs=1e-5)  # not the stand-in's 1.5 m
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    np.testing.assert_allclose(scene.geometry.bounds[i], np.column_stack([lo, hi]).ravel())
    # it is drawn where it stands, in its state's colour
    scene.set_camera(scene.tool_camera("PUMP-01"), render=False)
    codes = np.full(len(scene.ids), -1)
    codes[i] = E10State.PRODUCTIVE.code
    scene.set_states(codes, np.zeros(len(scene.ids), bool))
    plotter.render()
    x, y = scene.display_position("PUMP-01")
    assert scene.tool_at_display(x, y) == "PUMP-01"
    img = plotter.screenshot(return_img=True)
    px = img[int(img.shape[0] - y), int(x)].astype(int)
    assert px[1] > px[0] + 40 and px[1] > px[2] + 40, px  # green for productive
