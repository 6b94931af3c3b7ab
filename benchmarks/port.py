"""The baseline: the training step as the common PyTorch port of the paper writes it.

caogang/wgan-gp (gan_language.py, gan_cifar_resnet.py), modernised: each critic step runs three
critic passes (real, fake, interpolates) with three ``backward`` calls, the penalty's input gradient
from ``autograd.grad(create_graph=True)`` through PyTorch's ReLU (whose second derivative sends a
pass of zeros back through the interpolates' forward pass), ``zero_grad`` and PyTorch's default
Adam. For text, batches are one-hot encoded on the host with numpy and the networks are the port's
modules (``nn.ReLU`` blocks) carrying our initial weights. Two of the port's bugs are not copied:
the penalty's norm is over all non-batch dimensions (the port's language model takes it over one
axis), and the ReLU is not in-place (the port's changes the residual branch's input).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

Z_DIM = 128


class PortStep:
    """One generator iteration of the port: ``n_critic`` critic steps, then one generator step.

    ``real()`` returns the next real batch on the device; the critic may return (B,) or (B, 1).
    """

    def __init__(self, G: nn.Module, D: nn.Module, real: Callable[[], torch.Tensor], *, n_critic: int, batch: int,
                 gen_batch: int, lr: float, betas: tuple, lambda_gp: float = 10.0, z_dim: int = Z_DIM):
        self.G, self.D, self.real = G, D, real
        self.n_critic, self.batch, self.gen_batch, self.z_dim, self.lambda_gp = n_critic, batch, gen_batch, z_dim, lambda_gp
        self.device = next(G.parameters()).device
        self.g_opt = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
        self.d_opt = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
        self.one = torch.tensor(1.0, device=self.device)
        self.mone = -self.one

    def penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=self.device).expand(real.size())
        interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        disc = self.D(interpolates)
        gradients = torch.autograd.grad(outputs=disc, inputs=interpolates, grad_outputs=torch.ones_like(disc),
                                        create_graph=True, retain_graph=True, only_inputs=True)[0]
        return ((gradients.flatten(1).norm(2, dim=1) - 1) ** 2).mean() * self.lambda_gp

    def iteration(self) -> None:
        G, D = self.G, self.D
        for p in D.parameters():
            p.requires_grad = True
        for _ in range(self.n_critic):
            real = self.real()
            D.zero_grad()
            D(real).mean().backward(self.mone)
            with torch.no_grad():
                fake = G(torch.randn(self.batch, self.z_dim, device=self.device))
            D(fake).mean().backward(self.one)
            self.penalty(real, fake).backward()
            self.d_opt.step()
        for p in D.parameters():
            p.requires_grad = False
        G.zero_grad()
        D(G(torch.randn(self.gen_batch, self.z_dim, device=self.device))).mean().backward(self.mone)
        self.g_opt.step()


def host_onehot_batches(ids: np.ndarray, vocab: int, batch: int, device: torch.device, seed: int = 0):
    """The port's text batches: random rows one-hot encoded on the host, then copied to the device."""
    eye = np.eye(vocab, dtype=np.float32)
    rs = np.random.RandomState(seed)

    def real() -> torch.Tensor:
        return torch.from_numpy(eye[ids[rs.randint(0, len(ids), batch)]]).to(device)

    return real


# -- the port's text networks -------------------------------------------------------------------------

class PortResBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.res_block = nn.Sequential(nn.ReLU(), nn.Conv1d(dim, dim, 5, padding=2),
                                       nn.ReLU(), nn.Conv1d(dim, dim, 5, padding=2))

    def forward(self, x):
        return x + (0.3 * self.res_block(x))


class PortGenerator(nn.Module):
    def __init__(self, dim: int, seq_len: int, vocab: int, blocks: int):
        super().__init__()
        self.dim, self.seq_len = dim, seq_len
        self.fc1 = nn.Linear(Z_DIM, dim * seq_len)
        self.block = nn.Sequential(*[PortResBlock(dim) for _ in range(blocks)])
        self.conv1 = nn.Conv1d(dim, vocab, 1)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, noise):
        output = self.fc1(noise).view(-1, self.dim, self.seq_len)
        output = self.conv1(self.block(output)).transpose(1, 2)
        shape = output.size()
        output = self.softmax(output.contiguous().view(-1, shape[2]))
        return output.view(shape)


class PortCritic(nn.Module):
    def __init__(self, dim: int, seq_len: int, vocab: int, blocks: int):
        super().__init__()
        self.dim, self.seq_len = dim, seq_len
        self.block = nn.Sequential(*[PortResBlock(dim) for _ in range(blocks)])
        self.conv1d = nn.Conv1d(vocab, dim, 1)
        self.linear = nn.Linear(seq_len * dim, 1)

    def forward(self, x):
        output = self.block(self.conv1d(x.transpose(1, 2)))
        return self.linear(output.view(-1, self.seq_len * self.dim))


def port_weights(state: dict, *, generator: bool) -> dict:
    """Our text network's state dict under the port's parameter names (same tensors, same function):
    ``blocks.i.conv1/2`` → ``block.i.res_block.1/3``; G's ``fc``/``out`` → ``fc1``/``conv1``; D's
    ``inp``/``fc`` → ``conv1d``/``linear``."""
    heads = {"fc.": "fc1.", "out.": "conv1."} if generator else {"inp.": "conv1d.", "fc.": "linear."}
    out = {}
    for key, value in state.items():
        if key.startswith("blocks."):
            _, i, conv, rest = key.split(".")
            key = f"block.{i}.res_block.{1 if conv == 'conv1' else 3}.{rest}"
        else:
            head = next(h for h in heads if key.startswith(h))
            key = heads[head] + key[len(head):]
        out[key] = value.clone()
    return out
