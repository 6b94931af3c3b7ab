"""``evaluate`` for image checkpoints: SWD and MS-SSIM (the published WGAN-GP 128 protocol), and IS /
FID when a local Inception network is given; a rich table and a metrics.json document."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
from rich.console import Console
from rich.table import Table

from image.data import open_source
from image.metrics.inception import InceptionNet
from image.metrics.swd import DIRECTIONS, NHOOD, PER_IMAGE, REPEATS, swd_resolutions
from image.train import ImageEvaluator, load_image_generator
from seqgan_gp.errors import UserError
from seqgan_gp.provenance import versions
from seqgan_gp.rundir import resolve_checkpoint

DESCRIPTIONS = {
    "swd": "SWD x1e3 at the {n} px Laplacian level (lower: closer to the data)",
    "swd_avg": "SWD x1e3 averaged over levels",
    "ms_ssim": "MS-SSIM of sample pairs (lower: more diverse)",
    "is": "Inception Score, 10 splits (higher better)",
    "is_std": "its standard deviation over splits",
    "fid": "FID vs as many training images (lower better)",
}


def describe(name: str) -> str:
    if name.startswith("swd_") and name[4:].isdigit():
        return DESCRIPTIONS["swd"].format(n=name[4:])
    return DESCRIPTIONS.get(name, "")


def evaluate_image(target: Path, *, n: int, seed: int, device: torch.device, console: Console,
                   inception_weights: Optional[str] = None) -> dict:
    """Metrics of ``n`` samples of an image checkpoint; returns the metrics.json document."""
    if n < 2:
        raise UserError(f"-n {n}: MS-SSIM needs at least one pair of samples; pass -n 2 or more")
    path = resolve_checkpoint(Path(target))
    G, cfg, meta = load_image_generator(path, device)
    notes = []
    try:
        source = open_source(cfg.dataset, cfg.data_dir, max_examples=cfg.max_examples, embedded_size=cfg.embedded_size)
        if source.fingerprint() != meta.get("data", {}).get("fingerprint"):
            notes.append(f"the dataset {cfg.dataset!r} differs from the one trained on; SWD/FID are against its "
                         f"current content")
    except UserError as exc:
        source = None
        notes.append(f"dataset unavailable ({exc}); SWD and FID, which need real images, are left out")
    inception = InceptionNet(inception_weights, device) if inception_weights else None
    if inception is None:
        notes.append("no --inception-weights: Inception Score and FID are left out")
    evaluator = ImageEvaluator(cfg, G, source, n=n, inception=inception, seed=seed)
    values = evaluator(int(meta.get("iteration", 0)))
    res = swd_resolutions(cfg.resolution)
    return {
        "kind": "image", "checkpoint": str(path), "iteration": meta.get("iteration"), "model": cfg.model,
        "dataset": cfg.dataset, "conditional": cfg.conditional, "samples": n, "seed": seed, "metrics": values,
        "swd_protocol": (f"{n} generated vs {n} real images at {cfg.resolution} px, Laplacian levels {res} "
                         f"(binomial 5x5 blur, zero padding, nearest upsampling as mmgeneration), {PER_IMAGE} "
                         f"{NHOOD}x{NHOOD} neighbourhoods per image and level, descriptors normalised per set and "
                         f"channel, {REPEATS} x {DIRECTIONS} random directions, x1e3 (published: 16,384 images)"),
        "ms_ssim_protocol": (f"mean MS-SSIM over {n // 2} pairs (2k, 2k+1) of generated images, uint8 by x·255, "
                             f"11x11 Gaussian σ 1.5, 5 scales (published: 10,000 images)"),
        "inception_protocol": (f"{n} samples, TorchScript Inception {inception.path.name}, IS over 10 splits, "
                               f"FID vs {n} training images" if inception else None),
        "versions": versions(("seqgan_gp", "numpy", "torch", "pillow")), "notes": notes,
    }


def metrics_table(doc: dict) -> Table:
    table = Table(title=f"{doc['kind']} metrics: {doc['samples']} samples of {Path(doc['checkpoint']).name} "
                        f"(iteration {doc.get('iteration')}, {doc.get('model')} on {doc.get('dataset')})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    for name, value in doc["metrics"].items():
        table.add_row(name, "—" if value is None else f"{value:.4f}", describe(name))
    return table
