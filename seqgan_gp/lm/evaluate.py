"""``evaluate`` of a language-model checkpoint: its held-out NLL and the text metrics of its samples.

The samples are drawn at temperature 1 (the model's own distribution; ``evaluate --temperatures``
sweeps it) and scored as a GAN's are (seqgan_gp.text.metrics); the held-out rows are the ones the
run was scored on while training (seqgan_gp.lm.task.split_rows).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
from rich.console import Console

from seqgan_gp.configfile import check_seed
from seqgan_gp.errors import UserError
from seqgan_gp.lm.inference import check_rows, decoding, load_text_sampler
from seqgan_gp.lm.likelihood import heldout_nll
from seqgan_gp.lm.task import split_rows
from seqgan_gp.provenance import versions
from seqgan_gp.text.evaluate import BLEU_PROTOCOL, EVAL_PACKAGES, JS_PROTOCOL, PAPER_SAMPLES, open_eval_data
from seqgan_gp.text.metrics import TextMetrics
from seqgan_gp.text.metrics import describe as describe_text

DESCRIPTIONS = {
    "heldout_nll": "NLL per token of held-out rows, up to the first pad (nats, lower better)",
    "heldout_bits": "the same in bits per token",
    "heldout_ppl": "perplexity exp(NLL) of held-out rows",
}


def describe(name: str) -> str:
    return DESCRIPTIONS.get(name) or describe_text(name)


def evaluate_lm(target: Path, *, n: Optional[int] = None, seed: int, device: torch.device, console: Console,
                cache_dir: Optional[Path] = None, show_progress: bool = True, temperature: float = 1.0,
                top_k: int = 0, corpus: Optional[str] = None, data_dir: Optional[str] = None) -> dict:
    """Held-out NLL and the metrics of ``n`` samples (None: 640, the GAN's protocol) at ``temperature``;
    returns the evaluation document (eval_<iteration>.json). The corpus is found as for a GAN
    (seqgan_gp.text.evaluate.open_eval_data: never one the checkpoint names unless named again)."""
    n = PAPER_SAMPLES if n is None else n
    if n < 2:
        raise UserError(f"-n {n}: self-BLEU needs at least 2 samples; pass -n 2 or more")
    check_seed(seed)
    sampler = load_text_sampler(target, device)
    cfg, meta, tok = sampler.cfg, sampler.meta, sampler.tokenizer
    check_rows(cfg, n, device, metrics=True)
    data, notes = open_eval_data(sampler.path, cfg, meta, tok, console=console, cache_dir=cache_dir,
                                 show_progress=show_progress, corpus=corpus, data_dir=data_dir)
    values: dict = {}
    heldout = None
    if data is not None:
        split = split_rows(data)
        heldout = split.describe()
        values.update(heldout_nll(sampler.model, split.heldout, tok.pad_id))
    metrics = TextMetrics(tok, data, grammar_corpus=cfg.corpus == "embedded", console=console)
    values.update(metrics(sampler.generate(n, temperature=temperature, top_k=top_k, seed=seed)))
    return {
        "kind": "lm", "checkpoint": str(sampler.path), "iteration": meta.get("iteration"), "model": cfg.model,
        "corpus": cfg.corpus, "tokenizer": tok.kind, "samples": n, "counts": {"samples": n}, "seed": seed,
        "decoding": decoding(temperature, top_k), "heldout": heldout,
        "references": {"source": metrics.ref_source, "sentences": metrics.n_references},
        "metrics": values, "bleu_protocol": BLEU_PROTOCOL, "js_protocol": JS_PROTOCOL,
        "versions": versions(EVAL_PACKAGES), "notes": notes,
    }
