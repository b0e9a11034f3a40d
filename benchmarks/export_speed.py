"""Time, peak memory and file sizes of an AR export.

Exports one procedure in all five formats for the largest tool of the demo fab (the
equipment type with the most triangles among those that have a procedure; its longest
procedure), and also each format on its own. Target: all formats together in < 10 s.

Usage::

    .venv/bin/python benchmarks/export_speed.py [PLANT.yaml] [--repeat N]

Peak memory is the Python heap (tracemalloc) during the export; RSS growth comes from
psutil. Each run writes into a fresh temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import psutil

from factory_twin.ar import FORMATS, build_context, export_procedure
from factory_twin.model.config import load_plant

REPO = Path(__file__).resolve().parents[1]


def largest_case(path: Path) -> tuple[str, str, int]:
    """Return (equipment, procedure, triangles) of the biggest tool that has a procedure."""
    doc = load_plant(path)
    best = None
    for proc in doc.spec.procedures:
        tool = next(e for e in doc.spec.equipment if e.type == proc.equipment_type)
        ctx = build_context(doc.spec, tool.id, proc.id, plant_path=path)
        key = (ctx.geometry.triangle_count, len(proc.steps))
        if best is None or key > best[0]:
            best = (key, tool.id, proc.id)
    if best is None:
        sys.exit(f"{path}: no procedures to export")
    return best[1], best[2], best[0][0]


def run(
    path: Path, equipment: str, procedure: str, formats: tuple[str, ...], *, memory: bool = False
) -> dict[str, object]:
    """Export once into a temporary folder.

    Returns wall and CPU seconds, file sizes and, with ``memory``, the peak Python heap
    (tracemalloc slows the run, so memory is measured in a separate run).
    """
    doc = load_plant(path)
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if memory:
            tracemalloc.start()
        cpu0, t0 = time.process_time(), time.perf_counter()
        result = export_procedure(doc.spec, equipment, procedure, tmp, formats, plant_path=path)
        out["wall"] = time.perf_counter() - t0
        out["cpu"] = time.process_time() - cpu0
        if memory:
            out["heap_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
        out["sizes"] = {p.name: p.stat().st_size for p in result.all_files()}
    return out


def main() -> int:
    """Run the benchmark and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("plant", nargs="?", default=str(REPO / "plant_configs" / "demo_fab.yaml"))
    ap.add_argument("--repeat", type=int, default=2, help="runs of the full export (best kept)")
    args = ap.parse_args()
    path = Path(args.plant)
    equipment, procedure, triangles = largest_case(path)
    print(f"plant {path.name}: {equipment} / {procedure} ({triangles} triangles)")
    # warm-up: imports of usd-core, reportlab and trimesh are not part of an export
    for fmt in FORMATS:
        run(path, equipment, procedure, (fmt,))
    print(f"{'formats':<12}{'wall s':>8}{'CPU s':>8}{'heap MB':>9}")
    for fmt in FORMATS:
        r = run(path, equipment, procedure, (fmt,))
        m = run(path, equipment, procedure, (fmt,), memory=True)
        print(f"{fmt:<12}{r['wall']:>8.2f}{r['cpu']:>8.2f}{m['heap_mb']:>9.1f}")
    runs = [run(path, equipment, procedure, FORMATS) for _ in range(max(1, args.repeat))]
    best = min(runs, key=lambda r: float(r["wall"]))  # type: ignore[arg-type]
    mem = run(path, equipment, procedure, FORMATS, memory=True)
    rss = psutil.Process().memory_info().rss / 1e6
    print(f"{'all five':<12}{best['wall']:>8.2f}{best['cpu']:>8.2f}{mem['heap_mb']:>9.1f}")
    print(f"process RSS after the runs: {rss:.0f} MB (Python, numpy, usd-core, reportlab loaded)")
    print("files:")
    for name, size in best["sizes"].items():  # type: ignore[attr-defined]
        print(f"  {name:<58}{size / 1024:>8.1f} KiB")
    wall = float(best["wall"])  # type: ignore[arg-type]
    cpu = float(best["cpu"])  # type: ignore[arg-type]
    ok = wall < 10
    load = psutil.getloadavg()[0] / (psutil.cpu_count() or 1)
    print(
        f"all formats: {wall:.2f} s wall, {cpu:.2f} s CPU - {'OK' if ok else 'SLOW'} "
        f"(target < 10 s; load per core {load:.1f})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
