"""The main window's status bar: what feeds the view, the connections, the clocks, the rate.

Five permanent labels, refreshed with the panels (about 6 Hz):

* the source: ``no plant``, ``offline``, ``live`` or ``replay``;
* one coloured dot per endpoint (connected or not, its message as the tool tip), a warning
  when the servers lack the OPC UA companion specifications, or the connection's phase;
* the plant clock (the simulator's, or the server's ``Fab.PlantClock``) and the time of the
  newest data, or the replay clock;
* the embedded simulator's speed, and while it falls behind (a large plant at a high speed
  on a loaded machine) the speed it achieves, in the warning colour:
  ``speed 60x (running at 23x: the machine cannot keep up)``;
* how many tools show a live state, and the view's frame time.

The colours are the theme's text colours (:func:`~factory_twin.ui.theme.text_colour`), read
at each refresh, so a theme switch takes effect with the next one (the window refreshes the
labels at once on a switch).
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import QLabel, QStatusBar

from factory_twin.app.controller import Controller
from factory_twin.model.events import ConnectionStatus
from factory_twin.ui.qt_detail_panel import format_plant_time, format_ts
from factory_twin.ui.theme import coloured, text_colour

WARNING = "warning"
"""The text colour role of the status bar's warnings (as for the missing companion specs)."""


class MainStatusLabels:
    """The five permanent labels of a window's status bar."""

    def __init__(self, bar: QStatusBar) -> None:
        self.source = QLabel("no plant")
        self.conn = QLabel("")
        self.clock = QLabel("")
        self.speed = QLabel("")
        self.rate = QLabel("")
        for w in (self.source, self.conn, self.rate, self.clock, self.speed):
            bar.addPermanentWidget(w)

    def refresh(self, c: Controller, source: str, frame_ms: float) -> None:
        """Show the controller's connections and clocks, and the view's frame time."""
        st = c.state
        self.source.setText(source)
        status: dict[str, ConnectionStatus] = c.status()
        if status:
            parts = []
            for ep, s in status.items():
                color = text_colour("ok" if s.connected else "error")
                word = "connected" if s.connected else "disconnected"
                parts.append(f"<span style='color:{color}'>●</span> {ep}: {word}")
            tips = [f"{ep}: {s.message}" for ep, s in status.items()]
            companion = c.companion_specs_problem()
            if companion is not None:  # say it where the connection is shown
                parts.append(coloured(WARNING, "⚠ no companion specs"))
                tips.append(companion[0].upper() + companion[1:])
            self.conn.setText("  ".join(parts))
            self.conn.setToolTip("\n".join(tips))
        elif c.phase:
            self.conn.setText(coloured(WARNING, "●") + f" {c.phase}")
        elif c.replay is None:
            self.conn.setText(coloured("muted", "●") + " not connected")
        else:
            self.conn.setText("")
        if st is not None:
            clock = st.clock_s
            text = f"data {format_ts(clock) if clock > 1e9 else format_plant_time(clock)}"
            pt = c.plant_time_s()
            if pt is None:
                pt = st.plant_clock_s  # the server's Fab.PlantClock, when it publishes one
            if pt is not None:
                text = f"plant clock {format_plant_time(pt)} · {text}"
            elif c.replay is not None:
                text = f"replay clock {format_ts(c.replay.clock_s)}"
            self.clock.setText(text)
            n_live = int(((st.codes >= 0) & ~st.stale).sum())
            self.rate.setText(f"{n_live}/{len(st.ids)} tools live · {frame_ms:.0f} ms/frame")
        self._show_pace(c)

    def _show_pace(self, c: Controller) -> None:
        pace = c.simulator_pace()
        if pace is None:
            self.speed.setText("")
            self.speed.setToolTip("")
            return
        text = html.escape(pace.text())
        if pace.lagging:
            text = coloured(WARNING, f"⚠ {text}")
            self.speed.setToolTip(
                "The embedded plant simulator cannot step as fast as its speed asks: plant "
                "time runs slower than the speed says (lower the speed, or free the machine)."
            )
        else:
            self.speed.setToolTip("Plant seconds per wall second of the embedded simulator")
        self.speed.setText(text)
