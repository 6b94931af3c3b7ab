"""Drawing token rows from a text generator: argmax as the paper, or sampling on request."""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch


@torch.no_grad()
def generate_ids(G: torch.nn.Module, n: int, *, seed: int, temperature: float = 0.0,
                 batch_size: int = 256, labels: Optional[np.ndarray] = None) -> np.ndarray:
    """(n, L) token ids from ``G`` (a conditional generator: of the classes ``labels`` (n,)).

    ``temperature == 0`` takes the argmax of each position's softmax (the paper's decoding);
    ``temperature > 0`` samples each position independently from softmax(logits / T). Sampling
    uses its own generator seeded with ``seed``, so it never disturbs a training run's RNG; the
    noise does not depend on ``labels``.
    """
    device = next(G.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
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
        if temperature and temperature > 0:
            probs = torch.softmax(logits / temperature, dim=-1)
            ids = torch.multinomial(probs.flatten(0, 1), 1, generator=gen).view(b, -1)
        else:
            ids = logits.argmax(dim=-1)
        rows.append(ids.cpu())
    G.train(was_training)
    return torch.cat(rows).numpy().astype(np.int32)
