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
    table = Table(title=f"{doc['kind']} metrics of {Path(doc['checkpoint']).name} (iteration {doc.get('iteration')}"
                        f"{', ' + about if about else ''}), protocol: {doc['protocol']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    for name, value in doc["metrics"].items():
        shown = "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"
        table.add_row(name, shown, describe(name))
    return table


@click.command("evaluate")
@click.argument("target", type=click.Path(path_type=str))
@click.option("-n", "n", type=int, default=None,
              help="Samples for every metric (argmax decoding for text) instead of the published protocols: text "
                   "640 (JS-n, BLEU; gan_language.py); images IS and FID 50,000 (IS in 10 splits), SWD 16,384, "
                   "MS-SSIM 10,000 (5,000 pairs). Metric names carry the count: js4_640, fid50k, swd16k_64.")
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
    """Metrics of a run directory (its newest checkpoint) or a checkpoint file, on the published
    protocols unless -n says otherwise; every metric's name carries its sample count.

    Images: SWD x1e3 per Laplacian level vs as many training images (16,384) and MS-SSIM of sample
    pairs (10,000 images), the published WGAN-GP 128 protocol; with --inception-weights also the
    Inception Score of 50,000 samples in 10 splits (the paper's 7.86 / 8.42) and FID of 50,000.

    Text: JS-1..4 vs the training corpus, BLEU-2..5 vs held-out sentences, self-BLEU-2..5,
    distinct n-grams, and for the embedded corpus % valid and the exact NLL under its grammar, of
    640 argmax samples (the paper's JS-n protocol).

    \b
    Examples:
      python cli.py evaluate runs/00000-text-embedded
      python cli.py evaluate runs/00000-text-embedded/checkpoints/checkpoint_00001200.safetensors -n 6400
      python cli.py evaluate runs/00001-image-embedded-cifar-resnet -n 2048       # quick, not a paper's protocol
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
    atomic_write_text(out, json.dumps(doc, indent=2) + "\n")
    con.print(f"metrics written to {out}")
