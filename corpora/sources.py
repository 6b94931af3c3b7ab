"""Where sentences come from: every ``--corpus`` value as one streaming source.

    embedded                      the generated grammar corpus (corpora.grammar)
    billion_word (+ --data-dir)   One Billion Word in its distributed layout, the paper's reading
    PATH.txt (or any other name)  UTF-8 text, one sentence a line (read directly: fast, exact
                                  count of undecodable bytes; \\n, \\r\\n or \\r end a line)
    PATH.jsonl / .json / .csv / .parquet
                                  through the ``datasets`` library (streaming), column --text-column
    DIR                           a folder of such files (sorted by name), or a dataset written by
                                  ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``
    hf:NAME[:CONFIG][:SPLIT]      a Hugging Face Hub dataset through ``datasets.load_dataset``
                                  (the local cache is used when offline)

A source yields :class:`~corpora.textfile.Chunk` s of sentences, never the whole corpus, so
memory stays bounded. Two things identify it for the encoded-corpus cache: its ``identity()``
(paths and names: where the cache entry lives) and its ``content_hash()`` (what the text is: for
files their sizes, modification times and a hash of sampled blocks; for datasets the library's
own fingerprint), which decides whether an entry is still valid. Paths are checked before they
are opened (:mod:`corpora.paths`): pipes, devices, dangling links and link loops are refused.
Text values holding several lines are split at newlines; blank lines are skipped (except in One
Billion Word, read exactly as the paper does).

The ``datasets`` library is imported only by :mod:`corpora.dataset_sources`, and only when such a
source is read.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterator, Optional

from corpora import CorpusError, billion_word, grammar
from corpora.paths import DIRECTORY, FILE, path_kind, read_error
from corpora.textfile import Chunk, check_text_file, line_chunks

DATASET_BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
TEXT_SUFFIXES = (".txt",)
EMBEDDED_HELDOUT = 2000  # grammar sentences drawn (with another seed) as the validation set


def sha256_of(doc) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def files_content_hash(paths: list[Path], blocks: int = 8, block_bytes: int = 4096) -> str:
    """Sizes, modification times and ``blocks`` sampled blocks of each file, hashed.

    Cheap whatever the size (a few reads per file); any change of length, any touch, and any
    edit inside a sampled block changes it.
    """
    h = hashlib.sha256()
    for path in paths:
        try:
            st = os.stat(path)
            h.update(f"{Path(path).name}|{st.st_size}|{st.st_mtime_ns}|".encode())
            with open(path, "rb") as f:
                for k in range(blocks):
                    f.seek(max(0, (st.st_size - block_bytes) * k // max(blocks - 1, 1)))
                    h.update(f.read(block_bytes))
        except OSError as exc:
            raise read_error(path, exc) from None
    return h.hexdigest()


def total_size(paths: list[Path]) -> int:
    """Bytes in ``paths`` (for progress bars); a file that vanished is a read error."""
    try:
        return sum(os.stat(p).st_size for p in paths)
    except OSError as exc:
        raise read_error(getattr(exc, "filename", None) or paths[0], exc) from None


class Source:
    """A corpus: training sentences, maybe held-out sentences, a name, an identity and a content hash."""

    name = "corpus"  # short, for run directory and cache entry names
    has_heldout = False

    def identity(self) -> dict:
        """What names the corpus (paths, names), not its content: where its cache entry lives."""
        raise NotImplementedError

    def content_hash(self) -> str:
        """A hash of the corpus's text as it is now: an entry encoded from other text is stale."""
        raise NotImplementedError

    def size_bytes(self) -> Optional[int]:
        return None

    def train(self, max_lines: Optional[int]) -> Iterator[Chunk]:
        raise NotImplementedError

    def heldout(self, max_lines: Optional[int]) -> Iterator[Chunk]:
        return iter(())


class EmbeddedSource(Source):
    """The grammar corpus: ``size`` sentences from ``seed``; held out: others from another seed."""

    name = "embedded"
    has_heldout = True

    def __init__(self, size: int, seed: int):
        self.size, self.seed = size, seed
        self._lines: Optional[list[str]] = None

    def identity(self) -> dict:
        return {"embedded": self.size, "seed": self.seed}

    def content_hash(self) -> str:
        return sha256_of({"rules": repr(grammar.RULES), "words": repr(grammar.WORDS), **self.identity()})

    def train(self, max_lines):
        if self._lines is None:  # generated once, reused by the vocabulary and encoding passes
            self._lines = grammar.generate(self.size, seed=self.seed)
        lines = self._lines[:max_lines] if max_lines is not None else self._lines
        for i in range(0, len(lines), 100_000):
            part = lines[i : i + 100_000]
            yield Chunk(part, sum(map(len, part)) + len(part))

    def heldout(self, max_lines):
        n = EMBEDDED_HELDOUT if max_lines is None else min(max_lines, EMBEDDED_HELDOUT)
        yield Chunk(grammar.generate(n, seed=self.seed + 1_000_003))


