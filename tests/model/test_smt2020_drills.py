"""The operator drills the SMT2020 importer writes for the HVLM fab.

Every drill names tools of the imported plant, tags of those tools' types with the limits its
alarms need, only responses the drill engine scores and no procedure (the plant has none);
both shipped SMT2020 plants carry the same drills. A model without the drills' tools (the
small synthetic one of ``test_smt2020_tables``) gets none.
"""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
from test_smt2020_import import DATA, REPO, needs_data
from test_smt2020_tables import write_model

from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.model.drill_checks import check_drill
from factory_twin.model.smt2020 import Smt2020Import, import_smt2020

DRILLS = ["litho_stage_drift_hot_lot", "implant_bottleneck_breakdown", "furnace_overtemperature"]
SHIPPED = [
    REPO / "plant_configs" / "smt2020_hvlm.yaml",
    REPO / "plant_configs" / "smt2020_hvlm_smat2022.yaml",
]


@pytest.fixture(scope="module")
def hvlm() -> Smt2020Import:
    return import_smt2020(DATA / "SMT2020_HVLM")


@needs_data
def test_the_importer_writes_three_drills_on_real_tools(hvlm: Smt2020Import) -> None:
    spec = hvlm.document.spec
    assert [d.id for d in spec.drills] == DRILLS
    assert hvlm.report.drills == DRILLS
    assert "# litho_stage_drift_hot_lot, implant_bottleneck_breakdown" in hvlm.text()
    tools = {e.id: e for e in spec.equipment}
    groups = spec.groups()
    for d in spec.drills:
        assert check_drill(spec, d) == []
        assert d.briefing and d.objectives and d.start_at_s >= 3600 and d.pass_mark_pct > 0
        for inj in d.injections:
            assert inj.equipment in tools or inj.equipment in groups, (d.id, inj.id)
            if inj.tag is not None:
                t = spec.equipment_type(tools[inj.equipment].type)
                tag = t.tag(inj.tag)
                if inj.fault == "alarm":
                    assert getattr(tag.alarms, inj.limit or "") is not None
        for r in d.expected:
            assert r.action in get_args(s.ResponseKind)
            assert r.procedure is None  # the SMT2020 plant has no procedures
            assert r.after in {i.id for i in d.injections}
            if r.equipment:
                assert r.equipment in tools
            if r.alarm and r.alarm != "fault":
                tag_name, _, limit = r.alarm.rpartition(".")
                t = spec.equipment_type(tools[r.equipment].type)
                assert getattr(t.tag(tag_name).alarms, limit) is not None


@needs_data
def test_a_drift_crosses_the_high_limit_and_hot_lots_wait_at_the_drilled_group(
    hvlm: Smt2020Import,
) -> None:
    spec = hvlm.document.spec
    products = {p.id: p for p in spec.products}
    routes = {r.id: r for r in spec.routes}
    tools = {e.id: e for e in spec.equipment}
    for d in spec.drills:
        for inj in d.injections:
            if inj.fault == "hot_lot":
                step = routes[products[inj.product or ""].route].steps[(inj.step or 1) - 1]
                assert step.tool_group == inj.equipment, (d.id, inj.id)
            if inj.fault == "tag_drift":
                tag = spec.equipment_type(tools[inj.equipment].type).tag(inj.tag or "")
                assert tag.alarms is not None and tag.alarms.hi is not None
                assert tag.normal_range is not None and inj.value is not None
                assert tag.normal_range[1] < tag.alarms.hi < inj.value


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_shipped_plants_carry_the_drills(path: Path) -> None:
    spec = load_plant(path).spec
    assert [d.id for d in spec.drills] == DRILLS


def test_a_model_without_the_drilled_tools_gets_no_drills(tmp_path: Path) -> None:
    result = import_smt2020(write_model(tmp_path))
    assert result.document.spec.drills == [] and result.report.drills == []
    assert "drills" not in result.data and "Operator drills" not in result.text()
