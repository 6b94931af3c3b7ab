"""Text sources and tokenizers: they turn corpora into arrays of integer token ids.

Nothing here knows about models; the training code reads the ids these modules produce.
"""


class CorpusError(Exception):
    """A corpus problem the user can fix (missing file, wrong layout, empty corpus)."""
