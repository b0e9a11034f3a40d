"""The report's SVG chart as a reader sees it: every colour readable on the white page, and
no text over a bar, also when a flood starts in the very first interval.

The SVG is parsed as XML and its coordinates compared; contrast is the WCAG 2 ratio.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from _alarm_entries import journal_entries

from factory_twin.app.alarm_report import AlarmReport, compute_report
from factory_twin.app.alarm_report_html import AREA_COLOURS, CHART_COLOURS, render_svg
from factory_twin.model.colours import contrast
from factory_twin.model.events import AlarmEvent

SVG = "{http://www.w3.org/2000/svg}"
WHITE = "#ffffff"
DAY = 86400.0


def test_the_contrast_formula_gives_the_known_ratios() -> None:
    assert contrast("#000000", WHITE) == pytest.approx(21.0)
    assert contrast("#777777", WHITE) == pytest.approx(4.48, abs=0.01)
    assert contrast("#fff", WHITE) == 1.0


def _report(first_flood_s: float, days: float = 1.0) -> AlarmReport:
    """A day with a flood of 20 alarms in the 10 minutes from ``first_flood_s`` (the
    tallest bar), a flood of 12 later and a few single alarms."""
    times = [first_flood_s + 25 * i for i in range(20)]
    times += [8 * 3600 + 40 * i for i in range(12)]
    times += [3 * 3600, 5 * 3600 + 10, 15 * 3600]
    events: list[AlarmEvent] = []
    for i, t in enumerate(times):
        aid = f"T{i:02d}/x.hi"
        events.append(AlarmEvent(aid, f"T{i:02d}", "x.hi", 500, "hi", t, True, False))
        events.append(AlarmEvent(aid, f"T{i:02d}", "x.hi", 500, "hi", t + 5, False, True))
    entries = journal_entries(events)
    return compute_report(entries, start_s=0.0, end_s=days * DAY)


def _svg(report: AlarmReport) -> ET.Element:
    return ET.fromstring(render_svg(report, report.positions[0]))


def _rects(root: ET.Element, cls: str) -> list[tuple[float, float, float, float]]:
    """``(x0, y0, x1, y1)`` of every rect of a class."""
    out = []
    for r in root.iter(f"{SVG}rect"):
        if r.get("class") == cls:
            x, y = float(r.get("x", 0)), float(r.get("y", 0))
            out.append((x, y, x + float(r.get("width", 0)), y + float(r.get("height", 0))))
    return out


def _text_box(t: ET.Element) -> tuple[float, float, float, float]:
    """A generous box around a text: sans-serif glyphs are narrower than 0.62 em, and rise
    at most 1 em above the baseline and 0.25 em below it."""
    size = float(t.get("font-size", 16))
    w = 0.62 * size * len(t.text or "")
    x, y = float(t.get("x", 0)), float(t.get("y", 0))
    anchor = t.get("text-anchor", "start")
    x0 = x - w if anchor == "end" else x - w / 2 if anchor == "middle" else x
    return x0, y - size, x0 + w, y + 0.25 * size


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("first_flood_s", [0.0, 600.0, 1200.0])
def test_no_text_covers_a_bar_when_a_flood_starts_early(first_flood_s: float) -> None:
    report = _report(first_flood_s)
    root = _svg(report)
    bars = _rects(root, "bar")
    floods = _rects(root, "flood") + _rects(root, "flood-mark")
    assert len(bars) == 5 and len(_rects(root, "flood")) == 2
    first_bar = min(bars)
    # the flood's bar is the first and the tallest, at or near the plot's left edge
    plot = _rects(root, "plot")[0]
    slot = (plot[2] - plot[0]) / 144  # a day of 10-minute intervals
    assert first_bar[0] == pytest.approx(plot[0] + first_flood_s / 600.0 * slot, abs=0.01)
    assert first_bar[1] == min(b[1] for b in bars)
    caption = next(t for t in root.iter(f"{SVG}text") if t.get("class") == "caption")
    assert caption.text == "alarms per 10 min"
    box = _text_box(caption)
    assert box[3] <= plot[1]  # above the plot, where no bar can be
    for t in root.iter(f"{SVG}text"):
        tb = _text_box(t)
        for r in bars + floods:
            assert not _overlap(tb, r), (t.text, r)
        assert tb[1] >= 0 and tb[3] <= float(root.get("height", 0)), t.text  # not cut off


def test_a_long_period_caption_stays_above_the_plot_too() -> None:
    report = _report(0.0, days=400.0)  # drawn as the peak of groups: a longer caption
    root = _svg(report)
    caption = next(t for t in root.iter(f"{SVG}text") if t.get("class") == "caption")
    assert "peak of each" in (caption.text or "")
    box = _text_box(caption)
    plot = _rects(root, "plot")[0]
    assert box[3] <= plot[1] and box[2] <= plot[2]


def _colours(el: ET.Element) -> dict[str, str]:
    return {k: el.get(k, "") for k in ("fill", "stroke") if el.get(k) not in (None, "none")}


def test_every_colour_of_the_chart_reads_on_the_white_page() -> None:
    root = _svg(_report(0.0))
    areas = {"plot", "flood", "flood-swatch"}  # pale on purpose: what the marks stand on
    seen: set[str] = set()
    tags: set[str] = set()
    for el in root.iter():
        tag = el.tag.removeprefix(SVG)
        if tag == "svg":
            continue
        tags.add(tag)
        colours = _colours(el)
        if tag == "text":
            # a text's colour is set (not the viewer's default) and meets 4.5:1 for text
            assert "fill" in colours, el.text
            assert contrast(colours["fill"], WHITE) >= 4.5, (el.text, colours)
        for attr, colour in colours.items():
            assert re.fullmatch(r"#[0-9a-fA-F]{6}", colour), colour
            if el.get("class") in areas and attr == "fill":
                assert colour.lower() in {c.lower() for c in AREA_COLOURS.values()}
                continue
            seen.add(colour.lower())
            assert contrast(colour, WHITE) >= 3.0, (tag, el.get("class"), attr, colour)
            # the bars and the target lines also cross the plot's and a flood's shading
            for area in AREA_COLOURS.values():
                assert contrast(colour, area) >= 3.0, (tag, attr, colour, area)
    assert {"rect", "line", "text"} <= tags
    # the colours named for the chart are the ones it uses, the lines among them
    assert {c.lower() for c in CHART_COLOURS.values()} == seen
    for key in ("manageable_line", "acceptable_line", "flood_line"):
        assert any(
            el.get("stroke", "").lower() == CHART_COLOURS[key] and el.get("class") == "target"
            for el in root.iter(f"{SVG}line")
        ), key


def test_every_flood_interval_has_its_strip() -> None:
    root = _svg(_report(0.0))
    floods = _rects(root, "flood")
    marks = [m for m in _rects(root, "flood-mark") if m[1] == floods[0][1]]  # not the legend's
    assert [(f[0], f[1]) for f in floods] == [(m[0], m[1]) for m in marks]
    for m in marks:
        assert m[3] - m[1] >= 3  # a strip, not a hairline
