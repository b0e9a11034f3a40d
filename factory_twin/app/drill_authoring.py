"""Drill authoring without Qt: undoable edits of a plant's drills.

Every edit is a :class:`DrillEdit` holding the drill before and after (drills are never
mutated in place, so both snapshots stay valid for undo and redo), built by the functions
below from plain field values. A new drill is validated by the schema and checked against
the plant (:func:`~factory_twin.model.drill_checks.check_drill`: unknown tools, tags,
procedures...), so a wrong edit is refused with a message saying what and where, and the
plant in memory never holds an invalid drill. Saving is the plant document's
(:meth:`~factory_twin.model.config.PlantDocument.save`): atomic, comments kept, the old file
kept as ``.bak``.

Examples
--------
>>> e = add_injection(spec, "etch_helium_leak",                       # doctest: +SKIP
...     {"at_s": 500, "equipment": "ETCH-01", "fault": "breakdown"})
>>> e.apply(spec); e.revert(spec)                                     # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from factory_twin.errors import FactoryTwinError
from factory_twin.model import schema as s
from factory_twin.model.drill_checks import check_drill

__all__ = [
    "DrillEdit",
    "DrillEditError",
    "add_injection",
    "add_response",
    "drill_index",
    "remove_injection",
    "remove_response",
    "set_drill_fields",
    "set_injection_fields",
    "set_response_fields",
]


class DrillEditError(FactoryTwinError):
    """An edit that would make the drill invalid (the message says what and where)."""


def drill_index(spec: s.PlantSpec, drill_id: str) -> int:
    """Position of drill ``drill_id`` in ``spec.drills``."""
    for i, d in enumerate(spec.drills):
        if d.id == drill_id:
            return i
    msg = f"no drill {drill_id!r} in the plant"
    raise DrillEditError(msg)


@dataclass
class DrillEdit:
    """One undoable change to a drill: the drill before and after (see the module doc)."""

    text: str
    index: int
    before: s.Drill
    after: s.Drill

    def apply(self, spec: s.PlantSpec) -> None:
        """Do the edit on ``spec``."""
        self._swap(spec, self.before, self.after)

    def revert(self, spec: s.PlantSpec) -> None:
        """Undo the edit on ``spec``."""
        self._swap(spec, self.after, self.before)

    def _swap(self, spec: s.PlantSpec, old: s.Drill, new: s.Drill) -> None:
        drills = spec.drills
        if self.index >= len(drills) or drills[self.index] is not old:
            msg = f"{self.text}: the plant's drills changed underneath this edit"
            raise DrillEditError(msg)
        drills[self.index] = new
        if "drills" not in spec.model_fields_set:
            spec.drills = drills  # mark the section set so that saving writes it

    @property
    def drill_id(self) -> str:
        """Id of the drill this edit touches."""
        return self.after.id


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(x) for x in loc)


def _build(spec: s.PlantSpec, data: dict[str, Any], drill_id: str) -> s.Drill:
    try:
        drill = s.Drill.model_validate(data)
    except ValidationError as exc:
        parts = [
            f"drill {drill_id}: {_where(e['loc']) or 'drill'}: {e['msg']}" for e in exc.errors()
        ]
        raise DrillEditError("; ".join(parts)) from None
    problems = check_drill(spec, drill)
    if problems:
        msg = "; ".join(f"drill {drill_id}: {_where(loc)}: {m}" for loc, m in problems)
        raise DrillEditError(msg)
    return drill


def _edit(spec: s.PlantSpec, drill_id: str, text: str, change: Any) -> DrillEdit:
    i = drill_index(spec, drill_id)
    before = spec.drills[i]
    data = before.model_dump(mode="json", exclude_unset=True)
    data.setdefault("injections", [])
    data.setdefault("expected", [])
    change(data)
    return DrillEdit(text, i, before, _build(spec, data, drill_id))


def _plain(fields: dict[str, Any]) -> dict[str, Any]:
    """Drop empty optional values ('' and None) so the file stays as short as written."""
    return {k: v for k, v in fields.items() if v is not None and v != ""}


def set_drill_fields(spec: s.PlantSpec, drill_id: str, **fields: Any) -> DrillEdit:
    """Change drill-level fields (``briefing``, ``name``, ``pass_mark_pct``, ``speed``...)."""
    names = ", ".join(sorted(fields))
    return _edit(spec, drill_id, f"Edit {names} of {drill_id}", lambda d: d.update(fields))


def _check_k(items: list[Any], k: int, what: str, drill_id: str) -> None:
    if not 0 <= k < len(items):
        msg = f"drill {drill_id} has no {what} {k + 1} (it has {len(items)})"
        raise DrillEditError(msg)


def add_injection(
    spec: s.PlantSpec, drill_id: str, fields: dict[str, Any], index: int | None = None
) -> DrillEdit:
    """Add an injection (a new id ``injN`` if none is given), at ``index`` or in time order."""
    data = _plain(dict(fields))
    drill = spec.drills[drill_index(spec, drill_id)]
    if not data.get("id"):
        used = {i.id for i in drill.injections}
        n = len(drill.injections) + 1
        while f"inj{n}" in used:
            n += 1
        data["id"] = f"inj{n}"

    def change(d: dict[str, Any]) -> None:
        injs = d["injections"]
        k = index
        if k is None:  # keep timed injections in time order
            at = data.get("at_s")
            k = len(injs)
            if at is not None:
                later = [j for j, x in enumerate(injs) if (x.get("at_s") or 0) > at]
                k = later[0] if later else len(injs)
        injs.insert(k, data)

    return _edit(spec, drill_id, f"Add {data.get('fault', 'injection')} {data['id']}", change)


def remove_injection(spec: s.PlantSpec, drill_id: str, k: int) -> DrillEdit:
    """Remove injection ``k`` (0-based); refused while a response names it in ``after``."""

    def change(d: dict[str, Any]) -> None:
        _check_k(d["injections"], k, "injection", drill_id)
        gone = d["injections"].pop(k)
        users = [j + 1 for j, r in enumerate(d["expected"]) if r.get("after") == gone.get("id")]
        if users:
            msg = (
                f"drill {drill_id}: injection {gone.get('id')} is the 'after' of expected "
                f"response(s) {users}: change those first"
            )
            raise DrillEditError(msg)

    return _edit(spec, drill_id, f"Remove injection {k + 1}", change)


def set_injection_fields(spec: s.PlantSpec, drill_id: str, k: int, **fields: Any) -> DrillEdit:
    """Change fields of injection ``k`` (None or '' removes an optional field)."""

    def change(d: dict[str, Any]) -> None:
        _check_k(d["injections"], k, "injection", drill_id)
        inj = d["injections"][k]
        for key, v in fields.items():
            if v is None or v == "":
                inj.pop(key, None)
            else:
                inj[key] = v
        if fields.get("at_s") is not None:
            inj.pop("trigger", None)

    return _edit(spec, drill_id, f"Edit injection {k + 1}", change)


def add_response(
    spec: s.PlantSpec, drill_id: str, fields: dict[str, Any], index: int | None = None
) -> DrillEdit:
    """Add an expected response (at ``index``, default last)."""
    data = _plain(dict(fields))

    def change(d: dict[str, Any]) -> None:
        d["expected"].insert(len(d["expected"]) if index is None else index, data)

    return _edit(spec, drill_id, f"Add expected {data.get('action', 'response')}", change)


def remove_response(spec: s.PlantSpec, drill_id: str, k: int) -> DrillEdit:
    """Remove expected response ``k`` (0-based)."""

    def change(d: dict[str, Any]) -> None:
        _check_k(d["expected"], k, "expected response", drill_id)
        d["expected"].pop(k)

    return _edit(spec, drill_id, f"Remove expected response {k + 1}", change)


def set_response_fields(spec: s.PlantSpec, drill_id: str, k: int, **fields: Any) -> DrillEdit:
    """Change fields of expected response ``k`` (None or '' removes an optional field)."""

    def change(d: dict[str, Any]) -> None:
        _check_k(d["expected"], k, "expected response", drill_id)
        r = d["expected"][k]
        for key, v in fields.items():
            if v is None or v == "":
                r.pop(key, None)
            else:
                r[key] = v

    return _edit(spec, drill_id, f"Edit expected response {k + 1}", change)
