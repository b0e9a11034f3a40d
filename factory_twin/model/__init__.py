"""The plant model: plain Python, no Qt, no asyncio, no VTK."""

from __future__ import annotations
