"""One pass over the text for the paper's characters and the reference's bytes.

Rows are written at once as provisional ids while the tokens are counted; the vocabulary follows
from the counts (frequency, ties first seen) and a pass over the id file (two bytes a token, not
the text) rewrites provisional ids as final ones. Equal to counting then encoding
(:func:`corpora.encode.fit_tokenizer` + :func:`corpora.encode.encode_rows`), in one read of a
corpus that may be gigabytes. A labelled corpus's class labels are written beside the rows
(``labels``, a corpora.labels.LabelWriter), after the same drops.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from corpora.encode import (EncodeSpec, Progress, account_read, count_rows, keep_mask, new_stats, padded_bytes,
                            rewrite_ids)
from corpora.rows import pad_joined, pad_raw, raw_rows
from corpora.textfile import Chunk
from corpora.tokenizers import MAX_CODE, ByteCounts, CharTokenizer


def encode_bytes(chunks: Iterator[Chunk], spec: EncodeSpec, path: Path, progress: Progress, labels=None):
    """The reference's byte vocabulary and encoding in one pass (see :class:`ByteTokenizer`).

    Rows of the first ``seq_len`` bytes (padded with "`") are written with each byte's value as
    its provisional id while :class:`ByteCounts` counts them; the vocabulary (frequency, ties
    first seen) then maps values to final ids in a pass over the id file. Equal to
    ``ByteCounts`` + ``ByteTokenizer.encode``.
    """
    L = spec.seq_len
    counts = ByteCounts(L)
    s = new_stats()
    with open(path, "wb") as f:
        for chunk in chunks:
            account_read(s, chunk, progress, replaced=chunk.raw is None)
            if not chunk.n:
                continue
            rows8, lengths = padded_bytes(chunk, L)
            keep = keep_mask(lengths, spec, s)
            if labels is not None:
                labels.add(chunk.labels, chunk.n, keep)
            if keep is not None:
                rows8, lengths = rows8[keep], lengths[keep]
            counts.add_rows(rows8)
            count_rows(s, lengths, L)
            f.write(memoryview(np.ascontiguousarray(rows8, dtype="<u2")))
    if s["rows"] == 0:
        return None, s
    tok = counts.tokenizer(spec.vocab_size)
    text_counts = counts.counts.copy()  # occurrences outside the padding
    text_counts[tok.pad_byte] -= s["rows"] * L - s["tokens"]
    s["unknown"] = int(text_counts[tok.table == 0].sum())
    s["pad_tokens"] = int(text_counts[tok.pad_byte])
    s["crc32"] = rewrite_ids(path, tok.table, L, progress)
    return tok, s


class TooManyCharacters(Exception):
    """More distinct characters than uint16 provisional ids hold: use the two-pass path."""


class _FirstSeenIds:
    """Provisional ids for code points in order of first appearance (frequency ties break so)."""

    def __init__(self):
        self.pid_of = np.full(MAX_CODE, -1, dtype=np.int32)
        self.codes = np.zeros(0, dtype=np.int64)  # code point of each provisional id
        self.counts = np.zeros(0, dtype=np.int64)
        self._pair_table, self._pair_table_size = None, -1

    def map(self, rows: np.ndarray) -> np.ndarray:
        flat = rows.ravel()
        pids = self.pid_of[flat]
        missing = np.flatnonzero(pids < 0)
        for start in range(0, missing.size, 65536):  # positions in order; new codes by first position
            pos = missing[start : start + 65536]
            pos = pos[self.pid_of[flat[pos]] < 0]
            if pos.size:
                uniq, first = np.unique(flat[pos], return_index=True)
                new = uniq[np.argsort(first)]
                self.pid_of[new] = np.arange(len(self.codes), len(self.codes) + len(new))
                self.codes = np.concatenate([self.codes, new])
        if missing.size:
            if len(self.codes) > 65536:
                raise TooManyCharacters
            pids = self.pid_of[flat]
        self._count(np.bincount(pids, minlength=len(self.codes)))
        return pids.reshape(rows.shape)

    def _count(self, counts: np.ndarray) -> None:
        counts[: len(self.counts)] += self.counts
        self.counts = counts

    def map_raw(self, rows8: np.ndarray, slow: np.ndarray, slow_rows: np.ndarray) -> np.ndarray:
        """:meth:`map` of :func:`~corpora.tokenizers.raw_rows` output, as uint16 provisional ids.

        When every character is already known (all chunks but the first few) the ASCII rows are
        read two bytes at a time: one bincount over byte pairs gives the byte counts, and one
        gather through a 65,536-entry table of provisional-id pairs gives the ids. Otherwise the
        rows are assembled as code points and take the exact first-seen path of :meth:`map`.
        """
        flat = rows8.ravel()
        odd = flat.size % 2
        if odd:
            flat = np.append(flat, np.uint8(0))
        pairs = flat.view("<u2")
        pair_counts = np.bincount(pairs, minlength=65536).reshape(256, 256)  # [second byte, first byte]
        byte_counts = pair_counts.sum(axis=0) + pair_counts.sum(axis=1)
        byte_counts[0] -= odd
        if slow.size:
            byte_counts -= np.bincount(rows8[slow].ravel(), minlength=256)
        known = self.pid_of[:256]
        if (known[byte_counts > 0] < 0).any() or (slow.size and (self.pid_of[slow_rows] < 0).any()):
            rows = rows8.astype(np.uint32)
            rows[slow] = slow_rows
            return self.map(rows).astype(np.uint16)
        if self._pair_table is None or self._pair_table_size != len(self.codes):
            k = np.maximum(known, 0).astype(np.uint32)
            v = np.arange(65536, dtype=np.uint32)
            self._pair_table = k[v & 255] | (k[v >> 8] << 16)
            self._pair_table_size = len(self.codes)
        pids = self._pair_table[pairs].view(np.uint16)[: rows8.size].reshape(rows8.shape)
        counts = np.zeros(len(self.codes), dtype=np.int64)
        seen = byte_counts > 0
        counts[known[seen]] = byte_counts[seen]
        if slow.size:
            slow_pids = self.pid_of[slow_rows]
            pids[slow] = slow_pids
            counts += np.bincount(slow_pids.ravel(), minlength=len(self.codes))
        self._count(counts)
        return pids


def encode_chars(chunks: Iterator[Chunk], spec: EncodeSpec, path: Path, progress: Progress, labels=None):
    """The paper's character vocabulary and encoding in one pass over the raw text.

    Each chunk's rows (first ``seq_len`` code points, padded) are written at once as provisional
    ids (first-seen order) while their frequencies are counted; the vocabulary then follows from
    the counts (ties: first seen, as :class:`CharCounts`), and a pass over the id file on disk
    (not the text) rewrites provisional ids as final ones. Equal to ``CharCounts`` + ``encode``.
    """
    L = spec.seq_len
    ids = _FirstSeenIds()
    s = new_stats()
    filtering = spec.min_tokens > 0 or spec.long_lines == "drop"
    with open(path, "wb") as f:
        for chunk in chunks:
            account_read(s, chunk, progress)
            if not chunk.n:
                continue
            if chunk.raw is not None and not filtering and labels is None:
                rows8, lengths, slow, slow_rows = raw_rows(chunk.raw, L, newlines=chunk.newlines,
                                                            non_ascii=chunk.non_ascii())
                pids = ids.map_raw(rows8, slow, slow_rows)
            else:
                rows, lengths = pad_raw(chunk.raw, L) if chunk.raw is not None else pad_joined(chunk.text, L)
                keep = keep_mask(lengths, spec, s)
                if labels is not None:
                    labels.add(chunk.labels, chunk.n, keep)
                if keep is not None:
                    rows, lengths = rows[keep], lengths[keep]
                pids = ids.map(rows).astype(np.uint16)
            count_rows(s, lengths, L)
            f.write(memoryview(np.ascontiguousarray(pids, dtype="<u2")))
    if s["rows"] == 0:
        return None, s
    order = np.lexsort((np.arange(len(ids.codes)), -ids.counts))[: max(spec.vocab_size - 1, 0)]
    tok = CharTokenizer([chr(int(c)) for c in ids.codes[order]], L)
    final = np.zeros(len(ids.codes), dtype="<u2")
    final[order] = np.arange(1, len(order) + 1)
    text_counts = ids.counts.copy()  # occurrences outside the padding
    pad_pid = ids.pid_of[ord(tok.pad)]
    if pad_pid >= 0:
        text_counts[pad_pid] -= s["rows"] * L - s["tokens"]
        s["pad_tokens"] = int(text_counts[pad_pid])
    s["unknown"] = int(text_counts[final == 0].sum())
    s["crc32"] = rewrite_ids(path, final, L, progress)
    return tok, s
