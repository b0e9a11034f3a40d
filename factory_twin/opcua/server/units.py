"""Engineering units for OPC UA ``EUInformation`` (UNECE Recommendation 20 common codes).

OPC UA Part 8 identifies a unit by its UNECE common code packed into an Int32
(``UnitId``: each ASCII character shifted in, 8 bits apiece) in the namespace
``http://www.opcfoundation.org/UA/units/un/cefact``. Plant files write units the way
engineers do (``Pa``, ``degC``, ``sccm``); :func:`eu_information` maps them. A unit with no
UNECE code gets ``UnitId = -1`` and keeps its text as the display name.
"""

from __future__ import annotations

from asyncua import ua

UNECE_NAMESPACE = "http://www.opcfoundation.org/UA/units/un/cefact"

# plant-file unit -> (UNECE common code, display name, description)
UNITS: dict[str, tuple[str, str, str]] = {
    "Pa": ("PAL", "Pa", "pascal"),
    "kPa": ("KPA", "kPa", "kilopascal"),
    "MPa": ("MPA", "MPa", "megapascal"),
    "hPa": ("A97", "hPa", "hectopascal"),
    "mbar": ("MBR", "mbar", "millibar"),
    "bar": ("BAR", "bar", "bar"),
    "Torr": ("UA", "Torr", "torr"),
    "mTorr": ("UA", "mTorr", "millitorr (reported with the torr code)"),
    "psi": ("PS", "psi", "pound-force per square inch"),
    "W": ("WTT", "W", "watt"),
    "kW": ("KWT", "kW", "kilowatt"),
    "mW": ("C31", "mW", "milliwatt"),
    "degC": ("CEL", "°C", "degree Celsius"),
    "°C": ("CEL", "°C", "degree Celsius"),
    "C": ("CEL", "°C", "degree Celsius"),
    "K": ("KEL", "K", "kelvin"),
    "sccm": ("G47", "sccm", "standard cubic centimetre per minute"),
    "slm": ("L2", "slm", "standard litre per minute"),
    "L/min": ("L2", "L/min", "litre per minute"),
    "l/min": ("L2", "L/min", "litre per minute"),
    "mL/min": ("41", "mL/min", "millilitre per minute"),
    "m3/h": ("MQH", "m³/h", "cubic metre per hour"),
    "V": ("VLT", "V", "volt"),
    "kV": ("KVT", "kV", "kilovolt"),
    "mV": ("2Z", "mV", "millivolt"),
    "A": ("AMP", "A", "ampere"),
    "mA": ("4K", "mA", "milliampere"),
    "uA": ("B84", "µA", "microampere"),
    "µA": ("B84", "µA", "microampere"),
    "Hz": ("HTZ", "Hz", "hertz"),
    "kHz": ("KHZ", "kHz", "kilohertz"),
    "MHz": ("MHZ", "MHz", "megahertz"),
    "rpm": ("RPM", "rpm", "revolutions per minute"),
    "%": ("P1", "%", "percent"),
    "pct": ("P1", "%", "percent"),
    "ppm": ("59", "ppm", "part per million"),
    "ppb": ("61", "ppb", "part per billion"),
    "s": ("SEC", "s", "second"),
    "ms": ("C26", "ms", "millisecond"),
    "min": ("MIN", "min", "minute"),
    "h": ("HUR", "h", "hour"),
    "m": ("MTR", "m", "metre"),
    "mm": ("MMT", "mm", "millimetre"),
    "um": ("4H", "µm", "micrometre"),
    "µm": ("4H", "µm", "micrometre"),
    "nm": ("C45", "nm", "nanometre"),
    "nm/min": ("C45", "nm/min", "nanometre per minute (reported with the nanometre code)"),
    "m/s": ("MTS", "m/s", "metre per second"),
    "mm/s": ("C16", "mm/s", "millimetre per second"),
    "N": ("NEW", "N", "newton"),
    "kg": ("KGM", "kg", "kilogram"),
    "g": ("GRM", "g", "gram"),
    "J": ("JOU", "J", "joule"),
    "mJ": ("C15", "mJ", "millijoule"),
    "mJ/cm2": ("C15", "mJ/cm²", "millijoule per square centimetre"),
    "eV": ("A53", "eV", "electronvolt"),
    "keV": ("B29", "keV", "kiloelectronvolt"),
    "ohm": ("OHM", "Ω", "ohm"),
    "Ohm": ("OHM", "Ω", "ohm"),
    "MOhm.cm": ("C60", "MΩ·cm", "megaohm centimetre (reported with the ohm centimetre code)"),
    "uS/cm": ("G42", "µS/cm", "microsiemens per centimetre"),
    "L": ("LTR", "L", "litre"),
    "mL": ("MLT", "mL", "millilitre"),
    "pH": ("Q30", "pH", "pH"),
    "count": ("C62", "1", "one (a count)"),
    "wafers": ("C62", "wafers", "one (a count of wafers)"),
    "1": ("C62", "1", "one"),
}


def unit_id(code: str) -> int:
    """Return the OPC UA ``UnitId`` of a UNECE common code (ASCII bytes packed big-endian)."""
    out = 0
    for ch in code:
        out = (out << 8) | ord(ch)
    return out


def eu_information(unit: str) -> ua.EUInformation:
    """Return the ``EUInformation`` of a plant-file unit (``UnitId -1`` when unknown)."""
    hit = UNITS.get(unit.strip())
    if hit is None:
        return ua.EUInformation(
            NamespaceUri=UNECE_NAMESPACE,
            UnitId=-1,
            DisplayName=ua.LocalizedText(unit),
            Description=ua.LocalizedText(unit),
        )
    code, display, description = hit
    return ua.EUInformation(
        NamespaceUri=UNECE_NAMESPACE,
        UnitId=unit_id(code),
        DisplayName=ua.LocalizedText(display),
        Description=ua.LocalizedText(description),
    )
