"""What the main window's workspaces and docks do when it closes, in two rounds.

Each workspace or dock registers with :func:`on_window_close`: an optional question (the
Maintain and Plan workspaces ask Save / Discard / Cancel about unsaved edits; False keeps
the window open) and what it releases once the window does close (its 3-D view, a
running experiment or study). Every question is asked before anything is released, so a
Cancel in one workspace leaves the others, their views and their running work untouched.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject


class _CloseHooks(QObject):
    """The window's event filter: the questions first, then the releases."""

    def __init__(self, window: QObject) -> None:
        super().__init__(window)
        self.questions: list[Callable[[], bool]] = []
        self.releases: list[Callable[[], None]] = []

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close and event.isAccepted():
            for ask in list(self.questions):
                if not ask():
                    event.ignore()  # Cancel (or a failed save): the window stays open
                    return True
            for release in list(self.releases):
                release()
        return False


def on_window_close(
    window: QObject, release: Callable[[], None], *, ask: Callable[[], bool] | None = None
) -> None:
    """When ``window`` closes, call ``release``; if ``ask`` is given, it is asked first
    (with every other registered question) and False keeps the window open.

    Registrations are served in their order.
    """
    hooks = window.findChild(_CloseHooks)
    if hooks is None:
        hooks = _CloseHooks(window)
        window.installEventFilter(hooks)
    if ask is not None:
        hooks.questions.append(ask)
    hooks.releases.append(release)
