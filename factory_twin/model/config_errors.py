"""Error messages of config files that name the file, the line and the field path.

Turns pydantic's validation errors into one ``file:line: path: message`` line each
(:func:`validation_line`), finding the line of a field path in the YAML read
(:func:`doc_location`); plant, scenario, study and experiment files all use them.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from factory_twin.model import schema as s

# Fields that hold fixed-length lists of numbers, and how many: used to turn pydantic's
# per-item messages into one clear "expected 2 numbers" message.
TUPLE_FIELDS = {
    "position_m": 2,
    "origin_m": 2,
    "size_m": 2,
    "floor_m": 2,
    "anchor_m": 3,
    "box": 3,
    "cylinder": 2,
    "at": 3,
    "normal_range": 2,
}


# --------------------------------------------------------------------------- error formatting


def error_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top)"


def doc_location(raw: Any, loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], int]:
    """Follow ``loc`` into the YAML document.

    Returns the part of ``loc`` that names things in the file (pydantic's union tags and
    validator names dropped; a missing field's own name kept) and the 1-based line reached.
    """
    node = raw
    kept: list[Any] = []
    line = 1
    for part in loc:
        lc = getattr(node, "lc", None)
        if isinstance(node, dict) and not isinstance(part, int) and part in node:
            if lc is not None:
                line = lc.key(part)[0] + 1
            node = node[part]
            kept.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            if lc is not None:
                line = lc.item(part)[0] + 1
            node = node[part]
            kept.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and part in _all_field_names():
            kept.append(part)  # a missing field: report it on its parent's line
            node = None
    return tuple(kept), line


_FIELD_NAMES: set[str] = set()
_FIELD_CLASSES: set[type] = set()


def _all_field_names() -> set[str]:
    """Every field name of every file schema (plant, scenario, experiment, study, ...).

    All are :class:`~factory_twin.model.schema.Strict` models; one defined in a module
    imported later (an experiment file's, say) is added when it is first met.
    """
    todo = [s.Strict]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in _FIELD_CLASSES:
                _FIELD_CLASSES.add(sub)
                _FIELD_NAMES.update(sub.model_fields)
            todo.append(sub)
    return _FIELD_NAMES


def _line_of(raw: Any, loc: tuple[Any, ...]) -> int:
    return doc_location(raw, loc)[1]


def value_at(raw: Any, loc: tuple[Any, ...]) -> Any:
    node = raw
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _short(v: Any) -> str:
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        text = "[" + ", ".join(_short(x) for x in v[:6]) + (", ..." if len(v) > 6 else "") + "]"
        return text
    text = repr(v if not hasattr(v, "value") else getattr(v, "value", v))
    return text if len(text) <= 60 else text[:57] + "..."


def _format_validation(exc: ValidationError, raw: Any, source: str) -> list[str]:
    lines: list[str] = []
    for err in exc.errors(include_url=False):
        text = validation_line(err, raw, source)
        if text not in lines:
            lines.append(text)
    return lines


def validation_line(err: Any, raw: Any, source: str) -> str:
    """One pydantic error as ``file:line: field.path: message`` (plant and scenario files)."""
    loc, line = doc_location(raw, tuple(err["loc"]))
    # Items of a fixed-length number list are reported once, on the list.
    if loc and isinstance(loc[-1], int) and len(loc) >= 2 and loc[-2] in TUPLE_FIELDS:
        loc = loc[:-1]
        line = _line_of(raw, loc)
        msg = tuple_message(loc[-1], value_at(raw, loc))
    elif (
        loc
        and loc[-1] in TUPLE_FIELDS
        and (
            err["type"] in {"too_short", "too_long", "tuple_type", "list_type"}
            # a list too short: pydantic reports the missing item, which is not in the file
            or (err["type"] == "missing" and err["loc"] and isinstance(err["loc"][-1], int))
        )
    ):
        msg = tuple_message(loc[-1], value_at(raw, loc))
    else:
        msg = error_message(err, raw, loc)
    return f"{source}:{line}: {error_path(loc)}: {msg}"


def tuple_message(name: str, value: Any) -> str:
    n = TUPLE_FIELDS[name]
    items = value if isinstance(value, list) else []
    if any(isinstance(x, float) and not math.isfinite(x) for x in items):
        return f"expected {n} finite numbers, got {_short(value)}"
    return f"expected {n} numbers, got {_short(value)}"


def error_message(err: Any, raw: Any, loc: tuple[Any, ...]) -> str:
    typ = err["type"]
    if typ == "missing":
        return f"missing required field '{err['loc'][-1]}'"
    if typ == "extra_forbidden":
        return f"unknown field '{err['loc'][-1]}' (a typo?)"
    if typ in {"float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"}:
        want = "a whole number" if typ.startswith("int") else "a number"
        return f"expected {want}, got {_short(err.get('input'))}"
    if typ in {"finite_number"}:
        return f"expected a finite number, got {_short(err.get('input'))}"
    if typ == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return (
            f"unknown distribution {ctx.get('tag')!r}: use one of {ctx.get('expected_tags', '')}"
        )
    if typ == "union_tag_not_found":
        return "a distribution needs 'dist' (constant, exponential, uniform, ...) or a number"
    if typ == "value_error":
        text = str(err.get("msg", ""))
        return text.removeprefix("Value error, ")
    if typ == "literal_error" and loc and loc[-1] == "schema_version":
        return f"unsupported schema_version {_short(err.get('input'))}; this app reads version {s.SCHEMA_VERSION}"
    msg = str(err.get("msg", typ))
    inp = err.get("input")
    if inp is not None and not isinstance(inp, (dict, list)):
        msg += f", got {_short(inp)}"
    return msg
