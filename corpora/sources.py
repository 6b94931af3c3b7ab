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

With ``--label-column`` a source also gives each sentence's class label (:mod:`corpora.labels`):
a column of a datasets-backed corpus, ``LABEL<TAB>SENTENCE`` lines of text files
(``--label-column tab``), or the embedded grammar's sentence type (``--label-column type``).

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
from corpora.labels import TAB, label_name, split_tab_line
from corpora.paths import DIRECTORY, FILE, path_kind, read_error
from corpora.textfile import Chunk, check_text_file, line_chunks

DATASET_BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
TEXT_SUFFIXES = (".txt",)
EMBEDDED_HELDOUT = 2000  # grammar sentences drawn (with another seed) as the validation set
EMBEDDED_LABELS = "type"  # --label-column of the embedded corpus: the sentence type (corpora.grammar)


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
    """The grammar corpus: ``size`` sentences from ``seed``; held out: others from another seed.
    ``typed``: each sentence labelled with its type (corpora.grammar.SENTENCE_TYPES)."""

    name = "embedded"
    has_heldout = True

    def __init__(self, size: int, seed: int, typed: bool = False):
        self.size, self.seed, self.typed = size, seed, typed
        self._lines: Optional[list[str]] = None
        self._types: Optional[list[str]] = None

    def identity(self) -> dict:
        return {"embedded": self.size, "seed": self.seed}

    def content_hash(self) -> str:
        return sha256_of({"rules": repr(grammar.RULES), "words": repr(grammar.WORDS), **self.identity()})

    def train(self, max_lines):
        if self._lines is None:  # generated once, reused by the vocabulary and encoding passes
            self._lines, self._types = grammar.generate_typed(self.size, seed=self.seed)
        lines = self._lines[:max_lines] if max_lines is not None else self._lines
        for i in range(0, len(lines), 100_000):
            part = lines[i : i + 100_000]
            labels = self._types[i : i + len(part)] if self.typed else None
            yield Chunk(part, sum(map(len, part)) + len(part), labels=labels)

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


class TabLabelledSource(TextFilesSource):
    """UTF-8 text files of ``LABEL<TAB>SENTENCE`` lines (``--label-column tab``)."""

    def identity(self) -> dict:
        return {**super().identity(), "labels": TAB}

    def train(self, max_lines):
        n = 0
        for path in self.paths:  # file by file, so that an error names the file and the line
            seen = 0
            for chunk in line_chunks([path], max_lines=None if max_lines is None else max_lines - n):
                lines, labels = [], []
                for i, line in enumerate(chunk.lines):
                    number = lambda: physical_line(path, seen + i + 1)  # noqa: E731  (only for a message)
                    label, sentence = split_tab_line(line, where=str(path), line_number=number)
                    if sentence.strip():  # a blank sentence is skipped, as blank lines are
                        labels.append(label_name(label, column=TAB, where=str(path), row=number, unit="line"))
                        lines.append(sentence)
                seen += chunk.n
                yield Chunk(lines, chunk.nbytes, chunk.replaced, clipped=chunk.clipped, labels=labels)
            n += seen
            if max_lines is not None and n >= max_lines:
                return


def physical_line(path: Path, k: int) -> int:
    """The line number of the ``k``-th non-blank line of a text file (the reader skips blank lines);
    read again, line by line, only to word an error."""
    seen = 0
    with open(path, encoding="utf-8", errors="replace") as f:  # universal newlines: \n, \r\n and \r
        for number, line in enumerate(f, start=1):
            seen += bool(line.strip())
            if seen == k:
                return number
    return k


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
                embedded_size: int = 100_000, seed: int = 0, label_column: Optional[str] = None) -> Source:
    """The :class:`Source` named by ``--corpus`` (with class labels from ``label_column``); every
    problem a user can fix is a CorpusError."""
    from corpora import dataset_sources as ds  # datasets itself is imported only when a dataset is read

    if not corpus.strip():  # Path("") is the current folder: never read it by accident
        raise CorpusError(f"--corpus {corpus!r}: empty; give embedded, billion_word, hf:NAME or a file or folder")
    if label_column is not None and not label_column.strip():
        raise CorpusError(f"--label-column {label_column!r}: empty; name the column holding the class labels")
    if corpus == "embedded":
        if label_column not in (None, EMBEDDED_LABELS):
            raise CorpusError(f"--label-column {label_column}: the embedded corpus has one label column, "
                              f"{EMBEDDED_LABELS} (its sentence type: {', '.join(grammar.SENTENCE_TYPES)}); pass "
                              f"--label-column {EMBEDDED_LABELS}")
        return EmbeddedSource(embedded_size, seed, typed=label_column is not None)
    if corpus == "billion_word":
        if label_column is not None:
            raise CorpusError(f"--label-column {label_column}: One Billion Word has no class labels; drop "
                              f"--label-column, or give a labelled corpus")
        return billion_word_source(data_dir)
    if corpus.startswith("hf:"):
        return ds.hub_source(corpus, text_column, label_column)
    path = Path(corpus).expanduser()
    suffix = path.suffix.lower()
    fix = (f"give an existing {suffix} file (or a folder of them)" if suffix in DATASET_BUILDERS
           else "give a UTF-8 text file with one sentence a line")
    if path_kind(path, fix=fix) == DIRECTORY:
        if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
            return ds.saved_source(path, text_column, label_column)
        return _directory_source(path, text_column, label_column)
    if suffix in DATASET_BUILDERS:
        ds.check_dataset_file(path)
        return ds.DatasetFilesSource(DATASET_BUILDERS[suffix], [path], path.stem, text_column, label_column)
    check_text_file(path)
    if text_column:
        raise CorpusError(f"--text-column {text_column}: {path} is plain text (one sentence a line) and has no "
                          f"columns; drop --text-column")
    return _text_source([path], path.stem, label_column)


def _text_source(paths: list[Path], name: str, label_column: Optional[str]) -> TextFilesSource:
    """Plain text files; ``--label-column tab``: of LABEL<TAB>SENTENCE lines."""
    if label_column is None:
        return TextFilesSource(paths, name)
    if label_column != TAB:
        raise CorpusError(f"--label-column {label_column}: {paths[0]} is plain text and has no columns; write its "
                          f"lines as LABEL<TAB>SENTENCE and pass --label-column {TAB}, or give a .jsonl/.csv/"
                          f".parquet file with a {label_column} column")
    return TabLabelledSource(paths, name)


def _directory_source(path: Path, text_column: Optional[str], label_column: Optional[str] = None) -> Source:
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
                parts.append(_text_source([f], path.name, label_column))
            continue
        ds.check_dataset_file(f)
        if isinstance(last, ds.DatasetFilesSource) and last.builder == kind:
            last.paths.append(f)
        else:
            parts.append(ds.DatasetFilesSource(kind, [f], path.name, text_column, label_column))
    return parts[0] if len(parts) == 1 else ConcatSource(parts, path.name)
