"""The training loop: one adversarial iteration, repeated, with the periodic work around it.

Algorithm 1 of Gulrajani et al. (2017): every generator iteration first takes ``n_critic`` critic
steps, each on a fresh real batch and fresh fakes, then one generator step
(:class:`AdversarialIteration`). Text, image and toy runs differ only in what they pass in: the
networks, the batch source, the objective and the periodic callbacks. :func:`train_loop` runs any
iteration of that kind (a later maximum-likelihood task supplies a teacher-forced step instead) and
owns what every kind shares: the learning-rate decay, the metrics record every ``log_every``
iterations, samples, evaluations and checkpoints at their intervals, the non-finite checks and the
stop flag.

How a step executes (eager, ``--compile``, CUDA graphs, bf16, data-parallel ranks) is the step's
business (:mod:`seqgan_gp.steps`). The hot loop makes no host synchronisation: statistics stay on
the device and are read once per ``log_every`` iterations; that read is also where non-finite
losses and weights are caught (:class:`seqgan_gp.faults.NonFinite`), and weights are checked again
before each checkpoint, so no checkpoint ever holds a NaN.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Optional, Protocol

import torch

from seqgan_gp.config import TrainConfig
from seqgan_gp.distributed import SINGLE, DistContext
from seqgan_gp.faults import NonFinite, check_weights
from seqgan_gp.state import BatchSource, TrainState
from seqgan_gp.steps import AdversarialStep


class Iteration(Protocol):
    """One iteration of training: its steps, returning each step's statistics (tensors on the device)."""

    def __call__(self) -> list[dict[str, torch.Tensor]]: ...


def _nothing() -> None:
    pass


def _split(batch):
    """``(real, labels)`` from a batch source's item: a tensor, or a tuple for conditional models."""
    return batch if isinstance(batch, tuple) else (batch, None)


@dataclass
class AdversarialIteration:
    """One generator iteration of Algorithm 1."""

    step: AdversarialStep
    batches: BatchSource
    n_critic: int  # critic steps per generator step (paper: 5; language model 10)
    gen_batch: int  # examples per generator step
    after_generator: Callable[[], None] = _nothing  # runs after each generator step (the EMA of G, seqgan_gp.ema)

    def __call__(self) -> list[dict[str, torch.Tensor]]:
        stats = []
        # (1) update the critic n_critic times, each on a fresh real batch and fresh fakes
        for _ in range(self.n_critic):
            real, labels = _split(self.batches.next())
            stats.append(self.step.critic(real, labels))
        # (2) update the generator once; the critic's weights are frozen for this step
        stats.append(self.step.generator(self.gen_batch, conditional=labels is not None))
        self.after_generator()
        return stats


@dataclass
class Callbacks:
    """Periodic work; every callback is optional."""

    log: Callable[[dict], None] = lambda record: None  # metrics record (a dict of floats)
    sample: Optional[Callable[[int], None]] = None  # write samples at an iteration
    evaluate: Optional[Callable[[int], dict]] = None  # metrics of the model at an iteration
    checkpoint: Optional[Callable[[int], None]] = None  # save everything at an iteration
    should_stop: Callable[[], bool] = lambda: False  # checked after every iteration
    on_iteration: Callable[[int], None] = lambda it: None  # progress display


def due(iteration: int, every: int, last: int) -> bool:
    """Every ``every`` iterations and at the last one; ``every`` 0: only at the last one."""
    return iteration == last or (every > 0 and iteration % every == 0)


