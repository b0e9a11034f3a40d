"""Bad command lines and files end in one clear line and exit 2 (input) or 1 (runtime).

The property test drives every command with a mix of good arguments and at least one bad
one (malformed numbers, URLs, files) and checks what a user would see: no traceback, an
exit code in {0, 1, 2}, and error output made of one-line messages.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factory_twin.cli import COMMANDS, main
from factory_twin.cli.args import check_opc_url

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "data" / "mini_plant.yaml"
DEMO = ROOT / "plant_configs" / "demo_fab.yaml"


def run_main(argv: list[str]) -> tuple[int, str, str]:
    """Run the CLI in this process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse ends bad usage with SystemExit(2)
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def assert_clean_failure(code: int, err: str) -> None:
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err and 'File "' not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if code == 2 and lines and ": error: argument" in lines[-1]:
        assert len(lines) == 1, err  # an argparse refusal is exactly one line
    for ln in lines:
        assert len(ln) < 2000, ln


# ------------------------------------------------------------------ the issue's own cases


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", str(MINI), "--endpoint", "opc.tcp://127.0.0.1:99999"],
        ["serve", str(MINI), "--endpoint", "opc.tcp://127.0.0.1:65536"],
        ["serve", str(MINI), "--endpoint", "opc.tcp://127.0.0.1:abc"],
        ["serve", str(MINI), "--endpoint", "http://127.0.0.1:4840"],
        ["serve", str(MINI), "--speed", "nan"],
        ["serve", str(MINI), "--speed", "-1"],
        ["serve", str(MINI), "--split", "0"],
        ["browse", "opc.tcp://127.0.0.1:99999"],
        ["browse", "opc.tcp://:4840/"],
        ["import", "opc.tcp://127.0.0.1:0", "-o", "x.yaml"],
        ["simulate", str(MINI), "--days", "inf"],
        ["simulate", str(MINI), "--days", "0"],
        ["simulate", str(MINI), "--replications", "0"],
        ["simulate", str(MINI), "--warmup-days", "nan"],
        ["open", "--speed", "0"],
        ["open", "no/such/plant.yaml"],
        ["open", str(MINI), "--replay", "no-such.parquet"],
        ["open", "--endpoint", "opc.tcp://host:70000"],
        ["record", str(MINI), "--out", "x.parquet", "--queue-size", "-3"],
        [
            "record",
            str(MINI),
            "--out",
            "x.parquet",
            "--endpoint",
            "nosuch=opc.tcp://127.0.0.1:4840",
        ],
        ["record", str(MINI), "--out", "x.parquet", "--endpoint", "sim=opc.tcp://127.0.0.1:99999"],
    ],
)
def test_bad_values_exit_2_with_one_line(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(argv)
    assert code == 2, err
    assert_clean_failure(code, err)
    assert len([ln for ln in err.splitlines() if ln.strip()]) == 1, err
    assert not list(tmp_path.iterdir())  # nothing written


def test_the_real_process_prints_one_line_and_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "factory_twin", "serve", str(MINI), "--endpoint",
         "opc.tcp://127.0.0.1:99999"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "99999" in proc.stderr, proc.stderr


def test_record_with_no_server_exits_1_and_logs_each_retry_once(tmp_path):
    out = tmp_path / "h.parquet"
    proc = subprocess.run(
        [sys.executable, "-m", "factory_twin", "record", str(DEMO), "--out", str(out),
         "--duration", "3s", "--endpoint", "simulator=opc.tcp://127.0.0.1:9/"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "nothing was recorded" in proc.stderr
    retries = [ln for ln in proc.stderr.splitlines() if "retry 1 " in ln]
    assert len(retries) == 1, proc.stderr  # one line per retry, not a log line and a print
    assert retries[0].count("127.0.0.1:9") == 1, retries[0]
    assert "simulator: cannot reach 127.0.0.1:9: connection refused; retry 1 in" in retries[0]


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("opc.tcp://127.0.0.1:4840/factory_twin/", True),
        ("opc.tcp://localhost", True),
        ("opc.tcp://[::1]:4840", True),
        ("OPC.TCP://host:1/", True),
        ("opc.tcp://127.0.0.1:0", False),
        ("opc.tcp://127.0.0.1:65536", False),
        ("opc.tcp://127.0.0.1:-1", False),
        ("opc.tcp://127.0.0.1:4840 x", False),
        ("opc.tcp://", False),
        ("tcp://127.0.0.1:4840", False),
        ("", False),
    ],
)
def test_endpoint_urls(url, ok):
    if ok:
        assert check_opc_url(url) == url
    else:
        with pytest.raises(ValueError):
            check_opc_url(url)


# ------------------------------------------------------------------ the property test

# Bad for every numeric option (all of ours are >= 0; 0 itself is valid for some, e.g. a seed)
BAD_NUMBERS = ["nan", "inf", "-inf", "-1", "-2.5", "", "abc", "1e999", "1,5", "0x10", "--"]


def _number_like(text: str) -> bool:
    """True if argparse could take ``text`` as a usable number (then it is not bad input)."""
    try:
        return float(text) >= 0 and float(text) != float("inf")
    except ValueError:
        return False


def _bad_url(text: str) -> bool:
    try:
        check_opc_url(text)
    except ValueError:
        return True
    return False


BAD_URLS = [
    "opc.tcp://127.0.0.1:99999", "opc.tcp://127.0.0.1:abc", "opc.tcp://:1", "http://x:1",
    "opc.tcp://127.0.0.1:0", "", "opc.tcp://a b:1",
]  # fmt: skip

# command -> option -> "num" | "int" | "url" | "path" | "text" | a tuple of choices
OPTIONS: dict[str, dict[str, object]] = {
    "validate": {},
    "schema": {"-o": "outpath"},
    "simulate": {"--days": "num", "--warmup-days": "num", "--replications": "int",
                 "--seed": "int", "--rule": ("fifo", "spt", "bogus"), "--jobs": "int",
                 "--chunk-rows": "int"},
    "compare": {"--days": "num", "--replications": "int", "--seed": "int"},
    "scenario": {"-o": "outpath"},
    "serve": {"--endpoint": "url", "--speed": "num", "--seed": "int", "--split": "int",
              "--duration": "num", "--security": ("none", "sign", "bogus"), "--users": "path"},
    "browse": {"--depth": "int", "--timeout": "num", "--security": ("none", "bogus")},
    "import": {"-o": "outpath", "--depth": "int"},
    "record": {"--duration": "text", "--out": "outpath", "--endpoint": "idurl",
               "--credentials": "text", "--publishing-ms": "num", "--sampling-ms": "num",
               "--deadband": "num", "--queue-size": "int"},
    "export-ar": {"--equipment": "text", "--procedure": "text", "--out": "outpath",
                  "--format": ("glb", "pdf,arlem", "bogus")},
    "import-smt2020": {"-o": "outpath"},
    "open": {"--endpoint": "url", "--speed": "num", "--replay": "path"},
    "experiment": {"-o": "outpath", "--processes": "int", "--dask": "text"},
    "report": {"-o": "outpath"},
    "optimise": {"--out": "outpath", "--processes": "int", "--dask": "text"},
}  # fmt: skip
POSITIONAL = {
    "validate": ["plant"], "simulate": ["plant"], "compare": ["plant", "plant"],
    "scenario": [("show", "export"), "plant"],
    "serve": ["plant"], "browse": ["url"], "import": ["url"], "record": ["plant"],
    "export-ar": ["plant"], "import-smt2020": ["path"], "open": ["plant"], "schema": [],
    "experiment": ["plant"], "report": ["path"], "optimise": ["plant"],
}  # fmt: skip
GOOD = {"num": "1", "int": "1", "url": "opc.tcp://127.0.0.1:1/", "text": "x",
        "idurl": "sim=opc.tcp://127.0.0.1:1/"}  # fmt: skip


def test_the_property_test_covers_every_command():
    assert set(OPTIONS) == set(COMMANDS) == set(POSITIONAL)


@st.composite
def bad_command_lines(draw: st.DrawFn, files: dict[str, str]) -> list[str]:
    """A command line with good values except at least one bad one (never a runnable one)."""
    cmd = draw(st.sampled_from(sorted(OPTIONS)))
    opts = OPTIONS[cmd]
    slots: list[tuple[str | None, object]] = [(None, kind) for kind in POSITIONAL[cmd]]
    chosen = draw(st.lists(st.sampled_from(sorted(opts)), unique=True, max_size=4)) if opts else []
    slots += [(name, opts[name]) for name in chosen]
    # where the bad value goes: a positional file or URL, or one of the chosen options
    candidates = [
        i
        for i, (_, kind) in enumerate(slots)
        if kind in ("plant", "url", "path", "num", "int", "idurl") or isinstance(kind, tuple)
    ]
    bad_at = draw(st.sampled_from(candidates)) if candidates else None
    argv = [cmd]
    for i, (name, kind) in enumerate(slots):
        bad = i == bad_at
        if kind == "plant":
            value = (
                draw(st.sampled_from(["broken", "garbage", "empty", "missing", "dir"]))
                if bad
                else files["good"]
            )
            value = files.get(value, value)
        elif kind == "path":
            value = (
                files[draw(st.sampled_from(["garbage", "missing", "dir"]))]
                if bad
                else files["good"]
            )
        elif kind == "outpath":
            value = files["out"]
        elif kind in ("num", "int"):
            bad_text = st.text(max_size=8).filter(lambda s: not _number_like(s))
            value = draw(st.sampled_from(BAD_NUMBERS) | bad_text) if bad else GOOD[kind]
        elif kind == "url":
            bad_text = st.text(max_size=12).filter(_bad_url)
            value = draw(st.sampled_from(BAD_URLS) | bad_text) if bad else GOOD["url"]
        elif kind == "idurl":
            value = ("sim=" + draw(st.sampled_from(BAD_URLS))) if bad else GOOD["idurl"]
        elif isinstance(kind, tuple):
            value = "bogus" if bad else kind[0]
        else:
            value = draw(st.text(min_size=1, max_size=8).filter(lambda s: not s.startswith("-")))
        if value.startswith("-") and name is not None:
            argv.append(f"{name}={value}")
        elif name is not None:
            argv += [name, value]
        else:
            argv.append(value if not value.startswith("-") else f"./{value}")
    if bad_at is None:  # nothing to spoil: an unknown option does it
        argv.append("--no-such-option")
    return argv


@pytest.fixture(scope="module")
def fuzz_files(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("fuzz")
    (d / "broken.yaml").write_text("schema_version: 1\nsite: {name: [unclosed\n")
    (d / "garbage.yaml").write_bytes(os.urandom(256))
    (d / "empty.yaml").write_text("")
    (d / "adir.yaml").mkdir()
    return {
        "good": str(MINI), "broken": str(d / "broken.yaml"), "garbage": str(d / "garbage.yaml"),
        "empty": str(d / "empty.yaml"), "missing": str(d / "missing.yaml"),
        "dir": str(d / "adir.yaml"), "out": str(d / "no" / "such" / "dir" / "out.parquet"),
    }  # fmt: skip


class Hung(Exception):
    """Raised by the alarm when a command ran on instead of refusing its input."""


def _hung(signum, frame):
    raise Hung


def test_every_command_refuses_bad_input_cleanly(fuzz_files, monkeypatch):
    # with no display, an `open` that slipped through ends at once instead of opening a window
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    old = signal.signal(signal.SIGALRM, _hung)

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(argv=bad_command_lines(fuzz_files))
    def check(argv: list[str]) -> None:
        signal.alarm(30)  # bad input is refused up front: nothing may start and run on
        try:
            code, _, err = run_main(argv)
        except Hung:
            pytest.fail(f"{argv} ran on instead of refusing its bad input")
        finally:
            signal.alarm(0)
        assert code in (1, 2), (argv, code, err)  # never 0: something was bad
        assert_clean_failure(code, err)

    try:
        check()
    finally:
        signal.signal(signal.SIGALRM, old)
