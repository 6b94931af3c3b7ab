"""Plain UTF-8 text files, one sentence a line, read in bounded-memory chunks.

:func:`line_chunks` is the one reader of raw text (plain files and the One Billion Word shards):
it reads large binary blocks, cuts them at the last newline (a newline byte never occurs inside a
multi-byte UTF-8 character, so no character is split), decodes with U+FFFD replacement and counts
the replacements instead of failing. Memory is one block, whatever the file size.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Iterator, Optional

import numpy as np

from corpora import CorpusError

BLOCK_BYTES = 2 << 20
_FFFD = "\ufffd".encode("utf-8")


class Chunk:
    """Consecutive sentences of a source, with the raw bytes they took and replacements made.

    The sentences are available as a list (``lines``), joined by newlines (``text``) or, from the
    paper's One Billion Word reader, as the raw UTF-8 bytes (``raw``, newline-terminated lines
    that the character encoder reads without decoding); what is not given is made on demand.
    """

    def __init__(self, lines: Optional[list[str]] = None, nbytes: int = 0, replaced: int = 0, *,
                 raw: Optional[bytes] = None, n: Optional[int] = None, newlines: Optional[np.ndarray] = None):
        self._lines, self._text, self.raw = lines, None, raw
        self.newlines = newlines  # positions of b"\n" in raw, when the reader found them
        self.n = len(lines) if lines is not None else n  # number of sentences
        self.nbytes = nbytes  # raw bytes read for these lines (progress and MB/s)
        self._replaced = replaced if raw is None else None  # undecodable byte sequences replaced by U+FFFD
        self._high = None

    @property
    def replaced(self) -> int:
        if self._replaced is None:
            self._replaced = self.non_ascii()[2]
        return self._replaced

    def non_ascii(self) -> tuple[np.ndarray, list[str], int]:
        """Raw chunks: (indices of the lines holding a non-ASCII byte, those lines decoded,
        replacements made). Only these lines need Python-level decoding."""
        if self._high is None:
            raw = self.raw
            if raw.isascii():
                self._high = (np.zeros(0, np.int64), [], 0)
            else:
                b = np.frombuffer(raw, dtype=np.uint8)
                starts = np.concatenate([[0], self.newlines + 1])
                ends = np.append(self.newlines, b.size)
                idx = np.unique(np.searchsorted(self.newlines, np.flatnonzero(b >= 0x80)))
                # one decode for all of them: a newline never continues a multi-byte sequence, so
                # each line decodes exactly as it would alone
                joined = b"\n".join([raw[a:e] for a, e in zip(starts[idx].tolist(), ends[idx].tolist())])
                text, replaced = _decode(joined)
                self._high = (idx, text.split("\n"), replaced)
        return self._high

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.split("\n") if self.n else []
        return self._lines

    @lines.setter
    def lines(self, value: list[str]) -> None:
        self._lines, self._text, self.raw, self.newlines, self.n = value, None, None, None, len(value)

    @property
    def text(self) -> str:
        if self._text is None:
            if self.raw is not None:
                text = self.raw.decode("utf-8", errors="replace")
                self._text = text[:-1] if text.endswith("\n") else text
            else:
                self._text = "\n".join(self._lines)
        return self._text


def _decode(data: bytes) -> tuple[str, int]:
    text = data.decode("utf-8", errors="replace")
    if "\ufffd" not in text:
        return text, 0
    return text, text.count("\ufffd") - data.count(_FFFD)


COMPRESSED = {b"\x1f\x8b": ("gzip-compressed", "gunzip -k"), b"BZh": ("bzip2-compressed", "bunzip2 -k"),
              b"\xfd7zXZ\x00": ("xz-compressed", "unxz -k"), b"(\xb5/\xfd": ("zstd-compressed", "unzstd"),
              b"PK\x03\x04": ("a zip archive", "unzip")}
BINARY_SHARE = 0.1  # undecodable or control bytes in the first 64 kB above this share: not text
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")  # control characters other than tab, newlines, \v and \f


def check_text_file(path: Path) -> None:
    """A CorpusError naming ``path`` unless it is a readable file that does not look binary.

    Binary: a compressed file or archive (by its magic bytes), NUL bytes, or more than
    ``BINARY_SHARE`` of the first 64 kB undecodable as UTF-8 or control characters (text in a
    legacy 8-bit encoding has a few per cent; random or compressed bytes about half).
    """
    path = Path(path)
    text_fix = "give a UTF-8 text file with one sentence a line"
    if not path.exists():
        raise CorpusError(f"--corpus {path}: no such file; {text_fix}")
    if path.is_dir():
        raise CorpusError(f"--corpus {path}: is a directory without .txt/.jsonl/.csv/.parquet files "
                          f"or a saved dataset; {text_fix}")
    try:
        with open(path, "rb") as f:
            head = f.read(65536)
    except OSError as exc:
        raise CorpusError(f"--corpus {path}: cannot be read ({exc.strerror}); make it readable (check its "
                          f"permissions) or {text_fix}") from None
    for magic, (what, command) in COMPRESSED.items():
        if head.startswith(magic):
            raise CorpusError(f"--corpus {path}: is {what}, not text; unpack it first ({command} {path}) "
                              f"and pass the text file")
    if b"\x00" in head:
        raise CorpusError(f"--corpus {path}: looks binary (NUL bytes); {text_fix}")
    if head:
        text = head.decode("utf-8", errors="replace")
        if len(head) == 65536:  # the read may have cut the last character in two
            text = text.rstrip("\ufffd")
        bad = text.count("\ufffd") - head.count(_FFFD) + len(_CONTROL.findall(text))
        if bad > BINARY_SHARE * len(text):
            raise CorpusError(f"--corpus {path}: looks binary or not UTF-8 ({bad / len(text):.0%} of its first "
                              f"{len(head):,} bytes are not UTF-8 text); {text_fix} (iconv -t UTF-8 converts "
                              f"other encodings)")


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
            pending = b""  # the start of a line longer than a block
            while True:
                block = f.read(block_bytes)
                if block:
                    cut = block.rfind(b"\n")
                    if cut < 0:
                        pending += block
                        continue
                    if cut < len(block) - 1:  # leave the unfinished line for the next read
                        f.seek(cut + 1 - len(block), os.SEEK_CUR)
                        block = block[: cut + 1]
                    data = pending + block if pending else block
                    pending = b""
                else:
                    data, pending = pending, b""
                    if not data:
                        break
                if keep_blank:  # the paper's reading: raw bytes, no per-line work at all
                    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
                    chunk = Chunk(raw=data, n=len(newlines) + (not data.endswith(b"\n")), nbytes=len(data),
                                  newlines=newlines)
                else:
                    text, replaced = _decode(data)
                    lines = text.split("\n")
                    if lines and lines[-1] == "":
                        lines.pop()  # the piece after the final newline
                    lines = [l[:-1] if l.endswith("\r") else l for l in lines]
                    chunk = Chunk([l for l in lines if l.strip()], len(data), replaced)
                if max_lines is not None and n + chunk.n >= max_lines:
                    if max_lines > n:
                        yield _first_lines(chunk, max_lines - n)
                    return
                n += chunk.n
                yield chunk
                if not block:
                    break


def _first_lines(chunk: Chunk, k: int) -> Chunk:
    if chunk.raw is None:
        chunk.lines = chunk.lines[:k]
        return chunk
    ends = chunk.newlines
    raw = chunk.raw[: ends[k - 1] + 1] if k <= len(ends) else chunk.raw
    return Chunk(raw=raw, n=k, nbytes=len(raw), newlines=ends[:k])


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
