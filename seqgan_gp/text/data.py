"""Reading a text corpus named by ``--corpus`` into sentences and token ids."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from corpora import CorpusError, billion_word, grammar, textfile
from corpora.tokenizers import CharTokenizer
from seqgan_gp.errors import UserError
from seqgan_gp.text.config import TextConfig


@dataclass
class Corpus:
    name: str
    lines: list[str]  # training sentences
    heldout: list[str]  # validation sentences (may be empty)
    is_valid: Optional[Callable[[str, bool], bool]] = None  # only for the embedded grammar
    replaced_bytes: int = 0  # undecodable bytes replaced by U+FFFD


def load_corpus(cfg: TextConfig) -> Corpus:
    """The sentences of ``cfg.corpus``; every user-fixable problem becomes a UserError."""
    try:
        if cfg.corpus == "embedded":
            lines = grammar.generate(min(cfg.embedded_size, cfg.max_examples), seed=cfg.seed)
            heldout = grammar.generate(640, seed=cfg.seed + 1_000_003)
            return Corpus("embedded", lines, heldout,
                          is_valid=lambda s, truncated: grammar.is_valid(s, truncated=truncated))
        if cfg.corpus == "billion_word":
            lines = billion_word.read_train(cfg.data_dir, cfg.max_examples)
            return Corpus("billion_word", lines, billion_word.read_heldout(cfg.data_dir, 10_000))
        path = Path(cfg.corpus)
        lines, replaced = textfile.read_lines(path, cfg.max_examples)
        return Corpus(path.stem, lines, [], replaced_bytes=replaced)
    except CorpusError as exc:
        raise UserError(str(exc)) from None


def fingerprint(ids: np.ndarray) -> str:
    """A content hash of the encoded corpus; a resumed run checks its corpus has not changed."""
    return hashlib.sha256(np.ascontiguousarray(ids).tobytes()).hexdigest()[:16]


def fit_tokenizer(cfg: TextConfig, corpus: Corpus) -> CharTokenizer:
    return CharTokenizer.fit(corpus.lines, seq_len=cfg.seq_len, vocab_size=cfg.vocab_size)


def check_batch(cfg: TextConfig, ids: np.ndarray, corpus: Corpus) -> None:
    if len(ids) < cfg.batch_size:
        raise UserError(f"--corpus {cfg.corpus}: only {len(ids)} sentences, fewer than one batch of "
                        f"--batch-size {cfg.batch_size}; lower --batch-size or use a larger corpus")
