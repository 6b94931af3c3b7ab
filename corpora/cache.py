"""The encoded-corpus cache: a corpus encoded once into memory-mapped token ids.

The first use of a (corpus, tokenizer, sequence length) streams the corpus through
:mod:`corpora.encode` (one pass for the paper's characters, a vocabulary pass and an encoding pass
for words and sentencepiece); memory is one chunk plus the vocabulary, whatever the corpus size.
Later runs open the entry in milliseconds: ``numpy.memmap`` maps the rows, nothing is read until
a batch asks for it.

Layout (``--cache-dir``; default ``$SEQGAN_GP_CACHE``, else ``$XDG_CACHE_HOME/seqgan_gp``, else
``~/.cache/seqgan_gp``)::

    CACHE/<name>-<tokenizer>-L<seq_len>-<key>/
        meta.json     cache format version, identity, content hash, encoding digest, tokenizer,
                      row counts, checksums, statistics (sentences, tokens, unknown and
                      truncation rates, ...)
        train.ids     (N, seq_len) little-endian uint16 ids (int32 when the vocabulary is larger)
        heldout.ids   validation rows, when the corpus has a validation set
        train.labels  (N,) little-endian uint16 class ids, one per training row (--label-column;
                      the label vocabulary in meta.json's "labels"; corpora.labels)
        ngrams.npz    n-gram counts of all training rows (written by seqgan_gp.text.data on first use)

Three hashes, three names:

* ``key`` (in the directory name) hashes what the entry encodes: the source's ``identity()``
  (paths, names) and every encoding setting. It says *where* an entry lives.
* ``content_hash`` is the source's hash of its text as it is now (:mod:`corpora.sources`). On
  open it must equal the stored one, or the corpus is re-encoded; it is taken again after
  encoding, and a corpus that changed meanwhile is refused rather than cached.
* ``encoding_digest`` hashes the content hash with the encoding settings: equal digests mean
  equal ids. A run records it; :func:`find_entry` finds the entry by it without the corpus.

An entry is built in a temporary directory and renamed into place when complete, so an
interrupted or refused build leaves nothing that looks finished. Errors writing the cache name
``--cache-dir``; errors reading the corpus name the file (never the cache). An entry
written by another cache format version, or whose meta.json is unreadable, whose files have the
wrong size or whose sampled blocks do not match their checksum, is rebuilt, not trusted (a CRC-32
of each whole file is stored too; :func:`verify` checks it).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from corpora import CorpusError
from corpora.encode import (EMPTY, EncodeSpec, Progress, encode_rows, fit_tokenizer, id_dtype, no_text,
                            no_usable_lines)
from corpora.labels import LabelSet, LabelWriter, open_labels
from corpora.one_pass import TooManyCharacters, encode_bytes, encode_chars
from corpora.sources import Source
from corpora.textfile import MAX_LINE_BYTES
from corpora.tokenizers import tokenizer_from_json

CACHE_VERSION = 2  # 2: lines end at \r too, NUL bytes refused, meta.json names its three hashes
ENV_VAR = "SEQGAN_GP_CACHE"


def default_cache_dir() -> Path:
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seqgan_gp"


@dataclass
class EncodedCorpus:
    path: Path  # the cache entry directory
    tokenizer: object
    train: np.ndarray  # (N, seq_len) memory-mapped ids
    heldout: Optional[np.ndarray]  # (M, seq_len) or None
    stats: dict
    encoding_digest: str  # corpus content + encoding settings; a resumed run must see the same
    built: bool = False  # True when this call encoded it, False when opened from the cache
    meta: dict = field(default_factory=dict)
    labels: Optional[np.ndarray] = None  # (N,) memory-mapped class ids of the training rows (--label-column)
    classes: Optional[LabelSet] = None  # their vocabulary: names and rows per class


class StaleCache(Exception):
    """A cache entry that must be rebuilt; the message says why."""


def spec_doc(spec: EncodeSpec) -> dict:
    """The encoding settings as hashed into keys and digests; an unlabelled spec hashes as it did
    before labels existed, so its entries and the digests runs recorded stay valid."""
    doc = asdict(spec)
    if doc.get("label_column") is None:
        doc.pop("label_column", None)
    return doc


def entry_path(source: Source, spec: EncodeSpec, cache_dir: Path) -> Path:
    key = hashlib.sha256(json.dumps({"source": source.identity(), "spec": spec_doc(spec)}, sort_keys=True,
                                    default=str).encode()).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", source.name)[:40] or "corpus"
    return Path(cache_dir) / f"{name}-{spec.tokenizer}-L{spec.seq_len}-{key}"


def prepare(source: Source, spec: EncodeSpec, cache_dir: Optional[Path] = None, *, force: bool = False,
            progress: Optional[Progress] = None) -> EncodedCorpus:
    """The encoded corpus from the cache, encoding it first when absent, stale or damaged."""
    progress = progress or Progress()
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    entry = entry_path(source, spec, cache_dir)
    content_hash = source.content_hash()
    if not force:
        try:
            found = open_entry(entry, content_hash)
            if found is not None:
                return found
        except StaleCache as exc:
            progress.note(f"cache {entry}: {exc}; encoding again")
    return _build(entry, source, spec, content_hash, progress)


def encoding_digest(content_hash: str, spec: EncodeSpec) -> str:
    """The digest of an encoding: the corpus's content hash and every encoding setting."""
    return hashlib.sha256(f"{content_hash}|{json.dumps(spec_doc(spec), sort_keys=True)}".encode()).hexdigest()[:16]


