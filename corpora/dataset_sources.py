"""Sources read through the ``datasets`` library: JSON lines, CSV and Parquet files, folders
written by ``save_to_disk``, and ``hf:NAME[:CONFIG][:SPLIT]`` Hub datasets.

``datasets`` (and pyarrow, pandas behind it) is imported on first use, never by text files, One
Billion Word or the embedded corpus. Its own log lines and warnings are silenced around every
call (:func:`quiet`): a malformed file gives our one-line message, naming the file and, for JSON
lines, the line, not the library's log followed by ours. Only ``hf:`` names may reach the network.
"""

from __future__ import annotations

import json
import logging
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from corpora import CorpusError
from corpora.labels import label_name
from corpora.sources import Source, files_content_hash, sha256_of, total_size
from corpora.textfile import Chunk, check_text_file

HELDOUT_SPLITS = ("validation", "valid", "dev", "test")
BATCH_ROWS = 10_000
JSON_LINE_LIMIT = 16 << 20  # longer JSON lines are not parsed when looking for the malformed one


def _datasets():
    import datasets

    datasets.disable_progress_bars()
    # load_dataset("json"/"csv"/"parquet") of local files would otherwise send a download-count
    # request to S3: only a named hub dataset (hf:NAME) may reach the network
    datasets.config.HF_UPDATE_DOWNLOAD_COUNTS = False
    return datasets


