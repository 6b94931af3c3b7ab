"""Where sentences come from: every ``--corpus`` value as one streaming source.

    embedded                      the generated grammar corpus (corpora.grammar)
    billion_word (+ --data-dir)   One Billion Word in its distributed layout, the paper's reading
    PATH.txt (or any other name)  UTF-8 text, one sentence a line (read directly: fast, exact
                                  count of undecodable bytes)
    PATH.jsonl / .json / .csv / .parquet
                                  through the ``datasets`` library (streaming), column --text-column
    DIR                           a folder of such files (sorted by name), or a dataset written by
                                  ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``
    hf:NAME[:CONFIG][:SPLIT]      a Hugging Face Hub dataset through ``datasets.load_dataset``
                                  (the local cache is used when offline)

A source yields :class:`~corpora.textfile.Chunk` s of sentences, never the whole corpus, so
memory stays bounded. It also gives a cheap content fingerprint for the encoded-corpus cache:
for files their sizes, modification times and a hash of sampled blocks; for datasets the
library's own fingerprint. Text values holding several lines are split at newlines; blank lines
are skipped (except in One Billion Word, read exactly as the paper does).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterator, Optional

from corpora import CorpusError, billion_word, grammar
from corpora.textfile import Chunk, check_text_file, line_chunks

DATASET_BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
TEXT_SUFFIXES = (".txt",)
HELDOUT_SPLITS = ("validation", "valid", "dev", "test")
EMBEDDED_HELDOUT = 2000  # grammar sentences drawn (with another seed) as the validation set
BATCH_ROWS = 10_000


def _sha(doc) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def file_fingerprint(paths: list[Path], blocks: int = 8, block_bytes: int = 4096) -> str:
    """Sizes, modification times and ``blocks`` sampled blocks of each file, hashed.

    Cheap whatever the size (a few reads per file); any change of length, any touch, and any
    edit inside a sampled block changes it.
    """
    h = hashlib.sha256()
    for path in paths:
        st = os.stat(path)
        h.update(f"{Path(path).name}|{st.st_size}|{st.st_mtime_ns}|".encode())
        with open(path, "rb") as f:
            for k in range(blocks):
                f.seek(max(0, (st.st_size - block_bytes) * k // max(blocks - 1, 1)))
                h.update(f.read(block_bytes))
    return h.hexdigest()


class Source:
    """A corpus: training sentences, maybe held-out sentences, a name and a fingerprint."""

    name = "corpus"  # short, for run directory and cache entry names
    has_heldout = False

    def key(self) -> dict:
        """What identifies the corpus (paths, names), not its content."""
        raise NotImplementedError

    def fingerprint(self) -> str:
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

    def key(self) -> dict:
        return {"embedded": self.size, "seed": self.seed}

    def fingerprint(self) -> str:
        return _sha({"rules": repr(grammar.RULES), "words": repr(grammar.WORDS), **self.key()})

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

    def key(self) -> dict:
        return {"files": [str(p.resolve()) for p in self.paths], "keep_blank": self.keep_blank}

    def fingerprint(self) -> str:
        return file_fingerprint(self.paths + self.heldout_paths)

    def size_bytes(self):
        return sum(p.stat().st_size for p in self.paths)

    def train(self, max_lines):
        return line_chunks(self.paths, max_lines=max_lines, keep_blank=self.keep_blank)

    def heldout(self, max_lines):
        return line_chunks(self.heldout_paths, max_lines=max_lines, keep_blank=self.keep_blank)


def billion_word_source(data_dir) -> TextFilesSource:
    """The paper's reading of One Billion Word; its held-out shards are the validation set."""
    billion_word.check_layout(data_dir)
    shards = [p for p in billion_word.train_shards(data_dir) if p.is_file()]
    return TextFilesSource(shards, "billion_word", keep_blank=True,
                           heldout_paths=tuple(billion_word.heldout_shards(data_dir)))


# -- the datasets library ---------------------------------------------------------------------------

def _datasets():
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    # load_dataset("json"/"csv"/"parquet") of local files would otherwise send a download-count
    # request to S3: only a named hub dataset (hf:NAME) may reach the network
    datasets.config.HF_UPDATE_DOWNLOAD_COUNTS = False
    return datasets


def pick_column(columns: list[str], string_columns: list[str], requested: Optional[str], where: str) -> str:
    """The text column: ``requested``, else "text", else the only string column."""
    if requested:
        if requested not in columns:
            raise CorpusError(f"--text-column {requested}: {where} has no such column; its columns are "
                              f"{', '.join(columns) or '(none)'}")
        return requested
    if "text" in columns:
        return "text"
    if len(string_columns) == 1:
        return string_columns[0]
    raise CorpusError(f"--corpus {where}: which column holds the text? pass --text-column, one of "
                      f"{', '.join(columns) or '(no columns)'}")


