"""The embedded default corpus: a small probabilistic grammar of English-like sentences.

The corpus needs no download: :func:`generate` draws sentences from the grammar with a seeded
generator, so the same seed gives the same corpus on every machine. Because we know the process
that made the data, we can judge samples exactly: :func:`is_valid` says whether a string could
have come from the grammar (a truncated sample may be a prefix of such a sentence), and
:func:`log_prob` gives a sentence's exact probability under it (summed over derivations).

    S   -> NP VP "."
    NP  -> Det Noun | Det Adj Noun
    VP  -> IVerb | IVerb Adv | TVerb NP

A sentence's type (:data:`SENTENCE_TYPES`) is the rule its verb phrase took: the class labels of
the embedded corpus (``--label-column type``), decided by its words alone (no verb is both
intransitive and transitive), so a classifier of real sentences is exact.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Optional, Sequence

import numpy as np

# nonterminal -> [(probability, symbols)]; a symbol is a nonterminal or a word class
RULES: dict[str, list[tuple[float, tuple[str, ...]]]] = {
    "S": [(1.0, ("NP", "VP"))],
    "NP": [(0.5, ("Det", "Noun")), (0.5, ("Det", "Adj", "Noun"))],
    "VP": [(0.3, ("IVerb",)), (0.3, ("IVerb", "Adv")), (0.4, ("TVerb", "NP"))],
}
# word class -> words, drawn uniformly (no word belongs to two classes)
WORDS: dict[str, tuple[str, ...]] = {
    "Det": ("the", "a", "my", "one"),
    "Adj": ("big", "red", "sad", "hot", "new", "tall", "small"),
    "Noun": ("cat", "dog", "man", "boy", "car", "fox", "kid", "bird"),
    "IVerb": ("ran", "sat", "slept", "fell", "sang"),
    "TVerb": ("saw", "ate", "hit", "fed", "got"),
    "Adv": ("fast", "away", "here", "today"),
}
START = "S"
TYPED = "VP"  # the nonterminal whose rule is the sentence's type
SENTENCE_TYPES = ("intransitive", "adverbial", "transitive")  # VP -> IVerb | IVerb Adv | TVerb NP


def _expand(symbol: str, rng: np.random.Generator, trace: Optional[list] = None) -> list[str]:
    """Words derived from ``symbol``; ``trace`` collects (nonterminal, rule index) of every choice."""
    if symbol in WORDS:
        words = WORDS[symbol]
        return [words[rng.integers(len(words))]]
    probs = [p for p, _ in RULES[symbol]]
    choice = rng.choice(len(probs), p=probs)
    if trace is not None:
        trace.append((symbol, int(choice)))
    _, rhs = RULES[symbol][choice]
    return [w for s in rhs for w in _expand(s, rng, trace)]


def render(words: Sequence[str]) -> str:
    """Words to a sentence: first letter capitalised, a full stop at the end."""
    text = " ".join(words) + "."
    return text[:1].upper() + text[1:]


def generate(n: int, seed: int = 0) -> list[str]:
    """``n`` sentences drawn from the grammar; deterministic for a given ``seed``."""
    rng = np.random.default_rng(seed)
    return [render(_expand(START, rng)) for _ in range(n)]


def generate_typed(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """:func:`generate`'s sentences (the same ones for a seed) and each one's type (:data:`SENTENCE_TYPES`)."""
    rng = np.random.default_rng(seed)
    sentences, types = [], []
    for _ in range(n):
        trace: list = []
        sentences.append(render(_expand(START, rng, trace)))
        types.append(SENTENCE_TYPES[next(k for s, k in trace if s == TYPED)])
    return sentences, types


def _words_of(text: str) -> tuple[tuple[str, ...], bool]:
    """Split a sample into words; says whether it is complete (ends with the full stop)."""
    complete = text.endswith(".")
    body = text[:-1] if complete else text
    if body[:1].isupper():
        body = body[0].lower() + body[1:]
    return tuple(body.split(" ")), complete


@lru_cache(maxsize=None)
def _match(symbols: tuple[str, ...], words: tuple[str, ...], prefix: bool) -> float:
    """Total probability that ``symbols`` derive exactly ``words`` (or, with ``prefix``,
    a word sequence of which ``words`` is a prefix, the last word possibly cut short)."""
    if not symbols:
        return 1.0 if not words else 0.0
    if not words:
        return 1.0 if prefix else 0.0  # the rest of the sentence was cut off
    head, rest = symbols[0], symbols[1:]
    if head in WORDS:
        word, vocab = words[0], WORDS[head]
        if prefix and len(words) == 1:  # the sample ends in or right after this word
            return sum(1.0 for w in vocab if w.startswith(word)) / len(vocab)
        if word not in vocab:
            return 0.0
        return _match(rest, words[1:], prefix) / len(vocab)
    return sum(p * _match(rhs + rest, words, prefix) for p, rhs in RULES[head])


def log_prob(sentence: str) -> float:
    """Exact natural-log probability of a complete sentence under the grammar (−inf if impossible)."""
    words, complete = _words_of(sentence)
    if not complete or not sentence[:1].isupper():
        return -math.inf
    p = _match((START,), words, False)
    return math.log(p) if p > 0 else -math.inf


def sample_log_prob(text: str, *, truncated: bool = False) -> float:
    """Exact natural-log probability of a sample under the grammar (−inf if it cannot occur).

    A complete sample is scored as a sentence (:func:`log_prob`). A ``truncated`` one (it filled
    the whole sequence, so the sentence may have been cut) is scored as the event "a sentence of
    the grammar begins with ``text``", summed over derivations; a truncated sample that is a
    whole sentence gets that sentence's probability.
    """
    if not truncated or not text or text.endswith("."):
        return log_prob(text)
    if not text[:1].isupper():
        return -math.inf
    words, _ = _words_of(text)
    p = _match((START,), words, True)
    return math.log(p) if p > 0 else -math.inf


def is_valid(text: str, *, truncated: bool = False) -> bool:
    """Could ``text`` have come from the grammar?

    With ``truncated`` (the sample filled the whole sequence, so the sentence may have been cut),
    a prefix of a grammatical sentence also counts.
    """
    if log_prob(text) > -math.inf:
        return True
    if not truncated or not text or text.endswith(".") or not text[:1].isupper():
        return False
    words, _ = _words_of(text)
    return _match((START,), words, True) > 0
