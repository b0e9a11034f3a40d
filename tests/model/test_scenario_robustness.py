"""Whatever a scenario file holds, reading and applying it fails only with a ConfigError."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from factory_twin.errors import ConfigError
from factory_twin.model.scenario import loads_scenario
from factory_twin.model.scenario_changes import CHANGE_KINDS

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "data" / "mini_plant.yaml"
SOURCE = "fuzz.scenario.yaml"
GOOD = f"""# a valid scenario of the mini plant
name: fuzz
base: {MINI}
changes:
  - {{change: move_tool, id: ETCH-01, position_m: [3, 8], rotation_deg: 90}}
  - change: add_tool
    id: ETCH-03
    like: ETCH-02
    position_m: [7, 8]
  - {{change: set_dispatch, group: LITHO, rule: setup_avoid}}
  - {{change: set_release, product: p1, scale: 1.1}}
  - {{change: set_transport, speed_m_s: 1.5, vehicles: 2}}
  - {{change: set_reliability, tool: LITHO-01, mtbf: 400000}}
"""

FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)


def check(text: str) -> None:
    """Read, describe, apply and dump ``text``: a plant, or ConfigError lines at SOURCE:N."""
    try:
        doc = loads_scenario(text, source=SOURCE)
        doc.describe()
        plant = doc.apply()
        doc.dumps()
    except ConfigError as exc:
        assert exc.issues
        for issue in exc.issues:
            assert issue.startswith(f"{SOURCE}:"), issue
            line = issue.split(":")[1]
            assert line.isdigit() and int(line) >= 1, issue
    else:
        assert plant.schema_version == 1


def test_the_seed_scenario_is_valid():
    doc = loads_scenario(GOOD, source=SOURCE)
    assert len(doc.apply().equipment) == 4


@FAST
@given(st.text(max_size=200))
def test_random_text(text):
    check(text)


@FAST
@given(st.integers(min_value=0, max_value=len(GOOD)), st.text(max_size=20))
def test_inserted_text(at, junk):
    check(GOOD[:at] + junk + GOOD[at:])


@settings(FAST, max_examples=30)
@given(st.integers(min_value=0, max_value=len(GOOD)))
def test_truncated(cut):
    check(GOOD[:cut])


IDS = ["ETCH-01", "ETCH-02", "LITHO-01", "NOPE", "", "ETCH", "LITHO", "p1", "x y"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**9), max_value=10**9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(IDS),
    st.text(max_size=6),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
FIELDS = [
    "id", "like", "type", "group", "bay", "position_m", "rotation_deg", "rule", "setup_default",
    "setups", "min_run_lots", "batch_wait_s", "load_s", "unload_s", "cascade_lots", "product",
    "rate_per_day", "interarrival", "scale", "wip_lots", "shares", "kind", "speed_m_s",
    "vehicles", "handling_s", "tool", "mtbf", "mttr", "basis", "pm", "interval", "duration",
    "qualification", "first", "reliability",
]  # fmt: skip
positions = st.lists(st.floats(min_value=-5, max_value=25), min_size=2, max_size=2)


@st.composite
def changes(draw: st.DrawFn) -> dict[str, Any]:
    """A change of a known (mostly) or unknown kind with plausible and wild fields."""
    kind = draw(st.sampled_from([*CHANGE_KINDS, "teleport"]))
    out: dict[str, Any] = {"change": kind}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=5, unique=True)):
        if name == "position_m":
            out[name] = draw(positions | values)
        elif name in ("id", "like", "group", "tool", "product"):
            out[name] = draw(st.sampled_from(IDS) | values)
        else:
            out[name] = draw(values)
    return out


@FAST
@given(
    st.lists(changes(), max_size=5),
    st.sampled_from([str(MINI), "nowhere.yaml", "", "x" * 5000, str(ROOT)]) | st.text(max_size=8),
)
def test_random_changes(chs, base):
    data = {"name": "fuzz", "base": base, "changes": chs}
    check(json.dumps(data, allow_nan=True))


TOOLS = st.sampled_from(["ETCH-01", "ETCH-02", "LITHO-01", "NEW-1", "NEW-2", "GONE"])
GROUPS = st.sampled_from(["ETCH", "LITHO", "NOPE"])
NUMS = st.floats(min_value=0.5, max_value=1e6)
plausible = st.one_of(
    st.fixed_dictionaries(
        {"change": st.just("move_tool"), "id": TOOLS, "position_m": positions},
        optional={
            "rotation_deg": st.sampled_from([0, 90, 45, -90]),
            "bay": st.sampled_from(["etch", "litho", "x"]),
        },
    ),
    st.fixed_dictionaries(
        {"change": st.just("add_tool"), "id": TOOLS, "like": TOOLS, "position_m": positions}
    ),
    st.fixed_dictionaries({"change": st.just("remove_tool"), "id": TOOLS}),
    st.fixed_dictionaries(
        {
            "change": st.just("set_dispatch"),
            "group": GROUPS,
            "rule": st.sampled_from(["fifo", "spt"]),
        }
    ),
    st.fixed_dictionaries(
        {"change": st.just("set_setups"), "group": GROUPS, "min_run_lots": st.integers(1, 5)}
    ),
    st.fixed_dictionaries({"change": st.just("set_batching"), "group": GROUPS, "load_s": NUMS}),
    st.fixed_dictionaries(
        {"change": st.just("set_release"), "product": st.sampled_from(["p1", "p2"])},
        optional={"scale": NUMS, "wip_lots": st.integers(1, 9), "rate_per_day": NUMS},
    ),
    st.fixed_dictionaries(
        {
            "change": st.just("set_mix"),
            "shares": st.dictionaries(st.sampled_from(["p1", "p2"]), NUMS, min_size=1),
        }
    ),
    st.fixed_dictionaries(
        {"change": st.just("set_transport"), "speed_m_s": NUMS},
        optional={"vehicles": st.none() | st.integers(1, 9)},
    ),
    st.fixed_dictionaries(
        {"change": st.just("set_reliability"), "tool": TOOLS},
        optional={"mtbf": NUMS, "mttr": NUMS, "basis": st.just("busy")},
    ),
    st.fixed_dictionaries(
        {"change": st.just("set_pm"), "group": GROUPS, "pm": st.just("weekly"), "interval": NUMS}
    ),
)


@FAST
@given(st.lists(plausible, max_size=6))
def test_plausible_changes_apply_or_are_located(chs):
    buf = io.StringIO()
    YAML(typ="safe", pure=True).dump({"base": str(MINI), "changes": chs}, buf)
    check(buf.getvalue())  # block style: each change on its own lines
