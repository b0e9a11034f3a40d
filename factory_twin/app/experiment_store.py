"""The result store of experiments: one folder per scenario, keyed by what decides its results.

Layout of a result folder (default ``<experiment stem>.results/`` beside the experiment)::

    experiment.json            the experiment: its scenarios in order (base first), their keys
    <key>/                     one complete scenario (key: see scenario_key)
        complete.json          written last, before the folder gets its name: the marker
        plant.json             the plant the scenario applied (canonical PlantSpec JSON)
        kpis.parquet           replication, kpi, value (every KPI of every replication)
        rep-000/ ...           per replication (see factory_twin.app.experiment_worker)
    .partial-<key>-<pid>/      a scenario being run by process <pid>

A scenario is run in its ``.partial-*`` folder and renamed to ``<key>`` only once its
``complete.json`` is written, so a cancelled or crashed run never leaves a folder that reads
as complete; the next run removes partial folders whose process is gone. A scenario whose
key exists complete is never run again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from factory_twin import __version__
from factory_twin.model import schema as s

logger = logging.getLogger(__name__)

STORE_FORMAT = 1
"""Version of the folder layout; part of every key, so a new layout never reads an old one."""
ENGINE_VERSION = __version__
"""The simulation engine's version (factory_twin's): part of every key."""
PARTIAL_PREFIX = ".partial-"
COMPLETE = "complete.json"


def plant_json(plant: s.PlantSpec) -> str:
    """The canonical JSON of a plant (sorted keys, no white space): what the key hashes."""
    return json.dumps(plant.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def scenario_key(plant: s.PlantSpec, options: dict[str, Any]) -> str:
    """The key of a scenario's results: a hash of the applied plant, the options, the engine.

    ``options`` holds everything else that changes the results (horizon, warm-up, seed,
    replication rule, dispatch rule). 16 hex digits of SHA-256.

    Examples
    --------
    >>> from factory_twin.model.config import load_plant
    >>> p = load_plant("plant_configs/demo_fab.yaml").spec
    >>> scenario_key(p, {"days": 10}) == scenario_key(p, {"days": 10})
    True
    >>> scenario_key(p, {"days": 10}) == scenario_key(p, {"days": 11})
    False
    """
    h = hashlib.sha256()
    head = {"store": STORE_FORMAT, "engine": ENGINE_VERSION, "options": options}
    h.update(json.dumps(head, sort_keys=True).encode())
    h.update(b"\0")
    h.update(plant_json(plant).encode())
    return h.hexdigest()[:16]


def is_complete(folder: Path) -> bool:
    """True if ``folder`` is a finished scenario (its marker is there and reads)."""
    marker = folder / COMPLETE
    if not marker.is_file():
        return False
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("format") == STORE_FORMAT


def damage(folder: Path) -> str | None:
    """Why a complete scenario folder does not read back (None if it does).

    ``complete.json`` says the run finished; this also reads what a result is opened from
    (``kpis.parquet`` and ``plant.json``), so a file cut or overwritten since is found before
    the folder is taken as stored results. The message names the file.
    """
    import pyarrow.parquet as pq
    from pydantic import ValidationError

    kpis = folder / "kpis.parquet"
    try:
        pq.read_table(kpis)
    except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
        return f"{kpis} is damaged: {_first_line(exc)}"
    plant = folder / "plant.json"
    try:
        s.PlantSpec.model_validate_json(plant.read_bytes())
    except (OSError, ValidationError, ValueError, RecursionError) as exc:
        return f"{plant} is damaged: {_first_line(exc)}"
    return None


def _first_line(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return (text.strip().splitlines() or [type(exc).__name__])[0]


def partial_dir(root: Path, key: str) -> Path:
    """The folder a scenario runs in before it is complete (this process's own)."""
    return root / f"{PARTIAL_PREFIX}{key}-{os.getpid()}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def remove_stale_partials(root: Path) -> list[Path]:
    """Remove partial scenario folders left by runs whose process is gone; return them."""
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for p in root.iterdir():
        if not (p.is_dir() and p.name.startswith(PARTIAL_PREFIX)):
            continue
        pid_text = p.name.rsplit("-", 1)[-1]
        if pid_text.isdigit() and _alive(int(pid_text)) and int(pid_text) != os.getpid():
            continue  # another run of this experiment is at work
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
        logger.info("removed the unfinished scenario folder %s", p)
    return removed


def commit(partial: Path, final: Path, marker: dict[str, Any]) -> None:
    """Write the marker last, then give the folder its final name (atomic on one filesystem).

    A complete folder already there (another run finished the same key first) wins; the
    partial folder is removed. A complete folder that is damaged (:func:`damage`) is
    replaced.
    """
    from factory_twin.model.config import atomic_write_text

    atomic_write_text(partial / COMPLETE, json.dumps({"format": STORE_FORMAT, **marker}, indent=1))
    if is_complete(final) and damage(final) is None:
        shutil.rmtree(partial, ignore_errors=True)
        return
    if final.exists():  # an incomplete folder under the final name (copied by hand?)
        shutil.rmtree(final)
    os.replace(partial, final)
