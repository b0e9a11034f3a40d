"""Helpers of the experiment tests: write experiment and scenario files around the demo fab."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from factory_twin.errors import ConfigError
from factory_twin.model.config import load_plant
from factory_twin.model.scenario import loads_scenario

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "plant_configs" / "demo_fab.yaml"


def write_experiment(folder: Path, scenarios: list[Path], name: str = "t", **options: Any) -> Path:
    """Write ``folder/<name>.experiment.yaml`` naming ``scenarios`` (absolute paths)."""
    data: dict[str, Any] = {"scenarios": [str(p) for p in scenarios], "horizon_days": 5,
                            "warmup": 1, "replications": 2, "seed": 7, "processes": 2}  # fmt: skip
    data.update(options)
    path = folder / f"{name}.experiment.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def write_scenario(folder: Path, name: str, changes: list[dict[str, Any]]) -> Path:
    """Write ``folder/<name>.scenario.yaml`` on the demo fab; check that it applies."""
    data = {"name": name, "base": str(DEMO), "changes": changes}
    text = yaml.safe_dump(data, sort_keys=False)
    path = folder / f"{name}.scenario.yaml"
    path.write_text(text, encoding="utf-8")
    loads_scenario(text, source=str(path), path=path).apply()
    return path


def add_tool_change(group: str, new_id: str) -> dict[str, Any]:
    """An add_tool change copying the group's first tool, at the first free spot of its bay."""
    spec = load_plant(DEMO).spec
    like = spec.groups()[group][0]
    bay = spec.bay(like.bay)
    ox, oy = bay.origin_m
    w, h = bay.size_m
    for fy in (0.15, 0.3, 0.5, 0.7, 0.85):
        for fx in (0.1, 0.25, 0.4, 0.55, 0.7, 0.85):
            change = {"change": "add_tool", "id": new_id, "like": like.id,
                      "position_m": [round(ox + fx * w, 2), round(oy + fy * h, 2)]}  # fmt: skip
            text = yaml.safe_dump({"base": str(DEMO), "changes": [change]})
            try:
                loads_scenario(
                    text, source="probe", path=DEMO.parent / "probe.scenario.yaml"
                ).apply()
            except ConfigError:
                continue
            return change
    msg = f"no free spot for one more {group} tool in bay {bay.id}"
    raise AssertionError(msg)


def move_to_bay_changes(tools: list[str], bay_id: str) -> list[dict[str, Any]]:
    """move_tool changes putting ``tools`` at free spots of another bay (further away)."""
    spec = load_plant(DEMO).spec
    bay = spec.bay(bay_id)
    ox, oy = bay.origin_m
    w, h = bay.size_m
    changes: list[dict[str, Any]] = []
    spots = [(fx, fy) for fy in (0.2, 0.5, 0.8) for fx in (0.15, 0.4, 0.65, 0.9)]
    for tool in tools:
        for fx, fy in spots:
            c = {"change": "move_tool", "id": tool, "bay": bay_id,
                 "position_m": [round(ox + fx * w, 2), round(oy + fy * h, 2)]}  # fmt: skip
            text = yaml.safe_dump({"base": str(DEMO), "changes": [*changes, c]})
            try:
                loads_scenario(text, source="probe", path=DEMO.parent / "p.scenario.yaml").apply()
            except ConfigError:
                continue
            changes.append(c)
            break
        else:
            msg = f"no free spot for {tool} in bay {bay_id}"
            raise AssertionError(msg)
    return changes
