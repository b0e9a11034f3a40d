"""Saving a plant keeps it: same spec, same text, comments, backups, atomic writes."""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

import pytest

from factory_twin.model import config
from factory_twin.model.config import load_plant

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "plant_configs" / "demo_fab.yaml"
LED = ROOT / "plant_configs" / "led_line.yaml"
SMALL = ROOT / "tests" / "data" / "roundtrip_plant.yaml"

# Saving runs ruamel's pure-Python round-trip reader and writer: a few seconds for a
# shipped plant, so each big file is saved only as often as the checks need.


def comment_lines(text: str) -> list[str]:
    return [line.split("#", 1)[1] for line in text.splitlines() if "#" in line]


@pytest.fixture
def copy(tmp_path) -> Path:
    dst = tmp_path / SMALL.name
    shutil.copy(SMALL, dst)
    return dst


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


@pytest.mark.parametrize("src", [LED, SMALL], ids=["led_line", "small"])
def test_unchanged_save_is_identical_and_lossless(src, tmp_path):
    path = tmp_path / src.name
    shutil.copy(src, path)
    before = path.read_text(encoding="utf-8")
    doc = load_plant(path)
    assert doc.dumps() == before
    doc.save()
    assert path.read_text(encoding="utf-8") == before
    assert load_plant(path).spec == doc.spec


def test_demo_fab_edit_round_trip(tmp_path):
    path = tmp_path / DEMO.name
    shutil.copy(DEMO, path)
    before = path.read_text(encoding="utf-8")
    doc = load_plant(path)
    # text identical when nothing changed
    assert doc.dumps() == before
    # moving one tool changes only its position line; comments stay
    tool = doc.spec.tool("ETCH-02")
    x, y = tool.position_m
    tool.position_m = (x, y + 0.25)
    doc.save()
    after = path.read_text(encoding="utf-8")
    diff = changed_lines(before, after)
    assert len(diff) == 2, diff
    assert diff[0].strip() == f"-    position_m: [{x:g}, {y:g}]"
    assert diff[1].strip() == f"+    position_m: [{x:g}, {y + 0.25:g}]"
    assert comment_lines(after) == comment_lines(before)
    assert path.with_name(path.name + ".bak").read_text(encoding="utf-8") == before
    # the saved file reads back to the edited spec, field for field
    again = load_plant(path).spec
    assert again == doc.spec
    assert again.tool("ETCH-02").position_m == (x, y + 0.25)


def test_moving_a_tool_in_a_flow_mapping_changes_only_its_line(copy):
    before = copy.read_text(encoding="utf-8")
    doc = load_plant(copy)
    doc.spec.equipment[0].position_m = (3.5, 5)
    doc.save()
    after = copy.read_text(encoding="utf-8")
    diff = changed_lines(before, after)
    # ruamel moves an end-of-line comment that the longer line would reach
    assert [" ".join(line.split()) for line in diff] == [
        "- - {id: ETCH-01, type: etcher, group: ETCH, bay: etch, position_m: [3, 5]} # first etcher",
        "+ - {id: ETCH-01, type: etcher, group: ETCH, bay: etch, position_m: [3.5, 5]} # first etcher",
    ]


def test_comments_survive_an_edit(copy):
    before = copy.read_text(encoding="utf-8")
    doc = load_plant(copy)
    doc.spec.site.name = "Renamed plant"
    doc.spec.tool("LITHO-01").position_m = (16, 5)
    doc.save()
    after = copy.read_text(encoding="utf-8")
    assert comment_lines(after) == comment_lines(before)
    assert "    position_m: [16, 5]   # next to the etch bay" in after  # whole numbers stay whole
    assert len(changed_lines(before, after)) == 4


def test_editing_a_distribution_keeps_the_rest(copy):
    before = copy.read_text(encoding="utf-8")
    doc = load_plant(copy)
    rel = doc.spec.tool("LITHO-01").reliability
    assert rel is not None
    rel.mttr = config.s.Exponential(dist="exponential", mean=7200)
    doc.save()
    diff = changed_lines(before, copy.read_text(encoding="utf-8"))
    assert diff == [
        "-      mttr: {dist: exponential, mean: 3600}",
        "+      mttr: {dist: exponential, mean: 7200}",
    ]
    assert load_plant(copy).spec == doc.spec


