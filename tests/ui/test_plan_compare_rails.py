"""The Plan workspace's Compare heat map on the rails: a fleet experiment (the rail loop of
tests/data, 3 vehicles against 1) colours each rail link by the replications' mean figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from PySide6.QtCore import QSettings

from factory_twin.app.experiment import load_experiment, run
from factory_twin.app.experiment_compare import RAIL_METRICS
from factory_twin.ui.qt_plan_compare import QtComparePanel

pytestmark = pytest.mark.gui

LOOP = Path(__file__).parents[1] / "data" / "amhs_loop_plant.yaml"


@pytest.fixture(scope="module")
def fleet_result(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("rails_exp")
    one = d / "fleet1.scenario.yaml"
    one.write_text(yaml.safe_dump({"name": "fleet 1", "base": str(LOOP),
                                   "changes": [{"change": "set_amhs", "fleet": 1}]}))  # fmt: skip
    exp = d / "rails.experiment.yaml"
    exp.write_text(yaml.safe_dump({"scenarios": [str(LOOP), str(one)], "horizon_days": 6,
                                   "warmup": 1, "replications": 3, "seed": 3,
                                   "processes": 1}))  # fmt: skip
    run(load_experiment(exp), d / "rails.results")
    return d / "rails.results"


def test_rail_heat_map_of_a_fleet_experiment(qtbot, tmp_path, fleet_result):
    panel = QtComparePanel(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    # released as the window does (shutdown): a heat-map view left open made a later test's
    # first render crash in paintGL (tests/ui/test_plan_done.py, seen in CI)
    qtbot.addWidget(panel, before_close_func=lambda p: p.shutdown())
    panel.resize(1100, 700)
    comp = panel.open_folder(fleet_result)
    assert comp is not None and comp.has_rails()
    keys = [panel.heat_metric.itemData(i) for i in range(panel.heat_metric.count())]
    assert keys[-2:] == list(RAIL_METRICS)
    panel.show()
    panel.tabs.setCurrentWidget(panel.heat_tab)
    base = comp.res.base.name
    panel.heat_scenario.setCurrentText(base)
    panel.heat_metric.setCurrentIndex(keys.index("rail_entries"))
    assert panel.view is not None and panel.view.scene is not None
    layer = panel.view.scene.amhs
    assert layer is not None and layer.heat_map and layer.served
    values = comp.rail_values(base, "rail_entries")
    shown = np.asarray(layer.rails.cell_data["congestion"])
    np.testing.assert_allclose(shown, [values[lk] for lk in layer.link_ids])
    assert shown.max() > 0  # vehicles entered the rails
    # the replications' mean of what each one kept
    sc = comp.res.scenarios[0]
    import pandas as pd

    reps = [pd.read_parquet(sc.rep_dir(r) / "rails.parquet") for r in sc.replications]
    mean = np.mean([r["entries_per_h"].to_numpy() for r in reps], axis=0)
    np.testing.assert_allclose(shown, mean, rtol=1e-12)
    assert layer.legend_title is not None
    assert layer.legend_title.GetInput().startswith("Vehicle entries/h per rail link")
    assert layer.rail_actor.mapper.scalar_range == pytest.approx(comp.rail_range("rail_entries"))
    assert "entries/h" in panel.heat_info.text()
    assert panel.heat is not None and panel.heat.bar is not None
    assert not panel.heat.bar.GetVisibility()  # the tools' scale is not shown
    panel.view.plotter.render()
    panel.grab().save(str(tmp_path / "compare_rails.png"))
    panel.view.plotter.screenshot(str(tmp_path / "compare_rails_3d.png"))
    # back to a tool metric: plain rails, the tools' scale again
    panel.heat_metric.setCurrentIndex(0)
    assert not layer.heat_map and panel.heat.bar.GetVisibility()
