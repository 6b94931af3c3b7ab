"""The 101-layer ResNet of the paper's architecture-robustness study (gan_64x64.py ResnetGenerator /
ResnetDiscriminator, SPEC.md).

BottleneckResidualBlock: ReLU → Conv 1x1 in→in/2 → ReLU → Conv 3x3 in/2→out/2 (stride 2 for
'down'; Deconv 3x3 stride 2 for 'up') → ReLU → Conv 1x1 out/2→out (no bias) → Norm;
out = shortcut + 0.3·main. Shortcut (1x1, he_init=False): strided conv ('down'), subpixel conv
('up'), identity when the shape is unchanged. Norm is batch norm in G; in the critic ``norm`` (the
reference's ``Normalize``: layer norm with WGAN-GP, batch norm with the other losses).
Each network has 33 blocks x 3 convs + the input layer + the output layer = 101 layers.
"""

from __future__ import annotations

import torch
from torch import nn

from image.layers import SubpixelConv, batch_norm, conv, critic_norm, deconv, linear
from seqgan_gp.activations import relu  # torch.relu, with a cheap double backward in the penalty's pass


class Bottleneck(nn.Module):
    def __init__(self, c_in: int, c_out: int, resample, norm):
        super().__init__()
        mid_in, mid_out = max(c_in // 2, 1), max(c_out // 2, 1)
        if resample == "down":
            self.shortcut = conv(c_in, c_out, 1, stride=2, he_init=False)
            self.conv1b = conv(mid_in, mid_out, 3, stride=2)
        elif resample == "up":
            self.shortcut = SubpixelConv(c_in, c_out, 1, he_init=False)
            self.conv1b = deconv(mid_in, mid_out, 3)
        elif resample is None:
            self.shortcut = nn.Identity() if c_in == c_out else conv(c_in, c_out, 1, he_init=False)
            self.conv1b = conv(mid_in, mid_out, 3)
        else:
            raise ValueError(f"resample must be 'up', 'down' or None, not {resample!r}")
        self.conv1 = conv(c_in, mid_in, 1)
        self.conv2 = conv(mid_out, c_out, 1, bias=False)
        self.norm = norm(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1b(relu(self.conv1(relu(x))))
        h = self.norm(self.conv2(relu(h)))
        return self.shortcut(x) + 0.3 * h


def _stage(c: int, n: int, norm) -> list[nn.Module]:
    return [Bottleneck(c, c, None, norm) for _ in range(n)]


class ResNet101Generator(nn.Module):
    """Linear 128 → 4·4·8d → 6 blocks at 4 px (8d) → up → 6 at 8 (4d) → up → 6 at 16 (2d) → up →
    6 at 32 (d) → up → 5 at 64 (d/2) → Conv 1x1 → tanh(x / 5)."""

    def __init__(self, *, dim: int = 64, z_dim: int = 128, channels: int = 3):
        super().__init__()
        self.z_dim, self.n_classes, self.channels, self.resolution, self.dim = z_dim, 0, channels, 64, dim
        d, h = dim, max(dim // 2, 1)
        self.input = linear(z_dim, 4 * 4 * 8 * d)
        bn = batch_norm
        self.blocks = nn.Sequential(
            *_stage(8 * d, 6, bn), Bottleneck(8 * d, 4 * d, "up", bn),
            *_stage(4 * d, 6, bn), Bottleneck(4 * d, 2 * d, "up", bn),
            *_stage(2 * d, 6, bn), Bottleneck(2 * d, d, "up", bn),
            *_stage(d, 6, bn), Bottleneck(d, h, "up", bn),
            *_stage(h, 5, bn),
        )
        self.out = conv(h, channels, 1, he_init=False)

    def forward(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        x = self.input(z).view(-1, 8 * self.dim, 4, 4)
        return torch.tanh(self.out(self.blocks(x)) / 5.0)  # (B, C, 64, 64)


class ResNet101Critic(nn.Module):
    """Conv 1x1 → d/2 → 5 blocks at 64 px → down → 6 at 32 (d) → down → 6 at 16 (2d) → down → 6 at 8
    (4d) → down → 6 at 4 (8d) → Linear 4·4·8d → 1, output / 5. ``norm`` in the blocks."""

    def __init__(self, *, dim: int = 64, channels: int = 3, norm: str = "layer"):
        super().__init__()
        self.n_classes = 0
        d, h = dim, max(dim // 2, 1)
        nrm = lambda c: critic_norm(norm, c)  # noqa: E731
        self.input = conv(channels, h, 1, he_init=False)
        self.blocks = nn.Sequential(
            *_stage(h, 5, nrm), Bottleneck(h, d, "down", nrm),
            *_stage(d, 6, nrm), Bottleneck(d, 2 * d, "down", nrm),
            *_stage(2 * d, 6, nrm), Bottleneck(2 * d, 4 * d, "down", nrm),
            *_stage(4 * d, 6, nrm), Bottleneck(4 * d, 8 * d, "down", nrm),
            *_stage(8 * d, 6, nrm),
        )
        self.output = linear(4 * 4 * 8 * d, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.blocks(self.input(x)).flatten(1)) / 5.0  # (B, 1)
