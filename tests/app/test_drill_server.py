"""Drills over real OPC UA: a DrillSimulator on a free loopback port, asyncua clients.

Scores of two trainees at once (one reconnecting) equal hand-computed values; every fault
kind shows to an independent client at its planned plant time (within one update period);
the guard refuses endpoints that are not our simulator in drill mode; serve --drill runs
headless; each trainee reads back their own debrief, the one the trainer's debrief shows.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client, Server, ua

from factory_twin.app.drill_debrief import debrief_scores, own_debrief, trainee_debrief
from factory_twin.app.drill_log import DrillLog
from factory_twin.app.drill_server import DrillSimulator
from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.model.drill_scoring import safety_steps, score_trainee
from factory_twin.model.drills import find_drill
from factory_twin.opcua.drill_client import DrillClient, DrillNameTaken, DrillRefused
from factory_twin.opcua.server import PlantServer

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "plant_configs" / "demo_fab.yaml"
P = "etch-chamber-wet-clean"


def _url() -> str:
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    return f"opc.tcp://127.0.0.1:{port}/factory_twin/"


@pytest.fixture(scope="module")
def demo() -> s.PlantSpec:
    return load_plant(DEMO).spec


async def _until(pred: Any, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if await pred() if asyncio.iscoroutinefunction(pred) else pred():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_two_trainees_scored_separately_and_a_reconnect_keeps_the_score(
    demo: s.PlantSpec, tmp_path: Path
) -> None:
    drill = find_drill(demo, "etch_helium_leak")
    sim = DrillSimulator(
        demo, drill, endpoint=_url(), speed=30, load_companion_specs=False, record_dir=tmp_path
    )
    await sim.start()
    ann, bob = DrillClient(sim.endpoint_url, "ann"), DrillClient(sim.endpoint_url, "bob")
    trainer = DrillClient(sim.endpoint_url, "trainer", trainer=True)
    try:
        assert await ann.connect() == "ann"
        assert await bob.connect() == "bob"
        await trainer.connect()
        # ann: acknowledges with a comment as soon as the leak alarm shows, holds the chamber
        await _until(lambda: ("ETCH-02", "helium_leak.hi") in ann._event_ids)
        await ann.acknowledge("ETCH-02", "helium_leak.hi", "He leak, chuck seal suspected")
        assert await ann.machine("ETCH-02", "Hold")
        await ann.disconnect()  # ... and drops out
        await _until(lambda: sim.scores.get("ann") is not None and sim.scores["ann"].score == 30)
        ann = DrillClient(sim.endpoint_url, "ann", token=ann.token)  # her app saved the token
        assert await ann.connect() == "ann"  # back, same name: same score
        assert (await ann.status()).scores["ann"]["score"] == 30
        await ann.open_procedure("ETCH-02", P)
        for step in (1, 2, 3):
            await ann.sign_off_step("ETCH-02", P, step)
        await ann.call_maintenance("ETCH-02", "ESC helium leak")
        # bob: holds the healthy chamber, then does it all late
        assert await bob.machine("ETCH-01", "Hold")
        await _until(lambda: sim.clock_s > 500)
        await bob.acknowledge("ETCH-02", "helium_leak.hi", "late")
        assert not await bob.machine("ETCH-02", "Resume")  # interlocked: refused, -10
        await bob.machine("ETCH-02", "Hold")
        await bob.open_procedure("ETCH-02", P)
        for step in (1, 2, 3):
            await bob.sign_off_step("ETCH-02", P, step)
        await bob.call_maintenance("ETCH-02", "")
        assert sim.clock_s < 660  # bob's open_procedure was on time
        await _until(lambda: sim.scores["bob"].actions[-1].action == "dispatch_maintenance")
        # by hand: ann 10+20+10+20+10 = 70; bob late ack 0, late hold 0, procedure 10,
        # sign-offs 20, maintenance 10 = 40, minus 5 (healthy tool) and 10 (interlock) = 25
        await _until(lambda: sim.scores["ann"].score == 70 and sim.scores["bob"].score == 25)
        a, b = sim.scores["ann"], sim.scores["bob"]
        assert [r.status for r in a.rows] == ["on time"] * 5 and a.passed
        assert [r.status for r in b.rows] == ["late", "late", "on time", "on time", "on time"]
        assert [w.penalty for w in b.wrong] == [5, 10] and not b.passed
        # the trainer (an independent client) sees both scores as variables
        ns = trainer._ns
        tc = trainer._client
        assert tc is not None

        async def scores_seen() -> bool:
            got = [
                await tc.get_node(ua.NodeId(f"Drill.Scores.{n}", ns)).read_value()
                for n in ("ann", "bob")
            ]
            return got == [70.0, 25.0]

        await _until(scores_seen)
        status = await trainer.status()
        assert set(status.trainees) == {"ann", "bob"}  # the trainer is not a trainee
        # the events come by subscription: the last may arrive after the score variables read
        kinds: set[str] = set()

        def all_kinds_seen() -> bool:
            kinds.update(n.kind for n in trainer.drain())
            return {"injection", "action", "score", "refused"} <= kinds

        await _until(all_kinds_seen)
        # the scores equal the engine's recomputation from the recorded records
        for name in ("ann", "bob"):
            again = score_trainee(
                drill, sim.injections, sim.actions, name, steps=safety_steps(demo)
            )
            assert again.score == sim.scores[name].score
    finally:
        for c in (ann, bob, trainer):
            await c.disconnect()
        await sim.stop()
    log = DrillLog.load(sim.log_path)  # type: ignore[arg-type]
    assert log.drill_id == "etch_helium_leak" and set(log.trainees) == {"ann", "bob"}
    assert sim.history_path is not None and sim.history_path.is_file()
    assert any(a.alarm_id == "ETCH-02.helium_leak.hi" and a.active for a in log.alarms)


def _all_kinds_drill() -> s.Drill:
    inj = [
        {"id": "bd", "at_s": 30, "equipment": "FURN-01", "fault": "breakdown"},
        {"id": "stuck", "at_s": 60, "equipment": "ETCH-03", "fault": "tag_stuck",
         "tag": "chamber_pressure", "value": 7.5},
        {"id": "alarm", "at_s": 90, "equipment": "IMP-01", "fault": "alarm",
         "tag": "end_station_pressure", "limit": "hihi"},
        {"id": "comm", "at_s": 120, "equipment": "ETCH-04", "fault": "comm_loss"},
        {"id": "drift", "at_s": 150, "equipment": "ETCH-02", "fault": "tag_drift",
         "tag": "helium_leak", "rate_per_s": 0.5, "value": 9.0},
        {"id": "jam", "at_s": 180, "equipment": "OHT", "fault": "transport_jam"},
        {"id": "hot", "at_s": 210, "fault": "hot_lot", "product": "LOGIC-A", "lot": "HOT-9",
         "step": 2, "equipment": "FURN_OX"},
        {"id": "lock", "at_s": 240, "equipment": "SCAN-01", "fault": "interlock",
         "procedure": "scanner-reticle-stage-check", "step": 1},
    ]  # fmt: skip
    return s.Drill.model_validate({"id": "all", "name": "All", "injections": inj})


async def test_an_interlock_is_released_per_trainee(demo: s.PlantSpec) -> None:
    # a class shares one plant, not its sign-offs: ann's sign-off frees ann's resume only
    drill = find_drill(demo, "etch_helium_leak")
    sim = DrillSimulator(demo, drill, endpoint=_url(), speed=60, load_companion_specs=False)
    await sim.start()
    ann, bob = DrillClient(sim.endpoint_url, "ann"), DrillClient(sim.endpoint_url, "bob")
    try:
        await ann.connect()
        await bob.connect()
        await _until(lambda: "ETCH-02" in sim._interlocks)  # the interlock injection (360 s)
        await ann.sign_off_step("ETCH-02", P, 1)
        assert not await bob.machine("ETCH-02", "Resume")  # bob has not signed it off
        assert await ann.machine("ETCH-02", "Resume")
        resumes = [(a.trainee, a.accepted) for a in sim.actions if a.action == "resume_tool"]
        assert resumes == [("bob", False), ("ann", True)]
        assert any(k == "interlock" for k, _, _ in sim._faults)  # still on for bob
        await bob.sign_off_step("ETCH-02", P, 1)
        assert "ETCH-02" not in sim._interlocks
        assert not any(k == "interlock" for k, _, _ in sim._faults)
    finally:
        for c in (ann, bob):
            await c.disconnect()
        await sim.stop()


async def test_a_trigger_meets_the_state_an_injection_at_a_step_end_caused(
    demo: s.PlantSpec,
) -> None:
    # the breakdown fires at the very end of a step; its state change still arms the hot lot
    drill = find_drill(demo, "furnace_breakdown_hot_lot")
    sim = DrillSimulator(demo, drill, endpoint=_url(), load_companion_specs=False)
    await sim.start()
    try:
        sim._advance(drill.start_at_s + 120.0 - sim.now_s)  # ends at the breakdown
        for _ in range(3):
            sim._advance(30.0)
        fired = [(i.injection_id, i.time_s, i.lot) for i in sim.injections]
        assert fired == [("breakdown", 120.0, ""), ("hot", 180.0, "HOT-0001")]
    finally:
        await sim.stop()


async def test_every_fault_kind_shows_to_an_independent_client_on_time(
    demo: s.PlantSpec,
) -> None:
    drill = _all_kinds_drill()
    speed, tick = 30.0, 0.25
    sim = DrillSimulator(
        demo, drill, endpoint=_url(), speed=speed, tick_s=tick, load_companion_specs=False
    )
    await sim.start()
    update_s = speed * tick  # plant seconds per server update
    poll_s = 0.02 * speed + 2 * speed * 0.05  # client polling and publishing latency
    client = Client(sim.endpoint_url, timeout=10)
    try:
        await client.connect()
        ns = (await client.get_namespace_array()).index("urn:factory-twin:plant")

        def node(text: str) -> Any:
            return client.get_node(ua.NodeId(text, ns))

        async def seen_at(check: Any) -> float:
            while True:
                clock = await node("Drill.Clock").read_value()
                if await check():  # seen between two clock reads: the later one bounds it
                    return float(await node("Drill.Clock").read_value())
                assert clock < 400, "not seen"
                await asyncio.sleep(0.02)

        async def faults() -> list[str]:
            return list(await node("Drill.ActiveFaults").read_value() or [])

        alarms: list[Any] = []

        class H:
            def event_notification(self, e: Any) -> None:
                alarms.append(e)

        sub = await client.create_subscription(20, H())
        await sub.subscribe_events(
            client.nodes.server, client.get_node(ua.NodeId(ua.ObjectIds.AlarmConditionType))
        )

        async def bad_status() -> bool:
            dv = await node("ETCH-04.Parameters.rf_power").read_data_value(
                raise_on_bad_status=False
            )
            return not dv.StatusCode.is_good()

        checks = {
            "bd": lambda: _eq(node("FURN-01.State.E10StateName"), "unscheduled_down"),
            "stuck": lambda: _eq(node("ETCH-03.Parameters.chamber_pressure"), 7.5),
            "alarm": lambda: _alarm(alarms, "IMP-01", "end_station_pressure.hihi"),
            "comm": bad_status,
            "drift": lambda: _above(node("ETCH-02.Parameters.helium_leak"), 3.0),
            "jam": lambda: _contains(faults, "transport_jam OHT"),
            "hot": lambda: _contains(faults, "hot_lot FURN_OX"),
            "lock": lambda: _contains(faults, "interlock SCAN-01"),
        }
        for inj in drill.injections:
            t = await seen_at(checks[inj.id])
            planned = float(inj.at_s or 0)
            if inj.id == "drift":  # from ~1.25 to above 3.0 at 0.5/s: 3.5 s more
                planned += (3.0 - 2.0) / 0.5
                assert t >= float(inj.at_s or 0)
            assert planned - 1e-6 <= t + 1e-6, (inj.id, t)
            assert t <= planned + update_s + poll_s + sim.tag_period_s, (inj.id, t, planned)
        # the interlocked tool cannot be resumed
        with pytest.raises(ua.UaStatusCodeError):
            await node("SCAN-01").call_method(ua.NodeId("SCAN-01.Resume", ns))
        assert sim.sim.model.wip.get("HOT-9") is not None
        assert sim.sim.transport_jammed
    finally:
        await client.disconnect()
        await sim.stop()


async def _eq(n: Any, want: Any) -> bool:
    return bool(await n.read_value() == want)


async def _above(n: Any, v: float) -> bool:
    return bool(float(await n.read_value()) > v)


async def _contains(get: Any, item: str) -> bool:
    return item in await get()


async def _alarm(alarms: list[Any], eq: str, code: str) -> bool:
    return any(
        getattr(e, "SourceName", "") == eq and getattr(e, "ConditionName", "") == code
        for e in alarms
    )


async def test_the_guard_refuses_endpoints_not_in_drill_mode(demo: s.PlantSpec) -> None:
    plain = PlantServer(demo, endpoint=_url(), load_companion_specs=False)
    await plain.start()
    try:
        with pytest.raises(DrillRefused, match="not in drill mode"):
            await DrillClient(plain.endpoint_url, "ann").connect()
    finally:
        await plain.stop()
    other = Server()
    await other.init()
    url = _url()
    other.set_endpoint(url)
    await other.start()
    try:
        with pytest.raises(DrillRefused, match="not the factory_twin plant simulator"):
            await DrillClient(url, "ann").connect()
    finally:
        await other.stop()


def test_trainer_controls_and_ad_hoc_injection(demo: s.PlantSpec) -> None:
    from factory_twin.app.drill_session import DrillSession, start_drill_server

    sim = start_drill_server(demo, "oht_jam", speed=20, load_companion_specs=False)
    trainer = DrillSession(sim.endpoint_url, "trainer", trainer=True)
    try:
        assert trainer.join().result(30) == "trainer"
        trainer.pause().result(10)
        c1 = trainer.status().result(10).clock_s
        time.sleep(0.5)
        st = trainer.status().result(10)
        assert st.state == "paused" and st.clock_s == c1
        trainer.resume_drill().result(10)
        trainer.set_speed(40).result(10)
        trainer.inject("breakdown", "ETCH-01", duration_s=600).result(10)
        with pytest.raises(DrillRefused):
            trainer.inject("breakdown", "NO-SUCH-TOOL").result(10)
        st = trainer.status().result(10)
        assert st.state == "running" and st.speed == 40
        assert "breakdown ETCH-01" in st.active_faults
        assert any(r.injection_id == "adhoc1" for r in sim.injections)
    finally:
        trainer.leave()
        sim.stop_in_thread()


def test_each_trainee_reads_their_own_debrief_as_the_trainer_computes_it(
    demo: s.PlantSpec,
) -> None:
    from factory_twin.app.drill_session import DrillSession, start_drill_server

    sim = start_drill_server(demo, "etch_helium_leak", speed=30, load_companion_specs=False)
    ann, bob = DrillSession(sim.endpoint_url, "ann"), DrillSession(sim.endpoint_url, "bob")
    trainer = DrillSession(sim.endpoint_url, "trainer", trainer=True)

    def mine(who: DrillSession) -> Any:
        return own_debrief(who.client.debrief_text)

    def wait(pred: Any, timeout: float = 30.0) -> None:
        end = time.monotonic() + timeout
        while not pred():
            assert time.monotonic() < end, "condition not met in time"
            time.sleep(0.02)

    try:
        for who in (ann, bob, trainer):
            who.join().result(30)
        # joined: a debrief with every response still to come, nothing done
        wait(lambda: mine(ann) is not None and mine(bob) is not None)
        assert mine(trainer) is None  # the trainer is never scored
        assert not mine(ann).score.actions
        # ann answers the leak alarm with a comment and holds the chamber; bob holds a
        # healthy tool (a wrong action)
        wait(lambda: ("ETCH-02", "helium_leak.hi") in ann.client._event_ids)
        ann.acknowledge("ETCH-02", "helium_leak.hi", "He leak, chuck seal suspected").result(10)
        assert ann.hold("ETCH-02").result(10)
        assert bob.hold("ETCH-01").result(10)
        wait(lambda: mine(ann).score.score == 30 and mine(bob).score.wrong)
        live = mine(ann)
        assert {r.status for r in live.score.rows} == {"on time", "pending"}
        assert [r.kind for r in live.timeline].count("ack") == 1
        trainer.finish().result(10)
        wait(lambda: ann.client.value("State") == "finished")
        # finished: each trainee's debrief is the trainer's debrief of the recorded run
        log = sim.log()
        scores = debrief_scores(log, sim.drill, demo)
        for who in (ann, bob):
            want = trainee_debrief(log, scores[who.joined_as])
            wait(lambda w=who, x=want: mine(w) == x)
        got = mine(ann)
        assert got.score.score == 30 and got.score.max_points == 70 and not got.score.passed
        assert [r.status for r in got.score.rows].count("missed") == 3
        assert [w.equipment for w in mine(bob).score.wrong] == ["ETCH-01"]
    finally:
        for who in (ann, bob, trainer):
            who.leave()
        sim.stop_in_thread()


async def test_a_debrief_is_read_only_with_its_trainees_token(demo: s.PlantSpec) -> None:
    """No variable holds a debrief; GetDebrief gives bob's client nothing of ann's without
    ann's token (wrong, missing, or his own), and ann's token gives the trainer's debrief."""
    drill = find_drill(demo, "etch_helium_leak")
    sim = DrillSimulator(demo, drill, endpoint=_url(), speed=30, load_companion_specs=False)
    await sim.start()
    ann, bob = DrillClient(sim.endpoint_url, "ann"), DrillClient(sim.endpoint_url, "bob")
    try:
        assert await ann.connect() == "ann" and await bob.connect() == "bob"
        assert len(ann.token) >= 20 and ann.token != bob.token
        await _until(lambda: sim.scores.get("ann") is not None)
        await _until(lambda: ("ETCH-02", "helium_leak.hi") in ann._event_ids)
        await ann.acknowledge("ETCH-02", "helium_leak.hi", "He leak, chuck seal suspected")
        await _until(lambda: sim.scores["ann"].score == 10)
        # the address space has no debrief content: the old variable is gone, the revision
        # counter is a number
        bc = bob._client
        assert bc is not None
        with pytest.raises(ua.UaStatusCodeError):
            await bc.get_node(ua.NodeId("Drill.DebriefJson", bob._ns)).read_value()
        rev = await bc.get_node(ua.NodeId("Drill.DebriefRevision", bob._ns)).read_value()
        assert isinstance(rev, int) and rev > 0
        # bob asks for ann's debrief: refused, with no content, whatever token he offers
        for token in ("", "not-the-token", bob.token):
            with pytest.raises(DrillRefused, match="BadUserAccessDenied") as err:
                await bob.debrief("ann", token)
            assert "chuck seal" not in str(err.value)
        drill_node = bc.get_node(ua.NodeId("Drill", bob._ns))
        with pytest.raises(ua.UaStatusCodeError) as raw:  # and called with no arguments
            await drill_node.call_method(ua.NodeId("Drill.GetDebrief", bob._ns))
        assert raw.value.code == ua.StatusCodes.BadUserAccessDenied
        # ann's own token: her debrief, the trainer's (computed from the same run)
        await _until(lambda: ann.debrief_text and own_debrief(ann.debrief_text).score.score == 10)
        got = own_debrief(await ann.debrief())
        want = trainee_debrief(sim.log(), sim.scores["ann"])
        assert got == want and "chuck seal" in json.dumps(got.to_dict())
        assert own_debrief(await bob.debrief()).score.trainee == "bob"
        # ann reconnecting with the same client keeps her token; a new client joining under
        # her name without it is refused (see test_a_taken_name_is_joined_only_with_its_token)
        old = ann.token
        await ann.disconnect()
        assert await ann.connect() == "ann" and ann.token == old
        with pytest.raises(DrillNameTaken):
            await DrillClient(sim.endpoint_url, "ann").connect()
        assert own_debrief(await ann.debrief()) is not None
    finally:
        await ann.disconnect()
        await bob.disconnect()
        await sim.stop()


