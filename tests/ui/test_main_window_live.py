"""The desktop window on the live demo fab, over real OPC UA (embedded simulator server).

One window and one embedded plant simulator serve the whole module (starting a server costs
seconds on two shared cores); the tests run in file order and each leaves the plant live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from _qt_wait import wait_until
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from factory_twin.app.controller import ConnectionSettings, Controller, find_demo_plant
from factory_twin.model.config import load_plant
from factory_twin.model.events import AlarmState, E10State
from factory_twin.ui import scene_colors
from factory_twin.ui.qt_main_window import MainWindow

pytestmark = [pytest.mark.gui, pytest.mark.timeout(240)]

LIVE_TIMEOUT_S = 90.0  # first connection: server start + address space + subscriptions


@pytest.fixture(scope="module")
def live(qapp, tmp_path_factory) -> Iterator[MainWindow]:
    tmp = tmp_path_factory.mktemp("live")
    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
    controller = Controller(journal_path=tmp / "journal.sqlite")
    win = MainWindow(controller, settings)
    win.resize(1280, 860)
    controller.settings = ConnectionSettings(use_simulator=True, simulator_speed=60.0)
    win.show()
    QTest.qWaitForWindowExposed(win)
    win.open_plant(str(find_demo_plant()))
    # every test may run alone (or first on a worker): the plant is open and its simulator
    # serving before any test looks
    wait_until(lambda: controller.state is not None, 30, "the plant to open")
    wait_until(
        lambda: controller.status() and all(s.connected for s in controller.status().values()),
        LIVE_TIMEOUT_S,
        "the client to connect to the embedded simulator",
    )
    try:
        yield win
    finally:
        win.close()
        QApplication.processEvents()


def _sim_call(win: MainWindow, fn: Callable[[], object]) -> None:
    """Run ``fn`` on the asyncio thread that owns the embedded simulator."""

    async def run() -> object:
        return fn()

    win.controller.loop.submit(run()).result(timeout=10)


def test_window_connects_and_every_tool_shows_a_state(live: MainWindow) -> None:
    c = live.controller
    wait_until(lambda: c.state is not None, 30, "the plant to open")
    n = len(c.state.ids)
    wait_until(lambda: live.live_tool_count() == n, LIVE_TIMEOUT_S, "every tool to show a state")
    wait_until(
        lambda: (live.view.scene.tool_codes < scene_colors.UNKNOWN_CODE).all(),
        5,
        "the scene to colour every tool",
    )
    wait_until(
        lambda: c.status() and all(s.connected for s in c.status().values()),
        30,
        "the endpoint status to say connected",
    )
    wait_until(lambda: ": connected" in live.conn_label.text(), 5, "the status bar")
    # the client is an ordinary OPC UA client of the simulator's endpoint
    assert c.client is not None and c.simulator is not None
    assert all(
        u == c.simulator.endpoint_url for u in (link.url for link in c.client._links.values())
    )


def test_kpi_strip_shows_throughput_and_wip_from_the_servers_fab_figures(
    live: MainWindow,
) -> None:
    c = live.controller
    strip = live.monitor.kpis
    wait_until(
        lambda: strip.from_fab and "lots/h" in strip.throughput.text(),
        30,
        "the KPI strip to show a lot throughput from the server's Fab figures",
    )
    assert "—" not in strip.throughput.text() and "wafers/h" in strip.throughput.text()
    k = c.state.kpis()
    assert k.from_fab and k.plant_clock_s is not None
    assert f"{k.wip_lots} lots" in strip.wip.text()
    assert k.wip_lots > 0  # the demo fab starts with a loaded line
    wait_until(lambda: "plant clock" in live.clock_label.text(), 5, "the plant clock")


def test_state_change_on_server_recolours_the_tool(live: MainWindow) -> None:
    c = live.controller
    tool = "ETCH-01"
    _sim_call(live, lambda: c.simulator.inject_breakdown(tool, 6 * 3600))
    down = E10State.UNSCHEDULED_DOWN.code
    wait_until(
        lambda: set(live.view.scene.cell_codes_of(tool)) == {down},
        30,
        f"{tool} to turn unscheduled-down in the 3-D view",
    )
    other = live.view.scene.cell_codes_of("ETCH-02")
    assert down not in set(other) or c.state.state_of("ETCH-02") is E10State.UNSCHEDULED_DOWN


def test_click_on_tool_selects_it_and_fills_the_detail_dock(live: MainWindow) -> None:
    tool = (
        "LITHO-01" if "LITHO-01" in live.controller.state.index else live.controller.state.ids[3]
    )
    live.view.reset_view()
    QApplication.processEvents()
    live.view.plotter.render()
    pos = live.view.widget_position_of(tool)
    widget = live.view.plotter.interactor
    assert widget.rect().contains(pos)
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    wait_until(lambda: live.detail.tool == tool, 5, f"a click to select {tool}")
    assert live.view.scene.selected == live.controller.state.index[tool]
    assert live.detail.title.text() == tool
    wait_until(
        lambda: (
            live.detail.table.rowCount() > 0
            and live.detail.table.item(0, 1) is not None
            and live.detail.table.item(0, 1).text() not in ("", "—")
        ),
        10,
        "the tag table to fill",
    )
    # the value carries its unit (there is no separate unit column)
    heads = [live.detail.table.horizontalHeaderItem(j).text() for j in range(5)]
    assert heads == ["Tag", "Value", "Limits", "Status", "Time"]
    spec = live.controller.spec
    units = {t.name: t.unit for t in spec.equipment_type(spec.tool(tool).type).tags}
    rows = {
        live.detail.table.item(r, 0).text(): live.detail.table.item(r, 1).text()
        for r in range(live.detail.table.rowCount())
        if live.detail.table.item(r, 1) is not None
    }
    with_unit = [n for n, u in units.items() if u and rows.get(n, "—") != "—"]
    assert with_unit
    assert all(rows[n].endswith(f" {units[n]}") for n in with_unit), rows
    trended = live.detail.chosen_trend_tags()
    assert trended
    wait_until(lambda: live.detail.trend_points(trended[0]) >= 2, 20, "trend points to arrive")


def test_hover_names_the_tool(live: MainWindow) -> None:
    tool = live.controller.state.ids[0]
    live.view.reset_view()
    QApplication.processEvents()
    hovered: list[str] = []
    live.view.tool_hovered.connect(hovered.append)
    widget = live.view.plotter.interactor
    pos = live.view.widget_position_of(tool)
    live.view._hover_due = 0.0
    QTest.mouseMove(widget, pos)
    wait_until(lambda: tool in hovered, 5, f"hovering {tool} to name it")
    live.view.tool_hovered.disconnect(hovered.append)


def test_connection_dialog_tests_endpoints_before_saving(live: MainWindow) -> None:
    from factory_twin.app.controller import free_port
    from factory_twin.ui.qt_connection_dialog import QtConnectionDialog

    c = live.controller
    dlg = QtConnectionDialog(c, live)
    ed = dlg.editors[0]
    ed.url.setText(c.simulator.endpoint_url)
    dlg.test(ed)
    wait_until(
        lambda: "OK" in ed.result.text() or "Failed" in ed.result.text(), 30, "the connection test"
    )
    assert "OK" in ed.result.text(), ed.result.text()
    dead = f"opc.tcp://127.0.0.1:{free_port()}/nothing/"
    ed.url.setText(dead)
    dlg.test(ed)
    wait_until(lambda: ed.test_button.isEnabled(), 30, "the second connection test")
    assert "Failed" in ed.result.text()
    assert f"cannot reach {dead.split('/')[2]}: connection refused" in ed.result.text()
    st = dlg.settings()
    assert st.endpoint_overrides[ed.ep_id] == dead
    assert st.use_simulator  # the live session uses the embedded simulator
    dlg.reject()


def test_writes_are_refused_when_the_endpoint_disables_them(live: MainWindow) -> None:
    from factory_twin.opcua.client import WriteRefused

    c = live.controller
    tool = c.state.ids[0]
    tag = next(iter(c.state.tags_of(tool)))
    assert not c.writes_enabled(tool)
    fut = c.request_write(tool, tag, 1.0)
    wait_until(fut.done, 20, "the write attempt")
    assert isinstance(fut.exception(), WriteRefused)
    assert "disabled" in str(fut.exception())
    assert any(r.result.startswith("refused") for r in c.client.write_log())


def test_alarm_from_server_shows_and_acknowledge_reaches_server(live: MainWindow) -> None:
    c = live.controller
    tool = "ETCH-01"  # broken down by the test above: the server raised its fault alarm
    wait_until(
        lambda: any(r.event.equipment == tool for r in c.state.alarms.values()),
        30,
        "the fault alarm to reach the panel",
    )
    rec = next(r for r in c.state.alarms.values() if r.event.equipment == tool)
    wait_until(lambda: live.alarms.select_alarm(rec.event.alarm_id), 5, "the alarm row")
    assert live.alarms.ack_button.isEnabled()
    fut = c.acknowledge(rec.event.alarm_id, "seen by the GUI test")
    wait_until(fut.done, 30, "the Acknowledge method call")
    assert fut.exception() is None, f"Acknowledge failed: {fut.exception()}"
    wait_until(
        lambda: (
            c.state.alarms.get(rec.event.alarm_id) is None
            or c.state.alarms[rec.event.alarm_id].event.acked
        ),
        30,
        "the acknowledgement to come back from the server",
    )
    on_server = [
        a
        for a in c.simulator.server.active_alarms()
        if (a.equipment, a.code) == (tool, rec.event.code)
    ]
    assert on_server, "the server no longer holds the alarm"
    assert all(a.acked for a in on_server)
    if rec.event.alarm_id in c.state.alarms:
        assert c.state.alarms[rec.event.alarm_id].state is AlarmState.ACTIVE_ACKED
    hits = c.journal.search(equipment=tool, text="seen by the GUI test")
    assert hits and hits[0].user


def test_server_stop_greys_tools_and_restart_restores_them(live: MainWindow) -> None:
    c = live.controller
    c.stop_simulator().result(timeout=30)
    wait_until(lambda: live.stale_mask().all(), 30, "every tool to go stale")
    wait_until(
        lambda: (live.view.scene.tool_codes == scene_colors.STALE_CODE).all(),
        5,
        "the scene to grey every tool",
    )
    assert live.view.scene.stale_actor is not None and live.view.scene.stale_actor.GetVisibility()
    wait_until(lambda: "disconnected" in live.conn_label.text(), 5, "the status bar to say so")
    c.start_simulator().result(timeout=60)
    n = len(c.state.ids)
    wait_until(lambda: live.live_tool_count() == n, LIVE_TIMEOUT_S, "the tools to come back")
    wait_until(
        lambda: not (live.view.scene.tool_codes == scene_colors.STALE_CODE).any(),
        5,
        "the scene to recolour",
    )
    wait_until(lambda: "disconnected" not in live.conn_label.text(), 30, "the status bar")


def test_broken_plant_file_shows_messages_and_keeps_the_plant(
    live: MainWindow, tmp_path: Path
) -> None:
    c = live.controller
    before = c.doc
    bad = tmp_path / "broken.yaml"
    bad.write_text(
        Path(find_demo_plant()).read_text().replace("floor_m: [90, 50]", "floor_m: [90, -50]"),
        encoding="utf-8",
    )
    live.open_plant(str(bad))
    wait_until(
        lambda: (
            getattr(live, "last_error_box", None) is not None and live.last_error_box.isVisible()
        ),
        30,
        "the error dialog",
    )
    box: QMessageBox = live.last_error_box
    assert "broken.yaml" in box.detailedText()
    assert "floor_m" in box.detailedText()
    box.close()
    assert c.doc is before
    assert c.client is not None


def test_screenshots_show_the_live_fab(live: MainWindow, tmp_path: Path) -> None:
    live.view.reset_view()
    wait_until(lambda: live.live_tool_count() == len(live.controller.state.ids), 30, "live tools")
    for _ in range(5):
        QApplication.processEvents()
        QTest.qWait(50)
    img = live.view.screenshot()
    frac = (np.abs(img.astype(int) - img[2, 2].astype(int)).sum(-1) > 30).mean()
    assert frac > 0.3, f"3-D view mostly background ({frac:.0%})"
    grab = live.grab().toImage()
    path = tmp_path / "window.png"
    assert grab.save(str(path))
    colours = {
        grab.pixel(x, y) for x in range(0, grab.width(), 37) for y in range(0, grab.height(), 37)
    }
    assert len(colours) > 20, "window grab looks blank"
    # bay labels of the overview are inside the 3-D view
    scene = live.view.scene
    w, h = live.view.plotter.window_size
    for a in scene.label_actors:
        x, y, z = a.GetPosition()
        import vtk

        coord = vtk.vtkCoordinate()
        coord.SetCoordinateSystemToWorld()
        coord.SetValue(x, y, z)
        px, py = coord.GetComputedDoubleDisplayValue(scene.plotter.renderer)
        assert 60 < px < w - 60 and 10 < py < h - 10, (a.GetInput(), px, py, w, h)
    assert len(live.stalls) <= 3, f"GUI stalls over 100 ms: {live.stall_log}"
    spec = load_plant(find_demo_plant()).spec
    assert len(spec.site.bays) == len(scene.label_actors)
