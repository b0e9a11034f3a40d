"""Scenarios: a base plant plus an ordered list of changes, kept as a readable diff.

A scenario file ``NAME.scenario.yaml`` names its base plant (``base:``, a path relative to
the scenario file) or another scenario (``base_scenario:``), and lists ``changes:``, each
told apart by its ``change:`` key (the kinds are in :mod:`factory_twin.model.
scenario_changes`)::

    name: fourth scanner
    notes: one more ArF scanner in the litho bay
    base: demo_fab.yaml
    changes:
      - {change: add_tool, id: SCAN-04, like: SCAN-01, position_m: [38.55, 14.0]}
      - {change: set_dispatch, group: SCAN, rule: fifo}

Applying it copies the base plant, applies the changes in order and checks the result
exactly as :func:`~factory_twin.model.config.load_plant` checks a plant file (tool
overlaps, bays, cross-references). Every problem is reported at once, each as
``file:line: changes[k].field: message``, naming the change at fault, never as a traceback.
A base plant edited after the scenario was made still applies, or the scenario says which
change no longer fits (``changes[1].id: tool ETCH-09 is not in the base plant (...)``).

Examples
--------
>>> doc = load_scenario("plant_configs/demo_fab_fourth_scanner.scenario.yaml")  # doctest: +SKIP
>>> plant = doc.apply()                                                         # doctest: +SKIP
>>> doc.describe()[0]                                                           # doctest: +SKIP
'add SCAN-04 (arf_scanner) to SCAN in bay litho at (38.55, 14.0) m, rotation 0.0 deg, ...'
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from factory_twin.errors import ConfigError
from factory_twin.model import schema as s
from factory_twin.model.config import (
    PlantDocument,
    atomic_write_text,
    has_suffix,
    load_plant,
    merge_into,
    read_config_text,
    read_yaml_mapping,
    round_trip_yaml,
    suffixed_stem,
)
from factory_twin.model.config_checks import check_references
from factory_twin.model.config_errors import doc_location, error_path, validation_line
from factory_twin.model.geometry import bind_mesh_files
from factory_twin.model.scenario_changes import (
    CHANGE_KINDS,
    Change,
    Misfit,
    Trace,
    apply_change,
    summary,
)

SUFFIXES = (".scenario.yaml", ".scenario.yml")


class ScenarioSpec(s.Strict):
    """A whole scenario file."""

    name: str = ""
    notes: str = ""
    base: str | None = Field(default=None, min_length=1, description="base plant file")
    base_scenario: str | None = Field(default=None, min_length=1, description="base scenario")
    changes: list[Change] = Field(default_factory=list)

    # a fresh scenario's bare `changes:` key (YAML null) is an empty list
    _none_is_empty = field_validator("changes", mode="before")(
        lambda cls, v: [] if v is None else v
    )

    @model_validator(mode="after")
    def _one_base(self) -> ScenarioSpec:
        if (self.base is None) == (self.base_scenario is None):
            msg = "a scenario needs exactly one of 'base' (a plant file) or 'base_scenario'"
            raise ValueError(msg)
        return self


def is_scenario_path(path: str | Path) -> bool:
    """Return True if ``path`` names a scenario file (``*.scenario.yaml``)."""
    return has_suffix(path, SUFFIXES)


def scenario_stem(path: str | Path) -> str:
    """Return the file name without ``.scenario.yaml`` (or the plain stem for a plant)."""
    return suffixed_stem(path, SUFFIXES)


@dataclass
class _Applied:
    plant: s.PlantSpec | None
    descriptions: list[str]
    problems: list[str]
    base_text: str | None = None
    base_dir: Path | None = None


@dataclass
class ScenarioDocument:
    """A scenario read from a file (or built in memory) with the YAML it came from.

    Attributes
    ----------
    spec
        The changes and the base they apply to.
    path
        The scenario file (None if built in memory); ``base`` is relative to its folder.
    raw
        The ruamel round-trip document: its line marks locate errors, and saving keeps
        its comments.
    """

    spec: ScenarioSpec
    path: Path | None = None
    raw: Any = field(default=None, repr=False)
    origin: str | None = None

    @property
    def source(self) -> str:
        """How error lines name this scenario: its path, else the name it was read under."""
        if self.path is not None:
            return str(self.path)
        return self.origin or "<scenario>"

    @property
    def name(self) -> str:
        """The scenario's name: the file name without ``.scenario.yaml``, else ``spec.name``."""
        if self.path is not None:
            return scenario_stem(self.path)
        return self.spec.name or "scenario"

    def base_path(self) -> Path:
        """Return the file the scenario builds on (plant or scenario), as it resolves."""
        rel = Path(self.spec.base or self.spec.base_scenario or "")
        return rel if rel.is_absolute() or self.path is None else self.path.parent / rel

    # -- applying

    def apply(self) -> s.PlantSpec:
        """Return the base plant with the changes applied and checked.

        Raises
        ------
        ConfigError
            With every problem, each as ``file:line: changes[k].field: message``.
        """
        done = self._applied(frozenset())
        if done.problems or done.plant is None:
            raise ConfigError(done.problems or [f"{self.source}:1: the scenario does not apply"])
        return done.plant

    def describe(self) -> list[str]:
        """Return each change in words, as a diff against the plant it meets.

        Works on a scenario that does not validate too: a change that does not apply is
        described from its own fields and marked so.
        """
        return self._applied(frozenset()).descriptions

    def problems(self) -> list[str]:
        """Return every problem of the scenario (empty if it applies cleanly)."""
        return self._applied(frozenset()).problems

    def check(self) -> tuple[list[str], list[str]]:
        """Return :meth:`describe` and :meth:`problems` at once (the base is read once)."""
        done = self._applied(frozenset())
        return done.descriptions, done.problems

    def sketch(self) -> tuple[s.PlantSpec | None, list[str], list[str]]:
        """Return the changed plant even where it does not validate, the changes in words
        and the problems (the Plan workspace draws a sketch with overlaps in it).

        The plant is None only when the base does not load; a change that does not fit is
        left out of it.
        """
        done = self._applied(frozenset())
        return done.plant, done.descriptions, done.problems

    def _line(self, loc: tuple[Any, ...]) -> int:
        try:
            return doc_location(self.raw, loc)[1]
        except (TypeError, KeyError, IndexError, AttributeError):
            return 1  # a change added in memory has no line yet

    def _at(self, loc: tuple[Any, ...], message: str) -> str:
        return f"{self.source}:{self._line(loc)}: {error_path(loc)}: {message}"

    def _base(self, seen: frozenset[Path]) -> _Applied:
        """Load the base plant, or apply the base scenario."""
        target = self.base_path()
        key = ("base",) if self.spec.base is not None else ("base_scenario",)
        if not _is_file(target):
            what = "plant" if self.spec.base is not None else "scenario"
            return _Applied(None, [], [self._at(key, f"no {what} file {target}")])
        if self.spec.base is not None and is_scenario_path(target):
            return _Applied(
                None, [], [self._at(key, f"{target} is a scenario: use base_scenario")]
            )
        if self.spec.base_scenario is not None and not is_scenario_path(target):
            msg = f"{target} is not a *.scenario.yaml file: a plant is named with 'base'"
            return _Applied(None, [], [self._at(key, msg)])
        if self.spec.base is not None:
            try:
                spec, text = _base_plant(target)
            except ConfigError as exc:
                head = self._at(key, f"the base plant {target} does not load:")
                return _Applied(None, [], [head, *exc.issues])
            return _Applied(spec, [], [], text, target.parent)
        resolved = target.resolve()
        if resolved in seen:
            return _Applied(None, [], [self._at(key, f"scenario {target} builds on itself")])
        try:
            base_doc = load_scenario(target)
        except ConfigError as exc:
            head = self._at(key, f"the base scenario {target} does not load:")
            return _Applied(None, [], [head, *exc.issues])
        done = base_doc._applied(seen | {resolved})
        if done.problems:
            head = self._at(key, f"the base scenario {target} does not apply:")
            return _Applied(None, [], [head, *done.problems])
        return done

    def _applied(self, seen: frozenset[Path]) -> _Applied:
        if self.path is not None:
            seen = seen | {self.path.resolve()}
        base = self._base(seen)
        if base.plant is None:
            unread = [f"{summary(ch)} (base plant not loaded)" for ch in self.spec.changes]
            return _Applied(None, unread, base.problems)
        plant = base.plant.model_copy(deep=True)
        trace = Trace()
        words: list[str] = []
        problems: list[tuple[int, str]] = []
        for k, ch in enumerate(self.spec.changes):
            try:
                words.append(apply_change(plant, ch, trace, k))
            except Misfit as m:
                loc = ("changes", k, *m.loc)
                problems.append((k, self._at(loc, m.message)))
                words.append(f"{summary(ch)} (does not apply)")
            except ValueError as exc:  # a value the plant's schema refuses
                problems.append((k, self._at(("changes", k), str(exc).replace("\n", " "))))
                words.append(f"{summary(ch)} (does not apply)")
        for name in type(plant).model_fields:
            # a section the base file left out (defaults) that a change filled in, such as
            # 'transport' or 'tool_groups', must be written out and read back
            if name not in plant.model_fields_set and getattr(plant, name) != getattr(
                base.plant, name
            ):
                setattr(plant, name, getattr(plant, name))
        plant, found = self._checked(plant, trace, base.base_dir)
        problems += found
        problems.sort(key=lambda p: p[0])  # in the order of the changes at fault
        texts = [text for _, text in problems]
        return _Applied(plant, words, texts, base.base_text, base.base_dir)

    def _checked(
        self, plant: s.PlantSpec, trace: Trace, base_dir: Path | None
    ) -> tuple[s.PlantSpec, list[tuple[int, str]]]:
        """Check the changed plant as a plant file is checked; blame the changes at fault.

        The plant is read back from its own data first, so the whole-plant rules of the
        schema hold too (at least one tool, ...), and the result equals what its exported
        file loads as.
        """
        last = len(self.spec.changes)
        try:
            plant = s.PlantSpec.model_validate(plant.model_dump(exclude_unset=True))
        except ValidationError as exc:
            return plant, [
                self._blame(plant, trace, tuple(e["loc"]), str(e["msg"]))
                for e in exc.errors(include_url=False)
            ]
        try:
            found = bind_mesh_files(plant, base_dir) + check_references(plant)
        except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:
            return plant, [(last, self._at(("changes",), f"the changed plant is invalid: {exc}"))]
        return plant, [self._blame(plant, trace, loc, msg) for loc, msg in found]

    def _blame(
        self, plant: s.PlantSpec, trace: Trace, loc: tuple[Any, ...], msg: str
    ) -> tuple[int, str]:
        k, fld = _culprit(plant, trace, loc)
        m = _OVERLAP.match(msg)
        if m is not None:
            a, b = m.group(1), m.group(2)
            if trace.tools.get(a) is None and trace.tools.get(b) is not None:
                a, b = b, a
                k, fld = trace.tools[a], "position_m"
            j = trace.tools.get(b)
            whose = "of the base plant" if j is None else f"placed by changes[{j}]"
            msg = f"tool {a} overlaps tool {b} ({whose})"
        if k is None:
            text = f"the changed plant: {error_path(loc)}: {msg}"
            return len(self.spec.changes), self._at(("changes",), text)
        ch = self.spec.changes[k]
        if fld is not None and fld in ch.model_fields_set:
            return k, self._at(("changes", k, fld), msg)
        return k, self._at(("changes", k), msg)

    # -- writing

    def to_plant_yaml(self, path: str | Path) -> Path:
        """Write the applied scenario as a full plant file, atomically.

        The base plant's comments and layout are kept where the changes leave them. A file
        already at ``path`` is kept as ``<name>.bak``.
        """
        done = self._applied(frozenset())
        if done.problems or done.plant is None:
            raise ConfigError(done.problems)
        doc = PlantDocument(spec=done.plant, source_text=done.base_text)
        target = Path(path)
        atomic_write_text(target, doc.dumps(), keep_backup=True)
        return target

    def dumps(self) -> str:
        """Return the YAML text :meth:`save` would write (comments kept)."""
        if self.raw is None:
            self.raw = CommentedMap()
        merge_into(self.raw, self.spec.model_dump(mode="json", exclude_unset=True))
        buf = io.StringIO()
        round_trip_yaml().dump(self.raw, buf)
        return buf.getvalue()

    def save(self, path: str | Path | None = None) -> Path:
        """Write the scenario back atomically, keeping comments (as ``PlantDocument.save``).

        The previous file, if any, is kept as ``<name>.bak``.
        """
        target = Path(path) if path is not None else self.path
        if target is None:
            msg = "this scenario has no file yet: give a path to save it to"
            raise ConfigError([msg])
        atomic_write_text(target, self.dumps(), keep_backup=True)
        self.path = target
        return target

    # -- editing (the layout editor's undo stack inverts these)

    def _raw_changes(self) -> CommentedSeq:
        if self.raw is None:
            self.raw = CommentedMap()
        seq = self.raw.get("changes")
        if not isinstance(seq, CommentedSeq):
            seq = CommentedSeq(seq if isinstance(seq, list) else [])
            self.raw["changes"] = seq
        return seq

    def add_change(self, change: Any, index: int | None = None) -> int:
        """Insert a change (a change model or a mapping) at ``index`` (default: the end).

        Returns the index it went to; :meth:`remove_change` with it undoes the edit.
        """
        changes = list(self.spec.changes)
        at = len(changes) if index is None else max(0, min(index, len(changes)))
        data = change if isinstance(change, dict) else change.model_dump(exclude_unset=True)
        try:
            new = ScenarioSpec.model_validate(
                {**self.spec.model_dump(exclude_unset=True), "changes": [data]}
            ).changes[0]
        except ValidationError as exc:
            raise ConfigError(_format(exc, {"changes": [data]}, self.source)) from None
        changes.insert(at, new)
        self.spec.changes = changes
        self._raw_changes().insert(
            at, merge_into(None, new.model_dump(mode="json", exclude_unset=True))
        )
        return at

    def remove_change(self, index: int) -> Any:
        """Remove and return change ``index``; ``add_change(it, index)`` undoes it."""
        changes = list(self.spec.changes)
        gone = changes.pop(index)
        self.spec.changes = changes
        seq = self._raw_changes()
        if index < len(seq):
            del seq[index]
        return gone

    def move_change(self, old: int, new: int) -> None:
        """Move change ``old`` to position ``new``; ``move_change(new, old)`` undoes it."""
        changes = list(self.spec.changes)
        changes.insert(new, changes.pop(old))
        self.spec.changes = changes
        seq = self._raw_changes()
        if old < len(seq):
            item = seq[old]
            del seq[old]
            seq.insert(min(new, len(seq)), item)


