"""The one adversarial training loop, shared by text, image and toy models.

Algorithm 1 of Gulrajani et al. (2017): every generator iteration first takes ``n_critic`` critic
steps, each on a fresh real batch and fresh fakes, then one generator step. Text, image and toy
runs differ only in what is passed in: the networks, the batch source, the loss and the periodic
callbacks. How a step executes (eager, ``--compile``, CUDA graphs, bf16, data-parallel ranks) is
the :class:`seqgan_gp.step.Runtime`'s business (:mod:`seqgan_gp.step`). The hot loop makes no host
synchronisation: statistics stay on the device and are read once per ``log_every`` iterations;
that read is also where non-finite losses and weights are caught (:class:`NonFinite`), and weights
are checked again before each checkpoint, so no checkpoint ever holds a NaN.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Optional

import torch

from seqgan_gp.step import Runtime, RuntimeOptions, make_step, resolve_runtime


@dataclass
class LoopConfig:
    iters: int  # generator iterations to reach (paper: 200,000 for text)
    n_critic: int  # critic steps per generator step (paper text: 10; images: 5)
    batch_size: int  # examples per critic step (paper: 64)
    gen_batch_size: Optional[int] = None  # examples per generator step (default: batch_size)
    lr_decay: bool = False  # linear decay of the learning rate to 0 at `iters` (paper's ResNet CIFAR)
    log_every: int = 10  # iterations between metrics records
    sample_every: int = 100  # iterations between sample dumps (0: never)
    eval_every: int = 100  # iterations between evaluations (0: never)
    checkpoint_every: int = 1000  # iterations between checkpoints (0: only at the end)


@dataclass
class Callbacks:
    """Periodic work; every callback is optional."""

    log: Callable[[dict], None] = lambda record: None  # metrics record (a dict of floats)
    sample: Optional[Callable[[int], None]] = None  # write samples at an iteration
    evaluate: Optional[Callable[[int], dict]] = None  # metrics of the generator at an iteration
    checkpoint: Optional[Callable[[int], None]] = None  # save everything at an iteration
    should_stop: Callable[[], bool] = lambda: False  # checked after every generator iteration
    on_iteration: Callable[[int], None] = lambda it: None  # progress display


def _due(iteration: int, every: int, last: int) -> bool:
    return iteration == last or (every > 0 and iteration % every == 0)


class NonFinite(Exception):
    """A loss statistic or a weight stopped being finite; raised at a log interval or before a checkpoint."""

    def __init__(self, iteration: int, what: str, value: float):
        super().__init__(f"iteration {iteration}: {what} is {value}")
        self.iteration, self.what, self.value = iteration, what, value


def nonfinite_weights(*modules: torch.nn.Module) -> Optional[str]:
    """The name of the first module with a NaN or infinite parameter, else None (one host sync)."""
    for name, module in zip("GD", modules):
        sums = [p.detach().float().sum() for p in module.parameters()]  # inf - inf and nan stay non-finite
        if sums and not bool(torch.isfinite(torch.stack(sums).sum())):
            return name
    return None


def _split(batch):
    """``(real, labels)`` from a batch source's item: a tensor, or a tuple for conditional models."""
    return batch if isinstance(batch, tuple) else (batch, None)


