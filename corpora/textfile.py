"""Plain UTF-8 text files, one sentence a line, read in bounded-memory chunks.

:func:`line_chunks` is the one reader of raw text (plain files and the One Billion Word shards):
it reads large binary blocks, cuts them at the last newline (a newline byte never occurs inside a
multi-byte UTF-8 character, so no character is split), decodes with U+FFFD replacement and counts
the replacements instead of failing. Memory is one block, whatever the file size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional

from corpora import CorpusError

BLOCK_BYTES = 8 << 20
_FFFD = "\ufffd".encode("utf-8")


@dataclass
class Chunk:
    """Consecutive sentences of a source, with the raw bytes they took and replacements made."""

    lines: list[str]
    nbytes: int = 0  # raw bytes read for these lines (progress and MB/s)
    replaced: int = 0  # undecodable byte sequences replaced by U+FFFD


def _decode(data: bytes) -> tuple[str, int]:
    text = data.decode("utf-8", errors="replace")
    if "\ufffd" not in text:
        return text, 0
    return text, text.count("\ufffd") - data.count(_FFFD)


def check_text_file(path: Path) -> None:
    """A CorpusError naming ``path`` unless it is a readable file that does not look binary."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"--corpus {path}: no such file; give a UTF-8 text file with one sentence a line")
    if path.is_dir():
        raise CorpusError(f"--corpus {path}: is a directory without .txt/.jsonl/.csv/.parquet files "
                          f"or a saved dataset; give a UTF-8 text file with one sentence a line")
    try:
        with open(path, "rb") as f:
            head = f.read(65536)
    except OSError as exc:
        raise CorpusError(f"--corpus {path}: cannot be read ({exc.strerror}); check its permissions") from None
    if b"\x00" in head:
        raise CorpusError(f"--corpus {path}: looks binary (NUL bytes); give a UTF-8 text file with one sentence a line")


def line_chunks(paths: Iterable[Path], *, max_lines: Optional[int] = None, keep_blank: bool = False,
                block_bytes: int = BLOCK_BYTES) -> Iterator[Chunk]:
    """Lines of the files in order, at most ``max_lines`` in all, as chunks of about a block.

    ``keep_blank=True`` is the paper's reading of One Billion Word: every line, only its trailing
    newline removed. Otherwise (plain text files) a trailing carriage return is removed too and
    whitespace-only lines are skipped.
    """
    n = 0
    for path in paths:
        with open(path, "rb") as f:
            tail = b""
            while True:
                block = f.read(block_bytes)
                if block:
                    data = tail + block
                    cut = data.rfind(b"\n")
                    if cut < 0:
                        tail = data
                        continue
                    data, tail = data[: cut + 1], data[cut + 1 :]
                else:
                    data, tail = tail, b""
                    if not data:
                        break
                text, replaced = _decode(data)
                lines = text.split("\n")
                if lines and lines[-1] == "":
                    lines.pop()  # the piece after the final newline
                if not keep_blank:
                    lines = [l[:-1] if l.endswith("\r") else l for l in lines]
                    lines = [l for l in lines if l.strip()]
                if max_lines is not None and n + len(lines) >= max_lines:
                    lines = lines[: max_lines - n]
                    yield Chunk(lines, len(data), replaced)
                    return
                n += len(lines)
                yield Chunk(lines, len(data), replaced)
                if not block:
                    break


def read_lines(path: Path, max_examples: int | None = None) -> tuple[list[str], int]:
    """Non-empty lines of a UTF-8 file and the number of undecodable bytes replaced by U+FFFD."""
    path = Path(path)
    check_text_file(path)
    lines, replaced = [], 0
    for chunk in line_chunks([path], max_lines=max_examples):
        lines.extend(chunk.lines)
        replaced += chunk.replaced
    if not lines:
        raise CorpusError(f"--corpus {path}: the file holds no non-empty lines; one sentence a line is expected")
    return lines, replaced
