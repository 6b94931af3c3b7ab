"""Batch sources: uniform sampling without replacement per epoch, deterministic and resumable.

An epoch is a permutation of the example indices drawn from ``numpy.random.default_rng((seed,
epoch))``; a batch is the next ``batch_size`` indices (the remainder of an epoch is dropped, as in
the paper's iterator). The position is two integers, so a checkpoint stores it as JSON and a
resumed run draws exactly the batches the uninterrupted run would have drawn.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from seqgan_gp.configfile import MAX_SEED


def whole(state, key: str, most: int) -> int:
    """``state[key]``, a whole number in [0, most]; ValueError naming it otherwise (a checkpoint's
    batch position is input: a string, a list or a negative number must not reach the sampler)."""
    value = state.get(key) if isinstance(state, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= most:
        raise ValueError(f"batch position {key!r} is {value!r}, not a whole number from 0 to {most}")
    return value


class EpochSampler:
    """Index batches over ``n`` examples, reshuffled every epoch."""

    def __init__(self, n: int, batch_size: int, seed: int, *, rank: int = 0, world: int = 1):
        if n < batch_size * world:
            raise ValueError(f"{n} examples cannot fill one batch of {batch_size} x {world} ranks")
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.rank, self.world = rank, world
        self.epoch, self.pos = 0, 0
        self._perm = None

    def _permutation(self) -> np.ndarray:
        if self._perm is None:
            self._perm = np.random.default_rng((self.seed, self.epoch)).permutation(self.n)
        return self._perm

    def next_indices(self) -> np.ndarray:
        """This rank's slice of the next global batch of ``batch_size × world`` indices.

        The global batch is sorted before it is sliced (sorted reads are kinder to memory-mapped
        arrays), so with N ranks every rank holds exactly the rows a single process with an
        N-times larger batch would hold at the same positions (seqgan_gp.distributed).
        """
        step = self.batch_size * self.world
        if self.pos + step > self.n:
            self.epoch, self.pos, self._perm = self.epoch + 1, 0, None
        batch = np.sort(self._permutation()[self.pos : self.pos + step])
        self.pos += step
        return batch[self.rank * self.batch_size : (self.rank + 1) * self.batch_size]

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        """Go to a position from a checkpoint; ValueError unless it is one this sampler can reach."""
        epoch, pos, seed = (whole(state, key, most) for key, most in (("epoch", MAX_SEED), ("pos", self.n),
                                                                       ("seed", MAX_SEED)))
        if seed != self.seed:
            raise ValueError(f"batch position seed {seed} differs from the run's {self.seed}")
        self.epoch, self.pos = epoch, pos
        self._perm = None


class TokenIdBatches:
    """Batches of token ids (B, L) as int64 on the device from an (N, L) array of ids: what a
    maximum-likelihood model reads (teacher forcing needs the ids, not their one-hot rows)."""

    def __init__(self, ids: np.ndarray, batch_size: int, seed: int, device: torch.device, **shard):
        self.ids, self.device = ids, torch.device(device)
        self.sampler = EpochSampler(len(ids), batch_size, seed, **shard)

    def _to_device(self, rows: np.ndarray) -> torch.Tensor:
        rows = torch.from_numpy(np.ascontiguousarray(rows))
        if self.device.type == "cuda":
            rows = rows.pin_memory()  # an asynchronous copy: the host does not wait for the GPU
        return rows.to(self.device, dtype=torch.long, non_blocking=True)

    def next(self) -> torch.Tensor:
        return self._to_device(self.ids[self.sampler.next_indices()])  # (B, L)

    def state_dict(self) -> dict:
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.sampler.load_state_dict(state)


class TokenBatches(TokenIdBatches):
    """Batches of one-hot sentences on the device from an (N, L) array of token ids, with the rows'
    class ids from an (N,) array ``labels`` for a conditional model: ``next()`` is then
    ``(one-hot, labels)``, drawn by the same indices (so resuming restores both).

    Ids cross to the device as integers; the one-hot (B, L, V) float tensor is made there, never
    on the host, by a scatter into zeros (``F.one_hot`` would read the ids' range back to the host
    to check it: a device synchronisation every critic step).
    """

    def __init__(self, ids: np.ndarray, vocab_size: int, batch_size: int, seed: int,
                 device: torch.device, labels: Optional[np.ndarray] = None, **shard):
        super().__init__(ids, batch_size, seed, device, **shard)
        self.vocab_size, self.labels = vocab_size, labels

    def next(self):
        index = self.sampler.next_indices()
        rows = self._to_device(self.ids[index])
        onehot = torch.zeros(*rows.shape, self.vocab_size, device=self.device)
        onehot.scatter_(2, rows.unsqueeze(2), 1.0)  # (B, L, V)
        if self.labels is None:
            return onehot
        return onehot, self._to_device(self.labels[index])  # (B, L, V), (B,)
