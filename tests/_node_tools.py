"""Node.js tools the tests call: validators printing JSON, and node-opcua peers.

The npm packages are installed by scripts/setup.sh (``npm ci`` in tests/interop, tests/ar and
tests/html); whether a test may skip without them is tests/_requirements.py's business.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent
NODE_OPCUA_MODULES = TESTS / "interop" / "node_modules"


def node_opcua_missing() -> str:
    """Return why the node-opcua peers cannot run here ('' when they can)."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (NODE_OPCUA_MODULES / "node-opcua").is_dir():
        return "node-opcua is not installed: run 'npm ci --prefix tests/interop'"
    return ""


def node_json(node: str, script: Path, paths: list[Path]) -> dict[str, Any]:
    """Run ``node script paths...``, which prints one JSON object keyed by path; return it
    keyed by file name (the script must succeed)."""
    done = subprocess.run(
        [node, str(script), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {Path(k).name: v for k, v in json.loads(done.stdout).items()}
