"""factory_twin: a digital twin of semiconductor and optoelectronics plants."""

from __future__ import annotations

__version__ = "0.1.0"
