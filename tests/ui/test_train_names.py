"""A trainee's name is theirs for the drill, over real OPC UA on loopback.

ann's app joins a drill server and saves the token the server gave her in its settings file
(keyed by the endpoint URL and the name); bob's app, joining under 'ann', is refused with the
message saying so; ann's app, restarted on the same settings file, joins as ann again with the
saved token (same token, her actions and debrief kept); the trainer (bob's Train workspace,
following the server) releases 'ann' from the trainees list's context menu, and then bob's app
joins as ann with a new token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _qt_wait import wait_until
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from factory_twin.app.controller import Controller, find_demo_plant
from factory_twin.app.drill_debrief import TraineeHistory, own_debrief
from factory_twin.app.drill_session import start_drill_server
from factory_twin.model.config import load_plant
from factory_twin.opcua.drill_client import name_taken_message
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_train_install import install_train
from factory_twin.ui.qt_train_join import saved_token

pytestmark = [pytest.mark.gui, pytest.mark.timeout(240)]


def make_window(d: Path, settings_file: Path) -> MainWindow:
    """One app instance on settings file ``settings_file`` (its own Controller)."""
    d.mkdir(parents=True, exist_ok=True)
    settings = QSettings(str(settings_file), QSettings.Format.IniFormat)
    win = MainWindow(Controller(journal_path=d / "journal.sqlite", user=d.name), settings)
    install_train(win, record_dir=d / "drills", history=TraineeHistory(d / "history.sqlite"))
    win.trainee.signoff_dir = d / "drill_signoffs"
    win.resize(1300, 850)
    win.show()
    QTest.qWaitForWindowExposed(win)
    win.open_plant(str(find_demo_plant()), connect=False)
    wait_until(lambda: win.controller.doc is not None, 60, "the plant to open")
    return win


def close(win: MainWindow) -> None:
    win.train.undo_stack.clear()
    win.close()
    QApplication.processEvents()


def test_the_name_is_kept_over_a_restart_refused_to_others_and_released_by_the_trainer(
    qapp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    spec = load_plant(find_demo_plant()).spec
    sim = start_drill_server(spec, "etch_helium_leak", speed=30, load_companion_specs=False)
    url = sim.endpoint_url
    ann_settings = tmp_path / "ann" / "settings.ini"
    wins: list[MainWindow] = []
    try:
        ann = make_window(tmp_path / "ann", ann_settings)
        wins.append(ann)
        ann.trainee.join(url, "ann")
        wait_until(lambda: saved_token(ann.settings, url, "ann"), 30, "ann to join")
        token = ann.controller.drill.client.token
        assert token and saved_token(ann.settings, url, "ann") == token
        assert ann.trainee.call_maintenance("ETCH-02")
        wait_until(lambda: any(a.trainee == "ann" for a in sim.actions), 20, "ann's action")
        ann.trainee.leave()
        close(ann)  # ann's app quits
        wins.remove(ann)

        # bob's app asks for the name 'ann': refused, the message says why
        bob = make_window(tmp_path / "bob", tmp_path / "bob" / "settings.ini")
        wins.append(bob)
        bob.trainee.join(url, "ann")
        wait_until(lambda: bob.trainee.last_error, 30, "bob's join to be refused")
        assert bob.trainee.last_error == name_taken_message("ann")
        assert bob.last_error_box.text() == name_taken_message("ann")
        assert not bob.controller.drill_mode and bob.controller.drill is None
        assert saved_token(bob.settings, url, "ann") == ""
        assert sim.space is not None and sim.space.token_matches("ann", token)

        # ann's app restarted on the same settings file: the saved token rejoins her
        ann = make_window(tmp_path / "ann", ann_settings)
        wins.append(ann)
        assert saved_token(ann.settings, url, "ann") == token
        ann.trainee.join(url, "ann")
        wait_until(
            lambda: ann.controller.drill_mode and ann.controller.drill.joined_as == "ann",
            30,
            "ann to join again",
        )
        QTest.qWait(300)  # the join's callback ran: the saved token stays the same
        assert ann.controller.drill.client.token == token
        assert saved_token(ann.settings, url, "ann") == token
        wait_until(lambda: ann.controller.drill.client.debrief_text, 30, "ann's debrief")
        mine = own_debrief(ann.controller.drill.client.debrief_text)
        assert mine is not None and mine.score.trainee == "ann"
        assert "dispatch_maintenance" in [a.action for a in sim.actions if a.trainee == "ann"]

        # the trainer releases 'ann' from the trainees list's context menu (confirmed)
        ws = bob.train
        bob.tabs.setCurrentWidget(ws)
        assert ws.connect_to(url)
        wait_until(lambda: ws.desk is not None and ws.desk.running, 30, "the trainer to follow")
        lst = ws.trainee_list
        wait_until(
            lambda: lst.findItems("ann", Qt.MatchFlag.MatchExactly), 20, "ann in the trainees"
        )
        item = lst.findItems("ann", Qt.MatchFlag.MatchExactly)[0]
        menu = ws.names.names_menu(lst, lst.visualItemRect(item).center())
        assert menu is not None
        act = menu.actions()[0]
        assert act.text() == "Release name 'ann'…" and act.isEnabled()
        act.trigger()
        wait_until(lambda: "ann" not in sim.space.tokens, 20, "the name to be released")
        wait_until(lambda: "released the name 'ann'" in ws.message, 10, "the trainer told")
        assert [r.trainee for r in sim.log().releases] == ["ann"]
        wait_until(
            lambda: any(
                e.kind == "state" and "released the name 'ann'" in e.text
                for e in ws.live.timeline_entries()
            ),
            20,
            "the release in the trainer's timeline",
        )

        # now bob's app may take the name: a new token, saved in bob's settings
        bob.trainee.join(url, "ann")
        wait_until(lambda: saved_token(bob.settings, url, "ann"), 30, "bob to join as ann")
        new = bob.controller.drill.client.token
        assert new and new != token and saved_token(bob.settings, url, "ann") == new
    finally:
        for w in wins:
            close(w)
        sim.stop_in_thread()
