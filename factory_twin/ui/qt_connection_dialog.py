"""The endpoints dialog: edit each OPC UA endpoint, test it, then save."""

from __future__ import annotations

import concurrent.futures
import logging

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.controller import ConnectionSettings, Controller
from factory_twin.model.schema import SecurityMode
from factory_twin.ui.theme import coloured

logger = logging.getLogger(__name__)


class _EndpointEditor(QGroupBox):
    def __init__(self, ep_id: str, url: str, security: str, user: str, parent: QWidget) -> None:
        super().__init__(f"Endpoint '{ep_id}'", parent)
        self.ep_id = ep_id
        self.original_url = url
        form = QFormLayout(self)
        self.url = QLineEdit(url)
        # the whole address readable (it filled the field edge to edge)
        fm = self.url.fontMetrics()
        self.url.setMinimumWidth(
            fm.horizontalAdvance(max(url, "opc.tcp://" + "x" * 34, key=len)) + 24
        )
        self.security = QComboBox()
        self.security.addItems([m.value for m in SecurityMode])
        self.security.setCurrentText(security)
        self.user = QLineEdit(user)
        self.user.setPlaceholderText("anonymous")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.test_button = QPushButton("Test connection")
        self.result = QLabel("not tested")
        self.result.setWordWrap(True)
        form.addRow("URL", self.url)
        form.addRow("Security", self.security)
        form.addRow("User", self.user)
        form.addRow("Password", self.password)
        form.addRow(self.test_button, self.result)


class QtConnectionDialog(QDialog):
    """Edit endpoint URLs, security and credentials; test before saving."""

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Endpoints")
        self.controller = controller
        spec = controller.spec
        st = controller.settings
        lay = QVBoxLayout(self)
        self.simulator = QCheckBox("Use the embedded plant simulator instead of these servers")
        self.simulator.setChecked(st.use_simulator)
        lay.addWidget(self.simulator)
        self.editors: list[_EndpointEditor] = []
        for ep in spec.endpoints if spec is not None else []:
            user = st.credentials.get(ep.id, (ep.username or "", ""))[0]
            ed = _EndpointEditor(
                ep.id,
                st.endpoint_overrides.get(ep.id, ep.url),
                ep.security.value,
                user or "",
                self,
            )
            ed.test_button.clicked.connect(lambda _=False, e=ed: self.test(e))
            lay.addWidget(ed)
            self.editors.append(ed)
        if not self.editors:
            lay.addWidget(QLabel("This plant file lists no OPC UA endpoints."))
        box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        lay.addWidget(box)
        self._pending: dict[str, concurrent.futures.Future[str]] = {}
        self._poll = QTimer(self)
        self._poll.setInterval(50)
        self._poll.timeout.connect(self._check_tests)

    def test(self, ed: _EndpointEditor) -> None:
        """Start a connection test of one endpoint (the dialog stays responsive)."""
        ed.result.setText("testing…")
        ed.test_button.setEnabled(False)
        self._pending[ed.ep_id] = self.controller.test_connection(
            ed.url.text().strip(),
            security=ed.security.currentText(),
            username=ed.user.text().strip() or None,
            password=ed.password.text(),
        )
        self._poll.start()

    def _check_tests(self) -> None:
        for ep_id, fut in list(self._pending.items()):
            if not fut.done():
                continue
            del self._pending[ep_id]
            ed = next(e for e in self.editors if e.ep_id == ep_id)
            ed.test_button.setEnabled(True)
            try:
                ed.result.setText(coloured("ok", "OK") + f": {fut.result()}")
            except Exception as exc:
                ed.result.setText(coloured("error", "Failed") + f": {exc}")
        if not self._pending:
            self._poll.stop()

    def settings(self) -> ConnectionSettings:
        """Return the edited settings."""
        base = self.controller.settings
        overrides = {}
        creds = {}
        for ed in self.editors:
            url = ed.url.text().strip()
            if (url and url != ed.original_url) or ed.ep_id in base.endpoint_overrides:
                overrides[ed.ep_id] = url
            if ed.user.text().strip():
                creds[ed.ep_id] = (ed.user.text().strip(), ed.password.text())
        return ConnectionSettings(
            endpoint_overrides=overrides,
            credentials=creds,
            use_simulator=self.simulator.isChecked(),
            simulator_speed=base.simulator_speed,
            seed=base.seed,
        )
