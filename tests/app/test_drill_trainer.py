"""The trainer's desk without Qt: a start stopped during its warm-up leaves nothing running."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from factory_twin.app.drill_trainer import TrainerDesk
from factory_twin.model.config import load_plant

REPO = Path(__file__).resolve().parents[2]


def test_stop_during_the_warm_up_stops_the_server_once_it_is_up() -> None:
    spec = load_plant(REPO / "plant_configs" / "demo_fab.yaml").spec
    desk = TrainerDesk(spec)
    drill = next(d for d in spec.drills if d.id == "oht_jam")
    errors: list[str] = []

    def start() -> None:
        try:
            desk.start(drill, speed=5, load_companion_specs=False)
        except Exception as exc:
            errors.append(str(exc))

    before = {t.name for t in threading.enumerate()}
    th = threading.Thread(target=start)
    th.start()
    time.sleep(0.3)  # the plant is warming up to the drill's start
    desk.stop()
    th.join(60)
    assert errors == ["the drill was stopped while it was starting"]
    assert desk.server is None and desk.session is None and not desk.running
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and {t.name for t in threading.enumerate()} - before:
        time.sleep(0.05)
    assert not {t.name for t in threading.enumerate()} - before  # no server thread left


def test_calls_before_a_drill_say_what_to_do() -> None:
    desk = TrainerDesk(load_plant(REPO / "plant_configs" / "demo_fab.yaml").spec)
    with pytest.raises(Exception, match="no drill is running"):
        desk.pause()
    assert desk.poll() == [] and desk.timeline() == [] and desk.scores() == []


def test_ad_hoc_interlock_and_hot_lot_targets() -> None:
    from factory_twin.app.drill_server import adhoc_target
    from factory_twin.model.drill_scoring import safety_steps

    spec = load_plant(REPO / "plant_configs" / "demo_fab.yaml").spec
    steps = safety_steps(spec)
    # by hand: the etch mainframe's first procedure is the wet clean, its first safety step 1
    lock = adhoc_target(spec, steps, "interlock", "ETCH-01", "")
    assert lock == {"procedure": spec.procedures_for("etch_mainframe")[0].id, "step": 1}
    assert lock["procedure"] == "etch-chamber-wet-clean"
    assert adhoc_target(spec, steps, "interlock", "ETCH-01", "etch-chamber-wet-clean:3") == {
        "procedure": "etch-chamber-wet-clean",
        "step": 3,
    }
    # the first product visiting ETCH-01's group is released at that route step
    hot = adhoc_target(spec, steps, "hot_lot", "ETCH-01", "")
    route = spec.route(next(p for p in spec.products if p.id == hot["product"]).route)
    k = hot["step"] - 1
    assert route.steps[k].tool_group == spec.tool("ETCH-01").group
    assert all(st.tool_group != spec.tool("ETCH-01").group for st in route.steps[:k])
    assert hot["priority"] == 100
    assert adhoc_target(spec, {}, "hot_lot", "", "LOGIC-A:3")["step"] == 3
