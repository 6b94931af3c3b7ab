"""What a run directory holds, told apart from any other folder, and its metrics log read as input.

``--overwrite`` deletes a folder, so it must know that the folder is a seqgan_gp run and holds
nothing else: :func:`inspect_folder` says whether a folder is empty, a run (its config.json was
written by seqgan_gp, and it has a checkpoints/ folder or is an experiment's), or something
else, and lists every file in it that seqgan_gp does not write (:data:`RUN_FILES`). A folder
with such files is not replaced, whatever else it holds.

metrics.jsonl is input too: :func:`read_metrics` accepts a torn last line (a process killed
mid-write) and refuses anything else that is not a record, naming the line.
"""

from __future__ import annotations

import fnmatch
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from seqgan_gp.errors import UserError

FORMAT = "seqgan_gp"  # config.json's "format" (older runs: recognised by "versions" naming seqgan_gp)

RUN_FILES: dict[str, tuple[str, ...]] = {
    # what seqgan_gp writes, by folder of the run directory ("" is the top): fnmatch patterns. A
    # command that writes a new kind of file into run directories adds its pattern here.
    "": ("config.json", "metrics.jsonl", "metrics.json", "log.txt", "losses.png", "results.json",
         "value_surfaces.png", "gradient_norms.png", "weight_histograms.png", "frontier.png",
         ".lock", ".*.tmp", ".replaced-*"),
    "samples": ("samples_*.txt", "samples_*.png", "frame_*.png", "sample_*.png", ".*.tmp"),
    "checkpoints": ("checkpoint_*.safetensors", ".*.tmp"),
    "plots": ("*.png",),
    "tensorboard": ("events.out.tfevents.*",),
}
FOLDERS = tuple(k for k in RUN_FILES if k)
EMPTY_PARTS = frozenset({".lock", "samples", "checkpoints"})  # what a start that wrote nothing leaves


def is_run_config(doc) -> bool:
    """Whether a parsed config.json was written by seqgan_gp (its format marker, or for runs older
    than the marker the seqgan_gp version it records) and names its kind of run."""
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
        return False
    versions = doc.get("versions")
    return doc.get("format") == FORMAT or (isinstance(versions, dict) and "seqgan_gp" in versions)


@dataclass
class Folder:
    """What :func:`inspect_folder` found."""

    state: str  # "missing", "empty", "run" or "other"
    why: str = ""  # for "other": why it is not a run
    foreign: list[str] = field(default_factory=list)  # files and folders seqgan_gp does not write (relative paths)


def _foreign(path: Path, limit: int = 1000) -> list[str]:
    """Entries under ``path`` that match no pattern of :data:`RUN_FILES` (at most ``limit``)."""
    out: list[str] = []
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        if entry.name in FOLDERS and entry.is_dir(follow_symlinks=False):
            patterns = RUN_FILES[entry.name]
            for sub in sorted(os.scandir(entry.path), key=lambda e: e.name):
                if not (sub.is_file(follow_symlinks=False) and any(fnmatch.fnmatch(sub.name, p) for p in patterns)):
                    out.append(f"{entry.name}/{sub.name}")
        elif not (entry.is_file(follow_symlinks=False) and any(fnmatch.fnmatch(entry.name, p) for p in RUN_FILES[""])):
            out.append(entry.name + ("/" if entry.is_dir(follow_symlinks=False) else ""))
        if len(out) >= limit:
            break
    return out


def _leftover(entry: os.DirEntry) -> bool:
    """Part of what a start that wrote nothing leaves: its lock file, its empty folders."""
    if entry.name == ".lock":
        return entry.is_file(follow_symlinks=False)
    return entry.name in EMPTY_PARTS and entry.is_dir(follow_symlinks=False) and not any(os.scandir(entry.path))


def inspect_folder(path: Path) -> Folder:
    """Whether ``path`` is missing, empty (or holds only the empty folders of a start that wrote
    nothing), a seqgan_gp run with nothing else in it, or anything else (``foreign`` lists the files
    that are not a run's)."""
    path = Path(path)
    if not path.is_dir():
        return Folder("missing")
    if all(_leftover(entry) for entry in os.scandir(path)):
        return Folder("empty")
    foreign = _foreign(path)
    config = path / "config.json"
    try:
        doc = json.loads(config.read_text(encoding="utf-8")) if config.is_file() else None
    except (OSError, ValueError):
        return Folder("other", f"its {config.name} is not a readable JSON document", foreign)
    if doc is None:
        return Folder("other", "it has no config.json", foreign)
    if not is_run_config(doc):
        return Folder("other", "its config.json was not written by seqgan_gp", foreign)
    checkpoints = path / "checkpoints"
    if doc["kind"] != "experiment" and not (checkpoints.is_dir() and not checkpoints.is_symlink()):
        return Folder("other", "it has no checkpoints/ folder", foreign)
    return Folder("run", foreign=foreign)


def shown(names: list[str], most: int = 5) -> str:
    """``a, b, c`` and how many more."""
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def read_metrics(path: Path) -> list[dict]:
    """The records of a metrics.jsonl; a torn last line (a killed writer) is left out, any other line
    that is not a JSON record with a whole ``iteration`` >= 0 is a UserError naming it."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror}); make it readable") from None
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    records = []
    for number, raw in enumerate(lines, start=1):
        record, problem = _record(raw)
        if problem is None:
            records.append(record)
        elif number < len(lines):  # the last line may be torn by a kill; any other is damage
            raise UserError(f"{path}: line {number} {problem}; the file was damaged or edited: delete that line "
                            f"(every record after the newest checkpoint is written again on resume) or restore "
                            f"the file")
    return records


def _record(raw: bytes) -> tuple[dict | None, str | None]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "is not UTF-8 text"
    try:
        record = json.loads(text)
    except ValueError:
        return None, "is not JSON"
    if not isinstance(record, dict):
        return None, f"is a JSON {type(record).__name__}, not a record"
    it = record.get("iteration")
    if not isinstance(it, int) or isinstance(it, bool) or it < 0:
        return None, f"has iteration {it!r}, not a whole number >= 0"
    return record, None
