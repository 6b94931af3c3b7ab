"""The penalty and losses against hand computations (SPEC.md pitfall 1: norm over all dims)."""

import pytest
import torch
from torch import nn

from seqgan_gp.objectives import WGANGP, critic_loss
from seqgan_gp.penalty import gradient_penalty, interpolate


class Linear(nn.Module):
    """D(x) = <w, x> + b over all non-batch dims: ∇D = w everywhere, so ‖∇D‖ = ‖w‖ exactly."""

    def __init__(self, shape, scale):
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.w = nn.Parameter(torch.randn(shape, generator=g) * scale)
        self.b = nn.Parameter(torch.tensor(0.7))

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1) + self.b


@pytest.mark.parametrize("shape", [(7,), (5, 3), (3, 4, 4)])  # 2-D, 3-D and 4-D batches
@pytest.mark.parametrize("scale", [0.05, 1.0])
def test_penalty_of_linear_critic_is_known_exactly(shape, scale):
    critic = Linear(shape, scale)
    real, fake = torch.randn(6, *shape), torch.randn(6, *shape)
    loss, stats = critic_loss(WGANGP(lambda_gp=10.0), critic, real, fake, rng=torch.Generator().manual_seed(0))
    w_norm = critic.w.detach().flatten().norm().item()
    expected_gp = (w_norm - 1.0) ** 2
    d_real = (real * critic.w).flatten(1).sum(1) + 0.7
    d_fake = (fake * critic.w).flatten(1).sum(1) + 0.7
    expected_loss = d_fake.mean() - d_real.mean() + 10.0 * expected_gp
    assert stats["penalty"].item() == pytest.approx(expected_gp, rel=1e-5)
    assert loss.item() == pytest.approx(expected_loss.item(), rel=1e-5, abs=1e-5)
    assert stats["wasserstein"].item() == pytest.approx((d_real.mean() - d_fake.mean()).item(), rel=1e-5, abs=1e-6)


def test_norm_is_per_example_over_all_dims_not_one_axis():
    # gradient (B=2, L=2, V=2): per-example norms sqrt(1+1+1+1)=2 and 0
    grad = torch.tensor([[[1.0, 1.0], [1.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]]])
    assert gradient_penalty(grad).item() == pytest.approx(((2 - 1) ** 2 + (0 - 1) ** 2) / 2)
    # the PyTorch port's bug (norm over dim=1 only) would give mean over B*V of (sqrt(2)-1)^2 / (0-1)^2
    buggy = ((grad.norm(2, dim=1) - 1) ** 2).mean().item()
    assert gradient_penalty(grad).item() != pytest.approx(buggy)


def test_one_sided_penalty_ignores_norms_below_one():
    grad = torch.tensor([[0.5, 0.0], [3.0, 4.0]])  # norms 0.5 and 5
    assert gradient_penalty(grad, one_sided=True).item() == pytest.approx((0 + 16) / 2)
    assert gradient_penalty(grad).item() == pytest.approx((0.25 + 16) / 2)


def test_interpolation_uses_one_epsilon_per_example():
    real, fake = torch.ones(3, 2, 4), torch.zeros(3, 2, 4)
    eps = torch.tensor([0.0, 0.25, 1.0])
    x = interpolate(real, fake, eps)
    for i, e in enumerate(eps.tolist()):
        assert torch.all(x[i] == e)


def test_penalty_of_quadratic_critic_at_the_interpolates():
    """D(x) = Σ x²: ∇D(x̂) = 2x̂, so the penalty is mean((2‖x̂‖ − 1)²) at the same ε the loss drew."""

    class Quad(nn.Module):
        def __init__(self):
            super().__init__()
            self.dummy = nn.Parameter(torch.zeros(()))

        def forward(self, x):
            return (x ** 2).flatten(1).sum(1) + self.dummy

    real, fake = torch.randn(5, 3, 2), torch.randn(5, 3, 2)
    _, stats = critic_loss(WGANGP(), Quad(), real, fake, rng=torch.Generator().manual_seed(11))
    eps = torch.rand(5, generator=torch.Generator().manual_seed(11))
    x_hat = interpolate(real, fake, eps)
    expected = ((2 * x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert stats["penalty"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_generator_loss_is_minus_mean_critic_score():
    critic = Linear((4,), 1.0)
    fake = torch.randn(8, 4)
    loss, stats = WGANGP().generator_objective(critic, fake)
    assert loss.item() == pytest.approx(-critic(fake).mean().item(), rel=1e-6)


def test_critic_step_gradient_matches_three_separate_passes():
    """The fused passes (cat(real, fake), then x̂) give the parameter gradients of the textbook form."""
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 1))
    real, fake = torch.randn(4, 2, 3), torch.randn(4, 2, 3)
    loss, _ = critic_loss(WGANGP(lambda_gp=10.0), critic, real, fake, rng=torch.Generator().manual_seed(5))
    fused = torch.autograd.grad(loss, list(critic.parameters()))
    eps = torch.rand(4, generator=torch.Generator().manual_seed(5))
    x_hat = interpolate(real, fake, eps).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    ref = critic(fake).mean() - critic(real).mean() + 10 * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()
    reference = torch.autograd.grad(ref, list(critic.parameters()))
    for a, b in zip(fused, reference):
        assert torch.allclose(a, b, atol=1e-5)
