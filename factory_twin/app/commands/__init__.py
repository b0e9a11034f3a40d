"""Sub-commands of the ``factory-twin`` command line (one module each)."""

from __future__ import annotations
