"""Encoding a corpus into rows of token ids: the vocabulary pass and the encoding pass.

Everything streams over :class:`~corpora.textfile.Chunk` s, so memory is one chunk plus the
vocabulary, whatever the corpus size:

* :func:`fit_tokenizer` + :func:`encode_rows`: a first pass fits the vocabulary (word counts, or a
  sentencepiece model on a bounded sample; character or byte counts for the fallback), a second
  pass encodes each chunk and appends its rows to a raw file;
* :func:`corpora.one_pass.encode_chars`: the paper's character vocabulary and encoding in ONE pass over the text.
  Rows are written at once as provisional ids (characters in first-seen order) while their
  frequencies are counted; the vocabulary follows from the counts, and a pass over the id file
  (64 bytes a sentence, not the text) rewrites provisional ids as final ones. From the One Billion
  Word reader the rows come straight from the raw bytes (corpora.rows.raw_rows);
* :func:`corpora.one_pass.encode_bytes`: the same single pass for UTF-8 bytes, where the provisional id of a byte
  is its value; raw chunks (One Billion Word) are never decoded, as in the reference.

All write little-endian ids and return statistics (lines, rows, tokens, pad characters inside
the text, unknown tokens, cut and dropped lines, replaced bytes, lines cut at the reader's
length limit) and the CRC-32 of the file.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from corpora import CorpusError
from corpora.rows import byte_rows
from corpora.sources import Source
from corpora.textfile import Chunk
from corpora.tokenizers import (KINDS, ByteCounts, ByteTokenizer, CharCounts, CharTokenizer, SentencePieceTokenizer,
                                WordCounts, WordTokenizer)

EMPTY = "the corpus is empty: it holds no non-empty lines; give a corpus with one sentence a line"


@dataclass(frozen=True)
class EncodeSpec:
    """How a corpus becomes rows of ids; every field is part of the cache key (``label_column`` only
    when set, so that unlabelled entries keep the keys and digests they had before labels existed)."""

    tokenizer: str = "char"  # char (the paper's, on code points) | byte (the reference's bytes) | word | sentencepiece
    vocab_size: int = 2048  # most ids, unknown and pad included
    seq_len: int = 32  # tokens per row
    max_examples: Optional[int] = None  # lines read from the source (paper: first 10M)
    model_type: str = "unigram"  # sentencepiece: unigram | bpe
    long_lines: str = "cut"  # cut (the paper's) | drop lines longer than seq_len tokens
    min_tokens: int = 0  # drop lines with fewer tokens
    heldout_max: int = 10_000  # validation lines encoded
    seed: int = 0  # sentencepiece's sampling of training sentences
    label_column: Optional[str] = None  # where class labels are read (corpora.labels); None: unlabelled


class Progress:
    """What a build reports; the default reports nothing (the CLI passes a rich progress bar)."""

    def stage(self, name: str, total_bytes: Optional[int]) -> None:
        pass

    def advance(self, nbytes: int, nlines: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


# -- statistics shared by every encoder ---------------------------------------------------------------

def new_stats() -> dict:
    return {"lines": 0, "rows": 0, "tokens": 0, "pad_tokens": 0, "unknown": 0, "truncated": 0, "too_short": 0,
            "too_long": 0, "replaced": 0, "raw_bytes": 0, "clipped": 0}


def account_read(s: dict, chunk: Chunk, progress: Progress, *, replaced: bool = True) -> None:
    """Account for a chunk read from the source (``replaced=False``: its bytes are not decoded)."""
    progress.advance(chunk.nbytes, chunk.n)
    s["lines"] += chunk.n
    s["raw_bytes"] += chunk.nbytes
    s["clipped"] += chunk.clipped
    if replaced:
        s["replaced"] += chunk.replaced


def keep_mask(lengths: np.ndarray, spec: EncodeSpec, s: dict) -> Optional[np.ndarray]:
    """Mask of the lines --min-tokens and --long-lines keep (None: all of them), counting the rest."""
    if spec.min_tokens <= 0 and spec.long_lines == "cut":
        return None
    short = lengths < spec.min_tokens
    long = (lengths > spec.seq_len) & (spec.long_lines == "drop")
    s["too_short"] += int(short.sum())
    s["too_long"] += int((long & ~short).sum())
    return ~(short | long)


def count_rows(s: dict, lengths: np.ndarray, L: int) -> None:
    s["rows"] += len(lengths)
    s["tokens"] += int(np.minimum(lengths, L).sum())
    s["truncated"] += int((lengths > L).sum())


def rewrite_ids(path: Path, final: np.ndarray, L: int, progress: Progress) -> int:
    """Map the provisional <u2 ids of ``path`` through ``final``, in place; returns the CRC-32."""
    crc = 0
    progress.stage("writing ids", os.path.getsize(path))
    buf = np.empty(max(1, (4 << 20) // L) * L, dtype="<u2")
    with open(path, "r+b") as f:  # block by block: memory is one block, not the file
        while True:
            got = f.readinto(memoryview(buf)) // 2
            if not got:
                break
            block = final[buf[:got]].astype("<u2", copy=False)
            f.seek(-2 * got, os.SEEK_CUR)
            f.write(memoryview(block))
            crc = zlib.crc32(memoryview(block), crc)
            progress.advance(2 * got, got // L)
    return crc


def padded_bytes(chunk: Chunk, L: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, L) uint8 byte rows of a chunk and lengths in bytes; raw chunks are not decoded."""
    if chunk.raw is not None:
        return byte_rows(chunk.raw, L, newlines=chunk.newlines)
    return byte_rows(chunk.text.encode("utf-8", "surrogatepass") + b"\n", L)


