"""The AMHS in the Monitor: vehicles from the plant state drawn on the rails, and the View
menu's rail congestion heat map (saved, kept across plants)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from factory_twin.app.controller import Controller
from factory_twin.model.config import load_plant
from factory_twin.model.events import RAIL_EQUIPMENT, VEHICLE_PREFIX, TagUpdate
from factory_twin.ui.qt_amhs_install import MEASURE_KEY, SETTINGS_KEY, install_rail_heat_map
from factory_twin.ui.qt_main_window import MainWindow

pytestmark = pytest.mark.gui

LOOP = Path(__file__).parents[1] / "data" / "amhs_loop_plant.yaml"


def _window(qtbot, tmp_path: Path, plant: Path) -> MainWindow:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Controller(journal_path=tmp_path / "journal.sqlite"), settings)
    qtbot.addWidget(w)
    install_rail_heat_map(w)
    w.controller.set_plant(load_plant(plant))
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    return w


def _vehicle(i: int, x: float, y: float, state: str, carrier: str, t: float) -> list[TagUpdate]:
    eq = f"{VEHICLE_PREFIX}OHT-00{i}"
    return [
        TagUpdate(eq, "x", x, t),
        TagUpdate(eq, "y", y, t),
        TagUpdate(eq, "state", state, t),
        TagUpdate(eq, "carrier", carrier, t),
    ]


def test_vehicles_on_the_rails_and_the_heat_map(qtbot, tmp_path):
    w = _window(qtbot, tmp_path, LOOP)
    view = w.view
    scene = view.scene
    assert scene is not None and scene.amhs is not None
    assert w.heat_map_action.shortcut().toString() == "Ctrl+Shift+H"
    assert w.heat_map_action in w.menuBar().actions()[1].menu().actions()  # the View menu
    st = view.state
    assert st is not None
    events = [
        *_vehicle(1, 10.0, 2.0, "moving", "", 1.0),
        *_vehicle(2, 5.0, 8.0, "loaded", "p1-1", 1.0),
        *_vehicle(3, 19.0, 5.0, "idle", "", 1.0),
    ]
    st.apply(events)
    view.refresh(states_dirty=False)
    layer = scene.amhs
    assert layer.vehicle_count == 3
    assert list(layer.vehicle_points.point_data["loaded"]) == [0, 1, 0]
    # a vehicle drawn where the rails are: the rendered picture has the vehicle colour there
    scene.set_camera(scene.overview_camera())
    view.plotter.render()
    img = np.asarray(view.plotter.screenshot(return_img=True)).astype(int)
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    cyan = (b > 120) & (g > 100) & (g > r + 50) & (b > r + 50)  # the vehicles' cyan, lit
    assert cyan.sum() > 20  # the three vehicles are visible from the default camera

    # the heat map: vehicle time on each link, from the plant clock
    st.fab["plant_clock"] = 0.0
    view.refresh(states_dirty=False)  # nothing changed: no new time
    st.apply(_vehicle(1, 10.0, 2.0, "moving", "", 2.0))
    st.fab["plant_clock"] = 100.0
    view.refresh(states_dirty=False)
    occ = dict(zip(layer.link_ids, layer.occupancy(), strict=True))
    assert occ["L6"] == pytest.approx(1.0) and occ["L2"] == pytest.approx(1.0)
    assert occ["L5"] == pytest.approx(1.0) and occ["L1"] == 0.0
    w.heat_map_action.setChecked(True)
    assert layer.rail_actor.mapper.GetScalarVisibility()
    assert w.settings.value(SETTINGS_KEY) == "on"
    w.close()
    # remembered, and applied to the next window's scene
    w2 = _window(qtbot, tmp_path, LOOP)
    assert w2.heat_map_action.isChecked()
    assert w2.view.scene.amhs.heat_map
    w2.heat_map_action.setChecked(False)
    assert not w2.view.scene.amhs.rail_actor.mapper.GetScalarVisibility()
    assert w2.settings.value(SETTINGS_KEY) == "off"


def test_heat_map_from_the_simulators_congestion_with_its_legend(qtbot, tmp_path):
    w = _window(qtbot, tmp_path, LOOP)
    view = w.view
    layer = view.scene.amhs
    st = view.state
    links = [lk.id for lk in w.controller.doc.spec.amhs.links]
    st.apply(_vehicle(1, 10.0, 2.0, "moving", "", 1.0))
    st.fab["plant_clock"] = 50.0
    view.refresh(states_dirty=False)
    w.heat_map_action.setChecked(True)
    # no congestion served: the occupancy, and the legend says it is the fallback
    assert not layer.served
    assert layer.legend is not None and layer.legend.GetVisibility()
    assert "Occupancy" in layer.legend_title.GetInput() and "no" in layer.legend_title.GetInput()
    # the simulator's figures arrive (links served in another order): they colour the rails
    served = {lk: float(10 * i) for i, lk in enumerate(links)}
    order = list(reversed(links))
    st.apply(
        [
            TagUpdate(RAIL_EQUIPMENT, "link_ids", tuple(order), 2.0),
            TagUpdate(RAIL_EQUIPMENT, "blocked_s_per_h", tuple(served[k] for k in order), 2.0),
            TagUpdate(RAIL_EQUIPMENT, "entries_per_h", tuple(1.0 for _ in order), 2.0),
            TagUpdate(RAIL_EQUIPMENT, "window_s", 3600.0, 2.0),
        ]
    )
    view.refresh(states_dirty=False)
    assert layer.served
    heat = np.asarray(layer.rails.cell_data["congestion"])
    np.testing.assert_allclose(heat, [served[k] for k in layer.link_ids])
    assert layer.rail_actor.mapper.scalar_range == pytest.approx((0.0, max(served.values())))
    assert layer.legend_title.GetInput().startswith("Blocked s/h per rail link")
    assert "last hour" in layer.legend_title.GetInput()
    # the legend is drawn: a screenshot of the window for the eye, and the bar's colours in it
    view.scene.set_camera(view.scene.overview_camera())
    view.plotter.render()
    w.grab().save(str(tmp_path / "amhs_heat_legend.png"))
    img = np.asarray(view.plotter.screenshot(return_img=True)).astype(int)
    h, wd = img.shape[:2]
    bar = img[int(h * 0.55) : int(h * 0.9), int(wd * 0.015) : int(wd * 0.04)]
    assert (bar.max(axis=2) - bar.min(axis=2) > 60).mean() > 0.1  # inferno's colours
    # traffic instead of blocked time: the entries per hour colour the rails, the legend says so
    entries = {lk: float(3 * i + 1) for i, lk in enumerate(links)}
    st.apply([TagUpdate(RAIL_EQUIPMENT, "entries_per_h", tuple(entries[k] for k in order), 3.0)])
    w.heat_measure_actions["traffic"].setChecked(True)
    assert not w.heat_measure_actions["blocked"].isChecked()
    heat = np.asarray(layer.rails.cell_data["congestion"])
    np.testing.assert_allclose(heat, [entries[k] for k in layer.link_ids])
    assert layer.legend_title.GetInput().startswith("Vehicles in/h per rail link")
    assert w.settings.value(MEASURE_KEY) == "traffic"
    # off: the plain rails, no legend
    w.heat_map_action.setChecked(False)
    assert not layer.legend.GetVisibility() and not layer.legend_title.GetVisibility()
    w.close()
    # the measure is remembered: the next window shows traffic, and blocked time again on demand
    w2 = _window(qtbot, tmp_path, LOOP)
    assert w2.heat_measure_actions["traffic"].isChecked() and w2.view.heat_measure == "traffic"
    w2.heat_measure_actions["blocked"].setChecked(True)
    assert w2.view.heat_measure == "blocked" and w2.settings.value(MEASURE_KEY) == "blocked"
    w2.close()
