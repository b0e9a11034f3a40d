"""One optimise run per output folder: a lock the run holds for its lifetime (no Qt).

A study's output folder is run by one process at a time: :func:`hold_study_lock` takes an
exclusive :func:`fcntl.flock` on ``<out>/study.lock`` (created atomically by ``open`` with
``O_CREAT``, never removed: a removed lock file would let two runs lock two different files)
and keeps it until the run ends; the operating system drops it when the process ends, even by
SIGKILL, so a killed run never leaves the folder locked. A second run on the folder (the
command line, or the Plan workspace's Optimise dock) is refused with ``another optimise run is
using FOLDER``, before it opens the storage, so it never marks the running trials of the first
failed (only the run that resumes a folder nobody runs fails the trials a killed run left
running). The lock file holds the process id of the run, for the message.

:func:`study_in_use` tells whether a run holds the folder now without writing anything: it
opens an existing lock file read-only and tries a shared lock for an instant. A run starting
in that instant retries for a second before it gives up, so a reader never makes it fail.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> out = Path(tempfile.mkdtemp())
>>> study_in_use(out)
False
>>> lock = hold_study_lock(out)
>>> study_in_use(out)
True
>>> lock.release()
>>> study_in_use(out)
False
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from factory_twin.errors import ConfigError

__all__ = ["LOCK", "StudyLock", "hold_study_lock", "study_in_use"]

LOCK = "study.lock"
_TRIES = 20  # x 50 ms: a reader's instant of shared lock never refuses a starting run


class StudyLock:
    """The lock a run holds on its output folder (:meth:`release` ends it)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def __enter__(self) -> StudyLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        """Drop the lock (the file stays); a second call does nothing."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock


def hold_study_lock(out_dir: Path) -> StudyLock:
    """Lock ``out_dir`` for this run until :meth:`StudyLock.release` (see the module doc).

    Raises
    ------
    ConfigError
        ``another optimise run is using FOLDER``: a live process holds the lock.
    OSError
        The lock file cannot be created or opened.
    """
    import fcntl

    path = out_dir / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # atomic: one file, whoever creates it
    try:
        for attempt in range(_TRIES):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt + 1 == _TRIES:
                    raise
                time.sleep(0.05)
    except BlockingIOError:
        os.close(fd)
        pid = _holder(path)
        who = f" (process {pid})" if pid else ""
        msg = (
            f"another optimise run is using {out_dir}{who}: wait for it to end (or stop it), "
            "or run the study into another output folder"
        )
        raise ConfigError([msg]) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return StudyLock(path, fd)


def study_in_use(out_dir: Path) -> bool:
    """True if an optimise run holds ``out_dir`` now; nothing is created or written."""
    import fcntl

    try:
        fd = os.open(out_dir / LOCK, os.O_RDONLY)
    except OSError:  # no lock file: no run of this version has used the folder
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # drops the shared lock if it was taken
    return False


def _holder(path: Path) -> str:
    """The process id written in the lock file ('' if unreadable)."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return text if text.isdigit() else ""
