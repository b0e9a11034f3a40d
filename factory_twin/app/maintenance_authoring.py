"""Procedure authoring: undoable edits of the plant's maintenance procedures (no Qt here).

:class:`ProcedureEdit` and its constructors (:func:`add_procedure`, :func:`remove_procedure`,
:func:`set_procedure_fields`, :func:`set_step_fields`, :func:`insert_step`,
:func:`remove_step`, :func:`move_step`) are the authoring operations on a
:class:`~factory_twin.model.schema.PlantSpec`. Each edit holds the procedure before and
after (procedures are never mutated in place), so undo is exact; the desktop app wraps them
in a ``QUndoStack``. An edit that would make a procedure invalid raises :class:`EditError`
naming the field; :func:`procedure_problems` lists what the plant's cross-checks find.

Running procedures and their log are in :mod:`factory_twin.app.maintenance`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from factory_twin.errors import FactoryTwinError
from factory_twin.model import schema as s


class EditError(FactoryTwinError):
    """An authoring edit that would make a procedure invalid (the message names the field)."""


def _fmt_validation(exc: ValidationError, prefix: str) -> str:
    parts = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"])
        parts.append(f"{prefix}{'.' + loc if loc else ''}: {e['msg']}")
    return "; ".join(parts)


def _proc_index(spec: s.PlantSpec, proc_id: str) -> int:
    for i, p in enumerate(spec.procedures):
        if p.id == proc_id:
            return i
    msg = f"no procedure {proc_id!r} in the plant"
    raise EditError(msg)


def _dump(p: s.Procedure) -> dict[str, Any]:
    return p.model_dump(mode="json", exclude_unset=True)


def _build(data: dict[str, Any], where: str) -> s.Procedure:
    try:
        return s.Procedure.model_validate(data)
    except ValidationError as exc:
        raise EditError(_fmt_validation(exc, where)) from None


def _step(data: dict[str, Any] | s.ProcedureStep, where: str) -> dict[str, Any]:
    if isinstance(data, s.ProcedureStep):
        return data.model_dump(mode="json", exclude_unset=True)
    try:
        return s.ProcedureStep.model_validate(data).model_dump(mode="json", exclude_unset=True)
    except ValidationError as exc:
        raise EditError(_fmt_validation(exc, where)) from None


@dataclass
class ProcedureEdit:
    """One undoable change to the plant's procedures: the procedure before and after.

    ``before`` None means the edit adds a procedure, ``after`` None that it removes one;
    ``index`` is its position in ``spec.procedures``. Procedures are never mutated in
    place, so the two snapshots stay valid for undo and redo.
    """

    text: str
    index: int
    before: s.Procedure | None
    after: s.Procedure | None
    step: int | None = None  # the step to show after the edit, if any

    def apply(self, spec: s.PlantSpec) -> None:
        """Do the edit on ``spec``."""
        self._swap(spec, self.before, self.after)

    def revert(self, spec: s.PlantSpec) -> None:
        """Undo the edit on ``spec``."""
        self._swap(spec, self.after, self.before)

    def _swap(self, spec: s.PlantSpec, old: s.Procedure | None, new: s.Procedure | None) -> None:
        procs = spec.procedures
        if old is not None:
            if self.index >= len(procs) or procs[self.index] is not old:
                msg = f"{self.text}: the plant's procedures changed underneath this edit"
                raise EditError(msg)
            if new is None:
                del procs[self.index]
            else:
                procs[self.index] = new
        elif new is not None:
            procs.insert(self.index, new)
        if "procedures" not in spec.model_fields_set:
            spec.procedures = procs  # mark the section set so that saving writes it

    @property
    def procedure_id(self) -> str:
        """Id of the procedure this edit touches."""
        p = self.after or self.before
        assert p is not None
        return p.id


def _edit(
    spec: s.PlantSpec, proc_id: str, text: str, change: Any, step: int | None = None
) -> ProcedureEdit:
    i = _proc_index(spec, proc_id)
    before = spec.procedures[i]
    data = _dump(before)
    change(data)
    after = _build(data, f"procedure {proc_id}")
    return ProcedureEdit(text, i, before, after, step)


def add_procedure(spec: s.PlantSpec, data: dict[str, Any] | s.Procedure) -> ProcedureEdit:
    """Return the edit that appends a new procedure (its id must be new)."""
    proc = data if isinstance(data, s.Procedure) else _build(dict(data), "new procedure")
    if any(p.id == proc.id for p in spec.procedures):
        msg = f"a procedure with id {proc.id!r} exists already"
        raise EditError(msg)
    try:
        spec.equipment_type(proc.equipment_type)
    except KeyError:
        msg = f"new procedure: unknown equipment type {proc.equipment_type!r}"
        raise EditError(msg) from None
    return ProcedureEdit(f"Add procedure {proc.id}", len(spec.procedures), None, proc, 0)


def remove_procedure(spec: s.PlantSpec, proc_id: str) -> ProcedureEdit:
    """Return the edit that removes a procedure."""
    i = _proc_index(spec, proc_id)
    return ProcedureEdit(f"Remove procedure {proc_id}", i, spec.procedures[i], None)


def set_procedure_fields(spec: s.PlantSpec, proc_id: str, **fields: Any) -> ProcedureEdit:
    """Return the edit that changes procedure-level fields (name, revision, alarm_codes, ...)."""
    if "steps" in fields or "equipment_type" in fields:
        msg = "use the step edits to change steps; the equipment type of a procedure is fixed"
        raise EditError(msg)

    def change(d: dict[str, Any]) -> None:
        d.update(fields)

    names = ", ".join(fields)
    return _edit(spec, proc_id, f"Change {names} of {proc_id}", change)


def set_step_fields(spec: s.PlantSpec, proc_id: str, k: int, **fields: Any) -> ProcedureEdit:
    """Return the edit that changes fields of step ``k`` (``None`` removes an optional field)."""

    def change(d: dict[str, Any]) -> None:
        _check_k(d, k, proc_id)
        st = dict(d["steps"][k])
        for key, v in fields.items():
            if v is None:
                st.pop(key, None)
            else:
                st[key] = v.model_dump(mode="json") if isinstance(v, s.Strict) else v
        d["steps"][k] = _step(st, f"procedure {proc_id}.steps.{k}")

    return _edit(spec, proc_id, f"Edit step {k + 1} of {proc_id}", change, k)


def insert_step(
    spec: s.PlantSpec, proc_id: str, k: int, step: dict[str, Any] | s.ProcedureStep
) -> ProcedureEdit:
    """Return the edit that inserts ``step`` at position ``k`` (``k = len`` appends)."""

    def change(d: dict[str, Any]) -> None:
        if not 0 <= k <= len(d["steps"]):
            msg = f"procedure {proc_id}: cannot insert a step at position {k + 1}"
            raise EditError(msg)
        d["steps"].insert(k, _step(step, f"procedure {proc_id}.steps.{k}"))

    return _edit(spec, proc_id, f"Add step {k + 1} to {proc_id}", change, k)


def remove_step(spec: s.PlantSpec, proc_id: str, k: int) -> ProcedureEdit:
    """Return the edit that removes step ``k`` (a procedure keeps at least one step)."""

    def change(d: dict[str, Any]) -> None:
        _check_k(d, k, proc_id)
        if len(d["steps"]) == 1:
            msg = f"procedure {proc_id} needs at least one step"
            raise EditError(msg)
        del d["steps"][k]

    return _edit(spec, proc_id, f"Remove step {k + 1} of {proc_id}", change, max(0, k - 1))


def move_step(spec: s.PlantSpec, proc_id: str, src: int, dst: int) -> ProcedureEdit:
    """Return the edit that moves step ``src`` so that it ends at position ``dst``."""

    def change(d: dict[str, Any]) -> None:
        _check_k(d, src, proc_id)
        _check_k(d, dst, proc_id)
        st = d["steps"].pop(src)
        d["steps"].insert(dst, st)

    return _edit(spec, proc_id, f"Move step {src + 1} to {dst + 1} in {proc_id}", change, dst)


def _check_k(d: dict[str, Any], k: int, proc_id: str) -> None:
    if not 0 <= k < len(d["steps"]):
        msg = f"procedure {proc_id} has steps 1 to {len(d['steps'])}, not {k + 1}"
        raise EditError(msg)


def procedure_problems(spec: s.PlantSpec, proc_id: str | None = None) -> list[str]:
    """Return the plant's procedure problems (of one procedure, or all) as text.

    Uses :func:`factory_twin.model.config.check_references`, so a step naming a
    component its type lacks or an alarm code on a missing limit is reported with its
    field path, e.g. ``procedures[2].steps[1].component: ...``.
    """
    from factory_twin.model.config_checks import check_references

    out = []
    for loc, msg in check_references(spec):
        if not loc or loc[0] != "procedures":
            continue
        i = loc[1]
        pid = spec.procedures[i].id if isinstance(i, int) and i < len(spec.procedures) else "?"
        if proc_id is not None and pid != proc_id:
            continue
        path = "procedures" + "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in loc[1:])
        out.append(f"{path} ({pid}): {msg}")
    return out


def iter_steps(spec: s.PlantSpec, proc_id: str) -> Iterator[tuple[int, s.ProcedureStep]]:
    """Yield ``(index, step)`` of a procedure."""
    yield from enumerate(spec.procedures[_proc_index(spec, proc_id)].steps)


__all__ = [
    "EditError",
    "ProcedureEdit",
    "add_procedure",
    "insert_step",
    "iter_steps",
    "move_step",
    "procedure_problems",
    "remove_procedure",
    "remove_step",
    "set_procedure_fields",
    "set_step_fields",
]
