"""Drawing token rows from a text model: the one temperature knob, and the GAN generator's rows.

:func:`pick_tokens` is how every text model turns logits into tokens: the GAN generator here (all
positions at once, from noise) and the maximum-likelihood language models (seqgan_gp.lm.sampling,
one position at a time). A quality–diversity frontier sweeps its ``temperature`` for both kinds.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import torch
from torch import Tensor

from seqgan_gp.errors import UserError

BATCH = 256  # samples generated at once


def pick_tokens(logits: Tensor, *, temperature: float, top_k: int = 0,
                generator: Optional[torch.Generator] = None) -> Tensor:
    """Token ids from ``logits`` (..., V): the ids have the shape of ``logits`` without its last axis.

    ``temperature == 0``: the argmax (greedy; the paper's decoding of the generator). ``temperature
    > 0``: a draw from softmax(logits / T), restricted to the ``top_k`` largest logits when
    ``top_k > 0`` (the others get probability 0). T < 1 sharpens the distribution towards the
    argmax (quality), T > 1 flattens it (diversity); as T → 0 the draw becomes the argmax.
    """
    if temperature < 0:
        raise ValueError(f"temperature {temperature} is negative")
    if temperature == 0:
        return logits.argmax(dim=-1)
    scaled = logits.float() / temperature
    if 0 < top_k < scaled.shape[-1]:
        kth = scaled.topk(top_k, dim=-1).values[..., -1:]  # (..., 1): the k-th largest logit
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    probs = torch.softmax(scaled, dim=-1)
    flat = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, generator=generator)
    return flat.view(probs.shape[:-1])


def check_decoding(n: int, temperature: Optional[float], top_k: int) -> None:
    """The decoding options of ``sample``, refused with one line each (None: the model's default
    temperature): softmax(logits / T) of an infinite or NaN T is not a distribution, and T < 0
    samples the least likely tokens."""
    if n < 1:
        raise UserError(f"-n {n}: ask for at least one sample")
    if temperature is not None and not (math.isfinite(temperature) and temperature >= 0):
        raise UserError(f"--temperature {temperature}: must be 0 (argmax, the paper's) or a finite positive number, "
                        f"e.g. --temperature 0.7")
    if top_k < 0:
        raise UserError(f"--top-k {top_k}: must be 0 (all tokens) or positive")


@torch.no_grad()
def generate_ids(G: torch.nn.Module, n: int, *, seed: int, temperature: float = 0.0, top_k: int = 0,
                 batch_size: int = BATCH, progress: Optional[Callable[[int], None]] = None,
                 labels: Optional[np.ndarray] = None) -> np.ndarray:
    """(n, L) token ids from the GAN generator ``G`` (a conditional generator: of the classes ``labels`` (n,)).

    ``temperature == 0`` takes the argmax of each position's softmax (the paper's decoding);
    ``temperature > 0`` samples each position independently from softmax(logits / T) (optionally
    among the ``top_k`` likeliest tokens; :func:`pick_tokens`). Sampling uses its own generator
    seeded with ``seed``, so it never disturbs a training run's RNG; the noise z is the same for
    every temperature, so a sweep changes only the decoding, and does not depend on ``labels``.
    ``progress(done)`` is called after every batch (the progress bar of a long sampling).
    """
    device = next(G.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)  # z
    draws = torch.Generator(device=device).manual_seed(seed + 1)  # the tokens: z stays the same at every T
    was_training = G.training
    G.eval()
    rows = []
    for start in range(0, n, batch_size):
        b = min(batch_size, n - start)
        z = torch.randn(b, G.z_dim, device=device, generator=gen)
        if labels is None:
            logits = G.logits(z)  # (b, L, V)
        else:
            y = torch.as_tensor(np.asarray(labels[start : start + b]), dtype=torch.long, device=device)
            logits = G.logits(z, y)
        ids = pick_tokens(logits, temperature=temperature, top_k=top_k, generator=draws)  # (b, L)
        rows.append(ids.cpu())
        if progress is not None:
            progress(start + b)
    G.train(was_training)
    return torch.cat(rows).numpy().astype(np.int32)
