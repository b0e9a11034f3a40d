"""GLB export: Khronos validator clean, node tree, step extras, Y-up metric placement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygltflib
import pytest
import trimesh

from factory_twin.ar import build_context
from factory_twin.ar.geometry import to_y_up
from factory_twin.ar.gltf import build_glb
from factory_twin.model.config import load_plant

REPO = Path(__file__).resolve().parents[2]
STEP_KEYS = {"title", "text", "action", "tools", "parts", "safety", "duration_s", "acceptance"}


def test_glb_passes_the_khronos_validator_with_no_issue(exported, gltf_validator):
    glb = exported.file("glb")
    report = gltf_validator([glb])[glb.name]
    issues = report["issues"]
    assert issues["numErrors"] == 0, issues["messages"]
    assert issues["numWarnings"] == 0, issues["messages"]
    assert report["info"]["totalTriangleCount"] >= exported.ctx.geometry.triangle_count


def test_every_procedure_of_every_plant_validates(any_plant, gltf_validator, tmp_path):
    """All procedures (not just the longest one), on every tool type that has one."""
    path = any_plant
    doc = load_plant(path)
    files = []
    for proc in doc.spec.procedures:
        tool = next(e for e in doc.spec.equipment if e.type == proc.equipment_type)
        ctx = build_context(doc.spec, tool.id, proc.id, plant_path=path)
        out = tmp_path / f"{ctx.stem}.glb"
        out.write_bytes(build_glb(ctx))
        files.append(out)
    assert files
    for name, report in gltf_validator(files).items():
        assert report["issues"]["numErrors"] == 0, (name, report["issues"]["messages"])
        assert report["issues"]["numWarnings"] == 0, (name, report["issues"]["messages"])


def test_glb_reads_back_with_trimesh(exported):
    ctx = exported.ctx
    scene = trimesh.load(exported.file("glb"))
    assert isinstance(scene, trimesh.Scene)
    nodes = set(scene.graph.nodes)
    parts = {f"part_{p.slug}" for p in ctx.geometry.parts}
    comps = {ctx.component_node(c.name) for c in ctx.etype.components}
    steps = [st.node_name for st in ctx.steps]
    assert parts | comps | set(steps) | {ctx.equipment.id} <= nodes
    assert len([n for n in nodes if n.startswith("step_")]) == len(ctx.procedure.steps)
    # world placement: the step marker sits at the component anchor, Y up
    for st in ctx.steps:
        matrix, _ = scene.graph[st.node_name]
        np.testing.assert_allclose(matrix[:3, 3], to_y_up(np.array(st.anchor)), atol=1e-6)
    # the tool stands on the floor (y = 0) and rises along +y; metres
    lo, hi = scene.bounds
    tool_lo, tool_hi = ctx.geometry.bounds
    assert lo[1] == pytest.approx(tool_lo[2], abs=1e-3)
    assert hi[1] >= tool_hi[2] - 1e-3


def test_glb_extras_name_the_export_and_hold_each_step(exported):
    ctx = exported.ctx
    gltf = pygltflib.GLTF2().load(str(exported.file("glb")))
    names = [n.name for n in gltf.nodes]
    assert names.count(ctx.equipment.id) == 1
    ident = gltf.asset.extras
    assert ident["plant"] == ctx.plant_name
    assert ident["equipment"] == ctx.equipment.id
    assert ident["procedure"] == ctx.procedure.id
    assert ident["revision"] == ctx.procedure.revision
    by_name = {n.name: n for n in gltf.nodes}
    for st, step in zip(ctx.steps, ctx.procedure.steps, strict=True):
        assert st.node_name.startswith(f"step_{st.number:02d}_")
        extras = by_name[st.node_name].extras
        assert set(extras) >= STEP_KEYS
        assert extras["title"] == step.title
        assert extras["text"] == step.text
        assert extras["action"] == step.action.value
        assert extras["tools"] == step.tools
        assert extras["parts"] == step.parts
        assert [n["kind"] for n in extras["safety"]] == [n.kind for n in step.safety]
        assert extras["duration_s"] == step.duration_s
        if step.acceptance is None:
            assert extras["acceptance"] is None
        else:
            assert extras["acceptance"]["quantity"] == step.acceptance.quantity
            assert extras["acceptance"]["max"] == step.acceptance.max
        assert extras["component_node"] in by_name


def test_glb_materials_follow_part_colours(fixture_ctx):
    gltf = pygltflib.GLTF2.load_from_bytes(build_glb(fixture_ctx))
    mats = {m.name: m for m in gltf.materials}
    # '#2f3e4e' (electronics rack) in linear light
    rack = mats["electronics rack"].pbrMetallicRoughness.baseColorFactor
    np.testing.assert_allclose(rack[:3], [0.0284, 0.0482, 0.0762], atol=2e-3)
    assert rack[3] == 1.0
    assert len(gltf.meshes) == len(fixture_ctx.geometry.parts) + 1  # + the shared step marker


def test_glb_carries_the_equipment_models_with_pbr_materials(tmp_path):
    """The demo etch tool's GLB holds the same parts as the 3-D view (FOUPs, chamber lids),
    each with its material's metallic and roughness factors."""
    from factory_twin.model.equipment_models import MATERIALS

    path = REPO / "plant_configs" / "demo_fab.yaml"
    doc = load_plant(path)
    ctx = build_context(doc.spec, "ETCH-01", "etch-chamber-wet-clean", plant_path=path)
    gltf = pygltflib.GLTF2.load_from_bytes(build_glb(ctx))
    mats = {m.name: m.pbrMetallicRoughness for m in gltf.materials}
    names = {p.name for p in ctx.geometry.parts}
    assert {"EFEM FOUP 1", "EFEM load port 1", "chamber 1 lid"} <= names
    for part in ctx.geometry.parts:
        look = MATERIALS[part.material]
        assert mats[part.name].metallicFactor == pytest.approx(look.metallic), part.name
        assert mats[part.name].roughnessFactor == pytest.approx(look.roughness), part.name
    assert mats["chamber 1 lid"].metallicFactor > 0.5  # metal
    assert mats["EFEM FOUP 1"].metallicFactor == 0.0  # plastic
