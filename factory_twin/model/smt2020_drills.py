"""Operator drills for an imported SMT2020 fab (synthetic, not part of the testbed).

Three drills for the Train workspace on the fab's real tools, each emitted only when the
imported model has its tools, tool groups and products (the HVLM model has all of them):

* ``litho_stage_drift_hot_lot``: the wafer stage of scanner ``Litho_BE_110_7`` drifts above
  its high limit while a super hot lot arrives at the scanner group; a frozen dose reading on
  the neighbouring scanner is a distractor;
* ``implant_bottleneck_breakdown``: implanter ``Implant_128_4`` of the fab's bottleneck group
  breaks down, a hot lot arrives for the group a minute later, and the equipment interface of
  ``Implant_128_5`` drops out for a while (a distractor: that tool keeps running);
* ``furnace_overtemperature``: the tube of furnace ``Diffusion_FE_100_1``, one of the two
  furnaces of its step, goes above its high-high limit; the other furnace's O2 flow reading
  freezes (a distractor).

The tags and limits are the synthetic ones of :mod:`factory_twin.model.smt2020_geometry`.
The plant has no maintenance procedures, so no drill expects one to be opened.
"""

from __future__ import annotations

from typing import Any

_START_S = 3600  # one hour of warm-up: queues and tools are busy when a drill starts

_SCANNER = "Litho_BE_110"
_IMPLANTER = "Implant_128"
_FURNACE = "Diffusion_FE_100"


def _litho_drill(hot_step: int) -> dict[str, Any]:
    tool, neighbour = f"{_SCANNER}_7", f"{_SCANNER}_8"
    return {
        "id": "litho_stage_drift_hot_lot",
        "name": "Scanner stage drift with a super hot lot",
        "description": (
            f"The wafer stage of scanner {tool} warms above its high limit while a super hot "
            f"lot arrives at the {_SCANNER} scanners."
        ),
        "briefing": (
            f"Back-end litho bay, an hour into the shift. The 28 {_SCANNER} scanners are the "
            "busiest litho group; lots queue at all of them, and a super hot lot is on its way "
            "there. The wafer stage runs at 22.0 degC: above 22.3 degC overlay is lost and every "
            "lot exposed is rework. If a stage runs warm: acknowledge the alarm, hold that "
            "scanner only, call maintenance and give the super hot lot priority. Check odd "
            "readings before you act."
        ),
        "objectives": [
            "Spot a slow temperature drift on one scanner among 28",
            "Hold the drifting scanner and leave the healthy ones running",
            "Call maintenance to the scanner",
            "Keep the super hot lot moving when a litho tool is lost",
        ],
        "start_at_s": _START_S,
        "speed": 1,
        "pass_mark_pct": 80,
        "injections": [
            {
                "id": "hot",
                "at_s": 30,
                "fault": "hot_lot",
                "equipment": _SCANNER,
                "product": "part_3_superhot",
                "lot": "SUPERHOT-0001",
                "priority": 30,
                "step": hot_step,
                "message": f"Super hot lot SUPERHOT-0001 arrives for the {_SCANNER} exposure",
            },
            {
                "id": "drift",
                "at_s": 120,
                "equipment": tool,
                "fault": "tag_drift",
                "tag": "stage_temperature",
                "rate_per_s": 0.001,
                "value": 22.5,
                "duration_s": 3600,
                "message": "Stage chiller loop running warm",
            },
            {
                "id": "frozen_dose",
                "at_s": 600,
                "equipment": neighbour,
                "fault": "tag_stuck",
                "tag": "dose",
                "duration_s": 900,
                "message": f"Dose reading of {neighbour} frozen (distractor, the scanner is fine)",
            },
        ],
        "expected": [
            {
                "action": "acknowledge_alarm",
                "equipment": tool,
                "alarm": "stage_temperature.hi",
                "within_s": 600,
                "points": 10,
                "after": "drift",
            },
            {
                "action": "hold_tool",
                "equipment": tool,
                "within_s": 900,
                "points": 20,
                "after": "drift",
            },
            {
                "action": "dispatch_maintenance",
                "equipment": tool,
                "within_s": 1200,
                "points": 10,
                "after": "drift",
            },
            {
                "action": "prioritise_lot",
                "lot": "SUPERHOT-0001",
                "within_s": 900,
                "points": 20,
                "after": "hot",
            },
        ],
    }


