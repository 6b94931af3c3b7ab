"""Tokenizers that map sentences to fixed-length rows of integer ids.

:class:`CharTokenizer` is the paper's (language_helpers.load_dataset, SPEC.md): every sentence is
truncated to ``seq_len`` characters (long lines are cut, not dropped) and right-padded with the
backtick "`"; the vocabulary is id 0 for unknown followed by the most frequent characters of the
padded corpus (pad included) up to ``vocab_size`` ids in all; rarer characters map to 0.

One deliberate difference: the 2017 code ran under Python 2, where a "character" was a byte of
UTF-8. We count Unicode code points, which is identical on ASCII text (nearly all of One Billion
Word) and does not split multi-byte characters into meaningless bytes.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

PAD = "`"
UNK = "unk"  # the paper's name for id 0
UNK_DISPLAY = "\ufffd"  # how an unknown id is shown when decoding


def pad_rows(lines: Sequence[str], seq_len: int, pad: str = PAD) -> np.ndarray:
    """Truncate/pad every line to ``seq_len`` characters; returns code points, (N, L) uint32."""
    joined = "".join(line[:seq_len].ljust(seq_len, pad) for line in lines)
    return np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).reshape(len(lines), seq_len)


class CharTokenizer:
    """The paper's character vocabulary: id 0 = unknown, then characters by frequency."""

    kind = "char"

    def __init__(self, chars: Sequence[str], seq_len: int, pad: str = PAD):
        self.chars = list(chars)  # chars[i] is the character of id i + 1
        self.seq_len, self.pad = seq_len, pad
        self._codes = np.array([ord(c) for c in self.chars], dtype=np.uint32)
        self._order = np.argsort(self._codes)

    @property
    def vocab_size(self) -> int:
        return len(self.chars) + 1

    @property
    def pad_id(self) -> int:
        return self.chars.index(self.pad) + 1 if self.pad in self.chars else 0

    @classmethod
    def fit(cls, lines: Iterable[str], *, seq_len: int, vocab_size: int, pad: str = PAD) -> "CharTokenizer":
        """Build the vocabulary from the padded lines, most frequent first (ties: first seen)."""
        counts: dict[int, int] = {}
        first: dict[int, int] = {}
        offset = 0
        for chunk in _chunks(lines, 100_000):
            codes = pad_rows(chunk, seq_len, pad).ravel()
            uniq, idx, cnt = np.unique(codes, return_index=True, return_counts=True)
            for u, i, c in zip(uniq.tolist(), idx.tolist(), cnt.tolist()):
                counts[u] = counts.get(u, 0) + c
                first.setdefault(u, offset + i)
            offset += codes.size
        ranked = sorted(counts, key=lambda u: (-counts[u], first[u]))[: max(vocab_size - 1, 0)]
        return cls([chr(u) for u in ranked], seq_len, pad)

    def encode(self, lines: Sequence[str]) -> np.ndarray:
        """(N, seq_len) int32 ids; characters outside the vocabulary become 0."""
        codes = pad_rows(lines, self.seq_len, self.pad)
        sorted_codes = self._codes[self._order]
        pos = np.searchsorted(sorted_codes, codes).clip(0, max(len(sorted_codes) - 1, 0))
        found = sorted_codes[pos] == codes if len(sorted_codes) else np.zeros(codes.shape, bool)
        return np.where(found, self._order[pos] + 1, 0).astype(np.int32)

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


def tokenizer_from_json(doc: dict):
    kinds = {"char": CharTokenizer}
    if doc.get("kind") not in kinds:
        raise ValueError(f"unknown tokenizer kind {doc.get('kind')!r}")
    return kinds[doc["kind"]].from_json(doc)


def _chunks(lines: Iterable[str], size: int):
    chunk = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
