"""``evaluate``: the metrics of a run directory or checkpoint, as a table and RUN_DIR/eval/eval_<iteration>.json."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable

import click
from rich.table import Table

from seqgan_gp.atomic import atomic_write_text
from seqgan_gp.cli.options import console, device_option, sample_progress, user_errors
from seqgan_gp.errors import UserError
from seqgan_gp.messages import option
from seqgan_gp.outputs import output_file
from seqgan_gp.rundir import resolve_checkpoint



def default_out(target: Path, checkpoint: Path, iteration) -> Path:
    """RUN_DIR/eval/eval_<iteration>.json for a run directory or a checkpoint inside one (a name that
    cannot be taken for the training log metrics.jsonl); else beside the checkpoint file."""
    name = f"eval_{iteration:08d}.json" if isinstance(iteration, int) else "eval.json"
    if Path(target).is_dir():
        return Path(target) / "eval" / name
    if checkpoint.parent.name == "checkpoints" and (checkpoint.parent.parent / "config.json").is_file():
        return checkpoint.parent.parent / "eval" / name
    return checkpoint.with_suffix(".eval.json")


def metrics_table(doc: dict, describe: Callable[[str], str]) -> Table:
    """An evaluation document as a table: metric, value, meaning (``describe(name)``)."""
    about = ", ".join(str(doc[k]) for k in ("model", "dataset") if doc.get(k))
    table = Table(title=f"{doc['kind']} metrics of {Path(doc['checkpoint']).name} (iteration {doc.get('iteration')}"
                        f"{', ' + about if about else ''}), protocol: {doc.get('protocol', str(doc.get('samples')) + ' samples')}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    for name, value in doc["metrics"].items():
        shown = "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"
        table.add_row(name, shown, describe(name))
    return table


def per_class_table(doc: dict) -> Table:
    """A conditional text document's per-class metrics: one row per class."""
    table = Table(title="per class: classifier accuracy of samples vs real rows, JS-n vs the class's rows")
    table.add_column("class", overflow="fold")
    for column in ("samples", "acc", "acc real", "js1", "js2", "js3", "js4"):
        table.add_column(column, justify="right")
    for name, m in doc["per_class"].items():
        cells = [f"{m[k]:.4f}" if isinstance(m[k], float) else "—" for k in
                 ("class_acc", "class_acc_real", "js1", "js2", "js3", "js4")]
        table.add_row(name, str(m["samples"]), *cells)
    return table


@click.command("evaluate")
@click.argument("targets", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("-n", "n", type=int, default=None,
              help="Samples for every metric (argmax decoding for a text GAN, temperature 1 for a language model) "
                   "instead of the published protocols: text 640 (JS-n, BLEU; gan_language.py); images IS and FID "
                   "50,000 (IS in 10 splits), SWD 16,384, MS-SSIM 10,000 (5,000 pairs). Metric names carry the "
                   "count: js4_640, fid50k, swd16k_64. With --temperatures: per run and temperature [640].")
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
              help="Where to write the metrics as JSON [default: RUN_DIR/eval/eval_<iteration>.json]; with "
                   "--temperatures the folder for frontier.json and frontier.png [one run: RUN_DIR/frontier/; "
                   "several: a new NNNNN-frontier/ beside the first run].")
@click.option("--cache-dir", type=click.Path(path_type=str), default=None,
              help="Encoded-corpus cache (text) [default: $SEQGAN_GP_CACHE or ~/.cache/seqgan_gp].")
@click.option("--corpus", default=None,
              help="Text: the training corpus, when the cache no longer holds its encoding (a corpus the "
                   "checkpoint names is never read or downloaded unless you name it here).")
@click.option("--data-dir", type=click.Path(path_type=str), default=None,
              help="The training data's folder (images; text: billion_word), read for SWD / FID or JS-n / BLEU "
                   "(a folder the checkpoint names is never read unless you name it here).")
@click.option("--inception-weights", type=click.Path(path_type=str), default=None,
              help="Images: TorchScript Inception file (inception-2015-12-05.pt) for IS and FID; never downloaded.")
