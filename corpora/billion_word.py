"""The One Billion Word benchmark in its distributed layout (Chelba et al. 2013).

    DATA_DIR/training-monolingual.tokenized.shuffled/news.en-000NN-of-00100   NN = 01..99
    DATA_DIR/heldout-monolingual.tokenized.shuffled/news.en.heldout-000NN-of-00050

As the paper's ``language_helpers.load_dataset`` (SPEC.md): training shards are read in order,
line by line, each line stripped of its trailing newline, until ``max_examples`` lines (paper:
10,000,000). Truncation, padding and the vocabulary are the tokenizer's job (corpora.tokenizers).
The held-out shards are the validation set (BLEU references and held-out JS-n).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from corpora import CorpusError
from corpora.textfile import Chunk, line_chunks

TRAIN_DIR = "training-monolingual.tokenized.shuffled"
HELDOUT_DIR = "heldout-monolingual.tokenized.shuffled"
SOURCE = ("the 1-billion-word-language-modeling-benchmark-r13output archive "
          "(https://www.statmt.org/lm-benchmark/), unpacked")


def train_shards(data_dir: Path) -> list[Path]:
    return [Path(data_dir) / TRAIN_DIR / f"news.en-{i:05d}-of-00100" for i in range(1, 100)]


def heldout_shards(data_dir: Path) -> list[Path]:
    folder = Path(data_dir) / HELDOUT_DIR
    return sorted(folder.glob("news.en.heldout-*-of-00050")) if folder.is_dir() else []


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
    if not train_shards(data_dir)[0].is_file():
        raise CorpusError(f"--data-dir {data_dir}: {TRAIN_DIR}/news.en-00001-of-00100 is missing; "
                          f"the benchmark's training shards are news.en-000NN-of-00100, NN = 01..99")


def _lines(paths: list[Path], max_examples: int | None) -> Iterator[str]:
    for chunk in train_chunks(paths, max_examples):
        yield from chunk.lines


def train_chunks(paths: list[Path], max_examples: int | None) -> Iterator[Chunk]:
    """The paper's reading, streamed: shards in order (missing ones skipped, as the paper's loop
    does), every line with only its trailing newline removed, at most ``max_examples`` lines."""
    return line_chunks([p for p in paths if p.is_file()], max_lines=max_examples, keep_blank=True)


def read_train(data_dir: Path, max_examples: int | None = 10_000_000) -> list[str]:
    """The first ``max_examples`` training sentences, in shard order."""
    check_layout(data_dir)
    lines = list(_lines(train_shards(data_dir), max_examples))
    if not lines:
        raise CorpusError(f"--data-dir {data_dir}: the training shards hold no lines")
    return lines


def read_heldout(data_dir: Path, max_examples: int | None = None) -> list[str]:
    """Held-out sentences (the validation set); empty when the held-out folder is absent."""
    return list(_lines(heldout_shards(data_dir), max_examples))
