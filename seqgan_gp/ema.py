"""An exponential moving average of the generator's weights (``--ema-decay``), kept as the network ``G_ema``.

Averaging a GAN generator's weights over its last steps smooths the oscillation of the adversarial
game and usually gives better samples than the last weights (Yazıcı et al. 2019, "The unusual
effectiveness of averaging in GAN training"; StyleGAN and BigGAN sample from such an average).
After every generator step (seqgan_gp.loop.AdversarialIteration) the copy moves towards G:

    θ_ema ← β_t · θ_ema + (1 − β_t) · θ_t,      β_t = d · (1 − d^(t−1)) / (1 − d^t)

where t counts the updates and d is the decay. This β_t is Adam's bias correction written as a
recurrence: after t updates θ_ema = Σ_{i=1..t} (1 − d) d^(t−i) θ_i / (1 − d^t), the exponential
average of the trained weights alone. With a constant β = d the random initial weights would keep
the share d^t (13.5% after 2,000 steps at d = 0.999), which ruins short runs. Decay 0 gives
β_t = 0: G_ema equals G after every step.

The update is three ``torch._foreach`` calls on the device, with β_t computed there from the
update counter (a buffer of G_ema, so it travels in checkpoints as ``G_ema.ema_updates``): no host
synchronisation in the hot loop. Buffers are copied, not averaged: the image generators' batch
norm normalises with batch statistics when training and when sampling (as the paper's code) and
keeps no running statistics at all, so a generator's buffers are never statistics that an average
would improve, and an integer buffer such as ``num_batches_tracked`` has no average; the copy keeps
G_ema a complete snapshot of whatever G holds.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from seqgan_gp.checkpoint import module_from_flat

EMA_NAME = "G_ema"  # the averaged generator's name in a TrainState and in checkpoints
COUNTER = "ema_updates"  # its buffer counting the updates


class GeneratorEMA:
    """The average of ``G``'s weights: ``module`` (a copy of G with the counter buffer) and ``update()``."""

    def __init__(self, G: nn.Module, decay: float):
        if not 0 <= decay < 1:
            raise ValueError(f"EMA decay {decay} outside [0, 1)")
        self.decay = decay
        self.module = copy.deepcopy(G).requires_grad_(False)
        device = next(G.parameters()).device
        self.module.register_buffer(COUNTER, torch.zeros((), dtype=torch.long, device=device))
        self._params = list(G.parameters())
        self._ema_params = list(self.module.parameters())
        self._buffers = [b for _, b in G.named_buffers()]
        self._ema_buffers = [b for name, b in self.module.named_buffers() if name != COUNTER]

    @torch.no_grad()
    def update(self) -> None:
        """One step of the average towards G's current weights (after a generator step)."""
        count = getattr(self.module, COUNTER)
        count.add_(1)
        t = count.double()
        d = self.decay
        beta = d * (1 - d ** (t - 1)) / (1 - d ** t)  # a 0-dim tensor on the device: no host sync
        weight = (1 - beta).float()
        torch._foreach_lerp_(self._ema_params, self._params, [weight] * len(self._params))
        if self._buffers:
            torch._foreach_copy_(self._ema_buffers, self._buffers)


def sampling_generator(modules: dict[str, nn.Module]) -> nn.Module:
    """The generator a run's samples and evaluations use: G_ema when the run keeps one, else G."""
    return modules.get(EMA_NAME, modules["G"])


def label_evaluations(evaluate, modules: dict[str, nn.Module]):
    """``evaluate`` whose records also say ``"weights": "G_ema"`` when the run keeps an average (its
    evaluations then score G_ema, :func:`sampling_generator`)."""
    if EMA_NAME not in modules:
        return evaluate
    return lambda iteration: {**evaluate(iteration), "weights": EMA_NAME}


def has_ema(tensors: dict) -> bool:
    return any(k.startswith(EMA_NAME + ".") for k in tensors)


def load_generator_weights(G: nn.Module, tensors: dict, path: Path, *, ema: bool = True) -> str:
    """Load a checkpoint's generator into ``G``: the EMA weights when the checkpoint holds them and
    ``ema`` is true, else the raw ones. Returns the name loaded (``G_ema`` or ``G``)."""
    if not (ema and has_ema(tensors)):
        module_from_flat("G", G, tensors, path)
        return "G"
    module_from_flat(EMA_NAME, G, {k: v for k, v in tensors.items() if k != f"{EMA_NAME}.{COUNTER}"}, path)
    return EMA_NAME
