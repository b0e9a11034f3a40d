"""Synthetic plants of any size, for load tests and benchmarks."""

from __future__ import annotations

from factory_twin.model.schema import PlantSpec


def synthetic_plant(machines: int, tags_per_machine: int, *, alarm_every: int = 0) -> PlantSpec:
    """Return a plant of ``machines`` identical tools with ``tags_per_machine`` float tags each.

    The tools stand on a square grid 4 m apart in one bay. Every ``alarm_every``-th tag
    (0: none) has hi/hihi limits above its normal range.

    Examples
    --------
    >>> len(synthetic_plant(10, 3).equipment)
    10
    """
    tags = [
        {
            "name": f"t{i:03d}",
            "unit": "Pa",
            "normal_range": [0.0, 10.0],
            "alarms": {"hi": 12.0, "hihi": 15.0} if alarm_every and i % alarm_every == 0 else None,
        }
        for i in range(tags_per_machine)
    ]
    side = int(machines**0.5) + 1
    size = 4.0 * side + 4
    return PlantSpec.model_validate(
        {
            "schema_version": 1,
            "site": {
                "name": "Synthetic fab",
                "floor_m": [size, size],
                "bays": [{"id": "bay", "origin_m": [0, 0], "size_m": [size, size]}],
            },
            "equipment_types": [
                {
                    "id": "tool",
                    "kind": "cvd",
                    "shape": {"parts": [{"name": "body", "box": [1, 1, 1]}]},
                    "tags": tags,
                }
            ],
            "equipment": [
                {
                    "id": f"T{i:05d}",
                    "type": "tool",
                    "group": "G",
                    "bay": "bay",
                    "position_m": [2.0 + 4.0 * (i % side), 2.0 + 4.0 * (i // side)],
                }
                for i in range(machines)
            ],
        }
    )
