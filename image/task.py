"""``train-image`` as a task of the core (seqgan_gp.task): the paper's image WGAN-GP models.

Everything generic lives in the core: the loop, the objectives, checkpoints, run directories,
signals and the NaN policy (seqgan_gp.runner). This module opens the dataset, builds the image
networks (with the AC-GAN objective for a conditional run), writes a PNG grid of a fixed noise
batch every ``--sample-every`` iterations and evaluates SWD / MS-SSIM (/ IS / FID) every
``--eval-every`` (image.evaluate).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from rich.console import Console

from seqgan_gp.acgan import ACGAN
from image.config import KIND, ImageConfig
from image.data import ImageBatches, ImageSource, open_source, to_unit_range
from image.evaluate import ImageEvaluator
from image.grid import save_grid
from image.metrics.inception import InceptionNet
from image.sampling import build_networks, generate, grid_labels
from seqgan_gp.distributed import DistContext
from seqgan_gp.errors import UserError
from seqgan_gp.gan import gan_trainable, objective_of
from seqgan_gp.rundir import RunDir
from seqgan_gp.task import Trainable


def scaling(cfg: ImageConfig) -> str:
    """How the batch loader maps pixels into the model's range (image.data.batches)."""
    if cfg.unit_range:
        return "unit"
    return "dequant" if cfg.dequantize else "255"


@dataclass
class ImageTask:
    """An image run: one of the paper's models on a dataset, with AC-GAN when conditional."""

    kind = KIND
    config = ImageConfig
    resumable = ("eval_samples", "inception_weights", "data_dir")

    def run_name(self, cfg: ImageConfig) -> str:
        return f"image-{cfg.dataset}-{cfg.model}"

    def open_data(self, cfg: ImageConfig, *, console: Console, show_progress: bool) -> ImageSource:
        source = open_source(cfg.dataset, cfg.data_dir, max_examples=cfg.max_examples, embedded_size=cfg.embedded_size)
        if cfg.conditional and source.labels is None:
            raise UserError(f"--conditional: {source.name} has no labels")
        return source

    def metadata(self, cfg: ImageConfig, source: ImageSource) -> dict:
        return {"data": {"name": source.name, "images": source.n, "classes": source.n_classes,
                         "channels": source.channels, "fingerprint": source.fingerprint()}}

    def check_resume(self, cfg: ImageConfig, source: ImageSource, meta: dict, where: Path) -> None:
        digest, saved = source.fingerprint(), meta.get("data", {}).get("fingerprint")
        if saved != digest:
            raise UserError(f"--resume {where}: the dataset {cfg.dataset!r} differs from the one the run started "
                            f"with (fingerprint {digest} vs {saved}); restore it or start a new run")

    def build(self, cfg: ImageConfig, source: ImageSource, device: torch.device, dist: DistContext) -> Trainable:
        if source.n < cfg.batch_size * dist.world:
            ranks = f" x {dist.world} ranks" if dist.world > 1 else ""
            raise UserError(f"--batch-size {cfg.batch_size}: the dataset has only {source.n} images, fewer than one "
                            f"batch{ranks}; pass a smaller --batch-size or more images")
        G, D = build_networks(cfg, source.n_classes, device)
        batches = ImageBatches(source, batch_size=cfg.batch_size, seed=cfg.seed, device=device,
                               resolution=cfg.resolution, scaling=scaling(cfg), conditional=cfg.conditional,
                               rank=dist.rank, world=dist.world)
        objective = objective_of(cfg)
        if cfg.conditional:
            objective = ACGAN(objective, scale_d=cfg.acgan_scale, scale_g=cfg.acgan_scale_g)
        trainable = gan_trainable(cfg, G, D, batches, device, objective=objective,
                                  gen_batch=cfg.batch_size * cfg.gen_batch_multiple,
                                  sample_labels=batches.sample_labels if cfg.conditional else None)
        trainable.close = batches.close
        return trainable

    def header(self, cfg: ImageConfig, source: ImageSource) -> str:
        return (f"{cfg.model} on {source.name} ({source.n:,} images, {cfg.resolution} px, {source.channels} "
                f"channel{'s' if source.channels > 1 else ''}{', conditional AC-GAN' if cfg.conditional else ''}), "
                f"DIM {cfg.dim}, batch {cfg.batch_size}, {cfg.critic_iters} critic steps, {cfg.loss}")

    def sampler(self, cfg: ImageConfig, trainable: Trainable, source: ImageSource, folder: Path):
        G, labels = trainable.state.modules["G"], grid_labels(cfg, source.n_classes, cfg.sample_grid)

        def sample(iteration: int) -> Path:
            images = generate(G, cfg.sample_grid, seed=cfg.seed, labels=labels, batch_size=cfg.sample_grid)
            return save_grid(to_unit_range(images, cfg.unit_range), folder / f"samples_{iteration:08d}.png")

        return sample

    def evaluator(self, cfg: ImageConfig, trainable: Trainable, source: ImageSource, *, device: torch.device,
                  console: Console) -> ImageEvaluator:
        inception = InceptionNet(cfg.inception_weights, device) if cfg.inception_weights else None
        return ImageEvaluator(cfg, trainable.state.modules["G"], source, n=cfg.eval_samples, inception=inception)

    def finish(self, cfg: ImageConfig, run: RunDir) -> None:
        """Nothing beyond the grids, metrics and checkpoints."""
