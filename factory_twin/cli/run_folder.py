"""The ``--out`` folder of ``simulate`` and ``compare``: one run's results, never a mix of two.

A ``simulate`` run writes ``summary.json`` and one ``rep-NNN/`` folder per replication; a
``compare`` run writes ``summary.json`` and one ``scenario-N/`` folder per plant (each with
its ``rep-NNN/`` folders). Writing straight over an earlier run's folder would leave that
run's extra folders beside the new summary, so at the start the earlier run's files (of
either command) move aside into ``DIR/.previous-<time>/``. The new run's
:meth:`RunFolder.commit` (once its ``summary.json`` is written) removes them;
:meth:`RunFolder.restore` (a run that ended with no replication finished, or with no summary
written) removes the new run's files and moves the earlier ones back. A run that failed
with an error after some replications finished writes a partial ``summary.json`` and keeps
the earlier run's results too: :meth:`RunFolder.keep` (before that summary is written) renames
the set-aside folder to ``DIR/earlier-run-<time>/``, an ordinary folder that no later run
touches, so the user decides when it goes.

Each step is a rename of one entry, ordered so that a run killed outright (SIGKILL, power
loss) at any point leaves a state the next run sorts out without losing the earlier results:

- while setting aside, ``summary.json`` moves last, so ``DIR/summary.json`` beside a
  ``.previous-*`` folder means setting aside was cut short: the next run finishes it;
  unless that folder already holds a ``summary.json`` or an entry of the same name: then
  the set-aside was whole and a finished run was killed before it removed it, which the
  next run does before setting that run's results aside;
- while restoring, ``summary.json`` moves first, for the same reason;
- a ``.previous-*`` folder and no ``DIR/summary.json`` means the killed run never finished:
  its files are removed and the set-aside results stay set aside for the next run;
- a set-aside folder is removed by renaming it to ``.discard-*`` first, which is always
  safe to delete;
- a set-aside folder is kept by one rename to ``earlier-run-*``, before the partial
  ``summary.json`` is written: killed in between, the next run finds the failed run's files
  without a summary and no ``.previous-*`` folder, and sets them aside as it would any run's.

Files in ``DIR`` that a run does not write (anything but ``summary.json``, ``rep-NNN`` and
``scenario-N``) are left alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import datetime
from pathlib import Path

from factory_twin.model.config import atomic_write_text

#: The entries of ``DIR`` a simulate or compare run writes.
RUN_ENTRY = re.compile(r"^(summary\.json|rep-\d{3,}|scenario-\d+)$")
PREVIOUS_PREFIX = ".previous-"
DISCARD_PREFIX = ".discard-"
KEPT_PREFIX = "earlier-run-"
SUMMARY = "summary.json"


def run_entries(folder: Path) -> list[Path]:
    """The run files in ``folder`` (``summary.json`` last).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> for name in ("summary.json", "notes.txt"):
    ...     _ = (d / name).write_text("")
    >>> for name in ("rep-000", "scenario-1"):
    ...     (d / name).mkdir()
    >>> [p.name for p in run_entries(d)]
    ['rep-000', 'scenario-1', 'summary.json']
    >>> shutil.rmtree(d)
    """
    entries = [p for p in folder.iterdir() if RUN_ENTRY.match(p.name)]
    return sorted(entries, key=lambda p: (p.name == SUMMARY, p.name))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


class RunFolder:
    """An output folder whose earlier results are set aside until the new run is written.

    Parameters
    ----------
    out
        The ``--out`` folder; created if missing.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "summary.json").write_text("old")
    >>> folder = RunFolder(d)
    >>> run_entries(d), folder.previous is not None
    ([], True)
    >>> folder.restore()
    >>> (d / "summary.json").read_text(), [p.name for p in d.iterdir()]
    ('old', ['summary.json'])
    >>> shutil.rmtree(d)
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        for p in out.iterdir():  # a removal cut short
            if p.name.startswith(DISCARD_PREFIX):
                shutil.rmtree(p, ignore_errors=True)
        stashes = sorted(p for p in out.iterdir() if p.name.startswith(PREVIOUS_PREFIX))
        self.previous: Path | None = stashes[-1] if stashes else None
        entries = run_entries(out)
        if self.previous is not None and not (out / SUMMARY).exists():
            for p in entries:  # a run killed before it finished: its files are no result
                _remove(p)
            return
        if not entries:
            return
        if self.previous is not None and any(
            (self.previous / n).exists() for n in (SUMMARY, *(e.name for e in entries))
        ):  # the set-aside was whole: a finished run was killed in commit(); finish that
            self.commit()
        if self.previous is None:
            stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
            self.previous = out / f"{PREVIOUS_PREFIX}{stamp}"
            self.previous.mkdir()
        for p in entries:  # summary.json last
            os.replace(p, self.previous / p.name)

    def commit(self) -> None:
        """The new run's summary is written: remove the earlier run's results."""
        if self.previous is None:
            return
        doomed = self.out / (DISCARD_PREFIX + self.previous.name[len(PREVIOUS_PREFIX) :])
        os.replace(self.previous, doomed)
        self.previous = None
        shutil.rmtree(doomed, ignore_errors=True)

    def keep(self) -> Path | None:
        """The new run failed part-way: keep the earlier run's results; return their folder.

        Call it before writing the new (partial) ``summary.json``; None if there were none.

        Examples
        --------
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "summary.json").write_text("old")
        >>> kept = RunFolder(d).keep()
        >>> kept.name.startswith("earlier-run-"), (kept / "summary.json").read_text()
        (True, 'old')
        >>> shutil.rmtree(d)
        """
        if self.previous is None:
            return None
        stamp = self.previous.name[len(PREVIOUS_PREFIX) :]
        kept = self.out / f"{KEPT_PREFIX}{stamp}"
        n = 1
        while kept.exists():  # an earlier failed run set aside in the same second
            n += 1
            kept = self.out / f"{KEPT_PREFIX}{stamp}-{n}"
        os.replace(self.previous, kept)
        self.previous = None
        _repoint_files(kept / SUMMARY, self.out, kept)
        return kept

    def restore(self) -> None:
        """The new run left nothing worth keeping: put the earlier run's results back."""
        for p in run_entries(self.out):
            _remove(p)
        if self.previous is None:
            return
        earlier = run_entries(self.previous)
        for p in earlier[-1:] + earlier[:-1]:  # summary.json first
            os.replace(p, self.out / p.name)
        shutil.rmtree(self.previous, ignore_errors=True)
        self.previous = None


def _repoint_files(summary: Path, old: Path, new: Path) -> None:
    """Point a moved run's ``summary.json`` at its record files in their new folder.

    A summary names each replication's files by absolute path (``run.files``, per scenario
    in a comparison); a summary that cannot be read is left as it is.
    """
    try:
        data = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(data, dict):
        return
    head, to = str(old) + os.sep, str(new) + os.sep
    for part in [data, *(data.get("scenarios") or [])]:
        files = part.get("run", {}).get("files") if isinstance(part, dict) else None
        for rep in (files or {}).values():
            for k, v in rep.items():
                if isinstance(v, str) and v.startswith(head):
                    rep[k] = to + v[len(head) :]
    atomic_write_text(summary, json.dumps(data, indent=2, allow_nan=False))
