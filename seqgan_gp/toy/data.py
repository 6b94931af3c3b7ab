"""The paper's toy distributions, exactly as gan_toy.py draws them (SPEC.md "gan_toy.py").

| name        | one point                                                              | scaling |
|-------------|------------------------------------------------------------------------|---------|
| 8gaussians  | a uniformly chosen centre 2·(cos k·45°, sin k·45°) + N(0, 0.02²) noise  | ÷ 1.414 |
| 25gaussians | a fixed set of 100,000 points, 4,000 around each of (2i, 2j), i, j ∈ {−2..2}, noise std 0.05, shuffled once, then cycled in order | ÷ 2.828 |
| swissroll   | coordinates [0, 2] of scikit-learn's make_swiss_roll(noise=0.25)       | ÷ 7.5   |

The Swiss roll is a numpy re-implementation of ``sklearn.datasets.make_swiss_roll`` (t = 1.5π(1 +
2u), height 21u, x = t·cos t, z = t·sin t, Gaussian noise of std 0.25 on each of the three
coordinates); scikit-learn would be a large dependency for six lines of arithmetic.

Batches are drawn from ``numpy.random.default_rng((seed, k))`` for the k-th batch, so a batch
source's position is two integers and a resumed run draws the batches the uninterrupted run would
have drawn.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from seqgan_gp.batches import whole
from seqgan_gp.configfile import MAX_SEED
from seqgan_gp.errors import UserError
from seqgan_gp.toy.config import DATASETS

SCALE = {"8gaussians": 1.414, "25gaussians": 2.828, "swissroll": 7.5}  # the script's divisors
NOISE = {"8gaussians": 0.02, "25gaussians": 0.05, "swissroll": 0.25}  # noise std before scaling
N_25GAUSSIANS = 100_000  # size of the fixed 25-Gaussian training set


def _check(name: str) -> None:
    if name not in DATASETS:
        raise UserError(f"--dataset {name!r}: unknown toy dataset; choose one of {', '.join(DATASETS)}")


def mode_centers(name: str) -> np.ndarray:
    """The mixture's component means after scaling, (K, 2); 8gaussians lists them as the script."""
    _check(name)
    if name == "8gaussians":
        s = 1.0 / math.sqrt(2)
        unit = [(1, 0), (-1, 0), (0, 1), (0, -1), (s, s), (s, -s), (-s, s), (-s, -s)]
        return 2.0 * np.array(unit, dtype=np.float64) / SCALE[name]
    if name == "25gaussians":
        grid = [(2.0 * x, 2.0 * y) for x in range(-2, 3) for y in range(-2, 3)]
        return np.array(grid, dtype=np.float64) / SCALE[name]
    raise UserError(f"--dataset {name}: the Swiss roll is not a mixture and has no modes")


def mode_std(name: str) -> float:
    """Standard deviation of each mixture component after scaling (σ of the 3σ quality test)."""
    return NOISE[name] / SCALE[name]


def swiss_roll(n: int, rng: np.random.Generator, noise: float = 0.25) -> np.ndarray:
    """scikit-learn's make_swiss_roll(n, noise) in numpy, as (n, 3) points (x, y, z)."""
    t = 1.5 * np.pi * (1 + 2 * rng.uniform(size=n))
    y = 21 * rng.uniform(size=n)
    X = np.vstack((t * np.cos(t), y, t * np.sin(t)))
    X += noise * rng.standard_normal(size=(3, n))
    return X.T


def sample_points(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` fresh points of the distribution ``name``, float32 (n, 2), already scaled."""
    _check(name)
    if name == "swissroll":
        pts = swiss_roll(n, rng, NOISE[name])[:, [0, 2]] / SCALE[name]
        return pts.astype(np.float32)
    centers = mode_centers(name)  # already divided by the scale
    pick = rng.integers(len(centers), size=n)
    pts = centers[pick] + rng.standard_normal((n, 2)) * mode_std(name)
    return pts.astype(np.float32)


def fixed_25gaussians(seed: int) -> np.ndarray:
    """The script's fixed 25-Gaussian training set: 4,000 rounds over the 5×5 grid, noise 0.05,
    shuffled once, divided by 2.828; float32 (100000, 2)."""
    rng = np.random.default_rng((seed, 25))
    grid = np.array([(2.0 * x, 2.0 * y) for x in range(-2, 3) for y in range(-2, 3)])
    rounds = N_25GAUSSIANS // len(grid)
    pts = np.tile(grid, (rounds, 1)) + rng.standard_normal((rounds * len(grid), 2)) * NOISE["25gaussians"]
    rng.shuffle(pts)
    return (pts / SCALE["25gaussians"]).astype(np.float32)


class ToyBatches:
    """Real batches of a toy distribution on the device, one ``next()`` per critic step.

    8gaussians and swissroll draw a fresh batch each call; 25gaussians walks through its fixed
    100,000-point set in order, ``floor(100000 / B)`` batches an epoch, without reshuffling (the
    remainder of each pass is skipped, as the script's ``xrange(len(dataset)/BATCH_SIZE)``).
    """

    def __init__(self, name: str, batch_size: int, seed: int, device: torch.device):
        _check(name)
        if name == "25gaussians" and batch_size > N_25GAUSSIANS:
            raise UserError(f"--batch-size {batch_size}: larger than the 25gaussians set ({N_25GAUSSIANS})")
        self.name, self.batch_size, self.seed, self.device = name, batch_size, seed, device
        self.count = 0  # batches drawn so far
        self.fixed = torch.from_numpy(fixed_25gaussians(seed)).to(device) if name == "25gaussians" else None

    def next(self) -> torch.Tensor:
        if self.fixed is not None:
            per_epoch = N_25GAUSSIANS // self.batch_size
            i = self.count % per_epoch
            batch = self.fixed[i * self.batch_size : (i + 1) * self.batch_size]
        else:
            rng = np.random.default_rng((self.seed, self.count))
            batch = torch.from_numpy(sample_points(self.name, self.batch_size, rng)).to(self.device)
        self.count += 1
        return batch  # (B, 2)

    def state_dict(self) -> dict:
        return {"count": self.count, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        if whole(state, "seed", MAX_SEED) != self.seed:
            raise ValueError(f"batch source seed {state['seed']} differs from the run's {self.seed}")
        self.count = whole(state, "count", MAX_SEED)
