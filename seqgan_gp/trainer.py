"""Wiring a training run around the loop: run directory, checkpoints, resume, progress, signals.

Text, image and toy commands build their networks, optimizers, batch source and loss, then call
:func:`fit`. Everything that makes a run a reproducible artefact lives here once: the checkpoint
layout (weights, optimizer state, RNG state, batch position), exact resume, the metrics log, the
progress bar, and a clean stop on SIGINT/SIGTERM.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch
from rich.console import Console

from seqgan_gp.checkpoint import (load_checkpoint, module_from_flat, module_to_flat, optimizer_from_flat,
                                  optimizer_to_flat, rng_state_tensor, save_checkpoint, set_rng_state)
from seqgan_gp.errors import UserError
from seqgan_gp.loop import Callbacks, LoopConfig, train
from seqgan_gp.progress import TrainingProgress
from seqgan_gp.rundir import RunDir
from seqgan_gp.step import Runtime


@dataclass
class Parts:
    """What the loop trains: networks, their optimizers, the batch source and the objective."""

    G: torch.nn.Module
    D: torch.nn.Module
    g_opt: torch.optim.Optimizer
    d_opt: torch.optim.Optimizer
    batches: object  # next(), state_dict(), load_state_dict()
    loss: object  # critic_loss, generator_loss, after_critic_step
    z_dim: int
    rng: torch.Generator  # drives z and the penalty's ε


def state_tensors(parts: Parts) -> dict[str, torch.Tensor]:
    """Everything a checkpoint holds as tensors, plus the optimizers' JSON parts."""
    tensors = {**module_to_flat("G", parts.G), **module_to_flat("D", parts.D)}
    tensors["rng.train"] = rng_state_tensor(parts.rng)
    return tensors


def save_state(path: Path, parts: Parts, *, iteration: int, kind: str, meta: dict) -> None:
    """Write a checkpoint of ``parts`` at ``iteration`` atomically."""
    tensors = state_tensors(parts)
    g_t, g_meta = optimizer_to_flat("opt_G", parts.g_opt)
    d_t, d_meta = optimizer_to_flat("opt_D", parts.d_opt)
    tensors.update(g_t), tensors.update(d_t)
    doc = {"kind": kind, "iteration": iteration, **meta,
           "optim": {"G": g_meta, "D": d_meta}, "batches": parts.batches.state_dict()}
    save_checkpoint(path, tensors, doc)


def load_state(path: Path, parts: Parts, *, kind: str) -> dict:
    """Restore ``parts`` in place from a checkpoint; returns the checkpoint's metadata."""
    tensors, meta = load_checkpoint(path, kind=kind)
    module_from_flat("G", parts.G, tensors, path)
    module_from_flat("D", parts.D, tensors, path)
    try:
        optimizer_from_flat("opt_G", parts.g_opt, tensors, meta["optim"]["G"])
        optimizer_from_flat("opt_D", parts.d_opt, tensors, meta["optim"]["D"])
        set_rng_state(parts.rng, tensors["rng.train"])
        parts.batches.load_state_dict(meta["batches"])
    except (KeyError, ValueError, RuntimeError) as exc:
        raise UserError(f"{path}: checkpoint is missing or has damaged training state ({exc}); "
                        f"resume from an earlier checkpoint") from None
    return meta


class StopFlag:
    """Set by SIGINT/SIGTERM: the loop finishes its generator iteration, checkpoints and stops.

    A second signal raises KeyboardInterrupt at once; checkpoint writes are atomic, so nothing
    already on disk is damaged.
    """

    def __init__(self):
        self.signum: Optional[int] = None
        self._old = {}

    def __call__(self) -> bool:
        return self.signum is not None

    def _handle(self, signum, frame):
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


@dataclass
class FitResult:
    iteration: int  # last completed iteration
    stopped_by: Optional[int]  # signal number when interrupted, else None
    last_checkpoint: Optional[Path]
    metrics: list = field(default_factory=list)


def fit(*, run: RunDir, parts: Parts, loop_cfg: LoopConfig, kind: str, meta: dict,
        console: Console, start: int = 0, keep_checkpoints: int = 3,
        sample: Optional[Callable[[int], None]] = None,
        evaluate: Optional[Callable[[int], dict]] = None,
        show_progress: bool = True, loggers: Sequence[Callable[[dict], None]] = (),
        runtime: Optional[Runtime] = None) -> FitResult:
    """Train ``parts`` in ``run`` from ``start`` to ``loop_cfg.iters`` with checkpoints and logs.

    ``meta`` (configuration, tokenizer, ...) goes into every checkpoint so that a checkpoint file
    alone is enough to sample from. ``loggers`` receive every metrics record after metrics.jsonl
    (e.g. :class:`seqgan_gp.tensorboard_log.TensorBoardLogger`). ``runtime`` says how the steps
    execute (:mod:`seqgan_gp.step`); in a data-parallel run only rank 0 writes (``run`` may be
    None on the other ranks) and only rank 0 samples and evaluates.
    """
    if runtime is not None and not runtime.dist.is_main:
        run, sample, evaluate, loggers, show_progress = None, None, None, (), False
    result = FitResult(iteration=start, stopped_by=None, last_checkpoint=None)
    progress = TrainingProgress(console, total=loop_cfg.iters, start=start, description=kind) if show_progress else None

    def log(record: dict) -> None:
        result.metrics.append(record)
        if run is None:
            return
        run.append_metrics(record)
        for extra in loggers:
            extra(record)
        if progress:
            progress.update(record)

    def checkpoint(iteration: int) -> None:
        if run is None:
            return
        path = run.checkpoint_path(iteration)
        try:
            save_state(path, parts, iteration=iteration, kind=kind, meta=meta)
        except OSError as exc:
            raise UserError(f"{path}: could not write the checkpoint ({exc.strerror}); free disk space or "
                            f"fix permissions, then --resume {run.path}") from None
        result.last_checkpoint = path
        run.prune_checkpoints(keep_checkpoints)

    with StopFlag() as stop:
        callbacks = Callbacks(log=log, sample=sample, evaluate=evaluate, checkpoint=checkpoint,
                              should_stop=stop,
                              on_iteration=progress.advance if progress else (lambda it: None))
        if progress:
            progress.__enter__()
        try:
            result.iteration = train(G=parts.G, D=parts.D, g_opt=parts.g_opt, d_opt=parts.d_opt,
                                     batches=parts.batches, loss=parts.loss, z_dim=parts.z_dim,
                                     rng=parts.rng, cfg=loop_cfg, start=start, callbacks=callbacks,
                                     runtime=runtime)
        finally:
            if progress:
                progress.__exit__(None, None, None)
        result.stopped_by = stop.signum
    return result
