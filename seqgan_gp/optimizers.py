"""The optimizers of the paper's code, and each loss's optimizer and schedule in it (SPEC.md tables).

The reference trains WGAN-GP with Adam and its baselines, weight clipping (gan_toy.py, gan_mnist.py,
gan_cifar.py, gan_64x64.py) and LSGAN (gan_64x64.py), with TensorFlow 1's ``RMSPropOptimizer``:
:class:`TFRMSprop` is that optimizer. PyTorch's ``torch.optim.RMSprop`` stays available
(``--rmsprop torch``); it is a different optimizer in its first hundreds of steps.
"""

from __future__ import annotations

import torch

from seqgan_gp.choices import LOSS_DEFAULTS, RMSPROP, LossDefaults  # noqa: F401 (the tables live without torch)

TF_RMSPROP_DECAY = 0.9  # tf.train.RMSPropOptimizer's default decay ρ, which the reference keeps
TF_RMSPROP_EPS = 1e-10  # and its default ε


class TFRMSprop(torch.optim.Optimizer):
    """RMSProp as TensorFlow 1's ``tf.train.RMSPropOptimizer`` with its defaults (no momentum, not
    centred), the optimizer of the reference's clipping and LSGAN baselines.

    Per parameter w with gradient g, decay ρ, ε and learning rate α (TF's ``ApplyRMSProp`` kernel,
    written in the kernel's order of operations)::

        ms ← ms + (g² − ms)·(1 − ρ)         ms starts at 1 (TF's slot is ``ones_initializer``)
        w  ← w − (α·g) / √(ms + ε)           ε inside the square root

    PyTorch's ``torch.optim.RMSprop`` starts ms at 0 and adds ε outside the root, so its first step
    is α·g/√((1 − ρ)·g²) ≈ 3.16·α·sign(g), where TF's is α·g/√(ρ + (1 − ρ)·g²) ≈ 1.05·α·g for small
    g. 1 − ρ is rounded in the parameters' precision as TF computes it (float32: 0.100000024).
    """

    def __init__(self, params, lr: float, decay: float = TF_RMSPROP_DECAY, eps: float = TF_RMSPROP_EPS):
        if not lr > 0:
            raise ValueError(f"learning rate {lr} must be positive")
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay {decay} must lie in [0, 1)")
        if not eps >= 0:
            raise ValueError(f"eps {eps} must be 0 or more")
        super().__init__(params, {"lr": lr, "decay": decay, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            by_dtype: dict[torch.dtype, tuple[list, list, list]] = {}
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("TFRMSprop does not support sparse gradients")
                state = self.state[p]
                if not state:
                    state["square_avg"] = torch.ones_like(p, memory_format=torch.preserve_format)
                params, grads, mss = by_dtype.setdefault(p.dtype, ([], [], []))
                params.append(p), grads.append(p.grad), mss.append(state["square_avg"])
            for dtype, (params, grads, mss) in by_dtype.items():
                one = torch.tensor(1.0, dtype=dtype)
                one_minus_rho = (one - torch.tensor(group["decay"], dtype=dtype)).item()
                delta = torch._foreach_mul(grads, grads)  # g²
                torch._foreach_sub_(delta, mss)  # g² − ms
                torch._foreach_mul_(delta, one_minus_rho)
                torch._foreach_add_(mss, delta)  # ms + (g² − ms)(1 − ρ)
                denom = torch._foreach_add(mss, group["eps"])
                torch._foreach_sqrt_(denom)  # √(ms + ε)
                update = torch._foreach_mul(grads, group["lr"])  # α·g
                torch._foreach_div_(update, denom)
                torch._foreach_sub_(params, update)
        return loss


def _fused_ok(params: list) -> bool:
    """Fused optimizer kernels exist for float parameters on CPU and CUDA (PyTorch ≥ 2.4)."""
    return bool(params) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)


def make_optimizer(name: str, params, *, lr: float, betas=(0.5, 0.9), rmsprop: str = "tf") -> torch.optim.Optimizer:
    """Adam, or RMSProp with TF1's defaults (decay 0.9, ε 1e-10), as the reference code uses them.

    ``rmsprop`` chooses the RMSProp: ``tf`` (:class:`TFRMSprop`, the reference's) or ``torch``
    (``torch.optim.RMSprop`` with alpha 0.9 and ε 1e-10, which runs before this option existed used).
    Adam uses the fused kernel where the device has one: one operation per step for all
    parameters (on CPU ``foreach`` still loops over the tensors: 600 operations per critic step
    of the paper's critic, against 170 fused, issue 7). RMSProp has no fused kernel: ``foreach``.
    """
    params = list(params)
    if name == "adam":
        fast = {"fused": True} if _fused_ok(params) else {"foreach": True}
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), **fast)
    if name == "rmsprop":
        if rmsprop == "tf":
            return TFRMSprop(params, lr=lr)
        if rmsprop == "torch":
            return torch.optim.RMSprop(params, lr=lr, alpha=TF_RMSPROP_DECAY, eps=TF_RMSPROP_EPS, foreach=True)
        raise ValueError(f"unknown RMSProp {rmsprop!r}; choose one of {', '.join(RMSPROP)}")
    raise ValueError(f"unknown optimizer {name!r}")