@device_option
@user_errors
def evaluate_cmd(targets, n, seed, temperatures, top_k, raw, with_raw, labels, out_file, cache_dir, corpus, data_dir,
                 inception_weights, device):
    """Metrics of a run directory (its newest checkpoint) or a checkpoint file, on the published
    protocols unless -n says otherwise (every metric's name carries its sample count); with
    --temperatures, the quality–diversity frontier of one or more text runs.

    Images: SWD x1e3 per Laplacian level vs as many training images (16,384) and MS-SSIM of sample
    pairs (10,000 images), the published WGAN-GP 128 protocol; with --inception-weights also the
    Inception Score of 50,000 samples in 10 splits (the paper's 7.86 / 8.42) and FID of 50,000.

    Text: JS-1..4 vs the training corpus, BLEU-2..5 vs held-out sentences, self-BLEU-2..5,
    distinct n-grams, and for the embedded corpus % valid and the exact NLL under its grammar, of
    640 argmax samples (the paper's JS-n protocol); language models also their held-out NLL per
    token and perplexity. Conditional text: also the accuracy of a classifier trained on the real
    rows, on the samples of each class and on held-out real rows, and JS-n per class.

    Frontier (--temperatures): every run (train-text or train-lm) sampled at every temperature and
    scored as above, plotted as BLEU-4 against self-BLEU-4 and JS-4 against the temperature, with
    the real held-out rows as the reference point (Caccia et al. 2018).

    \b
    Examples:
      python cli.py evaluate runs/00000-text-embedded
      python cli.py evaluate runs/00000-text-embedded/checkpoints/checkpoint_00001200.safetensors -n 6400
      python cli.py evaluate runs/00001-image-embedded-cifar-resnet -n 2048       # quick, not a paper's protocol
      python cli.py evaluate --temperatures 0,0.5,0.75,1 runs/00000-text-embedded runs/00002-lm-embedded-conv
    """
    from seqgan_gp.checkpoint import load_checkpoint  # torch loads when the command runs, not for --help
    from seqgan_gp.device import resolve_device

    con = console()
    if temperatures is not None:
        from seqgan_gp.cli.frontier import run_frontier

        run_frontier(con, list(targets), temperatures=temperatures, n=n, seed=seed, out=out_file, cache_dir=cache_dir,
                     top_k=top_k, raw=raw, with_raw=with_raw, labels=labels, device=resolve_device(device),
                     corpus=corpus, data_dir=data_dir)
        return
    if len(targets) > 1:
        raise UserError(f"{len(targets)} runs given: evaluate compares several runs only on a frontier; add "
                        f"--temperatures (e.g. 0,0.5,0.75,1) or evaluate one run at a time")
    for name, given in (("--top-k", top_k), ("--with-raw", with_raw), ("--labels", labels)):
        if given:
            raise UserError(f"{name}: only with --temperatures (the frontier); drop {name} or add --temperatures")
    target = targets[0]
    path = resolve_checkpoint(Path(target))
    _, meta = load_checkpoint(path)
    kind = meta.get("kind")
    # checked now, not after an evaluation of minutes (the default's eval/ folder is made when it is written)
    if out_file is not None:
        out = output_file(out_file, example="eval.json")
    else:
        out = default_out(Path(target), path, meta.get("iteration"))
        output_file(out if out.parent.is_dir() else out.parent, example="eval.json")
    cache = Path(cache_dir) if cache_dir else None
    if kind == "text":
        from seqgan_gp.text.evaluate import PAPER_SAMPLES, evaluate_text
        from seqgan_gp.text.metrics import describe

        with sample_progress(PAPER_SAMPLES if n is None else n, "evaluate") as progress:
            doc = evaluate_text(path, n=n, seed=seed, device=resolve_device(device), console=con, cache_dir=cache,
                                corpus=corpus, data_dir=data_dir, progress=progress, ema=not raw)
    elif kind == "lm":
        from seqgan_gp.lm.evaluate import describe, evaluate_lm

        doc = evaluate_lm(path, n=n, seed=seed, device=resolve_device(device), console=con, cache_dir=cache,
                          corpus=corpus, data_dir=data_dir)
    elif kind == "image":
        from image.evaluate import describe, evaluate_image

        doc = evaluate_image(path, n=n, seed=seed, device=resolve_device(device), console=con,
                             inception_weights=inception_weights, data_dir=data_dir, ema=not raw)
    else:
        raise UserError(f"{path}: a {kind!r} checkpoint; evaluate knows text, language-model and image checkpoints "
                        f"(a toy run's pictures are in RUN_DIR/samples/, its W1 and modes in RUN_DIR/metrics.jsonl)")
    for note in doc["notes"]:
        con.print(f"[yellow]{note}", markup=True)
    con.print(metrics_table(doc, describe))
    if doc.get("per_class"):
        con.print(per_class_table(doc))
    try:
        out.parent.mkdir(exist_ok=True)
        atomic_write_text(out, json.dumps(doc, indent=2) + "\n")
    except OSError as exc:
        raise UserError(f"{option('--out', out)}: could not write the metrics ({exc.strerror}); free disk space or "
                        f"choose another --out") from None
    con.print(f"metrics written to {out}")
