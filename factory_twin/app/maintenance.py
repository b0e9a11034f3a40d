"""Maintenance work: procedure sessions, the maintenance log and where parts are on a tool.

No Qt here. Three parts:

* :class:`MaintenanceLog` is an append-only JSON Lines file. Every event of a procedure
  run (started, safety acknowledged, step started, step signed off, finished) is one line,
  written with ``flush`` + ``fsync`` before the call returns, so a crash or a killed
  process never loses a signed step. A torn last line (power cut mid-write) is skipped
  when the log is read. The log exports as CSV.
* :class:`ProcedureSession` walks one procedure on one tool: safety notes must be
  acknowledged before a step starts; a sign-off records name, time and, where the step
  has an acceptance, the measured value; a value out of limits needs an explicit
  confirmation and is flagged. A session is rebuilt from the log to resume it.
* :func:`anchor_world`, :func:`world_to_local` and :func:`nearest_component` place a
  tool's components in the fab and find the one a picked point belongs to.

Authoring procedures (undoable edits) is in :mod:`factory_twin.app.maintenance_authoring`.

Examples
--------
>>> from factory_twin.model.config import load_plant                  # doctest: +SKIP
>>> spec = load_plant("plant_configs/demo_fab.yaml").spec              # doctest: +SKIP
>>> log = MaintenanceLog("maintenance_log.jsonl")                      # doctest: +SKIP
>>> s = ProcedureSession.start(log, spec, "FURN-01", "furnace-quartz-tube-inspection",
...                            technician="A. Tech")                   # doctest: +SKIP
>>> s.acknowledge_safety(0); s.start_step(0)                           # doctest: +SKIP
>>> s.sign_off(0, "A. Tech", value=42.0)                               # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from factory_twin.errors import FactoryTwinError
from factory_twin.model import schema as s
from factory_twin.model.config import atomic_write_text
from factory_twin.model.config_checks import ALARM_LIMITS

logger = logging.getLogger(__name__)

LOG_NAME = "maintenance_log.jsonl"
CSV_COLUMNS = (
    "session",
    "plant",
    "equipment",
    "procedure",
    "revision",
    "step",
    "title",
    "component",
    "technician",
    "signed_at",
    "value",
    "unit",
    "min",
    "max",
    "within_limits",
    "out_of_limit_confirmed",
    "comment",
)


class MaintenanceError(FactoryTwinError):
    """A maintenance action that is not allowed now (the message says why)."""


def default_log_path() -> Path:
    """Return the maintenance log in the user data folder."""
    import platformdirs

    return Path(platformdirs.user_data_dir("factory_twin", appauthor=False)) / LOG_NAME


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- the log


class MaintenanceLog:
    """An append-only, crash-safe JSON Lines file of maintenance events.

    Parameters
    ----------
    path
        The log file (default: :func:`default_log_path`). Created on the first write.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_log_path()

    def append(self, record: dict[str, Any]) -> None:
        """Append one event and make it durable (``flush`` + ``fsync``) before returning."""
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                # a torn last line (crash mid-write) must not swallow this record
                if not new and os.fstat(fd).st_size > 0:
                    with open(self.path, "rb") as fh:
                        fh.seek(-1, os.SEEK_END)
                        if fh.read(1) != b"\n":
                            line = "\n" + line
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            if new:  # make the new directory entry durable too
                dfd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
        except OSError as exc:
            msg = f"cannot write the maintenance log {self.path}: {exc}"
            raise MaintenanceError(msg) from None

    def records(self) -> list[dict[str, Any]]:
        """Return every event in file order; unreadable lines are skipped with a warning."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as exc:
            msg = f"cannot read the maintenance log {self.path}: {exc}"
            raise MaintenanceError(msg) from None
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except (json.JSONDecodeError, RecursionError):  # torn, edited, nested too deep
                logger.warning("%s:%d: skipping a damaged log line", self.path, n)
                continue
            if isinstance(rec, dict):
                out.append(rec)
        return out

    def session_records(self, session_id: str) -> list[dict[str, Any]]:
        """Return the events of one session."""
        return [r for r in self.records() if r.get("session") == session_id]

    def sessions(self) -> list[dict[str, Any]]:
        """Return one summary per session, oldest first.

        Each summary has ``session``, ``equipment``, ``procedure``, ``revision``,
        ``technician``, ``started_at``, ``signed`` (step indices), ``finished``.
        """
        out: dict[str, dict[str, Any]] = {}
        for r in self.records():
            sid = r.get("session")
            if not isinstance(sid, str):
                continue
            kind = r.get("kind")
            if kind == "start":
                out[sid] = {
                    k: r.get(k)
                    for k in (
                        "session",
                        "plant",
                        "equipment",
                        "procedure",
                        "revision",
                        "technician",
                        "steps",
                    )
                }
                out[sid].update(started_at=r.get("time"), signed=[], finished=None)
            elif sid in out and kind == "signoff":
                step = _step_index(r.get("step"))
                if step is not None:  # a damaged sign-off signs nothing
                    out[sid]["signed"].append(step)
            elif sid in out and kind in ("finish", "abort"):
                out[sid]["finished"] = kind
        return list(out.values())

    def open_sessions(
        self, equipment: str | None = None, procedure: str | None = None
    ) -> list[dict[str, Any]]:
        """Return unfinished sessions (optionally of one tool and procedure), newest first."""
        return [
            x
            for x in reversed(self.sessions())
            if x["finished"] is None
            and (equipment is None or x["equipment"] == equipment)
            and (procedure is None or x["procedure"] == procedure)
        ]

    def signoffs(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """Return the sign-off events (of one session, or all)."""
        return [
            r
            for r in self.records()
            if r.get("kind") == "signoff"
            and (session_id is None or r.get("session") == session_id)
        ]

    def export_csv(self, path: str | Path, session_id: str | None = None) -> int:
        """Write the sign-offs (of one session, or all) as CSV atomically; return the row count."""
        # a damaged sign-off (no step number) has no row to give
        rows = [r for r in self.signoffs(session_id) if _step_index(r.get("step")) is not None]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(
                {
                    **r,
                    "step": int(r["step"]) + 1,
                    "value": "" if r.get("value") is None else r["value"],
                }
            )
        try:
            atomic_write_text(path, buf.getvalue())
        except OSError as exc:
            msg = f"cannot write {path}: {exc}"
            raise MaintenanceError(msg) from None
        return len(rows)


# --------------------------------------------------------------------------- sessions


@dataclass
class SignOff:
    """A signed step."""

    step: int
    technician: str
    signed_at: str
    value: float | None = None
    within_limits: bool | None = None
    out_of_limit_confirmed: bool = False
    comment: str = ""


@dataclass
class StepStatus:
    """What has happened to one step of a session."""

    acknowledged: set[int] = field(default_factory=set)  # indices of acknowledged safety notes
    started_at: str | None = None
    signoff: SignOff | None = None


def _step_index(value: Any) -> int | None:
    """A logged step number (0-based) if ``value`` is one, else None (a damaged record)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def find_procedure(
    spec: s.PlantSpec, equipment_id: str, procedure: str
) -> tuple[s.Equipment, s.Procedure]:
    """Return the tool and its procedure ``procedure`` (id or name).

    Raises
    ------
    MaintenanceError
        If the tool is unknown or its type has no such procedure.
    """
    try:
        tool = spec.tool(equipment_id)
    except KeyError:
        msg = f"no equipment {equipment_id!r} in the plant"
        raise MaintenanceError(msg) from None
    procs = spec.procedures_for(tool.type)
    for p in procs:
        if p.id == procedure or p.name == procedure:
            return tool, p
    names = ", ".join(p.id for p in procs) or "none"
    msg = f"type {tool.type!r} of {equipment_id} has no procedure {procedure!r} (has: {names})"
    raise MaintenanceError(msg)


