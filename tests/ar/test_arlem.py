"""ARLEM (IEEE 1589-2020) export: both models follow the standard's JSON binding, every step
is an action with its instruction, and each action points at its component's poi."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest

from factory_twin.ar.arlem import build_arlem
from factory_twin.ar.geometry import to_y_up

# The IEEE 1589-2020 JSON binding as checked by openARLEM's arlem.js validator, reduced
# to the elements this exporter writes; unknown keys are errors, as in the standard.
_NUM = {"type": "string", "pattern": r"^-?([0-9]+\.)?[0-9]+$"}
_ID = {"type": "string", "minLength": 1, "maxLength": 100}
_VIEWPORT = {"enum": ["actions", "reactions", "warnings"]}
_ACTIVATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["target", "type", "augmentation"],
    "properties": {
        "target": _ID,
        "type": {"enum": ["primitive", "predicate", "warning", "action"]},
        "augmentation": _ID,
        "poi": _ID,
        "option": {"type": "string"},
        "viewport": _VIEWPORT,
        "url": {"type": "string"},
        "state": {"type": "string"},
        "text": {"type": "string", "maxLength": 100},
        "sensor": {"type": "string"},
        "key": {"type": "string"},
    },
}
_DEACTIVATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["target", "type", "augmentation"],
    "properties": {
        "target": _ID,
        "type": {"enum": ["primitive", "predicate", "warning", "action", "*"]},
        "augmentation": _ID,
        "poi": _ID,
        "viewport": _VIEWPORT,
    },
}
_STACK = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "removeSelf": {"type": "boolean"},
        "activates": {"type": "array", "items": _ACTIVATE},
        "deactivates": {"type": "array", "items": _DEACTIVATE},
        "messages": {"type": "array"},
        "if": {"type": "array"},
    },
}
ACTIVITY_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "name", "description", "language", "workplace", "start"],
    "properties": {
        "id": _ID,
        "name": {"type": "string", "maxLength": 1000},
        "description": {"type": "string", "maxLength": 10000},
        "language": {"type": "string", "maxLength": 2},
        "workplace": {"type": "string", "maxLength": 2000},
        "start": _ID,
        "actions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "viewport", "type", "enter", "exit", "triggers"],
                "properties": {
                    "id": _ID,
                    "viewport": _VIEWPORT,
                    "type": _VIEWPORT,
                    "device": _ID,
                    "location": {"type": "string", "maxLength": 1000},
                    "predicate": {"type": "string"},
                    "instruction": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["title", "description"],
                        "properties": {
                            "title": {"type": "string", "maxLength": 100},
                            "description": {"type": "string", "maxLength": 5000},
                        },
                    },
                    "enter": _STACK,
                    "exit": _STACK,
                    "triggers": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "id": _ID,
                                "mode": {"enum": ["sensor", "detect", "click", "voice"]},
                                "duration": {"type": "integer"},
                                "type": {"enum": ["tangible", "action"]},
                                "viewport": _VIEWPORT,
                                "key": {"type": "string"},
                                "value": {"type": "string"},
                                "operator": {"enum": ["exceed", "below", "equal", "between"]},
                            },
                        },
                    },
                },
            },
        },
    },
}
_POI = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "id",
        "x-offset",
        "y-offset",
        "z-offset",
        "x-rotation",
        "y-rotation",
        "z-rotation",
    ],
    "properties": {
        "id": _ID,
        **{k: _NUM for k in ("x-offset", "y-offset", "z-offset")},
        **{k: _NUM for k in ("x-rotation", "y-rotation", "z-rotation")},
    },
}
_TANGIBLE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "name", "detectable"],
    "properties": {
        "id": _ID,
        "name": {"type": "string", "maxLength": 1000},
        "detectable": _ID,
        "pois": {"type": "array", "items": _POI},
    },
}
WORKPLACE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "name", "origin"],
    "properties": {
        "id": _ID,
        "name": {"type": "string", "maxLength": 1000},
        "origin": _ID,
        "things": {"type": "array", "items": _TANGIBLE},
        "places": {"type": "array", "items": _TANGIBLE},
        "persons": {"type": "array"},
        "sensors": {"type": "array"},
        "devices": {"type": "array"},
        "apps": {"type": "array"},
        "detectables": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "type"],
                "properties": {
                    "id": _ID,
                    "sensor": {"enum": ["tracking", "mapping"]},
                    "type": {"enum": ["marker", "anchor"]},
                    "url": {"type": "string"},
                },
            },
        },
        "primitives": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id"],
                "properties": {"id": {"enum": ["animation", "image", "video", "audio", "label"]}},
            },
        },
        "predicates": {"type": "array"},
        "warnings": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "type", "symbol", "scale"],
                "properties": {
                    "id": _ID,
                    "type": {"enum": ["animation", "image", "video", "audio", "label"]},
                    "symbol": {"type": "string"},
                    "scale": _NUM,
                },
            },
        },
    },
}


class SchemaError(AssertionError):
    """A document does not follow the schema."""


def validate(doc: Any, schema: dict[str, Any], where: str = "$") -> None:
    """Check ``doc`` against the JSON Schema subset used above (no third-party validator).

    Supports type (object, array, string, boolean, integer), enum, required, properties,
    additionalProperties: false, items, minItems, minLength, maxLength and pattern.
    """
    kind = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int}
    if kind is not None and not isinstance(doc, types[kind]):
        raise SchemaError(f"{where}: expected {kind}, got {type(doc).__name__}")
    if kind == "integer" and isinstance(doc, bool):
        raise SchemaError(f"{where}: expected integer, got bool")
    if "enum" in schema and doc not in schema["enum"]:
        raise SchemaError(f"{where}: {doc!r} not one of {schema['enum']}")
    if isinstance(doc, str):
        if len(doc) > schema.get("maxLength", len(doc)) or len(doc) < schema.get("minLength", 0):
            raise SchemaError(f"{where}: length {len(doc)} out of bounds")
        if "pattern" in schema and not re.search(schema["pattern"], doc):
            raise SchemaError(f"{where}: {doc!r} does not match {schema['pattern']}")
    if isinstance(doc, dict):
        for key in schema.get("required", []):
            if key not in doc:
                raise SchemaError(f"{where}: missing {key!r}")
        props = schema.get("properties", {})
        for key, value in doc.items():
            if key in props:
                validate(value, props[key], f"{where}.{key}")
            elif schema.get("additionalProperties", True) is False:
                raise SchemaError(f"{where}: unexpected key {key!r}")
    if isinstance(doc, list):
        if len(doc) < schema.get("minItems", 0):
            raise SchemaError(f"{where}: fewer than {schema['minItems']} items")
        for k, item in enumerate(doc):
            validate(item, schema.get("items", {}), f"{where}[{k}]")


def _models(exported):
    activity = json.loads(exported.file("arlem", "_activity.json").read_text(encoding="utf-8"))
    workplace = json.loads(exported.file("arlem", "_workplace.json").read_text(encoding="utf-8"))
    return activity, workplace


def test_models_follow_the_standard_binding(exported):
    activity, workplace = _models(exported)
    validate(activity, ACTIVITY_SCHEMA)
    validate(workplace, WORKPLACE_SCHEMA)


def test_schema_rejects_a_non_standard_key(fixture_ctx):
    """The schema check can fail: an extra key in an action is refused."""
    activity = json.loads(build_arlem(fixture_ctx)[f"{fixture_ctx.stem}_activity.json"])
    validate(activity, ACTIVITY_SCHEMA)
    activity["actions"][0]["anchor"] = [0, 0, 0]
    with pytest.raises(SchemaError, match=r"actions\[0\]: unexpected key 'anchor'"):
        validate(activity, ACTIVITY_SCHEMA)
    del activity["actions"][0]["anchor"]
    activity["actions"][1]["triggers"][0]["mode"] = "wave"
    with pytest.raises(SchemaError, match="not one of"):
        validate(activity, ACTIVITY_SCHEMA)
    workplace = json.loads(build_arlem(fixture_ctx)[f"{fixture_ctx.stem}_workplace.json"])
    workplace["things"][0]["pois"][1]["x-offset"] = "1,5"
    with pytest.raises(SchemaError, match="does not match"):
        validate(workplace, WORKPLACE_SCHEMA)


def test_every_step_is_an_action_with_its_anchor(exported):
    ctx = exported.ctx
    activity, workplace = _models(exported)
    assert activity["workplace"] == exported.file("arlem", "_workplace.json").name
    actions = activity["actions"]
    assert len(actions) == len(ctx.procedure.steps)
    assert activity["start"] == actions[0]["id"]
    ids = {a["id"] for a in actions}
    tangibles = {t["id"]: t for t in workplace["things"] + workplace["places"]}
    detectables = {d["id"] for d in workplace["detectables"]}
    assert workplace["origin"] in detectables
    assert all(t["detectable"] in detectables for t in tangibles.values())
    warnings = {w["id"] for w in workplace["warnings"]}
    (thing,) = workplace["things"]
    pois = {p["id"]: p for p in thing["pois"]}
    for k, (action, st) in enumerate(zip(actions, ctx.steps, strict=True)):
        instr = action["instruction"]
        assert st.step.title in instr["title"]
        assert st.step.text in instr["description"]
        for note in st.step.safety:
            assert note.text in instr["description"]
        if st.step.acceptance is not None:
            assert st.step.acceptance.quantity in instr["description"]
        label = next(a for a in action["enter"]["activates"] if a["augmentation"] == "label")
        assert label["target"] == thing["id"]
        poi = pois[label["poi"]]
        offset = [float(poi[f"{axis}-offset"]) for axis in "xyz"]
        np.testing.assert_allclose(offset, to_y_up(np.array(st.anchor)), atol=1e-4)
        assert label["poi"] == ctx.component_slugs[st.component.name]
        for a in action["enter"]["activates"]:
            if a["type"] == "warning":
                assert a["augmentation"] in warnings
        kinds = {a["augmentation"] for a in action["enter"]["activates"] if a["type"] == "warning"}
        assert kinds == {f"safety_{n.kind}" for n in st.step.safety}
        # a click on the action ends it and starts the next one
        assert action["triggers"][0]["id"] == action["id"]
        nxt = [a["target"] for a in action["exit"].get("activates", []) if a["type"] == "action"]
        assert nxt == ([actions[k + 1]["id"]] if k + 1 < len(actions) else [])
        assert set(nxt) <= ids


def test_models_name_plant_equipment_procedure_and_revision(exported):
    ctx = exported.ctx
    activity, workplace = _models(exported)
    text = activity["id"] + activity["name"] + activity["description"]
    for value in (ctx.plant_name, ctx.equipment.id, ctx.procedure.id, ctx.revision):
        assert value in text
    assert ctx.plant_name in workplace["name"] and ctx.equipment.id in workplace["name"]
    assert ctx.procedure.id in workplace["name"]
