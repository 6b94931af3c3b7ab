"""Plain UTF-8 text files, one sentence a line."""

from __future__ import annotations

from pathlib import Path

from corpora import CorpusError


def read_lines(path: Path, max_examples: int | None = None) -> tuple[list[str], int]:
    """Non-empty lines of a UTF-8 file and the number of undecodable bytes replaced by U+FFFD."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"--corpus {path}: no such file; give a UTF-8 text file with one sentence a line")
    if path.is_dir():
        raise CorpusError(f"--corpus {path}: is a directory; give a UTF-8 text file with one sentence a line")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"--corpus {path}: cannot be read ({exc.strerror}); check its permissions") from None
    if b"\x00" in data[:65536]:
        raise CorpusError(f"--corpus {path}: looks binary (NUL bytes); give a UTF-8 text file with one sentence a line")
    text = data.decode("utf-8", errors="replace")
    replaced = text.count("\ufffd") - data.decode("utf-8", errors="ignore").count("\ufffd")
    lines = [line.rstrip("\r") for line in text.split("\n")]
    lines = [line for line in lines if line.strip()]
    if max_examples is not None:
        lines = lines[:max_examples]
    if not lines:
        raise CorpusError(f"--corpus {path}: the file holds no non-empty lines; one sentence a line is expected")
    return lines, replaced
