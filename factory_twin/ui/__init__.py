"""ui layer of factory_twin."""

from __future__ import annotations
