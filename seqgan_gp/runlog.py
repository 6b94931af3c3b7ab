"""A run's log.txt: everything a training command prints, also written to its run directory.

:class:`RunConsole` is a rich console that, once :meth:`RunConsole.log_to` names a file, writes
every line it prints there as well, as plain text (no colours, no progress bars): the header, the
notes and warnings, the progress lines, an error that ends the run, the final summary. A resumed
run appends to the same file after a separator line, so log.txt tells the whole history of a run.
What is printed before the run has accepted its inputs is held back until :meth:`RunConsole.commit_log`
(a refused ``--resume`` changes no file of the run, log.txt included). The live progress bar of a
terminal is not text and is not copied; the progress module writes its plain lines to the log
instead (:meth:`RunConsole.log_only`).
"""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from typing import Optional, TextIO

from rich.console import Console, NewLine
from rich.control import Control

LOG_WIDTH = 120  # columns of tables in log.txt (a pipe's console has 80)


class RunConsole(Console):
    """A rich console that also writes what it prints to a log file (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_terminal and "soft_wrap" not in kwargs:
            self.soft_wrap = True  # a pipe or a file has no width: long lines stay whole instead of breaking at 80
        self._log: Optional[Console] = None  # renders what is printed as plain text into _target
        self._target: Optional[TextIO] = None  # the held-back text (io.StringIO), then the open log file
        self._path: Optional[Path] = None

    def log_to(self, path: Path, *, note: str = "") -> None:
        """From now on also log to ``path``, first held back in memory until :meth:`commit_log` appends it
        there after a separator line with the time and ``note``."""
        self.close_log()
        self._path, self._target = Path(path), io.StringIO()
        self._log = Console(file=self._target, width=LOG_WIDTH, color_system=None, force_terminal=False,
                            force_jupyter=False, highlight=False, emoji=False, soft_wrap=True)
        stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        self.log_only(f"──── {stamp} {note}".rstrip() + " ────")

    def commit_log(self) -> None:
        """The run has accepted its inputs: append what was held back to the file and go on writing there."""
        if self._log is None or not isinstance(self._target, io.StringIO):
            return
        held = self._target.getvalue()
        resumed = self._path.is_file() and self._path.stat().st_size > 0
        self._target = open(self._path, "a", encoding="utf-8")  # noqa: SIM115 (held until close_log)
        self._target.write(("\n" if resumed else "") + held)
        self._target.flush()
        self._log.file = self._target

    def print(self, *objects, **kwargs) -> None:
        super().print(*objects, **kwargs)
        if self._log is not None and objects and not all(isinstance(o, (Control, NewLine)) for o in objects):
            self._log.print(*objects, **kwargs)  # a live display's refreshes and its last line feed: not text
            self._target.flush()

    def log_only(self, text: str) -> None:
        """Write ``text`` (plain, no markup) to the log only; nothing when there is none."""
        if self._target is not None:
            self._target.write(text + "\n")
            self._target.flush()

    def close_log(self) -> None:
        """Close the log file; text still held back (a run that never accepted its inputs) is dropped."""
        if self._target is not None:
            self._target.close()
        self._log, self._target, self._path = None, None, None


def log_only(console: Console, text: str) -> None:
    """``console.log_only(text)`` for a :class:`RunConsole`; nothing for another console."""
    if isinstance(console, RunConsole):
        console.log_only(text)


def commit_log(console: Console) -> None:
    """``console.commit_log()`` for a :class:`RunConsole`; nothing for another console."""
    if isinstance(console, RunConsole):
        console.commit_log()
