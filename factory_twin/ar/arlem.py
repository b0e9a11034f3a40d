"""IEEE 1589-2020 ARLEM export: an activity model and a workplace model (JSON).

The structure follows the standard's JSON binding (as checked by openARLEM's ``arlem.js``):

* **workplace**: the tool is a *thing* whose *pois* are its components (offsets from the
  tool's origin), the bay is a *place*, *detectables* say how an AR device finds them,
  *primitives* list the augmentation types used and *warnings* one safety symbol per
  hazard kind used in the procedure.
* **activity**: one *action* per step (``step_01``...). Entering an action shows a label
  at the component's poi and a warning per safety note; a click on the action (its
  *trigger*) exits it, clears its augmentations and activates the next action.

Offsets are metres in the Y-up frame of the exported glTF (x right, y up, z towards the
tool's front), measured from the tool's origin (centre of its footprint on the floor), so
an AR app can place the GLB and these pois with one anchor. Both models are strict JSON
with only the standard's keys; the plant, equipment, procedure and revision are named in
their ids, names and the activity description.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np

from factory_twin.model.geometry import slugify

from .context import ExportContext, Progress, StepInfo, acceptance_text, drain, format_duration
from .geometry import to_y_up

logger = logging.getLogger(__name__)

# a symbol name per safety note kind (warning prefabs of the AR player)
_SYMBOLS = {
    "loto": "lockout",
    "ppe": "eyeprotection",
    "gas": "toxicgas",
    "electrical": "electricity",
    "chemical": "corrosive",
    "hot": "hotsurface",
    "laser": "laser",
    "general": "warning",
}


def _num(v: float) -> str:
    """Return a number as the standard wants it: a decimal string (``-0.25``, ``1.2``)."""
    text = f"{float(v):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def thing_id(ctx: ExportContext) -> str:
    """Return the workplace thing id of the tool."""
    return slugify(ctx.equipment.id, 100)


def action_id(st: StepInfo) -> str:
    """Return the ARLEM action id of a step: ``step_01``..."""
    return f"step_{st.number:02d}"


def instruction_text(st: StepInfo) -> str:
    """Return the full instruction of a step (ARLEM ``instruction.description``)."""
    d = st.details()
    parts = []
    if d["text"]:
        parts.append(d["text"])
    parts.append(f"Where: {d['component']}. Action: {d['action']}.")
    parts += [f"SAFETY ({n['kind'].upper()}): {n['text']}" for n in d["safety"]]
    if d["tools"]:
        parts.append("Tools: " + "; ".join(d["tools"]) + ".")
    if d["parts"]:
        parts.append("Parts: " + "; ".join(d["parts"]) + ".")
    if st.step.acceptance is not None:
        parts.append(
            f"Acceptance: {st.step.acceptance.quantity} {acceptance_text(st.step.acceptance)}; "
            "record the measured value."
        )
    parts.append(f"Planned time: {format_duration(st.step.duration_s)}.")
    return _clip("\n".join(parts), 5000)


def workplace_model(ctx: ExportContext) -> dict[str, Any]:
    """Return the ARLEM workplace of ``ctx`` as JSON-able data."""
    tid = thing_id(ctx)
    pois = [
        {
            "id": "tool_origin",
            "x-offset": "0",
            "y-offset": "0",
            "z-offset": "0",
            "x-rotation": "0",
            "y-rotation": "0",
            "z-rotation": "0",
        }
    ]
    for comp in ctx.etype.components:
        x, y, z = to_y_up(np.asarray(comp.anchor_m, dtype=np.float64))
        pois.append(
            {
                "id": ctx.component_slugs[comp.name],
                "x-offset": _num(x),
                "y-offset": _num(y),
                "z-offset": _num(z),
                "x-rotation": "0",
                "y-rotation": "0",
                "z-rotation": "0",
            }
        )
    bay = ctx.equipment.bay
    bx, by = ctx.bay.origin_m if ctx.bay is not None else (0.0, 0.0)
    kinds = sorted({n.kind for st in ctx.steps for n in st.step.safety})
    etype = ctx.etype
    make = " ".join(x for x in (etype.manufacturer, etype.model) if x)
    return {
        "id": _clip(f"{slugify(ctx.plant_name, 40)}.{tid}.workplace", 100),
        "name": _clip(
            f"{ctx.plant_name} / {ctx.equipment.id} ({etype.id}{', ' + make if make else ''})"
            f" for {ctx.procedure.id} rev {ctx.revision}",
            1000,
        ),
        "origin": f"{tid}_anchor",
        "things": [
            {
                "id": tid,
                "name": _clip(f"{ctx.equipment.id} {etype.kind.value} {make}".strip(), 1000),
                "detectable": f"{tid}_anchor",
                "pois": pois,
            }
        ],
        "places": [
            {
                "id": slugify(bay, 100),
                "name": (ctx.bay.name if ctx.bay is not None else "") or f"Bay {bay}",
                "detectable": f"{slugify(bay, 80)}_marker",
                "pois": [
                    {
                        "id": tid,
                        "x-offset": _num(ctx.equipment.position_m[0] - bx),
                        "y-offset": "0",
                        "z-offset": _num(-(ctx.equipment.position_m[1] - by)),
                        "x-rotation": "0",
                        "y-rotation": _num(ctx.equipment.rotation_deg % 360),
                        "z-rotation": "0",
                    }
                ],
            }
        ],
        "detectables": [
            {"id": f"{tid}_anchor", "sensor": "mapping", "type": "anchor"},
            {"id": f"{slugify(bay, 80)}_marker", "sensor": "tracking", "type": "marker"},
        ],
        "primitives": [{"id": "label"}],
        "warnings": [
            {"id": f"safety_{k}", "type": "label", "symbol": _SYMBOLS[k], "scale": "1"}
            for k in kinds
        ],
    }


def activity_model(ctx: ExportContext, workplace_file: str) -> dict[str, Any]:
    """Return the ARLEM activity of ``ctx``; ``workplace_file`` is the workplace's URL."""
    tid = thing_id(ctx)
    actions = []
    for i, st in enumerate(ctx.steps):
        poi = ctx.component_slugs[st.component.name]
        activates: list[dict[str, Any]] = [
            {
                "target": tid,
                "type": "primitive",
                "augmentation": "label",
                "poi": poi,
                "viewport": "actions",
                "text": _clip(f"{st.number}. {st.step.title}", 100),
            }
        ]
        activates += [
            {
                "target": tid,
                "type": "warning",
                "augmentation": f"safety_{kind}",
                "poi": poi,
                "viewport": "warnings",
            }
            for kind in dict.fromkeys(n.kind for n in st.step.safety)
        ]
        exit_: dict[str, Any] = {
            "removeSelf": True,
            "deactivates": [{"target": tid, "type": "*", "augmentation": "*", "poi": poi}],
        }
        if i + 1 < len(ctx.steps):
            nxt = action_id(ctx.steps[i + 1])
            exit_["activates"] = [{"target": nxt, "type": "action", "augmentation": nxt}]
        actions.append(
            {
                "id": action_id(st),
                "viewport": "actions",
                "type": "actions",
                "location": slugify(ctx.equipment.bay, 100),
                "instruction": {
                    "title": _clip(f"{st.number}. {st.step.title}", 100),
                    "description": instruction_text(st),
                },
                "enter": {"removeSelf": False, "activates": activates},
                "exit": exit_,
                "triggers": [
                    {"mode": "click", "type": "action", "viewport": "actions", "id": action_id(st)}
                ],
            }
        )
    proc = ctx.procedure
    description = (f"{proc.description} " if proc.description else "") + (
        f"Plant: {ctx.plant_name}. Equipment: {ctx.equipment.id} (type {ctx.etype.id}). "
        f"Procedure: {proc.id} revision {ctx.revision}. {len(ctx.steps)} steps, planned "
        f"{format_duration(ctx.total_duration_s)}. Generated by {ctx.identity()['generator']}; "
        "poi offsets in metres, y up, in the frame of the matching .glb."
    )
    return {
        "id": _clip(f"{ctx.equipment.id}.{proc.id}.rev{ctx.revision}", 100),
        "name": _clip(f"{proc.name} ({ctx.equipment.id}, rev {ctx.revision})", 1000),
        "description": _clip(description, 10000),
        "language": "en",
        "workplace": workplace_file,
        "start": action_id(ctx.steps[0]),
        "actions": actions,
    }


def iter_arlem(ctx: ExportContext) -> Progress[dict[str, bytes]]:
    """Build both models, yielding progress; returns ``{file name: bytes}``."""
    workplace_name = f"{ctx.stem}_workplace.json"
    workplace = workplace_model(ctx)
    yield 0.5, "ARLEM: workplace"
    activity = activity_model(ctx, workplace_name)
    yield 1.0, "ARLEM: activity"
    return {
        f"{ctx.stem}_activity.json": _dump(activity),
        workplace_name: _dump(workplace),
    }


def _dump(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def build_arlem(ctx: ExportContext) -> dict[str, bytes]:
    """Return ``{file name: bytes}`` of the activity and workplace (see :func:`iter_arlem`)."""
    return drain(iter_arlem(ctx))
