"""The paper's DCGAN-style image models (SPEC.md gan_cifar.py, gan_64x64.py DCGAN baseline, gan_mnist.py).

Each critic takes ``norm`` ('none', 'batch' or 'layer', :func:`image.layers.critic_norm`) for the
layers the reference normalises; which one the reference uses depends on the loss
(:func:`image.models.reference_critic_norm`): gan_cifar.py puts batch norm after its 2nd and 3rd
convolutions in every mode but wgan-gp, gan_mnist.py only in its 'wgan' mode, gan_64x64.py's
``Normalize`` after the 2nd, 3rd and 4th is layer norm in wgan-gp mode and batch norm otherwise.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from image.layers import batch_norm, conv, critic_norm, deconv, linear, lrelu, uniform_002_


class CifarDCGANGenerator(nn.Module):
    """gan_cifar.py Generator (DIM = 128): Linear 128 → 4·4·4DIM + BN (per feature) + ReLU →
    Deconv 5x5 4DIM→2DIM + BN + ReLU (8 px) → Deconv 2DIM→DIM + BN + ReLU (16) → Deconv DIM→C (32) → tanh."""

    def __init__(self, *, dim: int = 128, z_dim: int = 128, channels: int = 3):
        super().__init__()
        self.z_dim, self.n_classes, self.channels, self.resolution, self.dim = z_dim, 0, channels, 32, dim
        self.input = linear(z_dim, 4 * 4 * 4 * dim)
        self.bn1 = batch_norm(4 * 4 * 4 * dim, dims=1)  # BN over axis [0] of the FC output
        self.deconv2, self.bn2 = deconv(4 * dim, 2 * dim, 5), batch_norm(2 * dim)
        self.deconv3, self.bn3 = deconv(2 * dim, dim, 5), batch_norm(dim)
        self.deconv5 = deconv(dim, channels, 5)

    def forward(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        x = F.relu(self.bn1(self.input(z))).view(-1, 4 * self.dim, 4, 4)
        x = F.relu(self.bn2(self.deconv2(x)))  # (B, 2DIM, 8, 8)
        x = F.relu(self.bn3(self.deconv3(x)))  # (B, DIM, 16, 16)
        return torch.tanh(self.deconv5(x))  # (B, C, 32, 32)


class CifarDCGANCritic(nn.Module):
    """gan_cifar.py Discriminator: three 5x5 stride-2 convs (DIM, 2DIM, 4DIM) with LeakyReLU 0.2,
    ``norm`` after the 2nd and 3rd (the reference: none in wgan-gp mode, batch norm otherwise),
    then Linear 4·4·4DIM → 1."""

    def __init__(self, *, dim: int = 128, channels: int = 3, norm: str = "none"):
        super().__init__()
        self.n_classes = 0
        self.conv1 = conv(channels, dim, 5, stride=2)
        self.conv2, self.norm2 = conv(dim, 2 * dim, 5, stride=2), critic_norm(norm, 2 * dim)
        self.conv3, self.norm3 = conv(2 * dim, 4 * dim, 5, stride=2), critic_norm(norm, 4 * dim)
        self.output = linear(4 * 4 * 4 * dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = lrelu(self.conv1(x))  # (B, DIM, 16, 16)
        x = lrelu(self.norm2(self.conv2(x)))  # (B, 2DIM, 8, 8)
        x = lrelu(self.norm3(self.conv3(x)))  # (B, 4DIM, 4, 4)
        return self.output(x.flatten(1))


class DCGAN64Generator(nn.Module):
    """gan_64x64.py DCGANGenerator (d = 64), the architecture study's baseline: Linear 128 → 4·4·8d →
    BN → ReLU → four 5x5 deconvs (8d→4d→2d→d→C) with BN + ReLU between → tanh. Init U(±0.02√3)."""

    def __init__(self, *, dim: int = 64, z_dim: int = 128, channels: int = 3):
        super().__init__()
        self.z_dim, self.n_classes, self.channels, self.resolution, self.dim = z_dim, 0, channels, 64, dim
        self.input = linear(z_dim, 4 * 4 * 8 * dim)
        self.bn1 = batch_norm(8 * dim)
        self.deconvs = nn.ModuleList([deconv(8 * dim, 4 * dim, 5), deconv(4 * dim, 2 * dim, 5),
                                      deconv(2 * dim, dim, 5), deconv(dim, channels, 5)])
        self.bns = nn.ModuleList([batch_norm(4 * dim), batch_norm(2 * dim), batch_norm(dim)])
        uniform_002_(self)

    def forward(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        x = F.relu(self.bn1(self.input(z).view(-1, 8 * self.dim, 4, 4)))
        for dc, bn in zip(self.deconvs[:-1], self.bns):
            x = F.relu(bn(dc(x)))  # 8, 16, 32 px
        return torch.tanh(self.deconvs[-1](x))  # (B, C, 64, 64)


class DCGAN64Critic(nn.Module):
    """gan_64x64.py DCGANDiscriminator: four 5x5 stride-2 convs (d, 2d, 4d, 8d), LeakyReLU 0.2,
    ``norm`` after every conv but the first (the reference: layer norm in wgan-gp mode, batch norm
    otherwise, none in its ``bn=False`` variant), Linear 4·4·8d → 1. Init U(±0.02√3)."""

    def __init__(self, *, dim: int = 64, channels: int = 3, norm: str = "layer"):
        super().__init__()
        self.n_classes = 0
        self.convs = nn.ModuleList([conv(channels, dim, 5, stride=2), conv(dim, 2 * dim, 5, stride=2),
                                    conv(2 * dim, 4 * dim, 5, stride=2), conv(4 * dim, 8 * dim, 5, stride=2)])
        self.norms = nn.ModuleList([critic_norm(norm, c) for c in (2 * dim, 4 * dim, 8 * dim)])
        self.output = linear(4 * 4 * 8 * dim, 1)
        uniform_002_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = lrelu(self.convs[0](x))  # (B, d, 32, 32)
        for c, n in zip(self.convs[1:], self.norms):
            x = lrelu(n(c(x)))  # 16, 8, 4 px
        return self.output(x.flatten(1))


class MnistGenerator(nn.Module):
    """gan_mnist.py Generator (DIM = 64): Linear 128 → 4·4·4DIM → ReLU → Deconv 5x5 → 8 px → ReLU →
    crop to 7x7 → Deconv → 14 px → ReLU → Deconv → 28 px → sigmoid (pixels in [0, 1]).
    ``bn=True`` adds the batch norms the reference code uses only with ``--loss wgan``."""

    def __init__(self, *, dim: int = 64, z_dim: int = 128, channels: int = 1, bn: bool = False):
        super().__init__()
        self.z_dim, self.n_classes, self.channels, self.resolution, self.dim = z_dim, 0, channels, 28, dim
        self.input = linear(z_dim, 4 * 4 * 4 * dim)
        self.deconv1 = deconv(4 * dim, 2 * dim, 5)
        self.deconv2 = deconv(2 * dim, dim, 5)
        self.deconv3 = deconv(dim, channels, 5)
        ident = nn.Identity
        self.bn0 = batch_norm(4 * 4 * 4 * dim, dims=1) if bn else ident()
        self.bn1 = batch_norm(2 * dim) if bn else ident()
        self.bn2 = batch_norm(dim) if bn else ident()

    def forward(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        x = F.relu(self.bn0(self.input(z))).view(-1, 4 * self.dim, 4, 4)
        x = F.relu(self.bn1(self.deconv1(x)))[:, :, :7, :7]  # (B, 2DIM, 7, 7)
        x = F.relu(self.bn2(self.deconv2(x)))  # (B, DIM, 14, 14)
        return torch.sigmoid(self.deconv3(x))  # (B, C, 28, 28)


class MnistCritic(nn.Module):
    """gan_mnist.py Discriminator: 5x5 stride-2 convs 1→DIM (14 px) → 2DIM (7) → 4DIM (4) with
    LeakyReLU 0.2, ``norm`` after the 2nd and 3rd (the reference: batch norm in its 'wgan' mode
    only, none otherwise), Linear 4·4·4DIM → 1."""

    def __init__(self, *, dim: int = 64, channels: int = 1, norm: str = "none"):
        super().__init__()
        self.n_classes = 0
        self.conv1 = conv(channels, dim, 5, stride=2)
        self.conv2, self.norm2 = conv(dim, 2 * dim, 5, stride=2), critic_norm(norm, 2 * dim)
        self.conv3, self.norm3 = conv(2 * dim, 4 * dim, 5, stride=2), critic_norm(norm, 4 * dim)
        self.output = linear(4 * 4 * 4 * dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = lrelu(self.conv1(x))  # (B, DIM, 14, 14)
        x = lrelu(self.norm2(self.conv2(x)))  # (B, 2DIM, 7, 7)
        x = lrelu(self.norm3(self.conv3(x)))  # (B, 4DIM, 4, 4)
        return self.output(x.flatten(1))
