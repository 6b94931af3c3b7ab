"""Inception Score and FID from a local Inception network that the user supplies; nothing is downloaded.

The network is the TensorFlow Inception graph of the paper's Inception Score (inception-2015-12-05,
the one openai/improved-gan and tflib/inception_score.py use) as a TorchScript file, the port that
StyleGAN2-ADA and mmgeneration use (``inception-2015-12-05.pt``). It takes uint8 images (N, 3, H, W)
of any size (it resizes to 299 internally) and returns class probabilities (N, 1008), or the 2048
pool features with ``return_features=True``. Any TorchScript module with that interface works,
which is how the tests drive these functions with a small stand-in network.

* Inception Score (Salimans et al. 2016; tflib/inception_score.py): split the probabilities into
  10 parts; per part exp(E_x KL(p(y|x) ‖ p(y))) with p(y) the part's mean; report the mean and
  standard deviation over parts. Uniform predictions score exactly 1.
* FID (Heusel et al. 2017): ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½) between the Gaussians fitted to the
  pool features; tr (Σ₁Σ₂)^½ is computed as Σ √λᵢ of the symmetric matrix Σ₁^½ Σ₂ Σ₁^½.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from seqgan_gp.errors import UserError

HOW_TO_GET = ("download inception-2015-12-05.pt (the paper's TensorFlow Inception as TorchScript, ~95 MB) from "
              "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt "
              "on a machine with internet, copy it here and pass --inception-weights PATH")


class InceptionNet:
    """A TorchScript Inception: ``probabilities`` and ``features`` of uint8 images, in batches."""

    def __init__(self, path: str | Path, device: torch.device, batch_size: int = 100):
        path = Path(path).expanduser()
        if not path.is_file():
            raise UserError(f"--inception-weights {path}: no such file; {HOW_TO_GET}")
        try:
            with warnings.catch_warnings():  # torch 2.x deprecates TorchScript; the Inception port is one
                warnings.simplefilter("ignore", DeprecationWarning)
                self.model = torch.jit.load(str(path), map_location=device).eval()
        except (RuntimeError, ValueError, OSError) as exc:
            raise UserError(f"--inception-weights {path}: not a loadable TorchScript Inception ({str(exc)[:200]}); "
                            f"{HOW_TO_GET}") from None
        self.path, self.device, self.batch_size = path, device, batch_size

    @torch.no_grad()
    def _run(self, images_u8: torch.Tensor, **kwargs) -> np.ndarray:
        if images_u8.dtype != torch.uint8:
            raise ValueError("the Inception network takes uint8 images")
        if images_u8.shape[1] == 1:
            images_u8 = images_u8.expand(-1, 3, -1, -1)  # gray → RGB
        out = [self.model(images_u8[i : i + self.batch_size].to(self.device), **kwargs).double().cpu()
               for i in range(0, images_u8.shape[0], self.batch_size)]
        return torch.cat(out).numpy()

    def probabilities(self, images_u8: torch.Tensor) -> np.ndarray:
        """p(y|x) for each image: (N, classes); the softmax without the output bias, as the TF graph."""
        return self._run(images_u8, no_output_bias=True)

    def features(self, images_u8: torch.Tensor) -> np.ndarray:
        """The pool features for FID: (N, 2048)."""
        return self._run(images_u8, return_features=True)


def require_inception(path: str | None, device: torch.device) -> InceptionNet:
    if not path:
        raise UserError(f"Inception Score and FID need the Inception network: {HOW_TO_GET}")
    return InceptionNet(path, device)


def inception_score(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """(mean, std) over ``splits`` parts of exp(mean_x Σ_y p(y|x) (log p(y|x) − log p(y)))."""
    probs = np.asarray(probs, dtype=np.float64)
    n = probs.shape[0]
    if n < splits:
        raise ValueError(f"{n} samples cannot be split {splits} ways")
    scores = []
    for i in range(splits):
        part = probs[i * n // splits : (i + 1) * n // splits]
        py = part.mean(axis=0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(py)), 0.0).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D, D) of features (N, D), in float64."""
    f = np.asarray(features, dtype=np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((m + m.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^½ (covariances symmetric positive semi-definite)."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    root1 = _sqrt_psd(s1)
    inner = root1 @ s2 @ root1  # similar to Σ₁Σ₂: same eigenvalues, but symmetric
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)


def fid(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """FID between two feature sets (N, D)."""
    return frechet_distance(*gaussian_stats(features_a), *gaussian_stats(features_b))
