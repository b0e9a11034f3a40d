"""The bays' names over the 3-D fab scene: one 2-D "label sheet" actor (no Qt here).

The names are rendered once by VTK's text renderer into one texture (an atlas); before
each render the sheet's quads are placed at the projections of the bays' anchors (whole
pixels, so the text stays crisp) and moved apart where they would overlap. Being 2-D, the
sheet is drawn after the 3-D scene without depth test: tools never hide a name and its
size on screen is constant. One actor and no second renderer layer keep it cheap on
software GL (a text actor per bay cost ~0.2 ms a frame each).

:class:`BayLabel` stands for one name, with the calls of the text actor it replaces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyvista as pv
import vtk

from factory_twin.model.schema import Bay


class BayLabel:
    """One bay's name in the scene's label sheet (see :class:`BayLabelSheet`).

    Behaves like the text actor it stands for: :meth:`GetInput` is the text,
    :meth:`GetPosition` the world point it is anchored at, and :meth:`SetVisibility`
    shows or hides it.
    """

    def __init__(self, text: str, anchor: Sequence[float], on_change: Callable[[], None]) -> None:
        self.text = text
        self.anchor = (float(anchor[0]), float(anchor[1]), float(anchor[2]))
        self.visible = True
        self._on_change = on_change

    def GetInput(self) -> str:
        """Return the text."""
        return self.text

    def GetPosition(self) -> tuple[float, float, float]:
        """Return the world point the label is centred on."""
        return self.anchor

    def GetVisibility(self) -> bool:
        """Return whether the label is drawn."""
        return self.visible

    def SetVisibility(self, on: bool) -> None:
        """Show or hide the label."""
        if bool(on) != self.visible:
            self.visible = bool(on)
            self._on_change()

    def VisibilityOn(self) -> None:
        """Show the label."""
        self.SetVisibility(True)

    def VisibilityOff(self) -> None:
        """Hide the label."""
        self.SetVisibility(False)


EDGE_PAD_PX = 4.0  # the least gap between a bay's name and the view's edge


def declutter(
    x0: list[float],
    y0: list[float],
    w: list[float],
    h: list[float],
    shown: list[bool],
    gap: float = 2.0,
) -> list[float]:
    """Return ``y0`` with labels moved up until no two shown ones overlap on screen.

    The lowest label on screen keeps its place; each next one goes just above any it
    would cover (small neighbouring bays put their names side by side in an overview).
    Plain Python floats: a dozen labels are far quicker so than as numpy scalars.
    """
    y = list(y0)
    placed: list[int] = []
    for k in sorted(range(len(y)), key=y.__getitem__):
        if not shown[k]:
            continue
        moved = True
        while moved:
            moved = False
            for j in placed:
                if (
                    x0[k] < x0[j] + w[j] + gap
                    and x0[j] < x0[k] + w[k] + gap
                    and y[k] < y[j] + h[j] + gap
                    and y[j] < y[k] + h[k] + gap
                ):
                    y[k] = y[j] + h[j] + gap
                    moved = True
        placed.append(k)
    return y


def render_text_rgba(text: str, tprop: vtk.vtkTextProperty, dpi: int) -> np.ndarray:
    """Return ``text`` rendered by VTK's text renderer as RGBA rows, bottom row first."""
    img = vtk.vtkImageData()
    dims = [0, 0]
    if not vtk.vtkTextRenderer.GetInstance().RenderString(tprop, text, img, dims, dpi):
        raise RuntimeError(f"could not render the label text {text!r}")
    nx, ny, _ = img.GetDimensions()
    rgba = np.asarray(pv.wrap(img).point_data.active_scalars).reshape(ny, nx, -1)
    return np.ascontiguousarray(rgba[: dims[1], : dims[0], :4])


