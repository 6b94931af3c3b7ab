"""Encoding a corpus into rows of token ids: the vocabulary pass and the encoding pass.

Everything streams over :class:`~corpora.textfile.Chunk` s, so memory is one chunk plus the
vocabulary, whatever the corpus size:

* :func:`fit_tokenizer` + :func:`encode_rows`: a first pass fits the vocabulary (word counts, or a
  sentencepiece model on a bounded sample; character counts for the fallback), a second pass
  encodes each chunk and appends its rows to a raw file;
* :func:`encode_chars`: the paper's character vocabulary and encoding in ONE pass over the text.
  Rows are written at once as provisional ids (characters in first-seen order) while their
  frequencies are counted; the vocabulary follows from the counts, and a pass over the id file
  (64 bytes a sentence, not the text) rewrites provisional ids as final ones. From the One Billion
  Word reader the rows come straight from the raw bytes (corpora.tokenizers.raw_rows).

Both write little-endian ids and return statistics (lines, rows, tokens, unknown tokens, cut and
dropped lines, replaced bytes) and the CRC-32 of the file.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from corpora import CorpusError
from corpora.sources import Source
from corpora.textfile import Chunk
from corpora.tokenizers import (MAX_CODE, CharCounts, CharTokenizer, SentencePieceTokenizer, WordCounts,
                                WordTokenizer, pad_joined, pad_raw, raw_rows)

EMPTY = "the corpus is empty: it holds no non-empty lines; give a corpus with one sentence a line"


@dataclass(frozen=True)
class EncodeSpec:
    """How a corpus becomes rows of ids; every field is part of the cache key."""

    tokenizer: str = "char"  # char (the paper's) | word | sentencepiece
    vocab_size: int = 2048  # most ids, unknown and pad included
    seq_len: int = 32  # tokens per row
    max_examples: Optional[int] = None  # lines read from the source (paper: first 10M)
    model_type: str = "unigram"  # sentencepiece: unigram | bpe
    long_lines: str = "cut"  # cut (the paper's) | drop lines longer than seq_len tokens
    min_tokens: int = 0  # drop lines with fewer tokens
    heldout_max: int = 10_000  # validation lines encoded
    seed: int = 0  # sentencepiece's sampling of training sentences


class Progress:
    """What a build reports; the default reports nothing (the CLI passes a rich progress bar)."""

    def stage(self, name: str, total_bytes: Optional[int]) -> None:
        pass

    def advance(self, nbytes: int, nlines: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


def _kept(lines: list[str], spec: EncodeSpec, count_tokens) -> list[str]:
    if spec.long_lines == "cut" and spec.min_tokens <= 0:
        return lines
    out = []
    for line in lines:
        n = count_tokens(line)
        if n >= spec.min_tokens and (spec.long_lines == "cut" or n <= spec.seq_len):
            out.append(line)
    return out


def _counted(chunks: Iterator[Chunk], progress: Progress, tally: dict) -> Iterator[Chunk]:
    for chunk in chunks:
        tally["lines"] += chunk.n
        progress.advance(chunk.nbytes, chunk.n)
        yield chunk


def fit_tokenizer(source: Source, spec: EncodeSpec, progress: Progress):
    """The vocabulary pass over the training sentences; returns the fitted tokenizer."""
    tally = {"lines": 0}
    chunks = _counted(source.train(spec.max_examples), progress, tally)
    if spec.tokenizer == "sentencepiece":
        progress.stage("training sentencepiece", source.size_bytes())
        lines = (line for chunk in chunks for line in chunk.lines)
        try:
            tok = SentencePieceTokenizer.train(lines, seq_len=spec.seq_len, vocab_size=spec.vocab_size,
                                               model_type=spec.model_type, seed=spec.seed)
        except ValueError as exc:
            if tally["lines"] == 0:
                raise CorpusError(EMPTY) from None
            raise CorpusError(f"--vocab-size {spec.vocab_size}: sentencepiece cannot build this vocabulary "
                              f"from the corpus ({exc}); lower --vocab-size") from None
        return tok
    progress.stage("counting " + ("characters" if spec.tokenizer == "char" else "words"), source.size_bytes())
    if spec.tokenizer == "char":
        counts, count_tokens = CharCounts(spec.seq_len), CharTokenizer.count_tokens
    elif spec.tokenizer == "word":
        counts, count_tokens = WordCounts(spec.seq_len), WordTokenizer.count_tokens
    else:
        raise CorpusError(f"--tokenizer {spec.tokenizer}: unknown; choose char, word or sentencepiece")
    filtering = spec.long_lines != "cut" or spec.min_tokens > 0
    for chunk in chunks:
        if filtering:
            counts.add(_kept(chunk.lines, spec, count_tokens))
        elif chunk.n:
            counts.add_joined(chunk.text)
    if tally["lines"] == 0:
        raise CorpusError(EMPTY)
    return counts.tokenizer(spec.vocab_size)


def encode_rows(chunks: Iterator[Chunk], tok, spec: EncodeSpec, path: Path, dtype, progress: Progress) -> dict:
    """Append the kept rows of every chunk to ``path``; returns counts and checksums."""
    L = spec.seq_len
    s = {"lines": 0, "rows": 0, "tokens": 0, "unknown": 0, "truncated": 0, "too_short": 0, "too_long": 0,
         "replaced": 0, "raw_bytes": 0}
    crc = 0
    positions = np.arange(L)
    with open(path, "wb") as f:
        for chunk in chunks:
            progress.advance(chunk.nbytes, chunk.n)
            s["lines"] += chunk.n
            s["replaced"] += chunk.replaced
            s["raw_bytes"] += chunk.nbytes
            if not chunk.n:
                continue
            ids, lengths = tok.encode_joined(chunk.text)
            if spec.min_tokens > 0 or spec.long_lines == "drop":
                short = lengths < spec.min_tokens
                long = (lengths > L) & (spec.long_lines == "drop")
                keep = ~(short | long)
                s["too_short"] += int(short.sum())
                s["too_long"] += int((long & ~short).sum())
                ids, lengths = ids[keep], lengths[keep]
            real = positions[None, :] < np.minimum(lengths, L)[:, None]
            s["rows"] += len(ids)
            s["tokens"] += int(np.minimum(lengths, L).sum())
            s["unknown"] += int(np.count_nonzero((ids == tok.unk_id) & real))
            s["truncated"] += int((lengths > L).sum())
            data = memoryview(np.ascontiguousarray(ids.astype(dtype, copy=False)))
            f.write(data)
            crc = zlib.crc32(data, crc)
    s["crc32"] = crc
    return s


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


def encode_chars(chunks: Iterator[Chunk], spec: EncodeSpec, path: Path, progress: Progress):
    """The paper's character vocabulary and encoding in one pass over the raw text.

    Each chunk's rows (first ``seq_len`` code points, padded) are written at once as provisional
    ids (first-seen order) while their frequencies are counted; the vocabulary then follows from
    the counts (ties: first seen, as :class:`CharCounts`), and a pass over the id file on disk
    (not the text) rewrites provisional ids as final ones. Equal to ``CharCounts`` + ``encode``.
    """
    L = spec.seq_len
    ids = _FirstSeenIds()
    s = {"lines": 0, "rows": 0, "tokens": 0, "unknown": 0, "truncated": 0, "too_short": 0, "too_long": 0,
         "replaced": 0, "raw_bytes": 0}
    with open(path, "wb") as f:
        for chunk in chunks:
            progress.advance(chunk.nbytes, chunk.n)
            s["lines"] += chunk.n
            s["replaced"] += chunk.replaced
            s["raw_bytes"] += chunk.nbytes
            if not chunk.n:
                continue
            filtering = spec.min_tokens > 0 or spec.long_lines == "drop"
            if chunk.raw is not None and not filtering:
                rows8, lengths, slow, slow_rows = raw_rows(chunk.raw, L, newlines=chunk.newlines,
                                                            non_ascii=chunk.non_ascii())
                pids = ids.map_raw(rows8, slow, slow_rows)
            else:
                rows, lengths = pad_raw(chunk.raw, L) if chunk.raw is not None else pad_joined(chunk.text, L)
                if filtering:
                    short = lengths < spec.min_tokens
                    long = (lengths > L) & (spec.long_lines == "drop")
                    keep = ~(short | long)
                    s["too_short"] += int(short.sum())
                    s["too_long"] += int((long & ~short).sum())
                    rows, lengths = rows[keep], lengths[keep]
                pids = ids.map(rows).astype(np.uint16)
            s["rows"] += len(pids)
            s["tokens"] += int(np.minimum(lengths, L).sum())
            s["truncated"] += int((lengths > L).sum())
            f.write(memoryview(np.ascontiguousarray(pids, dtype="<u2")))
    if s["rows"] == 0:
        return None, s
    order = np.lexsort((np.arange(len(ids.codes)), -ids.counts))[: max(spec.vocab_size - 1, 0)]
    tok = CharTokenizer([chr(int(c)) for c in ids.codes[order]], L)
    final = np.zeros(len(ids.codes), dtype="<u2")
    final[order] = np.arange(1, len(order) + 1)
    real = ids.counts.copy()  # occurrences outside the padding
    pad_pid = ids.pid_of[ord(tok.pad)]
    if pad_pid >= 0:
        real[pad_pid] -= s["rows"] * L - s["tokens"]
    s["unknown"] = int(real[final == 0].sum())
    crc = 0
    progress.stage("writing ids", s["rows"] * L * 2)
    buf = np.empty(max(1, (4 << 20) // L) * L, dtype="<u2")
    with open(path, "r+b") as f:  # provisional -> final ids, in place, block by block
        while True:
            got = f.readinto(memoryview(buf)) // 2
            if not got:
                break
            block = final[buf[:got]]
            f.seek(-2 * got, os.SEEK_CUR)
            f.write(memoryview(block))
            crc = zlib.crc32(memoryview(block), crc)
            progress.advance(2 * got, got // L)
    s["crc32"] = crc
    return tok, s


def id_dtype(tok) -> np.dtype:
    return np.dtype("<u2") if tok.vocab_size <= 65536 else np.dtype("<i4")



def no_usable_lines(s: dict, spec: EncodeSpec) -> str:
    parts = []
    if s["too_short"]:
        parts.append(f"{s['too_short']} have fewer than --min-tokens {spec.min_tokens} tokens")
    if s["too_long"]:
        parts.append(f"{s['too_long']} are longer than --seq-len {spec.seq_len} tokens (--long-lines drop)")
    return (f"no line of usable length: of {s['lines']} lines, " + " and ".join(parts) +
            "; adjust --min-tokens, --seq-len or --long-lines cut")