def _values_to_chunk(values: list, column: str, where: str) -> Chunk:
    lines: list[str] = []
    nbytes = 0
    for value in values:
        if value is None:
            continue
        if not isinstance(value, str):
            raise CorpusError(f"--text-column {column}: {where} holds {type(value).__name__} values there, "
                              f"not text; choose a text column")
        nbytes += len(value) + 1
        if "\n" in value:
            lines.extend(l.rstrip("\r") for l in value.split("\n") if l.strip())
        elif value.strip():
            lines.append(value)
    return Chunk(lines, nbytes)


def _dataset_chunks(ds, requested: Optional[str], where: str, max_lines: Optional[int]) -> Iterator[Chunk]:
    """Chunks of a ``datasets`` Dataset or IterableDataset, column picked by name or type."""
    n = 0
    column = None
    try:
        for batch in ds.iter(batch_size=BATCH_ROWS):
            if column is None:
                columns = list(batch)
                strings = [c for c in columns if any(isinstance(v, str) for v in batch[c][:100])]
                column = pick_column(columns, strings, requested, where)
            chunk = _values_to_chunk(batch[column], column, where)
            if max_lines is not None and n + len(chunk.lines) >= max_lines:
                chunk.lines = chunk.lines[: max_lines - n]
                yield chunk
                return
            n += len(chunk.lines)
            yield chunk
    except CorpusError:
        raise
    except Exception as exc:  # malformed JSON/CSV/Parquet surfaces from inside the library
        raise CorpusError(f"--corpus {where}: the datasets library could not read it "
                          f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None


class DatasetFilesSource(Source):
    """JSON lines, CSV or Parquet files read by ``datasets.load_dataset(builder, streaming=True)``."""

    def __init__(self, builder: str, paths: list[Path], name: str, text_column: Optional[str]):
        self.builder, self.paths, self.name, self.text_column = builder, [Path(p) for p in paths], name, text_column

    def key(self) -> dict:
        return {"files": [str(p.resolve()) for p in self.paths], "builder": self.builder,
                "text_column": self.text_column}

    def fingerprint(self) -> str:
        return file_fingerprint(self.paths)

    def size_bytes(self):
        return sum(p.stat().st_size for p in self.paths)

    def train(self, max_lines):
        where = str(self.paths[0]) if len(self.paths) == 1 else f"{self.paths[0].parent}/*"
        try:
            ds = _datasets().load_dataset(self.builder, data_files=[str(p) for p in self.paths],
                                          split="train", streaming=True)
        except Exception as exc:
            raise CorpusError(f"--corpus {where}: the datasets library could not open it as {self.builder} "
                              f"({type(exc).__name__}: {exc})") from None
        return _dataset_chunks(ds, self.text_column, where, max_lines)


class ConcatSource(Source):
    """Several sources read one after the other (a directory of files)."""

    def __init__(self, parts: list[Source], name: str):
        self.parts, self.name = parts, name

    def key(self) -> dict:
        return {"parts": [p.key() for p in self.parts]}

    def fingerprint(self) -> str:
        return _sha([p.fingerprint() for p in self.parts])

    def size_bytes(self):
        sizes = [p.size_bytes() for p in self.parts]
        return None if None in sizes else sum(sizes)

    def train(self, max_lines):
        n = 0
        for part in self.parts:
            for chunk in part.train(None if max_lines is None else max_lines - n):
                n += len(chunk.lines)
                yield chunk
            if max_lines is not None and n >= max_lines:
                return


def _split_choice(splits: list[str], requested: Optional[str], where: str) -> tuple[str, Optional[str]]:
    """(training split, held-out split or None) of a DatasetDict."""
    if requested is not None:
        if requested not in splits:
            raise CorpusError(f"--corpus {where}: no split {requested!r}; the splits are {', '.join(splits)}")
        train = requested
    else:
        train = "train" if "train" in splits else splits[0]
    heldout = next((s for s in HELDOUT_SPLITS if s in splits and s != train), None)
    return train, heldout


class DatasetSource(Source):
    """A loaded ``datasets`` Dataset/DatasetDict: saved with ``save_to_disk`` or from the Hub."""

    def __init__(self, loader, name: str, key: dict, where: str, text_column: Optional[str],
                 split: Optional[str] = None):
        self._loader, self.name, self._key, self.where = loader, name, key, where
        self.text_column, self.split = text_column, split
        self._loaded = None

    def _splits(self):
        if self._loaded is None:
            ds = self._loader()
            if hasattr(ds, "keys"):  # DatasetDict
                train, held = _split_choice(list(ds.keys()), self.split, self.where)
                self._loaded = (ds[train], ds[held] if held else None)
            else:
                if self.split not in (None, "train"):
                    raise CorpusError(f"--corpus {self.where}: a single dataset without splits; drop :{self.split}")
                self._loaded = (ds, None)
        return self._loaded

    @property
    def has_heldout(self):
        return self._splits()[1] is not None

    def key(self) -> dict:
        return {**self._key, "split": self.split, "text_column": self.text_column}

    def fingerprint(self) -> str:
        train, held = self._splits()
        return _sha([train._fingerprint, held._fingerprint if held is not None else None, self.key()])

    def train(self, max_lines):
        return _dataset_chunks(self._splits()[0], self.text_column, self.where, max_lines)

    def heldout(self, max_lines):
        held = self._splits()[1]
        return iter(()) if held is None else _dataset_chunks(held, self.text_column, self.where, max_lines)


def _load_saved(path: Path):
    def load():
        try:
            return _datasets().load_from_disk(str(path))
        except Exception as exc:
            raise CorpusError(f"--corpus {path}: looks like a saved dataset but does not load "
                              f"({type(exc).__name__}: {exc}); write it again with save_to_disk") from None
    return load


def parse_hf(corpus: str) -> tuple[str, Optional[str], Optional[str]]:
    """``hf:NAME[:CONFIG][:SPLIT]`` -> (NAME, CONFIG or None, SPLIT or None)."""
    parts = corpus[3:].split(":")
    if not parts[0] or len(parts) > 3:
        raise CorpusError(f"--corpus {corpus}: expected hf:NAME[:CONFIG][:SPLIT], e.g. "
                          f"hf:wikitext:wikitext-103-raw-v1:train")
    name, config, split = (parts + [None, None])[:3]
    return name, config or None, split or None


def _load_hub(corpus: str, name: str, config: Optional[str]):
    def load():
        ds_lib = _datasets()
        try:
            return ds_lib.load_dataset(name, config)
        except Exception as exc:
            text = f"{type(exc).__name__}: {exc}"
            offline = isinstance(exc, ConnectionError) or any(
                k in text.lower() for k in ("offline", "couldn't reach", "connection", "resolve host"))
            if offline:
                raise CorpusError(
                    f"--corpus {corpus}: the dataset {name!r} is not in the local Hugging Face cache "
                    f"({ds_lib.config.HF_DATASETS_CACHE}) and the Hub cannot be reached (offline or "
                    f"HF_DATASETS_OFFLINE/HF_HUB_OFFLINE set); run once with network access to cache it, "
                    f"or save it with save_to_disk and pass that folder as --corpus") from None
            raise CorpusError(f"--corpus {corpus}: the datasets library could not load it ({text.splitlines()[0]})") from None
    return load


def open_source(corpus: str, *, data_dir=None, text_column: Optional[str] = None,
                embedded_size: int = 100_000, seed: int = 0) -> Source:
    """The :class:`Source` named by ``--corpus``; every problem a user can fix is a CorpusError."""
    if corpus == "embedded":
        return EmbeddedSource(embedded_size, seed)
    if corpus == "billion_word":
        return billion_word_source(data_dir)
    if corpus.startswith("hf:"):
        name, config, split = parse_hf(corpus)
        short = name.rstrip("/").split("/")[-1] + (f"-{config}" if config else "")
        return DatasetSource(_load_hub(corpus, name, config), short, {"hf": name, "config": config}, corpus,
                             text_column, split)
    path = Path(corpus).expanduser()
    if path.is_dir():
        if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
            return DatasetSource(_load_saved(path), path.name, {"saved": str(path.resolve())}, str(path), text_column)
        return _directory_source(path, text_column)
    suffix = path.suffix.lower()
    if suffix in DATASET_BUILDERS:
        if not path.is_file():
            raise CorpusError(f"--corpus {path}: no such file; give an existing {suffix} file (or a folder of them)")
        return DatasetFilesSource(DATASET_BUILDERS[suffix], [path], path.stem, text_column)
    check_text_file(path)
    if text_column:
        raise CorpusError(f"--text-column {text_column}: {path} is plain text (one sentence a line) and has no "
                          f"columns; drop --text-column")
    return TextFilesSource([path], path.stem)


def _directory_source(path: Path, text_column: Optional[str]) -> Source:
    files = sorted(p for p in path.iterdir() if p.is_file() and
                   (p.suffix.lower() in TEXT_SUFFIXES or p.suffix.lower() in DATASET_BUILDERS))
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
        elif isinstance(last, DatasetFilesSource) and last.builder == kind:
            last.paths.append(f)
        else:
            parts.append(DatasetFilesSource(kind, [f], path.name, text_column))
    return parts[0] if len(parts) == 1 else ConcatSource(parts, path.name)
