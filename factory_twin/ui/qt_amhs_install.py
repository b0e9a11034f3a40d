"""Install the rail congestion heat map switch into the main window's View menu.

*View → Rail congestion heat map* (Ctrl+Shift+H) colours the OHT rails of a plant with an
amhs section by congestion, with a legend: the seconds per hour vehicles stood blocked on each
rail link over the last plant hour, as the plant simulator measures and publishes it; from a
server that does not publish it, the occupancy seen instead (the share of the time a vehicle
stood or moved on each link since the plant was opened, from the vehicles served), and the
legend says so (:mod:`factory_twin.ui.amhs_scene`).
*View → Rail heat map shows* picks which of the simulator's per-link figures colours the
rails: *Blocked time (s/h)* (the default) or *Traffic (vehicles in per hour)*, the vehicles
entering each link's section over the same window (where the fleet runs, not where it waits).
Both choices are saved in the window's QSettings (``view/rail_heat_map``: ``on`` or ``off``;
``view/rail_heat_measure``: ``blocked`` or ``traffic``) and kept when another plant is opened.
On a plant without rails the actions do nothing visible and say so in their tool tips.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from factory_twin.ui.qt_render_quality_install import _view_menu

SETTINGS_KEY = "view/rail_heat_map"
MEASURE_KEY = "view/rail_heat_measure"
#: the measures offered, in menu order: (measure, menu text, tool tip)
MEASURES = (
    ("blocked", "&Blocked time (s/h)",
     "Seconds per hour vehicles with a move stood blocked on each link's section"),
    ("traffic", "&Traffic (vehicles in per hour)",
     "Vehicles entering each link's section per hour: where the fleet runs"),
)  # fmt: skip


def install_rail_heat_map(window: Any) -> QAction:
    """Add the checkable *Rail congestion heat map* action to the window's View menu."""
    settings = getattr(window, "settings", None)
    settings = settings if isinstance(settings, QSettings) else None
    view = window.view
    on = settings is not None and settings.value(SETTINGS_KEY) == "on"
    action = QAction("Rail congestion &heat map", window, checkable=True)
    action.setShortcut(QKeySequence("Ctrl+Shift+H"))
    action.setToolTip(
        "Colour the OHT rails by congestion: blocked seconds per hour on each link, as the "
        "plant simulator measures it (else the share of the time a vehicle is seen on each "
        "link); plants with an amhs section only"
    )
    action.setChecked(on)
    view.set_heat_map(on)

    def toggled(checked: bool) -> None:
        view.set_heat_map(checked)
        if settings is not None:
            settings.setValue(SETTINGS_KEY, "on" if checked else "off")

    action.toggled.connect(toggled)
    menu = _view_menu(window)
    menu.addAction(action)
    window.addAction(action)
    window.heat_map_action = action
    _install_measure(window, menu, settings)
    return action


def _install_measure(window: Any, menu: Any, settings: QSettings | None) -> None:
    """The *Rail heat map shows* submenu: one checked measure of :data:`MEASURES`."""
    saved = settings.value(MEASURE_KEY) if settings is not None else None
    chosen = saved if saved in {m for m, _, _ in MEASURES} else MEASURES[0][0]
    sub = menu.addMenu("Rail heat map &shows")
    group = QActionGroup(window)
    group.setExclusive(True)
    window.heat_measure_actions = {}
    for measure, text, tip in MEASURES:
        a = QAction(text, window, checkable=True)
        a.setToolTip(f"{tip} (from the plant simulator; plants with an amhs section only)")
        a.setChecked(measure == chosen)
        group.addAction(a)
        sub.addAction(a)
        window.heat_measure_actions[measure] = a

        def picked(checked: bool, measure: str = measure) -> None:
            if not checked:
                return
            window.view.set_heat_measure(measure)
            if settings is not None:
                settings.setValue(MEASURE_KEY, measure)

        a.toggled.connect(picked)
    window.view.set_heat_measure(chosen)
