"""Check plant files against the schema and their cross-references.

Scenario files (``*.scenario.yaml``) are applied to their base plant and the result is
checked the same way. Prints every problem as FILE:LINE: FIELD: MESSAGE and exits 2 if any
file is invalid.
"""

from __future__ import annotations

import argparse
import sys

from factory_twin.errors import ConfigError
from factory_twin.model.scenario import load_plant_or_scenario
from factory_twin.model.schema import PlantSpec

_KINDS = {"ohs": "overhead hoist", "agv": "AGV", "manual": "manual", "conveyor": "conveyor"}


def describe_transport(spec: PlantSpec) -> str:
    """One line saying how lots move between tools, and whether the file said so.

    Transport is on by default (an overhead hoist), so a plant file without a ``transport``
    section still has moves that take time: a queueing model must say ``kind: none``.
    """
    t = spec.transport
    given = "transport" in spec.model_fields_set
    if t.kind == "none":
        return "transport: none (moves between tools take no time)"
    what = _KINDS.get(t.kind, t.kind)
    if t.fixed_time is not None:
        how = f"a fixed time per move ({t.fixed_time.dist}, mean {t.fixed_time.mean:g} s)"
    else:
        how = f"{t.handling_s:g} s + distance / {t.speed_m_s:g} m/s"
    fleet = "unlimited vehicles" if t.vehicles is None else f"{t.vehicles} vehicles"
    head = f"transport: {what}" if given else (
        f"transport: default {what} (the file has no transport section)")  # fmt: skip
    return f"{head}, {how}, {fleet}"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument("files", nargs="+", metavar="FILE", help="plant or scenario YAML files")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")


def run(args: argparse.Namespace) -> int:
    """Validate each file; return 0 if all are valid, 2 otherwise."""
    bad = 0
    for f in args.files:
        try:
            doc = load_plant_or_scenario(f)
        except ConfigError as exc:
            bad += 1
            for line in exc.issues:
                print(line, file=sys.stderr)
            continue
        if not args.quiet:
            sp = doc.spec
            print(
                f"{f}: ok ({sp.site.name}: {len(sp.site.bays)} bays, {len(sp.equipment)} tools, "
                f"{len(sp.routes)} routes, {sum(len(r.steps) for r in sp.routes)} steps, "
                f"{len(sp.procedures)} procedures)"
            )
            if doc.scenario is not None:
                base = doc.scenario.spec.base or doc.scenario.spec.base_scenario
                n = len(doc.scenario.spec.changes)
                print(f"  scenario of {base}: {n} change{'' if n == 1 else 's'}")
            print(f"  {describe_transport(sp)}")
    return 2 if bad else 0
