"""Time of the alarm performance report on a large journal.

Fills a temporary journal with N transitions (default 200,000: ~100,000 alarms raised and
returned to normal over one year, on 300 tools with 4 alarms each, with a few bursts), then
times each stage: reading the journal, computing the report ("all" and "last week"), and
writing the CSV and HTML files.

Usage::

    .venv/bin/python benchmarks/alarm_report_speed.py [--entries N]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from factory_twin.app.alarm_journal import AlarmJournal
from factory_twin.app.alarm_report import compute_report, report_from_journal, write_csv
from factory_twin.app.alarm_report_html import write_html
from factory_twin.model.events import AlarmEvent

logger = logging.getLogger("alarm_report_speed")
YEAR = 365 * 86400.0


def fill(journal: AlarmJournal, entries: int, seed: int = 1) -> None:
    """Write ``entries`` transitions: raise and clear pairs at random times in a year."""
    rng = np.random.default_rng(seed)
    n = entries // 2
    t = np.sort(rng.uniform(0, YEAR, n))
    # bursts of 40 alarms in 5 minutes (once a day for the default size): floods to find
    nb = min(365, n // 270)
    burst = rng.uniform(0, YEAR, nb)
    t[: nb * 40] = np.repeat(burst, 40) + rng.uniform(0, 300, nb * 40)
    tool = rng.integers(0, 300, n)
    code = rng.choice(["p.hi", "p.lo", "flow.lo", "fault"], n, p=[0.4, 0.3, 0.2, 0.1])
    sev = rng.choice([200, 500, 700, 900], n, p=[0.7, 0.2, 0.08, 0.02])
    evs = []
    for i in range(n):
        a = f"T{tool[i]:03d}/{code[i]}"
        eq = f"T{tool[i]:03d}"
        evs.append(AlarmEvent(a, eq, code[i], int(sev[i]), a, float(t[i]), True, False))
        evs.append(AlarmEvent(a, eq, code[i], int(sev[i]), a, float(t[i]) + 30, False, True))
    journal.record(evs)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and log the timings."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--entries", type=int, default=200_000)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        j = AlarmJournal(Path(tmp) / "j.sqlite")
        fill(j, args.entries)
        t0 = time.perf_counter()
        entries = j.search(limit=2**62)
        t1 = time.perf_counter()
        rep = compute_report(entries)
        t2 = time.perf_counter()
        week = report_from_journal(j, start_s=YEAR - 7 * 86400, end_s=YEAR)
        t3 = time.perf_counter()
        write_csv(rep, Path(tmp) / "r.csv")
        write_html(rep, Path(tmp) / "r.html")
        t4 = time.perf_counter()
        logger.info(
            "%d transitions, %d alarms, %d floods", len(entries), rep.alarms, len(rep.floods)
        )
        logger.info("read journal        %.2f s", t1 - t0)
        logger.info("compute (all, 1 y)  %.2f s", t2 - t1)
        logger.info("last week (read + compute) %.2f s (%d alarms)", t3 - t2, week.alarms)
        logger.info("CSV + HTML export   %.2f s", t4 - t3)
        logger.info("read + compute all  %.2f s", t2 - t0)
        j.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