_BASES: dict[Path, tuple[tuple[int, int], s.PlantSpec, str]] = {}


def _base_plant(path: Path) -> tuple[s.PlantSpec, str]:
    """The base plant file read and checked, and its text; kept while the file is unchanged.

    A live editor re-applies its scenario at every edit: reading SMT2020's plant again costs
    some 3 s. The plant returned is shared: callers copy it before changing it (``_applied``
    does). One file is kept per path, the last two paths.
    """
    resolved = path.resolve()
    st = resolved.stat()
    stamp = (st.st_mtime_ns, st.st_size)
    got = _BASES.get(resolved)
    if got is not None and got[0] == stamp:
        return got[1], got[2]
    text = path.read_text(encoding="utf-8")
    spec = load_plant(path).spec
    _BASES.pop(resolved, None)
    _BASES[resolved] = (stamp, spec, text)
    while len(_BASES) > 2:
        del _BASES[next(iter(_BASES))]
    return spec, text


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL byte: no such file either
        return False


_OVERLAP = re.compile(r"^tool '(.+?)' overlaps tool '(.+?)'")


def _culprit(
    plant: s.PlantSpec, trace: Trace, loc: tuple[Any, ...]
) -> tuple[int | None, str | None]:
    """The change that last touched what ``loc`` names in the changed plant, and its field."""
    if len(loc) < 2 or not isinstance(loc[1], int):
        return (trace.transport, None) if loc[:1] == ("transport",) else (None, None)
    section, i = loc[0], loc[1]
    fld = loc[2] if len(loc) > 2 and isinstance(loc[2], str) else None
    try:
        if section == "equipment":
            e = plant.equipment[i]
            k = trace.tools.get(e.id)
            return (k, fld) if k is not None else (trace.groups.get(e.group), None)
        if section == "tool_groups":
            return trace.groups.get(plant.tool_groups[i].id), None
        if section == "routes" and loc[-1] == "tool_group":
            return trace.groups.get(plant.routes[i].steps[loc[3]].tool_group), None
        if section == "products":
            return trace.products.get(plant.products[i].id), None
    except (IndexError, TypeError):
        pass  # a location outside the changed plant: no change to blame
    return None, None