def train_loop(*, state: TrainState, iteration: Iteration, schedule: TrainConfig, start: int = 0,
               callbacks: Callbacks = Callbacks(), dist: DistContext = SINGLE) -> int:
    """Train from iteration ``start`` to ``schedule.iters``; returns the last completed iteration.

    ``iteration()`` runs one iteration's steps on ``state``'s networks; the loop decays every
    optimizer's learning rate with ``schedule.lr_decay``, records the mean statistics every
    ``schedule.log_every`` iterations (averaged over data-parallel ranks) and calls the periodic
    callbacks at their intervals; a fresh run (``start`` 0) records iteration 0 first.

    With ``schedule.time_budget`` > 0 the loop adds up the time its steps take on
    ``schedule.budget_clock`` (the process's CPU time, or wall time; periodic work excluded) and
    the iteration that reaches the budget becomes the last: it is logged, evaluated, sampled and
    checkpointed like the last of ``iters``. The last record of a session with a budget holds
    ``budget_s``, the seconds its steps took on that clock, whichever ended it (a budget larger than
    the run measures the run's training cost without cutting it). The clocks are
    read without synchronising a device (queued GPU work lands in later steps' time), and the
    learning-rate decay still runs towards ``iters``. Each session (a resume) has its own budget.
    """
    optimizers = list(state.optimizers.values())
    for opt in optimizers:  # the decay's base: kept in the optimizer state, so a resumed run decays alike
        for group in opt.param_groups:
            group.setdefault("initial_lr", group["lr"])
    last = schedule.iters  # or the iteration that spends the time budget
    clock = time.process_time if schedule.budget_clock == "cpu" else time.perf_counter
    spent = 0.0  # the budget's clock in the steps of this session
    sums: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}

    def accumulate(stats: dict) -> None:
        for k, v in stats.items():
            sums[k] = sums[k] + v if k in sums else v.clone()
            counts[k] = counts.get(k, 0) + 1

    def periodic(it: int, elapsed: float, done_iters: int) -> None:
        record: dict = {"iteration": it}
        if sums:
            keys = list(sums)
            means = dist.mean(torch.stack([sums[k].float() / counts[k] for k in keys]))  # over ranks too
            record.update(zip(keys, means.tolist()))  # the one host sync
            sums.clear(), counts.clear()
            for k in keys:  # a NaN or inf in any step of the interval shows in its mean
                if not math.isfinite(record[k]):
                    raise NonFinite(it, f"the mean {k}", record[k])
            check_weights(state.modules, it)
        if done_iters:
            record["sec_per_iter"] = elapsed / done_iters
            record["it_per_s"] = done_iters / elapsed if elapsed > 0 else math.inf
            record["lr"] = state.lr
        if schedule.time_budget and it == last:
            record["budget_s"] = spent  # the session's last record: the budget's clock in its steps
        if callbacks.evaluate and due(it, schedule.eval_every, last):
            record.update(callbacks.evaluate(it))
        if callbacks.sample and due(it, schedule.sample_every, last):
            callbacks.sample(it)
        callbacks.log(record)

    if start == 0:
        periodic(0, 0.0, 0)  # the untrained model's figures, for "start vs end"

    t_last, it_last = time.perf_counter(), start
    it = start
    while it < last:
        it += 1
        if schedule.lr_decay:
            frac = max(0.0, 1.0 - (it - 1) / last)
            for opt in optimizers:
                for group in opt.param_groups:
                    group["lr"] = group["initial_lr"] * frac

        # (1) + (2): the iteration's steps (adversarial: n_critic critic steps, then a generator step)
        t_step = clock()
        for stats in iteration():
            accumulate(stats)
        spent += clock() - t_step
        if schedule.time_budget and dist.any(spent >= schedule.time_budget):  # every rank stops alike
            last = it

        # (3) periodic work: log, evaluate, sample, checkpoint
        callbacks.on_iteration(it)
        stop = dist.any(callbacks.should_stop())  # every rank stops at the same iteration
        if due(it, schedule.log_every, last) or stop:
            now = time.perf_counter()
            periodic(it, now - t_last, it - it_last)
            t_last, it_last = time.perf_counter(), it
        if callbacks.checkpoint and (due(it, schedule.checkpoint_every, last) or stop):
            check_weights(state.modules, it)  # only finite weights reach a checkpoint: the newest one is always good
            callbacks.checkpoint(it)
        if stop:
            break
    return it