def check_value(acc: s.Acceptance | None, value: float | None) -> bool | None:
    """Return whether ``value`` meets ``acc`` (None when there is nothing to check)."""
    if acc is None or value is None:
        return None
    return acc.accepts(value)


class ProcedureSession:
    """One run of a procedure on one tool, recorded in a :class:`MaintenanceLog`.

    Create with :meth:`start` or :meth:`resume`; every method that changes the session
    writes the log first, so what the object says is what the file says.
    """

    def __init__(
        self,
        log: MaintenanceLog,
        spec: s.PlantSpec,
        equipment_id: str,
        procedure: s.Procedure,
        session_id: str,
        technician: str = "",
    ) -> None:
        self.log = log
        self.spec = spec
        self.equipment_id = equipment_id
        self.procedure = procedure
        self.session_id = session_id
        self.technician = technician
        self.status = [StepStatus() for _ in procedure.steps]
        self.current = 0
        self.finished: str | None = None

    # -- creation

    @classmethod
    def start(
        cls,
        log: MaintenanceLog,
        spec: s.PlantSpec,
        equipment_id: str,
        procedure: str,
        *,
        technician: str = "",
    ) -> ProcedureSession:
        """Begin a new session and log its start."""
        _, proc = find_procedure(spec, equipment_id, procedure)
        sess = cls(log, spec, equipment_id, proc, uuid.uuid4().hex, technician)
        sess._write(
            "start",
            plant=spec.site.name,
            revision=proc.revision,
            technician=technician,
            steps=len(proc.steps),
        )
        return sess

    @classmethod
    def resume(cls, log: MaintenanceLog, spec: s.PlantSpec, session_id: str) -> ProcedureSession:
        """Rebuild a session from the log (acknowledgements, starts and sign-offs).

        Raises
        ------
        MaintenanceError
            If the session is not in the log, or the procedure changed revision or
            step count since it started.
        """
        recs = log.session_records(session_id)
        start = next((r for r in recs if r.get("kind") == "start"), None)
        if start is None:
            msg = f"no session {session_id!r} in {log.path}"
            raise MaintenanceError(msg)
        equipment, procedure = start.get("equipment"), start.get("procedure")
        if not (isinstance(equipment, str) and isinstance(procedure, str)):
            msg = f"{log.path}: the start of session {session_id!r} is damaged (no tool or procedure)"
            raise MaintenanceError(msg)
        try:
            _, proc = find_procedure(spec, equipment, procedure)
        except MaintenanceError as exc:
            raise MaintenanceError(f"{log.path}: session {session_id!r}: {exc}") from None
        if proc.revision != start.get("revision") or len(proc.steps) != start.get("steps"):
            msg = (
                f"{log.path}: session {session_id!r}: "
                f"procedure {proc.id} is now revision {proc.revision} with {len(proc.steps)} "
                f"steps; the session began on revision {start.get('revision')} with "
                f"{start.get('steps')} steps and cannot be resumed"
            )
            raise MaintenanceError(msg)
        technician = start.get("technician")
        sess = cls(log, spec, equipment, proc, session_id, technician or "")
        for r in recs:
            try:
                sess._replay(r)
            except (KeyError, TypeError, ValueError, OverflowError):
                logger.warning("%s: session %s: skipping a damaged %r record", log.path,
                               session_id, r.get("kind"))  # fmt: skip
        sess.current = sess.first_open_step()
        return sess

    def _replay(self, r: dict[str, Any]) -> None:
        """Apply one logged event of this session (KeyError or ValueError if it is damaged)."""
        kind = r.get("kind")
        if kind in ("finish", "abort"):
            self.finished = kind
            return
        k = _step_index(r.get("step"))
        if k is None or k >= len(self.steps):
            return
        if kind == "ack":
            note = r["note"]
            if _step_index(note) is None or note >= len(self.steps[k].safety):
                raise ValueError(note)  # a note the step has not got acknowledges nothing
            self.status[k].acknowledged.add(note)
        elif kind == "step_start":
            started = r["time"]
            if not isinstance(started, str):
                raise ValueError(started)
            self.status[k].started_at = started
        elif kind == "signoff":
            technician, signed_at = r["technician"], r["signed_at"]
            if not (isinstance(technician, str) and technician and isinstance(signed_at, str)):
                raise ValueError(technician)  # a sign-off names who signed and when
            self.status[k].signoff = SignOff(
                step=k,
                technician=technician,
                signed_at=signed_at,
                value=r.get("value"),
                within_limits=r.get("within_limits"),
                out_of_limit_confirmed=bool(r.get("out_of_limit_confirmed")),
                comment=str(r.get("comment") or ""),
            )

    # -- queries

    @property
    def steps(self) -> list[s.ProcedureStep]:
        """The procedure's steps."""
        return self.procedure.steps

    def _check_step(self, k: int) -> s.ProcedureStep:
        if not 0 <= k < len(self.steps):
            msg = f"procedure {self.procedure.id} has steps 1 to {len(self.steps)}, not {k + 1}"
            raise MaintenanceError(msg)
        return self.steps[k]

    def safety_acknowledged(self, k: int) -> bool:
        """Return True when every safety note of step ``k`` is acknowledged."""
        return len(self.status[k].acknowledged) >= len(self._check_step(k).safety)

    def is_started(self, k: int) -> bool:
        """Return True once step ``k`` was started."""
        return self.status[k].started_at is not None

    def is_signed(self, k: int) -> bool:
        """Return True once step ``k`` is signed off."""
        return self.status[k].signoff is not None

    def signed_count(self) -> int:
        """Return how many steps are signed off."""
        return sum(1 for st in self.status if st.signoff is not None)

    def first_open_step(self) -> int:
        """Return the first step not signed off (the last step if all are)."""
        return next(
            (k for k, st in enumerate(self.status) if st.signoff is None), len(self.steps) - 1
        )

    def is_complete(self) -> bool:
        """Return True when every step is signed off."""
        return all(st.signoff is not None for st in self.status)

    # -- actions (each writes the log first)

    def _check_open(self) -> None:
        if self.finished is not None:
            msg = f"this run is {self.finished}ed; start a new one"
            raise MaintenanceError(msg)

    def _write(self, kind: str, **fields: Any) -> None:
        if kind != "start":
            self._check_open()
        self.log.append(
            {
                "kind": kind,
                "session": self.session_id,
                "time": _now_iso(),
                "equipment": self.equipment_id,
                "procedure": self.procedure.id,
                **fields,
            }
        )

    def go_to(self, k: int) -> None:
        """Make step ``k`` the current one (no log entry: moving around changes nothing)."""
        self._check_step(k)
        self.current = k

    def acknowledge_safety(self, k: int, note: int | None = None) -> None:
        """Acknowledge one safety note of step ``k`` (or all of them with ``note=None``)."""
        self._check_open()
        step = self._check_step(k)
        notes = range(len(step.safety)) if note is None else [note]
        for n in notes:
            if not 0 <= n < len(step.safety):
                msg = f"step {k + 1} has {len(step.safety)} safety notes, not note {n + 1}"
                raise MaintenanceError(msg)
            if n not in self.status[k].acknowledged:
                self._write(
                    "ack",
                    step=k,
                    note=n,
                    kind_of_note=step.safety[n].kind,
                    technician=self.technician,
                )
                self.status[k].acknowledged.add(n)

    def start_step(self, k: int) -> None:
        """Start step ``k``: every safety note must be acknowledged first."""
        self._check_open()
        step = self._check_step(k)
        if not self.safety_acknowledged(k):
            missing = len(step.safety) - len(self.status[k].acknowledged)
            msg = f"step {k + 1} '{step.title}': acknowledge its {missing} safety note(s) first"
            raise MaintenanceError(msg)
        if self.status[k].started_at is None:
            self._write("step_start", step=k)
            self.status[k].started_at = _now_iso()
        self.current = k

    def sign_off(
        self,
        k: int,
        technician: str,
        *,
        value: float | None = None,
        confirm_out_of_limit: bool = False,
        comment: str = "",
    ) -> SignOff:
        """Sign step ``k`` off and write it to the log (durably) before returning.

        Raises
        ------
        MaintenanceError
            If the step was not started, is signed already, has no technician name, needs
            a measured value, or the value is out of limits and not confirmed.
        """
        self._check_open()
        step = self._check_step(k)
        name = technician.strip()
        if not name:
            msg = f"step {k + 1}: enter the name of the technician who signs it off"
            raise MaintenanceError(msg)
        prior = self.status[k].signoff
        if prior is not None:
            msg = f"step {k + 1} is signed off already by {prior.technician}"
            raise MaintenanceError(msg)
        if not self.is_started(k):
            msg = f"step {k + 1} '{step.title}' has not been started"
            raise MaintenanceError(msg)
        acc = step.acceptance
        if acc is not None:
            if value is None or not math.isfinite(value):
                msg = f"step {k + 1}: enter the measured {acc.quantity}" + (
                    f" in {acc.unit}" if acc.unit else ""
                )
                raise MaintenanceError(msg)
        elif value is not None:
            value = float(value)
        ok = check_value(acc, value)
        if ok is False and not confirm_out_of_limit and acc is not None and value is not None:
            msg = (
                f"step {k + 1}: {acc.quantity} {value:g} {acc.unit} is outside the limits "
                f"{limits_text(acc)}; confirm to record it"
            )
            raise MaintenanceError(msg)
        so = SignOff(
            step=k,
            technician=name,
            signed_at=_now_iso(),
            value=value,
            within_limits=ok,
            out_of_limit_confirmed=ok is False,
            comment=comment,
        )
        self._write(
            "signoff",
            step=k,
            title=step.title,
            component=step.component,
            revision=self.procedure.revision,
            plant=self.spec.site.name,
            technician=name,
            signed_at=so.signed_at,
            value=value,
            unit=acc.unit if acc else "",
            min=acc.min if acc else None,
            max=acc.max if acc else None,
            within_limits=ok,
            out_of_limit_confirmed=so.out_of_limit_confirmed,
            comment=comment,
        )
        self.status[k].signoff = so
        if self.is_complete():
            self._write("finish", technician=name)
            self.finished = "finish"
        else:
            self.current = min(k + 1, len(self.steps) - 1)
        return so

    def abort(self, reason: str = "") -> None:
        """End the session unfinished (it is no longer offered for resuming)."""
        self._write("abort", reason=reason)
        self.finished = "abort"


