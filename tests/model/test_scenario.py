"""Scenario files: every change kind, the diff in words, round trips and located errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from factory_twin.errors import ConfigError
from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.model.scenario import (
    ScenarioDocument,
    load_plant_or_scenario,
    load_scenario,
    loads_scenario,
)

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "tests" / "data" / "mini_plant.yaml"
DEMO = REPO / "plant_configs" / "demo_fab.yaml"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder holding a copy of the mini plant as base.yaml."""
    shutil.copy(MINI, tmp_path / "base.yaml")
    return tmp_path


def write(folder: Path, changes: str, *, base: str = "base.yaml", name: str = "s") -> Path:
    """Write NAME.scenario.yaml on ``base`` with the given ``changes:`` block."""
    path = folder / f"{name}.scenario.yaml"
    path.write_text(f"# test scenario\nname: {name}\nbase: {base}\nchanges:\n{changes}")
    return path


def issues(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_scenario(path).apply()
    return info.value.issues


# ------------------------------------------------------------------ every change kind

MINI_CASES = [
    (
        "  - {change: move_tool, id: ETCH-01, position_m: [3, 8], rotation_deg: 90}\n",
        "move ETCH-01 from (3.0, 5.0) to (3.0, 8.0) m, rotation 0.0 -> 90.0 deg",
        lambda p: p.tool("ETCH-01").position_m == (3, 8) and p.tool("ETCH-01").rotation_deg == 90,
    ),
    (
        "  - {change: move_tool, id: ETCH-02, bay: litho, position_m: [12, 2]}\n",
        "move ETCH-02 from (7.0, 5.0) to (12.0, 2.0) m, bay etch -> litho",
        lambda p: p.tool("ETCH-02").bay == "litho",
    ),
    (
        "  - {change: add_tool, id: ETCH-03, like: ETCH-01, position_m: [5, 8]}\n",
        "add ETCH-03 (etcher) to ETCH in bay etch at (5.0, 8.0) m, rotation 0.0 deg, like ETCH-01",
        lambda p: len(p.groups()["ETCH"]) == 3 and p.tool("ETCH-03").opcua is None,
    ),
    (
        "  - {change: add_tool, id: LITHO-02, like: LITHO-01, position_m: [15, 8.5]}\n",
        "add LITHO-02 (scanner) to LITHO in bay litho at (15.0, 8.5) m, rotation 0.0 deg, "
        "like LITHO-01",
        lambda p: p.tool("LITHO-02").reliability == p.tool("LITHO-01").reliability,
    ),
    (
        "  - {change: add_tool, id: X-1, type: etcher, group: EXTRA, bay: litho, "
        "position_m: [12, 8], rotation_deg: 180}\n",
        "add X-1 (etcher) to EXTRA in bay litho at (12.0, 8.0) m, rotation 180.0 deg",
        lambda p: p.tool("X-1").group == "EXTRA" and p.tool("X-1").reliability is None,
    ),
    (
        "  - {change: remove_tool, id: ETCH-02}\n",
        "remove ETCH-02 (etcher) from ETCH in bay etch",
        lambda p: [e.id for e in p.equipment] == ["ETCH-01", "LITHO-01"],
    ),
    (
        "  - {change: set_dispatch, group: ETCH, rule: spt}\n",
        "ETCH dispatch fifo -> spt",
        lambda p: p.tool_group("ETCH").dispatch == s.DispatchRule.SPT,
    ),
    (
        "  - {change: set_setups, group: LITHO, setup_default: 600, min_run_lots: 3}\n",
        "LITHO setup_default none -> 600 s, min_run_lots 1 -> 3",
        lambda p: p.tool_group("LITHO").min_run_lots == 3,
    ),
    (
        "  - change: set_setups\n    group: LITHO\n    setups:\n"
        "      - {from_setup: R1, to_setup: R2, time: 900}\n",
        "LITHO setups 0 -> 1 listed changes",
        lambda p: p.tool_group("LITHO").setups[0].time.mean == 900,
    ),
    (
        "  - {change: set_batching, group: ETCH, batch_wait_s: 600, load_s: 30, cascade_lots: 2}\n",
        "ETCH batch_wait_s 0 -> 600, load_s 0 -> 30, cascade_lots 1 -> 2",
        lambda p: (
            p.tool_group("ETCH").batch_wait_s == 600 and p.tool_group("ETCH").cascade_lots == 2
        ),
    ),
    (
        "  - {change: set_release, product: p1, rate_per_day: 30}\n",
        "p1 release 21.6 lots/day (interarrival exponential mean 4000 s) -> "
        "30 lots/day (interarrival exponential mean 2880 s)",
        lambda p: (
            p.products[0].release.interarrival == s.Exponential(dist="exponential", mean=2880)
        ),
    ),
    (
        "  - {change: set_release, product: p1, scale: 2}\n",
        "p1 release 21.6 lots/day (interarrival exponential mean 4000 s) -> "
        "43.2 lots/day (interarrival exponential mean 2000 s)",
        lambda p: p.products[0].release.interarrival.mean == 2000,
    ),
    (
        "  - {change: set_release, product: p1, interarrival: 3600}\n",
        "p1 release 21.6 lots/day (interarrival exponential mean 4000 s) -> "
        "24 lots/day (interarrival 3600 s)",
        lambda p: p.products[0].release.interarrival == s.Constant(value=3600),
    ),
    (
        "  - {change: set_release, product: p1, wip_lots: 12}\n",
        "p1 release 21.6 lots/day (interarrival exponential mean 4000 s) -> CONWIP 12 lots",
        lambda p: p.products[0].release.mode == "conwip" and p.products[0].release.wip_lots == 12,
    ),
    (
        "  - {change: set_transport, kind: agv, speed_m_s: 1.5, vehicles: 3, handling_s: 60}\n",
        "transport kind ohs -> agv, speed_m_s 2 -> 1.5, vehicles unlimited -> 3, handling_s 30 -> 60",
        lambda p: (
            (p.transport.kind, p.transport.vehicles, p.transport.handling_s) == ("agv", 3, 60)
        ),
    ),
    (
        "  - {change: set_reliability, tool: LITHO-01, mtbf: 720000, basis: busy}\n",
        "LITHO-01 reliability mtbf exponential mean 360000 -> exponential mean 720000 s, basis busy",
        lambda p: (
            p.tool("LITHO-01").reliability.mtbf.mean == 720000
            and p.tool("LITHO-01").reliability.basis == "busy"
        ),
    ),
    (
        "  - change: set_reliability\n    group: ETCH\n    mtbf: 500000\n"
        "    mttr: {dist: uniform, low: 3000, high: 5000}\n",
        "ETCH (2 tools) reliability mtbf none -> exponential mean 500000 s, "
        "mttr none -> uniform 3000-5000 s",
        lambda p: all(e.reliability.mttr.mean == 4000 for e in p.groups()["ETCH"]),
    ),
]


@pytest.mark.parametrize(("changes", "words", "check"), MINI_CASES)
def test_every_change_kind_applies_describes_and_reverts(folder, changes, words, check):
    doc = load_scenario(write(folder, changes))
    base = load_plant(folder / "base.yaml").spec
    plant = doc.apply()
    assert check(plant)
    assert plant != base
    assert doc.describe() == [words]
    # the full plant file it exports loads as the same plant (also where the base file
    # left a section to its defaults, as the mini plant does 'transport' and 'tool_groups')
    assert load_plant(doc.to_plant_yaml(folder / "out.yaml")).spec == plant
    gone = doc.remove_change(0)
    assert doc.apply() == base  # reverted
    doc.add_change(gone, 0)
    assert doc.apply() == plant  # and redone


def test_mix_and_pm_on_the_demo_fab(tmp_path):
    path = write(
        tmp_path,
        "  - {change: set_mix, shares: {LOGIC-A: 1, NOR-B: 1}}\n"
        "  - {change: set_pm, group: SCAN, pm: weekly PM, interval: 1209600, duration: 30000}\n"
        "  - {change: set_pm, tool: SCAN-01, pm: monthly PM, qualification: 3600}\n",
        base=str(DEMO),
    )
    doc = load_scenario(path)
    base = load_plant(DEMO).spec
    plant = doc.apply()
    words = doc.describe()
    assert (
        words[0]
        == "release mix LOGIC-A 57.1 % -> 50.0 %, NOR-B 42.9 % -> 50.0 % (total 17.5 lots/day kept)"
    )
    rates = [86400 / p.release.interarrival.mean for p in plant.products]
    assert rates == pytest.approx([8.75, 8.75])
    assert (
        words[1]
        == "SCAN (3 tools) PM 'weekly PM' interval 604800 -> 1209600 s, duration uniform 19152-28728 -> uniform 24000-36000 s"
    )
    assert words[2] == "SCAN-01 PM 'monthly PM' qualification 7200 -> 3600 s"
    for e in plant.groups()["SCAN"]:
        weekly = next(pm for pm in e.pm if pm.name == "weekly PM")
        assert weekly.interval == 1209600 and weekly.duration.mean == pytest.approx(30000)
    assert plant.tool("SCAN-01").pm[1].qualification == s.Constant(value=3600)
    assert plant.tool("SCAN-02").pm[1] == base.tool("SCAN-02").pm[1]  # only SCAN-01's changed


def test_changes_apply_in_order_and_move_change_reorders(folder):
    doc = load_scenario(
        write(
            folder,
            "  - {change: move_tool, id: ETCH-01, position_m: [2, 2]}\n"
            "  - {change: move_tool, id: ETCH-01, position_m: [2, 8]}\n",
        )
    )
    assert doc.apply().tool("ETCH-01").position_m == (2, 8)
    doc.move_change(1, 0)
    assert doc.apply().tool("ETCH-01").position_m == (2, 2)
    assert doc.describe()[1] == "move ETCH-01 from (2.0, 8.0) to (2.0, 2.0) m"
    doc.move_change(0, 1)
    assert doc.apply().tool("ETCH-01").position_m == (2, 8)


def test_a_change_can_build_on_an_added_tool(folder):
    doc = load_scenario(
        write(
            folder,
            "  - {change: add_tool, id: ETCH-03, like: ETCH-01, position_m: [5, 8]}\n"
            "  - {change: move_tool, id: ETCH-03, position_m: [5, 2]}\n"
            "  - {change: remove_tool, id: ETCH-01}\n",
        )
    )
    assert [e.id for e in doc.apply().equipment] == ["ETCH-02", "LITHO-01", "ETCH-03"]


def test_base_scenario_chains(folder):
    write(folder, "  - {change: set_dispatch, group: ETCH, rule: edd}\n", name="a")
    (folder / "b.scenario.yaml").write_text(
        "base_scenario: a.scenario.yaml\nchanges:\n  - {change: set_transport, speed_m_s: 1}\n"
    )
    plant = load_scenario(folder / "b.scenario.yaml").apply()
    assert plant.tool_group("ETCH").dispatch == s.DispatchRule.EDD
    assert plant.transport.speed_m_s == 1


def test_load_plant_or_scenario_names_the_file_stem(folder):
    path = write(folder, "  - {change: set_dispatch, group: ETCH, rule: edd}\n", name="edd_etch")
    loaded = load_plant_or_scenario(path)
    assert loaded.name == "edd_etch" and loaded.scenario is not None
    assert loaded.spec.tool_group("ETCH").dispatch == s.DispatchRule.EDD
    plain = load_plant_or_scenario(folder / "base.yaml")
    assert plain.name == "base" and plain.scenario is None


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize(
    "name", ["demo_fab_fourth_scanner.scenario.yaml", "demo_fab_etch_next_to_litho.scenario.yaml"]
)
def test_apply_export_load_gives_the_same_plant(name, tmp_path):
    doc = load_scenario(REPO / "plant_configs" / name)
    plant = doc.apply()
    out = doc.to_plant_yaml(tmp_path / "plant.yaml")
    assert load_plant(out).spec == plant
    text = out.read_text()
    assert text.startswith("# Demo 300 mm CMOS front-end mini-fab.")  # the base's comments kept
    assert "# SMT2020 downcal BREAK_Dry_Etch" in text


def test_unchanged_save_is_identical(tmp_path):
    for f in ("demo_fab.yaml", "demo_fab_fourth_scanner.scenario.yaml"):
        shutil.copy(REPO / "plant_configs" / f, tmp_path / f)
    path = tmp_path / "demo_fab_fourth_scanner.scenario.yaml"
    before = path.read_text()
    load_scenario(path).save()
    assert path.read_text() == before


def test_save_keeps_comments_and_undo_restores_the_file(tmp_path):
    for f in ("demo_fab.yaml", "demo_fab_etch_next_to_litho.scenario.yaml"):
        shutil.copy(REPO / "plant_configs" / f, tmp_path / f)
    path = tmp_path / "demo_fab_etch_next_to_litho.scenario.yaml"
    before = path.read_text()
    doc = load_scenario(path)
    at = doc.add_change({"change": "set_dispatch", "group": "SCAN", "rule": "fifo"}, 2)
    doc.save()
    text = path.read_text()
    assert "# ASH-02 stood where the column now is" in text
    assert "# What if the etchers stood right against the litho bay?" in text
    again = load_scenario(path)
    assert again.spec == doc.spec
    assert again.describe()[2] == "SCAN dispatch setup_avoid -> fifo"
    again.remove_change(at)
    again.save()
    assert path.read_text() == before
    assert (tmp_path / "demo_fab_etch_next_to_litho.scenario.yaml.bak").exists()


def test_a_scenario_built_in_memory_saves_and_loads(folder):
    doc = ScenarioDocument(spec=loads_scenario("base: base.yaml\n").spec)
    doc.add_change({"change": "remove_tool", "id": "ETCH-02"})
    path = doc.save(folder / "new.scenario.yaml")
    again = load_scenario(path)
    assert again.spec == doc.spec
    assert [e.id for e in again.apply().equipment] == ["ETCH-01", "LITHO-01"]


def test_save_without_a_path_is_a_config_error():
    doc = loads_scenario("base: x.yaml\n")
    with pytest.raises(ConfigError, match="no file yet"):
        doc.save()


# ------------------------------------------------------------------ located errors


def test_unknown_tool_names_the_change_and_line(folder, line_of):
    path = write(
        folder,
        "  - {change: move_tool, id: ETCH-01, position_m: [3, 8]}\n"
        "  - {change: move_tool, id: ETCH-09, position_m: [4, 5]}\n",
    )
    line = line_of(path.read_text(), "ETCH-09")
    assert issues(path) == [
        f"{path}:{line}: changes[1].id: tool ETCH-09 is not in the base plant "
        "(it has ETCH-01, ETCH-02, LITHO-01)"
    ]


def test_overlap_names_the_change_that_placed_the_tool(folder, line_of):
    path = write(
        folder,
        "  - change: move_tool\n    id: ETCH-01\n    position_m: [6.5, 5]\n",
    )
    text = path.read_text()
    assert issues(path) == [
        f"{path}:{line_of(text, 'position_m')}: changes[0].position_m: "
        "tool ETCH-01 overlaps tool ETCH-02 (of the base plant)"
    ]


def test_two_changed_tools_overlapping(folder, line_of):
    path = write(
        folder,
        "  - {change: add_tool, id: E3, like: ETCH-01, position_m: [3, 8]}\n"
        "  - {change: add_tool, id: E4, like: ETCH-01, position_m: [3.5, 8.5]}\n",
    )
    assert issues(path) == [
        f"{path}:{line_of(path.read_text(), 'E4')}: changes[1].position_m: "
        "tool E4 overlaps tool E3 (placed by changes[0])"
    ]


def test_outside_bay_and_unknown_names(folder, line_of):
    path = write(
        folder,
        "  - {change: move_tool, id: ETCH-01, position_m: [15, 2]}\n"
        "  - {change: add_tool, id: E3, type: nosuch, group: ETCH, bay: etch, position_m: [2, 2]}\n"
        "  - {change: set_dispatch, group: NOPE, rule: fifo}\n"
        "  - {change: set_release, product: p9, scale: 2}\n"
        "  - {change: set_pm, tool: ETCH-01, pm: weekly, interval: 5}\n",
    )
    text = path.read_text()
    assert issues(path) == [
        f"{path}:{line_of(text, '[15, 2]')}: changes[0].position_m: "
        "tool 'ETCH-01' at (15.0, 2.0) is outside its bay 'etch'",
        f"{path}:{line_of(text, 'nosuch')}: changes[1].type: "
        "no equipment type nosuch (types: etcher, scanner)",
        f"{path}:{line_of(text, 'NOPE')}: changes[2].group: "
        "no tool belongs to group NOPE (groups: ETCH, LITHO)",
        f"{path}:{line_of(text, 'p9')}: changes[3].product: "
        "product p9 is not in the base plant (it has p1)",
        f"{path}:{line_of(text, 'weekly')}: changes[4].pm: "
        "tool ETCH-01 has no PM plan 'weekly' (it has none)",
    ]


def test_removing_a_group_s_last_tool_is_blamed_on_the_removal(folder, line_of):
    path = write(folder, "  - {change: remove_tool, id: LITHO-01}\n")
    lines = issues(path)
    assert lines == [
        f"{path}:{line_of(path.read_text(), 'LITHO-01')}: changes[0]: "
        "no equipment belongs to tool group 'LITHO'"
    ]


def test_a_removed_tool_cannot_be_changed_later(folder, line_of):
    path = write(
        folder,
        "  - {change: remove_tool, id: ETCH-02}\n  - {change: move_tool, id: ETCH-02, rotation_deg: 90}\n",
    )
    assert issues(path) == [
        f"{path}:{line_of(path.read_text(), 'rotation_deg')}: changes[1].id: "
        "tool ETCH-02 was removed by changes[0]"
    ]


@pytest.mark.parametrize(
    ("changes", "needle", "message"),
    [
        ("  - {change: move_tool, id: ETCH-01, position_m: [a, 5]}\n", "[a, 5]",
         "changes[0].position_m: expected 2 numbers, got ['a', 5]"),
        ("  - {change: teleport, id: ETCH-01}\n", "teleport",
         "changes[0]: unknown change 'teleport': use one of move_tool, add_tool, remove_tool, "
         "set_dispatch, set_setups, set_batching, set_release, set_mix, set_transport, "
         "set_amhs, set_reliability, set_pm"),
        ("  - {id: ETCH-01}\n", "{id: ETCH-01}",
         "changes[0]: a change is a mapping with 'change: <kind>'"),
        ("  - 5\n", "- 5", "changes[0]: a change is a mapping with 'change: <kind>'"),
        ("  - {change: set_dispatch, group: ETCH, rule: random}\n", "random",
         "changes[0].rule: Input should be"),
        ("  - {change: set_release, product: p1}\n", "p1",
         "changes[0]: set_release needs exactly one of rate_per_day, interarrival, scale, "
         "wip_lots, got none"),
        ("  - {change: set_setups, group: LITHO, setup_default: {dist: bogus}}\n", "bogus",
         "changes[0].setup_default: unknown distribution 'bogus'"),
        ("  - {change: move_tool, id: ETCH-01}\n", "ETCH-01",
         "changes[0]: move_tool needs one of position_m, rotation_deg, bay"),
        ("  - {change: move_tool, id: ETCH-01, rotation_deg: 90, colour: red}\n", "colour",
         "changes[0].colour: unknown field 'colour' (a typo?)"),
        ("  - {change: set_transport, speed_m_s: -1}\n", "speed_m_s",
         "changes[0].speed_m_s: Input should be greater than 0, got -1"),
        ("  - {change: set_reliability, tool: ETCH-01, group: ETCH, mtbf: 5}\n", "mtbf",
         "changes[0]: give exactly one of 'tool' or 'group'"),
    ],
)  # fmt: skip
def test_wrong_types_are_located(folder, line_of, changes, needle, message):
    path = write(folder, changes)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    line = line_of(path.read_text(), needle)
    assert any(i.startswith(f"{path}:{line}: {message}") for i in info.value.issues), (
        info.value.issues
    )


def test_bad_base_paths(folder, line_of):
    path = write(folder, "  - {change: remove_tool, id: ETCH-02}\n", base="nowhere.yaml")
    assert issues(path) == [f"{path}:3: base: no plant file {folder / 'nowhere.yaml'}"]
    (folder / "broken.yaml").write_text("schema_version: 1\nsite: 5\n")
    path = write(folder, "  - {change: remove_tool, id: ETCH-02}\n", base="broken.yaml")
    lines = issues(path)
    assert lines[0] == f"{path}:3: base: the base plant {folder / 'broken.yaml'} does not load:"
    assert lines[1].startswith(f"{folder / 'broken.yaml'}:2: site:")
    assert load_scenario(path).describe() == ["remove_tool id=ETCH-02 (base plant not loaded)"]


def test_a_scenario_building_on_itself(folder):
    (folder / "a.scenario.yaml").write_text("base_scenario: b.scenario.yaml\n")
    (folder / "b.scenario.yaml").write_text("base_scenario: a.scenario.yaml\n")
    lines = issues(folder / "a.scenario.yaml")
    assert lines[-1].endswith(
        f"base_scenario: scenario {folder / 'a.scenario.yaml'} builds on itself"
    )
    assert all(": base_scenario: " in ln for ln in lines)


def test_both_or_no_base(folder):
    for text in ("changes: []\n", "base: a.yaml\nbase_scenario: b.scenario.yaml\n"):
        with pytest.raises(ConfigError, match="exactly one of 'base'"):
            loads_scenario(text, source="x.scenario.yaml")


@pytest.mark.parametrize("text", ["", "- 1\n", "just text\n", "base: [unclosed\n"])
def test_not_a_scenario_at_all(text):
    with pytest.raises(ConfigError) as info:
        loads_scenario(text, source="x.scenario.yaml")
    assert info.value.issues[0].startswith("x.scenario.yaml:")


# ------------------------------------------------------------------ a base edited afterwards


def test_base_edited_after_the_scenario(folder, line_of):
    path = write(
        folder,
        "  - {change: set_dispatch, group: ETCH, rule: edd}\n"
        "  - {change: move_tool, id: ETCH-02, position_m: [7, 8]}\n",
    )
    base = folder / "base.yaml"
    # an unrelated edit of the base: the scenario still applies, on the new base
    base.write_text(base.read_text().replace("floor_m: [20, 10]", "floor_m: [20, 12]"))
    assert load_scenario(path).apply().site.floor_m == (20, 12)
    # the tool the second change names is renamed: that change, and only it, is reported
    base.write_text(base.read_text().replace("id: ETCH-02", "id: ETCH-20"))
    line = line_of(path.read_text(), "ETCH-02")
    assert issues(path) == [
        f"{path}:{line}: changes[1].id: tool ETCH-02 is not in the base plant "
        "(it has ETCH-01, ETCH-20, LITHO-01)"
    ]
    assert load_scenario(path).describe()[0] == "ETCH dispatch fifo -> edd"


def test_add_change_refuses_a_bad_change_with_a_config_error(folder):
    doc = load_scenario(write(folder, "  - {change: remove_tool, id: ETCH-02}\n"))
    with pytest.raises(ConfigError) as info:
        doc.add_change({"change": "move_tool", "id": "ETCH-01", "position_m": [1]})
    assert info.value.issues == [
        f"{doc.source}:1: changes[0].position_m: expected 2 numbers, got [1]"
    ]
    assert len(doc.spec.changes) == 1
    words, problems = doc.check()
    assert words == ["remove ETCH-02 (etcher) from ETCH in bay etch"] and problems == []


def test_base_and_base_scenario_mixed_up(folder):
    write(folder, "  - {change: remove_tool, id: ETCH-02}\n", name="a")
    path = write(folder, "", base="a.scenario.yaml", name="b")
    assert issues(path) == [
        f"{path}:3: base: {folder / 'a.scenario.yaml'} is a scenario: use base_scenario"
    ]
    path.write_text("base_scenario: base.yaml\n")
    assert issues(path) == [
        f"{path}:1: base_scenario: {folder / 'base.yaml'} is not a *.scenario.yaml file: "
        "a plant is named with 'base'"
    ]


def test_mix_of_a_product_not_released_at_a_rate(tmp_path, line_of):
    path = write(
        tmp_path,
        "  - {change: set_release, product: NOR-B, wip_lots: 20}\n"
        "  - change: set_mix\n    shares:\n      LOGIC-A: 0.6\n      NOR-B: 0.4\n",
        base=str(DEMO),
    )
    assert issues(path) == [
        f"{path}:{line_of(path.read_text(), 'NOR-B: 0.4')}: changes[1].shares.NOR-B: "
        "product NOR-B is released by conwip, not at a rate"
    ]


def test_removing_every_tool_breaks_a_whole_plant_rule(folder, line_of):
    path = write(
        folder,
        "  - {change: remove_tool, id: ETCH-01}\n  - {change: remove_tool, id: ETCH-02}\n"
        "  - {change: remove_tool, id: LITHO-01}\n",
    )
    lines = issues(path)
    assert (
        f"{path}:4: changes: the changed plant: equipment: List should have at least 1 item after validation, not 0"
        in lines
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "changes[0].mtbf: expected a number, got 'abc'"),
        ("-5", "changes[0].mtbf: Input should be greater than 0, got -5"),
        ("{dist: nope}", "changes[0].mtbf: unknown distribution 'nope'"),
    ],
)
def test_a_number_or_distribution_field_reports_one_problem(folder, value, message):
    path = write(folder, f"  - {{change: set_reliability, tool: LITHO-01, mtbf: {value}}}\n")
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert len(info.value.issues) == 1
    assert info.value.issues[0].startswith(f"{path}:5: {message}")
