"""Start the desktop app: QApplication, theme, main window, controller, live connection."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from factory_twin.app.controller import ConnectionSettings, Controller, find_demo_plant

logger = logging.getLogger(__name__)


def software_gl() -> bool:
    """Return True when OpenGL is Mesa's software rasteriser (or no GPU is known)."""
    return os.environ.get("LIBGL_ALWAYS_SOFTWARE") == "1" or not Path("/dev/dri").exists()


def run(
    plant: str | None,
    *,
    endpoint: str | None = None,
    simulator: bool | None = None,
    replay: str | None = None,
    speed: float | None = None,
) -> int:
    """Open the window on ``plant`` (default: the demo fab) and run the event loop.

    Parameters
    ----------
    plant
        Plant file, or None for the demo fab with its embedded simulator.
    endpoint
        URL for the plant's (first) endpoint instead of the file's.
    simulator
        Start the embedded plant simulator (default: only for the demo fab).
    replay
        A historian Parquet file to replay instead of connecting.
    speed
        Simulator speed (plant seconds per wall second; None: 60), or with ``replay`` the
        replay's (None: the replay bar's, the speed chosen last).
    """
    from factory_twin.errors import FactoryTwinError
    from factory_twin.model.config import load_plant

    path = Path(plant) if plant else find_demo_plant()
    doc = load_plant(path)  # ConfigError -> the CLI prints every problem, exit 2
    if (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
        and os.environ.get("QT_QPA_PLATFORM", "") in ("", "xcb", "wayland")
    ):
        msg = (
            "no display to open the window on (DISPLAY is not set): run it in a desktop "
            "session, or headless under Xvfb: xvfb-run -a factory-twin ..."
        )
        raise FactoryTwinError(msg)

    import pyvista as pv
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    if software_gl():
        pv.global_theme.multi_samples = 1
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("factory_twin")
    app.setOrganizationName("factory_twin")
    from factory_twin.ui.qt_gc import collect_on_gui_thread

    collect_on_gui_thread()  # never in a worker thread: see ui/qt_gc.py

    from factory_twin.ui.qt_main_window import MainWindow

    if simulator is None:
        simulator = plant is None
    overrides: dict[str, str] = {}
    if endpoint:
        if not doc.spec.endpoints:
            msg = f"{path}: the plant lists no endpoints, so --endpoint has nothing to replace"
            raise FactoryTwinError(msg)
        overrides = {doc.spec.endpoints[0].id: endpoint}
    controller = Controller()
    win = MainWindow(controller)
    from factory_twin.ui.qt_maintain_workspace import install_maintain

    install_maintain(win)
    from factory_twin.ui.qt_plan_install import install_plan

    install_plan(win)  # before the Compare dock, which puts its entries in the Plan menu
    from factory_twin.ui.qt_plan_compare_install import install_compare

    install_compare(win)
    from factory_twin.ui.qt_plan_optimise_install import install_optimise

    install_optimise(win)  # after the Compare dock: its entry follows in the Plan menu
    from factory_twin.ui.qt_train_install import install_train

    install_train(win)
    from factory_twin.ui.qt_render_quality_install import install_quality

    install_quality(win)
    from factory_twin.ui.qt_amhs_install import install_rail_heat_map

    install_rail_heat_map(win)
    controller.settings = ConnectionSettings(
        endpoint_overrides=overrides,
        use_simulator=bool(simulator) and not replay,
        simulator_speed=60.0 if speed is None else speed,
    )
    controller.set_plant(doc)
    local = controller.loopback_endpoints()
    if local and not simulator and not replay:
        print(
            f"factory-twin: connecting to {', '.join(sorted(set(local.values())))} on this "
            f"computer; if no plant server runs there, `factory-twin {path} --simulator` runs "
            "the embedded plant simulator for it (the window offers it too)",
            file=sys.stderr,
            flush=True,
        )
    win.remember_plant(path)
    win.show()
    if replay:
        win.start_replay(replay, speed=speed)
    else:
        win.connect_live()
    return int(app.exec())
