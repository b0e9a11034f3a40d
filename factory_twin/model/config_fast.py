"""A fast reader for plant files that gives the same data as the round-trip reader.

ruamel's round-trip reader is pure Python: about 30 s for a 1 MB plant (SMT2020 at full
scale). :func:`_fast_load` reads through libyaml (PyYAML) some ten times faster, keeping each
node's line for the error messages, and returns None for anything the two readers might read
differently, so :func:`factory_twin.model.config.load_plant` then takes the round-trip reader.
"""

from __future__ import annotations

import re
from typing import Any

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


# Nesting far deeper than any plant, scenario or study needs: ruamel's reader recurses once
# per level and takes seconds to reach Python's recursion limit, so such a file is refused
# at once, naming the line where it goes too deep.
MAX_NESTING = 200


def too_deep(text: str, limit: int = MAX_NESTING) -> int | None:
    """Return the line at which ``text`` nests collections deeper than ``limit``, else None.

    It reads libyaml's event stream, which does not recurse; a syntax error before that depth
    (or no libyaml) gives None, leaving the message to the round-trip reader. libyaml stops
    at 1,000 levels on its own while scanning ahead: that error names the line too.
    """
    try:
        import yaml as pyyaml
    except ImportError:
        return None
    parser = getattr(pyyaml, "CSafeLoader", None)
    if parser is None:
        return None
    starts = (pyyaml.SequenceStartEvent, pyyaml.MappingStartEvent)
    ends = (pyyaml.SequenceEndEvent, pyyaml.MappingEndEvent)
    depth = 0
    try:
        for event in pyyaml.parse(text, Loader=parser):
            if isinstance(event, starts):
                depth += 1
                if depth > limit:
                    return int(event.start_mark.line) + 1
            elif isinstance(event, ends):
                depth -= 1
    except pyyaml.MarkedYAMLError as exc:  # libyaml's own limit (1,000) is met while scanning
        mark = exc.problem_mark
        if "nesting depth" in str(exc.problem) and mark is not None:
            return int(mark.line) + 1
        return None
    except (pyyaml.YAMLError, ValueError, TypeError):
        return None
    return None
