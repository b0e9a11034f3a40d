"""Colour contrast by WCAG 2 (no Qt): the one formula the window's themes, the reports'
charts and their tests measure readability with."""

from __future__ import annotations

from collections.abc import Iterable


def _rgb(colour: str) -> list[int]:
    h = colour.lstrip("#")
    if len(h) == 3:
        h = "".join(ch * 2 for ch in h)
    return [int(h[i : i + 2], 16) for i in (0, 2, 4)]


def luminance(colour: str) -> float:
    """The WCAG 2 relative luminance of ``#rgb`` or ``#rrggbb``, 0 (black) to 1 (white)."""
    lin = [
        c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        for c in (v / 255 for v in _rgb(colour))
    ]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    """The WCAG 2 contrast ratio of two ``#rgb``/``#rrggbb`` colours, 1 to 21.

    Examples
    --------
    >>> round(contrast("#000000", "#ffffff"), 1)
    21.0
    """
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def edge_colour(fill: str, background: str = "#ffffff", min_ratio: float = 3.0) -> str:
    """A darker shade of ``fill`` (its hue kept) at least ``min_ratio`` against
    ``background``: the outline that sets a pale segment (E10 standby's yellow is 1.7:1 on
    white) apart from a light background; ``fill`` itself if it reaches that already.

    Examples
    --------
    >>> edge_colour("#f2c12e")
    '#b38f22'
    >>> contrast(edge_colour("#f2c12e"), "#ffffff") >= 3.0
    True
    """
    rgb = _rgb(fill)
    f = 1.0
    out = fill.lower()
    while contrast(out, background) < min_ratio and f > 0:
        f -= 0.01
        out = "#" + "".join(f"{round(c * f):02x}" for c in rgb)
    return out


def readable_shade(
    fill: str, backgrounds: Iterable[str], min_ratio: float = 3.0, *, lighter: bool
) -> str:
    """``fill`` if it is at least ``min_ratio`` against every one of ``backgrounds``, else
    the first of its shades, mixed toward white (``lighter``) or black in 1 % steps, that
    is (white or black when none is): a colour that reads on several backgrounds at once,
    all darker (``lighter``) or all lighter than it should be.

    Examples
    --------
    >>> readable_shade("#8a94a6", ["#30343b"], lighter=True)
    '#8a94a6'
    >>> readable_shade("#8a94a6", ["#30343b", "#787b80"], lighter=True)
    '#d6dae0'
    """
    rgb = _rgb(fill)
    end = 255 if lighter else 0
    grounds = list(backgrounds)
    out = fill.lower()
    for k in range(101):
        t = k / 100
        out = "#" + "".join(f"{round(c + t * (end - c)):02x}" for c in rgb)
        if all(contrast(out, g) >= min_ratio for g in grounds):
            break
    return out
