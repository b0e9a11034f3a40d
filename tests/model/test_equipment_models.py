"""Equipment models: every kind builds closed, non-degenerate solids with its named parts;
refinements stay inside the plant file's parts; procedures anchor on real parts."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from factory_twin.model import equipment_models as em
from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.model.geometry import (
    VIEW_CYLINDER_SEGMENTS,
    component_part,
    component_parts,
    decimated,
    plant_geometry,
    type_geometry,
)

REPO = Path(__file__).resolve().parents[2]
PLANTS = sorted((REPO / "plant_configs").glob("*.yaml"))
SHIPPED = [p for p in PLANTS if p.name.count(".") == 1]  # not the scenario/experiment files


def _closed_and_oriented(pos: np.ndarray, faces: np.ndarray) -> bool:
    """Every edge of the welded solid is used twice, once in each direction."""
    _, inv = np.unique(pos.round(9), axis=0, return_inverse=True)
    f = inv.reshape(-1)[faces]
    directed = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    d_keys = {tuple(e) for e in directed.tolist()}
    if len(d_keys) != len(directed):  # a directed edge twice: inconsistent winding
        return False
    return all((b, a) in d_keys for a, b in d_keys)


def _areas(pos: np.ndarray, faces: np.ndarray) -> np.ndarray:
    t = pos[faces]
    return 0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1)


def _volume(pos: np.ndarray, faces: np.ndarray) -> float:
    t = pos[faces]
    return float(np.einsum("ij,ij->i", t[:, 0], np.cross(t[:, 1], t[:, 2])).sum() / 6.0)


@pytest.mark.parametrize("kind", list(s.EquipmentKind))
def test_every_kind_builds_closed_solids_with_its_named_parts(kind):
    etype = em.kind_type(kind, chambers=3, load_ports=3, batch_wafers=100)
    names = [p.name for p in etype.shape.parts]
    assert len(names) >= 3
    for mp in em.model_parts(etype, segments=VIEW_CYLINDER_SEGMENTS):
        for pos, _, faces in mp.solids:
            assert _closed_and_oriented(pos, faces), (kind, mp.name)
            assert _areas(pos, faces).min() > 1e-6, (kind, mp.name)
            assert _volume(pos, faces) > 1e-5, (kind, mp.name)  # outward: positive volume
    geo = type_geometry(etype)
    for n in names:
        assert geo.part_index(n) is not None, (kind, n)
    assert any(p.material == "body" for p in geo.parts)


def test_parameters_shape_the_tool():
    """Chambers around the transfer module, FOUPs per load port, taller furnace tubes."""
    etch = em.kind_type("dry_etch", chambers=5, load_ports=4)
    chambers = [p for p in etch.shape.parts if p.name.startswith("chamber ")]
    assert len(chambers) == 5
    hub = next(p for p in etch.shape.parts if p.name == "transfer module")
    radii = [math.dist(c.at[:2], hub.at[:2]) for c in chambers]
    assert max(radii) - min(radii) < 0.25  # radial, around the hub
    geo = type_geometry(etch)
    # one FOUP on each load port, each a box of its own, standing on its port
    for k in range(1, 5):
        foup = geo.parts[geo.part_index(f"EFEM FOUP {k}")]
        port = geo.parts[geo.part_index(f"EFEM load port {k}")]
        assert len(foup.faces) == 12 and foup.material == "foup" and port.material == "dark"
        assert foup.refines == port.refines == "EFEM"
        flo, fhi = foup.bounds
        plo, phi = port.bounds
        assert flo[2] == pytest.approx(phi[2])  # on the port's plate
        assert plo[0] <= (flo[0] + fhi[0]) / 2 <= phi[0]  # over the port
        assert fhi[2] - em.LOAD_PORT_HEIGHT_M == pytest.approx(em.FOUP_SIZE_M[2])
    assert geo.part_index("EFEM FOUP 5") is None
    small = em.kind_type("furnace", batch_wafers=50)
    big = em.kind_type("furnace", batch_wafers=150)
    tube = {t.id: next(p for p in t.shape.parts if "tube" in p.name) for t in (small, big)}
    assert tube[big.id].top_z() > tube[small.id].top_z() or small.id == big.id
    two = em.kind_type("furnace", chambers=2)
    assert sum("quartz tube" in p.name for p in two.shape.parts) == 2
    bench = em.kind_type("wet_bench", chambers=5)
    assert sum(p.name.startswith("tank ") for p in bench.shape.parts) == 5


@pytest.mark.parametrize("plant", SHIPPED, ids=lambda p: p.stem)
def test_refined_parts_stay_inside_the_plant_files_parts(plant):
    """The footprint (layout checks, clearances) is the plant file's; only the signal tower
    rises above the main body."""
    spec = load_plant(plant).spec
    for etype in spec.equipment_types:
        geo = type_geometry(etype, segments=VIEW_CYLINDER_SEGMENTS)
        fx0, fy0, fx1, fy1 = etype.shape.footprint_m()
        lo, hi = geo.bounds
        assert lo[0] >= fx0 - 1e-6 and lo[1] >= fy0 - 1e-6, etype.id
        assert hi[0] <= fx1 + 1e-6 and hi[1] <= fy1 + 1e-6, etype.id
        for p in geo.parts:
            if p.refines is None or "signal tower" in p.name:
                continue
            own = next(q for q in etype.shape.parts if q.name == p.refines)
            x0, y0, x1, y1 = own.extent_xy()
            plo, phi = p.bounds
            assert plo[0] >= x0 - 1e-6 and phi[0] <= x1 + 1e-6, (etype.id, p.name)
            assert plo[1] >= y0 - 1e-6 and phi[1] <= y1 + 1e-6, (etype.id, p.name)
            assert plo[2] >= own.at[2] - 1e-6 and phi[2] <= own.top_z() + 1e-6, p.name
        # every plant-file part is there under its own name, drawn from plant colours
        for q in etype.shape.parts:
            i = geo.part_index(q.name)
            assert i is not None and geo.parts[i].color == q.color


@pytest.mark.parametrize("plant", SHIPPED, ids=lambda p: p.stem)
def test_every_procedure_step_anchors_on_an_existing_part(plant):
    spec = load_plant(plant).spec
    for proc in spec.procedures:
        etype = spec.equipment_type(proc.equipment_type)
        geo = type_geometry(etype)
        for step in proc.steps:
            comp = etype.component(step.component)
            i = component_part(geo, comp)
            assert i is not None, (proc.id, step.component)
            part = geo.parts[i]
            # a plant-file part, or what the model made of it under the component's name
            own = (comp.name, f"{comp.part} {comp.name}")
            assert not part.generated or (part.refines == comp.part and part.name in own), (
                proc.id,
                step.component,
            )
    if plant.stem == "demo_fab":  # the lid is the lid
        etch = spec.equipment_type("etch_mainframe")
        geo = type_geometry(etch)
        lid = component_part(geo, etch.component("chamber 1 lid"))
        assert lid is not None and geo.parts[lid].name == "chamber 1 lid"
        assert geo.parts[lid].material == "metal"
    # and every component of every type, procedures or not
    for etype in spec.equipment_types:
        geo = type_geometry(etype)
        for comp in etype.components:
            if comp.part is not None:
                assert geo.part_index(comp.part) is not None, (etype.id, comp.name)


def test_a_component_maps_to_the_part_the_model_made_of_its_part():
    parts = [
        s.Part(name="frame", box=(3.0, 2.0, 1.0)),
        s.Part(name="chamber 1", cylinder=(0.5, 1.0), at=(0.0, 0.0, 1.0)),
        s.Part(name="EFEM", box=(1.5, 0.8, 1.8), at=(0.0, -1.4, 0.0)),
    ]
    comps = [
        s.Component(name="chamber 1 lid", part="chamber 1", anchor_m=(0, 0, 2)),
        s.Component(name="lid", part="chamber 1", anchor_m=(0, 0, 2)),
        s.Component(name="heater", part="chamber 1", anchor_m=(0, 0, 1.5)),
        s.Component(name="FOUP 2", part="EFEM", anchor_m=(0, -1.8, 1.0)),
        s.Component(name="load port 1", part="EFEM", anchor_m=(0, -1.8, 0.9)),
        s.Component(name="frame lid", part="frame", anchor_m=(0, 0, 1)),  # no such part
        s.Component(name="beside", anchor_m=(0.0, 0.0, 2.02)),  # no part: the nearest
    ]
    etype = s.EquipmentType(
        id="t", kind="dry_etch", load_ports=2, shape=s.Shape(parts=parts), components=comps
    )
    geo = type_geometry(etype)

    def name(c: str) -> str | None:
        i = component_part(geo, etype.component(c))
        return None if i is None else geo.parts[i].name

    assert name("chamber 1 lid") == "chamber 1 lid" and name("lid") == "chamber 1 lid"
    assert name("heater") == "chamber 1" and name("FOUP 2") == "EFEM FOUP 2"
    assert name("frame lid") == "frame"
    assert name("beside") == "chamber 1 lid"  # only the lid reaches z = 2 (within 5 cm)

    def drawn(c: str) -> set[str]:
        return {geo.parts[i].name for i in component_parts(etype, geo, etype.component(c))}

    assert drawn("lid") == {"chamber 1 lid"}  # the lid alone
    assert drawn("heater") == {"chamber 1", "chamber 1 lid"}  # the plant file's chamber
    assert drawn("FOUP 2") == {"EFEM FOUP 2"}  # a FOUP alone
    assert drawn("load port 1") == {"EFEM load port 1"}  # a load port alone
    # the main body's signal tower stands on top of the frame, outside it: not drawn
    assert "frame signal tower" in {p.name for p in geo.parts}
    assert "frame signal tower" not in drawn("frame lid")


def test_state_colour_parts_and_neutral_parts_on_every_shipped_tool():
    for plant in SHIPPED:
        spec = load_plant(plant).spec
        geo = plant_geometry(spec)
        for i, tid in enumerate(geo.ids):
            pts = np.unique(geo.faces[geo.cell_tool == i].ravel())
            mats = set(geo.point_material[pts].tolist())
            assert 0 in mats, tid  # a body to show the state
            assert mats - {0}, tid  # and fixed parts in neutral materials


def test_huge_mesh_is_decimated_for_the_view(tmp_path):
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=6, radius=1.0)  # 81,920 triangles
    sphere.apply_translation((0.0, 0.0, 1.0))
    sphere.export(tmp_path / "dome.stl")
    etype = s.EquipmentType(
        id="dome", kind="other", shape=s.Shape(mesh=str(tmp_path / "dome.stl"))
    )
    full = type_geometry(etype)
    mesh = full.parts[full.part_index("mesh")]
    assert len(mesh.faces) == 81920
    # the AR exports' limit: only the mesh part is simplified
    from factory_twin.model.geometry import AR_MESH_MAX_TRIANGLES, limit_mesh_triangles

    assert limit_mesh_triangles(full, AR_MESH_MAX_TRIANGLES) is full  # 81,920: kept whole
    lim = limit_mesh_triangles(full, 5000)
    assert len(lim.parts[lim.part_index("mesh")].faces) <= 5000
    assert [p.name for p in lim.parts] == [p.name for p in full.parts]
    small = decimated(mesh, 5000)
    assert 1000 < len(small.faces) <= 5000
    np.testing.assert_allclose(small.bounds, mesh.bounds, atol=0.05)
    assert _areas(small.positions, small.faces).min() > 0
    from factory_twin.model.synthetic import synthetic_plant

    spec = synthetic_plant(1, 1)
    spec.equipment_types[0] = spec.equipment_types[0].model_copy(update={"shape": etype.shape})
    geo = plant_geometry(spec, max_mesh_triangles=5000)
    assert geo.triangle_count <= 5000
    x, y = spec.equipment[0].position_m
    np.testing.assert_allclose(geo.bounds[0], [x - 1, x + 1, y - 1, y + 1, 0, 2], atol=0.05)


def test_a_type_named_by_its_kind_alone_gets_its_model(tmp_path):
    """A plant author writes only the kind and its parameters: the tool has named parts, is
    drawn, passes the JSON schema, and is saved back without a shape."""
    import json

    import jsonschema
    from ruamel.yaml import YAML

    from factory_twin.model.config import json_schema

    src = (REPO / "tests" / "data" / "mini_plant.yaml").read_text(encoding="utf-8")
    src = src.replace(
        "equipment_types:\n",
        "equipment_types:\n  - {id: quick_etch, kind: dry_etch, chambers: 4, load_ports: 3}\n",
        1,
    ).replace(
        "equipment:\n",
        "equipment:\n  - {id: QE-01, type: quick_etch, group: QE, bay: etch, position_m: [5, 16]}\n",
        1,
    )
    src = src.replace("floor_m: [20, 10]", "floor_m: [20, 20]").replace(
        "origin_m: [0, 0], size_m: [10, 10]", "origin_m: [0, 0], size_m: [10, 20]"
    )
    path = tmp_path / "plant.yaml"
    path.write_text(src, encoding="utf-8")
    doc = load_plant(path)
    etype = doc.spec.equipment_type("quick_etch")
    names = [p.name for p in etype.shape.parts]
    assert sum(n.startswith("chamber ") for n in names) == 4
    assert "EFEM" in names and "transfer module" in names
    geo = type_geometry(etype)
    foups = [p for p in geo.parts if p.name.startswith("EFEM FOUP ")]
    assert len(foups) == 3 and all(len(p.faces) == 12 for p in foups)
    assert "QE-01" in plant_geometry(doc.spec).ids
    schema = json.loads(json.dumps(json_schema()))
    data = YAML(typ="safe").load(src)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(data))
    assert errors == []
    out = doc.save(tmp_path / "saved.yaml")
    saved = YAML(typ="safe").load(out.read_text(encoding="utf-8"))
    quick = next(t for t in saved["equipment_types"] if t["id"] == "quick_etch")
    assert "shape" not in quick


@pytest.mark.parametrize("kind", list(s.EquipmentKind))
def test_odd_sizes_still_give_closed_outward_solids(kind):
    """Tiny or crowded parts (a 0.3 m EFEM, 12 tanks on a 1 m bench, a thin chamber) never
    give an inside-out or degenerate solid."""
    P = s.Part
    etype = s.EquipmentType(
        id="odd",
        kind=kind,
        chambers=12,
        load_ports=6,
        shape=s.Shape(
            parts=[
                P(name="body", box=(1.0, 0.4, 0.3)),
                P(name="EFEM", box=(0.3, 0.2, 0.25), at=(0.0, -0.35, 0.0)),
                P(name="chamber 1", cylinder=(0.05, 0.25), at=(0.3, 0.0, 0.3)),
                P(name="tank", box=(0.1, 0.1, 0.05), at=(-0.3, 0.0, 0.3)),
                P(name="platen", cylinder=(0.1, 0.02), at=(0.0, 0.0, 0.3)),
                P(name="transfer module", cylinder=(0.1, 0.1), at=(0.0, 0.1, 0.3)),
            ]
        ),
    )
    # and the body alone (a wet bench's deck with its tanks, a stocker's shelves...)
    alone = etype.model_copy(update={"shape": s.Shape(parts=[etype.shape.parts[0]])})
    for t in (etype, alone):
        for mp in em.model_parts(t, segments=VIEW_CYLINDER_SEGMENTS):
            for pos, _, faces in mp.solids:
                assert _closed_and_oriented(pos, faces), mp.name
                assert _areas(pos, faces).min() > 0, mp.name
                assert _volume(pos, faces) > 0, mp.name
