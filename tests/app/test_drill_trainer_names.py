"""The trainer's list of trainee names (TrainerDesk.names) without a server or Qt.

With a server of our own the names come from its joined trainees, its token store's taken
names and its releases; following a remote server, from the Trainees variable and the release
events (a later action under a released name means someone took it again). The real server
over a restart is exercised in tests/ui/test_train_names_kept.py.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from factory_twin.app.drill_log import NameRelease
from factory_twin.app.drill_trainer import NameLine, TrainerDesk
from factory_twin.errors import FactoryTwinError
from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.opcua.drill_client import DrillNotice

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def spec() -> s.PlantSpec:
    return load_plant(REPO / "plant_configs" / "demo_fab.yaml").spec


def _own(spec: s.PlantSpec, trainees: list[str], taken: list[str], released: list[str]) -> Any:
    desk = TrainerDesk(spec)
    desk.server = SimpleNamespace(  # type: ignore[assignment]
        trainees=trainees,
        taken_names=sorted(taken),
        releases=[NameRelease(1.0, n, "trainer") for n in released],
        token_path=Path("/drills/oht_jam.tokens"),
    )
    return desk


def test_own_server_joined_first_then_kept_and_released_ones_left_out(
    spec: s.PlantSpec,
) -> None:
    # ann joined this run; bob and carol are kept from an earlier run; dave was released;
    # eve (a logged-in user, never given a token) acted and stays listed
    desk = _own(spec, ["ann", "dave", "eve"], ["ann", "bob", "carol"], ["dave"])
    assert desk.names() == [
        NameLine("ann", True),
        NameLine("eve", True),
        NameLine("bob", False),
        NameLine("carol", False),
    ]
    assert desk.token_path == Path("/drills/oht_jam.tokens")
    assert desk.released_names() == {"dave"}
    # released, then taken again by a new Join: joined again
    desk = _own(spec, ["ann", "dave"], ["ann", "dave"], ["dave"])
    assert desk.names() == [NameLine("ann", True), NameLine("dave", True)]
    assert desk.released_names() == set()


def test_a_remote_server_lists_its_trainees_less_the_names_released_since(
    spec: s.PlantSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = TrainerDesk(spec)
    monkeypatch.setattr(desk, "trainees", lambda: ["ann", "bob", "carol"])
    desk.notices = [
        DrillNotice("action", "ann: hold_tool ETCH-02", "ann"),
        DrillNotice("state", "the trainer released the name 'ann'", "ann"),
        DrillNotice("state", "the trainer released the name 'bob'", "bob"),
        DrillNotice("action", "bob: call_maintenance OHT", "bob"),  # bob is back
        DrillNotice("injection", "tag_drift ETCH-02"),
    ]
    assert desk.taken_names is None and desk.token_path is None
    assert desk.released_names() == {"ann"}
    assert desk.names() == [NameLine("bob", True), NameLine("carol", True)]


def test_release_names_needs_a_drill(spec: s.PlantSpec) -> None:
    with pytest.raises(FactoryTwinError, match="no drill is running"):
        TrainerDesk(spec).release_names(["ann"])
