"""UNECE engineering units for EUInformation."""

from __future__ import annotations

from factory_twin.opcua.server.units import eu_information, unit_id


def test_eu_information_uses_unece_codes() -> None:
    pa = eu_information("Pa")
    assert pa.UnitId == (ord("P") << 16) | (ord("A") << 8) | ord("L")
    assert pa.NamespaceUri == "http://www.opcfoundation.org/UA/units/un/cefact"
    assert eu_information("degC").DisplayName.Text == "°C"
    assert eu_information("sccm").UnitId > 0
    odd = eu_information("furlongs/fortnight")
    assert odd.UnitId == -1 and odd.DisplayName.Text == "furlongs/fortnight"
    assert unit_id("CEL") == eu_information("degC").UnitId
