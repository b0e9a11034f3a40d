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

import errno
import io
import math
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError
from ruamel.yaml.reader import ReaderError

from factory_twin.errors import ConfigError
from factory_twin.model import schema as s
from factory_twin.model.config_checks import check_references
from factory_twin.model.config_errors import _format_validation, _line_of, error_path
from factory_twin.model.config_fast import MAX_NESTING, _fast_load, too_deep
from factory_twin.model.geometry import bind_mesh_files


def round_trip_load(text: str) -> Any:
    """Parse YAML text with the round-trip loader (comments and layout kept).

    A reused anchor (``&a`` twice) is valid YAML, the later one counting; ruamel warns of
    it on stderr, naming its own source line and ``<unicode string>`` instead of the file,
    which the command line would print above the file's own messages: it is not shown.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReusedAnchorWarning)
        return round_trip_yaml().load(text)


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
            self.raw = round_trip_load(self.source_text)
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


def atomic_write_text(
    path: str | Path, text: str, *, keep_backup: bool = False, exclusive: bool = False
) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    A crash leaves either the old file or the new one, never half of one. With
    ``keep_backup`` the old file survives as ``<path>.bak``. With ``exclusive`` the file
    must not exist yet: the finished temporary file is hard-linked to ``path``, which
    fails with :class:`FileExistsError` instead of replacing a file that appeared
    meanwhile (where the file system has no hard links, an existence check and a rename).
    """
    atomic_write_bytes(path, text.encode("utf-8"), keep_backup=keep_backup, exclusive=exclusive)


