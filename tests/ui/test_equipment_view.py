"""The equipment models in the 3-D view: reference screenshots (demo fab, SMT2020, a close-up
of every kind) and the state colour measured on each tool's body pixels."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import pyvista as pv
from _images import compare_with_reference
from PIL import Image

from factory_twin.model.config import load_plant
from factory_twin.model.equipment_models import gallery_plant
from factory_twin.model.events import E10State
from factory_twin.model.geometry import hex_to_rgb
from factory_twin.ui import scene as sc
from factory_twin.ui import scene_camera, scene_colors
from factory_twin.ui.render_quality import apply_quality

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "plant_configs" / "demo_fab.yaml"
SMT = REPO / "plant_configs" / "smt2020_hvlm.yaml"
TILE = (320, 220)


def _states(n: int) -> np.ndarray:
    """A fixed mix of E10 states, so the references show every colour."""
    return np.arange(n) % 6


def _overview(path: Path, size: tuple[int, int]) -> np.ndarray:
    spec = load_plant(path).spec
    p = pv.Plotter(off_screen=True, window_size=size)
    try:
        scene = sc.FabScene(p, spec)
        scene.set_states(_states(len(scene.ids)), np.zeros(len(scene.ids), bool))
        p.render()
        return np.asarray(p.screenshot(return_img=True))
    finally:
        p.close()


def test_demo_fab_overview_matches_reference(image_cache):
    img = _overview(DEMO, (1000, 640))
    bg = img[2, 2].astype(int)
    assert (np.abs(img.astype(int) - bg).sum(-1) > 30).mean() > 0.3  # not a black view
    compare_with_reference(img, image_cache / "demo_fab_overview.png")


def test_smt2020_overview_matches_reference(image_cache):
    img = _overview(SMT, (1000, 640))
    compare_with_reference(img, image_cache / "smt2020_overview.png")


def test_close_up_of_every_kind_matches_reference(image_cache):
    """One tile per equipment kind (the gallery plant), compared tile by tile."""
    spec = gallery_plant()
    p = pv.Plotter(off_screen=True, window_size=TILE)
    try:
        scene = sc.FabScene(p, spec, show_labels=False, show_legend=False)
        scene.set_states(_states(len(scene.ids)), np.zeros(len(scene.ids), bool))
        tiles = []
        for b in scene.geometry.bounds:
            pad = 0.4
            box = (b[0] - pad, b[1] + pad, b[2] - pad, b[3] + pad, 0.0, b[5])
            scene.set_camera(_close_up(box))
            tiles.append(np.asarray(p.screenshot(return_img=True))[..., :3])
    finally:
        p.close()
    cols = 5
    rows = -(-len(tiles) // cols)
    h, w = tiles[0].shape[:2]
    sheet = np.zeros((rows * h, cols * w, 3), dtype=np.uint8)
    for k, t in enumerate(tiles):
        sheet[(k // cols) * h : (k // cols + 1) * h, (k % cols) * w : (k % cols + 1) * w] = t
    ref_path = image_cache / "equipment_kinds.png"
    if ref_path.exists() and not os.environ.get("FACTORY_TWIN_RESET_IMAGES"):
        ref = np.asarray(Image.open(ref_path).convert("RGB")).astype(int)
        assert ref.shape == sheet.shape
        for k, tid in enumerate(scene.ids):
            r, c = k // cols, k % cols
            a = ref[r * h : (r + 1) * h, c * w : (c + 1) * w]
            b = sheet[r * h : (r + 1) * h, c * w : (c + 1) * w].astype(int)
            share = float((np.abs(a - b).sum(-1) > 60).mean())
            assert share < 0.04, f"close-up of {tid}: {share:.3%} of pixels differ"
    compare_with_reference(sheet, ref_path)


def _close_up(bounds: tuple[float, ...]) -> tuple:
    """A camera from the front left, a little above, framing ``bounds``."""
    return scene_camera.camera_for_bounds(
        bounds, elevation_deg=32.0, azimuth_deg=-62.0, aspect=TILE[0] / TILE[1]
    )


def _chroma(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=float)
    return rgb / np.maximum(rgb.sum(axis=-1, keepdims=True), 1e-9)


@pytest.mark.parametrize("quality", [False, True], ids=["fast", "quality"])
def test_body_pixels_show_each_e10_state(quality):
    """For a tool of each kind of the demo fab, the pixels that follow its state (its body)
    carry the hue of every E10 state, and its neutral parts keep theirs."""
    spec = load_plant(DEMO).spec
    tools = ["ETCH-01", "SCAN-01", "TRK-01", "FURN-01", "WET-01", "CMP-01", "IMP-01", "DEF-01"]
    e10 = [s.code for s in E10State]
    ref = _chroma(np.array([hex_to_rgb(scene_colors.STATE_COLORS[c]) for c in e10]))
    p = pv.Plotter(off_screen=True, window_size=(420, 300))
    try:
        scene = sc.FabScene(p, spec, show_labels=False, show_legend=False)
        apply_quality(scene, quality, render=False)
        n = len(scene.ids)
        for tid in tools:
            i = scene.index[tid]
            scene.set_camera(scene.tool_camera(tid), render=False)
            shots = {}
            for code in e10:
                codes = np.full(n, E10State.STANDBY.code)
                codes[i] = code
                scene.set_states(codes, np.zeros(n, bool))
                p.render()
                shots[code] = np.asarray(p.screenshot(return_img=True))[..., :3].astype(int)
            stack = np.stack([shots[c] for c in e10])
            # body pixels: they change with the tool's state (nothing else changes)
            spread = stack.max(axis=0) - stack.min(axis=0)
            body = spread.sum(-1) > 90
            assert body.mean() > 0.01, (tid, body.mean())
            for code in e10:
                mean = shots[code][body].mean(axis=0)
                nearest = int(np.argmin(np.abs(ref - _chroma(mean)).sum(-1)))
                assert e10[nearest] == code, (tid, code, mean.round())
            # the tool's neutral parts (FOUPs, lids, racks) are drawn and keep one colour
            neutral = scene.geometry.point_material[
                np.unique(scene.tool_mesh.regular_faces[scene.geometry.cell_tool == i])
            ]
            assert (neutral > 0).any(), tid
    finally:
        p.close()
