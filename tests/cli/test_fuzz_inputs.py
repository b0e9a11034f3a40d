"""Corrupted files are refused with a message naming the file, never with a traceback.

Every file the CLI and the window read (plants, scenarios, experiments, studies, experiment
result folders, drill logs, users files, histories) is mutated: cut short, random or
non-UTF-8 bytes put in, a value's type swapped, a key deleted or repeated, emptied, made a
directory or removed. The loader the CLI uses must then either load it or raise the
project's own error (:class:`FactoryTwinError`) naming the file, with ``file:LINE:`` where
the YAML parser or the validator knows the line. Any other exception fails the test.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factory_twin.app.drill_log import DrillLog
from factory_twin.app.experiment_result import RESULT_FORMAT, load_result
from factory_twin.app.experiment_spec import load_experiment
from factory_twin.app.replay import load_history
from factory_twin.cli import main
from factory_twin.errors import ConfigError, FactoryTwinError
from factory_twin.model.config import load_plant
from factory_twin.model.scenario import load_plant_or_scenario
from factory_twin.model.study import load_study
from factory_twin.opcua.security import load_users

ROOT = Path(__file__).resolve().parents[2]
PLANTS = ROOT / "plant_configs"
DATA = ROOT / "tests" / "data"

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# ------------------------------------------------------------------ the mutations

# what a swapped value becomes: another type, an extreme number, YAML that means trouble
SWAPS = [
    '"text"', "[1, 2]", "{a: 1}", "null", "~", "''", "1e999", "-1e999", ".nan", ".inf",
    "-.inf", "-1", "0", "99999999999999999999999999999", "true", "2024-01-01",
    "!!binary aGVsbG8=", "*nowhere", "&a 1", "!!python/object:os.system", "[[[[[[[[1]]]]]]]]",
    "{: }", "- 1", "[" * 1000, "|\n  block", "!!set {a}", "<<: {x: 1}",
]  # fmt: skip
KEYED = re.compile(rb"^(\s*(?:- )?[\w.-]+:)[ \t]*\S")


def _keyed_lines(lines: list[bytes]) -> list[int]:
    return [i for i, ln in enumerate(lines) if KEYED.match(ln)] or [0]


@st.composite
def one_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["cut", "insert", "swap", "delete", "dup", "utf8", "swap"]))
    at = draw(st.integers(0, len(data)))
    if kind == "cut":
        return data[:at]
    if kind == "insert":
        return data[:at] + draw(st.binary(min_size=1, max_size=12)) + data[at:]
    if kind == "utf8":
        return (
            data[:at] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80"])) + data[at:]
        )
    lines = data.splitlines(keepends=True) or [b""]
    i = draw(st.sampled_from(_keyed_lines(lines)))
    line = lines[i]
    if kind == "swap":
        m = KEYED.match(line)
        head = m.group(1) if m else b"x:"
        value = draw(st.sampled_from(SWAPS)).encode()
        lines[i] = head + b" " + value + b"\n"
    elif kind == "delete":
        # the key and the block under it (the following lines indented deeper)
        indent = len(line) - len(line.lstrip())
        end = i + 1
        while end < len(lines) and (
            not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent
        ):
            end += 1
        del lines[i:end]
    else:  # "dup": the key twice
        lines.insert(i, line)
    return b"".join(lines)


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    if draw(st.integers(0, 19)) == 0:
        return b""
    for _ in range(draw(st.integers(1, 3))):
        data = draw(one_mutation(data))
    return data


# ------------------------------------------------------------------ what a refusal must say

LINE = re.compile(r":\d+: ")
PARSER_ERROR = re.compile(r"YAML (syntax )?error|not valid (YAML|JSON)|not UTF-8")


def loads_or_refuses(
    load: Callable[[Path], Any], path: Path, named: Path | None = None
) -> FactoryTwinError | None:
    """Call ``load(path)``; it may succeed or raise FactoryTwinError naming the file.

    ``named``: the folder a message may name instead (a result folder's scenario).
    """
    try:
        load(path)
    except FactoryTwinError as exc:
        text = str(exc)
        assert text.strip(), "an empty error message"
        assert path.name in text or (named is not None and str(named) in text), text
        assert "Traceback" not in text, text
        if isinstance(exc, ConfigError):
            for issue in exc.issues:
                if PARSER_ERROR.search(issue):
                    assert LINE.search(issue), issue  # the parser knows the line
        return exc
    return None


# ------------------------------------------------------------------ the YAML files


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A folder with the shipped demo plant, its scenarios and the test plants."""
    d = tmp_path_factory.mktemp("world")
    for f in [*PLANTS.glob("demo_fab*.yaml"), *DATA.glob("*.yaml")]:
        shutil.copy(f, d / f.name)
    return d


def _load_experiment(p: Path) -> None:
    load_experiment(p).load_scenarios()


YAML_CASES = [
    ("demo_fab.yaml", "fuzz_plant.yaml", load_plant, 40),
    ("mini_plant.yaml", "fuzz_plant.yaml", load_plant, 150),
    ("amhs_loop_plant.yaml", "fuzz_plant.yaml", load_plant, 100),
    ("optimise_plant.yaml", "fuzz_plant.yaml", load_plant, 60),
    ("roundtrip_plant.yaml", "fuzz_plant.yaml", load_plant, 60),
    ("demo_fab_fourth_scanner.scenario.yaml", "fuzz.scenario.yaml", load_plant_or_scenario, 80),
    ("demo_fab_etch_next_to_litho.scenario.yaml", "fuzz.scenario.yaml", load_plant_or_scenario, 25),
    ("demo_fab.experiment.yaml", "fuzz.experiment.yaml", _load_experiment, 60),
    ("demo_fab.study.yaml", "fuzz.study.yaml", load_study, 80),
]  # fmt: skip


def _case_id(x: object) -> str:
    """A test id that is the same in every process (pytest-xdist workers compare them)."""
    return str(getattr(x, "__name__", x))


@pytest.mark.parametrize(("source", "target", "load", "n"), YAML_CASES, ids=_case_id)
def test_mutated_yaml_files_load_or_are_refused(world, source, target, load, n):
    original = (world / source).read_bytes()
    path = world / target
    load(world / source)  # the unspoilt file loads

    saved = path.with_name("saved_" + path.name)

    @settings(FUZZ, max_examples=n)
    @given(data=mutated(original))
    def check(data: bytes) -> None:
        path.write_bytes(data)
        if loads_or_refuses(load, path) is None and load is load_plant:
            # what loads is saved without loss: the saved file reads back to the same plant
            doc = load_plant(path)
            doc.save(saved)
            assert load_plant(saved).spec == doc.spec
            assert path.read_bytes() == data  # saving elsewhere leaves the file alone

    check()


@pytest.mark.parametrize(("source", "target", "load", "n"), YAML_CASES[:1] + YAML_CASES[5:])
def test_empty_dir_missing_and_binary_files_are_refused(world, source, target, load, n):
    path = world / ("odd_" + target)
    cases: list[tuple[str, Callable[[], None]]] = [
        ("empty", lambda: path.write_bytes(b"")),
        ("spaces", lambda: path.write_bytes(b"  \n\n# only a comment\n")),
        ("binary", lambda: path.write_bytes(bytes(range(256)) * 4)),
        ("bom+utf16", lambda: path.write_bytes("base: x\n".encode("utf-16"))),
        ("a list", lambda: path.write_bytes(b"- 1\n- 2\n")),
        ("a scalar", lambda: path.write_bytes(b"42\n")),
        ("deep", lambda: path.write_bytes(b"a: " + b"[" * 1000 + b"\n")),
        ("tab", lambda: path.write_bytes(b"a:\n\tb: 1\n")),
        ("two documents", lambda: path.write_bytes(b"a: 1\n---\nb: 2\n")),
        ("dir", lambda: path.mkdir()),
        ("missing", lambda: None),
    ]
    for what, make in cases:
        make()
        try:
            exc = loads_or_refuses(load, path)
            assert exc is not None, f"{what}: a {source} that is {what} loaded"
        finally:
            if path.is_dir():
                path.rmdir()
            path.unlink(missing_ok=True)


def test_a_syntax_error_names_its_line(world):
    text = (world / "mini_plant.yaml").read_text().splitlines()
    text.insert(5, "  broken: [unclosed")
    path = world / "line_plant.yaml"
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(ConfigError) as info:
        load_plant(path)
    assert re.search(rf"{re.escape(path.name)}:(6|7): ", str(info.value)), str(info.value)


def test_non_utf8_bytes_are_refused_with_their_line(world):
    lines = (world / "mini_plant.yaml").read_bytes().splitlines(keepends=True)
    lines[3] = lines[3].rstrip(b"\n") + b" \xff\xfe\n"
    path = world / "latin_plant.yaml"
    path.write_bytes(b"".join(lines))
    with pytest.raises(ConfigError) as info:
        load_plant(path)
    assert f"{path.name}:4:" in str(info.value) and "UTF-8" in str(info.value), str(info.value)


# ------------------------------------------------------------------ the JSON files


def _drill_log() -> bytes:
    log = DrillLog(plant="demo_fab.yaml", drill_id="d1", start_plant_s=0.0, started_at=1.0)
    data = json.loads(log.to_json())
    data["injections"] = [{"time_s": 1.0, "fault": "x"}]
    data["trainees"] = ["ann"]
    return json.dumps(data, indent=1).encode()


def _result_marker() -> bytes:
    meta = {"format": RESULT_FORMAT, "scenarios": [{"name": "base", "key": "s0"}]}
    return json.dumps(meta, indent=1).encode()


def _load_result_marker(path: Path) -> None:
    load_result(path.parent)


JSON_SWAPS = ['"x"', "[]", "{}", "null", "1e999", "-1", "true", "[{}]", '{"a": []}']


@st.composite
def mutated_json(draw: st.DrawFn, data: bytes) -> bytes:
    if draw(st.booleans()):
        return draw(mutated(data))
    doc = json.loads(data)
    # a value somewhere in the document swapped for another type
    parent: Any = doc
    while True:
        keys = list(parent) if isinstance(parent, dict) else list(range(len(parent)))
        key = draw(st.sampled_from(keys))
        child = parent[key]
        if not isinstance(child, (dict, list)) or not child or draw(st.booleans()):
            parent[key] = json.loads(draw(st.sampled_from(JSON_SWAPS)))
            return json.dumps(doc).encode()
        parent = child


JSON_CASES = [
    ("fuzz.drill.json", _drill_log, DrillLog.load),
    ("experiment.json", _result_marker, _load_result_marker),
    ("users.json", lambda: b'{"ann": "pw", "bob": "sha256:00"}', load_users),
    ("users.yaml", lambda: b"ann: pw\nbob: sha256:00\n", load_users),
]


@pytest.mark.parametrize(("name", "make", "load"), JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_mutated_json_files_load_or_are_refused(tmp_path, name, make, load):
    path = tmp_path / "res" / name
    path.parent.mkdir()
    original = make()

    @settings(FUZZ, max_examples=100)
    @given(data=mutated_json(original) if name.endswith(".json") else mutated(original))
    def check(data: bytes) -> None:
        path.write_bytes(data)
        loads_or_refuses(load, path, named=path.parent)

    check()
    for data in [b"", b"\xff\xfe", b"[]", b"null", b"[" * 50000]:
        path.write_bytes(data)
        assert loads_or_refuses(load, path) is not None, data[:20]
    path.unlink()
    assert loads_or_refuses(load, path, named=path.parent) is not None
    path.mkdir()
    assert loads_or_refuses(load, path, named=path.parent) is not None


@pytest.mark.parametrize("data", [b"", b"PAR1", b"PAR1" + bytes(200) + b"PAR1", b"\xff" * 64])
def test_a_broken_history_is_refused(tmp_path, data):
    path = tmp_path / "h.parquet"
    path.write_bytes(data)
    assert loads_or_refuses(load_history, path) is not None
    assert loads_or_refuses(load_history, tmp_path / "none.parquet") is not None


# ------------------------------------------------------------------ through the CLI


def _run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.err


@pytest.mark.parametrize(
    ("command", "source", "spoil"),
    [
        ("validate", "mini_plant.yaml", lambda b: b[: len(b) // 2] + b"\n  - [\n"),
        ("validate", "mini_plant.yaml", lambda b: b.replace(b"\n", b" \xff\n", 3)),
        ("validate", "demo_fab.yaml", lambda b: re.sub(rb"(mean:) *604800", rb"\1 [1, 2]", b)),
        ("validate", "mini_plant.yaml", lambda b: b""),
        ("scenario show", "demo_fab_fourth_scanner.scenario.yaml", lambda b: b + b"base: {}\n"),
        ("scenario show", "demo_fab_fourth_scanner.scenario.yaml", lambda b: b[:-30]),
        ("report", "experiment.json", lambda b: b'{"format": 1, "scenarios": [{"nam": 1}]}'),
        ("report", "experiment.json", lambda b: b'{"format": 1, "scenarios": 3}'),
        ("report", "experiment.json", lambda b: b"[1, 2]"),
    ],
)
def test_the_cli_prints_a_message_not_a_traceback(world, capsys, command, source, spoil):
    if source == "experiment.json":
        folder = world / "result"
        folder.mkdir(exist_ok=True)
        path = folder / source
        arg = folder
    else:
        path = world / ("cli_" + source)
        arg = path
        source = str(world / source)
    original = Path(source).read_bytes() if Path(source).is_file() else b""
    path.write_bytes(spoil(original))
    out = ["-o", str(world / "report.html")] if command == "report" else []
    code, err = _run([*command.split(), str(arg), *out], capsys)
    assert code in (1, 2), err
    assert "Traceback" not in err and 'File "' not in err, err
    assert "internal error" not in err, err  # main()'s last resort for an unforeseen exception
    assert path.name in err or arg.name in err, err
    assert "Warning" not in err and "<unicode string>" not in err, err


def test_a_reused_anchor_loads_without_library_noise(world, capsys):
    # valid YAML (the later anchor counts); ruamel's own warning named its source, not ours
    text = (world / "mini_plant.yaml").read_text().replace("site:", "x: &a 1\ny: &a 2\nsite:", 1)
    path = world / "anchors_plant.yaml"
    path.write_text(text)
    code, err = _run(["validate", str(path)], capsys)
    assert code == 2, err
    assert f"{path.name}:3: x: unknown field 'x'" in err, err
    assert f"{path.name}:4: y: unknown field 'y'" in err, err
    assert "Warning" not in err and "<unicode string>" not in err, err
    assert len(err.splitlines()) == 2, err


def test_the_real_process_refuses_a_corrupt_plant_in_one_line(world):
    path = world / "proc_plant.yaml"
    path.write_bytes((world / "demo_fab.yaml").read_bytes()[:5000] + b"\xff\x00[")
    proc = subprocess.run(
        [sys.executable, "-m", "factory_twin", "validate", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert re.fullmatch(rf"{re.escape(str(path))}:\d+: not UTF-8 text: .*\n", proc.stderr), (
        proc.stderr
    )
