"""The optimizers of the paper's code, and each loss's optimizer and schedule in it (SPEC.md tables)."""

from __future__ import annotations

import torch

from seqgan_gp.choices import LOSS_DEFAULTS, LossDefaults  # noqa: F401 (the table lives without torch)


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
