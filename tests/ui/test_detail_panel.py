"""The tool detail panel's trend plot: a hint without a tool, time axes with one."""

from __future__ import annotations

from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication

from factory_twin.model.events import TagUpdate


def test_trend_plot_shows_a_hint_without_a_tool_and_axes_with_one(etcher_panel) -> None:
    panel, state, tool = etcher_panel
    item = panel.plot.getPlotItem()
    # no tool: no empty 0-1 time axis (sub-second ticks), a hint in the middle instead
    assert not item.getAxis("bottom").isVisible()
    assert panel.plot_hint in item.items
    assert "select a tool" in panel.plot_hint.textItem.toPlainText()
    panel.show_tool(tool)
    assert item.getAxis("bottom").isVisible() and item.getAxis("left").isVisible()
    assert panel.plot_hint not in item.items
    for k in range(5):
        state.apply([TagUpdate(tool, "chamber_pressure", 4.0 + k * 0.1, 1000.0 + 60 * k)])
    panel.refresh()
    assert panel.trend_points("chamber_pressure") == 5
    panel.grab()  # auto-range is applied when the plot paints
    lo, hi = item.viewRange()[0]
    assert lo <= 1000.0 + 240 and hi >= 1000.0, "the time axis does not follow the trend"
    panel.show_tool(None)
    assert not item.getAxis("bottom").isVisible()
    assert panel.plot_hint in item.items
    # a connection or a replay starting (the axis's label changes) leaves it hidden
    for on in (True, False):
        panel.set_replaying(on)
        assert not item.getAxis("bottom").isVisible()
    assert "recorded" not in item.getAxis("bottom").labelText


def _tick_labels(panel) -> list[str]:  # type: ignore[no-untyped-def]
    """The texts the time axis draws now (its draw specs, as it paints them)."""
    axis = panel.plot.getPlotItem().getAxis("bottom")
    for _ in range(3):  # the axis's height follows its text after a paint: let it settle
        panel.grab()
        QApplication.processEvents()
    img = QImage(10, 10, QImage.Format.Format_ARGB32)
    p = QPainter(img)
    try:
        specs = axis.generateDrawSpecs(p)
    finally:
        p.end()
    if specs is None:
        return []
    return [text for _rect, _flags, text in specs[2]]


def test_an_empty_trend_draws_no_sub_second_time_ticks(etcher_panel) -> None:
    panel, state, tool = etcher_panel
    panel.show_tool(tool)
    panel.refresh()
    item = panel.plot.getPlotItem()
    assert item.getAxis("bottom").isVisible()
    # no samples yet: an empty axis, not "00.250 00.500 00.750" on a 0-1 s range
    assert _tick_labels(panel) == []
    for k in range(3):
        state.apply([TagUpdate(tool, "chamber_pressure", 4.0 + k * 0.1, 1000.0 + 60 * k)])
    panel.refresh()
    labels = _tick_labels(panel)
    assert labels and not any(t.startswith("00.") for t in labels)
