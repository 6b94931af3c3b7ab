"""``evaluate``: the metrics of a run directory or checkpoint, as a table and metrics.json."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable

import click
from rich.table import Table

from seqgan_gp.atomic import atomic_write_text
from seqgan_gp.checkpoint import load_checkpoint
from seqgan_gp.cli.options import console, device_option, user_errors
from seqgan_gp.device import resolve_device
from seqgan_gp.errors import UserError
from seqgan_gp.rundir import resolve_checkpoint

SAMPLES = 6400  # samples of a single evaluation


def default_out(target: Path, checkpoint: Path) -> Path:
    """RUN_DIR/metrics.json for a run directory or a checkpoint inside one; else beside the file."""
    if Path(target).is_dir():
        return Path(target) / "metrics.json"
    if checkpoint.parent.name == "checkpoints" and (checkpoint.parent.parent / "config.json").is_file():
        return checkpoint.parent.parent / "metrics.json"
    return checkpoint.with_suffix(".metrics.json")


def metrics_table(doc: dict, describe: Callable[[str], str]) -> Table:
    """A metrics.json document as a table: metric, value, meaning (``describe(name)``)."""
    about = ", ".join(str(doc[k]) for k in ("model", "dataset") if doc.get(k))
    table = Table(title=f"{doc['kind']} metrics: {doc['samples']} samples of {Path(doc['checkpoint']).name} "
                        f"(iteration {doc.get('iteration')}{', ' + about if about else ''})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    for name, value in doc["metrics"].items():
        shown = "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"
        table.add_row(name, shown, describe(name))
    return table


@click.command("evaluate")
@click.argument("targets", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("-n", "n", type=int, default=None,
              help="Samples to draw (argmax decoding for a text GAN, temperature 1 for a language model) "
                   "[default: 6400; with --temperatures 640 per run and temperature].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the samples' noise.")
@click.option("--temperatures", default=None,
              help="Text: the quality–diversity frontier of one or more runs (GANs and language models) sampled at "
                   "each of these temperatures, e.g. 0,0.5,0.75,1 (0: argmax/greedy): a table, frontier.json and "
                   "frontier.png.")
@click.option("--top-k", type=int, default=0, show_default=True,
              help="With --temperatures: sample among the K likeliest tokens at each position (0: all).")
@click.option("--raw", is_flag=True,
              help="Runs trained with --ema-decay: evaluate the generator's last weights, not their average.")
@click.option("--with-raw", is_flag=True,
              help="With --temperatures: for runs trained with --ema-decay, a curve of the last weights too.")
@click.option("--labels", default=None,
              help="With --temperatures: a name per run for the table and figure, comma-separated [run directories' "
                   "names].")
@click.option("--out", "out_file", type=click.Path(path_type=str), default=None,
              help="Where to write the metrics [default: RUN_DIR/metrics.json]; with --temperatures the folder for "
                   "frontier.json and frontier.png [one run: RUN_DIR/frontier/; several: a new NNNNN-frontier/ "
                   "beside the first run].")
@click.option("--cache-dir", type=click.Path(path_type=str), default=None,
              help="Encoded-corpus cache (text) [default: $SEQGAN_GP_CACHE or ~/.cache/seqgan_gp].")
@click.option("--inception-weights", type=click.Path(path_type=str), default=None,
              help="Images: TorchScript Inception file (inception-2015-12-05.pt) for IS and FID; never downloaded.")
@device_option
@user_errors
def evaluate_cmd(targets, n, seed, temperatures, top_k, raw, with_raw, labels, out_file, cache_dir, inception_weights,
                 device):
    """Metrics of a run directory (its newest checkpoint) or a checkpoint file; with --temperatures, the
    quality–diversity frontier of one or more text runs.

    Images: SWD x1e3 per Laplacian level vs as many training images and MS-SSIM of sample pairs
    (the published WGAN-GP 128 protocol), with --inception-weights also IS and FID.

    Text: JS-1..4 vs the training corpus, BLEU-2..5 vs held-out sentences, self-BLEU-2..5,
    distinct n-grams, and for the embedded corpus % valid and the exact NLL under its grammar;
    language models also their held-out NLL per token and perplexity.

    Frontier (--temperatures): every run (train-text or train-lm) sampled at every temperature and
    scored as above, plotted as BLEU-4 against self-BLEU-4 and JS-4 against the temperature, with
    the real held-out rows as the reference point (Caccia et al. 2018).

    \b
    Examples:
      python cli.py evaluate runs/00000-text-embedded
      python cli.py evaluate runs/00000-text-embedded/checkpoints/checkpoint_00001200.safetensors -n 640
      python cli.py evaluate runs/00001-image-embedded-cifar-resnet -n 2048
      python cli.py evaluate --temperatures 0,0.5,0.75,1 runs/00000-text-embedded runs/00002-lm-embedded-conv
    """
    con = console()
    if temperatures is not None:
        from seqgan_gp.cli.frontier import run_frontier

        run_frontier(con, list(targets), temperatures=temperatures, n=n, seed=seed, out=out_file, cache_dir=cache_dir,
                     top_k=top_k, raw=raw, with_raw=with_raw, labels=labels, device=resolve_device(device))
        return
    if len(targets) > 1:
        raise UserError(f"{len(targets)} runs given: evaluate compares several runs only on a frontier; add "
                        f"--temperatures (e.g. 0,0.5,0.75,1) or evaluate one run at a time")
    for name, given in (("--top-k", top_k), ("--with-raw", with_raw), ("--labels", labels)):
        if given:
            raise UserError(f"{name}: only with --temperatures (the frontier); drop {name} or add --temperatures")
    target = targets[0]
    n = SAMPLES if n is None else n
    path = resolve_checkpoint(Path(target))
    _, meta = load_checkpoint(path)
    kind = meta.get("kind")
    out = Path(out_file) if out_file else default_out(Path(target), path)
    if kind == "text":
        from seqgan_gp.text.evaluate import evaluate_text
        from seqgan_gp.text.metrics import describe

        doc = evaluate_text(path, n=n, seed=seed, device=resolve_device(device), console=con,
                            cache_dir=Path(cache_dir) if cache_dir else None, ema=not raw)
    elif kind == "lm":
        from seqgan_gp.lm.evaluate import describe, evaluate_lm

        doc = evaluate_lm(path, n=n, seed=seed, device=resolve_device(device), console=con,
                          cache_dir=Path(cache_dir) if cache_dir else None)
    elif kind == "image":
        from image.evaluate import describe, evaluate_image

        doc = evaluate_image(path, n=n, seed=seed, device=resolve_device(device), console=con,
                             inception_weights=inception_weights, ema=not raw)
    else:
        raise UserError(f"{path}: a {kind!r} checkpoint; evaluate knows text, language-model and image checkpoints "
                        f"(a toy run's pictures are in RUN_DIR/samples/, its W1 and modes in RUN_DIR/metrics.jsonl)")
    for note in doc["notes"]:
        con.print(f"[yellow]{note}", markup=True)
    con.print(metrics_table(doc, describe))
    atomic_write_text(out, json.dumps(doc, indent=2) + "\n")
    con.print(f"metrics written to {out}")