class TextFilesSource(Source):
    """UTF-8 text files read directly, one sentence a line (optionally held-out files too)."""

    def __init__(self, paths: list[Path], name: str, *, keep_blank: bool = False,
                 heldout_paths: tuple = ()):
        self.paths, self.name, self.keep_blank = [Path(p) for p in paths], name, keep_blank
        self.heldout_paths = [Path(p) for p in heldout_paths]
        self.has_heldout = bool(self.heldout_paths)

    def identity(self) -> dict:
        return {"files": [str(p.resolve()) for p in self.paths], "keep_blank": self.keep_blank}

    def content_hash(self) -> str:
        return files_content_hash(self.paths + self.heldout_paths)

    def size_bytes(self):
        return total_size(self.paths)

    def train(self, max_lines):
        return line_chunks(self.paths, max_lines=max_lines, keep_blank=self.keep_blank)

    def heldout(self, max_lines):
        return line_chunks(self.heldout_paths, max_lines=max_lines, keep_blank=self.keep_blank)


class ConcatSource(Source):
    """Several sources read one after the other (a directory of files)."""

    def __init__(self, parts: list[Source], name: str):
        self.parts, self.name = parts, name

    def identity(self) -> dict:
        return {"parts": [p.identity() for p in self.parts]}

    def content_hash(self) -> str:
        return sha256_of([p.content_hash() for p in self.parts])

    def size_bytes(self):
        sizes = [p.size_bytes() for p in self.parts]
        return None if None in sizes else sum(sizes)

    def train(self, max_lines):
        n = 0
        for part in self.parts:
            for chunk in part.train(None if max_lines is None else max_lines - n):
                n += chunk.n
                yield chunk
            if max_lines is not None and n >= max_lines:
                return


def billion_word_source(data_dir) -> TextFilesSource:
    """The paper's reading of One Billion Word; its held-out shards are the validation set."""
    billion_word.check_layout(data_dir)
    return TextFilesSource(billion_word.train_shards(data_dir), "billion_word", keep_blank=True,
                           heldout_paths=tuple(billion_word.heldout_shards(data_dir)))


def open_source(corpus: str, *, data_dir=None, text_column: Optional[str] = None,
                embedded_size: int = 100_000, seed: int = 0) -> Source:
    """The :class:`Source` named by ``--corpus``; every problem a user can fix is a CorpusError."""
    from corpora import dataset_sources as ds  # datasets itself is imported only when a dataset is read

    if not corpus.strip():  # Path("") is the current folder: never read it by accident
        raise CorpusError(f"--corpus {corpus!r}: empty; give embedded, billion_word, hf:NAME or a file or folder")
    if corpus == "embedded":
        return EmbeddedSource(embedded_size, seed)
    if corpus == "billion_word":
        return billion_word_source(data_dir)
    if corpus.startswith("hf:"):
        return ds.hub_source(corpus, text_column)
    path = Path(corpus).expanduser()
    suffix = path.suffix.lower()
    fix = (f"give an existing {suffix} file (or a folder of them)" if suffix in DATASET_BUILDERS
           else "give a UTF-8 text file with one sentence a line")
    if path_kind(path, fix=fix) == DIRECTORY:
        if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
            return ds.saved_source(path, text_column)
        return _directory_source(path, text_column)
    if suffix in DATASET_BUILDERS:
        ds.check_dataset_file(path)
        return ds.DatasetFilesSource(DATASET_BUILDERS[suffix], [path], path.stem, text_column)
    check_text_file(path)
    if text_column:
        raise CorpusError(f"--text-column {text_column}: {path} is plain text (one sentence a line) and has no "
                          f"columns; drop --text-column")
    return TextFilesSource([path], path.stem)


def _directory_source(path: Path, text_column: Optional[str]) -> Source:
    from corpora import dataset_sources as ds

    files = []
    for p in sorted(path.iterdir()):
        if p.suffix.lower() in TEXT_SUFFIXES or p.suffix.lower() in DATASET_BUILDERS:
            if path_kind(p) == FILE:  # a pipe, device or broken link named like a corpus file is refused
                files.append(p)
    if not files:
        raise CorpusError(f"--corpus {path}: the directory holds no .txt, .jsonl, .csv or .parquet files and "
                          f"is not a dataset saved with save_to_disk; pass a UTF-8 text file with one sentence "
                          f"a line or a folder of such files")
    parts: list[Source] = []
    for f in files:  # consecutive files of one kind become one part (one load_dataset call)
        kind = DATASET_BUILDERS.get(f.suffix.lower(), "text")
        last = parts[-1] if parts else None
        if kind == "text":
            check_text_file(f)
            if isinstance(last, TextFilesSource):
                last.paths.append(f)
            else:
                parts.append(TextFilesSource([f], path.name))
            continue
        ds.check_dataset_file(f)
        if isinstance(last, ds.DatasetFilesSource) and last.builder == kind:
            last.paths.append(f)
        else:
            parts.append(ds.DatasetFilesSource(kind, [f], path.name, text_column))
    return parts[0] if len(parts) == 1 else ConcatSource(parts, path.name)
