"""Fast and quality rendering of the fab scene (no Qt here).

* **Fast** (the default on software OpenGL: Mesa llvmpipe or softpipe): flat-shaded tools,
  one headlight, no screen-space passes. Every frame is a single geometry pass.
* **Quality**: physically based shading of the tools (metallic/roughness), three-point
  lighting (VTK's light kit: key, fill, back and head lights) and screen-space ambient
  occlusion (SSAO), which darkens the floor under tools and the gaps between modules.

Both keep the state colours: the tools' colour still comes from the one texel per tool (see
:class:`~factory_twin.ui.scene.FabScene`), labels and legend are 2-D and stay crisp.
:func:`default_quality` chooses quality only on a hardware renderer.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pyvista as pv

if TYPE_CHECKING:
    import vtk

    from factory_twin.ui.scene import FabScene

from factory_twin.ui.scene_colors import FLAT_COLOR_FS

SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "software rasterizer")
"""Substrings of the GL renderer string of software OpenGL."""

QUALITY_METALLIC = 0.15
QUALITY_ROUGHNESS = 0.5
LIGHT_GAIN = 2.2
"""The light kit's intensities are scaled by this (PBR needs more light than Phong)."""
SSAO_RADIUS_M = 0.8
"""Sample radius of the ambient occlusion: the gaps between modules, the floor at a tool."""


def gl_renderer(render_window: vtk.vtkRenderWindow) -> str:
    """Return the OpenGL renderer string of a render window ('' if it cannot tell)."""
    try:
        caps = render_window.ReportCapabilities() or ""
        if "renderer string" not in caps:  # no context yet: make one
            render_window.Render()
            caps = render_window.ReportCapabilities() or ""
    except Exception:  # a window that cannot render (closed)
        return ""
    m = re.search(r"OpenGL renderer string:\s*(.+)", caps)
    return m.group(1).strip() if m else ""


def is_software_gl(renderer: str) -> bool:
    """Return whether a GL renderer string names software OpenGL.

    Examples
    --------
    >>> is_software_gl("llvmpipe (LLVM 15.0.6, 256 bits)")
    True
    >>> is_software_gl("NVIDIA GeForce RTX 3060/PCIe/SSE2")
    False
    """
    r = renderer.lower()
    return any(s in r for s in SOFTWARE_RENDERERS)


def default_quality(render_window: vtk.vtkRenderWindow) -> bool:
    """Return the mode to start in: quality on a GPU, fast on software GL (or unknown)."""
    name = gl_renderer(render_window)
    return bool(name) and not is_software_gl(name)


def apply_quality(scene: FabScene, on: bool, *, render: bool = True) -> None:
    """Switch ``scene`` between the quality and the fast look (idempotent)."""
    p = scene.plotter
    prop = scene.tools_actor.prop
    renderer = p.renderer
    p.remove_all_lights()
    if on:
        prop.interpolation = "pbr"
        prop.metallic = QUALITY_METALLIC
        prop.roughness = QUALITY_ROUGHNESS
        p.enable_lightkit()
        for light in p.renderer.lights:
            light.intensity = light.intensity * LIGHT_GAIN
        # SSAO reads every opaque actor's depth and normals: the ground's minimal shader
        # (fast mode) writes only a colour, so it goes back to VTK's own here
        scene.ground_actor.GetShaderProperty().SetFragmentShaderCode(None)
        renderer.enable_ssao(radius=SSAO_RADIUS_M, bias=0.005, kernel_size=32, blur=True)
    else:
        prop.interpolation = "flat"
        p.add_light(pv.Light(light_type="headlight", intensity=1.0))
        renderer.disable_ssao()
        scene.ground_actor.GetShaderProperty().SetFragmentShaderCode(FLAT_COLOR_FS)
    scene.quality = on
    if render:
        p.render()
