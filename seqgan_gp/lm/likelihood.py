"""The maximum-likelihood objective: teacher-forced cross-entropy over a row up to its end.

A row is a sentence right-padded to L tokens; the first pad marks the end of the sentence (as an
end-of-sentence token does), and what follows it is padding by construction. The loss counts
every position up to and including the first pad (a row cut at L tokens has none: all L count):

    m_t = 1 if no pad occurs in x_<t else 0
    NLL = − Σ_{b,t} m_bt · log p(x_bt | x_b,<t) / Σ_{b,t} m_bt         (nats per token)

Why not the whole padded row, as the GAN's critic sees it: after the first pad every next token
is a pad with certainty, so counting those positions adds free, near-zero terms that shrink the
per-token NLL by the share of padding (more for corpora of short lines) and makes perplexities
incomparable across corpora and lengths; it also spends gradient on a rule the sampler enforces
anyway (seqgan_gp.lm.sampling writes pads after the first one). Predicting the end itself is
kept: a model must learn where sentences stop.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from seqgan_gp.lm.models import shift_right


def sentence_mask(ids: Tensor, pad_id: int) -> Tensor:
    """(B, L) bool: True at positions up to and including the first pad of each row."""
    pads = (ids == pad_id).long()
    before = pads.cumsum(dim=1) - pads  # pads strictly before each position
    return before == 0


def nll_sums(model: torch.nn.Module, ids: Tensor, pad_id: int) -> tuple[Tensor, Tensor]:
    """(Σ m·(−log p), Σ m) over a batch of rows (B, L): the summed NLL in nats and the tokens counted."""
    logits = model(shift_right(ids, model.start_id))  # (B, L, V)
    nll = F.cross_entropy(logits.flatten(0, 1).float(), ids.flatten(), reduction="none").view_as(ids)
    mask = sentence_mask(ids, pad_id)
    return (nll * mask).sum(), mask.sum()


def nll_per_token(model: torch.nn.Module, ids: Tensor, pad_id: int) -> Tensor:
    """The training loss: mean NLL per counted token of a batch (nats), a 0-dim tensor."""
    total, count = nll_sums(model, ids, pad_id)
    return total / count.clamp(min=1)


@torch.no_grad()
def heldout_nll(model: torch.nn.Module, rows: np.ndarray, pad_id: int, *, batch_size: int = 500) -> dict:
    """NLL per token (nats), bits per token and perplexity exp(NLL) of ``model`` on ``rows`` (N, L)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=device)
    count = torch.zeros((), dtype=torch.long, device=device)
    for start in range(0, len(rows), batch_size):
        ids = torch.from_numpy(np.asarray(rows[start : start + batch_size], dtype=np.int64)).to(device)
        s, c = nll_sums(model, ids, pad_id)
        total += s.double()
        count += c
    model.train(was_training)
    nll = float(total / count.clamp(min=1))
    return {"heldout_nll": nll, "heldout_bits": nll / math.log(2), "heldout_ppl": math.exp(min(nll, 700.0))}
