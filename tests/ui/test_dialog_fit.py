"""The secondary windows show their text whole: no box taller than a screen, no clipped
button, combo box or header, units in the headers and spin boxes that need them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QUndoStack
from PySide6.QtWidgets import QApplication, QWidget

from factory_twin.app.alarm_journal import AlarmJournal
from factory_twin.app.drill_debrief import TraineeHistory
from factory_twin.ui.qt_alarm_panel import QtJournalDialog
from factory_twin.ui.qt_main_menus import shortcuts_box, shortcuts_html
from factory_twin.ui.qt_maintain_browser import QtProcedureBrowser
from factory_twin.ui.qt_plan_experiment import QtExperimentPanel
from factory_twin.ui.qt_train_author import QtDrillAuthor, label_x
from factory_twin.ui.qt_train_debrief import QtDebriefPanel
from factory_twin.ui.qt_train_join import QtJoinDrillDialog


def test_the_shortcuts_box_of_forty_actions_fits_a_laptop_screen(qtbot) -> None:  # type: ignore[no-untyped-def]
    w = QWidget()
    qtbot.addWidget(w)
    for k in range(44):  # as many as the full window has, as long as its longest
        a = QAction(f"Procedures of the selected tool {k}", w)
        a.setShortcut(f"Ctrl+Shift+{chr(ord('A') + k % 26)}" if k >= 26 else f"Ctrl+{chr(65 + k)}")
    html = shortcuts_html(w)
    assert html.count("Procedures of") == 44
    assert html.count("<tr>") == 22
    box = shortcuts_box(w)
    qtbot.addWidget(box)
    box.show()
    qtbot.waitExposed(box)
    assert box.height() < 700, box.size()  # one line per shortcut, 22 rows
    assert box.width() < 1400, box.size()


def test_the_join_dialog_wraps_its_introduction(qtbot) -> None:  # type: ignore[no-untyped-def]
    dlg = QtJoinDrillDialog()
    qtbot.addWidget(dlg)
    assert dlg.sizeHint().width() < 600, dlg.sizeHint()


def test_the_journal_spins_say_their_unit_and_the_search_field_its_whole_hint(
    qtbot, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    dlg = QtJournalDialog(AlarmJournal(tmp_path / "journal.sqlite"))
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    assert dlg.from_spin.text() == "no limit"
    assert dlg.summary.text() == "0 transitions (of 0 stored)"
    dlg.to_spin.setValue(3600)
    assert dlg.to_spin.text() == "3600 s"
    fm = dlg.text_edit.fontMetrics()
    assert dlg.text_edit.width() > fm.horizontalAdvance(dlg.text_edit.placeholderText())
    assert dlg.tool_edit.width() > fm.horizontalAdvance("Implant_128_7")


def test_the_experiment_combos_show_their_longest_choice(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = QtExperimentPanel()
    qtbot.addWidget(panel)
    panel.resize(panel.minimumSizeHint().width(), 700)  # as narrow as its splitter allows
    panel.show()
    qtbot.waitExposed(panel)
    for combo in (panel.warmup_mode, panel.rep_mode, panel.executor):
        longest = max(combo.itemText(k) for k in range(combo.count()))
        assert combo.width() > combo.fontMetrics().horizontalAdvance(longest), longest


def test_the_debrief_buttons_are_not_clipped_in_a_narrow_dock(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = QtDebriefPanel(TraineeHistory())
    qtbot.addWidget(panel)
    assert panel.minimumSizeHint().width() <= 455  # the Train workspace's side pane
    panel.resize(455, 700)
    panel.show()
    qtbot.waitExposed(panel)
    for b in (panel.open_button, panel.html_button, panel.pdf_button, panel.replay_button):
        assert b.width() >= b.sizeHint().width(), b.text()
    assert "x0.001" not in panel.chart.getAxis("left").labelString()


def test_drill_author_headers_have_units_and_timeline_labels_stay_inside(qtbot) -> None:  # type: ignore[no-untyped-def]
    author = QtDrillAuthor(QUndoStack())
    qtbot.addWidget(author)
    heads = [author.injections.horizontalHeaderItem(j).text() for j in (0, 3)]
    assert heads == ["At (s)", "Dur. (s)"]  # shortened to fit the 360 px side pane
    assert author.responses.horizontalHeaderItem(1).text() == "Within (s)"
    assert label_x(100, 120, 50, 8, 400) == 126  # room after the bar
    assert label_x(380, 390, 50, 8, 400) == 380 - 6 - 50  # before it at the right edge
    assert label_x(20, 390, 50, 8, 400) == 8  # never left of the strip


def test_the_procedure_headers_are_whole_in_the_narrow_browser(qtbot) -> None:  # type: ignore[no-untyped-def]
    browser = QtProcedureBrowser()
    qtbot.addWidget(browser)
    browser.resize(230, 600)
    browser.show()
    qtbot.waitExposed(browser)
    QApplication.processEvents()
    hh = browser.table.horizontalHeader()
    fm = hh.fontMetrics()
    for j in range(browser.table.columnCount()):
        text = browser.table.horizontalHeaderItem(j).text()
        widest = max(fm.horizontalAdvance(line) for line in text.split("\n"))
        assert hh.sectionSize(j) > widest, text


def test_the_gantt_legend_colours_are_told_apart() -> None:
    from PySide6.QtGui import QColor

    from factory_twin.ui.qt_plan_gantt import KIND_COLOURS

    rgb = {k: QColor(c).getRgb()[:3] for k, c in KIND_COLOURS.items()}
    for a in rgb:
        for b in rgb:
            if a < b:
                d = sum((x - y) ** 2 for x, y in zip(rgb[a], rgb[b], strict=True)) ** 0.5
                assert d > 60, (a, b, d)


def test_an_endpoint_address_fits_its_field(qtbot) -> None:  # type: ignore[no-untyped-def]
    from factory_twin.ui.qt_connection_dialog import _EndpointEditor

    parent = QWidget()
    qtbot.addWidget(parent)
    url = "opc.tcp://127.0.0.1:4840/factory_twin/"
    ed = _EndpointEditor("simulator", url, "none", "", parent)
    ed.show()
    qtbot.waitExposed(ed)
    assert ed.url.width() > ed.url.fontMetrics().horizontalAdvance(url) + 16


def test_trend_axes_keep_the_tags_unit_without_a_scale_prefix(etcher_panel) -> None:  # type: ignore[no-untyped-def]
    panel, _state, tool = etcher_panel
    panel.show_tool(tool)
    axis = panel.plot.getAxis("left")
    assert not axis.autoSIPrefix  # a tag at 0 drew "[s] (x0.001)" and +-400 ticks
    assert "x0.001" not in axis.labelString()