def limits_text(acc: s.Acceptance) -> str:
    """Return the limits of an acceptance as text, e.g. ``11 to 13 N m`` or ``<= 50 degC``."""
    u = f" {acc.unit}" if acc.unit else ""
    if acc.min is not None and acc.max is not None:
        return f"{acc.min:g} to {acc.max:g}{u}"
    if acc.max is not None:
        return f"<= {acc.max:g}{u}"
    return f">= {acc.min:g}{u}"


# --------------------------------------------------------------------------- alarms


def procedures_for_alarm(spec: s.PlantSpec, equipment_id: str, code: str) -> list[s.Procedure]:
    """Return the procedures of a tool's type that list alarm ``code``, best match first.

    ``code`` is ``<tag>.<limit>`` or ``fault[.<name>]``, optionally prefixed with the
    tool id (``FURN-01.temperature.hi``). An exact code comes before a looser one: a
    ``hihi`` alarm also finds procedures for ``hi`` and a ``fault.<name>`` finds those
    for ``fault``.
    """
    try:
        tool = spec.tool(equipment_id)
    except KeyError:
        return []
    code = code.strip()
    if code.startswith(equipment_id + "."):
        code = code[len(equipment_id) + 1 :]
    wanted = [code]
    if code.startswith("fault."):
        wanted.append("fault")
    else:
        tag, _, limit = code.rpartition(".")
        if limit in ALARM_LIMITS:
            twin = {"hihi": "hi", "hi": "hihi", "lolo": "lo", "lo": "lolo"}[limit]
            wanted.append(f"{tag}.{twin}")
    ranked: list[tuple[int, int, s.Procedure]] = []
    for i, p in enumerate(spec.procedures_for(tool.type)):
        codes = [
            c[len(equipment_id) + 1 :] if c.startswith(equipment_id + ".") else c
            for c in p.alarm_codes
        ]
        for rank, w in enumerate(wanted):
            if w in codes:
                ranked.append((rank, i, p))
                break
    return [p for _, _, p in sorted(ranked, key=lambda x: (x[0], x[1]))]


