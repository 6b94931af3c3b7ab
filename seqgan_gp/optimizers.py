"""The optimizers of the paper's code, and each loss's optimizer and schedule in it (SPEC.md tables)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LossDefaults:
    """A loss mode's optimizer and schedule in the paper's code."""

    optimizer: str  # "adam" or "rmsprop"
    lr: float | None  # None: the model's own paper default (WGAN-GP)
    betas: tuple[float, float] | None
    n_critic: int | None  # None: the model's own paper default


LOSS_DEFAULTS = {
    "wgan-gp": LossDefaults("adam", None, None, None),
    "wgan-gp-one-sided": LossDefaults("adam", None, None, None),
    "wgan": LossDefaults("rmsprop", 5e-5, None, 5),
    "dcgan": LossDefaults("adam", 2e-4, (0.5, 0.999), 1),
    "lsgan": LossDefaults("rmsprop", 1e-4, None, 1),
}


def _fused_ok(params: list) -> bool:
    """Fused optimizer kernels exist for float parameters on CPU and CUDA (PyTorch ≥ 2.4)."""
    return bool(params) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)


def make_optimizer(name: str, params, *, lr: float, betas=(0.5, 0.9)) -> torch.optim.Optimizer:
    """Adam or RMSProp as the reference code uses them (TF RMSProp: decay 0.9, ε 1e-10).

    Adam uses the fused kernel where the device has one: one operation per step for all
    parameters (on CPU ``foreach`` still loops over the tensors: 600 operations per critic step
    of the paper's critic, against 170 fused, issue 7). RMSProp has no fused kernel: ``foreach``.
    """
    params = list(params)
    if name == "adam":
        fast = {"fused": True} if _fused_ok(params) else {"foreach": True}
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), **fast)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-10, foreach=True)
    raise ValueError(f"unknown optimizer {name!r}")