@contextmanager
def quiet():
    """The datasets library without its log lines and warnings (its errors reach us as exceptions)."""
    loggers = [logging.getLogger(name) for name in ("datasets", "huggingface_hub", "fsspec")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def check_dataset_file(path: Path) -> None:
    """Refuse a data file (a regular file: the caller checked) that cannot be what its suffix says."""
    if path.suffix.lower() != ".parquet":
        check_text_file(path)  # JSON and CSV are text: compressed, UTF-16/32 and NUL bytes are refused
        return
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(max(f.seek(0, 2) - 4, 0))
        tail = f.read(4)
    if head != b"PAR1":
        raise CorpusError(f"--corpus {path}: is not a Parquet file (it does not start with the PAR1 mark); "
                          f"pass a Parquet file or rename it after its format")
    if tail != b"PAR1":
        raise CorpusError(f"--corpus {path}: is an incomplete Parquet file (its footer is missing: truncated, "
                          f"or still being written); write it again")


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


def _values_to_chunk(values: list, column: str, where: str, first_row: int, labels: Optional[list] = None,
                     label_column: Optional[str] = None, names: Optional[list[str]] = None) -> Chunk:
    """The sentences of a batch's text values, with each row's label (``labels``: the label column's
    values; ``names``: a ClassLabel column's names) given to every sentence of its row."""
    lines: list[str] = []
    sentence_labels: Optional[list[str]] = [] if labels is not None else None
    nbytes = 0
    for i, value in enumerate(values):
        if value is None:
            continue
        if not isinstance(value, str):
            raise CorpusError(f"--text-column {column}: {where} holds {type(value).__name__} values there, "
                              f"not text; choose a text column")
        if "\x00" in value:
            raise CorpusError(f"--corpus {where}: row {first_row + i + 1:,} of column {column} holds a NUL "
                              f"character; text has none: clean that value")
        nbytes += len(value) + 1
        if "\n" in value or "\r" in value:
            parts = [l for l in value.replace("\r\n", "\n").replace("\r", "\n").split("\n") if l.strip()]
        else:
            parts = [value] if value.strip() else []
        if parts and labels is not None:
            name = label_name(labels[i], column=label_column, where=where, row=first_row + i + 1, names=names)
            sentence_labels.extend([name] * len(parts))
        lines.extend(parts)
    return Chunk(lines, nbytes, labels=sentence_labels)


def class_names(ds, column: str) -> Optional[list[str]]:
    """The names of a ``ClassLabel`` column (its values are indices into them), else None."""
    feature = (getattr(ds, "features", None) or {}).get(column)
    return list(feature.names) if type(feature).__name__ == "ClassLabel" else None


def _check_label_column(label_column: str, text_column: str, columns: list[str], where: str) -> None:
    if label_column not in columns:
        raise CorpusError(f"--label-column {label_column}: {where} has no such column; its columns are "
                          f"{', '.join(columns) or '(none)'}")
    if label_column == text_column:
        raise CorpusError(f"--label-column {label_column}: that is the text column; pass the column holding the "
                          f"class labels (--text-column names the text)")


def _dataset_chunks(ds, requested: Optional[str], where: str, max_lines: Optional[int],
                    explain=lambda: None, label_column: Optional[str] = None) -> Iterator[Chunk]:
    """Chunks of a ``datasets`` Dataset or IterableDataset, column picked by name or type, each
    sentence labelled from ``label_column`` when given.

    ``explain()`` may name the exact place of a read failure (e.g. the malformed JSON line).
    """
    n = rows = 0
    column = None
    names = class_names(ds, label_column) if label_column else None
    batches = iter(ds.iter(batch_size=BATCH_ROWS))
    while True:
        try:
            with quiet():
                batch = next(batches, None)
        except Exception as exc:  # malformed JSON/CSV/Parquet surfaces from inside the library
            found = explain()
            raise CorpusError(f"--corpus {where}: {found}" if found else
                              f"--corpus {where}: the datasets library could not read it ({_one_line(exc)})") from None
        if batch is None:
            return
        if column is None:
            columns = list(batch)
            strings = [c for c in columns if c != label_column and any(isinstance(v, str) for v in batch[c][:100])]
            column = pick_column(columns, strings, requested, where)
            if label_column:
                _check_label_column(label_column, column, columns, where)
        labels = batch[label_column] if label_column else None
        chunk = _values_to_chunk(batch[column], column, where, rows, labels, label_column, names)
        rows += len(batch[column])
        if max_lines is not None and n + len(chunk.lines) >= max_lines:
            chunk_labels = chunk.labels
            chunk.lines = chunk.lines[: max_lines - n]
            chunk.labels = chunk_labels[: max_lines - n] if chunk_labels is not None else None
            yield chunk
            return
        n += len(chunk.lines)
        yield chunk


def _one_line(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def first_bad_json_line(paths: list[Path]) -> Optional[str]:
    """"line N of FILE is not valid JSON (...)" for the first malformed line of JSON-lines files."""
    for path in paths:
        with open(path, "rb") as f:
            for number, line in enumerate(_bounded_lines(f, JSON_LINE_LIMIT), start=1):
                if line is None or not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except UnicodeDecodeError as exc:
                    return f"line {number} of {path} is not valid UTF-8 (byte {line[exc.start]:#04x} at column " \
                           f"{exc.start + 1}); fix or remove that line"
                except ValueError as exc:
                    reason = (f"{exc.msg.removesuffix(' at')}, column {exc.colno}"
                              if isinstance(exc, json.JSONDecodeError) else str(exc))
                    return f"line {number} of {path} is not valid JSON ({reason}); fix or remove that line"
                if not isinstance(value, dict):
                    return (f"line {number} of {path} is a JSON {type(value).__name__}, not an object "
                            f'({{"text": ...}}); one object a line is expected')
    return None


def _bounded_lines(f, limit: int) -> Iterator[Optional[bytes]]:
    """Lines of a binary file; None for a line over ``limit`` bytes (skipped, never held whole)."""
    while True:
        line = f.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = f.readline(limit)
            yield None
        else:
            yield line


class DatasetFilesSource(Source):
    """JSON lines, CSV or Parquet files read by ``datasets.load_dataset(builder, streaming=True)``."""

    def __init__(self, builder: str, paths: list[Path], name: str, text_column: Optional[str],
                 label_column: Optional[str] = None):
        self.builder, self.paths, self.name, self.text_column = builder, [Path(p) for p in paths], name, text_column
        self.label_column = label_column

    def identity(self) -> dict:
        return {"files": [str(p.resolve()) for p in self.paths], "builder": self.builder,
                "text_column": self.text_column}

    def content_hash(self) -> str:
        return files_content_hash(self.paths)

    def size_bytes(self):
        return total_size(self.paths)

    def train(self, max_lines):
        where = str(self.paths[0]) if len(self.paths) == 1 else f"{self.paths[0].parent}/*"
        try:
            with quiet():
                ds = _datasets().load_dataset(self.builder, data_files=[str(p) for p in self.paths],
                                              split="train", streaming=True)
        except Exception as exc:
            raise CorpusError(f"--corpus {where}: the datasets library could not open it as {self.builder} "
                              f"({_one_line(exc)})") from None
        jsonl = [p for p in self.paths if p.suffix.lower() == ".jsonl"]
        return _dataset_chunks(ds, self.text_column, where, max_lines, explain=lambda: first_bad_json_line(jsonl),
                               label_column=self.label_column)


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

    def __init__(self, loader, name: str, identity: dict, where: str, text_column: Optional[str],
                 split: Optional[str] = None, label_column: Optional[str] = None):
        self._loader, self.name, self._identity, self.where = loader, name, identity, where
        self.text_column, self.split, self.label_column = text_column, split, label_column
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

    def identity(self) -> dict:
        return {**self._identity, "split": self.split, "text_column": self.text_column}

    def content_hash(self) -> str:
        train, held = self._splits()  # the library's own fingerprints of the loaded data
        return sha256_of([train._fingerprint, held._fingerprint if held is not None else None, self.identity()])

    def train(self, max_lines):
        return _dataset_chunks(self._splits()[0], self.text_column, self.where, max_lines,
                               label_column=self.label_column)

    def heldout(self, max_lines):
        held = self._splits()[1]
        return iter(()) if held is None else _dataset_chunks(held, self.text_column, self.where, max_lines)


def saved_source(path: Path, text_column: Optional[str], label_column: Optional[str] = None) -> DatasetSource:
    """A folder written by ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk``."""
    def load():
        try:
            with quiet():
                return _datasets().load_from_disk(str(path))
        except Exception as exc:
            raise CorpusError(f"--corpus {path}: looks like a saved dataset but does not load "
                              f"({_one_line(exc)}); write it again with save_to_disk") from None
    return DatasetSource(load, path.name, {"saved": str(path.resolve())}, str(path), text_column,
                         label_column=label_column)


def parse_hf(corpus: str) -> tuple[str, Optional[str], Optional[str]]:
    """``hf:NAME[:CONFIG][:SPLIT]`` -> (NAME, CONFIG or None, SPLIT or None)."""
    parts = corpus[3:].split(":")
    if not parts[0] or len(parts) > 3:
        raise CorpusError(f"--corpus {corpus}: expected hf:NAME[:CONFIG][:SPLIT], e.g. "
                          f"hf:wikitext:wikitext-103-raw-v1:train")
    name, config, split = (parts + [None, None])[:3]
    return name, config or None, split or None


def hub_source(corpus: str, text_column: Optional[str], label_column: Optional[str] = None) -> DatasetSource:
    """``hf:NAME[:CONFIG][:SPLIT]`` through ``datasets.load_dataset`` (the local cache when offline)."""
    name, config, split = parse_hf(corpus)

    def load():
        ds_lib = _datasets()
        try:
            with quiet():
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
            raise CorpusError(f"--corpus {corpus}: the datasets library could not load it ({_one_line(exc)})") from None

    short = name.rstrip("/").split("/")[-1] + (f"-{config}" if config else "")
    return DatasetSource(load, short, {"hf": name, "config": config}, corpus, text_column, split, label_column)

