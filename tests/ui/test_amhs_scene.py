"""The AMHS in 3-D: rails from the amhs section, vehicles as one glyph set, the heat map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pyvista as pv

from factory_twin.model.amhs import rail_length_m
from factory_twin.model.amhs_layout import generated_amhs
from factory_twin.model.config import load_plant
from factory_twin.ui import scene as sc
from factory_twin.ui.amhs_scene import rail_height_m

LOOP = Path(__file__).parents[1] / "data" / "amhs_loop_plant.yaml"


@pytest.fixture
def plotter():
    p = pv.Plotter(off_screen=True, window_size=(480, 300))
    yield p
    p.close()


@pytest.fixture
def loop():
    return load_plant(LOOP).spec


def test_rails_are_one_polyline_mesh_of_the_amhs_links(plotter, loop):
    scene = sc.FabScene(plotter, loop)
    assert scene.amhs is not None
    rails = scene.amhs.rails
    am = loop.amhs
    assert rails.n_cells == len(am.links) == 7
    assert rails.n_lines == len(am.links)
    # the drawn lines have the links' lengths (this loop's lengths are the straight distances)
    pts = np.asarray(rails.points)
    seg = np.asarray(rails.lines).reshape(-1, 3)
    drawn = np.linalg.norm(pts[seg[:, 2]] - pts[seg[:, 1]], axis=1)
    assert drawn.sum() == pytest.approx(rail_length_m(am))
    # extent: the nodes' bounding box, at the ceiling above the carriers
    xs = [n.at_m[0] for n in am.nodes]
    ys = [n.at_m[1] for n in am.nodes]
    b = rails.bounds
    assert (b[0], b[1], b[2], b[3]) == pytest.approx((min(xs), max(xs), min(ys), max(ys)))
    assert b[4] == b[5] == pytest.approx(rail_height_m(loop))
    assert rail_height_m(loop) > loop.transport.carrier_height_m
    assert "amhs_rails" in plotter.actors


def test_plant_without_amhs_draws_rails_generated_from_its_layout(plotter, mini_plant_path):
    spec = load_plant(mini_plant_path).spec
    assert spec.amhs is None
    scene = sc.FabScene(plotter, spec)
    assert scene.amhs is not None
    assert "amhs_rails" in plotter.actors and "amhs_vehicles" in plotter.actors
    am = generated_amhs(spec)
    assert scene.amhs.rails.n_lines == len(am.links)
    assert np.allclose(scene.amhs.rails.points[:, 2], rail_height_m(spec))


@pytest.mark.parametrize("name", ["demo_fab.yaml", "led_line.yaml"])
def test_shipped_plants_without_rails_draw_generated_ones(plotter, name):
    spec = load_plant(Path(__file__).parents[2] / "plant_configs" / name).spec
    scene = sc.FabScene(plotter, spec)
    assert scene.amhs is not None and "amhs_rails" in plotter.actors
    assert scene.amhs.rails.n_lines == len(generated_amhs(spec).links) > 50


def test_vehicles_are_one_glyph_set_with_a_foup_when_loaded(plotter, loop):
    scene = sc.FabScene(plotter, loop)
    layer = scene.amhs
    assert layer is not None
    assert layer.set_vehicles(np.array([[2.0, 8.0], [19.0, 5.0], [10.0, 2.0]]), [0, 1, 0])
    assert layer.vehicle_count == 3
    assert np.allclose(layer.vehicle_points.points[:, 2], rail_height_m(loop))
    assert list(layer.vehicle_points.point_data["loaded"]) == [0, 1, 0]
    assert not layer.set_vehicles(np.array([[2.0, 8.0], [19.0, 5.0], [10.0, 2.0]]), [0, 1, 0])
    # the loaded source hangs a FOUP under the vehicle: it reaches lower than the empty one
    empty, loaded = (src.bounds for src in layer.sources)
    assert loaded[4] < empty[4] - 0.4
    img = plotter.screenshot(return_img=True)
    assert img is not None
    layer.set_vehicles(np.zeros((0, 2)), [])
    assert layer.vehicle_count == 0


def test_nearest_link_and_heat_map_from_occupancy(plotter, loop):
    scene = sc.FabScene(plotter, loop)
    layer = scene.amhs
    assert layer is not None
    k, d = layer.nearest_links(np.array([[5.0, 8.1], [19.0, 4.0], [10.0, 2.0]]))
    assert [layer.link_ids[i] for i in k] == ["L2", "L5", "L6"]
    assert d == pytest.approx([0.1, 0.0, 0.0])
    # one vehicle stands on L6 for 30 s, then moves to L2 for 10 s
    layer.set_vehicles(np.array([[10.0, 2.0]]), [0], t=0.0)
    layer.set_vehicles(np.array([[5.0, 8.0]]), [1], t=30.0)
    layer.set_vehicles(np.array([[5.0, 8.0]]), [1], t=40.0)
    occ = dict(zip(layer.link_ids, layer.occupancy(), strict=True))
    assert occ["L6"] == pytest.approx(0.75)
    assert occ["L2"] == pytest.approx(0.25)
    assert layer.busiest_links(1) == [("L6", pytest.approx(0.75))]
    layer.set_heat_map(True)
    assert layer.rail_actor.mapper.GetScalarVisibility()
    assert np.asarray(layer.rails.cell_data["congestion"]).max() == pytest.approx(0.75)
    layer.set_heat_map(False)
    assert not layer.rail_actor.mapper.GetScalarVisibility()


def test_nearest_link_is_exact_against_every_pair(plotter):
    """The k-d tree lookup gives the same distance as measuring every link (SMAT2022 rails)."""
    spec = load_plant(Path(__file__).parents[2] / "plant_configs" / "smt2020_hvlm_smat2022.yaml")
    layer = sc.FabScene(plotter, spec.spec, show_labels=False, show_legend=False).amhs
    assert layer is not None
    rng = np.random.default_rng(3)
    lo, hi = (
        np.asarray(layer.rails.points)[:, :2].min(0),
        np.asarray(layer.rails.points)[:, :2].max(0),
    )
    k = rng.integers(0, len(layer._a), 300)
    on = layer._a[k] + rng.random(300)[:, None] * layer._ab[k]
    pts = np.vstack([on, rng.uniform(lo - 20, hi + 20, (700, 2))])
    got_k, got_d = layer.nearest_links(pts)
    d = pts[:, None, :] - layer._a[None, :, :]
    f = np.clip(np.einsum("vlk,lk->vl", d, layer._ab) / layer._ab2, 0.0, 1.0)
    off = d - f[:, :, None] * layer._ab[None, :, :]
    d2 = np.einsum("vlk,vlk->vl", off, off)
    np.testing.assert_allclose(got_d, np.sqrt(d2.min(axis=1)), atol=1e-9)
    np.testing.assert_allclose(np.sqrt(d2[np.arange(len(pts)), got_k]), got_d, atol=1e-9)
    assert got_d[:300].max() < 1e-9  # points on the rails lie on their link
