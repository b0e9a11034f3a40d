"""What a drill run leaves behind: injections, trainee actions and alarms, as plain records.

:class:`DrillLog` is written beside the drill's historian recording (``<name>.drill.json``
next to ``<name>.parquet``) and is what the debrief (:mod:`factory_twin.app.drill_debrief`)
and the trainee history read. Times are drill seconds (plant seconds since the drill start;
plant time = ``start_plant_s`` + drill time).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from factory_twin.errors import FactoryTwinError
from factory_twin.model.config import atomic_write_text, decode_utf8
from factory_twin.model.drill_scoring import ActionRecord, InjectionRecord

FORMAT = 1


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    """An alarm transition seen during the drill (drill seconds)."""

    time_s: float
    alarm_id: str
    equipment: str
    code: str
    message: str
    active: bool
    acked: bool
    user: str = ""
    comment: str = ""


@dataclass(frozen=True, slots=True)
class NameRelease:
    """The trainer released a trainee's name (drill seconds): its token was forgotten, the
    next Join under it starts afresh (the score stays under the name)."""

    time_s: float
    trainee: str
    by: str = ""


@dataclass
class DrillLog:
    """Everything needed to score and debrief a drill run again."""

    plant: str
    drill_id: str
    start_plant_s: float
    started_at: float  # Unix time the drill started
    injections: list[InjectionRecord] = field(default_factory=list)
    actions: list[ActionRecord] = field(default_factory=list)
    alarms: list[AlarmRecord] = field(default_factory=list)
    trainees: list[str] = field(default_factory=list)
    end_s: float = 0.0
    history: str = ""  # the Parquet recording (file name, beside this log), '' if none
    releases: list[NameRelease] = field(default_factory=list)  # names the trainer released

    def to_json(self) -> str:
        """Return the log as JSON text."""
        data = asdict(self)
        data["format"] = FORMAT
        return json.dumps(data, indent=1)

    def save(self, path: str | Path) -> Path:
        """Write the log (atomically); return the path."""
        p = Path(path)
        atomic_write_text(p, self.to_json())
        return p

    @classmethod
    def from_json(cls, text: str, source: str = "<drill log>") -> DrillLog:
        """Read a log written by :meth:`to_json` (FactoryTwinError naming what is wrong)."""
        try:
            data: dict[str, Any] = json.loads(text)
            if data.pop("format", None) != FORMAT:
                msg = f"{source}: not a drill log of format {FORMAT}"
                raise FactoryTwinError(msg)
            data["injections"] = [InjectionRecord(**x) for x in data.get("injections", [])]
            data["actions"] = [ActionRecord(**x) for x in data.get("actions", [])]
            data["alarms"] = [AlarmRecord(**x) for x in data.get("alarms", [])]
            data["releases"] = [NameRelease(**x) for x in data.get("releases", [])]
            return cls(**data)
        except (ValueError, TypeError, AttributeError, RecursionError) as exc:
            msg = f"{source}: not a valid drill log: {exc}"
            raise FactoryTwinError(msg) from None

    @classmethod
    def load(cls, path: str | Path) -> DrillLog:
        """Read a log file."""
        p = Path(path)
        try:
            text = decode_utf8(p.read_bytes(), p)  # ConfigError naming the line of a bad byte
        except OSError as exc:
            msg = f"{p}: cannot read: {exc.strerror or exc}"
            raise FactoryTwinError(msg) from None
        return cls.from_json(text, str(p))
