"""Companion specifications (OPC UA DI, IA, Machinery) for the plant simulator server.

asyncua ships no NodeSet XML, so factory_twin ships the three files the server loads
(OPC Foundation MIT License, copied from the npm package ``node-opcua-nodesets``) as package
data in ``factory_twin/opcua/nodeset_xml/`` (:data:`PACKAGED_DIR`; see its README for
versions). :func:`find_nodeset_dir` looks, in order, at the ``FACTORY_TWIN_NODESETS``
environment variable (a directory holding newer or other copies) and at the packaged files.

When they cannot be loaded the server still runs, with factory_twin's own types: the
returned :class:`CompanionSpecs` is then not :attr:`~CompanionSpecs.loaded` and its
:attr:`~CompanionSpecs.problem` says why, and a warning is logged.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from asyncua import ua

from factory_twin.opcua._uatypes import node_id

if TYPE_CHECKING:
    from asyncua import Server

logger = logging.getLogger(__name__)

ENV_VAR = "FACTORY_TWIN_NODESETS"
PACKAGED_DIR = Path(__file__).resolve().parent / "nodeset_xml"

DI_URI = "http://opcfoundation.org/UA/DI/"
IA_URI = "http://opcfoundation.org/UA/IA/"
MACHINERY_URI = "http://opcfoundation.org/UA/Machinery/"

# Loaded in this order: Machinery needs IA and DI, IA needs DI.
NODESET_FILES: tuple[tuple[str, str], ...] = (
    (DI_URI, "Opc.Ua.Di.NodeSet2.xml"),
    (IA_URI, "Opc.Ua.IA.NodeSet2.xml"),
    (MACHINERY_URI, "Opc.Ua.Machinery.NodeSet2.xml"),
)

# Numeric ids inside the Machinery nodeset (its namespace index is resolved at run time).
MACHINERY_MACHINES_FOLDER = 1001
MACHINERY_MACHINE_IDENTIFICATION_TYPE = 1012


@dataclass(frozen=True)
class CompanionSpecs:
    """Namespace indexes of the loaded companion specifications (``None`` when not loaded).

    ``source`` is the directory they were loaded from; ``problem`` says why they are not
    loaded (empty when they are, or before a load was tried).
    """

    di: int | None = None
    ia: int | None = None
    machinery: int | None = None
    source: Path | None = None
    problem: str = ""

    @property
    def loaded(self) -> bool:
        """True when DI and Machinery are both in the address space."""
        return self.di is not None and self.machinery is not None

    def machines_folder(self) -> ua.NodeId | None:
        """NodeId of Machinery's standard ``Objects/Machines`` folder."""
        if self.machinery is None:
            return None
        return node_id(MACHINERY_MACHINES_FOLDER, self.machinery)

    def machine_identification_type(self) -> ua.NodeId | None:
        """NodeId of ``MachineIdentificationType``."""
        if self.machinery is None:
            return None
        return node_id(MACHINERY_MACHINE_IDENTIFICATION_TYPE, self.machinery)


def _candidates() -> list[Path]:
    out: list[Path] = []
    env = os.environ.get(ENV_VAR)
    if env:
        out.append(Path(env))
    out.append(PACKAGED_DIR)
    return out


def find_nodeset_dir() -> Path | None:
    """Return the first directory holding the DI, IA and Machinery NodeSet2 files, or None."""
    for d in _candidates():
        if all((d / name).is_file() for _, name in NODESET_FILES):
            return d
    return None


async def load_companion_specs(server: Server, directory: Path | None = None) -> CompanionSpecs:
    """Import DI, IA and Machinery into ``server`` (before it starts).

    Returns a :class:`CompanionSpecs` that is not ``loaded``, with its ``problem`` set (and
    logs a warning saying the same), when the files cannot be found or fail to import; the
    caller then builds the same structure with its own types.
    """
    d = directory or find_nodeset_dir()
    if d is None:
        files = ", ".join(name for _, name in NODESET_FILES)
        problem = f"{files} not found in {PACKAGED_DIR} (an incomplete install?) nor in ${ENV_VAR}"
        logger.warning(
            "OPC UA companion nodesets (DI, IA, Machinery) not loaded: %s; serving the plant "
            "with factory_twin's own types instead",
            problem,
        )
        return CompanionSpecs(problem=problem)
    t0 = time.perf_counter()
    # asyncua's importer warns about a dozen DI instance nodes (DI i=73..95, examples under
    # types it has not created yet) that none of our nodes use; keep the log readable.
    importer_log = logging.getLogger("asyncua.common.xmlimporter")
    level = importer_log.level
    importer_log.setLevel(logging.ERROR)
    try:
        for _, name in NODESET_FILES:
            # strict_mode=False: DI 1.05 otherwise fails on i=73 "Configuration" (parent order).
            await server.import_xml(str(d / name), strict_mode=False)
        ns = await server.get_namespace_array()
    except Exception as exc:  # a broken or incompatible file must not stop the simulator
        problem = f"could not import them from {d}: {exc}"
        logger.warning(
            "OPC UA companion nodesets (DI, IA, Machinery) not loaded: %s; serving the plant "
            "with factory_twin's own types instead",
            problem,
        )
        return CompanionSpecs(problem=problem)
    finally:
        importer_log.setLevel(level)
    specs = CompanionSpecs(
        di=ns.index(DI_URI) if DI_URI in ns else None,
        ia=ns.index(IA_URI) if IA_URI in ns else None,
        machinery=ns.index(MACHINERY_URI) if MACHINERY_URI in ns else None,
        source=d,
    )
    if not specs.loaded:
        problem = f"imported from {d}, but the DI or Machinery namespace is missing"
        logger.warning("OPC UA companion nodesets not loaded: %s", problem)
        return CompanionSpecs(source=d, problem=problem)
    logger.info("loaded DI, IA, Machinery from %s in %.2f s", d, time.perf_counter() - t0)
    return specs
