"""The lock file of a run directory: one process writes a run at a time.

The lock records the writer's pid, host name and start time, so a pid reused after a crash or a
reboot does not keep a dead run locked, and a dead writer's lock is recovered; a live writer's, or
one on another host sharing the disk, is respected with a message naming it.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from seqgan_gp.errors import UserError


def take_lock(lock: Path, run_path: Path) -> None:
    """Create ``lock`` for this process; refuse if a live process holds it, recover a dead one's.

    Two processes recovering the same stale lock at the same instant are not told apart (the window
    is a few microseconds).
    """
    try:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            _refuse_if_held(lock, run_path)
            lock.unlink(missing_ok=True)  # its writer is dead: recover the run
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(_lock_owner()))
    except OSError as exc:
        raise UserError(f"{lock}: cannot write the run's lock file ({exc.strerror}); free disk space, "
                        f"fix permissions or choose another --out") from None


def _refuse_if_held(lock: Path, run_path: Path) -> None:
    """Raise UserError if the existing lock file belongs to another live process."""
    try:
        owner = _read_owner(lock.read_text())
        age = time.time() - lock.stat().st_mtime
    except FileNotFoundError:
        return  # released meanwhile
    if owner["pid"] == 0 and age < 2:
        owner = {"pid": -1}  # empty: another process created it an instant ago and is writing its pid
    elif owner["pid"] == os.getpid() or not _owner_alive(owner):
        return
    who = f"pid {owner['pid']}" if owner["pid"] > 0 else "a process starting right now"
    if owner.get("host") not in (None, socket.gethostname()):
        who += f" on {owner['host']}"
    raise UserError(f"{run_path}: another process ({who}) is training in this run directory; wait for it "
                    f"or choose another --out (if that process is gone, delete {lock})")


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


def _read_owner(text: str) -> dict:
    """The owner recorded in a lock file; a bare pid (older lock files) is accepted."""
    try:
        owner = json.loads(text)
    except json.JSONDecodeError:
        owner = None
    if isinstance(owner, int):
        owner = {"pid": owner}
    return owner if isinstance(owner, dict) and isinstance(owner.get("pid"), int) else {"pid": 0}


def _owner_alive(owner: dict) -> bool:
    """Whether the process that wrote a lock still runs: its pid is alive and was not reused since."""
    pid = owner["pid"]
    if pid <= 0:
        return False  # an empty or torn lock file: its writer died while taking it
    if owner.get("host") not in (None, socket.gethostname()):
        return True  # another machine on a shared disk: we cannot tell, so we do not take its run
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    start = owner.get("start")
    return start is None or start == _start_time(pid)  # a different start time: the pid was reused
