"""Closing the main window in two rounds (ui/qt_close.py): every question, then releases."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel, QMainWindow

from factory_twin.ui.qt_close import _CloseHooks, on_window_close

pytestmark = pytest.mark.gui


def test_a_cancel_anywhere_keeps_the_window_and_everything_in_it(qtbot):
    w = QMainWindow()
    qtbot.addWidget(w)
    w.setCentralWidget(QLabel("x"))
    calls: list[str] = []
    answers = {"maintain": True, "plan": False}

    def ask(name: str):
        def f() -> bool:
            calls.append(f"ask {name}")
            return answers[name]

        return f

    on_window_close(w, lambda: calls.append("release maintain"), ask=ask("maintain"))
    on_window_close(w, lambda: calls.append("release plan"), ask=ask("plan"))
    # registered later (its filter would have run first on its own): released only at the end
    on_window_close(w, lambda: calls.append("stop study"))
    w.show()
    qtbot.waitExposed(w)
    assert not w.close()  # Plan's Cancel
    assert w.isVisible()
    assert calls == ["ask maintain", "ask plan"]  # nothing released, the study runs on
    calls.clear()
    answers["plan"] = True
    assert w.close()
    assert calls == [
        "ask maintain",
        "ask plan",
        "release maintain",
        "release plan",
        "stop study",
    ]
    assert len(w.findChildren(_CloseHooks)) == 1  # one filter serves them all
