"""The state of a training run, and its checkpoint: what a resumed run needs to continue exactly.

A :class:`TrainState` is named networks and the optimizers of some of them, the batch source and
the random generator that draws the noise of the steps (z, the penalty's ε). A checkpoint stores
every network under its name (``G.*``, ``D.*``; an MLE language model ``LM.*``, an EMA copy
``G_ema.*``), every optimizer under ``opt_`` and the name of the network it updates (``opt_G.*``),
the generator as ``rng.train``, and in its metadata the optimizers' parameter groups and the batch
source's position. Nothing here knows which networks a kind of training has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from seqgan_gp.checkpoint import (
    load_checkpoint,
    module_from_flat,
    module_to_flat,
    optimizer_from_flat,
    optimizer_to_flat,
    rng_state_tensor,
    save_checkpoint,
    set_rng_state,
)
from seqgan_gp.errors import UserError


class BatchSource(Protocol):
    """Real batches on the device, one ``next()`` per step, with a position a checkpoint can hold."""

    def next(self): ...  # a batch, or (batch, labels) for conditional models

    def state_dict(self) -> dict: ...  # JSON-serialisable position

    def load_state_dict(self, state: dict) -> None: ...


@dataclass
class TrainState:
    """Everything a checkpoint restores."""

    modules: dict[str, torch.nn.Module]  # networks by name: {"G": ..., "D": ...}
    optimizers: dict[str, torch.optim.Optimizer]  # by the name of the network each updates
    batches: BatchSource
    rng: torch.Generator  # drives the steps' noise (z, ε)

    @property
    def lr(self) -> float:
        """The learning rate the metrics log reports: the first optimizer's."""
        return next(iter(self.optimizers.values())).param_groups[0]["lr"]


def state_tensors(state: TrainState) -> tuple[dict[str, torch.Tensor], dict]:
    """The tensors of a checkpoint and the optimizers' JSON parts."""
    tensors: dict[str, torch.Tensor] = {}
    for name, module in state.modules.items():
        tensors.update(module_to_flat(name, module))
    optim = {}
    for name, opt in state.optimizers.items():
        opt_tensors, optim[name] = optimizer_to_flat(f"opt_{name}", opt)
        tensors.update(opt_tensors)
    tensors["rng.train"] = rng_state_tensor(state.rng)
    return tensors, optim


def save_state(path: Path, state: TrainState, *, iteration: int, kind: str, meta: dict) -> None:
    """Write a checkpoint of ``state`` at ``iteration`` atomically; ``meta`` (configuration, tokenizer,
    ...) goes in too, so that a checkpoint file alone is enough to sample from."""
    tensors, optim = state_tensors(state)
    doc = {"kind": kind, "iteration": iteration, **meta, "optim": optim, "batches": state.batches.state_dict()}
    save_checkpoint(path, tensors, doc)


def load_state(path: Path, state: TrainState, *, kind: str) -> dict:
    """Restore ``state`` in place from a checkpoint; returns the checkpoint's metadata.

    The metadata of the optimizers is checked (seqgan_gp.checkpoint checks the rest) before any
    network or optimizer is changed."""
    tensors, meta = load_checkpoint(path, kind=kind)
    try:
        check_optimizer_meta(meta.get("optim"), state.optimizers)
        if not isinstance(meta.get("batches"), dict):
            raise ValueError(f"the batch position is {type(meta.get('batches')).__name__}, not a JSON object")
    except ValueError as exc:
        raise UserError(f"{path}: checkpoint is missing or has damaged training state ({exc}); "
                        f"resume from an earlier checkpoint") from None
    for name, module in state.modules.items():
        module_from_flat(name, module, tensors, path)
    try:
        for name, opt in state.optimizers.items():
            optimizer_from_flat(f"opt_{name}", opt, tensors, meta["optim"][name])
        set_rng_state(state.rng, tensors["rng.train"])
        state.batches.load_state_dict(meta["batches"])
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise UserError(f"{path}: checkpoint is missing or has damaged training state ({exc}); "
                        f"resume from an earlier checkpoint") from None
    return meta


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_optimizer_meta(optim, optimizers: dict[str, torch.optim.Optimizer]) -> None:
    """ValueError unless ``optim`` (a checkpoint's "optim") has, for every optimizer, parameter groups
    over exactly its parameters with finite, in-range settings, and finite scalar state."""
    if not isinstance(optim, dict) or sorted(optim) != sorted(optimizers):
        found = sorted(optim) if isinstance(optim, dict) else type(optim).__name__
        raise ValueError(f"optimizers {found}, expected {sorted(optimizers)}")
    for name, opt in optimizers.items():
        doc = optim[name]
        groups = doc.get("param_groups") if isinstance(doc, dict) else None
        scalars = doc.get("scalars", {}) if isinstance(doc, dict) else None
        if not isinstance(groups, list) or len(groups) != len(opt.param_groups) or not isinstance(scalars, dict):
            raise ValueError(f"opt_{name}: parameter groups do not fit the optimizer's {len(opt.param_groups)}")
        first = 0
        for g, (doc_group, group) in enumerate(zip(groups, opt.param_groups)):
            count = len(group["params"])
            if not isinstance(doc_group, dict) or doc_group.get("params") != list(range(first, first + count)):
                raise ValueError(f"opt_{name}: parameter group {g} does not list parameters {first}..{first + count - 1}")
            first += count
            for key, value in doc_group.items():
                _check_setting(f"opt_{name} group {g} {key}", key, value)
        for key, value in scalars.items():
            idx, _, entry = str(key).partition(".")
            if not idx.isdigit() or not entry or not _number(value) or not math.isfinite(value):
                raise ValueError(f"opt_{name} state {key!r} is {value!r}")


def _check_setting(where: str, key: str, value) -> None:
    if key == "params" or value is None or isinstance(value, (bool, str)):
        return
    if key == "betas":
        if not (isinstance(value, list) and len(value) == 2 and all(_number(b) and 0 <= b < 1 for b in value)):
            raise ValueError(f"{where} is {value!r}, not two numbers in [0, 1)")
        return
    if not _number(value) or not math.isfinite(value):
        raise ValueError(f"{where} is {value!r}, not a finite number")
    if value < 0 and key in ("lr", "initial_lr", "eps", "weight_decay", "alpha", "momentum"):
        raise ValueError(f"{where} is {value!r}, below 0")
