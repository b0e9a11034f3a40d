"""A scenario file compared with its base plant on common random numbers."""

from __future__ import annotations

import json
from pathlib import Path

from factory_twin.cli import main

PLANTS = Path(__file__).resolve().parents[2] / "plant_configs"


def test_a_fourth_scanner_lowers_the_litho_utilisation(tmp_path, capsys):
    # short on purpose: a few days and replications; the paired interval already excludes 0
    code = main(
        ["compare", str(PLANTS / "demo_fab.yaml"),
         str(PLANTS / "demo_fab_fourth_scanner.scenario.yaml"),
         "--days", "5", "--replications", "3", "--jobs", "1", "--json"]
    )  # fmt: skip
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert [e["scenario"] for e in data["scenarios"]] == ["demo_fab", "demo_fab_fourth_scanner"]
    diff = data["differences"]["utilisation/SCAN"][0]
    assert diff["scenario"] == "demo_fab_fourth_scanner"
    assert diff["verdict"] == "lower"
    assert diff["difference"]["high"] < 0  # the paired 95 % interval lies below zero
    base_util = data["scenarios"][0]["results"]["kpis"]["utilisation/SCAN"]["mean"]
    # n scanners doing the same work: about n/(n+1) of the utilisation
    assert diff["difference"]["mean"] < -0.1 * base_util