# --------------------------------------------------------------------------- geometry


def _rot(x: float, y: float, deg: float) -> tuple[float, float]:
    c, sn = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return c * x - sn * y, sn * x + c * y


def anchor_world(
    spec: s.PlantSpec, equipment_id: str, component: str
) -> tuple[float, float, float]:
    """Return the world position (metres) of a component anchor on a tool."""
    tool = spec.tool(equipment_id)
    comp = spec.equipment_type(tool.type).component(component)
    x, y = _rot(comp.anchor_m[0], comp.anchor_m[1], tool.rotation_deg)
    return (tool.position_m[0] + x, tool.position_m[1] + y, comp.anchor_m[2])


def world_to_local(
    spec: s.PlantSpec, equipment_id: str, point: Iterable[float]
) -> tuple[float, float, float]:
    """Return a world point in a tool's local frame."""
    tool = spec.tool(equipment_id)
    px, py, pz = (float(v) for v in point)
    x, y = _rot(px - tool.position_m[0], py - tool.position_m[1], -tool.rotation_deg)
    return (x, y, pz)


def _part_contains(part: s.Part, p: tuple[float, float, float], tol: float) -> bool:
    x0, y0, x1, y1 = part.extent_xy()
    return (
        x0 - tol <= p[0] <= x1 + tol
        and y0 - tol <= p[1] <= y1 + tol
        and part.at[2] - tol <= p[2] <= part.top_z() + tol
    )


def nearest_component(
    spec: s.PlantSpec, equipment_id: str, point: Iterable[float], *, tol: float = 0.03
) -> s.Component | None:
    """Return the component of a tool a picked world point belongs to.

    Components whose shape part contains the point win (the nearest anchor among them);
    otherwise the component with the nearest anchor. None if the type has no components.
    """
    tool = spec.tool(equipment_id)
    t = spec.equipment_type(tool.type)
    if not t.components:
        return None
    p = world_to_local(spec, equipment_id, point)
    parts = {pt.name: pt for pt in t.shape.parts}

    def dist(c: s.Component) -> float:
        return math.dist(c.anchor_m, p)

    inside = [c for c in t.components if c.part in parts and _part_contains(parts[c.part], p, tol)]
    pool = inside or t.components
    return min(pool, key=dist)


__all__ = [
    "CSV_COLUMNS",
    "MaintenanceError",
    "MaintenanceLog",
    "ProcedureSession",
    "SignOff",
    "anchor_world",
    "check_value",
    "default_log_path",
    "find_procedure",
    "limits_text",
    "nearest_component",
    "procedures_for_alarm",
    "world_to_local",
]
