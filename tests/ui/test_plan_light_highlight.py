"""The Plan workspace's tools read on the floor and the bays in both themes: the unchanged
tools' texels, the selected and changed tools', the selection's outline and the knob are read
back after each theme switch and their contrast against the floor and every bay tint is
measured."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from _plan_window import plan_window
from plan_helpers import colour as _colour
from PySide6.QtWidgets import QApplication

from factory_twin.model.colours import contrast
from factory_twin.ui.plan_scene import DARK_RGB, LIGHT_RGB, status_rgb
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_plan_workspace import QtPlanWorkspace
from factory_twin.ui.theme import contrast_ratio

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def win(qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    p = tmp_path / "demo_fab.yaml"
    for f in ("demo_fab.yaml", "demo_fab_fourth_scanner.scenario.yaml"):
        shutil.copy(REPO / "plant_configs" / f, tmp_path / f)
    yield from plan_window(qtbot, tmp_path, p)


def _ground_colours(ws: QtPlanWorkspace) -> list[tuple[int, int, int]]:
    """Every colour of the floor mesh's cells except the thin grid and outline lines: the
    floor and each bay's tint (the first point of each ground rectangle)."""
    assert ws.view.scene is not None
    scene = ws.view.scene
    rgb = np.asarray(scene.ground.point_data["rgb"]).reshape(-1, 3)
    grid = np.round(255 * np.array(_hex(scene._grid_color()))).astype(int)
    out = {tuple(int(v) for v in c) for c in rgb}
    out.discard(tuple(int(v) for v in grid))
    out.discard((120, 130, 145))  # the bays' outlines on the light theme
    out.discard((200, 208, 220))  # and on the dark one
    return sorted(out)  # type: ignore[arg-type]


def _hex(h: str) -> tuple[float, float, float]:
    h = h.lstrip("#")
    return tuple(int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def _min_contrast(c: tuple[int, int, int], ground: list[tuple[int, int, int]]) -> float:
    return min(contrast_ratio(c, g) for g in ground)


def _fourth_scanner_with_etch_selected(win: MainWindow) -> QtPlanWorkspace:
    """The Plan workspace on the "fourth scanner" scenario with ETCH-01 selected."""
    ws: QtPlanWorkspace = win.plan
    row = next(
        i for i in range(ws.scenarios.list.count())
        if ws.scenarios.list.item(i).text() == "fourth scanner"
    )  # fmt: skip
    ws.scenarios.list.setCurrentRow(row)
    ws.select(["ETCH-01"])
    QApplication.processEvents()
    return ws


def test_selected_and_changed_tools_read_on_both_themes(win: MainWindow) -> None:
    ws = _fourth_scanner_with_etch_selected(win)
    assert ws.session is not None and ws.session.changed_tools() == {"SCAN-04"}
    for dark in (False, True, False):
        win.set_dark(dark)
        QApplication.processEvents()
        scene = ws.view.scene
        assert scene is not None and scene.dark is dark
        ground = _ground_colours(ws)
        assert len(ground) >= 9  # the floor and the eight bays
        sel, chg = _colour(ws, "ETCH-01"), _colour(ws, "SCAN-04")
        assert sel == status_rgb("selected", dark) and chg == status_rgb("changed", dark)
        if not dark:
            # the light floor and bays are pale: each highlight at least 3:1 against them
            assert _min_contrast(sel, ground) >= 3.0
            assert _min_contrast(chg, ground) >= 3.0
            assert contrast_ratio(sel, chg) > 1.0 and sel != chg
        # the selection's outline box and its rotate knob follow the theme too
        assert scene.highlight_actor is not None and scene.highlight_actor.GetVisibility()
        outline = tuple(round(255 * v) for v in scene.highlight_actor.prop.color[:3])
        knob = tuple(round(255 * v) for v in ws.overlay.marks["knob"][1].prop.color[:3])  # type: ignore[union-attr]
        assert knob == status_rgb("ring", dark)
        if not dark:
            assert _min_contrast(outline, ground) >= 3.0  # type: ignore[arg-type]
            assert _min_contrast(knob, ground) >= 3.0  # type: ignore[arg-type]
        else:
            assert outline == (0, 229, 255)


def test_every_light_status_colour_reads_on_the_light_ground(win: MainWindow) -> None:
    ws: QtPlanWorkspace = win.plan
    win.set_dark(False)
    QApplication.processEvents()
    ground = _ground_colours(ws)
    for role, rgb in LIGHT_RGB.items():
        assert _min_contrast(rgb, ground) >= 3.0, role


def _hex_of(c: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*c)


def test_unchanged_tools_read_on_the_floor_and_every_bay_in_both_themes(
    win: MainWindow,
) -> None:
    ws = _fourth_scanner_with_etch_selected(win)
    ses = ws.session
    assert ses is not None
    bad, warn = ses.problem_tools()
    lit = {"ETCH-01", *ses.changed_tools(), *bad, *warn}
    for dark in (False, True, False):
        win.set_dark(dark)
        QApplication.processEvents()
        scene = ws.view.scene
        assert scene is not None and scene.dark is dark
        ground = [_hex_of(g) for g in _ground_colours(ws)]
        assert len(ground) >= 9  # the floor and the eight bays
        plain = {t: _colour(ws, t) for t in scene.ids if t not in lit}
        assert len(plain) >= 30  # most of the demo fab's tools (a few are highlighted)
        assert set(plain.values()) == {status_rgb("plain", dark)}
        for tool, rgb in plain.items():
            worst = min(contrast(_hex_of(rgb), g) for g in ground)
            assert worst >= 3.0, (dark, tool, rgb, worst)
        # the highlights stay apart from the plain tools (they differ in hue if not in
        # lightness: each is a saturated colour, the plain tools a grey)
        roles = ("changed", "selected", "warning", "problem", "from", "to")
        assert all(status_rgb(r, dark) != status_rgb("plain", dark) for r in roles)
    assert DARK_RGB["plain"] != LIGHT_RGB["plain"]
