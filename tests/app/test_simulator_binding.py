"""A plant whose tools name no OPC UA server goes live with the embedded simulator.

The mini plant binds none of its tools; the embedded simulator still serves all of them, so
the client must bind them to it (app/simulator.py ``bind_to_simulator``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from factory_twin.app.controller import ConnectionSettings, Controller
from factory_twin.app.simulator import SIMULATOR_ENDPOINT, bind_to_simulator
from factory_twin.model.config import load_plant
from factory_twin.model.schema import OpcUaBinding, TagBinding

MINI = Path(__file__).resolve().parents[1] / "data" / "mini_plant.yaml"
URL = "opc.tcp://127.0.0.1:4999/factory_twin/"


def test_unbound_tools_are_bound_to_the_simulator_and_bound_ones_kept():
    spec = load_plant(MINI).spec
    own = OpcUaBinding(endpoint="sim", tags={"state": TagBinding(node_id="ns=2;s=X.state")})
    eq = [spec.equipment[0].model_copy(update={"opcua": own}), *spec.equipment[1:]]
    spec = spec.model_copy(update={"equipment": eq})
    bound, overrides = bind_to_simulator(spec, URL)
    assert overrides == {"sim": URL}
    assert bound.equipment[0].opcua is own  # its own binding is left alone
    for e in bound.equipment[1:]:
        assert e.opcua is not None and e.opcua.endpoint == "sim" and not e.opcua.tags
    assert all(e.opcua is None for e in spec.equipment[1:])  # the plant itself is unchanged


def test_a_plant_without_endpoints_gets_the_simulators():
    spec = load_plant(MINI).spec
    spec = spec.model_copy(update={"endpoints": []})
    bound, overrides = bind_to_simulator(spec, URL)
    assert [(ep.id, ep.url) for ep in bound.endpoints] == [(SIMULATOR_ENDPOINT, URL)]
    assert overrides == {SIMULATOR_ENDPOINT: URL}
    assert {e.opcua.endpoint for e in bound.equipment if e.opcua} == {SIMULATOR_ENDPOINT}
    assert sum(e.opcua is not None for e in bound.equipment) == len(spec.equipment)


@pytest.mark.timeout(120)
def test_mini_plant_goes_live_over_a_real_embedded_simulator(tmp_path):
    """States and a trend of the unbound mini plant get values from the simulator."""
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    try:
        c.open_plant(MINI)
        assert all(e.opcua is None for e in c.spec.equipment)
        c.connect(ConnectionSettings(use_simulator=True, simulator_speed=600.0)).result(60)
        assert c.simulator is not None
        assert c.simulator.endpoint_url.startswith("opc.tcp://127.0.0.1:")
        key = ("ETCH-01", "chamber_pressure")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            c.apply_pending()
            st = c.state
            hist = st.history.get(key)
            if (
                all(st.state_of(t) is not None for t in st.ids)
                and hist is not None
                and len(hist) >= 3
            ):
                break
            time.sleep(0.05)
        st = c.state
        states = {t: st.state_of(t) for t in st.ids}
        assert None not in states.values(), states
        assert not st.stale.any()
        hist = st.history.get(key)
        assert hist is not None and len(hist) >= 3, "no trend of ETCH-01 chamber_pressure"
        t, v = hist.arrays()
        assert (t[1:] >= t[:-1]).all() and len(set(v.tolist())) > 1  # a live, noisy trend
        bound = c.client.bound()
        assert ("LITHO-01", "state") in bound and key in bound
        assert len(bound) >= 3 * 4  # every tool's standard tags at least
        assert any("tags bound" in s.message for s in c.status().values())
        assert all(s.connected for s in c.status().values())
    finally:
        c.close()
