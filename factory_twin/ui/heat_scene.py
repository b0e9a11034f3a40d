"""Heat map on the fab scene: tools coloured by a value, a scalar bar, the bottleneck shift.

Plotter-agnostic like :mod:`factory_twin.ui.scene` (no Qt): :class:`HeatOverlay` writes the
per-tool colours into the :class:`~factory_twin.ui.scene.FabScene`'s one texture (one texel
per tool, nothing rebuilt), adds a VTK scalar bar as its legend, and marks the bottleneck
group of two scenarios on the floor: pins over the old group's tools (grey) and the new one's
(magenta), a label on each and a line from the old to the new.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyvista as pv
import vtk

from factory_twin.ui.scene import FabScene
from factory_twin.ui.scene_colors import STATE_RGB
from factory_twin.ui.scene_meshes import octahedra

NO_VALUE_RGB = (70, 74, 82)
OLD_RGB = "#b8c0cc"
NEW_RGB = "#ff4fd8"
HEAT_CMAP = "inferno"


def heat_lookup_table(clim: tuple[float, float], cmap: str = HEAT_CMAP) -> pv.LookupTable:
    """The colour scale of the heat map (``clim``: the values of its two ends)."""
    lut = pv.LookupTable(cmap=cmap, n_values=256)
    lo, hi = clim
    lut.scalar_range = (lo, hi if hi > lo else lo + 1.0)
    return lut


def heat_colours(
    values: np.ndarray, clim: tuple[float, float], cmap: str = HEAT_CMAP
) -> np.ndarray:
    """0-255 RGB per value on the scale (NaN: the no-value grey)."""
    lut = heat_lookup_table(clim, cmap)
    table = np.asarray(lut.values)[:, :3].astype(np.uint8)
    lo, hi = lut.scalar_range
    v = np.asarray(values, dtype=float)
    idx = np.clip(((v - lo) / (hi - lo) * (len(table) - 1)).round(), 0, len(table) - 1)
    out = table[np.nan_to_num(idx, nan=0).astype(np.int64)]
    out[~np.isfinite(v)] = NO_VALUE_RGB
    return out


class HeatOverlay:
    """Colour a scene's tools by a value (see the module notes).

    Parameters
    ----------
    scene
        The scene to paint; :meth:`clear` gives it its state colours back.
    """

    def __init__(self, scene: FabScene) -> None:
        self.scene = scene
        self.plotter = scene.plotter
        self.values = np.full(len(scene.ids), np.nan)
        self.clim = (0.0, 1.0)
        self.title = ""
        self.bar: vtk.vtkScalarBarActor | None = None
        self._marks: list[str] = []

    def show(
        self,
        values: Mapping[str, float],
        clim: tuple[float, float],
        title: str,
        cmap: str = HEAT_CMAP,
    ) -> int:
        """Colour every tool by ``values[tool]`` on ``clim``; return how many tools got one.

        Tools without a value are drawn in a dark grey.
        """
        sc = self.scene
        v = np.array([float(values.get(t, np.nan)) for t in sc.ids], dtype=float)
        self.values, self.clim, self.title = v, clim, title
        rgb = heat_colours(v, clim, cmap)
        sc._tool_rgb[: len(rgb)] = rgb
        sc._tool_image.Modified()
        self._scalar_bar(clim, title, cmap)
        return int(np.isfinite(v).sum())

    def _scalar_bar(self, clim: tuple[float, float], title: str, cmap: str) -> None:
        lut = heat_lookup_table(clim, cmap)
        if self.bar is None:
            bar = vtk.vtkScalarBarActor()
            bar.SetOrientationToHorizontal()
            bar.SetNumberOfLabels(5)
            bar.SetLabelFormat("%.3g")
            bar.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
            bar.GetPositionCoordinate().SetValue(0.03, 0.03)
            bar.SetWidth(0.42)
            bar.SetHeight(0.11)
            bar.SetBarRatio(0.35)
            bar.UnconstrainedFontSizeOn()
            for tp in (bar.GetTitleTextProperty(), bar.GetLabelTextProperty()):
                tp.SetColor(0.92, 0.92, 0.92)
                tp.SetFontSize(13)
                tp.ShadowOff()
                tp.BoldOff()
                tp.ItalicOff()
            self.plotter.add_actor(bar, name="heat_scalar_bar", reset_camera=False, render=False)
            self.bar = bar
        self.bar.SetLookupTable(lut)
        self.bar.SetTitle(title)
        self.bar.SetVisibility(True)

    def mark_shift(
        self,
        old: Sequence[str],
        new: Sequence[str],
        old_label: str,
        new_label: str,
    ) -> None:
        """Pin the old bottleneck group's tools (grey) and the new one's (magenta), labelled.

        A line joins the two groups' centres when they differ.
        """
        self.clear_marks()
        sc = self.scene
        geo = sc.geometry
        p = self.plotter
        centres: list[np.ndarray] = []
        for name, tools, colour, label in (
            ("heat_old", old, OLD_RGB, old_label),
            ("heat_new", new, NEW_RGB, new_label),
        ):
            idx = [sc.index[t] for t in tools if t in sc.index]
            if not idx:
                continue
            c = geo.centers[idx].copy()
            c[:, 2] = geo.tops[idx] + (1.2 if name == "heat_new" else 0.7)
            p.add_mesh(octahedra(c, 0.45), color=colour, name=name, render=False,
                       pickable=False, reset_camera=False)  # fmt: skip
            top = c.mean(axis=0)
            top[2] = float(c[:, 2].max()) + 1.5
            centres.append(top)
            p.add_point_labels(
                top[None, :], [label], name=f"{name}_label", font_size=14, text_color=colour,
                shape_color="#1b1f24", shape_opacity=0.75, show_points=False,
                always_visible=True, render=False, reset_camera=False,
            )  # fmt: skip
            self._marks += [name, f"{name}_label"]
        if len(centres) == 2 and not np.allclose(centres[0], centres[1]):
            line = pv.Line(centres[0], centres[1])
            p.add_mesh(line, color=NEW_RGB, line_width=3, name="heat_shift", render=False,
                       pickable=False, reset_camera=False)  # fmt: skip
            self._marks.append("heat_shift")

    def clear_marks(self) -> None:
        """Remove the bottleneck pins and labels."""
        for name in self._marks:
            self.plotter.renderer.remove_actor(name, render=False)
        self._marks = []

    def clear(self) -> None:
        """Give the tools their state colours back and remove the legend and the pins."""
        sc = self.scene
        sc._tool_rgb[: len(sc.ids)] = STATE_RGB[sc.tool_codes]
        sc._tool_image.Modified()
        if self.bar is not None:
            self.bar.SetVisibility(False)
        self.clear_marks()

    def dispose(self) -> None:
        """Remove everything this overlay added (before the scene is rebuilt)."""
        self.clear_marks()
        if self.bar is not None:
            self.plotter.renderer.remove_actor(self.bar, render=False)
            self.bar = None
