"""The docs that say what a drill client fetches after a reconnect say all of it.

Since the event log holds the plant's alarm transitions besides the drill events, every
module doc (and the README) that describes the catch-up after a reconnect names both, and
none says it is the drill events alone.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from factory_twin.app import drill_link, drill_trainer
from factory_twin.opcua import drill_client

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("module", [drill_link, drill_trainer, drill_client])
def test_the_module_docs_name_the_alarm_transitions_fetched(module: object) -> None:
    doc = " ".join(str(module.__doc__).split())
    assert "reconnect" in doc
    assert "alarm transitions" in doc, module
    assert not re.search(r"fetch\w* the drill events (it|they) missed", doc), module


def test_the_readme_names_the_alarm_transitions_fetched() -> None:
    text = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    assert "only drill events" not in text
    assert "fetches the drill events it missed" not in text
    assert "alarm transitions (raised, cleared, acknowledged, shelved" in text
