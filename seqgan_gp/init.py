"""The reference code's weight initialisation (tflib), SPEC.md "Common conventions".

Weights are drawn from U(±σ·√3), i.e. a uniform with standard deviation σ; biases are zero.

* Linear (default, Glorot):  σ = √(2 / (fan_in + fan_out))
* Conv (he_init=True):       σ = √(4 / (fan_in + fan_out)),  fan_in = C_in·k^d, fan_out = C_out·k^d / stride^d
* Conv (he_init=False):      σ = √(2 / (fan_in + fan_out))
"""

from __future__ import annotations

import math

import torch
from torch import nn


@torch.no_grad()
def uniform_std_(weight: torch.Tensor, std: float) -> torch.Tensor:
    bound = std * math.sqrt(3.0)
    return weight.uniform_(-bound, bound)


@torch.no_grad()
def tflib_linear_(layer: nn.Linear) -> nn.Linear:
    uniform_std_(layer.weight, math.sqrt(2.0 / (layer.in_features + layer.out_features)))
    if layer.bias is not None:
        layer.bias.zero_()
    return layer


@torch.no_grad()
def tflib_conv_(layer: nn.modules.conv._ConvNd, *, he_init: bool = True) -> nn.modules.conv._ConvNd:
    k = math.prod(layer.kernel_size)
    stride = math.prod(layer.stride)
    fan_in = layer.in_channels * k
    fan_out = layer.out_channels * k / stride
    uniform_std_(layer.weight, math.sqrt((4.0 if he_init else 2.0) / (fan_in + fan_out)))
    if layer.bias is not None:
        layer.bias.zero_()
    return layer
