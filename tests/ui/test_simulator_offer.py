"""Opening a plant whose loopback endpoint has no server: the window offers the simulator."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from _qt_wait import wait_until
from PySide6.QtCore import QSettings
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from factory_twin.app.controller import ConnectionSettings, Controller, is_loopback_url
from factory_twin.model.config import load_plant
from factory_twin.ui.qt_main_window import MainWindow

pytestmark = [pytest.mark.gui, pytest.mark.timeout(240)]

MINI = Path(__file__).resolve().parents[1] / "data" / "mini_plant.yaml"
DEMO = Path(__file__).resolve().parents[2] / "plant_configs" / "demo_fab.yaml"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "local"),
    [("opc.tcp://127.0.0.1:4840/", True), ("opc.tcp://localhost:1", True),
     ("opc.tcp://[::1]:4840", True), ("opc.tcp://127.9.9.9:1", True),
     ("opc.tcp://10.0.0.5:4840", False), ("opc.tcp://plc-7.fab.local:4840", False)],
)  # fmt: skip
def test_loopback_urls(url: str, local: bool) -> None:
    assert is_loopback_url(url) is local


def test_window_offers_the_simulator_and_starts_it(qapp, tmp_path) -> None:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    controller = Controller(journal_path=tmp_path / "journal.sqlite")
    win = MainWindow(controller, settings)
    try:
        win.resize(1100, 760)
        win.show()
        QTest.qWaitForWindowExposed(win)
        url = f"opc.tcp://127.0.0.1:{_closed_port()}/factory_twin/"
        controller.set_plant(load_plant(DEMO))  # every tool bound to the loopback endpoint
        win.connect_live(ConnectionSettings(endpoint_overrides={"simulator": url}))
        wait_until(lambda: win.offer_bar.isVisible(), 60, "the offer to start the simulator")
        assert url in win.offer_bar.label.text() and "simulator" in win.offer_bar.label.text()
        win.grab().save(str(tmp_path / "offer.png"))
        win.offer_bar.start_button.click()
        assert not win.offer_bar.isVisible()
        n = len(controller.doc.spec.equipment)
        wait_until(
            lambda: controller.settings.use_simulator and win.live_tool_count() == n,
            120,
            "every tool live from the embedded simulator",
        )
        QTest.qWait(1000)
        QApplication.processEvents()
        assert not win.offer_bar.isVisible()
    finally:
        win.close()
        QApplication.processEvents()


def test_keep_trying_hides_the_offer(qapp, tmp_path) -> None:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    controller = Controller(journal_path=tmp_path / "journal.sqlite")
    win = MainWindow(controller, settings)
    try:
        win.show()
        controller.set_plant(load_plant(MINI))
        url = f"opc.tcp://127.0.0.1:{_closed_port()}/"
        win.connect_live(ConnectionSettings(endpoint_overrides={"sim": url}))
        wait_until(lambda: win.offer_bar.isVisible(), 60, "the offer")
        win.offer_bar.keep_button.click()
        QTest.qWait(1500)
        assert not win.offer_bar.isVisible() and not controller.settings.use_simulator
    finally:
        win.close()
        QApplication.processEvents()
