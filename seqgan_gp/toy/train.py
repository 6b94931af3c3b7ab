"""``train-toy``: a GAN on a 2-D toy distribution through the shared loop (gan_toy.py; SPEC.md).

The run directory is the text runs' (config.json, metrics.jsonl, checkpoints/, samples/), with PNG
frames in samples/ every ``plot_every`` iterations (the critic's value surface with real and
generated points) and ``losses.png`` at the end. Every evaluation logs the exact Wasserstein-1
distance between ``eval_samples`` generated and real points and, for the Gaussian mixtures, the
modes covered and the share of high-quality samples (:mod:`seqgan_gp.toy.metrics`).
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from rich.console import Console

from seqgan_gp.loop import LoopConfig
from seqgan_gp.losses import LOSS_DEFAULTS, make_loss, make_optimizer
from seqgan_gp.plots import save_group
from seqgan_gp.provenance import git_commit, versions
from seqgan_gp.rundir import RunDir
from seqgan_gp.step import Runtime, RuntimeOptions, resolve_runtime
from seqgan_gp.trainer import FaultPolicy, FitResult, Parts, disk_safe, fit, load_state, open_run, session
from seqgan_gp.toy.config import ToyConfig, toy_config
from seqgan_gp.toy.data import ToyBatches, mode_centers, mode_std, sample_points
from seqgan_gp.toy.metrics import mode_stats, wasserstein1
from seqgan_gp.toy.models import ToyCritic, ToyGenerator
from seqgan_gp.toy.plots import critic_surface, save_frame

KIND = "toy"
RESUME_OVERRIDABLE = ("iters", "log_every", "plot_every", "eval_every", "eval_samples",
                      "checkpoint_every", "keep_checkpoints")
FRAME_POINTS = 256  # generated and real points drawn in a frame (the script's 256 and batch)
EVAL_SEED = 12345  # fixed real points and noise of evaluations and frames: curves compare like with like


def build_parts(cfg: ToyConfig, device: torch.device) -> Parts:
    """Networks, optimizers (the loss's paper optimizer), batch source, loss and RNG from ``cfg.seed``."""
    torch.manual_seed(cfg.seed)
    G, D = ToyGenerator(cfg.dim).to(device), ToyCritic(cfg.dim).to(device)
    opt = LOSS_DEFAULTS[cfg.loss].optimizer
    return Parts(G=G, D=D, g_opt=make_optimizer(opt, G.parameters(), lr=cfg.lr, betas=cfg.betas),
                 d_opt=make_optimizer(opt, D.parameters(), lr=cfg.lr, betas=cfg.betas),
                 batches=ToyBatches(cfg.dataset, cfg.batch_size, cfg.seed, device),
                 loss=make_loss(cfg.loss, lambda_gp=cfg.lambda_gp, clip=cfg.clip), z_dim=G.z_dim,
                 rng=torch.Generator(device=device).manual_seed(cfg.seed + 1))


def loop_config(cfg: ToyConfig) -> LoopConfig:
    return LoopConfig(iters=cfg.iters, n_critic=cfg.critic_iters, batch_size=cfg.batch_size,
                      lr_decay=cfg.lr_decay, log_every=cfg.log_every, sample_every=cfg.plot_every, eval_every=cfg.eval_every,
                      checkpoint_every=cfg.checkpoint_every)


@contextlib.contextmanager
def cpu_threads(device: torch.device, n: int = 1):
    """Run toy work on ``n`` intra-op CPU threads, restoring the setting afterwards.

    The toy networks are far too small to gain from splitting a matrix product over cores; on a
    busy two-core machine OpenMP's barriers then cost more than the arithmetic (measured: 0.04 s
    per demo iteration on one thread, 0.5-0.7 s on two while other work ran).
    """
    if device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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


class ToyEvaluator:
    """Exact W1 and mode figures of ``eval_samples`` generated points against as many real ones."""

    def __init__(self, cfg: ToyConfig, G):
        self.cfg, self.G = cfg, G
        self.real = sample_points(cfg.dataset, cfg.eval_samples, np.random.default_rng(EVAL_SEED))

    def __call__(self, iteration: int) -> dict:
        return evaluate_points(self.cfg.dataset, generate(self.G, self.cfg.eval_samples, EVAL_SEED), self.real)


@dataclass
class ToyRun:
    run_dir: Path
    result: FitResult
    first: dict  # the first evaluation's figures (iteration 0 on a fresh run)
    last: dict  # the last evaluation's figures
    frames: list[Path]
    loss_plot: Path


def _open_run(overrides: dict, base: ToyConfig, out: Optional[Path], resume: Optional[Path], overwrite: bool):
    """The config, run directory and checkpoint to start from (None for a fresh run)."""
    return open_run(kind=KIND, base=base, overrides=overrides, out=out, resume=resume, overwrite=overwrite,
                    configure=toy_config, from_dict=ToyConfig.from_dict,
                    default_name=lambda cfg: f"toy-{cfg.dataset}", resumable=RESUME_OVERRIDABLE)


def train_toy(*, base: ToyConfig, overrides: dict, device: torch.device, console: Console,
              out: Optional[Path] = None, resume: Optional[Path] = None, overwrite: bool = False,
              command: Optional[list[str]] = None, show_progress: bool = True,
              tensorboard: bool = False, runtime: RuntimeOptions = RuntimeOptions(),
              faults: FaultPolicy = FaultPolicy()) -> ToyRun:
    """Train (or resume) a toy GAN; returns where it is, its first and last figures and its pictures.

    ``tensorboard`` also logs every metrics record to RUN_DIR/tensorboard/; ``runtime`` (--compile,
    --amp, ...) says how the steps execute and ``faults`` what a NaN does (seqgan_gp.trainer).
    """
    rt = resolve_runtime(runtime, device)  # before the run directory: a bad option leaves nothing behind
    with session(lambda: _open_run(overrides, base, out, resume, overwrite), tensorboard=tensorboard) as \
            (cfg, run, ckpt, loggers), cpu_threads(device):
        return _train(cfg, run, ckpt, device, console, command, show_progress, loggers, rt, faults)


def _train(cfg: ToyConfig, run: RunDir, ckpt, device, console, command, show_progress, loggers, rt: Runtime,
           faults: FaultPolicy) -> ToyRun:
    parts = build_parts(cfg, device)
    start = 0
    meta_doc = {"config": asdict(cfg)}
    if ckpt is not None:
        start = load_state(ckpt, parts, kind=KIND)["iteration"]
        console.print(f"resuming {run.path} from iteration {start} ({ckpt.name})")
    run.write_config({"kind": KIND, **meta_doc, "device": str(device), "runtime": rt.to_json(), "versions": versions(),
                      "git_commit": git_commit(), "command": command})

    evaluator = ToyEvaluator(cfg, parts.G)
    frame_real = sample_points(cfg.dataset, FRAME_POINTS, np.random.default_rng(EVAL_SEED + 1))
    frames: list[Path] = []

    def frame(iteration: int) -> None:
        axis, values = critic_surface(parts.D, device=device)
        fake = generate(parts.G, FRAME_POINTS, EVAL_SEED + 2)  # fixed z: watch one cloud move
        path = run.samples / f"frame_{iteration:08d}.png"
        save_frame(path, axis, values, frame_real, fake, f"{cfg.dataset}, {cfg.loss}, iteration {iteration}")
        frames.append(path)

    console.print(f"[bold]train-toy[/] {cfg.dataset}: {cfg.loss}, width {cfg.dim}, batch {cfg.batch_size}, "
                  f"{cfg.critic_iters} critic steps, lr {cfg.lr:g}, {cfg.iters} iterations, run {run.path}")
    console.print(f"runtime: {rt.describe()}")
    result = fit(run=run, parts=parts, loop_cfg=loop_config(cfg), kind=KIND, meta=meta_doc, console=console,
                 start=start, keep_checkpoints=cfg.keep_checkpoints, sample=frame if cfg.plot_every else None,
                 evaluate=evaluator, show_progress=show_progress, loggers=loggers, runtime=rt, faults=faults)
    if result.stopped_by is not None:  # interrupted: the command reports how to resume, nothing more to draw
        return ToyRun(run.path, result, {}, {}, frames, None)
    if not cfg.plot_every:
        disk_safe(run, frame)(result.iteration)
    records = run.metrics()
    evals = [r for r in records if "w1" in r]
    if not evals or evals[-1]["iteration"] != result.iteration:  # stopped between evaluations
        evals.append({"iteration": result.iteration, **evaluator(result.iteration)})
    loss_plot = run.path / "losses.png"
    save_group(records, "losses", loss_plot)
    return ToyRun(run.path, result, evals[0], evals[-1], frames, loss_plot)

