"""Class labels of a corpus: read beside the sentences, encoded beside the ids (``--label-column``).

Where a label comes from:

* ``.jsonl`` / ``.csv`` / ``.parquet`` files, ``save_to_disk`` folders and ``hf:`` datasets: a
  column (``--label-column NAME``) of the same rows as the text; a ``ClassLabel`` column gives its
  names instead of its integers;
* plain text files: ``--label-column tab`` reads every line as ``LABEL<TAB>SENTENCE`` (a text file
  has no column names, so the flag's value says where the label is in the line);
* the embedded grammar corpus: ``--label-column type``, each sentence's type (its verb phrase:
  corpora.grammar.SENTENCE_TYPES).

A label value is a string or an integer; integers become their decimal names, strings are
stripped. A text value that holds several lines gives its label to each of them; a row whose
text is blank is skipped with its label, and rows that ``--long-lines drop`` / ``--min-tokens``
drop take their labels with them, so ids and labels stay row for row.

The label vocabulary is the set of labels of the training rows in a fixed order, not their order
of appearance: names that are integers first, by value (labels 0..K-1 keep their numbers as ids),
then the other names by code point. Shuffling or re-exporting a corpus therefore never renumbers
its classes. At most :data:`MAX_CLASSES` classes, and at least two.

On disk (corpora.cache): ``train.labels``, one little-endian uint16 class id per training row,
memory-mapped next to ``train.ids``; meta.json holds the column, the names and each class's rows.
Held-out rows carry no labels (they serve as BLEU references only).
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from corpora import CorpusError

MAX_CLASSES = 1000  # more distinct values than this is a text or id column, not classes
MAX_LABEL_CHARS = 200  # a longer value is text, not a class name
TAB = "tab"  # --label-column of plain text files: LABEL<TAB>SENTENCE lines
DTYPE = np.dtype("<u2")


def label_name(value, *, column: str, where: str, row, names: Optional[Sequence[str]] = None,
               unit: str = "row") -> str:
    """The class name of one label value; CorpusError when it is not a label. ``row``: the 1-based
    row (or ``unit`` "line") for the message, or a function that finds it; ``names``: a ClassLabel
    column's names, indexed by its integers."""
    flag = f"--label-column {column}"
    at = lambda: f"{unit} {row() if callable(row) else row:,} of {where}"  # noqa: E731
    if value is None or (names is not None and isinstance(value, int) and value < 0):  # ClassLabel -1: no label
        raise CorpusError(f"{flag}: {at()} has no label (null); give every row a label or "
                          f"drop the unlabelled rows")
    if isinstance(value, bool) or not isinstance(value, (str, int, np.integer)):
        raise CorpusError(f"{flag}: {at()} holds a {type(value).__name__} value ({value!r}); "
                          f"labels are strings or integers; choose a column of class names or numbers")
    if names is not None:
        if not 0 <= int(value) < len(names):
            raise CorpusError(f"{flag}: {at()} has class {value}, outside the column's "
                              f"{len(names)} class names; fix that row")
        value = names[int(value)]
    name = str(int(value)) if not isinstance(value, str) else value.strip()
    if not name:
        raise CorpusError(f"{flag}: {at()} has an empty label; give every row a label or "
                          f"drop the unlabelled rows")
    if len(name) > MAX_LABEL_CHARS or any(c in name for c in "\n\r\t\x00"):
        shown = name[:40] + ("..." if len(name) > 40 else "")
        raise CorpusError(f"{flag}: {at()} has the label {shown!r}, which looks like text, not a "
                          f"class name (over {MAX_LABEL_CHARS} characters or a line break or tab in it); "
                          f"choose the column that holds the classes")
    return name


def sort_key(name: str) -> tuple:
    """Order of the label vocabulary: integer names by value, then the others by code point."""
    try:
        return (0, int(name), "") if str(int(name)) == name else (1, 0, name)
    except ValueError:
        return (1, 0, name)


def split_tab_line(line: str, *, where: str, line_number) -> tuple[str, str]:
    """``(label, sentence)`` of a ``LABEL<TAB>SENTENCE`` line; CorpusError naming the line when it has no tab.
    ``line_number()`` finds the line's number, only when there is an error to report."""
    label, tab, sentence = line.partition("\t")
    if not tab:
        shown = line[:60] + ("..." if len(line) > 60 else "")
        raise CorpusError(f"--label-column {TAB}: line {line_number():,} of {where} has no tab ({shown!r}); "
                          f"write every line as LABEL<TAB>SENTENCE, or drop --label-column for unlabelled text")
    return label, sentence


