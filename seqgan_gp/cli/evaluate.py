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
@click.argument("target", type=click.Path(path_type=str))
@click.option("-n", "n", type=int, default=6400, show_default=True, help="Samples to draw (argmax decoding for text).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the samples' noise.")
@click.option("--out", "out_file", type=click.Path(path_type=str), default=None,
              help="Where to write the metrics [default: RUN_DIR/metrics.json].")
@click.option("--cache-dir", type=click.Path(path_type=str), default=None,
              help="Encoded-corpus cache (text) [default: $SEQGAN_GP_CACHE or ~/.cache/seqgan_gp].")
@click.option("--inception-weights", type=click.Path(path_type=str), default=None,
              help="Images: TorchScript Inception file (inception-2015-12-05.pt) for IS and FID; never downloaded.")
@device_option
@user_errors
def evaluate_cmd(target, n, seed, out_file, cache_dir, inception_weights, device):
    """Metrics of a run directory (its newest checkpoint) or a checkpoint file.

    Images: SWD x1e3 per Laplacian level vs as many training images and MS-SSIM of sample pairs
    (the published WGAN-GP 128 protocol), with --inception-weights also IS and FID.

    Text: JS-1..4 vs the training corpus, BLEU-2..5 vs held-out sentences, self-BLEU-2..5,
    distinct n-grams, and for the embedded corpus % valid and the exact NLL under its grammar.
    Conditional text: also the accuracy of a classifier trained on the real rows, on the samples
    of each class and on held-out real rows, and JS-n per class.

    \b
    Examples:
      python cli.py evaluate runs/00000-text-embedded
      python cli.py evaluate runs/00000-text-embedded/checkpoints/checkpoint_00001200.safetensors -n 640
      python cli.py evaluate runs/00001-image-embedded-cifar-resnet -n 2048
    """
    con = console()
    path = resolve_checkpoint(Path(target))
    _, meta = load_checkpoint(path)
    kind = meta.get("kind")
    out = Path(out_file) if out_file else default_out(Path(target), path)
    if kind == "text":
        from seqgan_gp.text.evaluate import evaluate_text
        from seqgan_gp.text.metrics import describe

        doc = evaluate_text(path, n=n, seed=seed, device=resolve_device(device), console=con,
                            cache_dir=Path(cache_dir) if cache_dir else None)
    elif kind == "image":
        from image.evaluate import describe, evaluate_image

        doc = evaluate_image(path, n=n, seed=seed, device=resolve_device(device), console=con,
                             inception_weights=inception_weights)
    else:
        raise UserError(f"{path}: a {kind!r} checkpoint; evaluate knows text and image checkpoints (a toy "
                        f"run's pictures are in RUN_DIR/samples/, its W1 and modes in RUN_DIR/metrics.jsonl)")
    for note in doc["notes"]:
        con.print(f"[yellow]{note}", markup=True)
    con.print(metrics_table(doc, describe))
    if doc.get("per_class"):
        con.print(per_class_table(doc))
    atomic_write_text(out, json.dumps(doc, indent=2) + "\n")
    con.print(f"metrics written to {out}")
