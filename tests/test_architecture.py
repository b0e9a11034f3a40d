"""The layering rules hold: cli -> ui -> app -> (sim | opcua | ar) -> model -> errors, Qt only in ui."""

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
    assert "Contracts: 4 kept, 0 broken" in proc.stdout


def test_no_import_by_string_between_our_packages() -> None:
    """import-linter cannot see ``importlib.import_module("factory_twin...")``: none may exist."""
    import ast

    offenders = []
    for path in sorted((ROOT / "factory_twin").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            if name.endswith(("import_module", "__import__")) or name == "find_spec":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not offenders, "imports by string:\n" + "\n".join(offenders)


def test_every_module_is_in_a_layer() -> None:
    """The layers contract names every top-level module of the package (nothing escapes it)."""
    import tomllib

    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    layers = next(c for c in conf["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    named = {m.strip() for layer in layers["layers"] for m in layer.split("|")}
    top = {
        f"factory_twin.{p.stem if p.is_file() else p.name}"
        for p in (ROOT / "factory_twin").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert top <= named, f"modules outside every layer: {sorted(top - named)}"


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
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
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