async def test_a_taken_name_is_joined_only_with_its_token(demo: s.PlantSpec) -> None:
    """A second client joining as ann without her token, or with a wrong one, is refused
    (BadIdentityTokenRejected, a clear message) and ann's token keeps working; her token
    rejoins from a new client; once the trainer released 'ann' a newcomer joins as ann with a
    new token, the old one reads nothing, and the release is in the drill log."""
    drill = find_drill(demo, "etch_helium_leak")
    sim = DrillSimulator(
        demo, drill, endpoint=_url(), speed=30, load_companion_specs=False, trainers={"trainer"}
    )
    await sim.start()
    ann = DrillClient(sim.endpoint_url, "ann")
    trainer = DrillClient(sim.endpoint_url, "trainer", trainer=True)
    clients = [ann, trainer]
    try:
        assert await ann.connect() == "ann" and ann.token
        await trainer.connect()
        await _until(lambda: sim.scores.get("ann") is not None)
        for token in ("", "not-the-token"):
            thief = DrillClient(sim.endpoint_url, "ann", token=token)
            with pytest.raises(DrillNameTaken) as err:
                await thief.connect()
            assert str(err.value) == (
                "the name 'ann' is already taken in this drill: choose another name, "
                "or ask the trainer to release it"
            )
            assert not thief.connected and thief.token == token
        # the raw status code, from a plain asyncua client named ann
        raw = Client(sim.endpoint_url)
        raw.description = "ann"
        await raw.connect()
        try:
            ns = (await raw.get_namespace_array()).index("urn:factory-twin:plant")
            with pytest.raises(ua.UaStatusCodeError) as got:
                await raw.get_node(ua.NodeId("Drill", ns)).call_method(
                    ua.NodeId("Drill.Join", ns), "wrong"
                )
            assert got.value.code == ua.StatusCodes.BadIdentityTokenRejected
            # nor can it act as ann without joining: Drill methods, Hold, Acknowledge refused
            n_actions = len(sim.actions)
            with pytest.raises(ua.UaStatusCodeError) as got:
                await raw.get_node(ua.NodeId("Drill", ns)).call_method(
                    ua.NodeId("Drill.CallMaintenance", ns), "ETCH-02", "as ann"
                )
            assert got.value.code == ua.StatusCodes.BadUserAccessDenied
            with pytest.raises(ua.UaStatusCodeError):
                await raw.get_node(ua.NodeId("ETCH-01", ns)).call_method(
                    ua.NodeId("ETCH-01.Hold", ns)
                )
            await _until(lambda: ("ETCH-02", "helium_leak.hi") in ann._event_ids)
            cond = raw.get_node(ua.NodeId("ETCH-02.Alarms.helium_leak.hi", ns))
            with pytest.raises(ua.UaStatusCodeError) as got:
                await cond.call_method(
                    ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge),
                    ua.Variant(
                        ann._event_ids[("ETCH-02", "helium_leak.hi")], ua.VariantType.ByteString
                    ),
                    ua.Variant(ua.LocalizedText("as ann"), ua.VariantType.LocalizedText),
                )
            assert got.value.code == ua.StatusCodes.BadUserAccessDenied
            assert len(sim.actions) == n_actions
            assert sim.sim is not None and not sim.sim.model.tool("ETCH-01").held
        finally:
            await raw.disconnect()
        assert sim.space is not None and sim.space.token_matches("ann", ann.token)
        assert own_debrief(await ann.debrief()) is not None  # ann's token still works
        # ann's app restarted: a new client with her saved token rejoins, same token
        await ann.disconnect()
        again = DrillClient(sim.endpoint_url, "ann", token=ann.token)
        clients.append(again)
        assert await again.connect() == "ann" and again.token == ann.token
        # only a trainer may release a name
        bob = DrillClient(sim.endpoint_url, "bob")
        clients.append(bob)
        await bob.connect()
        with pytest.raises(DrillRefused):
            await bob.release_name("ann")
        # the trainer releases 'ann': a newcomer joins as ann afresh, the old token fails
        await trainer.release_name("ann")
        with pytest.raises(DrillRefused):  # released already: nothing to release
            await trainer.release_name("ann")
        newcomer = DrillClient(sim.endpoint_url, "ann")
        clients.append(newcomer)
        assert await newcomer.connect() == "ann"
        assert newcomer.token and newcomer.token != ann.token
        with pytest.raises(DrillRefused, match="BadUserAccessDenied"):
            await again.debrief()
        with pytest.raises(DrillRefused, match="BadUserAccessDenied"):  # nor act as ann
            await again.call_maintenance("ETCH-02", "old session")
        assert own_debrief(await newcomer.debrief()) is not None
        await newcomer.call_maintenance("ETCH-02", "the new ann")
        assert sim.actions[-1].trainee == "ann" and sim.actions[-1].comment == "the new ann"
        assert [(r.trainee, r.by) for r in sim.log().releases] == [("ann", "trainer")]
        assert DrillLog.from_json(sim.log().to_json()).releases == sim.log().releases
        assert "ann" in sim.scores  # the score stays under the name
    finally:
        for c in clients:
            await c.disconnect()
        await sim.stop()


def test_serve_drill_headless(tmp_path: Path) -> None:
    url = _url()
    proc = subprocess.Popen(
        [sys.executable, "-m", "factory_twin", "serve", str(DEMO), "--drill", "oht_jam",
         "--speed", "150", "--endpoint", url, "--no-companion-specs", "--duration", "60",
         "--record", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("trainees:"):
                break
        assert any("DRILL mode" in ln for ln in lines), lines

        async def take_part() -> None:
            c = DrillClient(url, "cli-trainee")
            await c.connect()
            # answer the jam (drill time 120 s) inside its 600 s limit: 4 s of wall time at 150x
            seen: list[str] = []

            def jammed() -> bool:
                seen.extend(n.kind + " " + n.equipment for n in c.drain())
                return "injection OHT" in seen

            await _until(jammed)
            await c.call_maintenance("OHT", "rail blocked")
            await c.disconnect()

        asyncio.run(take_part())
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "(finished)" in out
    # the jam answered in time (20); the hot lot never prioritised (0 of 20)
    assert "cli-trainee: 20 / 40 points" in out, out
    assert list(tmp_path.glob("oht_jam-*.parquet")) and list(tmp_path.glob("oht_jam-*.drill.json"))
