"""The tool detail panel's trend plot: a hint without a tool, time axes with one."""

from __future__ import annotations

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
