"""Test helper: trainees who join a drill server once, so that it keeps their names."""

from __future__ import annotations

from factory_twin.app.drill_session import DrillSession


def join_once(url: str, names: tuple[str, ...]) -> dict[str, str]:
    """Join the drill server at ``url`` as each of ``names`` and leave again; return the
    token each was given (by name)."""
    tokens: dict[str, str] = {}
    for name in names:
        session = DrillSession(url, name)
        try:
            assert session.join().result(30) == name
            tokens[name] = session.client.token
        finally:
            session.leave()
    return tokens
