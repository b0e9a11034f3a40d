"""Cross-reference checks of drills against their plant (tools, tags, procedures, products).

:func:`check_drill` returns problems as ``(location, message)`` pairs, the location relative
to the drill (``("injections", 0, "tag")``); :func:`factory_twin.model.config.check_references`
prefixes them with ``("drills", i)`` and reports them at their file line.
"""

from __future__ import annotations

from typing import Any

from factory_twin.model import schema as s

Problem = tuple[tuple[Any, ...], str]

_LIMITS = ("lolo", "lo", "hi", "hihi")


def _tag_problem(t: s.EquipmentType, tag: str, limit: str | None = None) -> str | None:
    try:
        spec = t.tag(tag)
    except KeyError:
        return f"type {t.id!r} has no tag {tag!r} (tags: {', '.join(g.name for g in t.tags)})"
    if limit is not None and (spec.alarms is None or getattr(spec.alarms, limit) is None):
        return f"tag {tag!r} of type {t.id!r} has no {limit!r} alarm limit"
    return None


def _alarm_code_problem(t: s.EquipmentType, code: str) -> str | None:
    if code == "fault" or code.startswith("fault."):
        return None
    tag, _, limit = code.rpartition(".")
    if not tag or limit not in _LIMITS:
        return f"alarm code {code!r} must be '<tag>.<lolo|lo|hi|hihi>' or 'fault'"
    return _tag_problem(t, tag, limit)


class _Ctx:
    def __init__(self, spec: s.PlantSpec) -> None:
        self.spec = spec
        self.types = {t.id: t for t in spec.equipment_types}
        self.tools = {e.id: e for e in spec.equipment}
        self.groups = spec.groups()
        self.products = {p.id: p for p in spec.products}
        self.routes = {r.id: r for r in spec.routes}
        self.procs = {p.id: p for p in spec.procedures}

    def type_of(self, equipment: str) -> s.EquipmentType | None:
        e = self.tools.get(equipment)
        return None if e is None else self.types.get(e.type)

    def route_len(self, product: str) -> int | None:
        p = self.products.get(product)
        if p is None:
            return None
        r = self.routes.get(p.route)
        return None if r is None else len(r.steps)


def check_drill(spec: s.PlantSpec, drill: s.Drill) -> list[Problem]:
    """Return the problems of ``drill`` against ``spec``, locations relative to the drill."""
    c = _Ctx(spec)
    out: list[Problem] = []
    for k, inj in enumerate(drill.injections):
        out += [(("injections", k, *loc), m) for loc, m in _check_injection(c, inj)]
    for k, r in enumerate(drill.expected):
        out += [(("expected", k, *loc), m) for loc, m in _check_response(c, r)]
    return out


def _check_injection(c: _Ctx, inj: s.FaultInjection) -> list[Problem]:
    out: list[Problem] = []
    if inj.fault == "hot_lot":
        if inj.equipment and inj.equipment not in c.tools and inj.equipment not in c.groups:
            out.append((("equipment",), f"unknown tool or tool group {inj.equipment!r}"))
        n = c.route_len(inj.product or "")
        if n is None:
            out.append((("product",), f"unknown product {inj.product!r}"))
        elif inj.step is not None and inj.step > n:
            out.append((("step",), f"product {inj.product!r} has {n} route steps, not {inj.step}"))
    elif inj.fault == "transport_jam" and inj.equipment in ("", s.TRANSPORT_ID):
        pass
    elif inj.equipment and inj.equipment not in c.tools:
        out.append((("equipment",), f"unknown equipment {inj.equipment!r}"))
    t = c.type_of(inj.equipment)
    if t is not None and inj.tag is not None:
        limit = inj.limit if inj.fault == "alarm" else None
        problem = _tag_problem(t, inj.tag, limit)
        if problem:
            out.append((("limit" if limit and "limit" in problem else "tag",), problem))
    if inj.fault == "interlock" and t is not None:
        out += _check_procedure_step(c, t, inj.procedure, inj.step)
    if inj.trigger is not None:
        out += [(("trigger", *loc), m) for loc, m in _check_trigger(c, inj.trigger)]
    return out


def _check_procedure_step(
    c: _Ctx, t: s.EquipmentType, procedure: str | None, step: int | None
) -> list[Problem]:
    proc = c.procs.get(procedure or "")
    if proc is None:
        return [(("procedure",), f"unknown procedure {procedure!r}")]
    if proc.equipment_type != t.id:
        return [
            (
                ("procedure",),
                f"procedure {proc.id!r} is for type {proc.equipment_type!r}, not {t.id!r}",
            )
        ]
    if step is not None and step > len(proc.steps):
        return [(("step",), f"procedure {proc.id!r} has {len(proc.steps)} steps, not {step}")]
    return []


def _check_trigger(c: _Ctx, tr: s.Trigger) -> list[Problem]:
    out: list[Problem] = []
    if tr.equipment is not None and tr.equipment not in c.tools:
        return [(("equipment",), f"unknown equipment {tr.equipment!r}")]
    if tr.tag is not None and tr.equipment is not None:
        t = c.type_of(tr.equipment)
        if t is not None:
            problem = _tag_problem(t, tr.tag)
            if problem:
                out.append((("tag",), problem))
    if tr.step is not None and tr.product is not None:
        n = c.route_len(tr.product)
        if n is None:
            out.append((("product",), f"unknown product {tr.product!r}"))
        elif tr.step > n:
            out.append((("step",), f"product {tr.product!r} has {n} route steps"))
    return out


def _check_response(c: _Ctx, r: s.ExpectedResponse) -> list[Problem]:
    out: list[Problem] = []
    t: s.EquipmentType | None = None
    if r.equipment and not (r.action == "dispatch_maintenance" and r.equipment == s.TRANSPORT_ID):
        if r.equipment not in c.tools:
            return [(("equipment",), f"unknown equipment {r.equipment!r}")]
        t = c.type_of(r.equipment)
    if r.procedure is not None:
        proc = c.procs.get(r.procedure)
        if proc is None:
            out.append((("procedure",), f"unknown procedure {r.procedure!r}"))
        elif t is not None:
            out += _check_procedure_step(c, t, r.procedure, r.step)
        elif r.step is not None and r.step > len(proc.steps):
            out.append(
                (("step",), f"procedure {proc.id!r} has {len(proc.steps)} steps, not {r.step}")
            )
        if (
            proc is not None
            and r.action == "sign_off_step"
            and r.step is None
            and not any(st.safety for st in proc.steps)
        ):
            out.append((("procedure",), f"procedure {proc.id!r} has no safety steps: give 'step'"))
    if r.alarm is not None and t is not None:
        problem = _alarm_code_problem(t, r.alarm)
        if problem:
            out.append((("alarm",), problem))
    return out
