"""The lock of a run directory: one process writes a run at a time.

The lock is the kernel's: ``fcntl.flock`` on the run's ``.lock`` file, held for as long as the
process works in the run. The kernel releases it when the process ends, however it ends (kill -9,
an out-of-memory kill, a power cut of the machine that held it), so a crashed run never stays
locked and no guess about dead or reused pids is needed. The file also records the holder's pid,
host name and start time, for the message that refuses a second process. On a network file
system, flock works across machines where the file system supports it (NFS emulates it with
byte-range locks); one that supports no lock at all is refused rather than trusted.

Taking the lock: open (or create) the file, try the lock without waiting, then check that the
file locked is still the one at the path (a holder that finished unlinks the file before it
closes it; locking the unlinked file would lock nothing), else try again. Releasing: unlink, then
close.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
from pathlib import Path

from seqgan_gp.errors import UserError


def take_lock(lock: Path, run_path: Path) -> int:
    """Lock ``run_path`` through the file ``lock``; returns the descriptor that holds the lock (pass
    it to :func:`release_lock`). A UserError names the holder when another process has it."""
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise UserError(f"{lock}: cannot write the run's lock file ({exc.strerror}); free disk space, "
                            f"fix permissions or choose another --out") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            owner = _read_owner(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise UserError(f"{run_path}: another process ({_describe(owner)}) is training in this run "
                                f"directory; wait for it or choose another --out") from None
            raise UserError(f"{lock}: the file system refuses locks ({exc.strerror}); without a lock two "
                            f"processes could write one run, so choose an --out on a local disk") from None
        if _same_file(fd, lock):
            break
        os.close(fd)  # its holder removed it between our open and our lock: take the new one
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(_lock_owner()).encode(), 0)
    except OSError as exc:
        release_lock(lock, fd)
        raise UserError(f"{lock}: cannot write the run's lock file ({exc.strerror}); free disk space, "
                        f"fix permissions or choose another --out") from None
    return fd


def release_lock(lock: Path, fd: int) -> None:
    """Remove the lock file and release the lock (in that order: see the module's docstring)."""
    try:
        if _same_file(fd, lock):
            lock.unlink()
    finally:
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def _describe(owner: dict) -> str:
    pid = owner.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return "a process starting right now"  # it holds the lock but has not written its name yet
    host = owner.get("host")
    return f"pid {pid}" + (f" on {host}" if isinstance(host, str) and host != socket.gethostname() else "")


def _start_time(pid: int) -> str | None:
    """When ``pid`` started, in clock ticks since boot (Linux /proc); None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # after "pid (comm)": state is field 3, starttime field 22
    return fields[19] if len(fields) > 19 else None


def _lock_owner() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(), "start": _start_time(os.getpid())}


def _read_owner(fd: int) -> dict:
    """The holder a lock file names (what it wrote after taking the lock); {} if nothing readable yet."""
    try:
        owner = json.loads(os.pread(fd, 4096, 0))
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}
