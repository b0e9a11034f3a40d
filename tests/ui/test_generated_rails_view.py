"""The demo fab (no rails in its file) in the Monitor: generated rails, and a replayed
simulation's carriers riding them under one vehicle each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from _plan_window import plan_window
from PySide6.QtCore import QSettings

from factory_twin.app.controller import Controller
from factory_twin.model.config import load_plant
from factory_twin.model.events import VEHICLE_PREFIX, LotMove, TagUpdate
from factory_twin.sim.live import LiveSimulation
from factory_twin.ui.amhs_scene import rail_height_m
from factory_twin.ui.qt_main_window import MainWindow

pytestmark = pytest.mark.gui

DEMO = Path(__file__).parents[2] / "plant_configs" / "demo_fab.yaml"


def test_replay_of_the_demo_fab_draws_vehicles_on_generated_rails(qtbot, tmp_path):
    doc = load_plant(DEMO)
    assert doc.spec.amhs is None
    events = LiveSimulation(doc.spec, seed=2, tag_period_s=900.0).advance(3 * 3600.0)
    moves = [e for e in events if isinstance(e, LotMove) and e.from_equipment and e.to_equipment]
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Controller(journal_path=tmp_path / "journal.sqlite"), settings)
    qtbot.addWidget(w)
    w.controller.set_plant(doc)
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.view.scene is not None, timeout=10_000)
    layer = w.view.scene.amhs
    assert layer is not None and "amhs_rails" in w.view.plotter.actors
    # the replay (LotMove records) takes the same path as live data: pause it where the
    # most lots are in flight and let the view draw them
    mids = sorted((m.depart_s + m.arrive_s) / 2 for m in moves)
    busy = max(mids, key=lambda t: sum(m.depart_s < t < m.arrive_s for m in moves))
    c = w.controller
    replay = c.start_replay_events(events, speed=60.0)
    replay.pause()
    c.seek_replay(busy)
    qtbot.waitUntil(lambda: w.view.scene is not None and w.view.scene.amhs is not None)
    qtbot.waitUntil(lambda: w.view.scene.amhs.vehicle_count > 0, timeout=10_000)
    layer = w.view.scene.amhs
    vehicles = np.asarray(layer.vehicle_points.points)
    assert np.allclose(vehicles[:, 2], rail_height_m(doc.spec))
    # each vehicle is on a rail (or over a load port, hoisting), right over a carrier glyph
    lots = np.asarray(w.view.scene.lot_points.points)
    for v in vehicles:
        assert np.min(np.linalg.norm(lots[:, :2] - v[:2], axis=1)) < 1e-6
    _, dist = layer.nearest_links(vehicles[:, :2])
    assert np.median(dist) < 1e-6
    st = c.state
    assert st is not None
    in_flight = sum(
        1
        for mv in st.lot_moves.values()
        if mv.from_equipment and mv.to_equipment and mv.arrive_s > st.clock_s
    )
    assert 0 < layer.vehicle_count <= in_flight
    # a source that serves its vehicles one by one: those are drawn, not one per carrier
    eq = f"{VEHICLE_PREFIX}OHT-001"
    at = st.clock_s
    x, y = (float(v) for v in vehicles[0, :2])
    st.apply([TagUpdate(eq, "x", x, at), TagUpdate(eq, "y", y, at)])
    w.view.refresh(states_dirty=False)
    assert layer.vehicle_count == 1
    w.close()


@pytest.fixture
def plan(qtbot, tmp_path) -> Iterator[MainWindow]:
    """The main window on the Plan workspace, on a copy of the demo fab."""
    plant = tmp_path / "demo_fab.yaml"
    plant.write_text(DEMO.read_text(encoding="utf-8"), encoding="utf-8")
    yield from plan_window(qtbot, tmp_path, plant)


def test_plan_edits_move_the_generated_rails_with_the_tools(plan):
    from factory_twin.model.amhs_layout import generated_amhs

    ws = plan.workspace("Plan")
    assert ws.view.scene is not None
    ws.new_scenario("moved")
    layer = ws.view.scene.amhs
    assert layer is not None

    def drawn() -> set[tuple[float, float]]:
        return {(round(x, 3), round(y, 3)) for x, y, _ in np.asarray(layer.rails.points)}

    def expected() -> set[tuple[float, float]]:
        return {
            (round(n.at_m[0], 3), round(n.at_m[1], 3))
            for n in generated_amhs(ws.session.plant).nodes
        }

    before = drawn()
    assert before == expected()
    ws.edits.move_tools({"ETCH-01": (11.0, 5.0)})
    assert drawn() == expected() != before  # the rails follow the tool's new load port
    ws.undo_stack.undo()
    assert drawn() == before
