"""The side panels' row tables and cells (ui/qt_tables.py)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView

from factory_twin.ui.qt_tables import cell, row_table

pytestmark = pytest.mark.gui


def test_a_read_only_row_table_fits_its_columns_and_stretches_the_chosen_one(qtbot):
    t = row_table(["Procedure", "Rev", "Steps"], name="procs", single=True, stretch=0)
    qtbot.addWidget(t)
    assert t.objectName() == "procs" and t.columnCount() == 3 and t.rowCount() == 0
    assert t.horizontalHeaderItem(1).text() == "Rev"
    assert not t.verticalHeader().isVisible()
    assert t.selectionBehavior() == QAbstractItemView.SelectionBehavior.SelectRows
    assert t.selectionMode() == QAbstractItemView.SelectionMode.SingleSelection
    assert t.editTriggers() == QAbstractItemView.EditTrigger.NoEditTriggers
    hh = t.horizontalHeader()
    assert hh.sectionResizeMode(0) == QHeaderView.ResizeMode.Stretch
    assert hh.sectionResizeMode(2) == QHeaderView.ResizeMode.ResizeToContents
    assert not hh.stretchLastSection()


def test_an_editable_table_sized_by_its_caller(qtbot):
    t = row_table(["At", "Value"], editable=True, fit=False, alternating=True)
    qtbot.addWidget(t)
    assert t.editTriggers() != QAbstractItemView.EditTrigger.NoEditTriggers
    assert t.selectionMode() == QAbstractItemView.SelectionMode.ExtendedSelection
    assert t.alternatingRowColors() and t.horizontalHeader().stretchLastSection()
    assert t.horizontalHeader().sectionResizeMode(0) == QHeaderView.ResizeMode.Interactive


def test_cells_are_read_only_unless_asked_and_carry_tip_alignment_and_colour():
    c = cell("12.5", "mean of 10 runs", right=True, colour="#ff0000")
    assert c.text() == "12.5" and c.toolTip() == "mean of 10 runs"
    assert not c.flags() & Qt.ItemFlag.ItemIsEditable
    assert c.textAlignment() == int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    assert c.foreground().color().name() == "#ff0000"
    e = cell("60", editable=True)
    assert e.flags() & Qt.ItemFlag.ItemIsEditable and e.toolTip() == ""
