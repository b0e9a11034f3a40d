"""Trainee names over drill server restarts, and names nobody has joined under.

Real DrillSimulators on free loopback ports, stopped and started again as new objects on the
same record directory (what a new ``factory-twin serve --drill --record DIR`` process does):
a trainee's saved token still joins under their name, no token or a wrong one is refused, the
token file holds only salted hashes, a ReleaseName holds over the restart, and a damaged file
stops the start with a message naming file and line (kept as .bak) unless tokens are
forgotten. A session may act as a trainee only after joining under the name.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from asyncua import Client, ua
from test_drill_server import _until, _url

from factory_twin.app.drill_debrief import own_debrief
from factory_twin.app.drill_server import DrillSimulator
from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.model.drills import find_drill
from factory_twin.opcua.drill_client import DrillClient, DrillNameTaken, DrillRefused
from factory_twin.opcua.server.drill_tokens import TokenFileError, TokenStore, hash_token

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "plant_configs" / "demo_fab.yaml"


@pytest.fixture(scope="module")
def demo() -> s.PlantSpec:
    return load_plant(DEMO).spec


def _drill_server(
    demo: s.PlantSpec, record: Path, *, forget_tokens: bool = False
) -> DrillSimulator:
    drill = find_drill(demo, "oht_jam")
    return DrillSimulator(
        demo,
        drill,
        endpoint=_url(),
        speed=30,
        load_companion_specs=False,
        record_dir=record,
        trainers={"trainer"},
        forget_tokens=forget_tokens,
    )


async def test_names_and_tokens_survive_a_restart_of_the_drill_server(
    demo: s.PlantSpec, tmp_path: Path
) -> None:
    token_file = tmp_path / "oht_jam.tokens"
    sim = _drill_server(demo, tmp_path)
    assert sim.token_path == token_file
    await sim.start()
    ann, bob = DrillClient(sim.endpoint_url, "ann"), DrillClient(sim.endpoint_url, "bob")
    trainer = DrillClient(sim.endpoint_url, "trainer", trainer=True)
    try:
        assert await ann.connect() == "ann" and await bob.connect() == "bob"
        await trainer.connect()
        await trainer.release_name("bob")  # bob's name is free again ...
    finally:
        for c in (ann, bob, trainer):
            await c.disconnect()
        await sim.stop()
    # (c) the file names ann with a salted scrypt hash, never her token; bob is gone
    text = token_file.read_text(encoding="utf-8")
    assert ann.token not in text and bob.token not in text
    entries = [json.loads(ln) for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert [e["trainee"] for e in entries] == ["ann"]
    assert entries[0]["hash"].startswith("scrypt$16384$8$1$")
    assert entries[0]["hash"] != hash_token(ann.token)  # salted: the same token, a new hash

    # the drill server again, a new object on the same directory (a restarted process)
    sim = _drill_server(demo, tmp_path)
    assert sim.taken_names == ["ann"]
    await sim.start()
    clients: list[DrillClient] = []
    try:
        # (b) no token, a wrong token, bob's old token: refused under ann's name
        for token in ("", "not-the-token", bob.token):
            thief = DrillClient(sim.endpoint_url, "ann", token=token)
            with pytest.raises(DrillNameTaken):
                await thief.connect()
        # (a) ann's saved token joins under her name, same token, and she acts and reads
        again = DrillClient(sim.endpoint_url, "ann", token=ann.token)
        clients.append(again)
        assert await again.connect() == "ann" and again.token == ann.token
        with pytest.raises(DrillRefused, match="BadUserAccessDenied"):
            await again.debrief("ann", "not-the-token")
        await again.call_maintenance("OHT", "after the restart")
        assert sim.actions[-1].trainee == "ann"
        await _until(lambda: bool(again.debrief_text))
        assert own_debrief(await again.debrief()).score.trainee == "ann"
        # (d) bob's release held over the restart: a newcomer takes 'bob' with a new token
        newbob = DrillClient(sim.endpoint_url, "bob")
        clients.append(newbob)
        assert await newbob.connect() == "bob" and newbob.token not in ("", bob.token)
        trainer = DrillClient(sim.endpoint_url, "trainer", trainer=True)
        clients.append(trainer)
        await trainer.connect()
        await trainer.release_name("ann")  # and a release now holds over the next restart
    finally:
        for c in clients:
            await c.disconnect()
        await sim.stop()
    assert newbob.token not in token_file.read_text(encoding="utf-8")

    sim = _drill_server(demo, tmp_path)
    assert sim.taken_names == ["bob"]
    await sim.start()
    try:
        fresh = DrillClient(sim.endpoint_url, "ann")  # no token: ann's name is free
        clients = [fresh]
        assert await fresh.connect() == "ann" and fresh.token not in ("", ann.token)
        late = DrillClient(sim.endpoint_url, "bob", token=newbob.token)
        clients.append(late)
        assert await late.connect() == "bob" and late.token == newbob.token
    finally:
        for c in clients:
            await c.disconnect()
        await sim.stop()


def _damaged_file(path: Path, ann_token: str) -> bytes:
    data = (
        "# factory-twin drill trainee names\n"
        + json.dumps({"trainee": "ann", "hash": hash_token(ann_token)})
        + '\n{"trainee": "bob", "hash": "scrypt$16384$8$1$zz"}\n'
    ).encode()
    path.write_bytes(data)
    return data


async def test_a_damaged_token_file_refuses_the_start_and_is_kept(
    demo: s.PlantSpec, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token_file = tmp_path / "oht_jam.tokens"
    data = _damaged_file(token_file, "ann-token")
    backup = tmp_path / "oht_jam.tokens.bak"
    # (e) the message names the file and line; the file is kept as .bak and left as it was
    with pytest.raises(TokenFileError) as err:
        _drill_server(demo, tmp_path)
    assert str(err.value).startswith(f"{token_file}:3: the drill's trainee token file is damaged")
    assert f"a copy is kept as {backup}" in str(err.value)
    assert err.value.line == 3 and err.value.path == token_file
    assert backup.read_bytes() == data and token_file.read_bytes() == data
    # other damage: bytes that are not UTF-8, a name twice, a file that cannot be read
    token_file.write_bytes(b"# names\n\n\xff\xfe\n")
    with pytest.raises(TokenFileError, match=r"oht_jam\.tokens:3: .*not UTF-8"):
        TokenStore.open(token_file)
    line = json.dumps({"trainee": "ann", "hash": hash_token("x")})
    token_file.write_text(f"{line}\n{line}\n", encoding="utf-8")
    with pytest.raises(TokenFileError, match=r"oht_jam\.tokens:2: .*'ann' is listed twice"):
        TokenStore.open(token_file)
    odd = tmp_path / "odd.tokens"
    odd.mkdir()
    with pytest.raises(TokenFileError, match=r"odd\.tokens: .*cannot read it"):
        TokenStore.open(odd)

    # forgetting the tokens: an error logged, every name free, the damaged file in .bak
    data = _damaged_file(token_file, "ann-token")
    with caplog.at_level(logging.ERROR):
        sim = _drill_server(demo, tmp_path, forget_tokens=True)
    assert sim.taken_names == []
    assert any(
        r.levelno == logging.ERROR and f"{token_file}:3" in r.getMessage() for r in caplog.records
    )
    assert backup.read_bytes() == data
    assert not [ln for ln in token_file.read_text().splitlines() if not ln.startswith("#")]
    await sim.start()
    try:
        ann = DrillClient(sim.endpoint_url, "ann", token="ann-token")
        assert await ann.connect() == "ann" and ann.token != "ann-token"  # a new token
        await ann.disconnect()
    finally:
        await sim.stop()
    assert "ann" in TokenStore.open(token_file)


def test_serve_refuses_a_damaged_token_file_with_a_message(tmp_path: Path) -> None:
    token_file = tmp_path / "oht_jam.tokens"
    _damaged_file(token_file, "ann-token")
    cmd = [sys.executable, "-m", "factory_twin", "serve", str(DEMO), "--drill", "oht_jam",
           "--endpoint", _url(), "--no-companion-specs", "--duration", "1",
           "--record", str(tmp_path)]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 1, run.stderr
    assert f"{token_file}:3: the drill's trainee token file is damaged" in run.stderr
    assert "--forget-tokens" in run.stderr and "Traceback" not in run.stderr
    assert (tmp_path / "oht_jam.tokens.bak").exists()
    run = subprocess.run([*cmd, "--forget-tokens"], capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert f"trainee names: 0 taken, kept in {token_file}" in run.stdout
    assert f"{token_file}:3" in run.stderr  # logged loudly


async def test_nobody_acts_as_a_name_before_joining_under_it(demo: s.PlantSpec) -> None:
    """A session named carol that never joined: her Drill methods, Hold and Acknowledge are
    refused with BadUserAccessDenied (nothing recorded, carol no trainee); once she joined
    under the name, the same calls count."""
    drill = find_drill(demo, "etch_helium_leak")
    sim = DrillSimulator(demo, drill, endpoint=_url(), speed=30, load_companion_specs=False)
    await sim.start()
    ann = DrillClient(sim.endpoint_url, "ann")  # joined: sees the alarm's event id
    raw = Client(sim.endpoint_url)
    raw.description = "carol"
    try:
        await ann.connect()
        await raw.connect()
        ns = (await raw.get_namespace_array()).index("urn:factory-twin:plant")
        drill_node = raw.get_node(ua.NodeId("Drill", ns))
        await _until(lambda: ("ETCH-02", "helium_leak.hi") in ann._event_ids)
        event_id = ann._event_ids[("ETCH-02", "helium_leak.hi")]
        cond = raw.get_node(ua.NodeId("ETCH-02.Alarms.helium_leak.hi", ns))

        async def acknowledge() -> None:
            await cond.call_method(
                ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge),
                ua.Variant(event_id, ua.VariantType.ByteString),
                ua.Variant(ua.LocalizedText("as carol"), ua.VariantType.LocalizedText),
            )

        n_actions = len(sim.actions)
        for method, args in [
            ("CallMaintenance", ("ETCH-02", "as carol")),
            ("OpenProcedure", ("ETCH-02", "etch-chamber-wet-clean")),
        ]:
            with pytest.raises(ua.UaStatusCodeError) as got:
                await drill_node.call_method(ua.NodeId(f"Drill.{method}", ns), *args)
            assert got.value.code == ua.StatusCodes.BadUserAccessDenied
        with pytest.raises(ua.UaStatusCodeError):
            await raw.get_node(ua.NodeId("ETCH-01", ns)).call_method(ua.NodeId("ETCH-01.Hold", ns))
        with pytest.raises(ua.UaStatusCodeError) as got:
            await acknowledge()
        assert got.value.code == ua.StatusCodes.BadUserAccessDenied
        assert len(sim.actions) == n_actions and "carol" not in sim.trainees
        assert sim.sim is not None and not sim.sim.model.tool("ETCH-01").held
        # carol joins under her name: now the same calls are hers
        name, token = await drill_node.call_method(ua.NodeId("Drill.Join", ns), "")
        assert name == "carol" and token
        await acknowledge()
        await drill_node.call_method(ua.NodeId("Drill.CallMaintenance", ns), "ETCH-02", "as carol")
        assert [(a.trainee, a.action) for a in sim.actions[n_actions:]] == [
            ("carol", "acknowledge_alarm"),
            ("carol", "dispatch_maintenance"),
        ]
    finally:
        await raw.disconnect()
        await ann.disconnect()
        await sim.stop()
