"""The KPI strip in a narrow Monitor view (a laptop screen with the tool details beside it):
the figures go above the E10 bar instead of being cut off; in a wide view, one row."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from factory_twin.app.plant_state import Kpis
from factory_twin.ui.qt_kpi_strip import QtKpiStrip

pytestmark = pytest.mark.gui


def _shown(qtbot, strip: QtKpiStrip, width: int) -> None:
    strip.resize(width, strip.sizeHint().height())
    qtbot.waitUntil(lambda: strip.width() == width)
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(20)


def test_figures_wrap_above_the_bar_rather_than_being_cut_off(qtbot) -> None:
    strip = QtKpiStrip()
    qtbot.addWidget(strip)
    strip.show()
    qtbot.waitExposed(strip)
    big = Kpis(
        throughput_lots_h=12.3, wafers_h=456.0, wip_lots=1234, moves_h=5678.0, moves_total=98765
    )
    strip.show_kpis(big)
    _shown(qtbot, strip, 2400)  # wide whatever font earlier tests left the application
    assert strip.row.rows == 1
    labels = (strip.throughput, strip.wip, strip.moves)
    _shown(qtbot, strip, 620)  # the Monitor's view at 1280x800 beside the tool details
    assert strip.row.rows == 2
    for lab in labels:  # each figure whole, above the bar
        assert lab.width() >= lab.minimumSizeHint().width(), lab.text()
    g = [lab.mapTo(strip, lab.rect().topLeft()) for lab in labels]
    bar_top = strip.bar.mapTo(strip, strip.bar.rect().topLeft()).y()
    assert all(p.y() + lab.height() <= bar_top for p, lab in zip(g, labels, strict=True))
    assert strip.bar.width() >= 0.8 * strip.width()