# --------------------------------------------------------------------------- reading


def load_scenario(path: str | Path) -> ScenarioDocument:
    """Read a scenario file (its format; :meth:`ScenarioDocument.apply` checks the rest).

    Raises
    ------
    ConfigError
        With every problem found, each as ``file:line: field.path: message``.
    """
    p = Path(path)
    return loads_scenario(read_config_text(p), source=str(p), path=p)


def loads_scenario(
    text: str, *, source: str = "<scenario>", path: Path | None = None
) -> ScenarioDocument:
    """Read scenario YAML given as text (see :func:`load_scenario`)."""
    raw = read_yaml_mapping(text, source, "'base' and 'changes'")
    try:
        spec = ScenarioSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format(exc, raw, source)) from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise ConfigError([f"{source}:1: invalid scenario: {exc}"]) from None
    return ScenarioDocument(spec=spec, path=path, raw=raw, origin=source)


def _format(exc: ValidationError, raw: Any, source: str) -> list[str]:
    """pydantic's errors as ``file:line: path: message`` (the plant loader's wording)."""
    out: list[str] = []
    errors = exc.errors(include_url=False)
    at = [doc_location(raw, tuple(err["loc"])) for err in errors]
    # a number-or-distribution field fails in both branches: report the one the input took
    aimed = {loc for err, (loc, _) in zip(errors, at, strict=True) if not _other_branch(err)}
    for err, (loc, line) in zip(errors, at, strict=True):
        typ = err["type"]
        if loc in aimed and _other_branch(err):
            continue
        is_change = len(err["loc"]) == 2 and err["loc"][0] == "changes"
        if is_change and typ == "union_tag_invalid":
            tag = err.get("ctx", {}).get("tag")
            msg = f"unknown change {tag!r}: use one of {', '.join(CHANGE_KINDS)}"
            text = f"{source}:{line}: {error_path(loc)}: {msg}"
        elif is_change and typ in ("union_tag_not_found", "model_attributes_type"):
            msg = f"a change is a mapping with 'change: <kind>' ({', '.join(CHANGE_KINDS)})"
            text = f"{source}:{line}: {error_path(loc)}: {msg}"
        else:
            text = validation_line(err, raw, source)
        if text not in out:
            out.append(text)
    return out