def atomic_write_bytes(
    path: str | Path, data: bytes, *, keep_backup: bool = False, exclusive: bool = False
) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write_text`)."""
    target = Path(path)
    if target.is_dir():  # os.replace would fail naming the temporary file, not this one
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:  # name the file asked for, not the temporary one
        exc.filename, exc.filename2 = str(target), None
        raise
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
            _keep_backup(target)
        if exclusive:
            _link_new(tmp, target)
        else:
            os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def keep_backup(path: str | Path) -> Path:
    """Copy the file ``path`` to ``<path>.bak`` (atomically, see :func:`atomic_write_text`'s
    ``keep_backup``) and return the backup's path; OSError if it cannot be read."""
    target = Path(path)
    _keep_backup(target)
    return target.with_name(target.name + ".bak")


def _keep_backup(target: Path) -> None:
    """Make ``<target>.bak`` the current ``target``, atomically: a crash leaves the old
    backup or the new one, never a torn copy. A hard link to the file (which the rename of
    the new file then leaves holding the old content); a copy where there are no links."""
    backup = target.with_name(target.name + ".bak")
    fd, tmp = tempfile.mkstemp(prefix=f".{backup.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        os.unlink(tmp)
        try:
            os.link(target, tmp)
        except OSError:  # no hard links here: copy, and make the copy durable first
            with target.open("rb") as src, open(tmp, "wb") as dst:
                dst.write(src.read())
                dst.flush()
                os.fsync(dst.fileno())
        os.replace(tmp, backup)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _link_new(tmp: str, target: Path) -> None:
    """Give the finished ``tmp`` the name ``target`` unless that exists (FileExistsError)."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:  # no hard links here (some network or FAT file systems)
        if target.exists():
            raise FileExistsError(errno.EEXIST, "file exists", str(target)) from None
        os.replace(tmp, target)
        return
    Path(tmp).unlink()


def read_config_text(path: Path) -> str:
    """Return a YAML file's text, or raise ConfigError naming the file and why not."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: is a folder, not a file"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    return decode_utf8(data, path)


def decode_utf8(data: bytes, path: str | Path) -> str:
    """Return ``data`` as text, or raise ConfigError naming the line of its first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        msg = (
            f"{path}:{line}: not UTF-8 text: byte 0x{data[exc.start]:02x} at column {column} "
            "(save the file as UTF-8)"
        )
        raise ConfigError([msg]) from None


def has_suffix(path: str | Path, suffixes: tuple[str, ...]) -> bool:
    """Return True if ``path``'s name ends with one of ``suffixes`` (any case)."""
    return Path(path).name.lower().endswith(suffixes)


def suffixed_stem(path: str | Path, suffixes: tuple[str, ...]) -> str:
    """Return ``path``'s name without the first of ``suffixes`` it ends with (any case).

    A name with none of them gives its plain stem: ``fab.study.yaml`` -> ``fab`` with
    ``(".study.yaml",)``, ``fab.yaml`` -> ``fab``.
    """
    name = Path(path).name
    for suffix in suffixes:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


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


def _yaml_kind(value: object) -> str:
    """What a YAML document is, in the words of the YAML file (not ruamel's class names).

    Examples
    --------
    >>> _yaml_kind([1]), _yaml_kind("x"), _yaml_kind(2.5), _yaml_kind(True)
    ('a list', 'a text', 'a number', 'true/false')
    """
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__


def read_yaml_mapping(text: str, source: str, keys: str) -> Any:
    """Parse YAML text (round trip, keeping comments) that must be a mapping.

    Raises
    ------
    ConfigError
        A syntax error at its line, or a document that is not a mapping with ``keys``.
    """
    deep = too_deep(text)
    if deep is not None:
        msg = f"{source}:{deep}: YAML error: collections nested more than {MAX_NESTING} deep"
        raise ConfigError([msg])
    try:
        raw = round_trip_load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise ConfigError([f"{source}:{line}: YAML syntax error: {problem}"]) from None
    except ReaderError as exc:  # a character YAML does not allow: its index in the text
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1])
        msg = f"{source}:{line}: YAML error: character #x{code:04x} is not allowed in YAML"
        raise ConfigError([msg]) from None
    except (YAMLError, ValueError, TypeError, RecursionError, AttributeError) as exc:
        raise ConfigError([f"{source}:1: YAML error: {exc}"]) from None
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else _yaml_kind(raw)
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


def validate_spec(spec: s.PlantSpec) -> list[str]:
    """Check an in-memory plant (after an edit) and return its problems as text."""
    return [f"{error_path(loc)}: {m}" for loc, m in check_references(spec)]


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of the plant file format (for editors such as VS Code)."""
    sch = _allow_shorthands(_allow_bare_numbers(s.PlantSpec.model_json_schema()))
    return _titled(sch, f"factory_twin plant file, schema version {s.SCHEMA_VERSION}")


def file_json_schema(spec: type[BaseModel], title: str) -> dict[str, Any]:
    """Return the JSON Schema of another file kind whose loader validates ``spec`` (a
    scenario, experiment or study file): bare numbers accepted for distributions as the
    loaders do, and a bare ``changes:`` key (null) as an empty list."""
    sch = _allow_bare_numbers(spec.model_json_schema())
    changes = sch.get("properties", {}).get("changes")
    if isinstance(changes, dict) and changes.get("type") == "array":
        sch["properties"]["changes"] = {"anyOf": [changes, {"type": "null"}]}
    return _titled(sch, title)


def _titled(sch: dict[str, Any], title: str) -> dict[str, Any]:
    """Name the JSON Schema draft ``sch`` follows and give it ``title``."""
    sch["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    sch["title"] = title
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


def _allow_shorthands(sch: dict[str, Any]) -> dict[str, Any]:
    """Add the ``amhs`` section's short forms the loader accepts to the schema.

    ``amhs: simple`` (or ``oht``) stands for ``{model: ...}`` (:func:`amhs_from_value`), and a
    rail node may be a row ``[id, x, y]`` or ``[id, x, y, bay]`` (``Amhs._nodes_from_lists``).
    pydantic's schema knows neither, so without this an editor or a JSON Schema validator
    would reject valid plant files such as the shipped SMAT2022 layout.
    """
    amhs = sch["properties"]["amhs"]
    amhs["anyOf"] = [
        *amhs["anyOf"],
        {"type": "string", "enum": ["simple", "oht"], "description": "short for {model: ...}"},
    ]
    nodes = sch["$defs"]["Amhs"]["properties"]["nodes"]
    row = {
        "type": "array",
        "description": "a rail node as a row: [id, x, y] or [id, x, y, bay] (metres)",
        "prefixItems": [
            {"type": "string", "minLength": 1},
            {"type": "number"},
            {"type": "number"},
            {"type": "string"},
        ],
        "minItems": 3,
        "maxItems": 4,
        "items": False,
    }
    nodes["items"] = {"anyOf": [nodes["items"], row]}
    return sch


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
