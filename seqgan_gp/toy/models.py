"""The toy generator and critic of gan_toy.py (SPEC.md "gan_toy.py"), and the deep critics of the
paper's Section 3 gradient study.

    G: z ∈ R² → Linear(2→D) ReLU → Linear(D→D) ReLU → Linear(D→D) ReLU → Linear(D→2)
    D: x ∈ R² → Linear(2→D) ReLU → Linear(D→D) ReLU → Linear(D→D) ReLU → Linear(D→1)

with D = 512 in the paper and no normalisation. Initialisation is tflib's: uniform with the
standard deviation √(2/fan_in) ("he") for the ReLU layers and √(2/(fan_in+fan_out)) (Glorot) for
the output layer, biases zero.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from seqgan_gp.init import tflib_linear_, uniform_std_


@torch.no_grad()
def he_linear_(layer: nn.Linear) -> nn.Linear:
    """tflib Linear with initialization='he': U(±σ√3), σ = √(2 / fan_in); bias 0."""
    uniform_std_(layer.weight, math.sqrt(2.0 / layer.in_features))
    layer.bias.zero_()
    return layer


def relu_mlp(n_in: int, n_out: int, *, dim: int, hidden_layers: int) -> nn.Sequential:
    """``hidden_layers`` He-initialised Linear+ReLU layers of width ``dim``, then a Glorot Linear."""
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(hidden_layers):
        layers += [he_linear_(nn.Linear(width, dim)), nn.ReLU()]
        width = dim
    layers.append(tflib_linear_(nn.Linear(width, n_out)))
    return nn.Sequential(*layers)


class ToyGenerator(nn.Module):
    """z (B, 2) → points (B, 2)."""

    def __init__(self, dim: int = 512, z_dim: int = 2):
        super().__init__()
        self.z_dim = z_dim
        self.net = relu_mlp(z_dim, 2, dim=dim, hidden_layers=3)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)  # (B, 2)


class ToyCritic(nn.Module):
    """points (B, 2) → one unbounded score per point (B,).

    ``hidden_layers`` is 3 in gan_toy.py; the gradient-norm study of Section 3 (Figure 1b) uses
    12-layer critics of the same kind, still without batch norm.
    """

    def __init__(self, dim: int = 512, hidden_layers: int = 3):
        super().__init__()
        self.net = relu_mlp(2, 1, dim=dim, hidden_layers=hidden_layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(1)  # (B,)

    def linear_layers(self) -> list[nn.Linear]:
        """The critic's Linear layers, input side first."""
        return [m for m in self.net if isinstance(m, nn.Linear)]
