"""Where a command writes: every ``--out`` checked before the work starts.

An evaluation of minutes must not end in a traceback because its file cannot be written, and an
empty ``--out ""`` must not quietly mean "the current folder" or "the default". A file output
must name a file (not a folder) in an existing, writable folder, and be a regular file if it
exists (a FIFO would block the write forever); a folder output must not be an existing file.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from seqgan_gp.errors import UserError
from seqgan_gp.messages import option


def given_path(value, flag: str, example: str) -> Path:
    """``value`` as a path; a UserError for an empty one (``Path("")`` is the current folder)."""
    if value is None or not str(value).strip():
        raise UserError(f"{flag} {value!r}: empty; give a name, e.g. {flag} {example}")
    return Path(str(value)).expanduser()


def output_file(value, flag: str = "--out", example: str = "out.txt") -> Path:
    """``value`` as a file the command can write, else a UserError naming the flag and the fix."""
    path = given_path(value, flag, example)
    if path.is_dir():
        raise UserError(f"{option(flag, path)}: a folder, and a file is written here; give a file name, e.g. "
                        f"{option(flag, path / example)}")
    if path.exists() and not path.is_file():
        raise UserError(f"{option(flag, path)}: not a regular file (a pipe, socket or device); give a file name")
    parent = path.parent
    if not parent.is_dir():
        what = "is a file" if parent.exists() else "does not exist"
        raise UserError(f"{option(flag, path)}: the folder {parent} {what}; create the folder first "
                        f"(mkdir -p {shlex.quote(str(parent))}) or choose another {flag}")
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(f"{option(flag, path)}: the file is not writable; fix its permissions or choose another {flag}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{option(flag, path)}: the folder {parent} is not writable; fix its permissions or choose "
                        f"another {flag}")
    return path


def output_folder(value, flag: str = "--out", example: str = "runs/mine") -> Path:
    """``value`` as a folder to create or write into, else a UserError naming the flag and the fix (a
    run directory's own checks, seqgan_gp.rundir, come when it is opened)."""
    path = given_path(value, flag, example)
    if path.exists() and not path.is_dir():
        raise UserError(f"{option(flag, path)}: exists and is not a folder; choose another {flag}")
    return path
