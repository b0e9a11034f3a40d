"""``main()`` sets logging up only while its command runs.

The root logger keeps the handlers and level its caller gave it (a test calling ``main()``
again and again, an application embedding the command line), also when the command fails;
``-v`` and ``-vv`` still show INFO and DEBUG records on stderr during the command.
"""

from __future__ import annotations

import argparse
import doctest
import logging
from collections.abc import Iterator
from types import ModuleType

import pytest

import factory_twin.cli as cli
from factory_twin.cli import COMMANDS, main
from factory_twin.errors import FactoryTwinError

probe_log = logging.getLogger("factory_twin.cli.probe")


def _probe_module(seen: list[tuple[int, int]], fail: bool = False) -> ModuleType:
    """A command that logs at every level and notes the root logger as it runs."""
    mod = ModuleType("probe")

    def add_arguments(_p: argparse.ArgumentParser) -> None:
        return None

    def run(_args: argparse.Namespace) -> int:
        root = logging.getLogger()
        seen.append((root.level, len(root.handlers)))
        probe_log.debug("probe debug record")
        probe_log.info("probe info record")
        probe_log.warning("probe warning record")
        if fail:
            msg = "the probe fails"
            raise FactoryTwinError(msg)
        return 0

    mod.add_arguments = add_arguments  # type: ignore[attr-defined]
    mod.run = run  # type: ignore[attr-defined]
    return mod


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    notes: list[tuple[int, int]] = []
    monkeypatch.setitem(COMMANDS, "probe", (lambda: _probe_module(notes), "a test command"))
    monkeypatch.setitem(
        COMMANDS, "probe-fail", (lambda: _probe_module(notes, fail=True), "a failing one")
    )
    return notes


@pytest.fixture
def host_root() -> Iterator[None]:
    """The root logger as a host program set it (ERROR, a handler of its own)."""
    root = logging.getLogger()
    saved = root.level
    host = logging.NullHandler()
    root.addHandler(host)
    root.setLevel(logging.ERROR)
    yield
    root.removeHandler(host)
    root.setLevel(saved)


def _root_now() -> tuple[int, list[logging.Handler]]:
    root = logging.getLogger()
    return root.level, list(root.handlers)


def test_main_leaves_the_root_logger_as_it_found_it(
    seen: list[tuple[int, int]],
    host_root: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = _root_now()  # pytest adds its capturing handlers after the fixtures
    assert before[0] == logging.ERROR
    for argv in (["probe"], ["-v", "probe"], ["-vv", "probe"], ["probe"]):
        assert main(argv) == 0
        assert _root_now() == before, argv
    # during each run: the level of its verbosity, and exactly one handler more
    n = len(before[1])
    assert seen == [
        (logging.WARNING, n + 1),
        (logging.INFO, n + 1),
        (logging.DEBUG, n + 1),
        (logging.WARNING, n + 1),
    ]
    capsys.readouterr()


def test_a_failing_command_also_puts_the_root_logger_back(
    seen: list[tuple[int, int]],
    host_root: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = _root_now()
    assert main(["-v", "probe-fail"]) == 1
    assert _root_now() == before
    assert "the probe fails" in capsys.readouterr().err
    # bad usage never reaches the command: nothing to set up, nothing left behind
    assert main(["probe", "--no-such-option"]) == 2
    assert _root_now() == before
    assert seen == [(logging.INFO, len(before[1]) + 1)]


def test_verbosity_shows_records_on_stderr_during_the_command(
    seen: list[tuple[int, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["probe"]) == 0
    err = capsys.readouterr().err
    assert "WARNING factory_twin.cli.probe: probe warning record" in err
    assert "probe info record" not in err and "probe debug record" not in err

    assert main(["-v", "probe"]) == 0
    err = capsys.readouterr().err
    assert "INFO factory_twin.cli.probe: probe info record" in err
    assert "probe debug record" not in err

    assert main(["-vv", "probe"]) == 0
    err = capsys.readouterr().err
    assert "DEBUG factory_twin.cli.probe: probe debug record" in err
    assert err.count("probe info record") == 1  # one handler: each record once

    # after the command, a record of the same logger reaches no handler of ours
    probe_log.warning("after the command")
    assert "after the command" not in capsys.readouterr().err


def test_a_real_command_in_a_bare_program_leaves_no_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A program with no logging set up (where ``basicConfig`` would add its handler for
    good) has none after ``main()`` either."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    for h in saved[1]:
        root.removeHandler(h)
    try:
        for _ in range(2):
            assert main(["-v", "schema"]) == 0
            assert (root.level, root.handlers) == (saved[0], [])
    finally:
        for h in saved[1]:
            root.addHandler(h)
    assert '"$defs"' in capsys.readouterr().out


def test_docstring_example_runs() -> None:
    assert doctest.testmod(cli).failed == 0
