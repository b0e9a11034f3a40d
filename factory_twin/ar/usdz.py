"""USDZ export (ARKit / AR Quick Look) of a procedure on its tool, with usd-core.

The stage is Y up with ``metersPerUnit = 1``; its default prim is the tool::

    /<Tool>                      customData: plant, equipment, procedure, revision, ...
      Materials/<part>           UsdPreviewSurface per part colour (+ step marker)
      Parts/part_<slug>          Xform at the part's base centre, Mesh child "geom"
      Components/component_<slug>  Xform at the component's anchor
      Steps/step_01_<slug>       Xform at the step's anchor, a marker Mesh child;
                                 customData holds the step, documentation its text

The package is written by ``UsdUtils.CreateNewARKitUsdzPackage``, which checks ARKit's
rules as it goes; the tests run ``UsdUtils.ComplianceChecker(arkit=True)`` on the result.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from factory_twin.model.equipment_models import MATERIALS
from factory_twin.model.geometry import FloatArray, IntArray, hex_to_rgb

from .context import ExportContext, Progress, StepInfo, drain
from .geometry import srgb_to_linear, to_y_up
from .gltf import marker_mesh, marker_radius
from .render import HIGHLIGHT

logger = logging.getLogger(__name__)


def prim_name(text: str) -> str:
    """Return ``text`` as a valid USD prim name (``PVD-01`` -> ``PVD_01``)."""
    from pxr import Tf

    return str(Tf.MakeValidIdentifier(text))


def _mesh(stage: Any, path: str, pos: FloatArray, nrm: FloatArray, faces: IntArray) -> Any:
    from pxr import Gf, UsdGeom, Vt

    mesh = UsdGeom.Mesh.Define(stage, path)
    p32 = np.ascontiguousarray(pos, dtype=np.float32)
    mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(p32))
    mesh.CreateFaceVertexCountsAttr(Vt.IntArray([3] * len(faces)))
    mesh.CreateFaceVertexIndicesAttr(
        Vt.IntArray.FromNumpy(np.ascontiguousarray(faces.ravel(), dtype=np.int32))
    )
    mesh.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(nrm, dtype=np.float32)))
    mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    mesh.CreateOrientationAttr(UsdGeom.Tokens.rightHanded)
    lo, hi = p32.min(axis=0), p32.max(axis=0)
    mesh.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, lo)), Gf.Vec3f(*map(float, hi))]))
    return mesh


def _material(
    stage: Any, path: str, color: str, *, emissive: bool = False, look: str | None = None
) -> Any:
    """Define a UsdPreviewSurface: ``color`` with the metallic/roughness of material ``look``."""
    from pxr import Gf, Sdf, UsdShade

    m = MATERIALS.get(look or "", None)
    metallic, roughness = (m.metallic, m.roughness) if m is not None else (0.1, 0.6)
    mat = UsdShade.Material.Define(stage, path)
    shader = UsdShade.Shader.Define(stage, f"{path}/PreviewSurface")
    shader.CreateIdAttr("UsdPreviewSurface")
    rgb = Gf.Vec3f(*srgb_to_linear(hex_to_rgb(color)))
    shader.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).Set(rgb)
    shader.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(metallic)
    shader.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(roughness)
    if emissive:
        shader.CreateInput("emissiveColor", Sdf.ValueTypeNames.Color3f).Set(rgb * 0.6)
    mat.CreateSurfaceOutput().ConnectToSource(shader.ConnectableAPI(), "surface")
    return mat


def _bind(prim: Any, mat: Any) -> None:
    from pxr import UsdShade

    UsdShade.MaterialBindingAPI.Apply(prim).Bind(mat)


def _xform(stage: Any, path: str, translate: FloatArray | None = None) -> Any:
    from pxr import Gf, UsdGeom

    xf = UsdGeom.Xform.Define(stage, path)
    if translate is not None:
        xf.AddTranslateOp().Set(Gf.Vec3d(*map(float, translate)))
    return xf


def _step_custom_data(st: StepInfo) -> dict[str, Any]:
    """Return a step as USD customData (no None values; safety notes as ``kind: text``)."""
    from pxr import Vt

    d = st.details()
    out: dict[str, Any] = {
        "number": st.number,
        "title": d["title"],
        "text": d["text"],
        "component": d["component"],
        "action": d["action"],
        "tools": Vt.StringArray(list(d["tools"])),
        "parts": Vt.StringArray(list(d["parts"])),
        "safety": Vt.StringArray([f"{n['kind']}: {n['text']}" for n in d["safety"]]),
        "duration_s": float(d["duration_s"]),
    }
    if d["acceptance"] is not None:
        out["acceptance"] = {k: v for k, v in d["acceptance"].items() if v is not None}
    return out


def step_documentation(st: StepInfo) -> str:
    """Return a step as readable text (prim documentation, HTML tooltips)."""
    d = st.details()
    lines = [f"Step {st.number}: {d['title']}", f"At: {d['component']} ({d['action']})"]
    if d["text"]:
        lines.append(d["text"])
    lines += [f"SAFETY ({n['kind']}): {n['text']}" for n in d["safety"]]
    if d["tools"]:
        lines.append("Tools: " + ", ".join(d["tools"]))
    if d["parts"]:
        lines.append("Parts: " + ", ".join(d["parts"]))
    if d["acceptance"] is not None:
        lines.append(f"Accept: {d['acceptance']['quantity']} {d['acceptance']['text']}")
    return "\n".join(lines)


def iter_usdz(ctx: ExportContext) -> Progress[bytes]:
    """Build the USDZ package, yielding progress; the generator returns its bytes."""
    from pxr import Sdf, Usd, UsdGeom, UsdUtils

    with tempfile.TemporaryDirectory(prefix="factory_twin_usdz_") as tmp:
        usdc = Path(tmp) / f"{prim_name(ctx.stem)}.usdc"
        stage = Usd.Stage.CreateNew(str(usdc))
        UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
        UsdGeom.SetStageMetersPerUnit(stage, 1.0)
        ident = ctx.identity()
        layer = stage.GetRootLayer()
        layer.customLayerData = dict(ident)
        layer.documentation = f"{ctx.title}. {ctx.identity_line()}"

        root_path = f"/{prim_name(ctx.equipment.id)}"
        root = _xform(stage, root_path)
        stage.SetDefaultPrim(root.GetPrim())
        Usd.ModelAPI(root.GetPrim()).SetKind("component")
        rp = root.GetPrim()
        rp.SetCustomData(
            {
                **ident,
                "title": ctx.title,
                "description": ctx.procedure.description,
                "step_count": len(ctx.steps),
                "total_duration_s": float(ctx.total_duration_s),
            }
        )
        rp.SetDocumentation(f"{ctx.title}\n{ctx.identity_line()}\n{ctx.procedure.description}")

        UsdGeom.Scope.Define(stage, f"{root_path}/Materials")
        _xform(stage, f"{root_path}/Parts")
        n = len(ctx.geometry.parts)
        for i, part in enumerate(ctx.geometry.parts):
            origin = np.asarray(part.origin, dtype=np.float64)
            mat = _material(
                stage, f"{root_path}/Materials/{part.slug}", part.color, look=part.material
            )
            xf = _xform(stage, f"{root_path}/Parts/part_{part.slug}", to_y_up(origin))
            xf.GetPrim().SetCustomData({"part": part.name, "color": part.color})
            mesh = _mesh(
                stage,
                f"{root_path}/Parts/part_{part.slug}/geom",
                to_y_up(part.positions - origin),
                to_y_up(part.normals),
                part.faces,
            )
            mesh.CreateDoubleSidedAttr(not part.closed)
            _bind(mesh.GetPrim(), mat)
            yield 0.6 * (i + 1) / n, f"USDZ: part {part.name}"

        _xform(stage, f"{root_path}/Components")
        for comp in ctx.etype.components:
            xf = _xform(
                stage,
                f"{root_path}/Components/{ctx.component_node(comp.name)}",
                to_y_up(np.asarray(comp.anchor_m, dtype=np.float64)),
            )
            custom = {"component": comp.name, "description": comp.description}
            if comp.part:
                custom["part"] = comp.part
            xf.GetPrim().SetCustomData(custom)
            if comp.description:
                xf.GetPrim().SetDocumentation(comp.description)

        marker_mat = _material(
            stage, f"{root_path}/Materials/step_marker", HIGHLIGHT, emissive=True
        )
        mpos, mnrm, mfaces = marker_mesh(marker_radius(ctx))
        _xform(stage, f"{root_path}/Steps")
        for st in ctx.steps:
            path = f"{root_path}/Steps/{st.node_name}"
            xf = _xform(stage, path, to_y_up(np.asarray(st.anchor, dtype=np.float64)))
            prim = xf.GetPrim()
            prim.SetCustomData(_step_custom_data(st))
            prim.SetDocumentation(step_documentation(st))
            prim.CreateAttribute("factory_twin:component", Sdf.ValueTypeNames.String).Set(
                ctx.component_node(st.component.name)
            )
            marker = _mesh(stage, f"{path}/marker", mpos, mnrm, mfaces)
            _bind(marker.GetPrim(), marker_mat)
        yield 0.75, "USDZ: saving stage"
        stage.GetRootLayer().Save()
        usdz = Path(tmp) / f"{prim_name(ctx.stem)}.usdz"
        if not UsdUtils.CreateNewARKitUsdzPackage(Sdf.AssetPath(str(usdc)), str(usdz)):
            from factory_twin.errors import ExportError

            msg = f"usd-core could not package {usdc.name} as an ARKit USDZ"
            raise ExportError(msg)
        package = usdz.read_bytes()
    yield 1.0, "USDZ: done"
    return package


def build_usdz(ctx: ExportContext) -> bytes:
    """Return the USDZ file of ``ctx`` (see :func:`iter_usdz`)."""
    return drain(iter_usdz(ctx))
