"""Tokenizers that map sentences to fixed-length rows of integer ids.

Four kinds, one interface (``encode``, ``encode_lengths``, ``encode_joined``, ``decode``,
``to_json``/``from_json``, ``vocab_size``, ``pad_id``, ``unk_id``, ``seq_len``, ``kind``). A row
always holds ``seq_len`` *tokens*: longer sentences are cut, shorter ones right-padded.

* :class:`CharTokenizer` (``char``) is the paper's preprocessing (language_helpers.load_dataset,
  SPEC.md) on Unicode code points: every sentence is truncated to ``seq_len`` characters (long
  lines are cut, not dropped) and right-padded with the backtick "`"; the vocabulary is id 0 for
  unknown followed by the most frequent characters of the padded corpus (pad included) up to
  ``vocab_size`` ids in all; rarer characters map to 0. Identical to the reference on ASCII text
  (nearly all of One Billion Word); multi-byte characters stay whole.
* :class:`ByteTokenizer` (``byte``) is the reference exactly as it ran: under Python 2
  ``tuple(line)`` split a ``str`` into its UTF-8 *bytes*, so the vocabulary holds at most 257 ids
  (``unk`` and 256 byte values) and the ``seq_len`` window counts bytes. Decoding turns bytes back
  into text with U+FFFD for unknown ids and for partial multi-byte sequences (a window may cut a
  character in two), so no sample fails to decode.
* :class:`WordTokenizer` (``word``): whitespace-separated words; id 0 = ``<unk>``, id 1 =
  ``<pad>``, then the most frequent words up to ``vocab_size`` ids in all (ties: first seen).
* :class:`SentencePieceTokenizer` (``sentencepiece``): a BPE or unigram model trained on the corpus
  with the sentencepiece library (id 0 = ``<unk>``, id 1 = ``<pad>``); the model's bytes travel
  inside the tokenizer's JSON (base64), so a checkpoint decodes with no corpus present.

Vocabularies are fitted in a streaming pass (``CharCounts``, ``ByteCounts``, ``WordCounts``, or
sentencepiece's own sampling of at most ``max_sentences`` sentences), so memory stays bounded
whatever the corpus; frequency ties go to the token seen first. :func:`tokenizer_from_json`
rebuilds any of them from its ``to_json`` document and refuses a malformed one with ValueError.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from itertools import chain
from typing import Iterable, Sequence

import numpy as np

from corpora.rows import PAD, byte_rows, pad_joined, pad_rows, scatter_rows, strip_right

UNK = "unk"  # the paper's name for id 0
UNK_DISPLAY = "\ufffd"  # how an unknown character id is shown when decoding
MAX_CODE = 0x110000  # Unicode code points are below this

KINDS = ("char", "byte", "word", "sentencepiece")


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
        chars = _list_of(doc, "chars", lambda c: isinstance(c, str) and len(c) == 1, "single characters")
        if len(set(chars)) != len(chars):
            raise ValueError("tokenizer 'chars' holds a character twice")
        return cls(chars, _seq_len(doc), _pad(doc))


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


# -- bytes (the reference as it ran under Python 2) -----------------------------------------------

class ByteTokenizer:
    """UTF-8 bytes as the paper's characters: id 0 = ``unk``, then byte values by frequency."""

    kind = "byte"
    unk_id = 0
    UNKNOWN_BYTE = 0xFF  # never valid in UTF-8: an unknown id decodes to U+FFFD

    def __init__(self, byte_values: Sequence[int], seq_len: int, pad: str = PAD):
        self.byte_values = [int(b) for b in byte_values]  # byte_values[i] is the byte of id i + 1
        if len(set(self.byte_values)) != len(self.byte_values) or not all(0 <= b < 256 for b in self.byte_values):
            raise ValueError("a byte tokenizer's values must be distinct bytes 0..255")
        if len(pad) != 1 or ord(pad) >= 128:
            raise ValueError(f"a byte tokenizer pads with one ASCII character, not {pad!r}")
        self.seq_len, self.pad, self.pad_byte = seq_len, pad, ord(pad)
        self._table = np.zeros(256, dtype=np.int32)  # byte -> id
        self._table[self.byte_values] = np.arange(1, len(self.byte_values) + 1)
        self._bytes = np.array([self.UNKNOWN_BYTE] + self.byte_values, dtype=np.uint8)  # id -> byte

    @property
    def vocab_size(self) -> int:
        return len(self.byte_values) + 1

    @property
    def pad_id(self) -> int:
        return int(self._table[self.pad_byte])

    @property
    def table(self) -> np.ndarray:
        """(256,) int32: the id of each byte value (0 = unknown)."""
        return self._table

    def encode_raw(self, raw: bytes, newlines=None) -> tuple[np.ndarray, np.ndarray]:
        """Ids of newline-separated lines of raw bytes (no decoding), and their lengths in bytes."""
        rows8, lengths = byte_rows(raw, self.seq_len, self.pad_byte, newlines)
        return self._table[rows8], lengths

    def encode_joined(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Ids of lines joined by newlines, and each line's length in bytes before truncation."""
        return self.encode_raw(text.encode("utf-8", "surrogatepass") + b"\n")

    def encode_lengths(self, lines: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        if not lines:
            return np.zeros((0, self.seq_len), np.int32), np.zeros(0, np.int64)
        return self.encode_joined("\n".join(lines))

    def encode(self, lines: Sequence[str]) -> np.ndarray:
        return self.encode_lengths(lines)[0]

    @staticmethod
    def count_tokens(line: str) -> int:
        return len(line.encode("utf-8", "surrogatepass"))

    def decode(self, ids: np.ndarray, *, strip_pad: bool = True) -> list[str]:
        """Rows of ids to text: UTF-8 with U+FFFD for unknown ids and for partial sequences."""
        out = []
        for row in np.asarray(ids):
            data = self._bytes[row].tobytes()
            out.append((data.rstrip(bytes([self.pad_byte])) if strip_pad else data).decode("utf-8", "replace"))
        return out

    def to_json(self) -> dict:
        return {"kind": self.kind, "bytes": self.byte_values, "seq_len": self.seq_len, "pad": self.pad, "unk": UNK}

    @classmethod
    def from_json(cls, doc: dict) -> "ByteTokenizer":
        values = _list_of(doc, "bytes", lambda b: isinstance(b, int) and not isinstance(b, bool) and 0 <= b < 256,
                          "byte values 0..255")
        return cls(values, _seq_len(doc), _pad(doc))


class ByteCounts:
    """Streaming byte frequencies of the padded byte rows (the vocabulary pass of ``byte``)."""

    def __init__(self, seq_len: int, pad: str = PAD):
        self.seq_len, self.pad = seq_len, pad
        self.counts = np.zeros(256, dtype=np.int64)
        self.first = np.full(256, np.iinfo(np.int64).max, dtype=np.int64)  # first position in the stream
        self.offset = 0

    def add_rows(self, rows8: np.ndarray) -> None:
        """Count (N, seq_len) uint8 padded rows."""
        flat = rows8.ravel()
        chunk = np.bincount(flat, minlength=256)
        for b in np.flatnonzero((chunk > 0) & (self.counts == 0)).tolist():  # at most 256 times in all
            self.first[b] = self.offset + int(np.argmax(flat == b))
        self.counts += chunk
        self.offset += flat.size

    def add(self, lines: Sequence[str]) -> None:
        if lines:
            self.add_joined("\n".join(lines))

    def add_joined(self, text: str) -> None:
        self.add_rows(byte_rows(text.encode("utf-8", "surrogatepass") + b"\n", self.seq_len, ord(self.pad))[0])

    def tokenizer(self, vocab_size: int) -> ByteTokenizer:
        present = np.flatnonzero(self.counts)
        order = np.lexsort((self.first[present], -self.counts[present]))
        return ByteTokenizer(present[order][: max(vocab_size - 1, 0)].tolist(), self.seq_len, self.pad)


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

    def encode_lengths(self, lines: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        split = [line.split() for line in lines]
        lengths = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        L, get = self.seq_len, self._index.get
        flat = np.fromiter((get(w, 0) for w in chain.from_iterable(s[:L] for s in split)), dtype=np.int32)
        return scatter_rows(flat, np.minimum(lengths, L), L, self.pad_id), lengths

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
            row = strip_right(row, self.pad_id) if strip_pad else row
            out.append(" ".join(self._table[row]))
        return out

    def to_json(self) -> dict:
        return {"kind": self.kind, "words": self.words, "seq_len": self.seq_len,
                "unk": self.UNK_TOKEN, "pad": self.PAD_TOKEN}

    @classmethod
    def from_json(cls, doc: dict) -> "WordTokenizer":
        return cls(_list_of(doc, "words", lambda w: isinstance(w, str) and w != "", "words"), _seq_len(doc))


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

        spm.set_random_generator_seed(seed % 2**32)  # its seed is 32-bit; ours go to 2**63 - 1
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
        return scatter_rows(flat, np.minimum(lengths, L), L, self.pad_id), lengths

    def encode(self, lines: Sequence[str]) -> np.ndarray:
        return self.encode_lengths(lines)[0]

    def encode_joined(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        return self.encode_lengths(text.split("\n"))

    def decode(self, ids: np.ndarray, *, strip_pad: bool = True) -> list[str]:
        """Pieces back to text (sentencepiece restores the spaces); padding decodes to nothing."""
        rows = [strip_right(row, self.pad_id).tolist() for row in np.asarray(ids)]
        return [self.sp.decode(row) for row in rows]

    def to_json(self) -> dict:
        return {"kind": self.kind, "model": base64.b64encode(self.model).decode("ascii"),
                "seq_len": self.seq_len, "model_type": self.model_type}

    @classmethod
    def from_json(cls, doc: dict) -> "SentencePieceTokenizer":
        if not isinstance(doc.get("model"), str):
            raise ValueError("tokenizer 'model' must be the base64 text of a sentencepiece model")
        try:
            model = base64.b64decode(doc["model"], validate=True)
            return cls(model, _seq_len(doc), doc.get("model_type", "unigram"))
        except (ValueError, RuntimeError, TypeError) as exc:  # binascii.Error is a ValueError
            raise ValueError(f"tokenizer 'model' is not a sentencepiece model ({type(exc).__name__})") from None


def tokenizer_from_json(doc: dict):
    """The tokenizer a ``to_json`` document describes; ValueError naming the problem otherwise."""
    kinds = {"char": CharTokenizer, "byte": ByteTokenizer, "word": WordTokenizer,
             "sentencepiece": SentencePieceTokenizer}
    if not isinstance(doc, dict) or doc.get("kind") not in kinds:
        kind = doc.get("kind") if isinstance(doc, dict) else type(doc).__name__
        raise ValueError(f"unknown tokenizer kind {kind!r}; expected one of {', '.join(kinds)}")
    return kinds[doc["kind"]].from_json(doc)


def _list_of(doc: dict, key: str, ok, what: str) -> list:
    value = doc.get(key)
    if not isinstance(value, list) or not all(ok(v) for v in value):
        raise ValueError(f"tokenizer {key!r} must be a list of {what}")
    return value


def _seq_len(doc: dict) -> int:
    n = doc.get("seq_len")
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 1_000_000:
        raise ValueError(f"tokenizer 'seq_len' must be a whole number from 1 to 1,000,000, not {n!r}")
    return n


def _pad(doc: dict) -> str:
    pad = doc.get("pad", PAD)
    if not isinstance(pad, str) or len(pad) != 1:
        raise ValueError(f"tokenizer 'pad' must be one character, not {pad!r}")
    return pad
