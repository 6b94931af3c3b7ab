"""Atomic file writes: a crash mid-write leaves the previous file intact.

The bytes go to a temporary file in the same directory, are flushed and fsynced, then renamed over
the target. Checkpoints, config.json, the rewritten metrics log and evaluation documents use this.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _new_file_mode() -> int:
    """The permissions ``open()`` gives a new file (0o666 less the umask); mkstemp's are 0o600."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _new_file_mode()  # read once at import, before any thread creates files


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same dir, fsync, rename).

    The temporary file is named ``.{name}.XXXXXXXX.tmp``; a process killed mid-write leaves it
    behind, and resuming the run deletes it (seqgan_gp.rundir). The file gets the permissions a
    plain write would, so a run shared through a group stays readable.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
