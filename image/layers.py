"""Building blocks of the paper's image models, initialised as the reference code's tflib does.

SPEC.md "Common conventions (tflib)": every weight is drawn from a uniform with a matched standard
deviation (He for convolutions with ``he_init=True``, Glorot otherwise); biases start at zero;
convolutions pad 'SAME' exactly as TF does (asymmetrically for strided layers on even sizes: see
:func:`same_padding`); transposed convolutions always double the resolution. Batch norm uses the
batch's statistics both in training and when sampling (tflib calls it with ``is_training=None``),
so our batch norms keep no running statistics. A critic's normalisation is ``critic_norm``:
none, batch norm (the reference's baselines: every mode but wgan-gp) or layer norm over (C, H, W)
with a per-channel affine, which is exactly ``GroupNorm(1, C)`` (gan_64x64.py's WGAN-GP critics;
a penalty per example rules out batch statistics, SPEC.md pitfall 6).

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

from image.catalog import CRITIC_NORMS
from seqgan_gp.activations import leaky_relu
from seqgan_gp.init import tflib_conv_, tflib_linear_, uniform_std_


def linear(d_in: int, d_out: int, *, bias: bool = True) -> nn.Linear:
    """tflib Linear with its default (Glorot uniform) initialisation."""
    return tflib_linear_(nn.Linear(d_in, d_out, bias=bias))


def same_padding(size: int, k: int, stride: int) -> tuple[int, int]:
    """TF 'SAME' padding (before, after) of one axis: out = ⌈size / stride⌉,
    total = max((out − 1)·stride + k − size, 0), before = ⌊total / 2⌋, after = total − before.

    Asymmetric whenever ``total`` is odd: k5 stride 2 on an even size pads 1 before and 2 after
    (``padding=2`` would read windows one pixel up and left of TF's), k3 stride 2 pads 0 and 1.
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """A strided convolution with TF 'SAME' padding (:func:`same_padding`): the symmetric part
    inside the convolution, and the extra row and column TF adds after (after − before ≤ 1 for
    stride 2) by one ``F.pad`` at the end (cheaper in oneDNN than padding all four sides by hand)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (k_h, k_w), (s_h, s_w) = self.kernel_size, self.stride
        (top, bottom), (left, right) = same_padding(x.shape[-2], k_h, s_h), same_padding(x.shape[-1], k_w, s_w)
        if bottom != top or right != left:
            x = F.pad(x, (0, right - left, 0, bottom - top))
        return F.conv2d(x, self.weight, self.bias, self.stride, (top, left))


def conv(c_in: int, c_out: int, k: int, *, stride: int = 1, he_init: bool = True, bias: bool = True) -> nn.Conv2d:
    """tflib Conv2D: 'SAME' padding, uniform He (``he_init``) or Glorot initialisation. With stride 1
    and odd k, SAME is ``padding=k // 2``; strided layers use TF's asymmetric rule (:class:`SameConv2d`)."""
    if stride == 1 and k % 2 == 1:
        layer = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=bias)
    else:
        layer = SameConv2d(c_in, c_out, k, stride=stride, padding=0, bias=bias)
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


class SameConvTranspose2d(nn.ConvTranspose2d):
    """tflib Deconv2D: ``tf.nn.conv2d_transpose`` with stride 2, 'SAME' and output 2H x 2W, i.e. the
    adjoint of a 'SAME' stride-2 convolution from 2H x 2W to H x W. That convolution pads
    b = ⌊(k − 2) / 2⌋ before, so of the full transposed output ((H − 1)·2 + k rows) TF keeps rows
    b ... b + 2H − 1: ``padding=b`` crops b in front, and the rows past 2H are sliced off.
    (``padding=k // 2, output_padding=1`` would keep rows shifted by one for odd k.)"""

    def __init__(self, c_in: int, c_out: int, k: int, *, bias: bool = True):
        super().__init__(c_in, c_out, k, stride=2, padding=max(k - 2, 0) // 2, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        return super().forward(x)[..., : 2 * h, : 2 * w]


def deconv(c_in: int, c_out: int, k: int, *, he_init: bool = True, bias: bool = True) -> nn.ConvTranspose2d:
    """tflib Deconv2D: stride 2, TF 'SAME' (:class:`SameConvTranspose2d`), output exactly 2H x 2W."""
    return tflib_deconv_(SameConvTranspose2d(c_in, c_out, k, bias=bias), he_init=he_init)


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


def critic_norm(kind: str, c: int) -> nn.Module:
    """A critic's normalisation of ``c`` channels: 'none', 'batch' (tflib Batchnorm: batch statistics,
    2c parameters) or 'layer' (tflib Layernorm over (C, H, W): 2c parameters too)."""
    if kind == "none":
        return Identity()
    if kind == "batch":
        return batch_norm(c)
    if kind == "layer":
        return layer_norm(c)
    raise ValueError(f"critic norm must be one of {', '.join(CRITIC_NORMS)}, not {kind!r}")


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
    """No normalisation (gan_cifar_resnet.py's critic: NORMALIZATION_D=False); ignores labels."""

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
