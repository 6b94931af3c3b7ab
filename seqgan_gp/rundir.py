"""Run directories: the artefacts of one training run.

Layout::

    RUN_DIR/
      config.json           every hyperparameter, the tokenizer, versions and the command line
      metrics.jsonl         one JSON record per logged iteration
      samples/              decoded samples (text) or PNG grids (image) every --sample-every
      checkpoints/          checkpoint_<iteration>.safetensors, the newest --keep-checkpoints kept
      .lock                 the process writing the run (pid, host, start time; seqgan_gp.runlock)

Every write that can fail for want of space or permission raises :class:`UserError` naming the
file and the fix, so a full disk stops a run with one clear line; the checkpoint already on disk
stays intact (checkpoint writes are atomic, seqgan_gp.checkpoint).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from seqgan_gp.atomic import atomic_write_text
from seqgan_gp.errors import UserError
from seqgan_gp.messages import option
from seqgan_gp.runlayout import FORMAT, inspect_folder, is_run_config, read_metrics, shown
from seqgan_gp.runlock import release_lock, take_lock

CKPT_RE = re.compile(r"^checkpoint_(\d+)\.safetensors$")


def next_run_dir(root: Path, name: str) -> Path:
    """``root/NNNNN-name`` with NNNNN one more than the highest number already there."""
    root = Path(root)
    numbers = [int(p.name[:5]) for p in root.glob("[0-9][0-9][0-9][0-9][0-9]-*")] if root.is_dir() else []
    return root / f"{max(numbers, default=-1) + 1:05d}-{name}"


class RunDir:
    """A run directory opened for writing by this process."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.samples = self.path / "samples"
        self.checkpoints = self.path / "checkpoints"
        self.config_path = self.path / "config.json"
        self.metrics_path = self.path / "metrics.jsonl"
        self._lock = self.path / ".lock"
        self._lock_fd: int | None = None  # holds the kernel's lock while this process works in the run
        self._pending = False  # a resumed run before its first write: folders and temp files not yet tidied
        self._replaced: Path | None = None  # --overwrite: the old run, until the new one writes its config
        self._unused: Path | str | None = None  # a fresh run before its first write: the topmost folder it made, or "empty"

    # -- creation ------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: Path, *, overwrite: bool = False) -> RunDir:
        """Make a fresh run directory. An existing folder must be empty, or with ``overwrite`` a
        seqgan_gp run that holds nothing else (seqgan_gp.runlayout); anything else is refused."""
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise UserError(f"--out {path}: exists and is not a directory; choose another --out")
        if _refuse_existing(path, overwrite):  # a run to replace: checked again once it is locked
            run = cls(path)
            run.lock()
            try:
                _refuse_existing(path, overwrite)
                run._set_aside()  # deleted at the new run's first write; a refused start puts it back
            except BaseException:
                run.unlock()
                raise
        else:
            made = next((p for p in reversed([path, *path.parents]) if not p.exists()), None)  # topmost new folder
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UserError(f"--out {path}: cannot create the run directory ({exc.strerror}); choose a writable --out") from None
            run = cls(path)
            run.lock()
            run._unused = made or "empty"  # a refused start leaves no directory behind
        run.samples.mkdir(exist_ok=True)
        run.checkpoints.mkdir(exist_ok=True)
        return run

    @classmethod
    def open_existing(cls, path: Path) -> RunDir:
        """Open a run directory to resume it: lock it and change nothing (its missing folders are made,
        and half-written temporary files of a killed process deleted, at the first write)."""
        path = Path(path)
        run = cls(path)
        if not run.config_path.is_file():
            raise UserError(f"--resume {path}: no config.json there; pass the directory of a seqgan_gp run")
        for folder in (run.samples, run.checkpoints):
            if folder.exists() and not folder.is_dir():
                raise UserError(f"--resume {path}: {folder} is a file, not the run's {folder.name}/ folder; move it "
                                f"out of the run directory, then resume")
        run.lock()
        run._pending = True
        return run

    # -- locking -------------------------------------------------------------------------------
    def lock(self) -> None:
        """Take the run's lock (seqgan_gp.runlock): refuse if another process holds it."""
        self._check_writable()
        self._lock_fd = take_lock(self._lock, self.path)

    def unlock(self) -> None:
        self._restore_replaced()
        if self._unused is not None:  # refused before its first write: nothing of it is worth keeping
            self._remove_children(keep=(".lock",))
        if self._lock_fd is not None:
            release_lock(self._lock, self._lock_fd)
            self._lock_fd = None
        if isinstance(self._unused, Path):  # this process made the folders: remove them up to the topmost
            for folder in [self.path, *self.path.parents]:
                if any(folder.iterdir()):
                    break
                folder.rmdir()
                if folder == self._unused:
                    break
        self._unused = None

    def _set_aside(self) -> None:
        """--overwrite: move the old run into a hidden folder of the run directory (renames, no copy)."""
        self._replaced = self.path / f".replaced-{os.getpid()}"
        self._replaced.mkdir()
        for child in list(self.path.iterdir()):
            if child.name not in (".lock", self._replaced.name):
                child.rename(self._replaced / child.name)

    def _restore_replaced(self) -> None:
        """The new run stopped before its first write (a bad input): put the old run back as it was."""
        if self._replaced is None:
            return
        self._remove_children(keep=(".lock", self._replaced.name))  # empty folders, loggers' files of the refused run
        for child in list(self._replaced.iterdir()):
            child.rename(self.path / child.name)
        self._replaced.rmdir()
        self._replaced = None

    def _remove_children(self, keep: tuple[str, ...]) -> None:
        for child in list(self.path.iterdir()):
            if child.name not in keep:
                shutil.rmtree(child) if child.is_dir() else child.unlink()

    def _check_writable(self) -> None:
        if not os.access(self.path, os.W_OK):
            raise UserError(f"{self.path}: run directory is not writable; fix its permissions or choose another --out")

    def _remove_stale_temp_files(self) -> None:
        """Delete half-written temporary files (seqgan_gp.checkpoint's atomic writes) of a killed process.

        Only called with the lock held, so no live writer owns them; each may be as big as a checkpoint.
        """
        for folder in (self.path, self.checkpoints):
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    def _write_failed(self, path: Path, what: str, exc: OSError) -> UserError:
        return UserError(f"{path}: could not write {what} ({exc.strerror}); free disk space or fix permissions, "
                         f"then continue with {option('--resume', self.path)}")

    # -- config and metrics ----------------------------------------------------------------------
    def write_config(self, config: dict) -> None:
        """Write config.json, the first write of every run; with --overwrite the old run goes only now,
        after every input of the new one was accepted."""
        if self._replaced is not None:
            shutil.rmtree(self._replaced)
            self._replaced = None
        self._unused = None
        if self._pending:  # a resumed run, every input accepted: its first write
            self._pending = False
            try:
                self.samples.mkdir(exist_ok=True)
                self.checkpoints.mkdir(exist_ok=True)
            except OSError as exc:
                raise self._write_failed(exc.filename or self.path, "the run's folders", exc) from None
            self._remove_stale_temp_files()
        try:
            atomic_write_text(self.config_path, json.dumps({"format": FORMAT, **config}, indent=2) + "\n")
        except OSError as exc:
            raise UserError(f"{self.config_path}: could not write the run's configuration ({exc.strerror}); "
                            f"free disk space or fix permissions, then run the same command again (with --overwrite "
                            f"if it started this run)") from None

    def read_config(self) -> dict:
        return read_config(self.path)

    def append_metrics(self, record: dict) -> None:
        """Append one record and fsync it; a failed write is a UserError (the run resumes from its
        newest checkpoint, and the resume drops records after it)."""
        try:
            with open(self.metrics_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise self._write_failed(self.metrics_path, f"the metrics of iteration {record.get('iteration')}",
                                     exc) from None

    def truncate_metrics(self, last_iteration: int) -> None:
        """Drop records after ``last_iteration`` (and a torn last line) before a resume."""
        if not self.metrics_path.exists():
            return
        keep = [line for line in read_metrics(self.metrics_path) if line["iteration"] <= last_iteration]
        try:
            atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in keep))
        except OSError as exc:
            raise self._write_failed(self.metrics_path, "the metrics log", exc) from None

    def metrics(self) -> list[dict]:
        return read_metrics(self.metrics_path) if self.metrics_path.exists() else []

    # -- checkpoints -----------------------------------------------------------------------------
    def checkpoint_path(self, iteration: int) -> Path:
        return self.checkpoints / f"checkpoint_{iteration:08d}.safetensors"

    def prune_checkpoints(self, keep: int) -> None:
        """Delete all but the newest ``keep`` checkpoints (called after a new one is on disk)."""
        if keep <= 0:
            return
        for old in list_checkpoints(self.path)[:-keep]:
            old.unlink(missing_ok=True)


