"""The trainee's lost connection to the drill server: a bar that says so, with *Reconnect*.

:class:`QtDrillLinkBar` sits under the DRILL banner of a trainee's window
(:mod:`factory_twin.ui.qt_train_join`). It is hidden while the connection to the drill server
works. Once the connection is lost it shows, in the theme's error colour, the server's address,
why the connection was lost, since when and when the next reconnect is tried
(:func:`~factory_twin.app.drill_link.lost_text`, the words the trainer's Train workspace uses),
and the last attempt's error; *Reconnect* tries at once. The app reconnects by itself with
back-off (1 s doubling to 15 s, :class:`~factory_twin.app.drill_link.LinkKeeper`) and joins
again under the trainee's name with its saved token.

If the server answers that rejoin with "the name is taken" (the trainer released the name
while the connection was down and another trainee joined under it), no reconnect can succeed:
the app stops trying, and the bar says the name is now taken by someone else and offers
*Join under another name…* (:attr:`QtDrillLinkBar.rejoin_button`, in place of *Reconnect*),
which the trainee's window answers with its Join drill dialog, a new name suggested.

While the connection is lost the trainee's actions that go to the drill server (Acknowledge,
Shelve and Open procedure in the alarm panel, Hold and Resume in the tool details, opening a
procedure, its safety acknowledgements, Start step and a step's sign-off in the Maintain
workspace) are greyed out, their tooltip saying why (:data:`LOST_TIP`): each of those panels
has ``set_drill_link_lost(lost)``, which the trainee's window calls when the link is lost and
when it is back, and its own enable rules pass through :func:`enable_unless_lost`.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from factory_twin.app.drill_link import LinkStatus, lost_text
from factory_twin.ui.theme import show_message

LOST_TIP = "the connection to the drill server is lost: see the bar under the DRILL banner"


def enable_unless_lost(item: QWidget, on: bool, lost: bool) -> None:
    """Enable ``item`` when its own rules say ``on`` and the drill link is not ``lost``;
    while lost its tooltip says why (:data:`LOST_TIP`), else it has its own tooltip again."""
    own = item.property("own_tool_tip")
    if own is None:  # the first call: keep the item's own tooltip
        own = item.toolTip()
        item.setProperty("own_tool_tip", own)
    item.setEnabled(on and not lost)
    item.setToolTip(LOST_TIP if lost else str(own))


def lost_words(link: LinkStatus) -> str:
    """The bar's text for a lost connection: :func:`lost_text`, and why the last try
    failed (unless the name was taken: :func:`lost_text` says so, and what to do)."""
    text = lost_text(link)
    if link.last_error and not link.taken_name:
        text += f" Last try: {link.last_error}"
    return text


class QtDrillLinkBar(QFrame):
    """Says a lost connection to the drill server and offers *Reconnect*, or *Join under
    another name…* once the trainee's name was taken meanwhile (module doc)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("drill_link_bar")
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 3, 6, 3)
        self.label = QLabel()
        self.label.setObjectName("drill_link_label")
        self.label.setWordWrap(True)
        self.reconnect_button = QPushButton("Reconnect")
        self.reconnect_button.setObjectName("drill_reconnect_button")
        self.reconnect_button.setToolTip("the connection to the drill server is lost: try now")
        self.rejoin_button = QPushButton("Join under another name…")
        self.rejoin_button.setObjectName("drill_rejoin_button")
        self.rejoin_button.setToolTip(
            "your name is now another trainee's in this drill: join it again under another name"
        )
        self.rejoin_button.hide()
        row.addWidget(self.label, 1)
        row.addWidget(self.reconnect_button)
        row.addWidget(self.rejoin_button)
        self.hide()

    def show_link(self, link: LinkStatus | None) -> bool:
        """Show ``link`` (hidden while it is up, or None: no drill); return True if lost."""
        if link is None or link.up:
            self.hide()
            return False
        show_message(self.label, lost_words(link), error=True)
        taken = bool(link.taken_name)  # no reconnect can succeed: offer another name
        self.reconnect_button.setVisible(not taken)
        self.rejoin_button.setVisible(taken)
        self.show()
        return True
