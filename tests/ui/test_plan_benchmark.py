"""benchmarks/plan_edit_speed.py keeps running: a few drag events on the demo fab.

Not a timing test (the figures are the benchmark's to print): it checks that the whole drag
event is measured on the window's scene code and that the incremental flows equal the full
rebuild after every event (the benchmark asserts that itself).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location(
        "plan_edit_speed", REPO / "benchmarks" / "plan_edit_speed.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_benchmark_measures_model_and_whole_drag_events(qtbot):
    bench = _bench()
    from factory_twin.model.config import load_plant

    path = REPO / "plant_configs" / "demo_fab.yaml"
    model = bench.measure_model_drag(load_plant(path).spec, 8, base_dir=path.parent)
    assert model["events"] == 8 and model["rebuild_ms"] > 0 and model["drag_ms"] > 0
    ui = bench.measure_ui_drag(path, 6)
    assert ui["ui_events"] == 6
    assert ui["render_ms"] > 1.0 and ui["bare_frame_ms"] > 1.0  # a real render, not a no-op
    assert ui["event_ms"] >= ui["edit_ms"]
