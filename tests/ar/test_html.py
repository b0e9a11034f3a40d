"""Offline HTML page: self-contained, and in headless Chromium (no network) it draws the
tool and one hotspot per step, selects a step from the URL and reports no script error."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
from _requirements import which

from factory_twin.ar.html import build_page

WINDOW = (1280, 800)
SIDE_PANEL_PX = 400  # the step list's width at this window size (viewer.css)
STATE_JS = "Object.assign({title: document.title}, document.body.dataset)"


def model_view(img: np.ndarray) -> np.ndarray:
    """The 3-D view part of a 1280 x 800 screenshot (below the header, left of the list)."""
    return img[60:, : WINDOW[0] - SIDE_PANEL_PX]


def wait_for(check, timeout: float = 10.0):
    """Poll ``check()`` until it returns something truthy; return that."""
    import time

    end = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > end:
            return value
        time.sleep(0.05)


def orange_pixels(img: np.ndarray) -> int:
    r, g, b = (img[..., k].astype(int) for k in range(3))
    return int(((r > 180) & (g > 70) & (g < 170) & (b < 80)).sum())


def test_page_is_one_self_contained_file(exported):
    text = exported.file("html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    # nothing is fetched: no external src/href/url()/import anywhere in the page
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#|data:)""", text)
    assert not re.search(r"url\(\s*['\"]?(?!data:)", text)
    assert not re.search(r"https?://", text)
    assert '<meta name="viewport"' in text
    ctx = exported.ctx
    for value in (ctx.plant_name, ctx.equipment.id, ctx.procedure.id, ctx.revision):
        assert f'content="{value}"' in text
    for st in ctx.steps:
        assert f'id="ft-step-{st.number}"' in text


def test_page_draws_the_tool_with_a_hotspot_per_step(exported, browser):
    tab = browser.open(exported.file("html").as_uri(), WINDOW)
    try:
        state = tab.eval(STATE_JS)
        assert state["state"] == "ready", state
        assert tab.errors() == []
        assert "errors" not in state and not state["title"].startswith("ERROR")
        assert int(state["hotspots"]) == len(exported.ctx.steps)
        assert int(state["triangles"]) == exported.ctx.geometry.triangle_count
        assert int(state["drawn"]) > 10_000  # model pixels on the canvas
        img = tab.screenshot()
    finally:
        tab.close()
    assert img.shape[:2] == (WINDOW[1], WINDOW[0])
    view = model_view(img)
    # not blank: many colours, and a good share of the view differs from the background
    colours = np.unique(view.reshape(-1, 3) // 8, axis=0)
    assert len(colours) > 60
    background = view[5:25, 5:25].reshape(-1, 3).mean(axis=0)
    differs = np.abs(view.astype(int) - background).sum(axis=2) > 40
    assert differs.mean() > 0.08
    # the blue numbered hotspots are on the picture
    r, g, b = (view[..., k].astype(int) for k in range(3))
    assert ((r < 60) & (g > 70) & (g < 120) & (b > 130)).sum() > 300


def test_step_in_url_is_selected_and_highlighted(exported, browser):
    st = exported.ctx.steps[-1]
    tab = browser.open(exported.file("html").as_uri() + f"#step={st.number}", WINDOW)
    try:
        state = tab.eval(STATE_JS)
        assert state["selected"] == str(st.number)
        assert tab.errors() == []
        assert tab.eval("document.querySelector('.hotspot.active').dataset.step") == str(st.number)
        assert tab.eval(f"document.getElementById('ft-step-{st.number}').hidden") is False
        assert tab.eval("document.getElementById('ft-step-0').hidden") is True
        img = tab.screenshot()
    finally:
        tab.close()
    assert orange_pixels(model_view(img)) > 400  # the highlighted part and active hotspot


def test_clicking_a_step_and_a_hotspot_selects_it(fixture_ctx, browser, tmp_path):
    path = tmp_path / "page.html"
    path.write_text(build_page(fixture_ctx), encoding="utf-8")
    tab = browser.open(path.as_uri(), WINDOW)
    try:
        tab.eval("document.querySelector('#ft-steps button[data-step=\"2\"]').click()")
        assert tab.eval("document.body.dataset.selected") == "2"
        assert tab.eval("document.querySelector('[aria-current=step]').dataset.step") == "2"
        tab.eval("document.querySelector('.hotspot[data-step=\"4\"]').click()")
        assert tab.eval("document.body.dataset.selected") == "4"
        assert tab.eval("document.getElementById('ft-step-4').hidden") is False
        tab.eval("document.getElementById('ft-next').click()")
        assert tab.eval("document.body.dataset.selected") == "5"
        assert tab.errors() == []
    finally:
        tab.close()


def test_touch_drag_turns_the_tool_on_a_tablet(fixture_ctx, browser, tmp_path):
    path = tmp_path / "page.html"
    path.write_text(build_page(fixture_ctx), encoding="utf-8")
    tab = browser.open(path.as_uri(), (768, 1024), touch=True)  # portrait tablet
    try:
        state = tab.eval(STATE_JS)
        assert state["state"] == "ready"
        assert int(state["hotspots"]) == len(fixture_ctx.steps)
        before = tab.screenshot()
        canvas = tab.eval(
            "(() => { const r = document.getElementById('ft-canvas').getBoundingClientRect();"
            " return [r.left, r.top, r.width, r.height]; })()"
        )
        assert canvas[2] > 700 and 200 < canvas[3] < 700  # the view sits above the list
        cx, cy = canvas[0] + canvas[2] / 2, canvas[1] + canvas[3] / 2
        tab.touch_drag((cx - 150, cy), (cx + 150, cy))

        def turned():
            after = tab.screenshot()
            top = slice(int(canvas[1]), int(canvas[1] + canvas[3]))
            diff = np.abs(after[top].astype(int) - before[top].astype(int)).sum(axis=2) > 30
            return diff.mean() > 0.05

        assert wait_for(turned)
        assert tab.errors() == []
    finally:
        tab.close()


def test_a_script_error_is_reported(fixture_ctx, browser, tmp_path):
    """The checks above can fail: a broken script shows up in the errors and the title."""
    page = build_page(fixture_ctx).replace(
        "</body>", "<script>undefinedFunctionCall();</script></body>"
    )
    path = tmp_path / "broken.html"
    path.write_text(page, encoding="utf-8")
    tab = browser.open(path.as_uri(), WINDOW)
    try:
        state = tab.eval(STATE_JS)
        assert state.get("errors") == "1"
        assert state["title"].startswith("ERROR:")
        assert any("undefinedFunctionCall" in e for e in tab.errors())
    finally:
        tab.close()


def test_viewer_script_parses():
    node = which("node", "Debian: apt-get install nodejs")
    js = Path(__file__).resolve().parents[2] / "factory_twin" / "ar" / "viewer" / "viewer.js"
    done = subprocess.run([node, "--check", str(js)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_text_is_escaped(fixture_doc, tmp_path):
    from factory_twin.ar import build_context

    spec = fixture_doc.spec.model_copy(deep=True)
    spec.procedures[0].steps[0].title = "Open <script>alert(1)</script> & check"
    ctx = build_context(spec, "PVD-01", "pvd-target-change")
    page = build_page(ctx)
    assert "<script>alert(1)</script>" not in page
    assert "Open &lt;script&gt;alert(1)&lt;/script&gt; &amp; check" in page
