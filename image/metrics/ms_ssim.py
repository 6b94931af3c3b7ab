"""Multi-scale structural similarity (MS-SSIM) of generated sample pairs: the diversity figure of the
published WGAN-GP 128 results (mmgeneration, following the progressive-GAN code and Wang et al. 2003).

For images x, y in [0, 255] (max_val L = 255), at each of 5 scales s:

    μ, σ² , σ_xy  Gaussian-weighted ('valid' 11x11 window, σ = 1.5; smaller windows for small images,
                  with σ scaled alike) means, variances and covariance per channel
    cs_s   = mean over pixels and channels of (2σ_xy + C2) / (σ_x² + σ_y² + C2)
    ssim_s = mean of [(2μ_xμ_y + C1) / (μ_x² + μ_y² + C1)] · (2σ_xy + C2) / (σ_x² + σ_y² + C2)

with C1 = (0.01 L)², C2 = (0.03 L)², then 2x2 average downsampling to the next scale, and

    MS-SSIM = Π_{s<5} max(cs_s, 0)^{w_s} · max(ssim_5, 0)^{w_5},  w = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333).

The protocol averages MS-SSIM over pairs of generated images (image 2k with image 2k+1): lower means
more diverse samples (published: 0.2601 CelebA 128, 0.059 LSUN bedroom 128). Odd sizes are
cropped by one pixel before downsampling (2x2 pooling), which the reference never meets at 128 px.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def gaussian_window(size: int, sigma: float) -> torch.Tensor:
    """A normalised circular Gaussian (size, size), centred as the MATLAB fspecial('gaussian')."""
    radius = size // 2
    offset = 0.5 if size % 2 == 0 else 0.0
    coords = torch.arange(-radius, radius + (0 if size % 2 == 0 else 1), dtype=torch.float64) + offset
    g = torch.exp(-(coords[:, None] ** 2 + coords[None, :] ** 2) / (2.0 * sigma**2))
    return g / g.sum()


def _ssim_and_cs(x: torch.Tensor, y: torch.Tensor, *, max_val: float, filter_size: int, filter_sigma: float,
                 k1: float, k2: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image (ssim, cs) of float32 images (N, C, H, W) (float32 as the reference)."""
    _, c, h, w = x.shape
    size = min(filter_size, h, w)
    sigma = size * filter_sigma / filter_size
    win = gaussian_window(size, sigma).to(x)[None, None].expand(c, 1, size, size)
    filt = lambda t: F.conv2d(t, win, groups=c)  # noqa: E731  'valid' correlation per channel
    mu1, mu2 = filt(x), filt(y)
    s11, s22, s12 = filt(x * x) - mu1 * mu1, filt(y * y) - mu2 * mu2, filt(x * y) - mu1 * mu2
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    v1, v2 = 2.0 * s12 + c2, s11 + s22 + c2
    ssim = (((2.0 * mu1 * mu2 + c1) * v1) / ((mu1 * mu1 + mu2 * mu2 + c1) * v2)).mean(dim=(1, 2, 3))
    cs = (v1 / v2).mean(dim=(1, 2, 3))
    return ssim, cs


def _downsample(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 2)  # = (x[0::2,0::2] + x[1::2,0::2] + x[0::2,1::2] + x[1::2,1::2]) / 4


@torch.no_grad()
def ms_ssim(img1: torch.Tensor, img2: torch.Tensor, *, max_val: float = 255.0, filter_size: int = 11,
            filter_sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03, weights=WEIGHTS) -> torch.Tensor:
    """MS-SSIM of each pair (img1[i], img2[i]); images (N, C, H, W) with values in [0, max_val]."""
    if img1.shape != img2.shape or img1.dim() != 4:
        raise ValueError(f"ms_ssim needs two (N, C, H, W) batches of one shape, got {tuple(img1.shape)} and {tuple(img2.shape)}")
    x, y = img1.float(), img2.float()
    mssim, mcs = [], []
    for level in range(len(weights)):
        if level:
            x, y = _downsample(x), _downsample(y)
        ssim, cs = _ssim_and_cs(x, y, max_val=max_val, filter_size=filter_size, filter_sigma=filter_sigma, k1=k1, k2=k2)
        mssim.append(ssim), mcs.append(cs)
    w = torch.tensor(weights, dtype=torch.float64, device=x.device)
    mssim = torch.stack(mssim).double().clamp(min=0.0)  # (levels, N)
    mcs = torch.stack(mcs).double().clamp(min=0.0)
    return torch.prod(mcs[:-1] ** w[:-1, None], dim=0) * mssim[-1] ** w[-1]


def to_uint8_pairs(images01: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Images in [0, 1] → (even-indexed, odd-indexed) uint8 values by truncating x·255 (mmgeneration)."""
    u8 = (images01.clamp(0, 1) * 255).to(torch.uint8)
    n = (u8.shape[0] // 2) * 2
    return u8[0:n:2], u8[1:n:2]


def ms_ssim_of_samples(images01: torch.Tensor, *, chunk: int = 512) -> float:
    """The protocol's figure: mean MS-SSIM over the pairs (0, 1), (2, 3), ... of samples in [0, 1]."""
    a, b = to_uint8_pairs(images01)
    if a.shape[0] == 0:
        raise ValueError("MS-SSIM needs at least two samples")
    values = [ms_ssim(a[i : i + chunk], b[i : i + chunk]) for i in range(0, a.shape[0], chunk)]
    return float(torch.cat(values).mean().item())

