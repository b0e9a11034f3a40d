"""Every kind of HTML file factory_twin writes passes html-validate with no error or warning.

The validator is the npm package ``html-validate`` (pinned in tests/html/package.json,
installed by scripts/setup.sh: ``npm ci --prefix tests/html``), run by validate_html.js with
its ``recommended`` preset (the two rules switched off are named and justified there).
Without node or the package the tests skip locally and fail under CI (tests/_requirements.py).

Kinds: the AR work-instruction page (every procedure of every plant, and through the
exporter), the experiment report (through ``factory-twin report``), the alarm performance
report and the drill debrief; each with names and texts that need escaping.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _node_tools import node_json
from _requirements import requires

from factory_twin.app.alarm_journal import AlarmJournal
from factory_twin.app.alarm_report import compute_report, report_from_journal
from factory_twin.app.alarm_report_html import write_html as write_alarm_html
from factory_twin.app.drill_debrief import write_html as write_debrief_html
from factory_twin.app.drill_log import AlarmRecord, DrillLog
from factory_twin.app.experiment import run
from factory_twin.ar import build_context, export_procedure
from factory_twin.ar.html import build_html
from factory_twin.cli import main
from factory_twin.model.config import load_plant
from factory_twin.model.drill_scoring import ActionRecord, InjectionRecord
from factory_twin.model.drills import find_drill

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "app"))
from experiment_helpers import DEMO, write_experiment  # noqa: E402
from test_alarm_report_metrics import END, known_events  # noqa: E402

NODE = shutil.which("node")
PLANTS = [
    REPO / "tests" / "ar" / "data" / "ar_plant.yaml",
    REPO / "plant_configs" / "demo_fab.yaml",
    REPO / "plant_configs" / "led_line.yaml",
]
SCAN4 = REPO / "plant_configs" / "demo_fab_fourth_scanner.scenario.yaml"
HOSTILE = '<b>"Ann" & Co</b>'  # a name that must be escaped in text and in attributes

pytestmark = requires(
    NODE and (HERE / "node_modules" / "html-validate").is_dir(),
    "node or the npm package html-validate is missing: run scripts/setup.sh"
    " (or 'npm ci --prefix tests/html'; Debian: apt-get install nodejs npm)",
)

Validate = Callable[[list[Path]], dict[str, Any]]


@pytest.fixture(scope="module")
def validate() -> Validate:
    """``validate(paths) -> {file name: {errors, warnings, messages}}`` by html-validate."""

    def check(paths: list[Path]) -> dict[str, Any]:
        assert paths
        assert NODE is not None
        return node_json(NODE, HERE / "validate_html.js", paths)

    return check


def assert_valid(validate: Validate, paths: list[Path]) -> None:
    """Every file of ``paths`` has no error and no warning (the messages are the report)."""
    reports = validate(paths)
    assert sorted(reports) == sorted(p.name for p in paths)
    bad = {name: r["messages"] for name, r in reports.items() if r["errors"] or r["warnings"]}
    assert bad == {}


def test_the_validator_flags_broken_html(validate, tmp_path):
    """The check is live: each fault in a broken page is reported under its rule."""
    ok = tmp_path / "ok.html"
    ok.write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>t</title></head>'
        '<body><p id="a">x</p><table><tbody><tr><td>1</td></tr></tbody></table></body></html>\n',
        encoding="utf-8",
    )
    broken = tmp_path / "broken.html"
    broken.write_text(
        "<!DOCTYPE html>\n<html><head><title>t</title></head><body>"
        '<p id="a">x</p><p id="a">y</p>'  # duplicate id
        '<img src="data:,">'  # no alt text
        "<table><tr><td>1</td></tr></table>"  # rows without tbody
        '<td align="left">'  # cell outside a table, obsolete attribute
        "<ul><div>z</div></ul>"  # invalid nesting
        "<span><em>w</span></em>"  # misnested end tags
        "<p>a < b & c</p></body></html>\n",  # raw characters
        encoding="utf-8",
    )
    reports = validate([ok, broken])
    assert reports["ok.html"]["errors"] == 0, reports["ok.html"]["messages"]
    rules = {m["rule"] for m in reports["broken.html"]["messages"]}
    expected = {
        "no-dup-id",
        "wcag/h37",
        "prefer-tbody",
        "no-deprecated-attr",
        "element-permitted-content",
        "close-order",
        "no-raw-characters",
        "element-required-attributes",  # <html> without lang
    }
    assert expected <= rules, " ".join(sorted(rules))


def test_ar_pages_of_every_procedure_are_valid(validate, tmp_path):
    files = []
    for path in PLANTS:
        spec = load_plant(path).spec
        for proc in spec.procedures:
            tool = next(e for e in spec.equipment if e.type == proc.equipment_type)
            ctx = build_context(spec, tool.id, proc.id, plant_path=path)
            out = tmp_path / f"{path.stem}_{ctx.stem}.html"
            out.write_bytes(build_html(ctx))
            files.append(out)
    assert len(files) >= len(PLANTS)
    assert_valid(validate, files)


def test_ar_export_writes_a_valid_page(validate, tmp_path):
    spec = load_plant(PLANTS[0]).spec
    result = export_procedure(
        spec, "PVD-01", "pvd-target-change", tmp_path, ["html"], plant_path=PLANTS[0]
    )
    assert_valid(validate, list(result.files["html"]))


def test_experiment_report_is_valid(validate, tmp_path):
    run(write_experiment(tmp_path, [DEMO, SCAN4], horizon_days=1, warmup=0.2, notes=HOSTILE))
    out = tmp_path / "report.html"
    assert main(["report", str(tmp_path / "t.results"), "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "&lt;b&gt;&quot;Ann&quot; &amp; Co&lt;/b&gt;" in page and page.count("<img") >= 6
    assert_valid(validate, [out])


def test_alarm_reports_are_valid(validate, tmp_path):
    journal = AlarmJournal(tmp_path / "journal.sqlite")
    try:
        journal.record(known_events(), plant="mini")
        full = report_from_journal(journal, start_s=0.0, end_s=END)
    finally:
        journal.close()
    pages = [
        write_alarm_html(full, tmp_path / "alarms.html", title=f"Fab {HOSTILE}"),
        write_alarm_html(compute_report([], start_s=0.0, end_s=3600.0), tmp_path / "empty.html"),
    ]
    assert "<svg" in pages[0].read_text(encoding="utf-8")
    assert_valid(validate, pages)


def test_drill_debriefs_are_valid(validate, tmp_path):
    spec = load_plant(DEMO).spec
    drill = find_drill(spec, "etch_helium_leak")
    proc = "etch-chamber-wet-clean"
    actions = [
        ActionRecord(HOSTILE, "acknowledge_alarm", 200, "ETCH-02", alarm="helium_leak.hi",
                     comment="seal <worn> & leaking"),
        ActionRecord(HOSTILE, "hold_tool", 230, "ETCH-02"),
        ActionRecord(HOSTILE, "open_procedure", 260, "ETCH-02", procedure=proc),
        ActionRecord("bob", "hold_tool", 250, "ETCH-01"),
    ]  # fmt: skip
    alarm = AlarmRecord(
        195, "ETCH-02.helium_leak.hi", "ETCH-02", "helium_leak.hi", "He flow > 4 sccm", True, False
    )
    log = DrillLog(
        plant=spec.site.name,
        drill_id=drill.id,
        start_plant_s=7200,
        started_at=1_700_000_000.0,
        injections=[InjectionRecord("leak", "tag_drift", "ETCH-02", 60, detail='He "leak"')],
        actions=actions,
        alarms=[alarm],
        trainees=[HOSTILE, "bob"],
        end_s=2160,
    )
    nobody = DrillLog(spec.site.name, drill.id, 7200, 1_700_000_000.0, end_s=600)
    pages = [
        write_debrief_html(tmp_path / "debrief.html", log, drill, spec),
        write_debrief_html(tmp_path / "nobody.html", nobody, drill, spec),
    ]
    text = pages[0].read_text(encoding="utf-8")
    assert "&lt;b&gt;&quot;Ann&quot; &amp; Co&lt;/b&gt;" in text and "<tbody>" in text
    assert_valid(validate, pages)
