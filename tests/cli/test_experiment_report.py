"""factory-twin report: the HTML opens offline in headless Chromium without errors; PDF pages
render non-blank (the AR tests' Chromium and poppler harness)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _requirements import missing

from factory_twin.app.experiment import run
from factory_twin.app.experiment_report import fmt
from factory_twin.cli import main
from factory_twin.model.flows import flow_table
from factory_twin.model.scenario import load_plant_or_scenario

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
from ar.conftest import Browser
from experiment_helpers import DEMO, REPO, write_experiment

SCAN4 = REPO / "plant_configs" / "demo_fab_fourth_scanner.scenario.yaml"


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("exp")
    run(write_experiment(d, [DEMO, SCAN4], horizon_days=3, warmup=0.5))
    return d / "t.results"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    missing("Chromium is not installed (Debian: apt-get install chromium)")


def test_html_report_is_self_contained_and_opens_without_errors(result_dir, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", str(result_dir), "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "demo_fab_fourth_scanner" in page and "add SCAN-04" in page
    assert "no significant difference" in page or "better" in page or "worse" in page
    assert "Streams(seed, r)" in page
    # the flow summary: each scenario's transport per day, as model.flows computes it
    assert "Transport per day, every scenario" in page
    assert "Largest flows, demo_fab_fourth_scanner" in page
    km = flow_table(load_plant_or_scenario(SCAN4).spec).total_distance_m_per_day / 1000.0
    assert f"<td>{fmt(km)}</td>" in page
    # nothing fetched from anywhere: no external URL in any src/href
    assert not re.search(r'(src|href)="(?!data:)', page)
    browser = Browser(_chromium(), tmp_path / "profile")
    try:
        tab = browser.open(out.as_uri(), (1200, 900))
        n_img = tab.eval(
            "[...document.images].filter(i => i.complete && i.naturalWidth > 0).length"
        )
        assert n_img == page.count("<img")
        assert n_img >= 6
        shot = tab.screenshot()
        assert shot.std() > 10  # not blank
        assert tab.errors() == []
        tab.close()
    finally:
        browser.close()


def test_pdf_report_pages_render_non_blank(result_dir, tmp_path):
    out = tmp_path / "report.pdf"
    assert main(["report", str(result_dir), "-o", str(out)]) == 0
    pdftoppm = shutil.which("pdftoppm") or missing(
        "pdftoppm is not installed (Debian: apt-get install poppler-utils)"
    )
    subprocess.run([pdftoppm, "-r", "30", "-png", str(out), str(tmp_path / "p")], check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) >= 3
    from PIL import Image

    for p in pages:
        img = np.asarray(Image.open(p).convert("L"), dtype=float)
        assert (img < 200).mean() > 0.005, f"{p.name} is blank"


def test_report_errors_are_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "not an experiment result folder" in err and "Traceback" not in err
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "r.docx")]) == 2
