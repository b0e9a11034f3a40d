"""The AMHS in the Monitor: vehicles from the plant state drawn on the rails, and the View
menu's rail congestion heat map (saved, kept across plants)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from factory_twin.app.controller import Controller
from factory_twin.model.config import load_plant
from factory_twin.model.events import VEHICLE_PREFIX, TagUpdate
from factory_twin.ui.qt_amhs_install import SETTINGS_KEY, install_rail_heat_map
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
