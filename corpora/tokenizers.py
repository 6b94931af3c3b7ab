"""Tokenizers that map sentences to fixed-length rows of integer ids.

Three kinds, one interface (``encode``, ``encode_lengths``, ``decode``, ``to_json``/``from_json``,
``vocab_size``, ``pad_id``, ``unk_id``, ``seq_len``). A row always holds ``seq_len`` *tokens*:
longer sentences are cut, shorter ones right-padded with the pad token.

* :class:`CharTokenizer` is the paper's (language_helpers.load_dataset, SPEC.md): every sentence is
  truncated to ``seq_len`` characters (long lines are cut, not dropped) and right-padded with the
  backtick "`"; the vocabulary is id 0 for unknown followed by the most frequent characters of the
  padded corpus (pad included) up to ``vocab_size`` ids in all; rarer characters map to 0.
  One deliberate difference: the 2017 code ran under Python 2, where a "character" was a byte of
  UTF-8. We count Unicode code points, which is identical on ASCII text (nearly all of One Billion
  Word) and does not split multi-byte characters into meaningless bytes.
* :class:`WordTokenizer`: whitespace-separated words; id 0 = ``<unk>``, id 1 = ``<pad>``, then the
  most frequent words up to ``vocab_size`` ids in all (ties: first seen).
* :class:`SentencePieceTokenizer`: a BPE or unigram model trained on the corpus with the
  sentencepiece library (id 0 = ``<unk>``, id 1 = ``<pad>``); the model's bytes travel inside the
  tokenizer's JSON (base64), so a checkpoint decodes with no corpus present.

Vocabularies are fitted in a streaming pass (``CharCounts``, ``WordCounts``, or sentencepiece's
own sampling of at most ``max_sentences`` sentences), so memory stays bounded whatever the corpus.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from itertools import chain
from typing import Iterable, Optional, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

PAD = "`"
UNK = "unk"  # the paper's name for id 0
UNK_DISPLAY = "\ufffd"  # how an unknown character id is shown when decoding
MAX_CODE = 0x110000  # Unicode code points are below this

KINDS = ("char", "word", "sentencepiece")


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


def raw_rows(raw: bytes, seq_len: int, pad: str = PAD, newlines: Optional[np.ndarray] = None, non_ascii=None):
    """Rows of raw UTF-8 bytes of newline-terminated lines, without decoding them.

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
    if raw.endswith(b"\n"):
        starts = np.concatenate([[0], newlines[:-1] + 1])
        ends = newlines
    else:
        starts = np.concatenate([[0], newlines + 1])
        ends = np.append(newlines, b.size)
    lengths = ends - starts
    inside = np.arange(seq_len)[None, :] < lengths[:, None]
    windows = sliding_window_view(np.concatenate([b, np.zeros(seq_len, np.uint8)]), seq_len)
    window = windows[starts]  # (N, seq_len) bytes from each line start, one gather
    rows8 = np.where(inside, window, np.uint8(ord(pad)))
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
                texts = [raw[a:e].decode("utf-8", errors="replace")
                         for a, e in zip(starts[slow].tolist(), ends[slow].tolist())]
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


def _scatter_rows(flat: np.ndarray, cut: np.ndarray, seq_len: int, pad_id: int) -> np.ndarray:
    """(N, seq_len) int32 rows from concatenated per-row ids (``cut[i]`` ids for row i), pad after."""
    out = np.full((len(cut), seq_len), pad_id, dtype=np.int32)
    if flat.size:
        rows = np.repeat(np.arange(len(cut)), cut)
        starts = np.cumsum(cut) - cut
        cols = np.arange(flat.size) - np.repeat(starts, cut)
        out[rows, cols] = flat
    return out


# -- characters (the paper's) --------------------------------------------------------------------

