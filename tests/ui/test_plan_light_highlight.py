"""The Plan workspace's tools read on the floor and the bays in both themes: the unchanged
tools' texels, the selected and changed tools', the selection's outline and the knob are read
back after each theme switch and their contrast against the floor and every bay tint is
measured, on the demo plant and on plants whose bays are very dark, very light or saturated
(the unchanged tools' colour follows the plant's bays)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from _plan_window import plan_window
from plan_helpers import colour as _colour
from PySide6.QtWidgets import QApplication

from factory_twin.model.colours import contrast
from factory_twin.ui.plan_scene import DARK_RGB, LIGHT_RGB, plain_rgb, status_rgb
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_plan_workspace import QtPlanWorkspace
from factory_twin.ui.scene_colors import ground_rgbs
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


def _plain_tools_in(
    win: MainWindow, dark: bool, lit: set[str]
) -> tuple[list[str], dict[str, tuple[int, int, int]]]:
    """Switch ``win`` to the theme; the Plan view's ground colours (the floor and the eight
    bays' tints, as hex) and the colour of each tool not in ``lit``."""
    win.set_dark(dark)
    QApplication.processEvents()
    ws: QtPlanWorkspace = win.plan
    scene = ws.view.scene
    assert scene is not None and scene.dark is dark
    ground = [_hex_of(g) for g in _ground_colours(ws)]
    assert len(ground) >= 9  # the floor and the eight bays
    plain = {t: _colour(ws, t) for t in scene.ids if t not in lit}
    assert len(plain) >= 30  # most of the demo fab's tools (a few are highlighted)
    return ground, plain


def test_unchanged_tools_read_on_the_floor_and_every_bay_in_both_themes(
    win: MainWindow,
) -> None:
    ws = _fourth_scanner_with_etch_selected(win)
    ses = ws.session
    assert ses is not None
    bad, warn = ses.problem_tools()
    lit = {"ETCH-01", *ses.changed_tools(), *bad, *warn}
    for dark in (False, True, False):
        ground, plain = _plain_tools_in(win, dark, lit)
        assert set(plain.values()) == {status_rgb("plain", dark)}
        for tool, rgb in plain.items():
            worst = min(contrast(_hex_of(rgb), g) for g in ground)
            assert worst >= 3.0, (dark, tool, rgb, worst)
        # the highlights stay apart from the plain tools (they differ in hue if not in
        # lightness: each is a saturated colour, the plain tools a grey)
        roles = ("changed", "selected", "warning", "problem", "from", "to")
        assert all(status_rgb(r, dark) != status_rgb("plain", dark) for r in roles)
    assert DARK_RGB["plain"] != LIGHT_RGB["plain"]


# bay colours of the demo fab's eight bays that its fixed slate greys did not read on: the
# dark theme's pale grey is 2.4:1 on the tint of white or yellow, the light theme's dark grey
# 1.8:1 on the tint of black and 2.0:1 on blue's
CUSTOM_BAYS = {
    "greys": ["#202020", "#f0f0f0", "#000000", "#ffffff", "#404040", "#c0c0c0", "#101010", "#e0e0e0"],
    "saturated": ["#ff0000", "#ffff00", "#00ff00", "#00ffff", "#0000ff", "#ff00ff", "#ff8000", "#8000ff"],
}  # fmt: skip
HIGHLIGHTS = ("changed", "selected", "warning", "problem", "from", "to")


def _saturation(c: tuple[int, int, int]) -> float:
    return (max(c) - min(c)) / max(max(c), 1)


def _plant_with_bays(tmp_path: Path, colours: list[str]) -> Path:
    """A copy of the demo fab whose eight bays are coloured ``colours``, in order."""
    text = (REPO / "plant_configs" / "demo_fab.yaml").read_text(encoding="utf-8")
    it = iter(colours)
    text, n = re.subn(
        r'(- \{id: \w+, name: [^\n]*, size_m: \[[^\]]*\], color: )"#[0-9a-f]{6}"',
        lambda m: f'{m.group(1)}"{next(it)}"',
        text,
    )
    assert n == len(colours)
    p = tmp_path / "custom_bays.yaml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture(params=sorted(CUSTOM_BAYS))
def custom_win(qtbot, tmp_path: Path, request) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    yield from plan_window(qtbot, tmp_path, _plant_with_bays(tmp_path, CUSTOM_BAYS[request.param]))


def test_unchanged_tools_read_on_dark_light_and_saturated_bays(custom_win: MainWindow) -> None:
    win = custom_win
    ws: QtPlanWorkspace = win.plan
    assert ws.session is not None
    colours = [b.color for b in ws.session.plant.site.bays]
    assert colours in CUSTOM_BAYS.values()
    ws.select(["ETCH-01"])
    QApplication.processEvents()
    bad, warn = ws.session.problem_tools()
    lit = {"ETCH-01", *bad, *warn}
    for dark in (False, True, False):
        ground, plain = _plain_tools_in(win, dark, lit)
        rgb = plain_rgb(colours, dark)
        assert set(plain.values()) == {rgb}
        worst = min(contrast(_hex_of(rgb), g) for g in ground)
        assert worst >= 3.0, (colours, dark, rgb, worst)
        # the highlights still stand out by hue: saturated colours beside a grey
        assert _colour(ws, "ETCH-01") == status_rgb("selected", dark)
        assert _saturation(rgb) < 0.2
        for role in HIGHLIGHTS:
            assert _saturation(status_rgb(role, dark)) > 0.6, role
            assert status_rgb(role, dark) != rgb


def test_the_plain_tool_colour_reads_on_any_bay_colours() -> None:
    """Without a window: every bay colour of a coarse RGB grid, one at a time and all at
    once, in both themes."""
    steps = ("00", "40", "80", "c0", "ff")
    every = [f"#{r}{g}{b}" for r in steps for g in steps for b in steps]
    for dark in (True, False):
        assert plain_rgb([], dark) == status_rgb("plain", dark)
        for bays in [[c] for c in every] + [every]:
            rgb = plain_rgb(bays, dark)
            ground = [_hex_of(tuple(g)) for g in ground_rgbs(bays, dark)]  # type: ignore[arg-type]
            assert min(contrast(_hex_of(rgb), g) for g in ground) >= 3.0, (dark, bays[:2])
            assert _saturation(rgb) < 0.2