def sampled_digest(path: Path, blocks: int = 16, block_bytes: int = 4096) -> str:
    """SHA-256 of ``blocks`` evenly spaced blocks of a file: a corruption check in milliseconds."""
    size = os.path.getsize(path)
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        for k in range(blocks):
            f.seek(max(0, (size - block_bytes) * k // (blocks - 1)))
            h.update(f.read(block_bytes))
    return h.hexdigest()


def _file_crc(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(8 << 20), b""):
            crc = zlib.crc32(block, crc)
    return crc


def open_entry(entry: Path, content_hash: Optional[str]) -> Optional[EncodedCorpus]:
    """The entry at ``entry`` (None when absent); StaleCache when it must be rebuilt.

    ``content_hash=None`` skips the corpus check (the corpus itself is not available).
    """
    if not entry.is_dir():
        return None
    try:
        meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StaleCache("meta.json is missing (an interrupted or damaged entry)") from None
    except (json.JSONDecodeError, UnicodeDecodeError, OSError):
        raise StaleCache("meta.json is damaged") from None
    if not isinstance(meta, dict) or meta.get("version") != CACHE_VERSION:
        version = meta.get("version") if isinstance(meta, dict) else None
        raise StaleCache(f"written by cache format v{version} (another seqgan_gp version); this version "
                         f"reads v{CACHE_VERSION}")
    if content_hash is not None and meta.get("content_hash") != content_hash:
        raise StaleCache("the corpus changed since it was encoded")
    try:
        tok = tokenizer_from_json(meta["tokenizer"])
        seq_len, dtype = int(meta["seq_len"]), np.dtype(meta["dtype"])
        arrays = {}
        for split in ("train", "heldout"):
            info = meta["arrays"].get(split)
            if info is None:
                arrays[split] = None
                continue
            path, rows = entry / info["file"], int(info["rows"])
            if not path.is_file() or path.stat().st_size != rows * seq_len * dtype.itemsize:
                raise StaleCache(f"{info['file']} is missing or has the wrong size")
            if sampled_digest(path) != info["sampled"]:
                raise StaleCache(f"{info['file']} does not match its checksum (damaged)")
            arrays[split] = np.memmap(path, dtype=dtype, mode="r", shape=(rows, seq_len)) if rows else None
        if arrays["train"] is None:
            raise StaleCache("no training rows")
        classes, labels = None, None
        if meta.get("labels") is not None:
            classes, labels = open_labels(entry, meta["labels"], len(arrays["train"]))
            info = meta["arrays"]["labels"]
            if sampled_digest(entry / info["file"]) != info["sampled"]:
                raise StaleCache(f"{info['file']} does not match its checksum (damaged)")
    except StaleCache:
        raise
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise StaleCache(f"meta.json is damaged ({type(exc).__name__}: {exc})") from None
    return EncodedCorpus(entry, tok, arrays["train"], arrays["heldout"], meta["stats"], meta["encoding_digest"],
                         built=False, meta=meta, labels=labels, classes=classes)


def find_entry(cache_dir: Path, encoding_digest: str) -> Optional[EncodedCorpus]:
    """The valid entry under ``cache_dir`` with this ``encoding_digest`` (what a run recorded),
    found without the corpus itself; None if there is none."""
    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        return None
    for entry in sorted(cache_dir.iterdir()):
        if entry.name.startswith(".") or not (entry / "meta.json").is_file():
            continue
        try:
            if json.loads((entry / "meta.json").read_text(encoding="utf-8")).get("encoding_digest") != encoding_digest:
                continue
            return open_entry(entry, None)
        except (StaleCache, ValueError, OSError, AttributeError):
            continue
    return None


def verify(enc: EncodedCorpus) -> list[str]:
    """Files of ``enc`` whose full CRC-32 differs from the one recorded at build time."""
    bad = []
    for split, info in enc.meta["arrays"].items():
        if info is not None and _file_crc(enc.path / info["file"]) != info["crc32"]:
            bad.append(info["file"])
    return bad


# -- building ------------------------------------------------------------------------------------------

def _clean_stale_builds(cache_dir: Path, name: str) -> None:
    for tmp in cache_dir.glob(f".{name}.*-*-*"):
        m = re.search(r"\.(?:tmp|old)-(\d+)-", tmp.name)
        if m and not _pid_alive(int(m.group(1))):
            shutil.rmtree(tmp, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _build(entry: Path, source: Source, spec: EncodeSpec, content_hash: str, progress: Progress) -> EncodedCorpus:
    cache_dir, tmp = entry.parent, None
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _clean_stale_builds(cache_dir, entry.name)
        tmp = cache_dir / f".{entry.name}.tmp-{os.getpid()}-{os.urandom(4).hex()}"
        tmp.mkdir()
        meta = _encode(tmp, source, spec, progress)
        if source.content_hash() != content_hash:
            raise CorpusError("the corpus changed while it was being encoded (a file was written, replaced or "
                              "touched meanwhile); run again once nothing writes to it")
        meta.update(identity={"source": source.identity(), "spec": spec_doc(spec)}, content_hash=content_hash,
                    encoding_digest=encoding_digest(content_hash, spec))
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        _install(tmp, entry)
    except OSError as exc:  # reading the corpus raises CorpusError: an OSError here is the cache's
        raise CorpusError(cache_write_error(cache_dir, exc)) from None
    finally:
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    found = open_entry(entry, content_hash)
    found.built = True
    return found


def cache_write_error(cache_dir: Path, exc: OSError) -> str:
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    fix = "free disk space" if full else "make it writable"
    return (f"--cache-dir {cache_dir}: cannot write the encoded corpus there ({exc.strerror or exc}); {fix} "
            f"or choose another --cache-dir")


def _encode(tmp: Path, source: Source, spec: EncodeSpec, progress: Progress) -> dict:
    """Encode the training (and held-out) rows into ``tmp``; returns the entry's meta.json minus its hashes."""
    t0 = time.perf_counter()
    tok, train = None, None
    labels = _label_writer(tmp, spec)
    try:
        if spec.tokenizer == "byte":
            progress.stage("encoding bytes", source.size_bytes())
            tok, train = encode_bytes(source.train(spec.max_examples), spec, tmp / "train.ids", progress, labels)
        elif spec.tokenizer == "char" and spec.vocab_size <= 65536:
            try:
                progress.stage("encoding characters", source.size_bytes())
                tok, train = encode_chars(source.train(spec.max_examples), spec, tmp / "train.ids", progress, labels)
            except TooManyCharacters:
                progress.note("more than 65,536 distinct characters: counting and encoding in two passes")
                labels = _label_writer(tmp, spec, labels)
        if train is None:
            tok = fit_tokenizer(source, spec, progress)
            progress.stage("encoding", source.size_bytes())
            train = encode_rows(source.train(spec.max_examples), tok, spec, tmp / "train.ids", id_dtype(tok),
                                progress, labels)
    finally:
        if labels is not None:
            labels.close()
    if train["lines"] == 0:
        raise CorpusError(EMPTY)
    if train["rows"] == 0:
        raise CorpusError(no_usable_lines(train, spec))
    if train["tokens"] <= train["pad_tokens"]:
        raise CorpusError(no_text(train, tok))
    classes = None
    if labels is not None:
        classes, labels_info = labels.finish()
        if labels_info["rows"] != train["rows"]:
            raise RuntimeError(f"{labels_info['rows']} labels for {train['rows']} rows")
        labels_info["sampled"] = sampled_digest(tmp / labels_info["file"])
    if train["clipped"]:
        progress.note(f"{train['clipped']:,} lines longer than {MAX_LINE_BYTES >> 20} MiB were cut there (a row "
                      f"keeps its first {spec.seq_len} tokens)")
    dtype = id_dtype(tok)
    heldout = None
    if source.has_heldout:
        progress.stage("encoding validation set", None)
        heldout = encode_rows(source.heldout(spec.heldout_max), tok, spec, tmp / "heldout.ids", dtype, progress)
    seconds = time.perf_counter() - t0
    arrays = {"train": _array_info(tmp, "train.ids", train),
              "heldout": _array_info(tmp, "heldout.ids", heldout) if heldout and heldout["rows"] else None}
    if heldout is not None and not heldout["rows"]:
        (tmp / "heldout.ids").unlink()
    stats = {k: train[k] for k in ("lines", "rows", "tokens", "pad_tokens", "unknown", "truncated", "too_short",
                                   "too_long", "replaced", "raw_bytes", "clipped")}
    stats.update(vocab_size=tok.vocab_size, heldout_rows=heldout["rows"] if heldout else 0, seconds=seconds,
                 bytes_on_disk=sum(p.stat().st_size for p in tmp.iterdir()))
    meta = {"version": CACHE_VERSION, "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "seq_len": spec.seq_len,
            "dtype": dtype.str, "arrays": arrays, "stats": stats, "tokenizer": tok.to_json()}
    if classes is not None:
        arrays["labels"] = labels_info
        stats["classes"] = len(classes)
        meta["labels"] = {"set": classes.to_json(), "array": labels_info}
    return meta


def _label_writer(tmp: Path, spec: EncodeSpec, previous: Optional[LabelWriter] = None) -> Optional[LabelWriter]:
    """A fresh writer of the training rows' class labels (None for an unlabelled corpus)."""
    if previous is not None:
        previous.close()
    return LabelWriter(tmp / "train.labels", spec.label_column) if spec.label_column else None


def _array_info(folder: Path, name: str, s: dict) -> dict:
    return {"file": name, "rows": s["rows"], "crc32": s["crc32"], "sampled": sampled_digest(folder / name)}


def _install(tmp: Path, entry: Path) -> None:
    """Move a finished build into place, replacing an old entry; a concurrent twin build may win."""
    old = None
    if entry.exists():
        old = entry.with_name(f".{entry.name}.old-{os.getpid()}-{os.urandom(4).hex()}")
        try:
            os.rename(entry, old)
        except OSError:
            old = None
    try:
        os.rename(tmp, entry)
    except OSError:
        if not (entry / "meta.json").is_file():
            raise
        # another process installed the same entry first; ours is identical, drop it
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