def _implant_drill(hot_step: int) -> dict[str, Any]:
    tool, neighbour = f"{_IMPLANTER}_4", f"{_IMPLANTER}_5"
    return {
        "id": "implant_bottleneck_breakdown",
        "name": "Implanter breakdown at the bottleneck",
        "description": (
            f"Implanter {tool} of the bottleneck group {_IMPLANTER} breaks down; a hot lot "
            "arrives for the group a minute later."
        ),
        "briefing": (
            f"Implant bay. The ten {_IMPLANTER} implanters are the bottleneck of the fab: every "
            "hour one of them is down costs output. An ion source can fail without warning; the "
            "tool then goes down with a fault alarm. Acknowledge the fault, call maintenance to "
            "the implanter at once and give priority to any hot lot waiting for the group. The "
            f"data link of {neighbour} is flaky: if its readings drop out, the tool keeps "
            "running; do not hold it."
        ),
        "objectives": [
            "React to a fault alarm on a bottleneck tool and call maintenance quickly",
            "Protect a hot lot when bottleneck capacity drops",
            "Tell a lost data connection from a tool failure",
        ],
        "start_at_s": _START_S,
        "speed": 1,
        "pass_mark_pct": 70,
        "injections": [
            {
                "id": "breakdown",
                "at_s": 120,
                "equipment": tool,
                "fault": "breakdown",
                "duration_s": 10800,
                "message": "Ion source filament open; implanter tripped",
            },
            {
                "id": "hot",
                "trigger": {"equipment": tool, "enters_state": "unscheduled_down", "delay_s": 60},
                "fault": "hot_lot",
                "equipment": _IMPLANTER,
                "product": "part_4_hot",
                "lot": "HOT-0128",
                "priority": 20,
                "step": hot_step,
                "message": f"Hot lot HOT-0128 arrives for the {_IMPLANTER} implant step",
            },
            {
                "id": "interface",
                "at_s": 300,
                "equipment": neighbour,
                "fault": "comm_loss",
                "duration_s": 600,
                "message": f"Equipment interface of {neighbour} offline (distractor)",
            },
        ],
        "expected": [
            {
                "action": "acknowledge_alarm",
                "equipment": tool,
                "alarm": "fault",
                "within_s": 300,
                "points": 10,
                "after": "breakdown",
            },
            {
                "action": "dispatch_maintenance",
                "equipment": tool,
                "within_s": 600,
                "points": 20,
                "after": "breakdown",
            },
            {
                "action": "prioritise_lot",
                "lot": "HOT-0128",
                "within_s": 600,
                "points": 20,
                "after": "hot",
            },
        ],
    }


def _furnace_drill() -> dict[str, Any]:
    tool, other = f"{_FURNACE}_1", f"{_FURNACE}_2"
    return {
        "id": "furnace_overtemperature",
        "name": "Furnace tube over-temperature",
        "description": f"The tube temperature of furnace {tool} goes above its high-high limit.",
        "briefing": (
            f"Diffusion bay. {tool} and {other} are the only two furnaces for their step; both "
            "run full batches. A heater controller can run away: the tube passes 1150 degC, the "
            "high-high limit, and the batch inside is at risk. Acknowledge the alarm WITH A "
            "COMMENT saying what you see, hold the furnace and call maintenance. Keep the other "
            "furnace running, even if one of its readings looks strange."
        ),
        "objectives": [
            "Read a high-high temperature alarm and act on it fast",
            "Document the acknowledgement with a comment",
            "Hold the faulty furnace and keep its partner running",
        ],
        "start_at_s": _START_S,
        "speed": 1,
        "pass_mark_pct": 80,
        "injections": [
            {
                "id": "overtemp",
                "at_s": 90,
                "equipment": tool,
                "fault": "alarm",
                "tag": "tube_temperature",
                "limit": "hihi",
                "duration_s": 2400,
                "message": "Heater zone controller running away",
            },
            {
                "id": "frozen_flow",
                "at_s": 240,
                "equipment": other,
                "fault": "tag_stuck",
                "tag": "o2_flow",
                "duration_s": 600,
                "message": f"O2 flow reading of {other} frozen (distractor)",
            },
        ],
        "expected": [
            {
                "action": "acknowledge_alarm",
                "equipment": tool,
                "alarm": "tube_temperature.hihi",
                "comment_required": True,
                "within_s": 180,
                "points": 20,
                "after": "overtemp",
            },
            {
                "action": "hold_tool",
                "equipment": tool,
                "within_s": 300,
                "points": 20,
                "after": "overtemp",
            },
            {
                "action": "dispatch_maintenance",
                "equipment": tool,
                "within_s": 600,
                "points": 10,
                "after": "overtemp",
            },
        ],
    }


def _drills(
    equipment: list[dict[str, Any]], routes: list[dict[str, Any]], products: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Return the drills whose tools, groups and products the imported fab has.

    Parameters
    ----------
    equipment, routes, products
        The plant data's ``equipment``, ``routes`` and ``products`` lists.

    Returns
    -------
    list of dict
        Drills as the plant schema's ``drills`` items, in the order of the module docstring.
    """
    tools = {e["id"] for e in equipment}
    steps = {r["id"]: [st["tool_group"] for st in r["steps"]] for r in routes}
    route_of = {p["id"]: p["route"] for p in products}

    def step_of(product: str, group: str) -> int | None:
        """The 1-based first step of ``product``'s route on ``group``, None if none."""
        groups = steps.get(route_of.get(product, ""), [])
        return groups.index(group) + 1 if group in groups else None

    out: list[dict[str, Any]] = []
    litho_step = step_of("part_3_superhot", _SCANNER)
    if {f"{_SCANNER}_7", f"{_SCANNER}_8"} <= tools and litho_step is not None:
        out.append(_litho_drill(litho_step))
    implant_step = step_of("part_4_hot", _IMPLANTER)
    if {f"{_IMPLANTER}_4", f"{_IMPLANTER}_5"} <= tools and implant_step is not None:
        out.append(_implant_drill(implant_step))
    if {f"{_FURNACE}_1", f"{_FURNACE}_2"} <= tools:
        out.append(_furnace_drill())
    return out
