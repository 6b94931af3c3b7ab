"""The quality–diversity frontier of text models: every run swept over sampling temperatures.

Caccia et al. (2018, "Language GANs Falling Short") showed that one BLEU or JS number at one
decoding setting cannot rank a text GAN against a maximum-likelihood model: lowering the
temperature trades diversity for quality, so each model is a curve, and the question is whose
curve lies closer to the data. For each run (a GAN from ``train-text``, a language model from
``train-lm``; seqgan_gp.lm.inference) and each temperature T, ``n`` rows are drawn with the same
seed and scored by seqgan_gp.text.metrics:

* quality: BLEU-2..5 of the samples against reference sentences; on the embedded grammar corpus
  also the share of valid sentences and their exact NLL under the grammar;
* diversity: self-BLEU-2..5 (lower: more diverse), distinct-n, unique samples;
* both at once: JS-1..4 of n-gram distributions against the whole training corpus.

The real data is a point of the same plot: ``k`` held-out rows (``n`` when there are at least
``2n`` references) scored as if they were samples. So that it is measured like the models, the
references are the corpus's reference rows (its validation set, else its first training rows)
without those ``k``, for every run and for the real point: BLEU numbers here are against
slightly fewer references than a single ``evaluate`` uses.

Runs must share a tokenizer (ids must mean the same tokens); they are scored against the corpus of
the first one. :func:`frontier` returns the JSON document; :func:`write_frontier` writes it with
its figure (seqgan_gp.lm.frontier_plot). The metrics are read through :data:`METRICS`, so a change
of evaluate's metric names is one line there.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from seqgan_gp.atomic import atomic_write_text
from seqgan_gp.errors import UserError
from seqgan_gp.metrics.counts import base_name
from seqgan_gp.lm.inference import TextSampler, check_rows, decoding, load_text_sampler
from seqgan_gp.provenance import versions
from seqgan_gp.text.data import corpus_flags
from seqgan_gp.text.evaluate import BLEU_PROTOCOL, EVAL_PACKAGES, JS_PROTOCOL, open_eval_data
from seqgan_gp.text.metrics import TextMetrics, references

METRICS = {  # what the frontier reads -> the metric's name in seqgan_gp.text.metrics' output
    "bleu2": "bleu2", "bleu3": "bleu3", "bleu4": "bleu4", "bleu5": "bleu5",
    "self_bleu2": "self_bleu2", "self_bleu3": "self_bleu3", "self_bleu4": "self_bleu4", "self_bleu5": "self_bleu5",
    "js1": "js1", "js2": "js2", "js3": "js3", "js4": "js4",
    "distinct4": "distinct4", "unique": "unique_samples", "valid": "valid", "grammar_nll": "nll",
}
COLUMNS = (  # the table's metric columns: (key of METRICS, heading)
    ("bleu2", "BLEU2"), ("bleu4", "BLEU4"), ("self_bleu2", "sBLEU2"), ("self_bleu4", "sBLEU4"),
    ("distinct4", "dist4"), ("js4", "JS4"), ("valid", "valid"), ("grammar_nll", "g-NLL"),
)
REAL = "real held-out rows"


def metric(values: dict, key: str) -> Optional[float]:
    """The value of frontier metric ``key`` (a key of :data:`METRICS`) in a metrics dict, or None;
    evaluate's names carry their sample count (``bleu4_640``: seqgan_gp.metrics.counts), matched by
    the name without it."""
    wanted = METRICS[key]
    return next((v for name, v in values.items() if base_name(name) == wanted), None)


def run_dir_of(checkpoint: Path) -> Path:
    return checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent


def parse_temperatures(text: str) -> list[float]:
    """``"0,0.5,1"`` → [0.0, 0.5, 1.0]: distinct, non-negative, in the order given."""
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise UserError(f"--temperatures {text}: expected numbers separated by commas, e.g. 0,0.5,0.8,1") from None
    if not values or any(not t >= 0 for t in values) or len(set(values)) != len(values):
        raise UserError(f"--temperatures {text}: give distinct temperatures of 0 (argmax) or more, e.g. 0,0.5,0.8,1")
    return values


def _samplers(targets: Sequence[Path], device: torch.device, *, ema: bool, with_raw: bool,
              labels: Optional[Sequence[str]]) -> list[tuple[str, TextSampler]]:
    if labels is not None and len(labels) != len(targets):
        raise UserError(f"--labels: {len(labels)} labels for {len(targets)} runs; give one label per run")
    out = []
    for i, target in enumerate(targets):
        sampler = load_text_sampler(target, device, ema=ema)
        name = labels[i] if labels is not None else run_dir_of(sampler.path).name
        if sampler.weights == "G_ema":
            out.append((f"{name} (EMA)", sampler))
            if with_raw:
                out.append((f"{name} (raw)", load_text_sampler(target, device, ema=False)))
        else:
            out.append((name, sampler))
    first = out[0][1]
    for label, sampler in out[1:]:
        if sampler.meta.get("tokenizer") != first.meta.get("tokenizer"):
            raise UserError(f"{sampler.path}: its tokenizer differs from that of {first.path}; a frontier compares "
                            f"runs on the same corpus and tokenizer (same --corpus, --tokenizer, --vocab-size, "
                            f"--seq-len)")
    return out


def frontier(targets: Sequence[Path], *, temperatures: Sequence[float], n: int, seed: int, device: torch.device,
             console: Console, top_k: int = 0, ema: bool = True, with_raw: bool = False,
             labels: Optional[Sequence[str]] = None, cache_dir: Optional[Path] = None,
             show_progress: bool = True, corpus: Optional[str] = None, data_dir: Optional[str] = None) -> dict:
    """The frontier document of ``targets`` (run directories or checkpoints) over ``temperatures``.

    ``ema``: G_ema of GAN runs that kept one (false: their last weights); ``with_raw``: both curves
    for such runs. ``labels``: one name per target (default: its run directory's name). The corpus
    is the first run's, found as evaluate finds it (``corpus``, ``data_dir``: --corpus, --data-dir).
    """
    if n < 2:
        raise UserError(f"-n {n}: self-BLEU needs at least 2 samples; pass -n 640 or more")
    if top_k < 0:
        raise UserError(f"--top-k {top_k}: must be 0 (all tokens) or positive")
    samplers = _samplers([Path(t) for t in targets], device, ema=ema, with_raw=with_raw, labels=labels)
    first = samplers[0][1]
    for _, sampler in samplers:  # -n rows per point are drawn and scored: refused before minutes of work
        check_rows(sampler.cfg, n, device, metrics=True)
    data, notes = open_eval_data(first.path, first.cfg, first.meta, first.tokenizer, console=console,
                                 cache_dir=cache_dir, show_progress=show_progress, corpus=corpus, data_dir=data_dir)
    if data is None:
        raise UserError(f"{first.path}: the training corpus is not in the encoded-corpus cache (--cache-dir), and the "
                        f"frontier scores samples against it: add {corpus_flags(first.cfg)} (the checkpoint's)")
    for label, sampler in samplers[1:]:
        if sampler.meta.get("corpus_fingerprint") != first.meta.get("corpus_fingerprint"):
            notes.append(f"{label} was trained on another encoding of the corpus (other seed or corpus content); "
                         f"all runs are scored against the corpus of {run_dir_of(first.path).name}")
    ref_ids, ref_source = references(data)
    k = min(n, len(ref_ids) // 2)
    if k < n:
        notes.append(f"only {len(ref_ids)} reference rows: the real point is {k} rows, not {n}, so its self-BLEU "
                     f"is not directly comparable")
    metrics = TextMetrics(first.tokenizer, data, grammar_corpus=first.cfg.corpus == "embedded", console=console)
    metrics.ref_words = metrics.ref_words[k:]  # every run and the real point against the same references
    real_ids = np.asarray(ref_ids[:k])

    curves = []
    for label, sampler in samplers:
        points = []
        for t in temperatures:
            t0 = time.perf_counter()
            values = metrics(sampler.generate(n, temperature=t, top_k=top_k, seed=seed))
            points.append({"temperature": t, "decoding": decoding(t, top_k), "metrics": values})
            if show_progress:
                console.print(f"  {label}, T={t:g}: BLEU-4 {_fmt(metric(values, 'bleu4'))}, self-BLEU-4 "
                              f"{_fmt(metric(values, 'self_bleu4'))}, JS-4 {_fmt(metric(values, 'js4'))} "
                              f"({time.perf_counter() - t0:.1f} s)", highlight=False)
        curves.append({"label": label, "run": str(run_dir_of(sampler.path)), "checkpoint": str(sampler.path),
                       "kind": sampler.kind, "model": getattr(sampler.cfg, "model", "conv generator"),
                       "weights": sampler.weights, "iteration": sampler.meta.get("iteration"), "points": points})
    return {
        "corpus": first.cfg.corpus, "tokenizer": first.tokenizer.kind, "samples": n, "seed": seed,
        "temperatures": list(temperatures), "top_k": top_k, "curves": curves,
        "real": {"label": REAL, "rows": int(k), "source": ref_source, "metrics": metrics(real_ids)},
        "references": {"source": ref_source, "sentences": len(metrics.ref_words)},
        "protocol": (f"per run and temperature, {n} rows drawn with seed {seed} (the GAN: the same z at every "
                     f"temperature, each position drawn from softmax(logits/T), argmax at T=0; a language model: "
                     f"token by token from softmax(logits/T), greedy at T=0, pads after the first); the real point: "
                     f"the first {k} {ref_source} rows; BLEU of every point against the other "
                     f"{len(metrics.ref_words)} {ref_source} rows"),
        "bleu_protocol": BLEU_PROTOCOL, "js_protocol": JS_PROTOCOL, "versions": versions(EVAL_PACKAGES),
        "notes": notes,
    }


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.3f}"


def frontier_rows(doc: dict) -> list[tuple[str, str, dict]]:
    """(label, temperature, metrics) for every point of every curve, then the real data."""
    rows = [(c["label"], f"{p['temperature']:g}", p["metrics"]) for c in doc["curves"] for p in c["points"]]
    rows.append((REAL, "—", doc["real"]["metrics"]))
    return rows


def frontier_table(doc: dict) -> Table:
    """The frontier as a rich table: one row per run and temperature, and the real data's."""
    present = [(key, head) for key, head in COLUMNS if any(metric(m, key) is not None for *_, m in frontier_rows(doc))]
    table = Table(title=f"quality–diversity frontier: {doc['samples']} samples per point, {doc['corpus']} "
                        f"(BLEU vs {doc['references']['sentences']} {doc['references']['source']} rows; sBLEU: "
                        f"self-BLEU, dist4: distinct 4-grams, g-NLL: grammar NLL of valid samples)")
    table.add_column("run", min_width=10)
    table.add_column("T")
    for _, head in present:
        table.add_column(head, justify="right")
    for label, t, values in frontier_rows(doc):
        table.add_row(label, t, *[_fmt(metric(values, key)) for key, _ in present])
    return table


def write_frontier(doc: dict, out: Path) -> tuple[Path, Path]:
    """Write ``frontier.json`` and ``frontier.png`` into the folder ``out``; returns their paths."""
    from seqgan_gp.lm.frontier_plot import save_frontier_figure  # matplotlib on first use

    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        json_path, png_path = out / "frontier.json", out / "frontier.png"
        atomic_write_text(json_path, json.dumps(doc, indent=2) + "\n")
        save_frontier_figure(doc, png_path)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write the frontier there ({exc.strerror or exc}); choose a writable "
                        f"--out") from None
    return json_path, png_path

