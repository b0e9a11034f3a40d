"""The Train workspace's *Inject a fault now* box (under its Run box): an ad-hoc fault.

:class:`QtInjectBar` (the workspace's ``inject_bar``) offers every fault kind; the tool is
the one picked in the 3-D view (:meth:`QtInjectBar.set_tool`), the target its tags, its
type's procedures (an interlock) or the plant's products (a hot lot), with a value and a
duration. :meth:`QtInjectBar.inject` sends the injection to the drill followed through the
workspace's :class:`~factory_twin.app.drill_trainer.TrainerDesk`.
"""

from __future__ import annotations

import contextlib
import html
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QWidget,
)

from factory_twin.ui.qt_train_author import FAULTS


class QtInjectBar(QGroupBox):
    """*Inject a fault now* (see the module doc).

    Parameters
    ----------
    ws
        The Train workspace (its ``spec``, ``desk``, ``picked_tool``, ``_say``, ``_after``).
    """

    def __init__(self, ws: Any, parent: QWidget | None = None) -> None:
        super().__init__("Inject a fault now", parent)
        self.ws = ws
        f = QFormLayout(self)
        self.fault_box = QComboBox()
        self.fault_box.addItems(FAULTS)
        self.tool_label = QLabel("click a tool in the 3-D view")
        self.tool_label.setWordWrap(True)
        self.tag_box = QComboBox()
        self.tag_box.setEditable(True)
        self.tag_box.setToolTip(
            "the tag of a drift, stuck tag or alarm; procedure[:step] of an interlock; "
            "product[:step] of a hot lot (empty: the tool's first procedure, a product "
            "visiting the tool)"
        )
        self.value_spin = QDoubleSpinBox()
        self.value_spin.setRange(-1e9, 1e9)
        self.value_spin.setDecimals(3)
        self.value_spin.setToolTip("value (drift target, stuck or alarm value)")
        self.duration_spin = QDoubleSpinBox()
        self.duration_spin.setRange(0, 86400 * 7)
        self.duration_spin.setSuffix(" s")
        self.duration_spin.setSpecialValueText("default")
        self.inject_button = QPushButton("Inject now")
        self.inject_button.setObjectName("inject_button")
        self.inject_button.clicked.connect(lambda: self.inject())
        f.addRow("Fault:", self.fault_box)
        f.addRow("Tool:", self.tool_label)
        self.tag_label = QLabel("Tag:")
        f.addRow(self.tag_label, self.tag_box)
        self.fault_box.currentTextChanged.connect(lambda _f: self.fill_targets())
        f.addRow("Value:", self.value_spin)
        f.addRow("Duration:", self.duration_spin)
        f.addRow(self.inject_button)

    def set_tool(self, tool: str) -> None:
        """The tool picked in the 3-D view ('' none): name it and offer its targets."""
        self.tool_label.setText(
            f"<b>{html.escape(tool)}</b>" if tool else "click a tool in the 3-D view"
        )
        self.fill_targets()

    def fill_targets(self) -> None:
        """Offer the tool's tags, its type's procedures (interlock) or products (hot lot)."""
        self.tag_box.clear()
        spec, tool, fault = self.ws.spec, self.ws.picked_tool, self.fault_box.currentText()
        if spec is None:
            return
        words = {"interlock": "Procedure:", "hot_lot": "Product:"}
        self.tag_label.setText(words.get(fault, "Tag:"))
        if fault == "hot_lot":
            self.tag_box.addItems(["", *(p.id for p in spec.products)])
            return
        if not tool:
            return
        with contextlib.suppress(KeyError):
            t = spec.tool(tool).type
            if fault == "interlock":
                self.tag_box.addItems([p.id for p in spec.procedures_for(t)])
            else:
                self.tag_box.addItems([tag.name for tag in spec.equipment_type(t).tags])

    def inject(
        self,
        fault: str | None = None,
        equipment: str | None = None,
        tag: str | None = None,
        value: float | None = None,
        duration_s: float | None = None,
    ) -> bool:
        """Inject an ad-hoc fault now (default: the bar's choices on the picked tool)."""
        ws, desk = self.ws, self.ws.desk
        if desk is not None and desk.following and not desk.running:
            ws._say(f"cannot inject: the connection to {desk.url} is lost", True)
            return False
        if desk is None or not desk.running:
            ws._say("start a drill (or connect to one) before injecting", True)
            return False
        f = fault or self.fault_box.currentText()
        eq = equipment if equipment is not None else ws.picked_tool
        if not eq and f not in ("transport_jam", "hot_lot"):
            ws._say("pick the tool in the 3-D view first", True)
            return False
        tg = tag if tag is not None else self.tag_box.currentText()
        v = value if value is not None else self.value_spin.value()
        dur = duration_s if duration_s is not None else self.duration_spin.value()
        with_tag = ("tag_drift", "tag_stuck", "alarm", "interlock", "hot_lot")
        fut = desk.inject(f, eq, tg if f in with_tag else "", v, dur)
        ws._after(fut, lambda _r: ws._say(f"injected {f} on {eq or 'the OHT'}"), f"inject {f}")
        return True
