"""Read, check and write plant files.

A plant file is YAML (see :mod:`factory_twin.model.schema` for the format and units).
:func:`load_plant` parses it with ruamel.yaml's round-trip loader so that every error can
name the file, line and field path, checks it against the schema and the cross-references
between its sections, and returns a :class:`PlantDocument` that can be saved back with the
user's comments and layout intact.

Examples
--------
>>> doc = load_plant("plant_configs/demo_fab.yaml")   # doctest: +SKIP
>>> doc.spec.site.name                                 # doctest: +SKIP
'Demo 300 mm mini-fab'
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from factory_twin.errors import ConfigError
from factory_twin.model import schema as s
from factory_twin.model.amhs import check_amhs
from factory_twin.model.drill_checks import check_drill
from factory_twin.model.geometry import bind_mesh_files
from factory_twin.model.layout import footprint_polygon, polygons_overlap

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


def round_trip_yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


@dataclass
class PlantDocument:
    """A validated plant with the YAML document it came from.

    Attributes
    ----------
    spec
        The validated plant.
    path
        The file it was read from (None if built in memory).
    raw
        The ruamel round-trip document, kept so that saving keeps comments.
    """

    spec: s.PlantSpec
    path: Path | None = None
    raw: Any = field(default=None, repr=False)
    source_text: str | None = field(default=None, repr=False)

    def _raw_document(self) -> Any:
        # A valid file is first read by the fast loader; its round-trip document (comments,
        # layout) is parsed only when the plant is saved.
        if self.raw is None and self.source_text is not None:
            self.raw = round_trip_yaml().load(self.source_text)
        return self.raw

    def save(self, path: str | Path | None = None) -> Path:
        """Write the plant back to YAML atomically, keeping comments and layout.

        The previous file, if any, is kept as ``<name>.bak``.
        """
        target = Path(path) if path is not None else self.path
        if target is None:
            msg = "this plant has no file yet: give a path to save it to"
            raise ConfigError([msg])
        data = self.spec.model_dump(mode="json", exclude_unset=True)
        if self._raw_document() is None:
            self.raw = CommentedMap()
        merge_into(self.raw, data)
        buf = io.StringIO()
        round_trip_yaml().dump(self.raw, buf)
        atomic_write_text(target, buf.getvalue(), keep_backup=True)
        self.path = target
        return target

    def dumps(self) -> str:
        """Return the YAML text :meth:`save` would write."""
        data = self.spec.model_dump(mode="json", exclude_unset=True)
        raw = self._raw_document()
        raw = raw if raw is not None else CommentedMap()
        merge_into(raw, data)
        buf = io.StringIO()
        round_trip_yaml().dump(raw, buf)
        return buf.getvalue()


def atomic_write_text(path: str | Path, text: str, *, keep_backup: bool = False) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    A crash leaves either the old file or the new one, never half of one. With
    ``keep_backup`` the old file survives as ``<path>.bak``.
    """
    atomic_write_bytes(path, text.encode("utf-8"), keep_backup=keep_backup)