@dataclass(frozen=True)
class LabelSet:
    """The label vocabulary of an encoded corpus: class id i is ``names[i]``, with ``counts[i]`` rows."""

    column: str  # the --label-column it was read from
    names: tuple[str, ...]
    counts: tuple[int, ...]

    def __post_init__(self):
        if not isinstance(self.column, str) or not self.column:
            raise ValueError("the label column must be a non-empty string")
        if not 2 <= len(self.names) <= MAX_CLASSES or len(self.counts) != len(self.names):
            raise ValueError(f"a label set has 2 to {MAX_CLASSES} names, one count each")
        if any(not isinstance(n, str) or not n for n in self.names) or len(set(self.names)) != len(self.names):
            raise ValueError("label names must be distinct non-empty strings")
        if any(isinstance(c, bool) or not isinstance(c, int) or c < 0 for c in self.counts):
            raise ValueError("label counts must be whole numbers of 0 or more")

    def __len__(self) -> int:
        return len(self.names)

    def to_json(self) -> dict:
        return {"column": self.column, "names": list(self.names), "counts": list(self.counts)}

    @classmethod
    def from_json(cls, doc) -> "LabelSet":
        """The label set of a ``to_json`` document; ValueError when it is not one."""
        if not isinstance(doc, dict) or not isinstance(doc.get("names"), list) or not isinstance(doc.get("counts"), list):
            raise ValueError("the labels are not a {column, names, counts} document")
        return cls(doc.get("column"), tuple(doc["names"]), tuple(doc["counts"]))

    def probabilities(self) -> np.ndarray:
        """Each class's share of the training rows, (K,) float64."""
        counts = np.asarray(self.counts, dtype=np.float64)
        return counts / counts.sum()

    def find(self, value: str) -> Optional[int]:
        """The class id of ``value``: a name first, else an id written as a number; None if neither."""
        if value in self.names:
            return self.names.index(value)
        try:
            k = int(value)
        except ValueError:
            return None
        return k if 0 <= k < len(self.names) and str(k) == value.strip() else None

    def describe(self, limit: int = 8) -> str:
        """``"a (0), b (1)"``: the names with their ids, the first ``limit`` of them."""
        shown = ", ".join(f"{n} ({i})" for i, n in enumerate(self.names[:limit]))
        return shown + (f", ... ({len(self.names)} in all)" if len(self.names) > limit else "")


class LabelWriter:
    """Class ids of the kept rows, appended while the ids are written, renumbered in vocabulary order at the end.

    Rows get provisional ids in order of first appearance (one pass, no vocabulary known yet);
    :meth:`finish` sorts the names (:func:`sort_key`) and rewrites the file, two bytes a row.
    """

    def __init__(self, path: Path, column: str):
        self.path, self.column = Path(path), column
        self.ids: dict[str, int] = {}  # name -> provisional id
        self.counts: list[int] = []
        self.rows = 0
        self._file = open(self.path, "wb")

    def add(self, labels: Optional[list[str]], n: int, keep: Optional[np.ndarray]) -> None:
        """The labels of a chunk of ``n`` sentences, of which ``keep`` (None: all) become rows."""
        if labels is None or len(labels) != n:
            raise RuntimeError(f"a labelled corpus gave a chunk of {n} sentences with "
                               f"{'no' if labels is None else len(labels)} labels")
        kept = labels if keep is None else [l for l, k in zip(labels, keep) if k]
        pids = np.empty(len(kept), dtype=DTYPE)
        for i, name in enumerate(kept):
            pid = self.ids.get(name)
            if pid is None:
                if len(self.ids) == MAX_CLASSES:
                    raise CorpusError(too_many_classes(self.column, list(self.ids)))
                pid = self.ids[name] = len(self.ids)
                self.counts.append(0)
            self.counts[pid] += 1
            pids[i] = pid
        self.rows += len(kept)
        self._file.write(memoryview(pids))

    def finish(self) -> tuple[LabelSet, dict]:
        """The label set and the file's record for meta.json (file, rows, crc32)."""
        self._file.close()
        if len(self.ids) < 2:
            only = f"every row has the label {next(iter(self.ids))!r}" if self.ids else "no row has a label"
            raise CorpusError(f"--label-column {self.column}: {only}; a conditional model needs two classes or "
                              f"more: choose another column, or drop --label-column to train without labels")
        names = sorted(self.ids, key=sort_key)
        final = np.zeros(len(names), dtype=DTYPE)
        for i, name in enumerate(names):
            final[self.ids[name]] = i
        ids = np.fromfile(self.path, dtype=DTYPE)  # two bytes a row: 20 MB for 10M sentences
        ids = final[ids]
        ids.tofile(self.path)
        labels = LabelSet(self.column, tuple(names), tuple(self.counts[self.ids[n]] for n in names))
        return labels, {"file": self.path.name, "rows": self.rows, "crc32": zlib.crc32(memoryview(ids))}

    def close(self) -> None:
        self._file.close()


def too_many_classes(column: str, seen: list[str]) -> str:
    examples = ", ".join(repr(s[:30]) for s in seen[:3])
    return (f"--label-column {column}: more than {MAX_CLASSES} distinct labels ({examples}, ...); that looks like "
            f"a text or id column, not classes: choose a column with at most {MAX_CLASSES} classes")


def open_labels(folder: Path, doc: dict, rows: int) -> tuple[LabelSet, np.ndarray]:
    """The label set and memory-mapped class ids of a cache entry (``doc``: meta.json's "labels");
    ValueError when they do not match the ``rows`` training rows."""
    labels = LabelSet.from_json(doc["set"])
    info = doc["array"]
    path = folder / info["file"]
    if int(info["rows"]) != rows or not path.is_file() or os.path.getsize(path) != rows * DTYPE.itemsize:
        raise ValueError(f"{info['file']} is missing or does not hold one label per training row")
    if sum(labels.counts) != rows:
        raise ValueError("the label counts do not add up to the training rows")
    ids = np.memmap(path, dtype=DTYPE, mode="r", shape=(rows,))
    if rows and int(ids.max()) >= len(labels):  # 2 bytes a row: milliseconds, and no class id past the names
        raise ValueError(f"{info['file']} holds class ids beyond the {len(labels)} label names")
    return labels, ids
