"""Install the rail congestion heat map switch into the main window's View menu.

*View → Rail congestion heat map* (Ctrl+Shift+H) colours the OHT rails of a plant with an
amhs section by congestion, with a legend: the seconds per hour vehicles stood blocked on each
rail link over the last plant hour, as the plant simulator measures and publishes it; from a
server that does not publish it, the occupancy seen instead (the share of the time a vehicle
stood or moved on each link since the plant was opened, from the vehicles served), and the
legend says so (:mod:`factory_twin.ui.amhs_scene`).
The choice is saved in the window's QSettings (``view/rail_heat_map``: ``on`` or ``off``)
and kept when another plant is opened. On a plant without rails the action does nothing
visible and says so in its tool tip.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QKeySequence

from factory_twin.ui.qt_render_quality_install import _view_menu

SETTINGS_KEY = "view/rail_heat_map"


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
    _view_menu(window).addAction(action)
    window.addAction(action)
    window.heat_map_action = action
    return action
