"""The layering rules hold: ui -> app -> (sim | opcua | ar) -> model, and Qt only in ui."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 2 kept, 0 broken" in proc.stdout


def test_headless_layers_import_without_qt() -> None:
    code = (
        "import sys, importlib, pkgutil, factory_twin\n"
        "for layer in ('model', 'sim', 'opcua', 'ar', 'app'):\n"
        "    pkg = importlib.import_module('factory_twin.' + layer)\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyvistaqt', 'pyqtgraph')]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_atomic_write_keeps_a_readable_mode(tmp_path: Path) -> None:
    import os
    import stat

    from factory_twin.model.config import atomic_write_text

    new = tmp_path / "new.yaml"
    atomic_write_text(new, "a: 1\n")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~umask
    old = tmp_path / "old.yaml"
    old.write_text("a: 0\n")
    old.chmod(0o640)
    atomic_write_text(old, "a: 1\n", keep_backup=True)
    assert stat.S_IMODE(old.stat().st_mode) == 0o640
    assert old.read_text() == "a: 1\n"
    assert (tmp_path / "old.yaml.bak").read_text() == "a: 0\n"
