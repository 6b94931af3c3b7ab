"""The paper's residual image models (SPEC.md gan_cifar_resnet.py and gan_64x64.py).

* ``CifarResNetGenerator`` / ``CifarResNetCritic``: the CIFAR-10 ResNet (7.86 unsupervised, 8.42
  with AC-GAN). Generator: Linear 128 → 4·4·DIM, three 'up' residual blocks (8, 16, 32 px) with
  (conditional) batch norm, BN, ReLU, 3x3 conv to RGB, tanh. Critic: the optimised first block,
  one 'down' block, two plain blocks, ReLU, global mean pool, Linear → 1 and, for AC-GAN, a
  second Linear → classes. No normalisation in the critic (NORMALIZATION_D=False; ``norm`` puts
  one in the residual blocks' N1, N2).
* ``GoodGenerator`` / ``GoodCritic``: gan_64x64.py's GoodGenerator/GoodDiscriminator (64x64,
  batch norm in G; in the critic layer norm with WGAN-GP, batch norm with the other losses), and
  the same recipe one stage deeper at 128x128 for
  LSUN bedrooms. The reference code has no LSUN model (its 64x64 script trains on ImageNet), so
  the 128x128 variant is ours: one more 'up'/'down' stage with half the channels (d/2 at 128 px).

Residual blocks are pre-activation, unscaled (out = shortcut + main), with 1x1 shortcuts
(he_init=False) whenever the shape changes.
"""

from __future__ import annotations

import torch
from torch import nn

from image.layers import (ConvMeanPool, LabelNorm, MeanPoolConv, Norm, UpsampleConv, batch_norm, conv,
                          critic_norm, linear)
from seqgan_gp.activations import relu  # torch.relu, with a cheap double backward in the penalty's pass


class ResidualBlock(nn.Module):
    """Pre-activation residual block, resample in {'up', 'down', None} (SPEC.md table).

    ``style='cifar'``: the down shortcut is ConvMeanPool and the first conv has a bias
    (gan_cifar_resnet.py); ``style='64'``: the down shortcut is MeanPoolConv and the first conv has
    no bias (gan_64x64.py). ``norm(c)`` makes the block's normalisation layers.
    """

    def __init__(self, c_in: int, c_out: int, resample, norm, *, style: str = "cifar", k: int = 3):
        super().__init__()
        bias1 = style == "cifar"
        self.resample = resample
        if resample == "up":
            self.shortcut = UpsampleConv(c_in, c_out, 1, he_init=False)
            self.conv1 = UpsampleConv(c_in, c_out, k, bias=bias1)
            self.conv2 = conv(c_out, c_out, k)
            self.n1, self.n2 = norm(c_in), norm(c_out)
        elif resample == "down":
            self.shortcut = (ConvMeanPool if style == "cifar" else MeanPoolConv)(c_in, c_out, 1, he_init=False)
            self.conv1 = conv(c_in, c_in, k, bias=bias1)
            self.conv2 = ConvMeanPool(c_in, c_out, k)
            self.n1, self.n2 = norm(c_in), norm(c_in)
        elif resample is None:
            self.shortcut = nn.Identity() if c_in == c_out else conv(c_in, c_out, 1, he_init=False)
            self.conv1 = conv(c_in, c_out, k, bias=bias1)
            self.conv2 = conv(c_out, c_out, k)
            self.n1, self.n2 = norm(c_in), norm(c_out)
        else:
            raise ValueError(f"resample must be 'up', 'down' or None, not {resample!r}")

    def forward(self, x, labels=None):
        h = self.conv1(relu(self.n1(x, labels)))
        h = self.conv2(relu(self.n2(h, labels)))
        return self.shortcut(x) + h


class CifarResNetGenerator(nn.Module):
    """gan_cifar_resnet.py Generator: z (B, 128) [+ labels (B,)] → images (B, C, 32, 32) in [-1, 1]."""

    def __init__(self, *, dim: int = 128, z_dim: int = 128, channels: int = 3, n_classes: int = 0):
        super().__init__()
        self.z_dim, self.n_classes, self.channels, self.resolution = z_dim, n_classes, channels, 32
        self.dim = dim
        self.input = linear(z_dim, 4 * 4 * dim)
        norm = lambda c: LabelNorm(c, n_classes)  # noqa: E731  conditional BN when labels are given
        self.blocks = nn.ModuleList([ResidualBlock(dim, dim, "up", norm) for _ in range(3)])
        self.out_norm = batch_norm(dim)  # 'Generator.OutputN' is always plain BN
        self.out = conv(dim, channels, 3, he_init=False)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = self.input(z).view(-1, self.dim, 4, 4)  # (B, DIM, 4, 4)
        for block in self.blocks:
            x = block(x, labels)  # 8, 16, 32 px
        return torch.tanh(self.out(relu(self.out_norm(x))))  # (B, C, 32, 32)


