"""Building blocks of the paper's image models, initialised as the reference code's tflib does.

SPEC.md "Common conventions (tflib)": every weight is drawn from a uniform with a matched standard
deviation (He for convolutions with ``he_init=True``, Glorot otherwise); biases start at zero;
convolutions pad 'SAME'; transposed convolutions always double the resolution. Batch norm uses the
batch's statistics both in training and when sampling (tflib calls it with ``is_training=None``),
so our batch norms keep no running statistics. Critics never use batch norm (the penalty is per
example, SPEC.md pitfall 6): layer norm over (C, H, W) with a per-channel affine, which is exactly
``GroupNorm(1, C)``.

Resampling convolutions of gan_cifar_resnet.py / gan_64x64.py:

* ``ConvMeanPool``: convolution, then 2x2 mean pooling (tflib averages the four strided sub-grids).
* ``MeanPoolConv``: 2x2 mean pooling, then convolution.
* ``UpsampleConv``: nearest-neighbour 2x upsampling (tflib: four channel copies and
  depth_to_space), then convolution.
* ``SubpixelConv``: convolution to 4·C_out channels, then depth_to_space (pixel shuffle).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from seqgan_gp.activations import leaky_relu
from seqgan_gp.init import tflib_conv_, tflib_linear_, uniform_std_


def linear(d_in: int, d_out: int, *, bias: bool = True) -> nn.Linear:
    """tflib Linear with its default (Glorot uniform) initialisation."""
    return tflib_linear_(nn.Linear(d_in, d_out, bias=bias))


def conv(c_in: int, c_out: int, k: int, *, stride: int = 1, he_init: bool = True, bias: bool = True,
         padding: int | None = None) -> nn.Conv2d:
    """tflib Conv2D: 'SAME' padding (k // 2), uniform He (``he_init``) or Glorot initialisation."""
    layer = nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2 if padding is None else padding, bias=bias)
    return tflib_conv_(layer, he_init=he_init)


@torch.no_grad()
def tflib_deconv_(layer: nn.ConvTranspose2d, *, he_init: bool = True) -> nn.ConvTranspose2d:
    """tflib Deconv2D initialisation: fan_in = C_in·k²/4, fan_out = C_out·k² (stride 2)."""
    k = math.prod(layer.kernel_size)
    fan_in, fan_out = layer.in_channels * k / 4, layer.out_channels * k
    uniform_std_(layer.weight, math.sqrt((4.0 if he_init else 2.0) / (fan_in + fan_out)))
    if layer.bias is not None:
        layer.bias.zero_()
    return layer


def deconv(c_in: int, c_out: int, k: int, *, he_init: bool = True, bias: bool = True) -> nn.ConvTranspose2d:
    """tflib Deconv2D: stride 2, 'SAME', output exactly 2H x 2W."""
    layer = nn.ConvTranspose2d(c_in, c_out, k, stride=2, padding=k // 2, output_padding=1, bias=bias)
    return tflib_deconv_(layer, he_init=he_init)


@torch.no_grad()
def uniform_002_(module: nn.Module) -> nn.Module:
    """gan_64x64.py's DCGAN init: every Linear/Conv/Deconv weight ~ U(±0.02·√3) (std 0.02), bias 0."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            uniform_std_(m.weight, 0.02)
            if m.bias is not None:
                m.bias.zero_()
    return module


def batch_norm(c: int, *, dims: int = 2) -> nn.Module:
    """tflib Batchnorm: batch statistics always (also when sampling), eps 1e-5, scale 1, offset 0."""
    cls = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
    return cls(c, eps=1e-5, track_running_stats=False)


def layer_norm(c: int) -> nn.Module:
    """tflib Layernorm over (C, H, W) per example with a per-channel scale and offset (eps 1e-5)."""
    return nn.GroupNorm(1, c, eps=1e-5)


class CondBatchNorm(nn.Module):
    """Conditional batch norm (Dumoulin et al.; tflib cond_batchnorm.py): batch statistics over
    (N, H, W), then a per-class scale (init 1) and offset (init 0) looked up by label."""

    def __init__(self, c: int, n_classes: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(c, eps=1e-5, affine=False, track_running_stats=False)
        self.scale = nn.Parameter(torch.ones(n_classes, c))
        self.offset = nn.Parameter(torch.zeros(n_classes, c))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)  # (B, C, H, W)
        return x * self.scale[labels][:, :, None, None] + self.offset[labels][:, :, None, None]


class Identity(nn.Module):
    """No normalisation (gan_cifar_resnet.py's critic: NORMALIZATION_D=False)."""

    def forward(self, x, labels=None):
        return x


class Norm(nn.Module):
    """A normalisation that ignores labels, so residual blocks call every norm the same way."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x, labels=None):
        return self.inner(x)


class LabelNorm(nn.Module):
    """Conditional batch norm when labels are given (the conditional generator), else plain."""

    def __init__(self, c: int, n_classes: int):
        super().__init__()
        self.inner = CondBatchNorm(c, n_classes) if n_classes else batch_norm(c)
        self.conditional = bool(n_classes)

    def forward(self, x, labels=None):
        if self.conditional:
            if labels is None:
                raise ValueError("a conditional generator needs labels")
            return self.inner(x, labels)
        return self.inner(x)


class ConvMeanPool(nn.Module):
    def __init__(self, c_in, c_out, k, *, he_init=True, bias=True):
        super().__init__()
        self.conv = conv(c_in, c_out, k, he_init=he_init, bias=bias)

    def forward(self, x):
        return F.avg_pool2d(self.conv(x), 2)


class MeanPoolConv(nn.Module):
    def __init__(self, c_in, c_out, k, *, he_init=True, bias=True):
        super().__init__()
        self.conv = conv(c_in, c_out, k, he_init=he_init, bias=bias)

    def forward(self, x):
        return self.conv(F.avg_pool2d(x, 2))


class UpsampleConv(nn.Module):
    def __init__(self, c_in, c_out, k, *, he_init=True, bias=True):
        super().__init__()
        self.conv = conv(c_in, c_out, k, he_init=he_init, bias=bias)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class SubpixelConv(nn.Module):
    def __init__(self, c_in, c_out, k, *, he_init=True, bias=True):
        super().__init__()
        self.conv = conv(c_in, 4 * c_out, k, he_init=he_init, bias=bias)

    def forward(self, x):
        return F.pixel_shuffle(self.conv(x), 2)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """The reference code's LeakyReLU: max(0.2·x, x) (seqgan_gp.activations: same values, a cheap
    double backward in the penalty's pass)."""
    return leaky_relu(x, 0.2)