class BayLabelSheet:
    """Every bay's name as one 2-D actor with one texture, placed before each render.

    Parameters
    ----------
    renderer
        The scene's renderer: the sheet is added to it, and placed on its ``StartEvent``.
    bays
        The bays to name (at least one).
    dpi
        The render window's resolution, which the text is rendered at.
    """

    def __init__(self, renderer: vtk.vtkRenderer, bays: Sequence[Bay], dpi: int) -> None:
        self.renderer = renderer
        tp = vtk.vtkTextProperty()
        tp.SetFontSize(15)
        tp.SetBold(True)
        tp.SetColor(1.0, 1.0, 1.0)
        tp.SetBackgroundColor(0.09, 0.1, 0.12)
        tp.SetBackgroundOpacity(1.0)
        tp.SetFrame(False)
        images = [render_text_rgba(b.name or b.id, tp, dpi) for b in bays]
        aw = max(im.shape[1] for im in images)
        ah = sum(im.shape[0] + 1 for im in images)
        atlas = np.zeros((ah, aw, 4), dtype=np.uint8)
        tc = np.zeros((len(images), 4, 2))
        y = 0
        for k, im in enumerate(images):
            h, w = im.shape[:2]
            atlas[y : y + h, :w] = im
            u0, u1 = 0.0, w / aw
            v0, v1 = y / ah, (y + h) / ah
            tc[k] = [(u0, v0), (u1, v0), (u1, v1), (u0, v1)]
            y += h + 1
        self._size = np.array([(im.shape[1], im.shape[0]) for im in images], dtype=float)
        self._anchor = np.array(
            [(b.origin_m[0] + b.size_m[0] / 2, b.origin_m[1] + 0.8, 0.1, 1.0) for b in bays]
        )
        sheet = pv.PolyData(
            np.zeros((4 * len(bays), 3)),
            faces=np.column_stack(
                [np.full(len(bays), 4), np.arange(4 * len(bays)).reshape(-1, 4)]
            ).ravel(),
        )
        sheet.active_texture_coordinates = tc.reshape(-1, 2)
        self._sheet = sheet
        self._xy = np.asarray(sheet.points).view(np.ndarray).reshape(len(bays), 4, 3)[:, :, :2]
        self._visible = np.ones(len(bays), dtype=bool)
        image = pv.ImageData(dimensions=(aw, ah, 1))
        image.point_data["rgba"] = atlas.reshape(-1, 4)
        tex = vtk.vtkTexture()
        tex.SetInputData(image)
        tex.InterpolateOff()  # quads are placed on whole pixels: texels map 1:1
        tex.RepeatOff()
        tex.EdgeClampOn()
        mapper = vtk.vtkPolyDataMapper2D()
        mapper.SetInputData(sheet)
        mapper.ScalarVisibilityOff()
        actor = vtk.vtkTexturedActor2D()
        actor.SetMapper(mapper)
        actor.SetTexture(tex)
        actor.PickableOff()
        self.actor: vtk.vtkTexturedActor2D | None = actor
        renderer.AddViewProp(actor)
        self.labels = [
            BayLabel(b.name or b.id, self._anchor[k, :3].tolist(), self._labels_changed)
            for k, b in enumerate(bays)
        ]
        self._key: tuple | None = None
        self._observer = renderer.AddObserver("StartEvent", self.place)

    def _labels_changed(self) -> None:
        self._visible = np.array([a.visible for a in self.labels], dtype=bool)
        self._key = None

    def place(self, *_: object) -> None:
        """Put each label's quad at its anchor's projection (before every render).

        Runs on every frame the camera moved: plain numpy and Python floats, ~0.1 ms.
        """
        sheet_actor = self.actor
        if sheet_actor is None:  # removed (the observer goes with it)
            return
        ren = self.renderer
        cam = ren.GetActiveCamera()
        w, h = ren.GetSize()
        ox, oy = ren.GetOrigin()
        key = (cam.GetMTime(), w, h, ox, oy)
        if key == self._key:
            return
        self._key = key
        m = cam.GetCompositeProjectionTransformMatrix(ren.GetTiledAspectRatio(), -1, 1)
        clip = self._anchor @ np.array(m.GetData()).reshape(4, 4).T  # row-major
        wc = clip[:, 3]
        front = wc > 1e-9
        ndc = clip[:, :2] / np.where(front, wc, 1.0)[:, None]
        sw, sh = self._size[:, 0], self._size[:, 1]
        x0 = np.floor(ox + (ndc[:, 0] + 1) * w / 2) - np.floor(sw / 2)
        y0 = np.floor(oy + (ndc[:, 1] + 1) * h / 2) - np.floor(sh / 2)
        # a name whose bay is in view stays whole inside the view: a long name in a narrow
        # view, or a front bay's name near the bottom edge, is slid in (not the camera out)
        inside = front & (np.abs(ndc[:, 0]) <= 1) & (np.abs(ndc[:, 1]) <= 1)
        pad = EDGE_PAD_PX
        fit_x = inside & (sw + 2 * pad <= w)
        fit_y = inside & (sh + 2 * pad <= h)
        x0 = np.where(fit_x, np.clip(x0, ox + pad, ox + w - pad - sw), x0)
        y0 = np.where(fit_y, np.clip(y0, oy + pad, oy + h - pad - sh), y0)
        shown = front & self._visible
        y0 = np.array(
            declutter(x0.tolist(), y0.tolist(), sw.tolist(), sh.tolist(), shown.tolist())
        )
        # a name moved up past the top edge by the decluttering comes back down inside
        y0 = np.where(fit_y, np.minimum(y0, oy + h - pad - sh), y0)
        x1 = np.where(shown, x0 + sw, x0)  # a hidden label collapses to a point
        y1 = np.where(shown, y0 + sh, y0)
        quads = self._xy  # (n, 4, 2) view of the sheet's points' x and y
        quads[:, 0, 0] = x0
        quads[:, 0, 1] = y0
        quads[:, 1, 0] = x1
        quads[:, 1, 1] = y0
        quads[:, 2, 0] = x1
        quads[:, 2, 1] = y1
        quads[:, 3, 0] = x0
        quads[:, 3, 1] = y1
        self._sheet.GetPoints().Modified()
        self._sheet.Modified()
        sheet_actor.SetVisibility(bool(shown.any()))

    def remove(self) -> None:
        """Take the sheet and its observer off the renderer (before a rebuild)."""
        if self.actor is not None:
            self.renderer.RemoveViewProp(self.actor)
            self.renderer.RemoveObserver(self._observer)
            self.actor = None