class OptimizedFirstBlock(nn.Module):
    """gan_cifar_resnet.py OptimizedResBlockDisc1: no leading activation, no normalisation.
    shortcut MeanPoolConv 1x1; main Conv 3x3 → ReLU → ConvMeanPool 3x3."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.shortcut = MeanPoolConv(c_in, c_out, 1, he_init=False)
        self.conv1 = conv(c_in, c_out, 3)
        self.conv2 = ConvMeanPool(c_out, c_out, 3)

    def forward(self, x):
        return self.shortcut(x) + self.conv2(relu(self.conv1(x)))


class CifarResNetCritic(nn.Module):
    """gan_cifar_resnet.py Discriminator: (B, C, 32, 32) → score (B, 1), and class logits
    (B, n_classes) when ``n_classes`` > 0 (the AC-GAN head)."""

    def __init__(self, *, dim: int = 128, channels: int = 3, n_classes: int = 0, norm: str = "none"):
        super().__init__()
        self.n_classes = n_classes
        block_norm = lambda c: Norm(critic_norm(norm, c))  # noqa: E731  the reference: NORMALIZATION_D=False
        self.blocks = nn.Sequential(
            OptimizedFirstBlock(channels, dim),  # 16 px
            ResidualBlock(dim, dim, "down", block_norm),  # 8 px
            ResidualBlock(dim, dim, None, block_norm),
            ResidualBlock(dim, dim, None, block_norm),
        )
        self.score = linear(dim, 1)
        self.classifier = linear(dim, n_classes) if n_classes else None

    def forward(self, x: torch.Tensor):
        h = relu(self.blocks(x)).mean(dim=(2, 3))  # (B, DIM) global mean pool
        if self.classifier is None:
            return self.score(h)
        return self.score(h), self.classifier(h)


def good_channels(resolution: int, dim: int) -> dict[int, int]:
    """Channels per resolution of gan_64x64.py's Good models (d = DIM): 4, 8 px: 8d; 16: 4d; 32: 2d;
    64: d; and 128: d/2 for our 128x128 extension."""
    table = {4: 8 * dim, 8: 8 * dim, 16: 4 * dim, 32: 2 * dim, 64: dim, 128: max(dim // 2, 1)}
    return {r: c for r, c in table.items() if r <= resolution}


class GoodGenerator(nn.Module):
    """gan_64x64.py GoodGenerator (``resolution=64``) and its 128x128 extension.

    Linear 128 → 4·4·8d → 'up' blocks 4 → ... → resolution (BN) → BN → ReLU → Conv 3x3 → tanh.
    """

    def __init__(self, *, dim: int = 64, z_dim: int = 128, channels: int = 3, resolution: int = 64):
        super().__init__()
        if resolution not in (64, 128):
            raise ValueError("GoodGenerator is defined at 64 and 128 px")
        self.z_dim, self.n_classes, self.channels, self.resolution = z_dim, 0, channels, resolution
        ch = good_channels(resolution, dim)
        res = sorted(ch)
        self.c0 = ch[4]
        self.input = linear(z_dim, 4 * 4 * self.c0)
        norm = lambda c: Norm(batch_norm(c))  # noqa: E731
        self.blocks = nn.ModuleList([ResidualBlock(ch[r], ch[2 * r], "up", norm, style="64") for r in res[:-1]])
        self.out_norm = batch_norm(ch[resolution])
        self.out = conv(ch[resolution], channels, 3)

    def forward(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        x = self.input(z).view(-1, self.c0, 4, 4)
        for block in self.blocks:
            x = block(x)
        return torch.tanh(self.out(relu(self.out_norm(x))))  # (B, C, R, R)


class GoodCritic(nn.Module):
    """gan_64x64.py GoodDiscriminator (``resolution=64``) and its 128x128 extension; ``norm`` in the
    residual blocks (the reference's ``Normalize``: layer norm with WGAN-GP, batch norm otherwise),
    no activation between the last block and Linear."""

    def __init__(self, *, dim: int = 64, channels: int = 3, resolution: int = 64, norm: str = "layer"):
        super().__init__()
        if resolution not in (64, 128):
            raise ValueError("GoodCritic is defined at 64 and 128 px")
        self.n_classes = 0
        ch = good_channels(resolution, dim)
        res = sorted(ch, reverse=True)  # R, R/2, ..., 4
        self.input = conv(channels, ch[resolution], 3, he_init=False)
        block_norm = lambda c: Norm(critic_norm(norm, c))  # noqa: E731
        self.blocks = nn.Sequential(*[ResidualBlock(ch[r], ch[r // 2], "down", block_norm, style="64")
                                      for r in res[:-1]])
        self.output = linear(4 * 4 * ch[4], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.blocks(self.input(x)).flatten(1))  # (B, 1)
