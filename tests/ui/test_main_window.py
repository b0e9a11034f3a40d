"""The window without a live server: layout persistence, workspaces, themes, search, replay."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from factory_twin.app.controller import Controller
from factory_twin.model.config import load_plant
from factory_twin.model.events import AlarmEvent, E10State, LotMove, TagUpdate
from factory_twin.opcua.historian import HistoryWriter
from factory_twin.ui import scene_colors
from factory_twin.ui.qt_main_window import MainWindow

pytestmark = pytest.mark.gui


def _window(qtbot, tmp_path: Path, plant: Path | None = None) -> MainWindow:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    w = MainWindow(c, settings)
    qtbot.addWidget(w)
    if plant is not None:
        c.set_plant(load_plant(plant))
    w.show()
    qtbot.waitExposed(w)
    return w


def test_dock_layout_and_geometry_are_restored(qtbot, tmp_path, mini_plant_path):
    w = _window(qtbot, tmp_path, mini_plant_path)
    w.resize(1100, 760)
    w.alarm_dock.hide()
    qtbot.waitUntil(lambda: not w.alarm_dock.isVisible())
    w.set_dark(False)
    size = w.size()
    w.close()
    w2 = _window(qtbot, tmp_path, mini_plant_path)
    assert not w2.alarm_dock.isVisible()
    assert w2.detail_dock.isVisible()
    assert abs(w2.size().width() - size.width()) <= 2
    assert w2.light_action.isChecked()
    assert Path(w2.settings.fileName()).parent == tmp_path
    w2.close()


def test_workspace_switcher_accepts_new_workspaces(qtbot, tmp_path):
    w = _window(qtbot, tmp_path)
    page = QLabel("maintenance")
    idx = w.add_workspace("Maintain", page)
    assert w.tabs.tabText(idx) == "Maintain"
    assert w.workspace("Maintain") is page
    assert [w.tabs.tabText(i) for i in range(w.tabs.count())] == ["Monitor", "Maintain"]
    with pytest.raises(ValueError, match="exists"):
        w.add_workspace("Monitor", QLabel())
    w.close()


def test_find_tool_selects_and_flies(qtbot, tmp_path, mini_plant_path):
    w = _window(qtbot, tmp_path, mini_plant_path)
    qtbot.waitUntil(lambda: w.view.scene is not None)
    assert w.find_tool("litho")
    assert w.detail.tool == "LITHO-01"
    assert w.view.scene.selected == w.controller.state.index["LITHO-01"]
    qtbot.waitUntil(lambda: w.view._fly is None, timeout=3000)
    focal = w.view.plotter.camera_position[1]
    assert abs(focal[0] - 15.0) < 0.5 and abs(focal[1] - 5.0) < 0.5
    assert not w.find_tool("no-such-tool")
    w.close()


def test_keyboard_shortcuts_exist(qtbot, tmp_path, mini_plant_path):
    w = _window(qtbot, tmp_path, mini_plant_path)
    shortcuts = {a.shortcut().toString() for a in w.findChildren(type(w.open_action))}
    for sc_ in ("Ctrl+O", "Ctrl+S", "Ctrl+F", "Home", "F", "Ctrl+K", "F1", "Ctrl+1"):
        assert sc_ in shortcuts, sc_
    w.close()


def test_replay_plays_recorded_events_with_slider_and_speed(qtbot, tmp_path, mini_plant_path):
    w = _window(qtbot, tmp_path, mini_plant_path)
    c = w.controller
    events = [
        TagUpdate("ETCH-01", "state", E10State.PRODUCTIVE.value, 0.0),
        TagUpdate("ETCH-02", "state", E10State.STANDBY.value, 0.0),
        TagUpdate("LITHO-01", "state", E10State.ENGINEERING.value, 0.0),
        LotMove("L1", "p1", "LITHO-01", "ETCH-01", 10.0, 400.0),
        AlarmEvent(
            "a1", "ETCH-02", "chamber_pressure.hi", 700, "pressure high", 50.0, True, False
        ),
        TagUpdate("ETCH-01", "state", E10State.UNSCHEDULED_DOWN.value, 600.0),
    ]
    replay = c.start_replay_events(events, speed=60.0)
    assert w.monitor.replay_bar.isVisibleTo(w)
    qtbot.waitUntil(lambda: c.state.state_of("ETCH-01") is E10State.PRODUCTIVE, timeout=5000)
    qtbot.waitUntil(lambda: "a1" in c.state.alarms, timeout=5000)
    qtbot.waitUntil(lambda: w.alarms.model.rowCount() == 1, timeout=3000)
    # a lot in flight between two tools is drawn on the overhead track
    qtbot.waitUntil(lambda: w.view.scene.lot_points.n_points == 1, timeout=3000)
    # speed up to the end
    w.monitor.replay_bar.speed.setCurrentText("1800x")
    qtbot.waitUntil(lambda: c.state.state_of("ETCH-01") is E10State.UNSCHEDULED_DOWN, timeout=5000)
    qtbot.waitUntil(
        lambda: set(w.view.scene.cell_codes_of("ETCH-01")) == {E10State.UNSCHEDULED_DOWN.code},
        timeout=3000,
    )
    # seeking back rebuilds the state up to the new time
    replay.pause()
    c.seek_replay(20.0)
    qtbot.waitUntil(lambda: c.state.state_of("ETCH-01") is E10State.PRODUCTIVE, timeout=5000)
    assert w.view.state is c.state
    w.close()


def test_theme_switch_recolours_the_scene_background(qtbot, tmp_path, mini_plant_path):
    w = _window(qtbot, tmp_path, mini_plant_path)
    qtbot.waitUntil(lambda: w.view.scene is not None)
    w.set_dark(True)
    QApplication.processEvents()
    dark_bg = np.array(w.view.plotter.background_color.float_rgb)
    w.set_dark(False)
    QApplication.processEvents()
    light_bg = np.array(w.view.plotter.background_color.float_rgb)
    assert light_bg.mean() > 0.8 > 0.2 > dark_bg.mean()
    assert w.view.scene.tool_codes.shape == (3,)
    assert (w.view.scene.tool_codes == scene_colors.UNKNOWN_CODE).all()
    w.close()


def test_panels_stay_responsive_with_a_large_batch(qtbot, tmp_path, mini_plant_path):
    """10,000 tag updates in one drain apply well within a frame budget."""
    w = _window(qtbot, tmp_path, mini_plant_path)
    c = w.controller
    rng = np.random.default_rng(1)
    events = [
        TagUpdate("ETCH-01", "chamber_pressure", float(v), 1000.0 + k * 0.01)
        for k, v in enumerate(rng.normal(4, 0.5, 10_000))
    ]
    t = time.perf_counter()
    c.state.apply(events)
    dt = time.perf_counter() - t
    assert dt < 1.0, f"{dt:.2f} s for 10,000 updates"
    assert len(c.state.history[("ETCH-01", "chamber_pressure")]) == c.state.history_len
    w.close()


def test_tag_writes_are_off_by_default(qtbot, tmp_path, mini_plant_path):
    w = _window(qtbot, tmp_path, mini_plant_path)
    w.write_tag("ETCH-01", "chamber_pressure")  # not writable in the plant file
    assert "not a writable tag" in w.statusBar().currentMessage()
    assert not w.controller.writes_enabled("ETCH-01")
    w.close()


def test_saving_runs_in_the_background_and_writes_a_valid_file(qtbot, tmp_path):
    import shutil

    plant = tmp_path / "demo.yaml"
    shutil.copy(Path(__file__).parents[2] / "plant_configs" / "demo_fab.yaml", plant)
    w = _window(qtbot, tmp_path, plant)
    w.controller.doc.spec.equipment[0].serial_number = "SN-SAVED-1"
    qtbot.waitUntil(lambda: w._ticks >= 3, timeout=20000)  # the scene is built (the first tick)
    ticks = w._ticks
    w.save()
    assert w.saving is not None  # returned at once; the round trip runs on a worker thread
    w.save()
    assert w.statusBar().currentMessage() == "already saving"
    qtbot.waitUntil(lambda: w.saving is None, timeout=60000)
    assert w._ticks > ticks + 5  # the window kept ticking (rendering, live data) meanwhile
    assert w.statusBar().currentMessage() == f"saved {plant}"
    again = load_plant(plant)
    assert again.spec.equipment[0].serial_number == "SN-SAVED-1"
    assert plant.read_text().startswith("#")  # the file's comments survive the round trip
    assert (tmp_path / "demo.yaml.bak").exists()  # and the last good copy is kept
    # a save that cannot write says why and loses nothing
    w._save_to(plant / "y.yaml")  # "inside" a file
    qtbot.waitUntil(lambda: w.saving is None, timeout=60000)
    qtbot.waitUntil(lambda: getattr(w, "last_error_box", None) is not None, timeout=5000)
    assert "Cannot save" in w.last_error_box.windowTitle()
    w.last_error_box.close()
    assert load_plant(plant).spec.equipment[0].serial_number == "SN-SAVED-1"
    w.close()


def test_status_bar_names_an_open_plant_that_is_not_connected(qtbot, tmp_path, mini_plant_path):
    from factory_twin.ui.qt_main_window import PANEL_EVERY

    w = _window(qtbot, tmp_path)
    assert w.source_label.text() == "no plant"
    w.open_plant(mini_plant_path, connect=False)
    qtbot.waitUntil(lambda: w.controller.doc is not None, timeout=10000)
    qtbot.waitUntil(lambda: w.source_label.text() == "offline", timeout=3000)
    # the periodic status refresh keeps saying so (and that nothing is connected)
    ticks = w._ticks
    qtbot.waitUntil(lambda: w._ticks >= ticks + 2 * PANEL_EVERY, timeout=5000)
    assert w.source_label.text() == "offline"
    assert "not connected" in w.conn_label.text()
    w.close()


def test_first_start_fills_most_of_the_screen(qtbot, tmp_path):
    from factory_twin.ui.qt_main_settings import FIRST_START_FRACTION

    w = _window(qtbot, tmp_path)  # fresh settings: no saved geometry
    avail = w.screen().availableGeometry()
    assert abs(w.width() - round(avail.width() * FIRST_START_FRACTION)) <= 2
    assert abs(w.height() - round(avail.height() * FIRST_START_FRACTION)) <= 2
    assert avail.contains(w.geometry())
    # centred
    assert abs(w.geometry().center().x() - avail.center().x()) <= 2
    w.close()
    # the next start restores what was saved, not the first-start size
    w2 = _window(qtbot, tmp_path)
    assert abs(w2.width() - w.width()) <= 2
    w2.resize(900, 700)
    w2.close()
    w3 = _window(qtbot, tmp_path)
    assert abs(w3.width() - 900) <= 2
    w3.close()


def test_no_two_window_actions_share_a_key(qtbot, tmp_path, mini_plant_path):
    # every workspace installed as the app does: a key does one thing in the workspace shown
    from PySide6.QtGui import QAction

    from factory_twin.ui.qt_amhs_install import install_rail_heat_map
    from factory_twin.ui.qt_maintain_workspace import install_maintain
    from factory_twin.ui.qt_plan_compare_install import install_compare
    from factory_twin.ui.qt_plan_install import install_plan
    from factory_twin.ui.qt_plan_optimise_install import install_optimise
    from factory_twin.ui.qt_render_quality_install import install_quality
    from factory_twin.ui.qt_train_install import install_train

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Controller(journal_path=tmp_path / "journal.sqlite"), settings)
    qtbot.addWidget(w)
    for install in (install_maintain, install_plan, install_compare, install_optimise):
        install(w)
    install_train(w)
    install_quality(w)
    install_rail_heat_map(w)
    w.controller.set_plant(load_plant(mini_plant_path))
    w.show()
    qtbot.waitExposed(w)
    for name in ("Monitor", "Maintain", "Plan", "Train"):
        w.tabs.setCurrentWidget(w.workspace(name))
        qtbot.wait(50)
        owners: dict[str, set[str]] = {}
        for a in w.findChildren(QAction):
            key = a.shortcut().toString()
            if not key:  # a disabled action still owns its key for when it is enabled
                continue
            ctx = a.shortcutContext()
            if ctx == Qt.ShortcutContext.WidgetShortcut:
                continue  # only with the focus in its widget
            if ctx == Qt.ShortcutContext.WidgetWithChildrenShortcut and not any(
                isinstance(o, QWidget) and o.isVisible() for o in a.associatedObjects()
            ):
                continue  # its workspace is not shown
            owners.setdefault(key, set()).add(a.text().replace("&", ""))
        clashes = {k: v for k, v in owners.items() if len(v) > 1}
        assert not clashes, (name, clashes)
    w.close()


def test_the_replay_speed_chosen_comes_back_at_the_next_start(qtbot, tmp_path, mini_plant_path):
    """Was: the replay bar came back at 60x at every start, whatever speed the user chose."""
    w = _window(qtbot, tmp_path, mini_plant_path)
    events = [TagUpdate("ETCH-01", "state", E10State.PRODUCTIVE.value, 0.0)]
    w.controller.start_replay_events(events, speed=60.0)
    qtbot.waitUntil(lambda: w.monitor.replay_bar.isVisibleTo(w), timeout=3000)
    w.monitor.replay_bar.speed.setCurrentText("300x")
    w.close()
    for _ in range(2):
        w = _window(qtbot, tmp_path, mini_plant_path)
        assert w.monitor.replay_bar.speed.currentText() == "300x"
        replay = w.controller.start_replay_events(events, speed=60.0)
        qtbot.waitUntil(lambda w=w: w.monitor.replay_bar.isVisibleTo(w), timeout=3000)
        assert replay.speed == 300
        w.close()


def test_a_replay_speed_asked_for_wins_over_the_remembered_one(qtbot, tmp_path, mini_plant_path):
    """``factory-twin open --replay FILE --speed N`` (``MainWindow.start_replay``): was
    ignored, the bar's speed (60x, then the remembered one) won."""
    w = _window(qtbot, tmp_path, mini_plant_path)
    w.monitor.replay_bar.speed.setCurrentText("10x")  # remembered
    hist = tmp_path / "h.parquet"
    with HistoryWriter(hist) as writer:
        writer.add([TagUpdate("ETCH-01", "state", E10State.PRODUCTIVE.value, 1.0e9 + k)
                    for k in range(3)])  # fmt: skip
    w.start_replay(hist, speed=250.0)  # the nearest the bar offers: 300x
    assert w.monitor.replay_bar.speed.currentText() == "300x"
    assert w.controller.replay is not None and w.controller.replay.speed == 300
    w.start_replay(hist)  # no speed asked for: the bar's
    assert w.controller.replay is not None and w.controller.replay.speed == 300
    w.close()
