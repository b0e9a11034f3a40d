"""Operator drills: look-ups and words over the drill part of the plant schema.

Drills live in the plant file, under ``drills`` (:class:`~factory_twin.model.schema.Drill`:
briefing, learning objectives, injections at a plant time or on a trigger, expected responses
with time limits and points, penalties for wrong actions, a pass mark). They are validated
with the plant: schema errors and references to unknown tools, tags, procedures or products
are reported as ``file:line: drills[i].field: message``
(:func:`factory_twin.model.drill_checks.check_drill`). Scoring is
:mod:`factory_twin.model.drill_scoring`.

Drill time is plant time minus the drill's ``start_at_s``: a drill starts on a plant that has
been running (warmed up) for ``start_at_s`` plant seconds.
"""

from __future__ import annotations

from factory_twin.errors import ConfigError
from factory_twin.model import schema as s


def find_drill(spec: s.PlantSpec, drill_id: str) -> s.Drill:
    """Return the drill ``drill_id`` of ``spec``.

    Raises
    ------
    ConfigError
        If the plant has no such drill (the message lists the drills it has).
    """
    for d in spec.drills:
        if d.id == drill_id:
            return d
    have = ", ".join(d.id for d in spec.drills) or "none"
    msg = f"plant {spec.site.name!r} has no drill {drill_id!r} (drills: {have})"
    raise ConfigError([msg])


def describe_injection(inj: s.FaultInjection) -> str:
    """Words for an injection, e.g. ``tag_drift of ETCH-02.helium_leak at 0.02/s to 7``."""
    on = inj.equipment or s.TRANSPORT_ID
    k = inj.fault
    if k == "tag_drift":
        rate = f" at {inj.rate_per_s:g}/s" if inj.rate_per_s is not None else ""
        to = f" to {inj.value:g}" if inj.value is not None else ""
        what = f"tag drift of {on}.{inj.tag}{rate}{to}"
    elif k == "tag_stuck":
        what = f"{on}.{inj.tag} stuck" + (f" at {inj.value:g}" if inj.value is not None else "")
    elif k == "alarm":
        what = f"alarm {on}.{inj.tag}.{inj.limit}" if inj.limit else f"alarm {on}.{inj.tag}"
    elif k == "hot_lot":
        what = f"hot lot {inj.lot or '(new)'} of {inj.product} at step {inj.step or 1}"
    elif k == "interlock":
        what = f"interlock on {on} until step {inj.step} of {inj.procedure} is signed off"
    elif k == "transport_jam":
        what = "transport (OHT) jam" + (f" near {on}" if on != s.TRANSPORT_ID else "")
    elif k == "comm_loss":
        what = f"communication loss of {on}"
    else:
        what = f"breakdown of {on}"
    when = f"at {inj.at_s:g} s" if inj.at_s is not None else f"when {inj.trigger.describe()}"  # type: ignore[union-attr]
    return f"{what} {when}" + (f": {inj.message}" if inj.message else "")


def drill_tools(drill: s.Drill) -> list[str]:
    """Return the tools a drill's injections and responses name, in order, once each."""
    out = [i.equipment for i in drill.injections] + [r.equipment for r in drill.expected]
    return [e for e in dict.fromkeys(out) if e and e != s.TRANSPORT_ID]