def test_mini_plant_spec_survives_a_save(tmp_path):
    # mini_plant.yaml has a flow mapping over two lines, which ruamel reflows; the plant
    # itself must still come back unchanged.
    path = tmp_path / "mini.yaml"
    shutil.copy(ROOT / "tests" / "data" / "mini_plant.yaml", path)
    doc = load_plant(path)
    doc.save()
    assert load_plant(path).spec == doc.spec


def test_backup_keeps_the_previous_file(copy):
    before = copy.read_text(encoding="utf-8")
    doc = load_plant(copy)
    doc.spec.site.name = "Changed"
    doc.save()
    backup = copy.with_name(copy.name + ".bak")
    assert backup.read_text(encoding="utf-8") == before
    assert "Changed" in copy.read_text(encoding="utf-8")


def test_save_as_writes_a_new_file(copy, tmp_path):
    doc = load_plant(copy)
    target = tmp_path / "sub" / "copy.yaml"
    assert doc.save(target) == target
    assert doc.path == target
    assert load_plant(target).spec == doc.spec
    assert not target.with_name("copy.yaml.bak").exists()  # nothing was there before


def test_save_goes_through_a_temp_file_and_rename(copy, monkeypatch):
    renames: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src, dst):
        renames.append((str(src), str(dst)))
        assert Path(src).parent == copy.parent  # same file system: the rename is atomic
        assert Path(src).read_text(encoding="utf-8").startswith(("#", "schema"))
        real_replace(src, dst)

    monkeypatch.setattr(config.os, "replace", spy)
    load_plant(copy).save()
    # the backup first (renamed into place too), then the file itself
    assert [dst for _, dst in renames] == [str(copy) + ".bak", str(copy)]
    assert all(src != dst for src, dst in renames)


def test_a_failed_save_leaves_the_old_file_and_no_temp(copy, monkeypatch):
    before = copy.read_text(encoding="utf-8")
    doc = load_plant(copy)
    doc.spec.site.name = "Never written"

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(config.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        doc.save()
    assert copy.read_text(encoding="utf-8") == before
    leftovers = [p.name for p in copy.parent.iterdir() if p.suffix == ".tmp"]
    assert leftovers == []


def test_save_without_a_path_is_a_config_error(mini_text):
    doc = config.loads_plant(mini_text)
    with pytest.raises(config.ConfigError, match="give a path"):
        doc.save()


def test_reordered_steps_keep_their_own_style(tmp_path):
    import shutil

    from factory_twin.model.config import load_plant

    src = Path(__file__).resolve().parents[2] / "plant_configs" / "demo_fab.yaml"
    path = tmp_path / "demo.yaml"
    shutil.copy(src, path)
    doc = load_plant(path)
    proc = doc.spec.procedures[0]
    first, second = proc.steps[0], proc.steps[1]
    proc.steps = [second, first, *proc.steps[2:]]
    doc.save()
    text = path.read_text()
    original = src.read_text()
    # Same lines, two blocks swapped: every line of the file is still there, unchanged.
    assert sorted(text.splitlines()) == sorted(original.splitlines())
    again = load_plant(path).spec.procedures[0]
    assert [s.title for s in again.steps[:2]] == [second.title, first.title]


def test_backup_is_renamed_into_place_and_leaves_no_temp_files(copy):
    """The backup is made like the file itself (a finished file renamed into place): after
    two saves it holds the first save, it is a file of its own, and no temp file remains."""
    doc = load_plant(copy)
    doc.spec.site.name = "First"
    doc.save()
    first = copy.read_text(encoding="utf-8")
    doc.spec.site.name = "Second"
    doc.save()
    backup = copy.with_name(copy.name + ".bak")
    assert backup.read_text(encoding="utf-8") == first
    assert "Second" in copy.read_text(encoding="utf-8")
    assert backup.stat().st_ino != copy.stat().st_ino
    assert sorted(p.name for p in copy.parent.iterdir() if p.name.startswith(".")) == []
