"""USDZ export: ARKit compliance, stage metadata, prims per part/component/step, materials."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from pxr import Usd, UsdGeom, UsdShade

from factory_twin.ar.geometry import to_y_up
from factory_twin.ar.usdz import prim_name


def test_usdz_passes_the_arkit_compliance_checker(exported, usd_compliance):
    report = usd_compliance(exported.file("usdz"))
    assert report["preview_surface_known"], "the shader definition shim was not picked up"
    assert report["errors"] == []
    assert report["failed"] == []
    assert report["warnings"] == []


def test_compliance_checker_does_catch_a_bad_package(tmp_path, usd_compliance):
    """The same check fails on a USDZ that breaks ARKit's rules (so it can fail at all)."""
    stage = Usd.Stage.CreateNew(str(tmp_path / "bad.usda"))
    UsdGeom.Cube.Define(stage, "/Cube")  # no defaultPrim, a prim type ARKit rejects
    stage.GetRootLayer().Save()
    bad = tmp_path / "bad.usdz"
    with zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as z:  # compressed: not allowed
        z.write(tmp_path / "bad.usda", "bad.usda")
    report = usd_compliance(bad)
    assert report["errors"] or report["failed"]


def test_usdz_stage_layout(exported):
    ctx = exported.ctx
    stage = Usd.Stage.Open(str(exported.file("usdz")))
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y
    assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    root = stage.GetDefaultPrim()
    assert root.GetName() == prim_name(ctx.equipment.id)
    layer_data = stage.GetRootLayer().customLayerData
    for key, value in (
        ("plant", ctx.plant_name),
        ("equipment", ctx.equipment.id),
        ("procedure", ctx.procedure.id),
        ("revision", ctx.revision),
    ):
        assert layer_data[key] == value
        assert root.GetCustomData()[key] == value
    path = root.GetPath()
    for part in ctx.geometry.parts:
        xf = stage.GetPrimAtPath(path.AppendPath(f"Parts/part_{part.slug}"))
        assert xf.IsA(UsdGeom.Xform)
        mesh = stage.GetPrimAtPath(xf.GetPath().AppendChild("geom"))
        assert mesh.IsA(UsdGeom.Mesh)
        assert mesh.HasAPI(UsdShade.MaterialBindingAPI)
        mat, _ = UsdShade.MaterialBindingAPI(mesh).ComputeBoundMaterial()
        shader = mat.ComputeSurfaceSource()[0]
        assert shader.GetIdAttr().Get() == "UsdPreviewSurface"
        points = np.array(UsdGeom.Mesh(mesh).GetPointsAttr().Get())
        assert len(points) == len(part.positions)
    for comp in ctx.etype.components:
        prim = stage.GetPrimAtPath(path.AppendPath(f"Components/{ctx.component_node(comp.name)}"))
        assert prim.IsValid(), comp.name
        assert prim.GetCustomData()["component"] == comp.name
    steps = stage.GetPrimAtPath(path.AppendChild("Steps")).GetChildren()
    assert [p.GetName() for p in steps] == [st.node_name for st in ctx.steps]
    for prim, st in zip(steps, ctx.steps, strict=True):
        data = prim.GetCustomData()
        assert data["title"] == st.step.title
        assert data["action"] == st.step.action.value
        assert list(data["tools"]) == st.step.tools
        assert len(data["safety"]) == len(st.step.safety)
        assert st.step.title in prim.GetDocumentation()
        world = UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(Usd.TimeCode.Default())
        np.testing.assert_allclose(
            np.array(world.ExtractTranslation()), to_y_up(np.array(st.anchor)), atol=1e-6
        )
        if st.step.acceptance is not None:
            assert data["acceptance"]["quantity"] == st.step.acceptance.quantity


def test_usdz_package_is_uncompressed_and_aligned(exported):
    with zipfile.ZipFile(exported.file("usdz")) as z:
        infos = z.infolist()
        assert infos[0].filename.endswith(".usdc")
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)


@pytest.mark.parametrize("name", ["PVD-01", "3D printer", "a.b"])
def test_prim_names_are_valid_identifiers(name):
    from pxr import Sdf

    assert Sdf.Path.IsValidIdentifier(prim_name(name))
