"""The drill server's small JSON-lines files (trainee tokens, the event log), read line by
line with every kind of damage named by its line.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> p = Path(tempfile.mkdtemp()) / "x.jsonl"
>>> _ = p.write_text('# a comment\\n{"a": 1}\\n\\n{"b": 2}\\n')
>>> def damaged(line, problem, column):
...     raise ValueError(f"{line}: {problem}")
>>> json_lines(p, damaged)
[(2, {'a': 1}), (4, {'b': 2})]
>>> _ = p.write_text('{"a": 1}\\n[1]\\n')
>>> json_lines(p, damaged)
Traceback (most recent call last):
...
ValueError: 2: not a JSON object
>>> json_lines(p.with_name("none.jsonl"), damaged) is None
True
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["json_lines"]


def json_lines(
    path: Path, damaged: Callable[[int | None, str, int | None], NoReturn]
) -> list[tuple[int, dict[str, Any]]] | None:
    """The JSON objects of ``path``, one a line, with their line numbers (blank lines and
    ``#`` comments skipped); None if there is no such file.

    ``damaged(line, problem, column)`` is called (and must raise) for a file that cannot be
    read (line None), a line that is not UTF-8 (the byte named in ``problem``), not JSON (the
    column given) or not a JSON object (column None where not known).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        damaged(None, f"cannot read it: {exc.strerror or exc}", None)
    out: list[tuple[int, dict[str, Any]]] = []
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            damaged(number, f"not UTF-8 text (byte {exc.start + 1} of the line)", None)
        if not text or text.startswith("#"):
            continue
        try:
            entry = json.loads(text)
        except json.JSONDecodeError as exc:
            damaged(number, f"not a JSON object ({exc.msg} at column {exc.colno})", exc.colno)
        if not isinstance(entry, dict):
            damaged(number, "not a JSON object", None)
        out.append((number, entry))
    return out
