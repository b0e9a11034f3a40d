"""Session-wide test hooks: the ``requires`` mark of tests/_requirements.py."""

from __future__ import annotations

import pytest
from _requirements import in_ci, missing


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "requires(ok, reason): needs something outside Python; skips locally when ok is "
        "false, fails under CI=1 (make it with tests/_requirements.py's requires())",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Locally, an unmet requirement becomes a plain skip mark (reported at the test's line).
    if in_ci():
        return
    for item in items:
        for mark in item.iter_markers(name="requires"):
            if not mark.kwargs["ok"]:
                item.add_marker(pytest.mark.skip(reason=mark.kwargs["reason"]))


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Under CI an unmet requirement fails the test (missing() fails there).
    for mark in item.iter_markers(name="requires"):
        if not mark.kwargs["ok"]:
            missing(mark.kwargs["reason"])