# -- two passes: the vocabulary, then the ids ---------------------------------------------------------

def _counted(chunks: Iterator[Chunk], progress: Progress, tally: dict) -> Iterator[Chunk]:
    for chunk in chunks:
        tally["lines"] += chunk.n
        progress.advance(chunk.nbytes, chunk.n)
        yield chunk


def fit_tokenizer(source: Source, spec: EncodeSpec, progress: Progress):
    """The vocabulary pass over the training sentences; returns the fitted tokenizer."""
    if spec.tokenizer not in KINDS:
        raise CorpusError(f"--tokenizer {spec.tokenizer}: unknown; choose {', '.join(KINDS)}")
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
    progress.stage(f"counting {spec.tokenizer}s", source.size_bytes())
    counts = {"char": CharCounts, "byte": ByteCounts, "word": WordCounts}[spec.tokenizer](spec.seq_len)
    ignored = new_stats()  # the encoding pass counts dropped lines
    for chunk in chunks:
        if not chunk.n:
            continue
        if spec.tokenizer == "byte":
            rows8, lengths = padded_bytes(chunk, spec.seq_len)
            keep = keep_mask(lengths, spec, ignored)
            counts.add_rows(rows8 if keep is None else rows8[keep])
        elif spec.min_tokens > 0 or spec.long_lines != "cut":
            count_tokens = CharTokenizer.count_tokens if spec.tokenizer == "char" else WordTokenizer.count_tokens
            lines = chunk.lines
            keep = keep_mask(np.array([count_tokens(l) for l in lines], dtype=np.int64), spec, ignored)
            counts.add([l for l, k in zip(lines, keep) if k])
        else:
            counts.add_joined(chunk.text)
    if tally["lines"] == 0:
        raise CorpusError(EMPTY)
    return counts.tokenizer(spec.vocab_size)


def encode_rows(chunks: Iterator[Chunk], tok, spec: EncodeSpec, path: Path, dtype, progress: Progress,
                labels=None) -> dict:
    """Append the kept rows of every chunk to ``path`` (and their class labels to ``labels``, a
    corpora.labels.LabelWriter); returns counts and checksums."""
    L = spec.seq_len
    s = new_stats()
    crc = 0
    positions = np.arange(L)
    raw_bytes = isinstance(tok, ByteTokenizer)
    with open(path, "wb") as f:
        for chunk in chunks:
            account_read(s, chunk, progress, replaced=not (raw_bytes and chunk.raw is not None))
            if not chunk.n:
                continue
            if raw_bytes and chunk.raw is not None:
                ids, lengths = tok.encode_raw(chunk.raw, chunk.newlines)
            else:
                ids, lengths = tok.encode_joined(chunk.text)
            keep = keep_mask(lengths, spec, s)
            if labels is not None:
                labels.add(chunk.labels, chunk.n, keep)
            if keep is not None:
                ids, lengths = ids[keep], lengths[keep]
            real = positions[None, :] < np.minimum(lengths, L)[:, None]
            count_rows(s, lengths, L)
            s["unknown"] += int(np.count_nonzero((ids == tok.unk_id) & real))
            if tok.pad_id != tok.unk_id:
                s["pad_tokens"] += int(np.count_nonzero((ids == tok.pad_id) & real))
            data = memoryview(np.ascontiguousarray(ids.astype(dtype, copy=False)))
            f.write(data)
            crc = zlib.crc32(data, crc)
    s["crc32"] = crc
    return s


def id_dtype(tok) -> np.dtype:
    return np.dtype("<u2") if tok.vocab_size <= 65536 else np.dtype("<i4")


def no_text(s: dict, tok) -> str:
    """The refusal of a corpus whose rows would be padding only."""
    pad = f' or hold only the padding character "{tok.pad}"' if isinstance(tok, (CharTokenizer, ByteTokenizer)) else ""
    return (f"no token but padding: its {s['lines']:,} lines are blank{pad}, so every row would be padding "
            f"only; give a corpus with text in it")


def no_usable_lines(s: dict, spec: EncodeSpec) -> str:
    parts = []
    if s["too_short"]:
        parts.append(f"{s['too_short']} have fewer than --min-tokens {spec.min_tokens} tokens")
    if s["too_long"]:
        parts.append(f"{s['too_long']} are longer than --seq-len {spec.seq_len} tokens (--long-lines drop)")
    return (f"no line of usable length: of {s['lines']} lines, " + " and ".join(parts) +
            "; adjust --min-tokens, --seq-len or --long-lines cut")
