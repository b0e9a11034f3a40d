"""What the AR exporters add to the shared tool meshes: frames and colour space.

The meshes themselves come from :mod:`factory_twin.model.geometry` (the one geometry
pipeline, shared with the 3-D view): :func:`~factory_twin.model.geometry.type_geometry`
builds an equipment type's parts in its own Z-up frame. Exporters for Y-up formats convert
with :func:`to_y_up` (a -90 degree rotation about x); glTF and USD colour factors are
linear (:func:`srgb_to_linear`). The part a step's component shows on is
:func:`~factory_twin.model.geometry.component_part`, shared with Maintain.
"""

from __future__ import annotations

import numpy as np

from factory_twin.model.geometry import FloatArray


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
