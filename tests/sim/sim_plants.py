"""Tiny plants built in code for the simulation validation tests."""

from __future__ import annotations

from typing import Any

from factory_twin.model import schema as s


def plant(
    stations: list[dict[str, Any]],
    *,
    release: dict[str, Any],
    wafers: int = 1,
    transport: dict[str, Any] | None = None,
    tool_groups: list[dict[str, Any]] | None = None,
    types: list[dict[str, Any]] | None = None,
    steps: list[dict[str, Any]] | None = None,
    products: list[dict[str, Any]] | None = None,
    initial_wip: list[dict[str, Any]] | None = None,
) -> s.PlantSpec:
    """Return a plant with one tool group per station, a line route through them.

    Each station is ``{"id": "S1", "tools": 2, "time": <distribution>, ...}``; extra keys
    go into the route step. ``release`` is the product's release.
    """
    equipment = []
    route_steps = []
    for k, st in enumerate(stations):
        st = dict(st)
        gid = st.pop("id")
        n = st.pop("tools", 1)
        typ = st.pop("type", "t")
        rel = st.pop("reliability", None)
        pm = st.pop("pm", None)
        for j in range(n):
            e: dict[str, Any] = {
                "id": f"{gid}-{j + 1}",
                "type": typ,
                "group": gid,
                "bay": "b",
                "position_m": [5.0 * k + 1, 2.0 * j + 1],
            }
            if rel is not None:
                e["reliability"] = rel
            if pm is not None:
                e["pm"] = pm
            equipment.append(e)
        step = {"tool_group": gid, "process_time": st.pop("time")}
        step.update(st)
        route_steps.append(step)
    doc: dict[str, Any] = {
        "schema_version": 1,
        "site": {
            "name": "test",
            "floor_m": [100, 100],
            "bays": [{"id": "b", "origin_m": [0, 0], "size_m": [100, 100]}],
        },
        "equipment_types": types
        or [{"id": "t", "kind": "other", "shape": {"parts": [{"name": "p", "box": [1, 1, 1]}]}}],
        "equipment": equipment,
        "tool_groups": tool_groups or [],
        "routes": [{"id": "r", "steps": steps or route_steps}],
        "products": products
        or [{"id": "p", "route": "r", "wafers_per_lot": wafers, "release": release}],
        "transport": transport or {"kind": "none"},
        "initial_wip": initial_wip or [],
    }
    return s.PlantSpec.model_validate(doc)


def exp(mean: float) -> dict[str, Any]:
    """An exponential distribution."""
    return {"dist": "exponential", "mean": mean}
