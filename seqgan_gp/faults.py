"""What a run does when a loss or a weight stops being finite (``--on-nan``, ``--nan-lr-factor``).

The loop reads its statistics once per log interval; that read is where a non-finite mean loss is
caught, and the weights of every network are checked there and before every checkpoint, so no
checkpoint ever holds a NaN (:class:`NonFinite`). The policy then either ends the run with
:class:`seqgan_gp.errors.Diverged`, naming the last good checkpoint and the command that resumes
it with a rollback, or rolls back: reloads the newest checkpoint, multiplies every optimizer's
learning rate by ``lr_factor`` and goes on, at most ``max_rollbacks`` times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from rich.console import Console

from seqgan_gp.choices import ON_NAN
from seqgan_gp.errors import Diverged, UserError
from seqgan_gp.state import TrainState, load_state


@dataclass(frozen=True)
class FaultPolicy:
    """What ``fit`` does when a loss or a weight stops being finite (``--on-nan``)."""

    on_nan: str = "stop"  # stop: end the run naming the last good checkpoint; rollback: reload it and go on
    lr_factor: float = 0.5  # rollback multiplies every learning rate by this
    max_rollbacks: int = 5  # then stop: the run keeps diverging

    def __post_init__(self):
        if self.on_nan not in ON_NAN:
            raise UserError(f"--on-nan {self.on_nan}: choose one of {', '.join(ON_NAN)}")
        if not 0 < self.lr_factor < 1:
            raise UserError(f"--nan-lr-factor {self.lr_factor}: must be between 0 and 1 (exclusive), e.g. 0.5")


class NonFinite(Exception):
    """A loss statistic or a weight stopped being finite; raised at a log interval or before a checkpoint."""

    def __init__(self, iteration: int, what: str, value: float):
        super().__init__(f"iteration {iteration}: {what} is {value}")
        self.iteration, self.what, self.value = iteration, what, value


def nonfinite_weights(modules: dict[str, torch.nn.Module]) -> Optional[str]:
    """The name of the first module with a NaN or infinite parameter, else None (one host sync each)."""
    for name, module in modules.items():
        sums = [p.detach().float().sum() for p in module.parameters()]  # inf - inf and nan stay non-finite
        if sums and not bool(torch.isfinite(torch.stack(sums).sum())):
            return name
    return None


def check_weights(modules: dict[str, torch.nn.Module], iteration: int) -> None:
    """Raise :class:`NonFinite` if a weight of any network is NaN or infinite."""
    bad = nonfinite_weights(modules)
    if bad:
        raise NonFinite(iteration, f"a weight of {bad}", math.nan)


def rollback(bad: NonFinite, *, state: TrainState, kind: str, policy: FaultPolicy, done: list,
             newest: Optional[Path], resume_command: Optional[str], data_parallel: bool, console: Console) -> int:
    """Reload ``newest`` with lower learning rates, or raise Diverged; returns the iteration to go on from.

    ``done`` holds the earlier rollbacks' records and gets this one's; ``resume_command`` (None
    without a run directory) resumes the run from the shell."""
    where = f"; the last good checkpoint is {newest}" if newest else ""
    if policy.on_nan == "stop" or newest is None or data_parallel:
        hint = (f"resume with: {resume_command} --on-nan rollback; or start again with a lower --lr"
                if resume_command else "lower --lr")
        raise Diverged(f"{bad} (not finite){where}; {hint}") from None
    if len(done) >= policy.max_rollbacks:
        raise Diverged(f"{bad} (not finite) again after {len(done)} rollbacks{where}; "
                       f"start again with a lower --lr or a larger --lambda-gp") from None
    opts = list(state.optimizers.values())
    rates = [[(g["lr"], g["initial_lr"]) for g in opt.param_groups] for opt in opts]  # lowered by earlier rollbacks
    back = load_state(newest, state, kind=kind)["iteration"]
    for opt, kept in zip(opts, rates):
        for group, (lr, initial) in zip(opt.param_groups, kept):
            group["lr"], group["initial_lr"] = lr * policy.lr_factor, initial * policy.lr_factor
    done.append({"iteration": bad.iteration, "to": back, "what": bad.what, "lr": state.lr})
    console.print(f"[yellow]{bad} (not finite): rolled back to {newest.name} (iteration {back}) and "
                  f"multiplied the learning rates by {policy.lr_factor} (now {state.lr:.3g}); "
                  f"rollback {len(done)} of at most {policy.max_rollbacks}")
    return back
