"""Alarm journal rows for report tests, made from alarm events as the journal would keep them."""

from __future__ import annotations

from factory_twin.app.alarm_journal import JournalEntry, priority_of
from factory_twin.model.events import AlarmEvent


def journal_entries(events: list[AlarmEvent]) -> list[JournalEntry]:
    """One journal row per event, numbered from 1, with no operator, comment or shelving."""
    return [
        JournalEntry(
            i,
            0.0,
            e.time_s,
            e.alarm_id,
            e.equipment,
            e.code,
            e.severity,
            priority_of(e.severity),
            e.state.value,
            e.message,
            "",
            "",
            "",
        )
        for i, e in enumerate(events, 1)
    ]
