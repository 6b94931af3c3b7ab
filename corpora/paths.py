"""What a corpus path is, decided from stat(2) before anything opens it.

Opening a named pipe blocks until a writer appears, and a pipe, a terminal or a device can be
read only once (or never ends); the encoded-corpus cache must hash a corpus before it encodes it
and may read it twice (a vocabulary pass, an encoding pass). Streaming a pipe would mean spooling
it to disk first, which is what the user can do in one command, knowing where the space is. So
every path a source reads is checked with ``os.stat`` (which never blocks) and only regular files
and directories are accepted; everything else is refused with one line that says what the path
is and what to pass instead. Errors while reading an accepted file are :func:`read_error` s,
never blamed on the cache.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from corpora import CorpusError

FILE, DIRECTORY = "file", "directory"
TEXT_FIX = "give a UTF-8 text file with one sentence a line"
_SAVE = "save the text to a file first (e.g. some_command > corpus.txt) and pass that file"
_SPECIAL = {
    stat.S_IFIFO: ("a named pipe (a FIFO, or a shell's process substitution like <(cat file))",
                   "it can be read only once, but the corpus cache must hash the corpus before encoding it "
                   "and may read it twice"),
    stat.S_IFCHR: ("a character device (a terminal, /dev/stdin or a device like /dev/zero)",
                   "it can be read only once or never ends"),
    stat.S_IFBLK: ("a block device (a disk or partition)", "it is not a text file"),
    stat.S_IFSOCK: ("a socket", "it cannot be read as a file"),
}


def path_kind(path, *, flag: str = "--corpus", fix: str = TEXT_FIX) -> str:
    """``FILE`` or ``DIRECTORY``; a CorpusError naming ``flag`` and ``path`` for anything else.

    Refused: a missing path, a dangling symbolic link, a symbolic-link loop, a path that cannot be
    looked at (permissions), a named pipe, a character or block device and a socket.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise CorpusError(_unusable(path, exc, flag, fix)) from None
    if stat.S_ISREG(mode):
        return FILE
    if stat.S_ISDIR(mode):
        return DIRECTORY
    what, why = _SPECIAL.get(stat.S_IFMT(mode), ("not a regular file", "it cannot be read as text"))
    if not stat.S_ISFIFO(mode):
        how = _SAVE
    elif str(path).startswith(("/dev/fd/", "/proc/")):  # <(cmd): the pipe is gone once the command ends
        how = "write the command's output to a file instead (some_command > corpus.txt, not <(some_command)) " \
              "and pass that file"
    else:
        how = f"copy it to a file first (cat {path} > corpus.txt, or redirect the command that writes it) and " \
              f"pass that file"
    raise CorpusError(f"{flag} {path}: is {what}, not a file: {why}; {how}")


def _unusable(path: Path, exc: OSError, flag: str, fix: str) -> str:
    if exc.errno == errno.ELOOP:
        return (f"{flag} {path}: is a symbolic link loop ({_link_chain(path)}); point the link at the real "
                f"file or pass the file itself")
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return (f"{flag} {path}: is a dangling symbolic link (it points to {os.readlink(path)}, which does "
                f"not exist); point the link at the real file or pass the file itself")
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return f"{flag} {path}: no such file; {fix}"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (f"{flag} {path}: cannot be read ({exc.strerror}); make it readable (check the permissions "
                f"of the file and its folders) or {fix}")
    return f"{flag} {path}: cannot be read ({exc.strerror or exc}); {fix}"


def _link_chain(path: Path, hops: int = 6) -> str:
    """``a -> b -> a`` for a loop of links, as far as readlink can follow it."""
    chain, current = [str(path)], path
    for _ in range(hops):
        try:
            target = os.readlink(current)
        except OSError:
            return " -> ".join(chain + ["..."]) if len(chain) > 1 else "a folder on the way loops"
        current = Path(os.path.join(os.path.dirname(current), target))
        chain.append(target)
        if target in chain[:-1] or str(current) in chain[:-1]:
            return " -> ".join(chain)
    return " -> ".join(chain + ["..."])


def read_error(path, exc: OSError, offset: int | None = None) -> CorpusError:
    """A read failure of an accepted corpus file (I/O error, vanished, permission), naming it."""
    where = f" after {offset:,} bytes" if offset else ""
    name = errno.errorcode.get(exc.errno, "") if exc.errno else ""
    reason = f"{exc.strerror or exc}{f', {name}' if name else ''}"
    if exc.errno in (errno.ENOENT, errno.ESTALE):
        hint = "it was there when the command started: was it moved or deleted meanwhile? restore it and run again"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        hint = "make it readable (check the permissions of the file and its folders)"
    elif exc.errno == errno.EISDIR:
        hint = "a directory stands where a file is expected; pass the file itself"
    else:
        hint = "the file or its disk has a problem: check it (e.g. copy it elsewhere) and run again"
    return CorpusError(f"read error on {path}{where} ({reason}); {hint}")
