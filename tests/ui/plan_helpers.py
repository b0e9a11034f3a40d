"""Mouse, keyboard and drop helpers of the Plan workspace tests (real Qt events)."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_plan_panels import TYPE_MIME
from factory_twin.ui.qt_plan_workspace import QtPlanWorkspace


def render(ws: QtPlanWorkspace) -> None:
    ws.view.plotter.render()
    QApplication.processEvents()


def drag(ws: QtPlanWorkspace, tool: str, floor_delta: tuple[float, float], *, release=True):
    """Press on ``tool``, move the pointer by ``floor_delta`` metres on the floor, release."""
    render(ws)
    press = ws.view.widget_position_of(tool)
    assert ws.tool_at(press) == tool
    anchor = ws.floor_at(press)
    assert anchor is not None
    target = (anchor[0] + floor_delta[0], anchor[1] + floor_delta[1])
    end = ws.widget_position_of_floor(target)
    QTest.mousePress(
        ws.interactor, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, press
    )
    mid = QPoint((press.x() + end.x()) // 2, (press.y() + end.y()) // 2)
    QTest.mouseMove(ws.interactor, mid)
    QTest.mouseMove(ws.interactor, end)
    if release:
        QTest.mouseRelease(
            ws.interactor, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end
        )
    return end


def drop_type(ws: QtPlanWorkspace, type_id: str, floor: tuple[float, float]) -> None:
    md = QMimeData()
    md.setData(TYPE_MIME, type_id.encode("utf-8"))
    pos = QPointF(ws.widget_position_of_floor(floor))
    enter = QDragEnterEvent(
        pos.toPoint(), Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(ws.interactor, enter)  # Qt delivers a drop after an accepted enter
    assert enter.isAccepted()
    ev = QDropEvent(
        pos,
        Qt.DropAction.CopyAction,
        md,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(ws.interactor, ev)


def focus(qtbot, w: MainWindow, ws: QtPlanWorkspace) -> None:
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    ws.interactor.setFocus()
    qtbot.waitUntil(lambda: ws.isAncestorOf(QApplication.focusWidget()))


def colour(ws: QtPlanWorkspace, tool: str) -> tuple[int, int, int]:
    assert ws.view.scene is not None
    return ws.view.scene.tool_rgb_of(tool)
