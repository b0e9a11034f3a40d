"""`factory-twin report` on a result folder with a damaged file: one line naming the folder.

A cut or overwritten Parquet table, an edited ``plant.json`` or scenario marker are bad
input like a broken plant file (exit 2, a message), not an internal error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from factory_twin.app.experiment import run as run_experiment
from factory_twin.cli import main

PLANTS = Path(__file__).resolve().parents[2] / "plant_configs"


def _run(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("exp")
    text = (f"scenarios: [{PLANTS / 'demo_fab.yaml'}]\nhorizon_days: 1\nwarmup: 0.2\n"
            "replications: 1\nseed: 7\nprocesses: 1\n")  # fmt: skip
    (d / "t.experiment.yaml").write_text(text)
    run_experiment(d / "t.experiment.yaml")
    return d / "t.results"


@pytest.mark.parametrize(
    ("pattern", "data"),
    [
        ("*/rep-000/lots.parquet", b"PAR1"),
        ("*/kpis.parquet", b""),
        ("*/plant.json", b'"x"'),
        ("*/complete.json", b'{"format": 1}'),
    ],
)
def test_report_on_a_damaged_result_names_the_folder(result_dir, tmp_path, capsys, pattern, data):
    (target,) = result_dir.glob(pattern)
    original = target.read_bytes()
    target.write_bytes(data)
    try:
        code, err = _run(["report", str(result_dir), "-o", str(tmp_path / "r.html")], capsys)
    finally:
        target.write_bytes(original)
    assert code == 2, err
    assert "internal error" not in err and "Traceback" not in err, err
    assert str(result_dir) in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "r.html").exists()
    assert _run(["report", str(result_dir), "-o", str(tmp_path / "r.html")], capsys)[0] == 0
