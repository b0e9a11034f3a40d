"""The tool state codes of the 3-D fab scene and the colours they are drawn in (no Qt here).

* the state codes on the merged tool mesh: the six E10 codes, then "no data" and "stale";
* their colours and legend labels (the Qt legend, KPI strip and detail panel use them too),
  as hex strings, as a categorical lookup table and as the RGB texels of the tools' texture;
* the colours of the neutral materials (FOUPs, lids, racks...) in the same texture;
* the floor's colour per theme and the tint a bay's colour gives the floor under it;
* the GLSL snippets the scene's flat ground and texel-coloured tools are drawn with.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyvista as pv

from factory_twin.model.equipment_models import MATERIALS
from factory_twin.model.events import E10_COLOURS, E10State
from factory_twin.model.geometry import hex_to_rgb

# -- state codes on the tool mesh: the six E10 codes, then the two non-E10 display states
UNKNOWN_CODE = 6  # no value received yet
STALE_CODE = 7  # the connection that carried the value is gone
N_CODES = 8

STATE_COLORS: dict[int, str] = {
    **{st.code: E10_COLOURS[st.value] for st in E10State},
    UNKNOWN_CODE: "#d9d9d9",
    STALE_CODE: "#6e6e6e",
}

STATE_LABELS: dict[int, str] = {
    E10State.PRODUCTIVE.code: "Productive",
    E10State.STANDBY.code: "Standby",
    E10State.ENGINEERING.code: "Engineering",
    E10State.SCHEDULED_DOWN.code: "Scheduled down",
    E10State.UNSCHEDULED_DOWN.code: "Unscheduled down",
    E10State.NON_SCHEDULED.code: "Non-scheduled",
    UNKNOWN_CODE: "No data",
    STALE_CODE: "Stale / no connection",
}


def state_lookup_table() -> pv.LookupTable:
    """Return the categorical lookup table of tool state codes."""
    lut = pv.LookupTable()
    lut.n_values = N_CODES
    lut.scalar_range = (-0.5, N_CODES - 0.5)
    colors = np.array([[*hex_to_rgb(STATE_COLORS[i]), 1.0] for i in range(N_CODES)])
    lut.values = (colors * 255).astype(np.uint8)
    return lut


# the fragment shader of the ground: the interpolated colour per point, nothing else
# (VTK fills in the version, precision and output declarations)
FLAT_COLOR_FS = """//VTK::System::Dec
in vec4 vertexColorVSOutput;
//VTK::Output::Dec
void main()
{
  gl_FragData[0] = vertexColorVSOutput;
}
"""

# the tools' colour: the vertex shader fetches the tool's texel (its texture coordinate
# names it), the fragment shader multiplies the lit colour by it, as VTK does with a
# texture, but without a per-pixel texture look-up
TOOL_VS = {
    "//VTK::TCoord::Dec": "//VTK::TCoord::Dec\n"
    "uniform sampler2D actortexture;\n"
    "flat out vec4 toolColorVSOutput;\n",
    "//VTK::TCoord::Impl": "//VTK::TCoord::Impl\n"
    "toolColorVSOutput = texelFetch(actortexture,\n"
    "  ivec2(tcoord * vec2(textureSize(actortexture, 0))), 0);\n",
}
TOOL_FS = {
    "//VTK::TCoord::Dec": "//VTK::TCoord::Dec\nflat in vec4 toolColorVSOutput;\n",
    "//VTK::TCoord::Impl": "gl_FragData[0] = gl_FragData[0] * toolColorVSOutput;\n",
}
TEX_MAX_W = 4096

NEUTRAL_RGB = np.array(
    [[round(255 * c) for c in hex_to_rgb(m.color)] for m in list(MATERIALS.values())[1:]],
    dtype=np.uint8,
)
"""The colours of the neutral materials (every material but ``body``), in code order."""

STATE_RGB = np.array(
    [[round(255 * c) for c in hex_to_rgb(STATE_COLORS[i])] for i in range(N_CODES)], dtype=np.uint8
)
"""The RGB colour of each state code, in code order (the tools' texels)."""


FLOOR_HEX: dict[bool, str] = {True: "#30343b", False: "#e9ecef"}
"""The floor's colour per theme (True: dark)."""
BAY_TINT: dict[bool, float] = {True: 0.35, False: 0.45}
"""How much of a bay's own colour tints the floor under it, per theme (the rest is floor)."""


def ground_rgbs(bay_colours: Iterable[str], dark: bool) -> np.ndarray:
    """The floor's colour and the tint of each bay colour ``#rrggbb`` on it, in a theme: an
    ``(1 + n, 3)`` array of 0-255 RGB, the floor first (what the scene's ground is drawn in).

    Examples
    --------
    >>> ground_rgbs(["#ffffff"], dark=True).tolist()
    [[48, 52, 59], [120, 123, 128]]
    """
    base = np.array(hex_to_rgb(FLOOR_HEX[dark]))
    k = BAY_TINT[dark]
    mixes = [base] + [(1 - k) * base + k * np.array(hex_to_rgb(c)) for c in bay_colours]
    return np.round(255 * np.array(mixes)).astype(int)
