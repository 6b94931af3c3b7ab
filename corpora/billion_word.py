"""The One Billion Word benchmark in its distributed layout (Chelba et al. 2013).

    DATA_DIR/training-monolingual.tokenized.shuffled/news.en-000NN-of-00100   NN = 01..99
    DATA_DIR/heldout-monolingual.tokenized.shuffled/news.en.heldout-000NN-of-00050

As the paper's ``language_helpers.load_dataset`` (SPEC.md): training shards are read in order,
line by line, each line stripped of its trailing newline, until ``max_examples`` lines (paper:
10,000,000); :func:`corpora.sources.billion_word_source` reads them so with
:func:`corpora.textfile.line_chunks` (``keep_blank=True``), skipping a missing shard. Truncation,
padding and the vocabulary are the tokenizer's job (corpora.tokenizers). The held-out shards are
the validation set (BLEU references and held-out JS-n).
"""

from __future__ import annotations

import os
from pathlib import Path

from corpora import CorpusError
from corpora.paths import FILE, path_kind

TRAIN_DIR = "training-monolingual.tokenized.shuffled"
HELDOUT_DIR = "heldout-monolingual.tokenized.shuffled"
SOURCE = ("the 1-billion-word-language-modeling-benchmark-r13output archive "
          "(https://www.statmt.org/lm-benchmark/), unpacked")


def train_shards(data_dir: Path) -> list[Path]:
    """The training shards present, in order (the paper's loop reads news.en-00001 .. -00099)."""
    return _present([Path(data_dir) / TRAIN_DIR / f"news.en-{i:05d}-of-00100" for i in range(1, 100)])


def heldout_shards(data_dir: Path) -> list[Path]:
    folder = Path(data_dir) / HELDOUT_DIR
    return _present(sorted(folder.glob("news.en.heldout-*-of-00050"))) if folder.is_dir() else []


def _present(paths: list[Path]) -> list[Path]:
    """The paths that exist; one that exists but is no readable file (a pipe, a directory, a
    broken or looping link) is refused rather than skipped."""
    present = []
    for path in paths:
        if not os.path.lexists(path):
            continue
        if path_kind(path, flag="--data-dir", fix="restore the shard from the benchmark archive") != FILE:
            raise CorpusError(f"--data-dir {path}: is a directory, not a shard file; restore the shard from "
                              f"the benchmark archive")
        present.append(path)
    return present


def check_layout(data_dir) -> None:
    """Raise a CorpusError naming the expected layout when the benchmark is not at ``data_dir``."""
    if data_dir is None:
        raise CorpusError(f"--corpus billion_word needs --data-dir DIR, the folder holding {TRAIN_DIR}/ "
                          f"from {SOURCE}")
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise CorpusError(f"--data-dir {data_dir}: no such directory; it should hold {TRAIN_DIR}/ from {SOURCE}")
    if not (data_dir / TRAIN_DIR).is_dir():
        raise CorpusError(f"--data-dir {data_dir}: no {TRAIN_DIR}/ inside; expected "
                          f"{data_dir}/{TRAIN_DIR}/news.en-00001-of-00100 ... from {SOURCE}")
    first = data_dir / TRAIN_DIR / "news.en-00001-of-00100"
    if not os.path.lexists(first):
        raise CorpusError(f"--data-dir {data_dir}: {TRAIN_DIR}/news.en-00001-of-00100 is missing; "
                          f"the benchmark's training shards are news.en-000NN-of-00100, NN = 01..99")
