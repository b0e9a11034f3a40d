"""Meshes, frames, view choice and the off-screen renderer shared by the exporters."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh

from factory_twin.ar import build_context
from factory_twin.ar.context import View, _ray_blocked, best_view
from factory_twin.ar.geometry import to_y_up
from factory_twin.ar.render import HIGHLIGHT, Marker, render_tool
from factory_twin.model import schema as s
from factory_twin.model.geometry import (
    box_mesh,
    component_part,
    cylinder_mesh,
    slugify,
    type_geometry,
    unique_slug,
)


def _closed_outward(pos, nrm, faces):
    mesh = trimesh.Trimesh(pos, faces, process=True)  # merges the per-face duplicate vertices
    assert mesh.is_watertight
    assert mesh.is_winding_consistent
    assert mesh.volume > 0  # counter-clockwise from outside
    # the stored vertex normals point the same way as the faces they belong to
    face_n = np.cross(pos[faces[:, 1]] - pos[faces[:, 0]], pos[faces[:, 2]] - pos[faces[:, 0]])
    for k in range(3):
        assert (np.einsum("ij,ij->i", face_n, nrm[faces[:, k]]) > 0).all()
    np.testing.assert_allclose(np.linalg.norm(nrm, axis=1), 1.0)
    return mesh


def test_box_is_closed_with_outward_normals():
    pos, nrm, faces = box_mesh(2.0, 1.0, 0.5)
    mesh = _closed_outward(pos, nrm, faces)
    assert mesh.volume == pytest.approx(1.0)
    np.testing.assert_allclose(mesh.bounds, [[-1, -0.5, 0], [1, 0.5, 0.5]])


def test_cylinder_is_closed_with_outward_normals():
    pos, nrm, faces = cylinder_mesh(0.3, 1.2, segments=48)
    mesh = _closed_outward(pos, nrm, faces)
    polygon_area = 0.5 * 48 * 0.3**2 * math.sin(2 * math.pi / 48)
    assert mesh.volume == pytest.approx(polygon_area * 1.2)
    assert pos[:, 2].min() == 0 and pos[:, 2].max() == pytest.approx(1.2)


def test_parts_are_placed_at_their_base_centre(fixture_ctx):
    geo = fixture_ctx.geometry
    lid = geo.parts[geo.part_index("chamber lid")]
    lo, hi = lid.bounds
    np.testing.assert_allclose(
        [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]], lid.origin, atol=1e-9
    )
    assert hi[2] == pytest.approx(1.45 + 0.08)


def test_y_up_is_minus_90_degrees_about_x():
    rot = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]])  # R_x(-90 deg)
    pts = np.array([[1.0, 2.0, 3.0], [-0.5, 0.0, 4.0]])
    np.testing.assert_allclose(to_y_up(pts), pts @ rot.T)
    assert np.linalg.det(rot) == 1  # a rotation: handedness kept


def test_slugs():
    assert slugify("Vent & open the chamber lid!") == "vent_open_the_chamber_lid"
    assert slugify("3-zone heater") == "n3_zone_heater"
    assert slugify("Ätzkammer") == "atzkammer"
    assert slugify("***") == "x"
    used: set[str] = set()
    assert [unique_slug(t, used) for t in ("Lid", "lid", "LID!")] == ["lid", "lid_2", "lid_3"]


def test_component_part_explicit_or_nearest(fixture_ctx):
    geo, etype = fixture_ctx.geometry, fixture_ctx.etype
    assert component_part(geo, etype.component("target")) == geo.part_index("process chamber")
    # 'load lock door' names no part: the load lock box is 0 m away from its anchor
    assert component_part(geo, etype.component("load lock door")) == geo.part_index("load lock")
    far = s.Component(name="far", anchor_m=(9.0, 9.0, 9.0))
    assert component_part(geo, far) is None


def test_step_views_see_their_anchor(fixture_ctx):
    pos, _, faces, owner = fixture_ctx.geometry.combined()
    for st in fixture_ctx.steps:
        # the part's own lid or pad (added by the equipment model) is not another part
        others = pos[faces[~np.isin(owner, fixture_ctx.geometry.family(st.part_index))]]
        blocked = _ray_blocked(np.array(st.anchor), st.view.direction(), 50.0, others)
        inside_other_part = st.component.name == "turbo pump"  # the pump sits in the frame
        assert blocked == inside_other_part, st.node_name


def test_best_view_goes_round_an_obstacle():
    etype = s.EquipmentType(
        id="t",
        kind="other",
        shape=s.Shape(
            parts=[
                s.Part(name="body", box=(1, 1, 1)),
                s.Part(name="wall", box=(3, 0.1, 3), at=(0, -1.0, 0)),  # in front (-y)
            ]
        ),
    )
    geo = type_geometry(etype)
    anchor = np.array([0.0, -0.5, 0.5])  # on the body's front face, behind the wall
    view = best_view(geo, anchor, geo.part_index("body"))
    pos, _, faces, owner = geo.combined()
    assert not _ray_blocked(anchor, view.direction(), 50, pos[faces[owner != 0]])
    assert view.direction()[1] > -0.2 or view.elevation_deg > 50  # not straight through the wall


def test_mesh_file_shape(tmp_path):
    trimesh.creation.box(extents=(1.0, 2.0, 0.5)).export(tmp_path / "tool.stl")
    etype = s.EquipmentType(id="m", kind="other", shape=s.Shape(mesh="tool.stl", mesh_scale=2.0))
    geo = type_geometry(etype, tmp_path)
    (part,) = geo.parts
    assert part.name == "mesh" and part.closed
    np.testing.assert_allclose(part.bounds, [[-1, -2, -0.5], [1, 2, 0.5]])


def test_unreadable_mesh_file_is_named(tmp_path):
    from factory_twin.errors import ConfigError

    (tmp_path / "bad.stl").write_bytes(b"solid nothing here")
    etype = s.EquipmentType(id="m", kind="other", shape=s.Shape(mesh="bad.stl"))
    with pytest.raises(ConfigError, match=r"bad\.stl"):
        type_geometry(etype, tmp_path)


def _hex(c: str) -> np.ndarray:
    return np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)])


def test_render_highlights_the_part_and_draws_markers(fixture_ctx):
    st = fixture_ctx.steps[2]
    plain = np.asarray(render_tool(fixture_ctx.geometry, st.view, (300, 200)))
    lit = np.asarray(
        render_tool(
            fixture_ctx.geometry,
            st.view,
            (300, 200),
            highlight=st.highlight,
            markers=[Marker(st.anchor, "3", active=True)],
        )
    )
    assert plain.shape == (200, 300, 3)
    near_orange = (np.abs(lit.astype(int) - _hex(HIGHLIGHT)).sum(axis=2) < 120).sum()
    assert near_orange > 800
    assert (np.abs(plain.astype(int) - _hex(HIGHLIGHT)).sum(axis=2) < 120).sum() < 50
    # background at the corners, the tool in the middle
    assert plain[2, 2].mean() > 230 and plain[100, 150].mean() < 230


def test_render_culls_back_faces_correctly():
    """A box seen from above shows its lit top face, not its dark bottom."""
    etype = s.EquipmentType(
        id="b",
        kind="other",
        shape=s.Shape(parts=[s.Part(name="b", box=(1, 1, 1), color="#808080")]),
    )
    geo = type_geometry(etype)
    img = np.asarray(render_tool(geo, View(0.0, 89.0), (100, 100), supersample=1))
    centre = img[45:55, 45:55].reshape(-1, 3).mean(axis=0)
    assert centre.mean() > 100


def test_context_of_a_shipped_plant_names_everything(any_plant):
    from factory_twin.model.config import load_plant

    doc = load_plant(any_plant)
    for proc in doc.spec.procedures:
        tool = next(e for e in doc.spec.equipment if e.type == proc.equipment_type)
        ctx = build_context(doc.spec, tool.id, proc.id, plant_path=any_plant)
        assert [st.number for st in ctx.steps] == list(range(1, len(proc.steps) + 1))
        assert len({st.node_name for st in ctx.steps}) == len(ctx.steps)
        ident = ctx.identity()
        assert ident["plant"] == doc.spec.site.name and ident["revision"] == proc.revision
        assert "revision=" in ctx.qr_payload() and tool.id in ctx.qr_payload()


def test_steps_highlight_the_parts_maintain_highlights_the_lid_alone():
    """The exports light what Maintain lights (model.geometry.component_parts): the lid of a
    lid step alone, a chamber named by its plant-file part with its lid."""
    from pathlib import Path

    from factory_twin.model.config import load_plant
    from factory_twin.model.geometry import component_parts

    plant = Path(__file__).resolve().parents[2] / "plant_configs" / "demo_fab.yaml"
    spec = load_plant(plant).spec
    ctx = build_context(spec, "ETCH-01", "etch-chamber-wet-clean", plant_path=plant)
    geo = ctx.geometry
    for st in ctx.steps:
        assert st.highlight == tuple(component_parts(ctx.etype, geo, st.component))
        assert st.part_index == (st.highlight[0] if st.highlight else None)
    lid = next(st for st in ctx.steps if st.component.name == "chamber 1 lid")
    assert [geo.parts[i].name for i in lid.highlight] == ["chamber 1 lid"]
    pump = next(st for st in ctx.steps if st.component.name == "turbo pump")
    assert {geo.parts[i].name for i in pump.highlight} == {"chamber 1", "chamber 1 lid"}

    # on the picture: the lid step lights fewer pixels than the whole chamber, from one view
    def orange(highlight):
        img = np.asarray(render_tool(geo, lid.view, (300, 200), highlight=highlight))
        return int((np.abs(img.astype(int) - _hex(HIGHLIGHT)).sum(axis=2) < 120).sum())

    assert 0 < orange(lid.highlight) < orange(pump.highlight)
