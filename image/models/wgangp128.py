"""WGAN-GP 128x128 with a group-norm critic: the model behind the published SWD / MS-SSIM figures
that SPEC.md lists (mmgeneration's WGANGPGenerator / WGANGPDiscriminator, "training configuration
(a)" of the progressive-GAN paper: a plain convolutional network, no residual connections).

Channels per resolution (d = 64 gives mmgeneration's table): 4, 8 px: 8d; 16: 4d; 32: 2d; 64: d;
128: d/2.

* Generator: Linear z → 4·4·8d (no bias) → reshape, + bias → ReLU → BN; Conv 3x3 + BN + ReLU;
  then per resolution 8 ... R: nearest 2x upsample, Conv 3x3 + BN + ReLU, Conv 3x3 + BN + ReLU;
  Conv 1x1 → C, tanh.
* Critic: Conv 1x1 C → c(R) + LeakyReLU 0.2; per resolution R ... 8: Conv 3x3 + GN + LReLU,
  Conv 3x3 (to the next channel count) + GN + LReLU, 2x2 average pool; at 4 px a Conv 4x4 (valid)
  + GN + LReLU, then Linear → 1. GN is ``GroupNorm(1, C)``, i.e. layer norm over (C, H, W) with a
  per-channel affine (mmgeneration's stand-in for layer norm).

Initialisation as mmcv's ConvModule: Kaiming normal (fan_out) for convolutions with the gain of
the following activation; N(0, 1) for the two Linear layers. Batch norm uses batch statistics
(as every generator here).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from image.layers import batch_norm, critic_norm, lrelu
from image.models.resnet import good_channels


def _conv(c_in: int, c_out: int, k: int, *, leaky: bool, padding: int | None = None) -> nn.Conv2d:
    layer = nn.Conv2d(c_in, c_out, k, padding=k // 2 if padding is None else padding)
    if leaky:
        nn.init.kaiming_normal_(layer.weight, a=0.2, mode="fan_out", nonlinearity="leaky_relu")
    else:
        nn.init.kaiming_normal_(layer.weight, a=0.0, mode="fan_out", nonlinearity="relu")
    nn.init.zeros_(layer.bias)
    return layer


class ConvBNReLU(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv, self.norm = _conv(c_in, c_out, 3, leaky=False), batch_norm(c_out)

    def forward(self, x):
        return F.relu(self.norm(self.conv(x)))


class ConvGNLReLU(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int = 3, padding: int | None = None, norm: str = "layer"):
        super().__init__()
        self.conv, self.norm = _conv(c_in, c_out, k, leaky=True, padding=padding), critic_norm(norm, c_out)

    def forward(self, x):
        return lrelu(self.norm(self.conv(x)))


class WGANGP128Generator(nn.Module):
    def __init__(self, *, dim: int = 64, z_dim: int = 128, channels: int = 3, resolution: int = 128):
        super().__init__()
        self.z_dim, self.n_classes, self.channels, self.resolution = z_dim, 0, channels, resolution
        ch = good_channels(resolution, dim)
        self.c0 = ch[4]
        self.input = nn.Linear(z_dim, 16 * self.c0, bias=False)
        nn.init.normal_(self.input.weight, 0.0, 1.0)
        self.input_bias = nn.Parameter(torch.zeros(1, self.c0, 1, 1))
        self.input_norm = batch_norm(self.c0)
        layers: list[nn.Module] = [ConvBNReLU(self.c0, self.c0)]
        r = 8
        while r <= resolution:
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), ConvBNReLU(ch[r // 2], ch[r]), ConvBNReLU(ch[r], ch[r])]
            r *= 2
        self.blocks = nn.Sequential(*layers)
        self.to_rgb = _conv(ch[resolution], channels, 1, leaky=False)

    def forward(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        x = self.input(z).view(-1, self.c0, 4, 4) + self.input_bias
        x = self.input_norm(F.relu(x))  # order linear → act → norm, as mmgeneration
        return torch.tanh(self.to_rgb(self.blocks(x)))  # (B, C, R, R)


class WGANGP128Critic(nn.Module):
    """``norm``: the critic's GN ('layer', mmgeneration's), or 'batch' / 'none' to vary it."""

    def __init__(self, *, dim: int = 64, channels: int = 3, resolution: int = 128, norm: str = "layer"):
        super().__init__()
        self.n_classes = 0
        ch = good_channels(resolution, dim)
        self.from_rgb = _conv(channels, ch[resolution], 1, leaky=True)
        layers: list[nn.Module] = []
        r = resolution
        while r > 4:
            layers += [ConvGNLReLU(ch[r], ch[r], norm=norm), ConvGNLReLU(ch[r], ch[r // 2], norm=norm), nn.AvgPool2d(2)]
            r //= 2
        self.blocks = nn.Sequential(*layers)
        self.decision = ConvGNLReLU(ch[4], ch[4], k=4, padding=0, norm=norm)  # 4x4 → 1x1
        self.output = nn.Linear(ch[4], 1)
        nn.init.normal_(self.output.weight, 0.0, 1.0)
        nn.init.zeros_(self.output.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.decision(self.blocks(lrelu(self.from_rgb(x))))  # (B, 8d, 1, 1)
        return self.output(h.flatten(1))  # (B, 1)
