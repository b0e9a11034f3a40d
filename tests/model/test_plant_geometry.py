"""The shared geometry pipeline (model/geometry.py): meshes, mesh files and footprints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh
from ruamel.yaml import YAML

from factory_twin.errors import ConfigError
from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.model.config_checks import check_references
from factory_twin.model.geometry import (
    VIEW_CYLINDER_SEGMENTS,
    place,
    plant_geometry,
    read_mesh_file,
    type_geometry,
)

MINI = Path(__file__).resolve().parents[1] / "data" / "mini_plant.yaml"

# a 3 x 1 x 1.2 m block whose origin is 1 m from its left end: x in [-1, 2], not [-1.5, 1.5]
MESH_LO, MESH_HI = (-1.0, -0.5, 0.0), (2.0, 0.5, 1.2)


def _write_mesh(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    box = trimesh.creation.box(extents=(3.0, 1.0, 1.2))
    box.apply_translation((0.5, 0.0, 0.6))
    box.export(path)


def _mesh_plant(tmp_path: Path, x_a: float, x_b: float) -> Path:
    """The mini plant plus a mesh-only type ``pump`` (mesh file relative to the plant)."""
    _write_mesh(tmp_path / "meshes" / "pump.stl")
    text = MINI.read_text(encoding="utf-8")
    text = text.replace(
        "equipment_types:\n",
        "equipment_types:\n  - {id: pump, kind: other, shape: {mesh: meshes/pump.stl}}\n",
        1,
    )
    text = text.replace(
        "equipment:\n",
        "equipment:\n"
        f"  - {{id: PUMP-A, type: pump, group: PUMP, bay: etch, position_m: [{x_a}, 8.5]}}\n"
        f"  - {{id: PUMP-B, type: pump, group: PUMP, bay: etch, position_m: [{x_b}, 8.5]}}\n",
        1,
    )
    path = tmp_path / "plant.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_mesh_only_footprint_is_the_mesh_bounds(tmp_path):
    spec = load_plant(_mesh_plant(tmp_path, 3.0, 7.0)).spec
    shape = spec.equipment_type("pump").shape
    assert shape.mesh_file() == tmp_path / "meshes" / "pump.stl"
    assert shape.footprint_m() == pytest.approx((-1.0, -0.5, 2.0, 0.5))
    shape.mesh_scale = 2.0
    assert shape.footprint_m() == pytest.approx((-2.0, -1.0, 4.0, 1.0))
    # a shape whose file was never read (built in code) keeps the 1 x 1 m stand-in
    assert s.Shape(mesh="meshes/pump.stl").footprint_m() == (-0.5, -0.5, 0.5, 0.5)


def test_mesh_tools_overlapping_by_their_mesh_bounds_are_reported(tmp_path):
    """2.5 m apart: the 3 m long meshes overlap; the old +-0.5 m stand-in boxes would not."""
    path = _mesh_plant(tmp_path, 3.0, 5.5)
    with pytest.raises(ConfigError) as err:
        load_plant(path)
    (issue,) = err.value.issues
    assert "tool 'PUMP-B' overlaps tool 'PUMP-A'" in issue
    assert "equipment[1].position_m" in issue
    # the same plant with its mesh never read: +-0.5 m stand-ins, 1.5 m apart, no overlap
    unread = s.PlantSpec.model_validate(YAML(typ="safe").load(path.read_text(encoding="utf-8")))
    assert check_references(unread) == []
    # 3.5 m apart the meshes clear each other (x in [2, 5] and [5.5, 8.5])
    load_plant(_mesh_plant(tmp_path, 3.0, 6.5))


def test_missing_mesh_file_names_file_line_and_key(tmp_path):
    path = _mesh_plant(tmp_path, 3.0, 7.0)
    (tmp_path / "meshes" / "pump.stl").unlink()
    with pytest.raises(ConfigError) as err:
        load_plant(path)
    (issue,) = err.value.issues
    assert issue.startswith(f"{path}:12: equipment_types[0].shape.mesh: mesh file ")
    assert "pump.stl does not exist" in issue


def test_plant_geometry_places_the_mesh_at_each_tool(tmp_path):
    spec = load_plant(_mesh_plant(tmp_path, 3.0, 7.0)).spec
    geo = plant_geometry(spec)  # the file found at load: no base_dir needed
    for tid, x in (("PUMP-A", 3.0), ("PUMP-B", 7.0)):
        i = geo.ids.index(tid)
        assert (geo.cell_tool == i).sum() == 12  # the STL's own triangles, not a stand-in
        np.testing.assert_allclose(geo.bounds[i], [x - 1.0, x + 2.0, 8.0, 9.0, 0.0, 1.2])
        assert geo.tops[i] == pytest.approx(1.2)
    assert len(geo.faces) == len(geo.cell_tool)
    assert set(np.unique(geo.cell_tool)) == set(range(len(spec.equipment)))


def test_gltf_is_turned_from_y_up_to_z_up(tmp_path):
    tall = trimesh.creation.box(extents=(1.0, 3.0, 2.0))  # tallest along glTF's up axis, y
    tall.apply_translation((0.0, 1.5, 0.0))
    tall.export(tmp_path / "tall.glb")
    lo, hi = np.array(read_mesh_file(tmp_path / "tall.glb").bounds).reshape(2, 3)
    np.testing.assert_allclose(lo, [-0.5, -1.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(hi, [0.5, 1.0, 3.0], atol=1e-9)


def test_view_templates_are_welded_without_changing_triangles():
    etype = s.EquipmentType(
        id="t",
        kind="other",
        shape=s.Shape(
            parts=[
                s.Part(name="body", box=(1, 2, 1)),
                s.Part(name="pipe", cylinder=(0.2, 1.0), at=(0.0, 0.0, 1.0)),
            ]
        ),
    )
    geo = type_geometry(etype, segments=VIEW_CYLINDER_SEGMENTS)
    pos, _, faces, _ = geo.combined()
    points, tris, material = geo.welded()
    # the body box, its signal tower (a slim box) and the pipe (narrow: 3/4 of the facets):
    # each solid welds to its corners
    facets = VIEW_CYLINDER_SEGMENTS * 3 // 4
    assert len(points) == 8 + 8 + (2 * facets + 2)
    np.testing.assert_array_equal(points[tris], pos[faces])
    assert len(material) == len(points)


def test_place_rotates_about_z_then_moves():
    p = place(np.array([[1.0, 0.0, 0.5], [0.0, 2.0, 0.0]]), (10.0, 20.0), 90.0)
    np.testing.assert_allclose(p, [[10.0, 21.0, 0.5], [8.0, 20.0, 0.0]], atol=1e-12)
