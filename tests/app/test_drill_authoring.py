"""Drill authoring without Qt: undoable edits, refusals naming what, save keeping comments."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from factory_twin.app import drill_authoring as da
from factory_twin.model.config import load_plant

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "plant_configs" / "demo_fab.yaml"
D = "etch_helium_leak"


@pytest.fixture
def doc(tmp_path: Path):
    p = tmp_path / "fab.yaml"
    shutil.copy(DEMO, p)
    p.write_text(p.read_text().replace("drills:\n", "drills:\n  # keep me\n", 1))
    return load_plant(p)


def _drill(spec):
    return spec.drills[da.drill_index(spec, D)]


def test_edits_apply_revert_and_keep_time_order(doc) -> None:
    spec = doc.spec
    before = _drill(spec)
    e = da.add_injection(spec, D, {"at_s": 200, "equipment": "ETCH-01", "fault": "breakdown"})
    assert _drill(spec) is before  # built, not applied yet
    e.apply(spec)
    d = _drill(spec)
    assert [(i.id, i.at_s) for i in d.injections] == [
        ("leak", 60),
        ("inj3", 200),
        ("interlock", 360),
    ]
    e2 = da.add_response(
        spec, D, {"action": "hold_tool", "equipment": "ETCH-01", "within_s": 60, "after": "inj3"}
    )
    e2.apply(spec)
    assert len(_drill(spec).expected) == 6
    e3 = da.set_injection_fields(spec, D, 1, at_s=100.0, message="")
    e3.apply(spec)
    assert _drill(spec).injections[1].at_s == 100
    for edit in (e3, e2, e):
        edit.revert(spec)
    assert _drill(spec) == before
    # an edit whose drill changed underneath is refused
    e.apply(spec)
    with pytest.raises(da.DrillEditError, match="changed underneath"):
        e2.revert(spec)


def test_refusals_say_what_and_where(doc) -> None:
    spec = doc.spec
    with pytest.raises(da.DrillEditError, match=r"injections\.\d+\.tag: .*no_such_tag"):
        da.add_injection(
            spec,
            D,
            {"at_s": 10, "equipment": "ETCH-01", "fault": "tag_stuck", "tag": "no_such_tag"},
        )
    with pytest.raises(da.DrillEditError, match="needs exactly one of 'at_s'"):
        da.add_injection(spec, D, {"equipment": "ETCH-01", "fault": "breakdown"})
    with pytest.raises(da.DrillEditError, match="'after' of expected response"):
        da.remove_injection(spec, D, 0)
    with pytest.raises(da.DrillEditError, match="has no expected response 9"):
        da.remove_response(spec, D, 8)
    with pytest.raises(da.DrillEditError, match="no drill 'nope'"):
        da.set_drill_fields(spec, "nope", briefing="x")
    with pytest.raises(da.DrillEditError, match="pass_mark_pct"):
        da.set_drill_fields(spec, D, pass_mark_pct=150)


def test_save_round_trip_keeps_comments(doc) -> None:
    spec = doc.spec
    da.set_drill_fields(spec, D, briefing="New briefing.").apply(spec)
    da.remove_response(spec, D, 4).apply(spec)
    path = doc.save()
    text = path.read_text()
    assert "# keep me" in text
    assert path.with_name(path.name + ".bak").exists()
    back = load_plant(path).spec
    assert _drill(back).briefing == "New briefing."
    assert _drill(back) == _drill(spec)
    assert len(_drill(back).expected) == 4
