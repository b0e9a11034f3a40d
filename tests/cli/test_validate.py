"""`validate` says how lots move, and when that is the default the file did not ask for."""

from __future__ import annotations

from pathlib import Path

from factory_twin.cli import main

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "data" / "mini_plant.yaml"


def test_a_plant_without_transport_is_told_it_has_the_default(capsys):
    assert main(["validate", str(MINI)]) == 0
    out = capsys.readouterr().out
    assert ("transport: default overhead hoist (the file has no transport section), "
            "30 s + distance / 2 m/s, unlimited vehicles") in out  # fmt: skip


def test_a_plant_with_transport_shows_its_own(capsys, tmp_path):
    text = (
        MINI.read_text() + "transport: {kind: agv, speed_m_s: 1.5, handling_s: 20, vehicles: 3}\n"
    )
    (tmp_path / "p.yaml").write_text(text)
    assert main(["validate", str(tmp_path / "p.yaml")]) == 0
    assert "transport: AGV, 20 s + distance / 1.5 m/s, 3 vehicles" in capsys.readouterr().out
    (tmp_path / "q.yaml").write_text(MINI.read_text() + "transport: {kind: none}\n")
    assert main(["validate", str(tmp_path / "q.yaml")]) == 0
    assert "transport: none (moves between tools take no time)" in capsys.readouterr().out
