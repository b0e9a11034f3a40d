"""The drill debrief: HTML in headless Chromium (no console errors), PDF pages not blank,
the trainee history in SQLite and its CSV. (Here for the Chromium/poppler harness of tests/ar.)"""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from factory_twin.app.drill_debrief import (
    TraineeHistory,
    build_pdf,
    debrief_scores,
    timeline,
    write_html,
)
from factory_twin.app.drill_log import AlarmRecord, DrillLog
from factory_twin.model.config import load_plant
from factory_twin.model.drill_scoring import ActionRecord, InjectionRecord
from factory_twin.model.drills import find_drill

DEMO = Path(__file__).resolve().parents[2] / "plant_configs" / "demo_fab.yaml"
P = "etch-chamber-wet-clean"


@pytest.fixture(scope="module")
def run():
    spec = load_plant(DEMO).spec
    drill = find_drill(spec, "etch_helium_leak")
    ann = [
        ActionRecord("ann", "acknowledge_alarm", 200, "ETCH-02", alarm="helium_leak.hi", comment="He"),
        ActionRecord("ann", "hold_tool", 230, "ETCH-02"),
        ActionRecord("ann", "open_procedure", 260, "ETCH-02", procedure=P),
        *[ActionRecord("ann", "sign_off_step", 300 + n, "ETCH-02", procedure=P, step=n) for n in (1, 2, 3)],
        ActionRecord("ann", "dispatch_maintenance", 400, "ETCH-02"),
    ]  # fmt: skip
    bob = [
        ActionRecord("bob", "hold_tool", 250, "ETCH-01"),
        ActionRecord("bob", "acknowledge_alarm", 420, "ETCH-02", alarm="helium_leak.hi", comment="<late>"),
    ]  # fmt: skip
    log = DrillLog(
        plant=spec.site.name,
        drill_id=drill.id,
        start_plant_s=7200,
        started_at=1_700_000_000.0,
        injections=[
            InjectionRecord("leak", "tag_drift", "ETCH-02", 60, detail="Chuck seal worn"),
            InjectionRecord("interlock", "interlock", "ETCH-02", 360, procedure=P, step=1),
        ],
        actions=ann + bob,
        alarms=[
            AlarmRecord(
                195,
                "ETCH-02.helium_leak.hi",
                "ETCH-02",
                "helium_leak.hi",
                "helium_leak.hi: 4.02 sccm above the hi limit",
                True,
                False,
            )
        ],
        trainees=["ann", "bob"],
        end_s=2160,
    )
    return spec, drill, log


def test_scores_timeline_and_log_round_trip(run) -> None:
    spec, drill, log = run
    scores = debrief_scores(log, drill, spec)
    assert scores["ann"].score == 70 and scores["ann"].passed
    assert scores["bob"].score == 0 and not scores["bob"].passed  # late ack 0, -5 wrong tool
    kinds = [r.kind for r in timeline(log, scores["ann"])]
    assert kinds[:3] == ["injection", "alarm", "ack"]  # injection -> alarm -> ack -> actions
    assert DrillLog.from_json(log.to_json()) == log


def test_html_debrief_renders_in_chromium(run, browser, tmp_path: Path) -> None:
    spec, drill, log = run
    page = write_html(tmp_path / "debrief.html", log, drill, spec)
    text = page.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert "&lt;late&gt;" in text  # trainee text is escaped
    tab = browser.open(page.as_uri())
    try:
        got = tab.eval("document.querySelectorAll('h2').length")
        assert got >= 3
        assert "PASS" in tab.eval("document.body.innerText")
        assert tab.errors() == []
    finally:
        tab.close()


def test_pdf_debrief_pages_are_not_blank(run, poppler, tmp_path: Path) -> None:
    spec, drill, log = run
    pdf = tmp_path / "debrief.pdf"
    pdf.write_bytes(build_pdf(log, drill, spec))
    subprocess.run(
        [poppler["pdftoppm"], "-r", "40", "-png", str(pdf), str(tmp_path / "p")], check=True
    )
    pages = sorted(tmp_path.glob("p-*.png"))
    assert pages
    for f in pages:
        img = np.asarray(Image.open(f).convert("L"))
        assert (img < 200).mean() > 0.001, (f, (img < 200).mean())  # ink on every page
    text = subprocess.run(
        [poppler["pdftotext"], str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Etch chamber helium leak" in text and "bob" in text


def test_trainee_history_in_sqlite_and_csv(run, tmp_path: Path) -> None:
    spec, drill, log = run
    hist = TraineeHistory(tmp_path / "history.sqlite")
    assert hist.add(log, debrief_scores(log, drill, spec), "x.drill.json") == 2
    hist.add(log, debrief_scores(log, drill, spec))  # the same run again replaces it
    assert len(hist.rows()) == 2
    assert hist.rows("ann")[0]["score"] == 70 and hist.rows("ann")[0]["passed"] == 1
    out = hist.export_csv(tmp_path / "h.csv")
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {r["trainee"] for r in rows} == {"ann", "bob"} and rows[0]["drill_id"] == drill.id
    hist.close()