_NUMBER_ERRORS = {"float_parsing", "float_type", "greater_than", "finite_number"}
_MAPPING_ERRORS = {"model_attributes_type", "dict_type", "union_tag_not_found"}


def _other_branch(err: Any) -> bool:
    """An error of a union branch the input did not aim at (a number met as a mapping...)."""
    if isinstance(err.get("input"), dict):
        return bool(err["type"] in _NUMBER_ERRORS)
    return bool(err["type"] in _MAPPING_ERRORS)


# --------------------------------------------------------------------------- plant or scenario


@dataclass
class LoadedPlant:
    """A plant ready to simulate, read from a plant file or a scenario file.

    Attributes
    ----------
    name
        The file name without ``.yaml`` / ``.scenario.yaml``.
    spec
        The plant (a scenario's base with its changes applied).
    path
        The file it was read from.
    scenario
        The scenario, if the file was one.
    """

    name: str
    spec: s.PlantSpec
    path: Path
    scenario: ScenarioDocument | None = None


def load_plant_or_scenario(path: str | Path) -> LoadedPlant:
    """Read a plant file, or a scenario file (``*.scenario.yaml``) and apply it.

    Raises
    ------
    ConfigError
        As :func:`~factory_twin.model.config.load_plant` or :meth:`ScenarioDocument.apply`.
    """
    p = Path(path)
    if is_scenario_path(p):
        doc = load_scenario(p)
        return LoadedPlant(scenario_stem(p), doc.apply(), p, doc)
    return LoadedPlant(p.stem, load_plant(p).spec, p)
