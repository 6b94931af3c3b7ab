"""Plain UTF-8 text files, one sentence a line, read in bounded-memory chunks.

:func:`line_chunks` is the one reader of raw text (plain files and the One Billion Word shards).
It reads large binary blocks, cuts them after the last line break (a line-break byte never occurs
inside a multi-byte UTF-8 character, so no character is split) and decodes with U+FFFD
replacement, counting the replacements instead of failing. Memory is one block plus at most
``MAX_LINE_BYTES`` of an unfinished line, whatever the file:

* plain text files end lines at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (old Mac files), drop a
  leading UTF-8 byte-order mark and skip blank lines;
* the paper's reading of One Billion Word (``keep_blank``) ends lines at ``\\n`` only and keeps
  every byte of every line, as Python 2's ``for line in f: line[:-1]`` did;
* a NUL byte anywhere is refused with its byte offset and line (text has none; it means a
  binary file or a UTF-16/32 one), and a line longer than ``MAX_LINE_BYTES`` is cut there (the
  rest of it is skipped unread into memory; a row holds a few dozen tokens of it at most);
* an I/O error is a read error naming the file (:func:`corpora.paths.read_error`).

:func:`check_text_file` looks at a file's first 64 kB before it is used: compressed files,
UTF-16/32 (by byte-order mark or by NUL pattern) and binary data are refused with the fix.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Iterator, Optional

import numpy as np

from corpora import CorpusError
from corpora.paths import FILE, TEXT_FIX, path_kind, read_error

BLOCK_BYTES = 2 << 20  # read at call time, so tests can shrink it to exercise block boundaries
MAX_LINE_BYTES = 1 << 20  # longer lines are cut here (a row keeps seq_len tokens of a line at most)
HEAD_BYTES = 65536
_FFFD = "\ufffd".encode("utf-8")
UTF8_BOM = b"\xef\xbb\xbf"


class Chunk:
    """Consecutive sentences of a source, with the raw bytes they took and replacements made.

    The sentences are available as a list (``lines``), joined by newlines (``text``) or, from the
    paper's One Billion Word reader, as the raw UTF-8 bytes (``raw``, newline-terminated lines
    that the character encoder reads without decoding); what is not given is made on demand. A
    labelled source gives each sentence's class name in ``labels`` (corpora.labels).
    """

    def __init__(self, lines: Optional[list[str]] = None, nbytes: int = 0, replaced: int = 0, *,
                 raw: Optional[bytes] = None, n: Optional[int] = None, newlines: Optional[np.ndarray] = None,
                 clipped: int = 0, labels: Optional[list[str]] = None):
        self._lines, self._text, self.raw = lines, None, raw
        self.labels = labels  # one class name per sentence, or None
        self.newlines = newlines  # positions of b"\n" in raw, when the reader found them
        self.n = len(lines) if lines is not None else n  # number of sentences
        self.nbytes = nbytes  # raw bytes read for these lines (progress and MB/s)
        self.clipped = clipped  # lines longer than MAX_LINE_BYTES, cut there
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


# -- what a file is, from its first bytes -------------------------------------------------------------

COMPRESSED = {b"\x1f\x8b": ("gzip-compressed", "gunzip -k"), b"BZh": ("bzip2-compressed", "bunzip2 -k"),
              b"\xfd7zXZ\x00": ("xz-compressed", "unxz -k"), b"(\xb5/\xfd": ("zstd-compressed", "unzstd"),
              b"PK\x03\x04": ("a zip archive", "unzip")}
# longest first: the UTF-32LE mark begins with the UTF-16LE one
BOMS = ((b"\xff\xfe\x00\x00", "UTF-32", "little-endian"), (b"\x00\x00\xfe\xff", "UTF-32", "big-endian"),
        (b"\xff\xfe", "UTF-16", "little-endian"), (b"\xfe\xff", "UTF-16", "big-endian"))
BINARY_SHARE = 0.1  # undecodable or control bytes in the first 64 kB above this share: not text
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")  # control characters other than tab, newlines, \v and \f


def _iconv(path: Path, encoding: str) -> str:
    return f"iconv -f {encoding} -t UTF-8 {path} > {path.with_suffix('')}.utf8{path.suffix or '.txt'}"


def wide_encoding(head: bytes) -> Optional[tuple[str, str]]:
    """(encoding for iconv, how it was recognised) when ``head`` is UTF-16 or UTF-32, else None.

    By byte-order mark, or without one by the NUL pattern of mostly-ASCII text: every other byte
    NUL (UTF-16), three of every four (UTF-32).
    """
    for mark, name, order in BOMS:
        if head.startswith(mark):
            return name, f"{name} {order}, byte-order mark {mark.hex(' ').upper()}"
    b = np.frombuffer(head[: len(head) // 4 * 4], dtype=np.uint8).reshape(-1, 4)
    if len(b) < 2:
        return None
    nul = (b == 0).mean(axis=0)  # share of NUL bytes at each position mod 4
    for pattern, name in (((0, 1, 1, 1), "UTF-32LE"), ((1, 1, 1, 0), "UTF-32BE"),
                          ((0, 1, 0, 1), "UTF-16LE"), ((1, 0, 1, 0), "UTF-16BE")):
        want = np.array(pattern, dtype=bool)
        if (nul[want] > 0.9).all() and (nul[~want] < 0.1).all():
            return name, f"{name} without a byte-order mark (NUL bytes in a regular pattern)"
    return None


def check_text_file(path: Path, *, flag: str = "--corpus") -> None:
    """A CorpusError naming ``path`` unless it is a readable regular file that looks like UTF-8 text.

    Refused: anything :func:`corpora.paths.path_kind` refuses or a directory; a compressed file
    or archive (by its magic bytes); UTF-16 or UTF-32 (with the iconv command to convert); NUL
    bytes; more than ``BINARY_SHARE`` of the first 64 kB undecodable as UTF-8 or control
    characters (text in a legacy 8-bit encoding has a few per cent; random bytes about half).
    """
    path = Path(path)
    if path_kind(path, flag=flag) != FILE:
        raise CorpusError(f"{flag} {path}: is a directory without .txt/.jsonl/.csv/.parquet files "
                          f"or a saved dataset; {TEXT_FIX}")
    try:
        with open(path, "rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError as exc:
        raise CorpusError(f"{flag} {path}: cannot be read ({exc.strerror}); make it readable (check its "
                          f"permissions) or {TEXT_FIX}") from None
    for magic, (what, command) in COMPRESSED.items():
        if head.startswith(magic):
            raise CorpusError(f"{flag} {path}: is {what}, not text; unpack it first ({command} {path}) "
                              f"and pass the text file")
    wide = wide_encoding(head)
    if wide is not None:
        raise CorpusError(f"{flag} {path}: is {wide[1]}, not UTF-8; convert it first: "
                          f"{_iconv(path, wide[0])}")
    if b"\x00" in head:
        at = head.index(b"\x00")
        raise CorpusError(nul_message(path, at, _line_number(head[:at], False)))
    if head:
        text = head.decode("utf-8", errors="replace")
        if len(head) == HEAD_BYTES:  # the read may have cut the last character in two
            text = text.rstrip("\ufffd")
        bad = text.count("\ufffd") - head.count(_FFFD) + len(_CONTROL.findall(text))
        if bad > BINARY_SHARE * len(text):
            raise CorpusError(f"{flag} {path}: looks binary or not UTF-8 ({bad / len(text):.0%} of its first "
                              f"{len(head):,} bytes are not UTF-8 text); {TEXT_FIX} (iconv -t UTF-8 converts "
                              f"other encodings)")


def nul_message(path: Path, offset: int, line: int) -> str:
    """The refusal of a NUL byte at byte ``offset``, on line ``line`` (1-based); the caller names the flag."""
    return (f"a NUL byte at byte {offset:,} (line {line:,}) of {path}; text files have none: it is binary, damaged, "
            f"or in another encoding (iconv -f ENCODING -t UTF-8 converts); {TEXT_FIX}")


def _line_number(prefix: bytes, keep_blank: bool) -> int:
    """1 + the line breaks in ``prefix``: the line on which the byte after ``prefix`` stands."""
    if keep_blank:
        return prefix.count(b"\n") + 1
    return prefix.count(b"\n") + prefix.count(b"\r") - prefix.count(b"\r\n") + 1


# -- reading lines ------------------------------------------------------------------------------------

def line_chunks(paths: Iterable[Path], *, max_lines: Optional[int] = None, keep_blank: bool = False,
                block_bytes: Optional[int] = None) -> Iterator[Chunk]:
    """Lines of the files in order, at most ``max_lines`` in all, as chunks of about a block.

    ``keep_blank=True`` is the paper's reading of One Billion Word: lines end at ``\\n`` only and
    keep every other byte. Otherwise (plain text files) lines end at ``\\n``, ``\\r\\n`` or
    ``\\r``, a leading UTF-8 byte-order mark is dropped and whitespace-only lines are skipped.
    """
    n = 0
    for path in paths:
        for chunk in _file_chunks(Path(path), keep_blank, block_bytes or BLOCK_BYTES):
            if max_lines is not None and n + chunk.n >= max_lines:
                if max_lines > n:
                    yield _first_lines(chunk, max_lines - n)
                return
            n += chunk.n
            yield chunk


def _file_chunks(path: Path, keep_blank: bool, block_bytes: int) -> Iterator[Chunk]:
    pos = 0  # the file offset of the block being read
    try:
        with open(path, "rb") as f:
            pending = b""  # the start of a line longer than a block
            skipping = False  # inside a line already cut at MAX_LINE_BYTES: drop bytes up to its end
            clipped = dropped = 0  # lines cut, bytes read but not passed on (progress counts them)
            while True:
                pos = f.tell()
                block = f.read(block_bytes)
                if b"\x00" in block:
                    raise CorpusError(_nul_in_file(path, pos + block.index(b"\x00"), keep_blank))
                if pos == 0 and not keep_blank and block.startswith(UTF8_BOM):
                    block, dropped = block[len(UTF8_BOM):], len(UTF8_BOM)
                if skipping and block:
                    end = _first_break(block, keep_blank)
                    if end < 0:
                        dropped += len(block)
                        continue
                    dropped += end
                    block, skipping = block[end:], False
                if block:
                    cut = _last_break(block, keep_blank)
                    if cut < 0:  # no line ends in this block: keep at most MAX_LINE_BYTES of the line
                        pending += block
                        if len(pending) > MAX_LINE_BYTES:
                            dropped += len(pending) - MAX_LINE_BYTES
                            pending, skipping, clipped = _cut_utf8(pending, MAX_LINE_BYTES), True, clipped + 1
                        continue
                    if cut < len(block) - 1:  # leave the unfinished line for the next read
                        f.seek(cut + 1 - len(block), os.SEEK_CUR)
                        block = block[: cut + 1]
                    data, pending = (pending + block if pending else block), b""
                else:
                    data, pending = pending, b""
                    if not data:
                        break
                data, more = _clip_long_lines(data, keep_blank)
                yield _chunk(data, keep_blank, dropped, clipped + more)
                clipped = dropped = 0
                if not block:
                    break
    except OSError as exc:
        raise read_error(path, exc, pos) from None


def _chunk(data: bytes, keep_blank: bool, dropped: int, clipped: int) -> Chunk:
    if keep_blank:  # the paper's reading: raw bytes, no per-line work at all
        newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        return Chunk(raw=data, n=len(newlines) + (not data.endswith(b"\n")), nbytes=len(data) + dropped,
                     newlines=newlines, clipped=clipped)
    text, replaced = _decode(data)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the piece after the final line break
    return Chunk([l for l in lines if l.strip()], len(data) + dropped, replaced, clipped=clipped)


def _breaks(data: bytes, keep_blank: bool) -> np.ndarray:
    b = np.frombuffer(data, dtype=np.uint8)
    return np.flatnonzero(b == 10) if keep_blank else np.flatnonzero((b == 10) | (b == 13))


def _first_break(data: bytes, keep_blank: bool) -> int:
    found = [i for i in (data.find(b"\n"), -1 if keep_blank else data.find(b"\r")) if i >= 0]
    return min(found) if found else -1


def _last_break(data: bytes, keep_blank: bool) -> int:
    return data.rfind(b"\n") if keep_blank else max(data.rfind(b"\n"), data.rfind(b"\r"))


def _cut_utf8(data: bytes, limit: int) -> bytes:
    """The first ``limit`` bytes, shortened so that no multi-byte character is cut in two."""
    end = limit
    while end > max(limit - 3, 0) and 0x80 <= data[end] < 0xC0:  # data[end] continues a character
        end -= 1
    return data[:end]


def _may_hold_a_long_line(data: bytes, keep_blank: bool) -> bool:
    """False when every aligned window of MAX_LINE_BYTES // 2 bytes holds a line break: a longer
    line would cover one such window whole. A few memchr calls, each stopping at the first break."""
    step = MAX_LINE_BYTES // 2
    for start in range(0, len(data) - step + 1, step):
        if data.find(b"\n", start, start + step) < 0 and (keep_blank or data.find(b"\r", start, start + step) < 0):
            return True
    return False


def _clip_long_lines(data: bytes, keep_blank: bool) -> tuple[bytes, int]:
    """``data`` with every line longer than MAX_LINE_BYTES cut there, and how many were cut."""
    if not _may_hold_a_long_line(data, keep_blank):
        return data, 0
    ends = _breaks(data, keep_blank)
    ends = np.append(ends, len(data)) if not ends.size or ends[-1] != len(data) - 1 else ends
    starts = np.concatenate([[0], ends[:-1] + 1])
    long = np.flatnonzero(ends - starts > MAX_LINE_BYTES)
    if not long.size:
        return data, 0
    parts, at = [], 0
    for i in long.tolist():
        s, e = int(starts[i]), int(ends[i])
        parts += [data[at:s], _cut_utf8(data[s:e], MAX_LINE_BYTES)]
        at = e
    parts.append(data[at:])
    return b"".join(parts), len(long)


def _nul_in_file(path: Path, offset: int, keep_blank: bool) -> str:
    """The NUL refusal, with the line number counted by reading the file up to ``offset`` again."""
    lines, tail, left = 0, b"", offset
    with open(path, "rb") as f:
        while left > 0:
            block = f.read(min(left, BLOCK_BYTES))
            if not block:
                break
            left -= len(block)
            joined = tail + block  # a \r\n pair across two blocks is one line break
            lines += _line_number(joined, keep_blank) - _line_number(tail, keep_blank)
            tail = block[-1:]
    return nul_message(path, offset, lines + 1)


def _first_lines(chunk: Chunk, k: int) -> Chunk:
    if chunk.raw is None:
        chunk.lines = chunk.lines[:k]
        return chunk
    ends = chunk.newlines
    raw = chunk.raw[: ends[k - 1] + 1] if k <= len(ends) else chunk.raw
    return Chunk(raw=raw, n=k, nbytes=len(raw), newlines=ends[:k], clipped=chunk.clipped)