def atomic_write_bytes(path: str | Path, data: bytes, *, keep_backup: bool = False) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write_text`)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates the file 0600: give it the old file's mode, or the umask's default.
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        if keep_backup and target.exists():
            backup = target.with_name(target.name + ".bak")
            with target.open("rb") as src:
                old = src.read()
            with backup.open("wb") as dst:
                dst.write(old)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_config_text(path: Path) -> str:
    """Return a YAML file's text, or raise ConfigError naming the file and why not."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None


def load_plant(path: str | Path) -> PlantDocument:
    """Read and validate a plant file.

    Raises
    ------
    ConfigError
        With every problem found, each as ``file:line: field.path: message``.
    """
    p = Path(path)
    return loads_plant(read_config_text(p), source=str(p), path=p)


def loads_plant(text: str, *, source: str = "<string>", path: Path | None = None) -> PlantDocument:
    """Validate plant YAML given as text (see :func:`load_plant`)."""
    fast = _fast_load(text)
    if isinstance(fast, dict):
        # libyaml read it, keeping line marks like ruamel's: problems are reported from it
        # exactly as below; the round-trip document is parsed only when the plant is saved.
        return _checked(fast, source, path, source_text=text)
    raw = read_yaml_mapping(text, source, "'schema_version', 'site', ...")
    return _checked(raw, source, path)


def read_yaml_mapping(text: str, source: str, keys: str) -> Any:
    """Parse YAML text (round trip, keeping comments) that must be a mapping.

    Raises
    ------
    ConfigError
        A syntax error at its line, or a document that is not a mapping with ``keys``.
    """
    try:
        raw = round_trip_yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise ConfigError([f"{source}:{line}: YAML syntax error: {problem}"]) from None
    except (YAMLError, ValueError, TypeError, RecursionError, AttributeError) as exc:
        raise ConfigError([f"{source}:1: YAML error: {exc}"]) from None
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else type(raw).__name__
        msg = f"{source}:1: expected a mapping with {keys}, got {got}"
        raise ConfigError([msg])
    return raw


def _checked(
    raw: Any, source: str, path: Path | None, *, source_text: str | None = None
) -> PlantDocument:
    """Validate a read document; with ``source_text`` the round-trip document comes later."""
    try:
        spec = s.PlantSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, raw, source)) from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise ConfigError([f"{source}:1: invalid plant: {exc}"]) from None
    try:
        # mesh files first: a mesh-only type's footprint (the overlap check) is its mesh
        problems = bind_mesh_files(spec, path.parent if path is not None else None)
        problems += check_references(spec)
    except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:
        # a value no check foresaw (the schema keeps numbers finite): a message, not a crash
        raise ConfigError([f"{source}:1: invalid plant: {exc}"]) from None
    if problems:
        raise ConfigError(
            [f"{source}:{_line_of(raw, loc)}: {error_path(loc)}: {m}" for loc, m in problems]
        )
    if source_text is not None:
        return PlantDocument(spec=spec, path=path, raw=None, source_text=source_text)
    return PlantDocument(spec=spec, path=path, raw=raw)


# --------------------------------------------------------------------------- fast reading
#
# ruamel's round-trip reader is pure Python: about 30 s for a 1 MB plant (SMT2020 at full
# scale). libyaml through PyYAML reads the same file some ten times faster. Its resolver is
# cut down to what YAML 1.2 (ruamel's reading) and 1.1 agree on; any other implicit scalar
# (hex, octal, timestamps, underscores, .inf, merge keys) or a duplicate key sends the file to
# the round-trip reader, so both readers always give the same data or the same errors.

_FALLBACK = re.compile(
    r"^(?:[-+]?0[0-9_]+|[-+]?0[box][0-9a-fA-F_]*|[-+]?[0-9][0-9_]*_[0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?[0-9]*\.[0-9]*_[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    r"|<<|=|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt ].*)?|[-+]?\.[0-9]+[eE][0-9]+)$"
)


class _Fallback(Exception):
    """The fast reader met something only the round-trip reader resolves exactly."""


_T = "tag:yaml.org,2002:"
_STR, _INT_T, _FLOAT_T, _BOOL_T, _NULL_T, _SEQ, _MAP = (
    _T + x for x in ("str", "int", "float", "bool", "null", "seq", "map")
)
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_FLOAT = re.compile(
    r"^[-+]?(?:[0-9]+\.[0-9]*(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+|\.[0-9]+(?:[eE][-+][0-9]+)?)$"
)
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_NUMERIC_START = frozenset("-+0123456789.")
_OTHER = "tag:factory-twin:fallback"


def _make_fast_loader() -> Any:
    try:
        import yaml as pyyaml
    except ImportError:
        return None
    base = getattr(pyyaml, "CSafeLoader", None)
    if base is None:
        return None
    scalar_node = pyyaml.ScalarNode

    class FastLoader(base):  # type: ignore[misc, valid-type]
        """libyaml's parser and composer; tags resolved by the cut-down rules above."""

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            return None

        def ascend_resolver(self) -> None:
            return None

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is scalar_node:
                if not implicit[0]:
                    return _STR
                c = value[:1]
                if c in _NUMERIC_START and c:
                    if _INT.match(value):
                        return _INT_T
                    if _FLOAT.match(value):
                        return _FLOAT_T
                    return _OTHER if _FALLBACK.match(value) else _STR
                if c in "tTfF" and _BOOL.match(value):
                    return _BOOL_T
                if (not c or c in "~nN") and _NULL.match(value):
                    return _NULL_T
                if c in "<=" and _FALLBACK.match(value):
                    return _OTHER
                return _STR
            return _SEQ if isinstance(kind, type) and kind.__name__ == "SequenceNode" else _MAP

    return FastLoader


_FAST_LOADER = _make_fast_loader()


class _Marks:
    """Line and column of a mapping's keys or a sequence's items (ruamel's ``lc`` subset)."""

    __slots__ = ("_at",)

    def __init__(self, at: dict[Any, tuple[int, int]] | list[tuple[int, int]]) -> None:
        self._at = at

    def key(self, k: Any) -> tuple[int, int]:
        return self._at[k]

    def item(self, i: int) -> tuple[int, int]:
        return self._at[i]


class _MarkedDict(dict[Any, Any]):
    __slots__ = ("lc",)
    lc: _Marks


class _MarkedList(list[Any]):
    __slots__ = ("lc",)
    lc: _Marks


def _to_data(node: Any) -> Any:
    """Turn a composed node into plain Python data; _Fallback on anything unusual.

    Mappings and sequences carry ``lc`` with the 0-based (line, column) of their keys and
    items, as ruamel's round-trip containers do, so errors name the same lines.
    """
    tag = node.tag
    if tag == _STR:
        if not isinstance(node.value, str):
            raise _Fallback
        return node.value
    if tag == _MAP:
        out = _MarkedDict()
        at: dict[Any, tuple[int, int]] = {}
        for k, v in node.value:
            if k.tag == _MAP or k.tag == _SEQ:
                raise _Fallback
            key = _to_data(k)
            if key in out:
                raise _Fallback  # duplicate key: ruamel reports it
            out[key] = _to_data(v)
            at[key] = (k.start_mark.line, k.start_mark.column)
        out.lc = _Marks(at)
        return out
    if tag == _SEQ:
        seq = _MarkedList(_to_data(x) for x in node.value)
        seq.lc = _Marks([(x.start_mark.line, x.start_mark.column) for x in node.value])
        return seq
    value = node.value
    if not isinstance(value, str):
        raise _Fallback
    if tag == _INT_T and _INT.match(value):
        return int(value)
    if tag == _FLOAT_T and _FLOAT.match(value):
        return float(value)
    if tag == _BOOL_T and _BOOL.match(value):
        return value.lower() == "true"
    if tag == _NULL_T and _NULL.match(value):
        return None
    raise _Fallback


def _fast_load(text: str) -> Any:
    """Return the plain data of YAML ``text``, or None if the round-trip reader must decide."""
    if _FAST_LOADER is None:
        return None
    import yaml as pyyaml

    try:
        loader = _FAST_LOADER(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
        return None if node is None else _to_data(node)
    except (_Fallback, pyyaml.YAMLError, ValueError, TypeError, RecursionError, AttributeError):
        return None


def validate_spec(spec: s.PlantSpec) -> list[str]:
    """Check an in-memory plant (after an edit) and return its problems as text."""
    return [f"{error_path(loc)}: {m}" for loc, m in check_references(spec)]


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of the plant file format (for editors such as VS Code)."""
    sch = _allow_bare_numbers(s.PlantSpec.model_json_schema())
    sch["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    sch["title"] = f"factory_twin plant file, schema version {s.SCHEMA_VERSION}"
    return sch


_DIST_REFS = {
    f"#/$defs/{name}"
    for name in (
        "Constant",
        "Exponential",
        "Uniform",
        "Triangular",
        "Normal",
        "Lognormal",
        "Gamma",
    )
}


def _allow_bare_numbers(node: Any) -> Any:
    """Let every distribution field also accept a bare number, as :func:`load_plant` does.

    pydantic's schema only knows the ``{dist: ...}`` mappings; the loader turns a bare
    number into a constant first, so without this an editor would flag valid files.
    """
    if isinstance(node, list):
        return [_allow_bare_numbers(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _allow_bare_numbers(v) for k, v in node.items()}
    one_of = out.get("oneOf")
    if (
        isinstance(one_of, list)
        and one_of
        and all(isinstance(x, dict) and x.get("$ref") in _DIST_REFS for x in one_of)
    ):
        dist = {"oneOf": one_of}
        if "discriminator" in out:
            dist["discriminator"] = out.pop("discriminator")
        del out["oneOf"]
        out["anyOf"] = [{"type": "number", "minimum": 0}, dist]
    return out


def json_schema_text() -> str:
    """Return :func:`json_schema` as indented JSON text."""
    return json.dumps(json_schema(), indent=2)


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


def _all_field_names() -> set[str]:
    if not _FIELD_NAMES:
        for obj in vars(s).values():
            if isinstance(obj, type) and issubclass(obj, s.Strict):
                _FIELD_NAMES.update(obj.model_fields)
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


# --------------------------------------------------------------------------- cross-references


Problem = tuple[tuple[Any, ...], str]


def _duplicates(items: list[Any], section: str, key: str = "id") -> list[Problem]:
    seen: dict[str, int] = {}
    out: list[Problem] = []
    for i, item in enumerate(items):
        v = getattr(item, key)
        if v in seen:
            out.append(
                ((section, i, key), f"duplicate {key} {v!r} (first at {section}[{seen[v]}])")
            )
        else:
            seen[v] = i
    return out


def check_references(spec: s.PlantSpec) -> list[Problem]:
    """Return every cross-reference problem of a schema-valid plant, as (loc, message).

    Problems come in file order of the sections: duplicate ids, bays, equipment (and
    overlapping footprints), tool groups, routes, products and initial WIP, procedures,
    drills.
    """
    types = {t.id: t for t in spec.equipment_types}
    groups = spec.groups()
    routes = {r.id: r for r in spec.routes}
    out = _check_duplicates(spec)
    out += _check_bays(spec)
    out += _check_equipment(spec, types)
    out += _check_tool_groups(spec, groups)
    out += _check_routes(spec, groups, types)
    out += _check_products(spec, routes)
    out += _check_initial_wip(spec, routes)
    out += _check_procedures(spec, types)
    out += _check_drills(spec, types)
    if spec.amhs is not None:
        out += check_amhs(spec.amhs, {e.id for e in spec.equipment})
    return out


def _check_duplicates(spec: s.PlantSpec) -> list[Problem]:
    """Ids that appear twice in one section."""
    out: list[Problem] = []
    out += _duplicates(spec.site.bays, "site", "id")
    out = [(("site", "bays", *loc[1:]), m) for loc, m in out]
    out += _duplicates(spec.equipment_types, "equipment_types")
    out += _duplicates(spec.equipment, "equipment")
    out += _duplicates(spec.routes, "routes")
    out += _duplicates(spec.products, "products")
    out += _duplicates(spec.procedures, "procedures")
    out += _duplicates(spec.endpoints, "endpoints")
    out += _duplicates(spec.tool_groups, "tool_groups")
    out += _duplicates(spec.initial_wip, "initial_wip")
    out += _duplicates(spec.drills, "drills")
    return out


def _check_bays(spec: s.PlantSpec) -> list[Problem]:
    """Bays that reach outside the floor."""
    out: list[Problem] = []
    fw, fd = spec.site.floor_m
    for i, b in enumerate(spec.site.bays):
        x0, y0 = b.origin_m
        if x0 < 0 or y0 < 0 or x0 + b.size_m[0] > fw + 1e-9 or y0 + b.size_m[1] > fd + 1e-9:
            out.append(
                (
                    ("site", "bays", i, "origin_m"),
                    f"bay {b.id!r} reaches outside the {fw} x {fd} m floor",
                )
            )
    return out


def _check_equipment(spec: s.PlantSpec, types: dict[str, s.EquipmentType]) -> list[Problem]:
    """Each tool's type, bay, place, OPC UA binding and PMs; then overlapping footprints."""
    out: list[Problem] = []
    bays = {b.id: b for b in spec.site.bays}
    endpoints = {e.id for e in spec.endpoints}
    polys: list[tuple[int, Any]] = []
    for i, e in enumerate(spec.equipment):
        t = types.get(e.type)
        if t is None:
            out.append((("equipment", i, "type"), f"unknown equipment type {e.type!r}"))
        if e.bay not in bays:
            out.append((("equipment", i, "bay"), f"unknown bay {e.bay!r}"))
        out += _check_tool_place(spec, i, e, bays)
        if t is not None:
            poly = footprint_polygon(t.shape.footprint_m(), e.position_m, e.rotation_deg)
            polys.append((i, poly))
            out += _check_tool_opcua(i, e, t, endpoints)
        for k, pm in enumerate(e.pm):
            if pm.basis == "wafers" and pm.interval < 1:
                out.append(
                    (
                        ("equipment", i, "pm", k, "interval"),
                        "a wafer-count PM interval must be >= 1 wafer",
                    )
                )
    out += _overlaps(spec, polys)
    return out


def _check_tool_place(
    spec: s.PlantSpec, i: int, e: s.Equipment, bays: dict[str, s.Bay]
) -> list[Problem]:
    """A tool placed outside the floor, or outside its bay."""
    fw, fd = spec.site.floor_m
    x, y = e.position_m
    if not (0 <= x <= fw and 0 <= y <= fd):
        return [
            (
                ("equipment", i, "position_m"),
                f"tool {e.id!r} at ({x}, {y}) is outside the {fw} x {fd} m floor",
            )
        ]
    if e.bay in bays and not bays[e.bay].contains(x, y):
        return [
            (
                ("equipment", i, "position_m"),
                f"tool {e.id!r} at ({x}, {y}) is outside its bay {e.bay!r}",
            )
        ]
    return []


def _check_tool_opcua(
    i: int, e: s.Equipment, t: s.EquipmentType, endpoints: set[str]
) -> list[Problem]:
    """A tool's OPC UA endpoint and the tags it binds."""
    out: list[Problem] = []
    if e.opcua is None:
        return out
    if endpoints and e.opcua.endpoint not in endpoints:
        out.append(
            (("equipment", i, "opcua", "endpoint"), f"unknown endpoint {e.opcua.endpoint!r}")
        )
    elif not endpoints:
        out.append((("equipment", i, "opcua", "endpoint"), "the plant lists no 'endpoints'"))
    names = {tg.name for tg in t.tags} | set(MACHINE_TAGS)
    for tag in e.opcua.tags:
        if tag not in names:
            out.append(
                (
                    ("equipment", i, "opcua", "tags", tag),
                    f"type {t.id!r} has no tag {tag!r} (nor is it one of {', '.join(MACHINE_TAGS)})",
                )
            )
    return out


def _check_tool_groups(spec: s.PlantSpec, groups: dict[str, list[s.Equipment]]) -> list[Problem]:
    """Tool groups no tool belongs to."""
    out: list[Problem] = []
    for i, g in enumerate(spec.tool_groups):
        if g.id not in groups:
            out.append((("tool_groups", i, "id"), f"no equipment belongs to tool group {g.id!r}"))
    return out


def _check_routes(
    spec: s.PlantSpec, groups: dict[str, list[s.Equipment]], types: dict[str, s.EquipmentType]
) -> list[Problem]:
    """Every route step: its tool group, batch, rework and queue-time targets."""
    out: list[Problem] = []
    for ri, r in enumerate(spec.routes):
        n = len(r.steps)
        for si, st in enumerate(r.steps):
            out += _check_step(("routes", ri, "steps", si), st, si, n, groups, types)
    return out


def _check_step(
    loc: tuple[Any, ...],
    st: s.RouteStep,
    si: int,
    n: int,
    groups: dict[str, list[s.Equipment]],
    types: dict[str, s.EquipmentType],
) -> list[Problem]:
    """One route step (index ``si`` of ``n``) at ``loc``."""
    out: list[Problem] = []
    if st.tool_group not in groups:
        out.append(((*loc, "tool_group"), f"no equipment belongs to tool group {st.tool_group!r}"))
    elif st.per == "batch" or st.batch is not None:
        tools = groups[st.tool_group]
        caps = [types[t.type].batch for t in tools if t.type in types]
        if st.batch is not None and any(
            c is not None and st.batch.min_wafers > c.max_wafers for c in caps
        ):
            out.append(
                (
                    (*loc, "batch", "min_wafers"),
                    f"min batch {st.batch.min_wafers} wafers exceeds the tools' capacity",
                )
            )
    if st.per == "batch" and st.batch is None:
        out.append(((*loc, "batch"), "a step timed 'per: batch' needs 'batch' sizes"))
    if st.rework is not None and st.rework.to_step > si + 1:
        out.append(
            (
                (*loc, "rework", "to_step"),
                f"rework goes to step {st.rework.to_step}, which is not before step {si + 1}",
            )
        )
    if st.queue_time_limit is not None:
        q = st.queue_time_limit.to_step
        if not si + 1 < q <= n:
            out.append(
                (
                    (*loc, "queue_time_limit", "to_step"),
                    f"queue-time target step {q} must come after step {si + 1} and be <= {n}",
                )
            )
    return out


def _check_products(spec: s.PlantSpec, routes: dict[str, s.Route]) -> list[Problem]:
    """Products whose route does not exist."""
    out: list[Problem] = []
    for i, p in enumerate(spec.products):
        if p.route not in routes:
            out.append((("products", i, "route"), f"unknown route {p.route!r}"))
    return out


def _check_initial_wip(spec: s.PlantSpec, routes: dict[str, s.Route]) -> list[Problem]:
    """WIP lots of an unknown product, or at a step their route does not have."""
    out: list[Problem] = []
    products = {p.id: p for p in spec.products}
    for i, lot in enumerate(spec.initial_wip):
        prod = products.get(lot.product)
        if prod is None:
            out.append((("initial_wip", i, "product"), f"unknown product {lot.product!r}"))
        elif prod.route in routes and lot.step > len(routes[prod.route].steps):
            out.append(
                (
                    ("initial_wip", i, "step"),
                    f"route {prod.route!r} has only {len(routes[prod.route].steps)} steps",
                )
            )
    return out


def _check_procedures(spec: s.PlantSpec, types: dict[str, s.EquipmentType]) -> list[Problem]:
    """Procedures: their equipment type, the components their steps point at, alarm codes."""
    out: list[Problem] = []
    for i, proc in enumerate(spec.procedures):
        t = types.get(proc.equipment_type)
        if t is None:
            out.append(
                (
                    ("procedures", i, "equipment_type"),
                    f"unknown equipment type {proc.equipment_type!r}",
                )
            )
            continue
        comps = {c.name for c in t.components}
        for k, st in enumerate(proc.steps):
            if st.component not in comps:
                out.append(
                    (
                        ("procedures", i, "steps", k, "component"),
                        f"type {t.id!r} has no component {st.component!r} (has {sorted(comps)})",
                    )
                )
        for k, code in enumerate(proc.alarm_codes):
            problem = alarm_code_problem(t, code)
            if problem:
                out.append((("procedures", i, "alarm_codes", k), problem))
    return out


def _check_drills(spec: s.PlantSpec, types: dict[str, s.EquipmentType]) -> list[Problem]:
    """Drills: the tools, tags, procedures and products their injections and responses name."""
    out: list[Problem] = []
    for i, d in enumerate(spec.drills):
        out += [(("drills", i, *loc), m) for loc, m in check_drill(spec, d)]
    return out


ALARM_LIMITS = ("lolo", "lo", "hi", "hihi")

MACHINE_TAGS = ("state", "lot", "recipe", "wafer_count", "operation_mode")
"""Tags every tool has besides its type's process tags (bindable like them)."""


def alarm_code_problem(t: s.EquipmentType, code: str) -> str | None:
    """Check an alarm code against an equipment type.

    Codes are ``<tag>.<limit>`` (limit one of lolo, lo, hi, hihi, defined on that tag) or
    ``fault`` / ``fault.<name>`` for equipment faults. Returns a message, or None if valid.
    """
    if code == "fault" or code.startswith("fault."):
        return None
    tag, _, limit = code.rpartition(".")
    if not tag or limit not in ALARM_LIMITS:
        return f"alarm code {code!r} must be '<tag>.<lolo|lo|hi|hihi>' or 'fault[.<name>]'"
    try:
        spec = t.tag(tag)
    except KeyError:
        return f"alarm code {code!r}: type {t.id!r} has no tag {tag!r}"
    if spec.alarms is None or getattr(spec.alarms, limit) is None:
        return f"alarm code {code!r}: tag {tag!r} has no {limit!r} limit"
    return None


def _overlaps(spec: s.PlantSpec, polys: list[tuple[int, Any]]) -> list[Problem]:
    """Find pairs of tools whose footprints overlap (a sweep over x keeps it near-linear)."""
    out: list[Problem] = []
    boxes = []
    for i, poly in polys:
        xs = [p[0] for p in poly]
        ys = [p[1] for p in poly]
        boxes.append((min(xs), max(xs), min(ys), max(ys), i, poly))
    boxes.sort()
    active: list[tuple[float, float, float, float, int, Any]] = []
    for b in boxes:
        active = [a for a in active if a[1] > b[0]]
        for a in active:
            if a[2] < b[3] and b[2] < a[3] and polygons_overlap(a[5], b[5]):
                ia, ib = sorted((a[4], b[4]))
                ea, eb = spec.equipment[ia], spec.equipment[ib]
                out.append(
                    (
                        ("equipment", ib, "position_m"),
                        f"tool {eb.id!r} overlaps tool {ea.id!r} (equipment[{ia}])",
                    )
                )
        active.append(b)
    return out


# --------------------------------------------------------------------------- saving


def _same_scalar(old: Any, new: Any) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return old is new or (old == new and type(old) is type(new))
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return math.isclose(float(old), float(new), rel_tol=0, abs_tol=0) or old == new
    try:
        return bool(old == new)
    except (TypeError, ValueError):
        return False


def _identity_key(old: Any, data: list[Any]) -> str | None:
    """Return the key ('id', 'name' or 'title') that identifies the mappings of both lists,
    when their order differs by it; None where position is the identity."""
    for key in ("id", "name", "title"):
        if not all(isinstance(x, dict) and key in x for x in (*old, *data)):
            continue
        old_keys = [str(x[key]) for x in old]
        new_keys = [str(x[key]) for x in data]
        if len(set(old_keys)) != len(old_keys) or len(set(new_keys)) != len(new_keys):
            continue
        if old_keys[: len(new_keys)] == new_keys:
            return None  # nothing moved: merge by position, which keeps item comments exactly
        return key
    return None


def merge_into(node: Any, data: Any) -> Any:
    """Update a ruamel node in place to hold ``data``; unchanged parts keep their comments."""
    if isinstance(data, dict):
        # A bare number in the file that the schema widened to a constant distribution.
        if (
            set(data) <= {"dist", "value"}
            and data.get("dist") == "constant"
            and isinstance(node, (int, float))
            and not isinstance(node, bool)
            and _same_scalar(node, data.get("value"))
        ):
            return node
        if not isinstance(node, CommentedMap):
            node = CommentedMap()
        for key in list(node):
            if key not in data:
                del node[key]
        for key, value in data.items():
            if key in node:
                node[key] = merge_into(node[key], value)
            else:
                node[key] = merge_into(None, value)
        return node
    if isinstance(data, list):
        if not isinstance(node, CommentedSeq):
            node = CommentedSeq()
            if data and all(not isinstance(x, (dict, list)) for x in data):
                node.fa.set_flow_style()
        key = _identity_key(node, data)
        if key is not None:
            # Items that moved (reordered steps, a deleted tool) keep their own style and
            # comments: match them by identity, not by position.
            old_by_key = {str(item[key]): item for item in node}
            merged = [merge_into(old_by_key.get(str(value[key])), value) for value in data]
            del node[len(data) :]
            for i, item in enumerate(merged):
                if i < len(node):
                    node[i] = item
                else:
                    node.append(item)
            return node
        del node[len(data) :]
        for i, value in enumerate(data):
            if i < len(node):
                node[i] = merge_into(node[i], value)
            else:
                node.append(merge_into(None, value))
        return node
    if node is not None and not isinstance(node, (dict, list)) and _same_scalar(node, data):
        return node
    if (
        isinstance(node, int)
        and not isinstance(node, bool)
        and isinstance(data, float)
        and data.is_integer()
    ):
        return int(data)  # the schema reads numbers as floats; keep a whole number whole
    return data