def _refuse_existing(path: Path, overwrite: bool) -> bool:
    """Whether ``path`` holds a run that ``overwrite`` replaces (False: missing or empty); a
    UserError for a run without ``overwrite``, for a run with files it did not write, and for any
    other folder, which no flag replaces."""
    found = inspect_folder(path)
    if found.state in ("missing", "empty"):
        return False
    if found.state == "other":
        hint = "; --overwrite replaces only seqgan_gp runs" if overwrite else ""
        held = sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir())
        raise UserError(f"--out {path}: the folder is not empty and is not a seqgan_gp run ({found.why}; it holds "
                        f"{shown(held)}){hint}; choose another --out (a new or empty folder)")
    if found.foreign:
        raise UserError(f"--out {path}: holds a seqgan_gp run and also files seqgan_gp did not write "
                        f"({shown(found.foreign)}); nothing was replaced: move those files out of the folder, or "
                        f"use {option('--resume', path)} to continue the run, or another --out")
    if not overwrite:
        raise UserError(f"--out {path}: directory already holds a run; use {option('--resume', path)} to "
                        f"continue it, --overwrite to replace it, or another --out")
    return True


def read_config(run_path: Path) -> dict:
    """A run's config.json, checked to be one that seqgan_gp wrote (a JSON object naming its kind)."""
    path = Path(run_path) / "config.json"
    fix = "restore it from a backup (every checkpoint holds the run's configuration) or start a new run"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: missing; {run_path} is not a seqgan_gp run directory") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: does not parse as JSON ({exc}); {fix}") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror}); make it readable") from None
    if not isinstance(doc, dict):
        raise UserError(f"{path}: a JSON {type(doc).__name__}, not a run's configuration (a JSON object); {fix}")
    if not is_run_config(doc):
        raise UserError(f"{path}: not written by seqgan_gp (no \"kind\" of run, no format marker); {fix}")
    return doc


def list_checkpoints(run_path: Path) -> list[Path]:
    """Checkpoint files of a run, oldest first."""
    folder = Path(run_path) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := CKPT_RE.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(run_path: Path) -> Path:
    folder = Path(run_path) / "checkpoints"
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder}: a file, not the run's checkpoints/ folder; move it out of the run directory "
                        f"(seqgan_gp did not write it)")
    found = list_checkpoints(run_path)
    if not found and not (Path(run_path) / "config.json").is_file():
        raise UserError(f"{run_path}: not a run directory (no config.json, no checkpoints/); pass a run "
                        f"directory or a .safetensors checkpoint")
    if not found:
        raise UserError(f"{run_path}: no checkpoints/checkpoint_*.safetensors in this run; it stopped before its "
                        f"first checkpoint, so start it again with {option('--out', run_path)} --overwrite")
    return found[-1]


def resolve_checkpoint(target: Path) -> Path:
    """A run directory (its newest checkpoint) or a checkpoint file."""
    target = Path(target)
    if target.is_dir():
        return latest_checkpoint(target)
    if not target.exists():
        raise UserError(f"{target}: no such run directory or checkpoint file")
    return target