def train(*, G: torch.nn.Module, D: torch.nn.Module, g_opt: torch.optim.Optimizer,
          d_opt: torch.optim.Optimizer, batches, loss, z_dim: int, rng: torch.Generator,
          cfg: LoopConfig, start: int = 0, callbacks: Callbacks = Callbacks(),
          runtime: Optional[Runtime] = None) -> int:
    """Train from iteration ``start`` to ``cfg.iters``; returns the last completed iteration.

    ``batches.next()`` returns a real batch on the device, or ``(batch, labels)`` for conditional
    models, in which case ``G(z, labels)`` is called and the loss receives ``labels=``;
    ``batches.sample_labels(n, rng)`` draws labels for the generator step.
    ``loss`` has ``critic_loss(D, real, fake, rng=...)``, ``generator_loss(D, fake)`` and
    ``after_critic_step(D)`` (see :mod:`seqgan_gp.losses`). ``rng`` drives z and ε.
    ``runtime`` (default: eager float32, one process) says how the steps execute.
    """
    runtime = runtime or resolve_runtime(RuntimeOptions(), next(G.parameters()).device)
    step = make_step(G=G, D=D, g_opt=g_opt, d_opt=d_opt, loss=loss, z_dim=z_dim, rng=rng, runtime=runtime,
                     sample_labels=getattr(batches, "sample_labels", None))
    dist = runtime.dist
    gen_batch = cfg.gen_batch_size or cfg.batch_size
    for opt in (g_opt, d_opt):  # the decay's base: kept in the optimizer state, so a resumed run decays alike
        for group in opt.param_groups:
            group.setdefault("initial_lr", group["lr"])
    sums: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}

    def accumulate(stats: dict) -> None:
        for k, v in stats.items():
            sums[k] = sums[k] + v if k in sums else v.clone()
            counts[k] = counts.get(k, 0) + 1

    def periodic(iteration: int, elapsed: float, done_iters: int) -> None:
        record: dict = {"iteration": iteration}
        if sums:
            keys = list(sums)
            means = dist.mean(torch.stack([sums[k].float() / counts[k] for k in keys]))  # over ranks too
            record.update(zip(keys, means.tolist()))  # the one host sync
            sums.clear(), counts.clear()
            for k in keys:  # a NaN or inf in any step of the interval shows in its mean
                if not math.isfinite(record[k]):
                    raise NonFinite(iteration, f"the mean {k}", record[k])
            check_weights(iteration)
        if done_iters:
            record["sec_per_iter"] = elapsed / done_iters
            record["it_per_s"] = done_iters / elapsed if elapsed > 0 else math.inf
            record["lr"] = g_opt.param_groups[0]["lr"]
        if callbacks.evaluate and _due(iteration, cfg.eval_every, cfg.iters):
            record.update(callbacks.evaluate(iteration))
        if callbacks.sample and _due(iteration, cfg.sample_every, cfg.iters):
            callbacks.sample(iteration)
        callbacks.log(record)

    def check_weights(iteration: int) -> None:
        bad = nonfinite_weights(G, D)
        if bad:
            raise NonFinite(iteration, f"a weight of {bad}", math.nan)

    if start == 0:
        periodic(0, 0.0, 0)  # the untrained generator's figures, for "start vs end"

    t_last, it_last = time.perf_counter(), start
    iteration = start
    while iteration < cfg.iters:
        iteration += 1
        if cfg.lr_decay:
            frac = max(0.0, 1.0 - (iteration - 1) / cfg.iters)
            for opt in (g_opt, d_opt):
                for group in opt.param_groups:
                    group["lr"] = group["initial_lr"] * frac

        # (1) update the critic n_critic times, each on a fresh real batch and fresh fakes
        for _ in range(cfg.n_critic):
            real, labels = _split(batches.next())
            accumulate(step.critic(real, labels))

        # (2) update the generator once; the critic's weights are frozen for this step
        accumulate(step.generator(gen_batch, conditional=labels is not None))

        # (3) periodic work: log, sample, evaluate, checkpoint
        callbacks.on_iteration(iteration)
        stop = dist.any(callbacks.should_stop())  # every rank stops at the same iteration
        if _due(iteration, cfg.log_every, cfg.iters) or stop:
            now = time.perf_counter()
            periodic(iteration, now - t_last, iteration - it_last)
            t_last, it_last = time.perf_counter(), iteration
        if callbacks.checkpoint and (_due(iteration, cfg.checkpoint_every, cfg.iters) or stop):
            check_weights(iteration)  # only finite weights reach a checkpoint: the newest one is always good
            callbacks.checkpoint(iteration)
        if stop:
            break
    return iteration
