"""Corpora: text sources, tokenizers and the encoded-corpus cache, turning text into token ids.

What the package owns:

* sources (:mod:`corpora.sources`, :mod:`corpora.dataset_sources`): every ``--corpus`` value
  (the embedded grammar corpus, One Billion Word, text files, JSON lines / CSV / Parquet files,
  ``save_to_disk`` folders, ``hf:`` Hub datasets) as a stream of sentence chunks, with a
  ``content_hash`` that says when the text changed; :mod:`corpora.paths` and
  :mod:`corpora.textfile` decide what a path is and how raw bytes become lines;
* tokenizers (:mod:`corpora.tokenizers`, vectorised rows in :mod:`corpora.rows`): the paper's
  characters, UTF-8 bytes (the reference's Python 2 reading), words and sentencepiece;
* the encoded-corpus cache (:mod:`corpora.encode`, :mod:`corpora.cache`): a corpus encoded once
  into memory-mapped ``(N, seq_len)`` token ids, found again by its ``encoding_digest``;
* class labels (:mod:`corpora.labels`, ``--label-column``): read beside the sentences, encoded
  beside the ids as ``(N,)`` class ids with their label vocabulary.

What it may import: the standard library, numpy, sentencepiece (inside the sentencepiece
tokenizer) and datasets (only when a datasets-backed source is read, never for text files,
One Billion Word or the embedded corpus). Never torch, ``image/``, ``seqgan_gp`` or the CLI:
training code reads the ids this package produces, not the other way round.

Every problem a user can fix is a :class:`CorpusError` whose message names the file or flag and
the fix; the text commands turn it into their one-line error.
"""


class CorpusError(Exception):
    """A corpus problem the user can fix (missing file, wrong layout, empty corpus)."""
