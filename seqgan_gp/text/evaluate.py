"""``evaluate`` of a text checkpoint: the metrics of seqgan_gp.text.metrics for ``n`` argmax samples,
as the evaluation document (the command line renders it as a table and writes it to eval/eval_<iteration>.json);
:func:`open_eval_data` finds the corpus a checkpoint's samples are scored against (also for language
models, seqgan_gp.lm). A conditional checkpoint's samples follow the classes' shares of the corpus,
and the document adds ``class_acc`` and the per-class metrics of seqgan_gp.text.class_metrics.

By default ``n`` is the paper's protocol, 640 samples (gan_language.py scores JS-1..4 of 10 batches of
64 every 100 iterations); BLEU and the other metrics use the same samples. Every metric's name
carries ``n`` (``js4_640``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Optional

import torch
from rich.console import Console

from corpora.cache import EncodedCorpus
from seqgan_gp.configfile import check_seed
from seqgan_gp.errors import UserError
from seqgan_gp.provenance import versions
from seqgan_gp.rundir import resolve_checkpoint
from seqgan_gp.text.class_metrics import CLASSIFIER_PROTOCOL, ClassMetrics
from seqgan_gp.text.conditional import generate_per_class, proportional_counts
from seqgan_gp.text.data import check_tokenizer, corpus_flags, open_cached_text_data, open_text_data
from seqgan_gp.text.inference import checkpoint_classes, load_generator
from seqgan_gp.text.memory import check_sampling
from seqgan_gp.text.metrics import BLEU_PROTOCOL, TextMetrics
from seqgan_gp.text.sampling import BATCH, generate_ids

EVAL_PACKAGES = ("seqgan_gp", "numpy", "torch", "sentencepiece", "datasets", "nltk")  # nltk: what the BLEU tests compare with
PAPER_SAMPLES = 640  # gan_language.py: JS-n of 10 x 64 argmax samples
JS_PROTOCOL = ("paper's NgramLanguageModel.js_with over token n-grams (padding counts), samples vs all training rows, "
               "bits")


def open_eval_data(path: Path, cfg, meta: dict, tok, *, console: Console, cache_dir: Optional[Path] = None,
                   show_progress: bool = True, corpus: Optional[str] = None,
                   data_dir: Optional[str] = None) -> tuple[Optional[EncodedCorpus], list[str]]:
    """The corpus a checkpoint was trained on, to score its samples against, and notes on how it was found.

    The encoding the checkpoint records, from the cache; else the corpus the user names (``corpus``,
    ``data_dir``: the command's --corpus and --data-dir), else, for the embedded corpus, generated
    again. A corpus the checkpoint names is never read or fetched (it could name any file, or the
    network): then None, with a note saying what to pass. A corpus whose tokenizer changed is refused.
    """
    notes = []
    digest = meta.get("corpus_fingerprint")
    data = open_cached_text_data(digest if isinstance(digest, str) else None, cache_dir)
    if data is None and (corpus is not None or (cfg.corpus == "billion_word" and data_dir is not None)):
        named = replace(cfg, corpus=corpus or cfg.corpus, data_dir=data_dir or cfg.data_dir)
        data = open_text_data(named, console=console, cache_dir=cache_dir, show_progress=show_progress)
    elif data is None and cfg.corpus == "embedded":  # generated, nothing read
        data = open_text_data(cfg, console=console, cache_dir=cache_dir, show_progress=show_progress)
    elif data is None:
        notes.append(f"the training corpus is not in the encoded-corpus cache, and a corpus named in a checkpoint "
                     f"is read only when you name it: JS-n and BLEU are left out; add {corpus_flags(cfg)} (the "
                     f"checkpoint's) to compute them")
    if data is not None:
        check_tokenizer(path, cfg, meta, data)
        if data.encoding_digest != digest:
            notes.append(f"the corpus {data.path.name} differs from the encoding the checkpoint was trained on (same "
                         f"vocabulary); metrics are against its content")
    return data, notes


def evaluate_text(target: Path, *, n: Optional[int] = None, seed: int, device: torch.device, console: Console,
                  cache_dir: Optional[Path] = None, show_progress: bool = True, corpus: Optional[str] = None,
                  data_dir: Optional[str] = None, progress: Optional[Callable[[int], None]] = None,
                  ema: bool = True) -> dict:
    """Metrics of ``n`` argmax samples (None: the paper's 640) of a text checkpoint (of G_ema when the
    run kept it and ``ema``); returns the evaluation document (eval_<iteration>.json). The corpus is
    found by :func:`open_eval_data`; ``progress(done)`` hears after every batch of samples.
    """
    protocol = "the paper's: JS-n of 640 argmax samples (gan_language.py)" if n is None else f"-n {n}"
    n = PAPER_SAMPLES if n is None else n
    if n < 2:
        raise UserError(f"-n {n}: self-BLEU needs at least 2 samples; pass -n 2 or more (the paper's protocol: "
                        f"{PAPER_SAMPLES}, the default)")
    check_seed(seed)
    path = resolve_checkpoint(Path(target))
    G, tok, cfg, meta = load_generator(path, device, ema=ema)
    check_sampling(cfg, tok.vocab_size, n, device, batch=BATCH, metrics=True)
    data, notes = open_eval_data(path, cfg, meta, tok, console=console, cache_dir=cache_dir,
                                 show_progress=show_progress, corpus=corpus, data_dir=data_dir)
    metrics = TextMetrics(tok, data, grammar_corpus=cfg.corpus == "embedded", console=console)
    classes = checkpoint_classes(meta, cfg, path)
    if classes is None:
        ids = generate_ids(G, n, seed=seed, progress=progress)
    else:  # each class with its share of the corpus, so that the corpus-wide metrics compare like with like
        ids, labels = generate_per_class(G, proportional_counts(classes.probabilities(), n), seed=seed,
                                         shared_noise=False)
    values = metrics(ids)
    conditional = {}
    if classes is not None:
        conditional = {"labels": classes.to_json(), "per_class": None, "classifier_protocol": CLASSIFIER_PROTOCOL}
        if data is not None and data.classes == classes:
            scores = ClassMetrics(data, seed=cfg.seed)
            values.update(scores.accuracy(ids, labels))
            conditional["per_class"] = scores.per_class(ids, labels)
        else:
            notes.append("the labelled corpus is unavailable" if data is None else
                         "the corpus's labels differ from the checkpoint's")
            notes[-1] += "; per-class metrics (class_acc, per-class JS-n) are left out"
    return {
        "kind": "text", "checkpoint": str(path), "iteration": meta.get("iteration"), "corpus": cfg.corpus,
        "tokenizer": tok.kind, "samples": n, "counts": {"samples": n}, "protocol": protocol, "seed": seed,
        "decoding": "argmax (the paper's)", "weights": meta["weights"],
        "references": {"source": metrics.ref_source, "sentences": metrics.n_references},
        "metrics": values, "bleu_protocol": BLEU_PROTOCOL, "js_protocol": JS_PROTOCOL,
        "versions": versions(EVAL_PACKAGES), "notes": notes, **conditional,
    }
