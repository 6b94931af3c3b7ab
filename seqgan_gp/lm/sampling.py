"""Autoregressive sampling from a causal language model (seqgan_gp.lm.models), batched over samples.

Every sample starts from the start token; each step feeds the previous tokens' state and draws the
next token with :func:`seqgan_gp.text.sampling.pick_tokens`, the knob the GAN generator's decoding
shares (temperature 0: greedy argmax; > 0: softmax(logits / T), optionally among the top k). Once a
row has drawn the pad (its end of sentence) every later position is a pad, as in the training rows.
"""

from __future__ import annotations

import numpy as np
import torch

from seqgan_gp.text.sampling import pick_tokens


@torch.no_grad()
def generate_lm_ids(model: torch.nn.Module, n: int, *, seq_len: int, pad_id: int, seed: int,
                    temperature: float = 1.0, top_k: int = 0, batch_size: int = 1024) -> np.ndarray:
    """(n, seq_len) token ids sampled from ``model``; ``seed`` seeds a generator of its own (the
    training RNG is untouched), so the same seed and temperature give the same rows."""
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    was_training = model.training
    model.eval()
    rows = []
    for start in range(0, n, batch_size):
        b = min(batch_size, n - start)
        tokens = torch.full((b,), model.start_id, dtype=torch.long, device=device)
        state = model.init_state(b, device)
        ended = torch.zeros(b, dtype=torch.bool, device=device)
        out = torch.empty(b, seq_len, dtype=torch.long, device=device)
        for t in range(seq_len):  # no early exit: checking "all ended" would read the device every step
            logits, state = model.step(tokens, state)  # (b, V)
            tokens = pick_tokens(logits, temperature=temperature, top_k=top_k, generator=gen)
            tokens = tokens.masked_fill(ended, pad_id)
            ended |= tokens == pad_id
            out[:, t] = tokens
        rows.append(out.cpu())
    model.train(was_training)
    return torch.cat(rows).numpy().astype(np.int32)
