"""Fixed-length rows from text, vectorised over a whole chunk of lines at once.

A row holds the first ``seq_len`` tokens of a line, right-padded: code points for the paper's
characters (:func:`pad_joined`, :func:`raw_rows`), UTF-8 bytes for the reference's Python 2
reading (:func:`byte_rows`), and scattered per-row ids for word and sentencepiece tokens
(:func:`scatter_rows`). Each function returns every line's length before truncation too.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

PAD = "`"  # the paper's padding character (language_helpers.load_dataset)


def pad_joined(text: str, seq_len: int, pad: str = PAD) -> tuple[np.ndarray, np.ndarray]:
    """Lines joined by "\\n" -> (N, seq_len) uint32 code points, cut/padded, and each line's length.

    One vectorised step for a whole chunk: the text becomes code points in one call, line starts
    come from the newline positions, and each row gathers its first ``seq_len`` code points.
    """
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    newlines = np.flatnonzero(codes == 10)
    starts = np.concatenate([[0], newlines + 1])
    lengths = np.append(newlines, codes.size) - starts
    cols = np.arange(seq_len)
    inside = cols[None, :] < lengths[:, None]
    idx = np.minimum(starts[:, None] + cols[None, :], max(codes.size - 1, 0))
    taken = codes[idx] if codes.size else np.zeros(idx.shape, np.uint32)
    return np.where(inside, taken, np.uint32(ord(pad))), lengths


def byte_rows(raw: bytes, seq_len: int, pad_byte: int = ord(PAD),
              newlines: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
    """Newline-separated lines of bytes -> (N, seq_len) uint8 rows of their first bytes, padded
    with ``pad_byte``, and each line's length in bytes. A final newline ends the last line
    (it does not start an empty one). ``newlines``: the positions of b"\\n", when known."""
    b = np.frombuffer(raw, dtype=np.uint8)
    if newlines is None:
        newlines = np.flatnonzero(b == 10)
    if raw.endswith(b"\n"):
        starts = np.concatenate([[0], newlines[:-1] + 1])
        ends = newlines
    else:
        starts = np.concatenate([[0], newlines + 1])
        ends = np.append(newlines, b.size)
    lengths = ends - starts
    inside = np.arange(seq_len)[None, :] < lengths[:, None]
    windows = sliding_window_view(np.concatenate([b, np.zeros(seq_len, np.uint8)]), seq_len)
    return np.where(inside, windows[starts], np.uint8(pad_byte)), lengths  # one gather from line starts


def raw_rows(raw: bytes, seq_len: int, pad: str = PAD, newlines: Optional[np.ndarray] = None, non_ascii=None):
    """Code-point rows of raw UTF-8 bytes of newline-terminated lines, decoding only where needed.

    Returns ``(rows8, lengths, slow, slow_rows)``: a line whose first ``seq_len`` bytes are ASCII
    has those bytes as its first code points, so ``rows8`` (N, seq_len) uint8 gathers them straight
    from the bytes (padded); the few lines with a non-ASCII byte among them (indices ``slow``) are
    decoded (U+FFFD for undecodable bytes, as ``bytes.decode(errors="replace")``) into
    ``slow_rows`` (uint32 code points; their ``rows8`` rows are meaningless). Lengths are exact up
    to ``seq_len``; a longer line may report its length in bytes (still > seq_len).
    """
    if ord(pad) >= 128:
        raise ValueError("raw_rows needs an ASCII pad character")
    b = np.frombuffer(raw, dtype=np.uint8)
    if newlines is None:
        newlines = np.flatnonzero(b == 10)
    rows8, lengths = byte_rows(raw, seq_len, ord(pad), newlines)
    slow = np.zeros(0, dtype=np.int64)
    slow_rows = np.zeros((0, seq_len), dtype=np.uint32)
    if not raw.isascii():
        if non_ascii is not None:  # (line indices, decoded lines) the reader already has
            high = non_ascii[0]
            slow = high[(rows8[high] >= 0x80).any(axis=1)]
        else:
            slow = np.flatnonzero((rows8 >= 0x80).any(axis=1))
        if slow.size:
            if non_ascii is not None:
                where = np.searchsorted(non_ascii[0], slow)
                texts = [non_ascii[1][i] for i in where.tolist()]
            else:
                starts = np.concatenate([[0], newlines + 1])
                texts = [raw[a : a + n].decode("utf-8", errors="replace")
                         for a, n in zip(starts[slow].tolist(), lengths[slow].tolist())]
            slow_rows = pad_rows(texts, seq_len, pad)
            lengths[slow] = [len(t) for t in texts]
    return rows8, lengths, slow, slow_rows


def pad_raw(raw: bytes, seq_len: int, pad: str = PAD) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pad_joined` for raw UTF-8 bytes of newline-terminated lines (see :func:`raw_rows`)."""
    rows8, lengths, slow, slow_rows = raw_rows(raw, seq_len, pad)
    rows = rows8.astype(np.uint32)
    rows[slow] = slow_rows
    return rows, lengths


def pad_rows(lines: Sequence[str], seq_len: int, pad: str = PAD) -> np.ndarray:
    """Truncate/pad every line to ``seq_len`` characters; returns code points, (N, L) uint32."""
    if not lines:
        return np.zeros((0, seq_len), np.uint32)
    return pad_joined("\n".join(lines), seq_len, pad)[0]


def scatter_rows(flat: np.ndarray, cut: np.ndarray, seq_len: int, pad_id: int) -> np.ndarray:
    """(N, seq_len) int32 rows from concatenated per-row ids (``cut[i]`` ids for row i), pad after."""
    out = np.full((len(cut), seq_len), pad_id, dtype=np.int32)
    if flat.size:
        rows = np.repeat(np.arange(len(cut)), cut)
        starts = np.cumsum(cut) - cut
        cols = np.arange(flat.size) - np.repeat(starts, cut)
        out[rows, cols] = flat
    return out


def strip_right(row: np.ndarray, pad_id: int) -> np.ndarray:
    """``row`` without its trailing ``pad_id`` s."""
    row = np.asarray(row)
    keep = np.flatnonzero(row != pad_id)
    return row[: keep[-1] + 1] if keep.size else row[:0]
