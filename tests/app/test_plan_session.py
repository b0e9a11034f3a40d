"""The Plan workspace's model, headless: snapping, scenario files, edits, live figures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from factory_twin.app import experiment_job
from factory_twin.app.plan_files import (
    delete_scenario,
    duplicate_scenario,
    new_scenario,
    rename_scenario,
    scenarios_beside,
)
from factory_twin.app.plan_session import (
    PlanSession,
    bay_at,
    footprint_offsets,
    next_tool_id,
    snap_position,
)
from factory_twin.errors import ConfigError
from factory_twin.model import schema as s
from factory_twin.model.flows import flow_table

REPO = Path(__file__).resolve().parents[2]
PLANTS = REPO / "plant_configs"
SCENARIO = "demo_fab_fourth_scanner.scenario.yaml"


@pytest.fixture
def plant(tmp_path) -> Path:
    for f in ("demo_fab.yaml", SCENARIO):
        shutil.copy(PLANTS / f, tmp_path / f)
    return tmp_path / "demo_fab.yaml"


@pytest.fixture
def session(plant) -> PlanSession:
    ses = PlanSession(plant)
    ses.open(new_scenario(plant, "edits"))
    return ses


def _bay(x0: float, y0: float, w: float, d: float) -> s.Bay:
    return s.Bay(id="b", origin_m=(x0, y0), size_m=(w, d))


def test_snap_to_grid_and_bay_edges():
    assert snap_position((3.26, 7.74), 0.5) == (3.5, 7.5)
    assert snap_position((3.26, 7.74), 0.1) == (3.3, 7.7)
    assert snap_position((3.26, 7.74), 1.0) == (3.0, 8.0)
    # a 2 x 1 m footprint centred on its origin; bay from x = 10: its west edge at 10.2 snaps
    off = footprint_offsets((-1.0, -0.5, 1.0, 0.5), 0.0)
    assert off == (-1.0, -0.5, 1.0, 0.5)
    bays = [_bay(10.0, 0.0, 20.0, 20.0)]
    assert snap_position((11.2, 5.3), 0.5, off, bays) == (11.0, 5.5)
    # 0.45 m off the edge is beyond the 0.4 m reach: the grid wins
    assert snap_position((11.45, 5.3), 0.5, off, bays) == (11.5, 5.5)
    # turned 90 degrees the footprint is 1 x 2 m: its south edge (y - 1) meets y = 0
    off90 = footprint_offsets((-1.0, -0.5, 1.0, 0.5), 90.0)
    assert off90 == pytest.approx((-0.5, -1.0, 0.5, 1.0))
    assert snap_position((15.26, 1.2), 0.5, off90, bays) == (15.5, 1.0)


def test_next_tool_id_and_bay_at(plant):
    ses = PlanSession(plant)
    assert next_tool_id(ses.base, "SCAN-01") == "SCAN-04"
    assert next_tool_id(ses.base, "ETCH-02") == "ETCH-05"
    litho = bay_at(ses.base, (30.0, 10.0))
    assert litho is not None and litho.id == "litho"
    assert bay_at(ses.base, (23.5, 10.0)) is None  # the aisle between etch and litho


def test_scenario_files_beside_the_plant(plant):
    assert scenarios_beside(plant) == [
        ("demo_fab", plant),
        ("fourth scanner", plant.parent / SCENARIO),
    ]
    # one listing for the Plan workspace and the Compare dock
    assert not hasattr(experiment_job, "scenarios_beside")
    (plant.parent / "broken.scenario.yaml").write_text("base: demo_fab.yaml\nchanges: 7\n")
    broken: list[tuple[Path, str]] = []
    assert len(scenarios_beside(plant, broken)) == 2
    assert broken[0][0].name == "broken.scenario.yaml"
    assert "broken.scenario.yaml:2" in broken[0][1]


def test_new_copy_rename_delete_keep_the_last_text(plant):
    path = new_scenario(plant, "wider")
    assert path == plant.parent / "wider.scenario.yaml"
    assert "base: demo_fab.yaml" in path.read_text()
    with pytest.raises(ConfigError, match="exists already"):
        new_scenario(plant, "wider")
    with pytest.raises(ConfigError, match="cannot name a scenario"):
        new_scenario(plant, "no/slash")
    copy = duplicate_scenario(plant.parent / SCENARIO, "five")
    text = copy.read_text()
    assert "# What if the demo fab buys a fourth ArF scanner?" in text  # comments kept
    assert "name: fourth scanner" in text  # a name of its own is kept
    moved = rename_scenario(path, "narrower")
    assert moved.name == "narrower.scenario.yaml" and not path.exists()
    assert (plant.parent / "wider.scenario.yaml.bak").exists()
    assert "name: narrower" in moved.read_text()
    bak = delete_scenario(moved)
    assert not moved.exists() and bak.read_text().startswith("name: narrower")
    names = [n for n, _ in scenarios_beside(plant)]
    assert names == ["demo_fab", "fourth scanner", "fourth scanner"]


def test_the_base_is_read_only(plant):
    ses = PlanSession(plant)
    assert not ses.editable
    with pytest.raises(ConfigError, match="make a scenario first"):
        ses.add_change({"change": "remove_tool", "id": "ETCH-01"})


def test_edit_and_undo_restore_plant_and_file(session):
    ses = session
    path = ses.scenario.path
    ses.save()
    before = path.read_bytes()
    base_dump = ses.plant.model_dump()
    k = ses.add_change(ses.move_data("ETCH-01", (11.0, 5.0)))
    j = ses.add_change(ses.add_tool_data("arf_scanner", (38.5, 14.0)))
    assert ses.tool("ETCH-01").position_m == (11.0, 5.0)
    assert ses.changed_tools() == {"ETCH-01", "SCAN-04"}
    assert ses.change_tools(j) == ["SCAN-04"]
    assert ses.descriptions[k].startswith("move ETCH-01 from (8.05, 4.9) to (11.0, 5.0) m")
    gone = ses.remove_change(j)
    ses.remove_change(k)
    assert gone["id"] == "SCAN-04"
    assert ses.plant.model_dump() == base_dump
    ses.save()
    assert path.read_bytes() == before


def test_adding_a_tool_lowers_its_group_loading_by_n_over_n_plus_1(session):
    ses = session
    before = ses.capacity.row("SCAN")
    assert before.scenario.tools == 3
    ses.add_change(ses.add_tool_data("arf_scanner", (38.5, 14.0)))
    row = ses.capacity.row("SCAN")
    assert row.scenario.tools == 4
    assert row.scenario_utilisation == pytest.approx(row.base_utilisation * 3 / 4, rel=1e-12)
    ses.add_change({"change": "set_dispatch", "group": "SCAN", "rule": "fifo"})
    assert ses.change_tools(1) == ["SCAN-01", "SCAN-02", "SCAN-03", "SCAN-04"]
    assert ses.plant.tool_groups[0].dispatch in tuple(s.DispatchRule)
    assert next(g for g in ses.plant.tool_groups if g.id == "SCAN").dispatch.value == "fifo"


def test_a_drag_preview_updates_checks_and_flows_and_cancels(session):
    ses = session
    base = flow_table(ses.plant)
    # ETCH-02 dragged onto ETCH-01: overlap, blocking, both tools named
    probs = ses.preview_move("ETCH-02", (8.05, 4.9))
    assert any(p.kind == "overlap" and p.blocking and p.other == "ETCH-01" for p in probs)
    bad, _warn = ses.problem_tools()
    assert {"ETCH-01", "ETCH-02"} <= bad
    assert ses.placement("ETCH-02") == ((8.05, 4.9), -90.0)
    # the live flows equal the full computation on the moved plant
    eq = [
        e.model_copy(update={"position_m": (8.05, 4.9)}) if e.id == "ETCH-02" else e
        for e in ses.plant.equipment
    ]
    moved = ses.plant.model_copy(update={"equipment": eq})
    assert ses.flow_table() == flow_table(moved)
    ses.cancel_preview()
    assert ses.flow_table() == base
    assert ses.problem_tools()[0] == set()


def test_moving_a_tool_further_away_lengthens_its_flow_by_hand(tmp_path):
    """The mini plant: LITHO-01 at (15, 5) sends every lot to the nearer etcher, ETCH-02 at
    (7, 5): 8 m. Moved to (20, 5) it is 13 m; the move takes 5 m / speed longer."""
    shutil.copy(REPO / "tests" / "data" / "mini_plant.yaml", tmp_path / "mini.yaml")
    ses = PlanSession(tmp_path / "mini.yaml")
    ses.open(new_scenario(tmp_path / "mini.yaml", "apart"))
    f0 = ses.flow_table().flow("LITHO", "ETCH")
    assert f0 is not None
    assert f0.moves_per_day == pytest.approx(86400 / 4000)
    assert f0.distance_m == pytest.approx(8.0)
    ses.add_change(ses.move_data("LITHO-01", (20.0, 5.0)))
    f1 = ses.flow_table().flow("LITHO", "ETCH")
    assert f1 is not None and f1.distance_m == pytest.approx(13.0)
    speed = ses.plant.transport.speed_m_s
    assert f1.move_time_s - f0.move_time_s == pytest.approx(5.0 / speed)
    _b0, d0, _m, d1 = ses.transport_summary()
    assert d1 - d0 == pytest.approx(5.0 * 86400 / 4000)


def test_a_change_that_no_longer_fits_is_listed_with_its_line(plant):
    scen = plant.parent / "stale.scenario.yaml"
    scen.write_text(
        "# made before ETCH-09 was sold\nbase: demo_fab.yaml\nchanges:\n"
        "  - {change: move_tool, id: ETCH-01, position_m: [9.0, 4.9]}\n"
        "  - {change: remove_tool, id: ETCH-09}\n"
    )
    ses = PlanSession(plant)
    ses.open(scen)
    assert ses.tool("ETCH-01").position_m == (9.0, 4.9)  # the change that fits is drawn
    other = ses.other_problems()
    assert len(other) == 1 and other[0].startswith(f"{scen}:5: changes[1].id: ")
    assert "ETCH-09" in other[0]
    assert ses.to_fix() == 1
    assert ses.descriptions[1].endswith("(does not apply)")
