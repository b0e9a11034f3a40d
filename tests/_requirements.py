"""Tests that need something outside Python: skip on a developer's machine, fail under CI.

Python packages the project depends on are imported plainly (a missing one is an error
everywhere). External tools and data sets (node, npm packages installed by set-up,
Chromium, poppler, the SMT2020 tables) may be absent on a developer's machine, where the
test skips and says what to install; under CI (environment variable ``CI`` set to ``1``,
``true`` or ``yes``, as ``.ci/run`` has it) the same absence fails the test, so a broken
set-up can never pass as a run with a few skips.

Use :func:`requires` as a mark (on a test, a class or ``pytestmark``), :func:`require` or
:func:`which` inside a test or fixture, and :func:`missing` for anything else.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

__all__ = ["in_ci", "missing", "require", "requires", "which"]


def in_ci() -> bool:
    """Return True when the environment variable ``CI`` is ``1``, ``true`` or ``yes``."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing(reason: str) -> NoReturn:
    """Skip the current test because of ``reason``, or fail it under CI."""
    if in_ci():
        pytest.fail(f"{reason} (a requirement of this test; CI must provide it)", pytrace=False)
    pytest.skip(reason)


def require(ok: object, reason: str) -> None:
    """Call :func:`missing` with ``reason`` unless ``ok`` is true."""
    if not ok:
        missing(reason)


def which(name: str, hint: str) -> str:
    """Return the path of program ``name``, or :func:`missing` (``hint``: how to install it)."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed ({hint})")
    return path


def requires(ok: object, reason: str) -> pytest.MarkDecorator:
    """Mark a test as needing ``ok`` to be true; checked at set-up by tests/conftest.py.

    Examples
    --------
    >>> needs_node = requires(shutil.which("node"), "node is not installed")  # doctest: +SKIP
    """
    return pytest.mark.requires(ok=bool(ok), reason=reason)
