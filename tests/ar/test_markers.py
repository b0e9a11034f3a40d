"""Step markers on the cover picture: every number readable, none hidden under another."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from factory_twin.ar.context import build_context
from factory_twin.ar.render import Marker, place_labels, render_tool
from factory_twin.model.config import load_plant

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [ROOT / "plant_configs" / "demo_fab.yaml", ROOT / "plant_configs" / "led_line.yaml"]


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _cases() -> list[tuple[Path, str, str]]:
    out = []
    for path in SHIPPED:
        spec = load_plant(path).spec
        for proc in spec.procedures:
            tool = next(e.id for e in spec.equipment if e.type == proc.equipment_type)
            out.append((path, tool, proc.id))
    return out


@pytest.mark.parametrize(
    ("path", "tool", "procedure"), _cases(), ids=lambda v: getattr(v, "name", v)
)
def test_cover_labels_never_overlap(path, tool, procedure):
    ctx = build_context(load_plant(path).spec, tool, procedure, plant_path=path)
    markers = [Marker(st.anchor, str(st.number)) for st in ctx.steps]
    img = render_tool(ctx.geometry, ctx.overview, (900, 640), markers=markers)
    boxes = img.info["marker_boxes"]
    assert len(boxes) == len(markers)
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        assert not _overlap(a, b), f"{tool} {procedure}: step {i + 1} and step {j + 1} overlap"
    for x0, y0, x1, y1 in boxes:
        assert x0 >= 0 and x1 <= 900 and y0 >= 0 and y1 <= 640


def test_labels_of_one_point_fan_out_and_stay_inside():
    spots = place_labels([(50.0, 50.0)] * 6, 12.0, (400, 300), dot=4)
    for (ax, ay), (bx, by) in itertools.combinations(spots, 2):
        assert (ax - bx) ** 2 + (ay - by) ** 2 >= (2 * 12.0) ** 2
    assert all(12 <= x <= 388 and 12 <= y <= 288 for x, y in spots)


def test_a_label_keeps_clear_of_other_anchors():
    anchors = [(100.0, 100.0), (100.0 + 12 * 2.7 * 0.7071, 100.0 - 12 * 2.7 * 0.7071)]
    spots = place_labels(anchors, 12.0, (400, 300), dot=4)
    (qx, qy), (bx, by) = spots[0], anchors[1]
    assert (qx - bx) ** 2 + (qy - by) ** 2 >= (12 + 4) ** 2  # the first label moved aside