class CharTokenizer:
    """The paper's character vocabulary: id 0 = unknown, then characters by frequency."""

    kind = "char"
    unk_id = 0

    def __init__(self, chars: Sequence[str], seq_len: int, pad: str = PAD):
        self.chars = list(chars)  # chars[i] is the character of id i + 1
        self.seq_len, self.pad = seq_len, pad
        self._codes = np.array([ord(c) for c in self.chars], dtype=np.int64)
        self._table = None  # code point -> id, built on first encode

    @property
    def vocab_size(self) -> int:
        return len(self.chars) + 1

    @property
    def pad_id(self) -> int:
        return self.chars.index(self.pad) + 1 if self.pad in self.chars else 0

    @classmethod
    def fit(cls, lines: Iterable[str], *, seq_len: int, vocab_size: int, pad: str = PAD) -> "CharTokenizer":
        """Build the vocabulary from the padded lines, most frequent first (ties: first seen)."""
        counts = CharCounts(seq_len, pad)
        for chunk in _chunks(lines, 100_000):
            counts.add(chunk)
        return counts.tokenizer(vocab_size)

    def _lookup(self) -> np.ndarray:
        if self._table is None:
            table = np.zeros(MAX_CODE, dtype=np.int32)
            table[self._codes[::-1]] = np.arange(len(self._codes), 0, -1)  # a repeated char keeps its first id
            self._table = table
        return self._table

    def encode(self, lines: Sequence[str]) -> np.ndarray:
        """(N, seq_len) int32 ids; characters outside the vocabulary become 0."""
        return self._lookup()[pad_rows(lines, self.seq_len, self.pad)]

    def encode_joined(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Ids of lines joined by newlines, and each line's length in tokens before truncation."""
        rows, lengths = pad_joined(text, self.seq_len, self.pad)
        return self._lookup()[rows], lengths

    def encode_lengths(self, lines: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Ids and each line's length in tokens before truncation."""
        if not lines:
            return np.zeros((0, self.seq_len), np.int32), np.zeros(0, np.int64)
        return self.encode_joined("\n".join(lines))

    @staticmethod
    def count_tokens(line: str) -> int:
        return len(line)

    def decode(self, ids: np.ndarray, *, strip_pad: bool = True) -> list[str]:
        """Rows of ids back to strings; padding stripped from the right by default."""
        table = np.array([UNK_DISPLAY] + self.chars, dtype=object)
        out = []
        for row in np.asarray(ids):
            text = "".join(table[row])
            out.append(text.rstrip(self.pad) if strip_pad else text)
        return out

    def to_json(self) -> dict:
        return {"kind": self.kind, "chars": self.chars, "seq_len": self.seq_len, "pad": self.pad, "unk": UNK}

    @classmethod
    def from_json(cls, doc: dict) -> "CharTokenizer":
        return cls(doc["chars"], int(doc["seq_len"]), doc.get("pad", PAD))


class CharCounts:
    """Streaming character frequencies of the padded rows (the vocabulary pass).

    Counts are a dense array over all code points; ``first`` keeps each character's first position
    in the stream of padded rows, which breaks frequency ties exactly as a single pass would.
    """

    def __init__(self, seq_len: int, pad: str = PAD):
        self.seq_len, self.pad = seq_len, pad
        self.counts = np.zeros(MAX_CODE, dtype=np.int64)
        self.first = np.full(MAX_CODE, np.iinfo(np.int64).max, dtype=np.int64)
        self.offset = 0

    def add(self, lines: Sequence[str]) -> None:
        if lines:
            self.add_joined("\n".join(lines))

    def add_joined(self, text: str) -> None:
        """Count the padded rows of lines joined by newlines."""
        codes = pad_joined(text, self.seq_len, self.pad)[0].ravel()
        chunk = np.bincount(codes, minlength=MAX_CODE)
        new = (chunk > 0) & (self.counts == 0)
        remaining = int(new.sum())
        start, window = 0, 65536
        while remaining:  # first positions of new characters: scan windows until all are found
            part = codes[start : start + window]
            hit = np.flatnonzero(new[part])
            if hit.size:
                uniq, idx = np.unique(part[hit], return_index=True)
                self.first[uniq] = self.offset + start + hit[idx]
                new[uniq] = False
                remaining -= uniq.size
            start += window
        self.counts += chunk
        self.offset += codes.size

    def tokenizer(self, vocab_size: int) -> CharTokenizer:
        present = np.flatnonzero(self.counts)
        order = np.lexsort((self.first[present], -self.counts[present]))
        ranked = present[order][: max(vocab_size - 1, 0)]
        return CharTokenizer([chr(int(u)) for u in ranked], self.seq_len, self.pad)


# -- words -----------------------------------------------------------------------------------------

class WordTokenizer:
    """Whitespace-separated words: id 0 = ``<unk>``, id 1 = ``<pad>``, then words by frequency."""

    kind = "word"
    UNK_TOKEN, PAD_TOKEN = "<unk>", "<pad>"
    unk_id, pad_id = 0, 1

    def __init__(self, words: Sequence[str], seq_len: int):
        self.words = list(words)  # words[i] is the word of id i + 2
        self.seq_len = seq_len
        self._index = {w: i + 2 for i, w in reversed(list(enumerate(self.words)))}
        self._table = None

    @property
    def vocab_size(self) -> int:
        return len(self.words) + 2

    @staticmethod
    def count_tokens(line: str) -> int:
        return len(line.split())

    @classmethod
    def fit(cls, lines: Iterable[str], *, seq_len: int, vocab_size: int) -> "WordTokenizer":
        counts = WordCounts(seq_len)
        for chunk in _chunks(lines, 100_000):
            counts.add(chunk)
        return counts.tokenizer(vocab_size)

    def encode_lengths(self, lines: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        split = [line.split() for line in lines]
        lengths = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        L, get = self.seq_len, self._index.get
        flat = np.fromiter((get(w, 0) for w in chain.from_iterable(s[:L] for s in split)), dtype=np.int32)
        return _scatter_rows(flat, np.minimum(lengths, L), L, self.pad_id), lengths

    def encode(self, lines: Sequence[str]) -> np.ndarray:
        return self.encode_lengths(lines)[0]

    def encode_joined(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        return self.encode_lengths(text.split("\n"))

    def decode(self, ids: np.ndarray, *, strip_pad: bool = True) -> list[str]:
        """Words joined by single spaces; trailing padding dropped by default."""
        if self._table is None:
            self._table = np.array([self.UNK_TOKEN, self.PAD_TOKEN] + self.words, dtype=object)
        out = []
        for row in np.asarray(ids):
            row = _strip_right(row, self.pad_id) if strip_pad else row
            out.append(" ".join(self._table[row]))
        return out

    def to_json(self) -> dict:
        return {"kind": self.kind, "words": self.words, "seq_len": self.seq_len,
                "unk": self.UNK_TOKEN, "pad": self.PAD_TOKEN}

    @classmethod
    def from_json(cls, doc: dict) -> "WordTokenizer":
        return cls(doc["words"], int(doc["seq_len"]))


class WordCounts:
    """Streaming word frequencies (the vocabulary pass); ties keep first-seen order."""

    def __init__(self, seq_len: int):
        self.seq_len = seq_len
        self.counts: Counter = Counter()

    def add(self, lines: Sequence[str]) -> None:
        self.counts.update(chain.from_iterable(map(str.split, lines)))

    def add_joined(self, text: str) -> None:
        self.counts.update(text.split())  # a newline is whitespace: the same words as line by line

    def tokenizer(self, vocab_size: int) -> WordTokenizer:
        special = {WordTokenizer.UNK_TOKEN, WordTokenizer.PAD_TOKEN}
        ranked = [w for w, _ in self.counts.most_common(max(vocab_size - 2, 0) + len(special)) if w not in special]
        return WordTokenizer(ranked[: max(vocab_size - 2, 0)], self.seq_len)


# -- sentencepiece ---------------------------------------------------------------------------------

class SentencePieceTokenizer:
    """A sentencepiece model (BPE or unigram); id 0 = ``<unk>``, id 1 = ``<pad>``."""

    kind = "sentencepiece"
    unk_id, pad_id = 0, 1

    def __init__(self, model: bytes, seq_len: int, model_type: str):
        import sentencepiece as spm

        self.model, self.seq_len, self.model_type = bytes(model), seq_len, model_type
        self.sp = spm.SentencePieceProcessor(model_proto=self.model)

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    @classmethod
    def train(cls, lines: Iterable[str], *, seq_len: int, vocab_size: int, model_type: str = "unigram",
              seed: int = 0, max_sentences: int = 1_000_000) -> "SentencePieceTokenizer":
        """Train on ``lines`` (sentencepiece keeps a uniform sample of at most ``max_sentences``).

        ``vocab_size`` is an upper bound, as for the other tokenizers: a small corpus may support
        fewer pieces. Text is not normalised (identity rule), so decoding restores it exactly.
        Raises ValueError with sentencepiece's own explanation when training fails.
        """
        import sentencepiece as spm

        spm.set_random_generator_seed(seed)
        model = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=(line for line in lines if line), model_writer=model,
                vocab_size=vocab_size, model_type=model_type, unk_id=0, pad_id=1, bos_id=-1, eos_id=-1,
                input_sentence_size=max_sentences, shuffle_input_sentence=True,
                hard_vocab_limit=False, normalization_rule_name="identity", num_threads=1, minloglevel=2)
        except RuntimeError as exc:
            raise ValueError(str(exc).split("]")[-1].strip()) from None
        return cls(model.getvalue(), seq_len, model_type)

    def encode_lengths(self, lines: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        pieces = self.sp.encode(list(lines), out_type=int)
        lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        L = self.seq_len
        flat = np.fromiter(chain.from_iterable(p[:L] for p in pieces), dtype=np.int32)
        return _scatter_rows(flat, np.minimum(lengths, L), L, self.pad_id), lengths

    def encode(self, lines: Sequence[str]) -> np.ndarray:
        return self.encode_lengths(lines)[0]

    def encode_joined(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        return self.encode_lengths(text.split("\n"))

    def decode(self, ids: np.ndarray, *, strip_pad: bool = True) -> list[str]:
        """Pieces back to text (sentencepiece restores the spaces); padding decodes to nothing."""
        rows = [_strip_right(row, self.pad_id).tolist() for row in np.asarray(ids)]
        return [self.sp.decode(row) for row in rows]

    def to_json(self) -> dict:
        return {"kind": self.kind, "model": base64.b64encode(self.model).decode("ascii"),
                "seq_len": self.seq_len, "model_type": self.model_type}

    @classmethod
    def from_json(cls, doc: dict) -> "SentencePieceTokenizer":
        return cls(base64.b64decode(doc["model"]), int(doc["seq_len"]), doc.get("model_type", "unigram"))


def tokenizer_from_json(doc: dict):
    kinds = {"char": CharTokenizer, "word": WordTokenizer, "sentencepiece": SentencePieceTokenizer}
    if doc.get("kind") not in kinds:
        raise ValueError(f"unknown tokenizer kind {doc.get('kind')!r}")
    return kinds[doc["kind"]].from_json(doc)


def _strip_right(row: np.ndarray, pad_id: int) -> np.ndarray:
    row = np.asarray(row)
    keep = np.flatnonzero(row != pad_id)
    return row[: keep[-1] + 1] if keep.size else row[:0]


def _chunks(lines: Iterable[str], size: int):
    chunk = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
