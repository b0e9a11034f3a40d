"""Step overlays on an off-screen pyvista plotter (no Qt): highlight, callout, camera, picking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pyvista as pv

from factory_twin.app.maintenance import anchor_world, nearest_component
from factory_twin.model.config import load_plant
from factory_twin.ui.maintain_scene import StepOverlay, part_mesh, wrap_callout
from factory_twin.ui.scene import FabScene

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def led():
    return load_plant(REPO / "plant_configs" / "led_line.yaml").spec


@pytest.fixture
def overlay(led):
    p = pv.Plotter(off_screen=True, window_size=(640, 420))
    yield StepOverlay(FabScene(p, led, show_legend=False))
    p.close()


def test_every_step_of_the_led_line_frames_its_anchor_and_part(overlay, led):
    p = overlay.plotter
    before = set(p.actors)
    for proc in led.procedures:
        tool = next(e.id for e in led.equipment if e.type == proc.equipment_type)
        for step in proc.steps:
            h = overlay.show_step(
                tool, step.component, step.title, step.text, safety=bool(step.safety)
            )
            assert np.allclose(h.anchor, anchor_world(led, tool, step.component))
            overlay.scene.set_camera(overlay.step_camera(tool, h.anchor, h.label_point, h.part))
            w, hgt = p.window_size
            for point in (h.anchor, h.label_point):
                x, y = overlay.display_of(point)
                assert 0 <= x <= w and 0 <= y <= hgt, (proc.id, step.title, point, x, y)
            if h.part is not None:
                assert overlay.highlight_actor.GetVisibility()
                assert np.allclose(
                    overlay.highlight_actor.GetBounds(), part_mesh(led, tool, h.part).bounds
                )
            assert all(not a.GetVisibility() for a in overlay.scene.label_actors)
    img = p.screenshot(return_img=True)
    assert (np.abs(img.astype(int) - img[0, 0]).sum(-1) > 0).mean() > 0.3
    overlay.clear()
    assert set(p.actors) == before and overlay.shown is None
    assert all(a.GetVisibility() for a in overlay.scene.label_actors)


def test_picking_the_anchor_gives_its_component(overlay, led):
    proc = led.procedures[0]
    tool = next(e.id for e in led.equipment if e.type == proc.equipment_type)
    hits = 0
    etype = led.equipment_type(proc.equipment_type)
    for comp in etype.components:
        h = overlay.show_step(tool, comp.name, comp.name, "")
        # straight down onto the anchor: from the front, other parts may hide it
        a = np.array(h.anchor)
        overlay.scene.set_camera(
            (tuple(a + np.array([0.0, 0.0, 12.0])), tuple(a), (0.0, 1.0, 0.0))
        )
        overlay.plotter.render()
        hit = overlay.pick(*overlay.display_of(h.anchor))
        if hit is None:
            continue  # an anchor over empty floor (e.g. beside the tool) picks nothing
        assert hit[0] == tool
        got = nearest_component(led, tool, hit[1])
        sharing = [c.name for c in etype.components if c.part == comp.part]
        if len(sharing) == 1:  # its own part: exactly this component
            assert got.name == comp.name
            hits += 1
        else:  # anchors stacked inside one part: the one nearest the clicked surface
            assert got.name in sharing
    assert hits >= 4


def test_callout_text_wraps_and_is_cut_with_an_ellipsis():
    text = wrap_callout("Title", "word " * 100, width=20, max_lines=4)
    lines = text.splitlines()
    assert lines[0] == "Title" and len(lines) == 4 and lines[-1].endswith("…")
    assert all(len(x) <= 20 for x in lines)
