"""What the AR exporters add to the shared tool meshes: frames, colour space, part look-up.

The meshes themselves come from :mod:`factory_twin.model.geometry` (the one geometry
pipeline, shared with the 3-D view): :func:`~factory_twin.model.geometry.type_geometry`
builds an equipment type's parts in its own Z-up frame. Exporters for Y-up formats convert
with :func:`to_y_up` (a -90 degree rotation about x); glTF and USD colour factors are
linear (:func:`srgb_to_linear`).
"""

from __future__ import annotations

import numpy as np

from factory_twin.model import schema as s
from factory_twin.model.geometry import FloatArray, TypeGeometry


def component_part(geometry: TypeGeometry, component: s.Component) -> int | None:
    """Return the index of the part that shows ``component``.

    The component's own ``part`` if it names one (or the part the equipment model added to
    it under the component's name: the lid of a chamber), otherwise the part whose bounding box
    lies nearest to the anchor (within 5 cm; a part of the plant file before one the
    equipment model added), otherwise None.
    """
    if component.part is not None:
        # the lid is the lid: a part the equipment model made of the named part, under the
        # component's own name ('chamber 1 lid' of 'chamber 1'), is what the step shows
        own = geometry.part_index(component.name)
        if own is not None and geometry.parts[own].refines == component.part:
            return own
        return geometry.part_index(component.part)
    anchor = np.asarray(component.anchor_m, dtype=np.float64)
    for generated in (False, True):
        best, best_d = None, 0.05
        for i, p in enumerate(geometry.parts):
            if p.generated != generated:
                continue
            lo, hi = p.bounds
            d = float(np.linalg.norm(np.maximum(0.0, np.maximum(lo - anchor, anchor - hi))))
            if d <= best_d:
                best, best_d = i, d
        if best is not None:
            return best
    return None


def to_y_up(points: FloatArray) -> FloatArray:
    """Rotate Z-up points (or normals) -90 degrees about x: ``(x, y, z) -> (x, z, -y)``.

    Examples
    --------
    >>> to_y_up(np.array([1.0, 2.0, 3.0])).tolist()
    [1.0, 3.0, -2.0]
    """
    p = np.asarray(points, dtype=np.float64)
    return np.stack([p[..., 0], p[..., 2], -p[..., 1]], axis=-1)


def srgb_to_linear(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    """Convert sRGB components to linear light (glTF and USD colour factors are linear)."""

    def one(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return (one(r), one(g), one(b))
