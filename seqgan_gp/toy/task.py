"""``train-toy`` as a task of the core (seqgan_gp.task): a GAN on a 2-D toy distribution (gan_toy.py).

Samples are PNG frames (the critic's value surface with real and generated points), evaluations the
exact Wasserstein-1 distance between ``eval_samples`` generated and real points and, for the
Gaussian mixtures, the modes covered and the share of high-quality samples (seqgan_gp.toy.metrics),
both from the average of G's weights when the run keeps one (``--ema-decay``, seqgan_gp.ema);
a finished run also draws its loss curves to ``losses.png``. The toy networks train on one CPU
thread (seqgan_gp.runtime.cpu_threads).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rich.console import Console

from seqgan_gp.distributed import DistContext
from seqgan_gp.ema import label_evaluations, sampling_generator
from seqgan_gp.gan import gan_trainable
from seqgan_gp.config import paper_value
from seqgan_gp.memory import Need, refuse_if_too_big, step_bytes
from seqgan_gp.messages import flag
from seqgan_gp.plots import save_group
from seqgan_gp.rundir import RunDir
from seqgan_gp.task import Trainable
from seqgan_gp.toy.config import KIND, ToyConfig
from seqgan_gp.toy.data import ToyBatches, mode_centers, mode_std, sample_points
from seqgan_gp.toy.metrics import mode_stats, wasserstein1
from seqgan_gp.toy.models import ToyCritic, ToyGenerator
from seqgan_gp.toy.plots import critic_surface, save_frame

FRAME_POINTS = 256  # generated and real points drawn in a frame (the script's 256 and batch)
EVAL_SEED = 12345  # fixed real points and noise of evaluations and frames: curves compare like with like


@torch.no_grad()
def generate(G, n: int, seed: int) -> np.ndarray:
    """``n`` generated points (n, 2) from noise drawn with ``seed`` (on the CPU, so every device agrees)."""
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))
    return G(z.to(next(G.parameters()).device)).float().cpu().numpy()


def evaluate_points(dataset: str, fake: np.ndarray, real: np.ndarray) -> dict:
    """W1 between the two clouds; modes covered and high-quality share for the mixtures."""
    out = {"w1": wasserstein1(fake, real)}
    if dataset != "swissroll":
        stats = mode_stats(fake, mode_centers(dataset), mode_std(dataset))
        out.update(modes=stats["modes"], high_quality=stats["high_quality"])
    return out


W1_BYTES_PER_PAIR = 32  # exact W1 holds float64 n x n matrices: the costs and POT's working copies


def parameters(dim: int) -> int:
    """Parameters of G and D together (seqgan_gp.toy.models): Linear(2, dim), two Linear(dim, dim) and
    the output layer, Linear(dim, 2) in G, Linear(dim, 1) in D."""
    hidden = 3 * dim + 2 * (dim * dim + dim)
    return (hidden + 2 * dim + 2) + (hidden + dim + 1)


def training_need(*, dim: int, batch_size: int, eval_samples: int) -> Need:
    """G and D (three hidden layers of ``dim``) with Adam and one step; W1 over ``eval_samples`` points."""
    params = parameters(dim)
    per_example = 6 * (2 * 3 * dim + 4)  # each pass keeps 3 hidden layers (+ ReLUs); a critic step runs ~5
    return Need(device=step_bytes(params, per_example, batch_size), host=W1_BYTES_PER_PAIR * eval_samples ** 2)


@dataclass
class ToyTask:
    """The smallest task: what makes a toy run comes first; the data hooks have nothing to do."""

    kind = KIND
    config = ToyConfig
    resumable = ("eval_samples",)
    data_flags = ()  # the distribution is drawn, nothing is read

    def check_fits(self, cfg: ToyConfig, device: torch.device) -> None:
        names = ("dim", "batch_size", "eval_samples")
        refuse_if_too_big("training this model", training_need, {flag(n): getattr(cfg, n) for n in names}, device,
                          usual={flag(n): paper_value(cfg, n) for n in names})

    def build(self, cfg: ToyConfig, data: None, device: torch.device, dist: DistContext) -> Trainable:
        G, D = ToyGenerator(cfg.dim).to(device), ToyCritic(cfg.dim).to(device)
        trainable = gan_trainable(cfg, G, D, ToyBatches(cfg.dataset, cfg.batch_size, cfg.seed, device), device)
        trainable.threads = 1  # far too small to gain from splitting a product over cores
        return trainable

    def sampler(self, cfg: ToyConfig, trainable: Trainable, data: None, folder: Path):
        G, D = sampling_generator(trainable.state.modules), trainable.state.modules["D"]
        real = sample_points(cfg.dataset, FRAME_POINTS, np.random.default_rng(EVAL_SEED + 1))

        def frame(iteration: int) -> Path:
            axis, values = critic_surface(D, device=next(D.parameters()).device)
            fake = generate(G, FRAME_POINTS, EVAL_SEED + 2)  # fixed z: watch one cloud move
            path = folder / f"frame_{iteration:08d}.png"
            save_frame(path, axis, values, real, fake, f"{cfg.dataset}, {cfg.loss}, iteration {iteration}")
            return path

        return frame

    def evaluator(self, cfg: ToyConfig, trainable: Trainable, data: None, *, device: torch.device,
                  console: Console):
        modules = trainable.state.modules
        G, real = sampling_generator(modules), sample_points(cfg.dataset, cfg.eval_samples,
                                                             np.random.default_rng(EVAL_SEED))
        return label_evaluations(
            lambda iteration: evaluate_points(cfg.dataset, generate(G, cfg.eval_samples, EVAL_SEED), real), modules)

    def header(self, cfg: ToyConfig, data: None) -> str:
        return (f"{cfg.dataset}: {cfg.loss}, width {cfg.dim}, batch {cfg.batch_size}, {cfg.critic_iters} critic "
                f"steps, lr {cfg.lr:g}, {cfg.iters} iterations")

    def run_name(self, cfg: ToyConfig) -> str:
        return f"toy-{cfg.dataset}"

    def open_data(self, cfg: ToyConfig, *, console: Console, show_progress: bool, recorded=None) -> None:
        """Nothing to open: batches are drawn from the distribution (seqgan_gp.toy.data)."""

    def metadata(self, cfg: ToyConfig, data: None) -> dict:
        return {}

    def check_resume(self, cfg: ToyConfig, data: None, meta: dict, where: Path) -> None:
        """The distribution is the configuration's, which a resumed run keeps."""

    def finish(self, cfg: ToyConfig, run: RunDir) -> None:
        save_group(run.metrics(), "losses", run.path / "losses.png")
