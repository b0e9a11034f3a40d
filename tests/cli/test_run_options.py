"""The run options and progress line ``experiment`` and ``optimise`` share."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import pytest

from factory_twin.cli.run_options import ProgressLine, add_run_options, dask_address, duration


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cmd")
    add_run_options(p, out_help="out", dask_help="dask")
    return p


def test_run_options_parse_and_default() -> None:
    args = _parser().parse_args(["-o", "res", "--dask", "sched:8786", "--processes", "3"])
    assert (args.out, args.dask, args.processes) == (Path("res"), "dask://sched:8786", 3)
    args = _parser().parse_args([])
    assert (args.out, args.dask, args.processes) == (None, None, None)
    assert dask_address("dask://10.0.0.2:8786") == "dask://10.0.0.2:8786"


@pytest.mark.parametrize("argv", [["--processes", "0"], ["--dask", "sched"], ["--dask", "x:y"]])
def test_bad_run_options_end_with_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {argv[0]}" in err and "Traceback" not in err


def test_duration_text() -> None:
    assert [duration(s) for s in (0, 59.4, 60, 61, 3725)] == [
        "0 s", "59 s", "1 min 00 s", "1 min 01 s", "62 min 05 s",
    ]  # fmt: skip


def test_progress_line_prints_each_new_line_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    line = ProgressLine()
    for text in ("a", "a", "b"):
        line.show(text)
    line.close()
    assert capsys.readouterr().err == "a\nb\n"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_rewrites_in_place_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _Tty()
    monkeypatch.setattr(sys, "stderr", err)
    line = ProgressLine(width=5)
    line.show("first line")
    line.show("second")
    line.close()
    line.close()
    assert err.getvalue() == "\r\x1b[2Kfirst\r\x1b[2Ksecon\n"
