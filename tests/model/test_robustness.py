"""Whatever text a plant file holds, loading it fails only with a ConfigError."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from factory_twin.errors import ConfigError
from factory_twin.model.config import loads_plant

ROOT = Path(__file__).resolve().parents[2]
DEMO_TEXT = (ROOT / "plant_configs" / "demo_fab.yaml").read_text(encoding="utf-8")
MINI_TEXT = (ROOT / "tests" / "data" / "mini_plant.yaml").read_text(encoding="utf-8")
DEMO_DATA = json.loads(json.dumps(YAML(typ="safe").load(DEMO_TEXT)))


def _trimmed(data: dict[str, Any]) -> dict[str, Any]:
    """A valid cut of the demo fab: its furnaces, etchers and litho cell, one route.

    An invalid file is read by ruamel's round-trip reader, which needs seconds for the
    whole demo; the cut keeps every kind of section at a tenth of the size.
    """
    keep = {"vertical_furnace", "etch_mainframe", "arf_scanner", "coat_develop_track"}
    out = copy.deepcopy(data)
    out["equipment_types"] = [t for t in out["equipment_types"] if t["id"] in keep]
    out["equipment"] = [e for e in out["equipment"] if e["type"] in keep][::2]
    groups = {e["group"] for e in out["equipment"]}
    out["tool_groups"] = [g for g in out["tool_groups"] if g["id"] in groups]
    route = out["routes"][0]
    route["steps"] = [
        {k: v for k, v in step.items() if k not in ("rework", "queue_time_limit")}
        for step in route["steps"]
        if step["tool_group"] in groups
    ][:12]
    out["routes"] = [route]
    out["products"] = [p for p in out["products"] if p["route"] == route["id"]]
    products = {p["id"] for p in out["products"]}
    n_steps = len(route["steps"])
    out["initial_wip"] = [
        lot
        for lot in out.get("initial_wip", [])
        if lot["product"] in products and lot["step"] <= n_steps
    ][:6]
    out["procedures"] = [p for p in out["procedures"] if p["equipment_type"] in keep]
    out["drills"] = []
    return out


DEMO_CUT = _trimmed(DEMO_DATA)

# Loading the demo fab takes a fraction of a second: keep example counts modest.
FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)


def load_or_config_error(text: str) -> None:
    """Load ``text``: a valid plant or a ConfigError with located messages, nothing else."""
    try:
        doc = loads_plant(text, source="fuzz.yaml")
    except ConfigError as exc:
        assert exc.issues
        for issue in exc.issues:
            assert issue.startswith("fuzz.yaml:")
            line = issue.split(":")[1]
            assert line.isdigit() and int(line) >= 1, issue
    else:
        assert doc.spec.schema_version == 1


yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        ["", "~", "null", ".inf", "-.nan", "0x1F", "1_000", "2026-11-25", "<<", "=", "yes"]
    ),
)
plain_values = st.recursive(
    yaml_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@FAST
@given(st.text(max_size=300))
def test_random_text(text):
    load_or_config_error(text)


@FAST
@given(
    st.text(
        alphabet=st.sampled_from(list("abc:-[]{}#&*!|>'\"%@`, \n\t0123456789.")),
        max_size=200,
    )
)
def test_random_yaml_punctuation(text):
    load_or_config_error(text)


@settings(FAST, max_examples=15)
@given(st.integers(min_value=0, max_value=len(DEMO_TEXT)))
def test_truncated_demo(cut):
    load_or_config_error(DEMO_TEXT[:cut])


@FAST
@given(st.integers(min_value=0, max_value=len(MINI_TEXT)), st.text(max_size=20))
def test_mini_with_inserted_text(at, junk):
    load_or_config_error(MINI_TEXT[:at] + junk + MINI_TEXT[at:])


def _containers(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _containers(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _containers(v, (*path, i))
    return out


ALL_PATHS = _containers(DEMO_CUT)


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


@st.composite
def mangled_demo(draw) -> Any:
    data = copy.deepcopy(DEMO_CUT)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from(ALL_PATHS))
        if not path:
            continue
        try:
            parent = _get(data, path[:-1])
            key = path[-1]
            parent[key]
        except (KeyError, IndexError, TypeError):
            continue
        action = draw(st.sampled_from(["delete", "duplicate", "replace", "replace"]))
        if action == "delete":
            del parent[key]
        elif action == "duplicate":
            if isinstance(parent, list):
                parent.insert(key, copy.deepcopy(parent[key]))
            else:
                parent[f"{key}_copy"] = copy.deepcopy(parent[key])
        else:
            parent[key] = draw(plain_values)
    return data


def test_the_demo_cut_is_valid():
    spec = loads_plant(json.dumps(DEMO_CUT)).spec
    assert len(spec.equipment) >= 6
    assert spec.procedures
    assert len(spec.routes[0].steps) >= 10


@settings(FAST, max_examples=20)
@given(mangled_demo(), st.sampled_from(["json", "yaml"]))
def test_mangled_demo(data, style):
    if style == "json":
        text = json.dumps(data, allow_nan=True)
    else:
        from io import StringIO

        buf = StringIO()
        YAML(typ="safe").dump(data, buf)
        text = buf.getvalue()
    load_or_config_error(text)


@FAST
@given(st.data())
def test_duplicate_keys(data):
    lines = MINI_TEXT.splitlines(keepends=True)
    keyed = [
        i for i, line in enumerate(lines) if ":" in line and not line.lstrip().startswith("#")
    ]
    i = data.draw(st.sampled_from(keyed))
    load_or_config_error("".join([*lines[: i + 1], lines[i], *lines[i + 1 :]]))


def test_duplicate_key_in_the_demo_is_reported_on_its_line():
    lines = DEMO_TEXT.splitlines(keepends=True)
    i = next(k for k, line in enumerate(lines) if line.startswith("    serial_number:"))
    with pytest.raises(ConfigError) as info:
        loads_plant("".join([*lines[: i + 1], lines[i], *lines[i + 1 :]]), source="fuzz.yaml")
    (issue,) = info.value.issues
    assert issue.startswith(f"fuzz.yaml:{i + 2}: ")
    assert "duplicate key" in issue


@pytest.mark.parametrize(
    "text",
    [
        "schema_version: 1\nsite: !!python/object:os.system {}\n",
        "a: &x [*x]\n",
        "a: &a [1]\nb: *a\nc: *zz\n",
        "schema_version: 1\n" + "site:\n" + "  bays: " + "[" * 200 + "]" * 200 + "\n",
        "schema_version: 1\nsite: {name: x, floor_m: [.inf, .nan], bays: [{id: a, origin_m: [0, 0], size_m: [1, 1]}]}\n",
        "? [a, b]\n: c\n",
        "\ufeffschema_version: 1\n",
        "schema_version: 1\x00\n",
        "--- 1\n--- 2\n",
    ],
)
def test_nasty_yaml(text):
    load_or_config_error(text)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: " + "[" * 50_000 + "\n", 1),  # beyond libyaml's own 1,000 levels
        ("schema_version: 1\nsite: x\nb:\n  - " + "[" * 300 + "\n", 4),  # unclosed, 300 deep
        ("a: 1\na: 2\nb: " + "{x: " * 250 + "1" + "}" * 250 + "\n", 3),  # well formed, 250 deep
    ],
)
def test_too_deep_nesting_is_refused_at_once_naming_its_line(text: str, line: int) -> None:
    """ruamel's reader recursed for seconds into 'maximum recursion depth exceeded' at line 1;
    the depth is now read off libyaml's event stream before the round-trip reader starts."""
    with pytest.raises(ConfigError) as info:
        loads_plant(text, source="deep.yaml")
    assert info.value.issues == [
        f"deep.yaml:{line}: YAML error: collections nested more than 200 deep"
    ]
