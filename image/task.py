"""``train-image`` as a task of the core (seqgan_gp.task): the paper's image WGAN-GP models.

Everything generic lives in the core: the loop, the objectives, checkpoints, run directories,
signals and the NaN policy (seqgan_gp.runner). This module opens the dataset, builds the image
networks (with the AC-GAN objective for a conditional run), writes a PNG grid of a fixed noise
batch every ``--sample-every`` iterations and evaluates SWD / MS-SSIM (/ IS / FID) of
``--eval-samples`` images every ``--eval-every`` (image.evaluate; the names carry the count: swd2k_32),
both from the average of G's weights when the run keeps one (``--ema-decay``, seqgan_gp.ema).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from rich.console import Console

from seqgan_gp.acgan import ACGAN
from image.config import KIND, ImageConfig
from image.data import ImageBatches, ImageSource, open_source, to_unit_range
from image.evaluate import Counts, ImageEvaluator
from image.grid import save_grid
from image.memory import check_training
from image.metrics.inception import InceptionNet
from image.sampling import build_networks, generate, grid_labels
from seqgan_gp.distributed import DistContext
from seqgan_gp.ema import label_evaluations, sampling_generator
from seqgan_gp.errors import UserError
from seqgan_gp.gan import gan_trainable, objective_of
from seqgan_gp.messages import option
from seqgan_gp.rundir import RunDir
from seqgan_gp.task import Trainable


LABELLED_CLASSES = 10  # classes of every labelled dataset (CIFAR-10, Fashion-MNIST, the embedded shapes)


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
    data_flags = ("data_dir",)

    def run_name(self, cfg: ImageConfig) -> str:
        return f"image-{cfg.dataset}-{cfg.model}"

    def check_fits(self, cfg: ImageConfig, device: torch.device) -> None:
        check_training(cfg, LABELLED_CLASSES, device)

    def open_data(self, cfg: ImageConfig, *, console: Console, show_progress: bool,
                  recorded: Optional[dict] = None) -> ImageSource:
        if recorded is not None and cfg.data_dir is not None and cfg.dataset != "embedded":
            raise UserError(f"--resume: the run reads {cfg.dataset} from {cfg.data_dir} (its config.json says so), and "
                            f"a folder named in a run's files is read only when you name it: add "
                            f"{option('--data-dir', cfg.data_dir)} to the command")
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
                f"DIM {cfg.dim}, batch {cfg.batch_size}, {cfg.critic_iters} critic steps, {cfg.loss}, critic norm "
                f"{cfg.critic_norm}" + (f", EMA of G (decay {cfg.ema_decay:g})" if cfg.ema_decay else ""))

    def sampler(self, cfg: ImageConfig, trainable: Trainable, source: ImageSource, folder: Path):
        G, labels = sampling_generator(trainable.state.modules), grid_labels(cfg, source.n_classes, cfg.sample_grid)

        def sample(iteration: int) -> Path:
            images = generate(G, cfg.sample_grid, seed=cfg.seed, labels=labels, batch_size=cfg.sample_grid)
            return save_grid(to_unit_range(images, cfg.unit_range), folder / f"samples_{iteration:08d}.png")

        return sample

    def evaluator(self, cfg: ImageConfig, trainable: Trainable, source: ImageSource, *, device: torch.device,
                  console: Console):
        inception = InceptionNet(cfg.inception_weights, device) if cfg.inception_weights else None
        modules = trainable.state.modules
        return label_evaluations(ImageEvaluator(cfg, sampling_generator(modules), source,
                                                counts=Counts.uniform(cfg.eval_samples), inception=inception), modules)

    def finish(self, cfg: ImageConfig, run: RunDir) -> None:
        """Nothing beyond the grids, metrics and checkpoints."""
