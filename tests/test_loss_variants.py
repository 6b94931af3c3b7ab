"""Every loss mode against a hand computation, and the paper's optimizer defaults (SPEC.md tables)."""

import json
import math

import pytest
import torch
from torch import nn

from seqgan_gp.config import with_overrides
from seqgan_gp.objectives import (LOSSES, DCGANLoss, LSGANLoss, WGANClip, critic_loss, make_objective,
                                  real_and_fake_scores)
from seqgan_gp.optimizers import LOSS_DEFAULTS, TFRMSprop, make_optimizer
from seqgan_gp.text.config import PRESETS as TEXT_PRESETS
from seqgan_gp.toy.config import PRESETS as TOY_PRESETS

RNG = torch.Generator().manual_seed(0)

# Known critic outputs: D(x) = x[:, 0], so D(real) = [1, 3] and D(fake) = [0, −2].
REAL = torch.tensor([[1.0, 5.0], [3.0, -1.0]])
FAKE = torch.tensor([[0.0, 2.0], [-2.0, 7.0]])


class FirstCoordinate(nn.Module):
    """D(x) = x[:, 0] + 0·p: known scores, and a parameter so optimizers have something to hold."""

    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x[:, 0] + 0.0 * self.p


class Linear(nn.Module):
    """D(x) = <w, x>: ∇D = w everywhere, so the penalty is (‖w‖ − 1)² exactly."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))

    def forward(self, x):
        return x @ self.w


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_wgan_clip_loss_is_the_mean_score_gap():
    loss, stats = critic_loss(WGANClip(), FirstCoordinate(), REAL, FAKE, rng=RNG)
    # E D(fake) − E D(real) = (0 − 2)/2 − (1 + 3)/2 = −1 − 2 = −3
    assert loss.item() == pytest.approx(-3.0)
    assert stats["wasserstein"].item() == pytest.approx(3.0)
    g_loss, _ = WGANClip().generator_objective(FirstCoordinate(), FAKE)
    assert g_loss.item() == pytest.approx(1.0)  # −E D(fake) = −(−1)


def test_dcgan_loss_is_halved_bce_and_non_saturating_generator():
    loss, _ = critic_loss(DCGANLoss(), FirstCoordinate(), REAL, FAKE, rng=RNG)
    # BCE(s, 0) = softplus(s), BCE(s, 1) = softplus(−s)
    fake_term = (softplus(0.0) + softplus(-2.0)) / 2
    real_term = (softplus(-1.0) + softplus(-3.0)) / 2
    assert loss.item() == pytest.approx(0.5 * (fake_term + real_term), rel=1e-6)
    g_loss, _ = DCGANLoss().generator_objective(FirstCoordinate(), FAKE)
    assert g_loss.item() == pytest.approx((softplus(-0.0) + softplus(2.0)) / 2, rel=1e-6)


def test_lsgan_loss_is_least_squares():
    loss, _ = critic_loss(LSGANLoss(), FirstCoordinate(), REAL, FAKE, rng=RNG)
    # ½[E(D(x) − 1)² + E D(x̃)²] = ½[(0 + 4)/2 + (0 + 4)/2] = 2
    assert loss.item() == pytest.approx(2.0)
    g_loss, _ = LSGANLoss().generator_objective(FirstCoordinate(), FAKE)
    assert g_loss.item() == pytest.approx(((0 - 1) ** 2 + (-2 - 1) ** 2) / 2)  # 5


@pytest.mark.parametrize("w, two_sided, one_sided", [
    ([0.3, 0.4], 0.25, 0.0),  # ‖w‖ = 0.5: only the two-sided penalty pulls it up
    ([1.2, 1.6], 1.0, 1.0),  # ‖w‖ = 2: both penalise the excess
    ([0.6, 0.8], 0.0, 0.0),  # ‖w‖ = 1: nothing to penalise
])
def test_two_and_one_sided_penalty_of_a_linear_critic(w, two_sided, one_sided):
    D = Linear(w)
    w_t = torch.tensor(w)
    gap = (FAKE @ w_t).mean() - (REAL @ w_t).mean()
    for loss_obj, expected in [(make_objective("wgan-gp", lambda_gp=10.0), two_sided),
                               (make_objective("wgan-gp-one-sided", lambda_gp=10.0), one_sided)]:
        loss, stats = critic_loss(loss_obj, D, REAL, FAKE, rng=torch.Generator().manual_seed(1))
        assert stats["penalty"].item() == pytest.approx(expected, abs=1e-6)
        assert loss.item() == pytest.approx(gap.item() + 10.0 * expected, abs=1e-5)


def test_clipping_clamps_every_critic_parameter_after_the_step():
    critic = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    with torch.no_grad():
        critic[0].weight.copy_(torch.tensor([[-1.0, 0.005], [0.3, -0.002], [0.01, -0.01]]))
        critic[0].bias.copy_(torch.tensor([2.0, -0.5, 0.0]))
        critic[2].weight.copy_(torch.tensor([[0.02, -0.03, 0.001]]))
        critic[2].bias.fill_(-7.0)
    WGANClip(clip=0.01).after_critic_step(critic)
    assert torch.allclose(critic[0].weight, torch.tensor([[-0.01, 0.005], [0.01, -0.002], [0.01, -0.01]]))
    assert critic[0].bias.tolist() == pytest.approx([0.01, -0.01, 0.0])
    assert torch.allclose(critic[2].weight, torch.tensor([[0.01, -0.01, 0.001]]))
    assert critic[2].bias.item() == pytest.approx(-0.01)
    for loss in (make_objective("wgan-gp"), make_objective("dcgan"), make_objective("lsgan")):
        before = [p.clone() for p in critic.parameters()]
        loss.after_critic_step(critic)  # the other objectives leave the weights alone
        assert all(torch.equal(a, b) for a, b in zip(before, critic.parameters()))


def test_clipping_bound_comes_from_make_objective():
    assert make_objective("wgan").clip == 0.01  # paper: c = 0.01
    assert make_objective("wgan", clip=0.1).clip == 0.1
    assert make_objective("wgan-gp", lambda_gp=0.1).lambda_gp == 0.1 and not make_objective("wgan-gp").one_sided
    assert make_objective("wgan-gp-one-sided").one_sided
    with pytest.raises(ValueError):
        make_objective("hinge")


def test_loss_defaults_are_the_papers():
    assert set(LOSS_DEFAULTS) == set(LOSSES)
    wgan, dcgan, lsgan = LOSS_DEFAULTS["wgan"], LOSS_DEFAULTS["dcgan"], LOSS_DEFAULTS["lsgan"]
    assert (wgan.optimizer, wgan.lr, wgan.n_critic) == ("rmsprop", 5e-5, 5)
    assert (dcgan.optimizer, dcgan.lr, dcgan.betas, dcgan.n_critic) == ("adam", 2e-4, (0.5, 0.999), 1)
    assert (lsgan.optimizer, lsgan.lr, lsgan.n_critic) == ("rmsprop", 1e-4, 1)
    for name in ("wgan-gp", "wgan-gp-one-sided"):  # Adam with the model's own lr, betas and n_critic
        d = LOSS_DEFAULTS[name]
        assert (d.optimizer, d.lr, d.betas, d.n_critic) == ("adam", None, None, None)


def test_optimizers_are_the_reference_codes():
    p = [nn.Parameter(torch.zeros(3))]
    rms = make_optimizer("rmsprop", p, lr=5e-5)
    assert isinstance(rms, TFRMSprop)  # TF1's RMSPropOptimizer (tests/test_rmsprop.py)
    g = rms.param_groups[0]
    assert (g["lr"], g["decay"], g["eps"]) == (5e-5, 0.9, 1e-10)  # TF: decay 0.9, ε 1e-10
    adam = make_optimizer("adam", p, lr=1e-4, betas=(0.5, 0.9))
    assert isinstance(adam, torch.optim.Adam) and adam.param_groups[0]["betas"] == (0.5, 0.9)


@pytest.mark.parametrize("loss, lr, critic_iters, betas", [
    ("wgan", 5e-5, 5, (0.5, 0.9)),
    ("dcgan", 2e-4, 1, (0.5, 0.999)),
    ("lsgan", 1e-4, 1, (0.5, 0.9)),
    ("wgan-gp-one-sided", 1e-4, 10, (0.5, 0.9)),  # the text model's own WGAN-GP settings
])
def test_choosing_a_loss_brings_its_paper_hyperparameters(loss, lr, critic_iters, betas):
    cfg = with_overrides(TEXT_PRESETS["paper"], loss=loss)
    assert (cfg.loss, cfg.lr, cfg.critic_iters, cfg.betas) == (loss, lr, critic_iters, betas)
    explicit = with_overrides(TEXT_PRESETS["paper"], loss=loss, lr=3e-3, critic_iters=2)
    assert (explicit.lr, explicit.critic_iters) == (3e-3, 2)  # flags win over the loss's defaults
    toy = with_overrides(TOY_PRESETS["paper"], loss=loss)
    assert (toy.lr, toy.critic_iters) == (lr, 5 if loss.startswith("wgan-gp") else critic_iters)


def test_train_text_with_loss_wgan_trains_with_rmsprop_and_clipping(cli_runner, tmp_path):
    from cli import cli
    from seqgan_gp.checkpoint import load_checkpoint

    out = tmp_path / "run"
    r = cli_runner.invoke(cli, ["train-text", "--preset", "tiny", "--loss", "wgan", "--clip", "0.02", "--iters", "2",
                                "--out", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    cfg = json.loads((out / "config.json").read_text())["config"]
    assert (cfg["loss"], cfg["lr"], cfg["critic_iters"], cfg["clip"]) == ("wgan", 5e-5, 5, 0.02)
    tensors, meta = load_checkpoint(out / "checkpoints" / "checkpoint_00000002.safetensors")
    group = meta["optim"]["D"]["param_groups"][0]
    assert group["lr"] == 5e-5 and group["decay"] == 0.9 and "betas" not in group  # TF's RMSProp
    assert cfg["rmsprop"] == "tf" and sorted({k.rsplit(".", 1)[1] for k in tensors if k.startswith("opt_D.")}) == [
        "square_avg"]
    critic = {k: v for k, v in tensors.items() if k.startswith("D.")}
    assert critic and all(v.abs().max().item() <= 0.02 + 1e-7 for v in critic.values())  # clipped after each step


class RecordingCritic(nn.Module):
    """A small critic that remembers the batch of every call; with ``batch_norm`` it normalises by
    the statistics of its batch, as the reference's DCGAN / LSGAN / WGAN-clipping critics do."""

    def __init__(self, batch_norm: bool):
        super().__init__()
        torch.manual_seed(0)
        self.inp = nn.Linear(2, 4)
        self.norm = nn.BatchNorm1d(4) if batch_norm else nn.Identity()
        self.out = nn.Linear(4, 1)
        self.calls: list[torch.Tensor] = []

    def forward(self, x):
        self.calls.append(x.detach().clone())
        return self.out(torch.relu(self.norm(self.inp(x)))).squeeze(1)


def test_a_critic_without_batch_statistics_scores_real_and_fake_in_one_pass():
    critic = RecordingCritic(batch_norm=False)
    d_real, d_fake = real_and_fake_scores(critic, REAL, FAKE)
    assert len(critic.calls) == 1 and torch.equal(critic.calls[0], torch.cat([REAL, FAKE]))
    assert torch.allclose(d_real, critic(REAL)) and torch.allclose(d_fake, critic(FAKE))


def test_a_critic_with_batch_norm_scores_real_and_fake_in_separate_passes():
    critic = RecordingCritic(batch_norm=True)
    d_real, d_fake = real_and_fake_scores(critic, REAL, FAKE)
    assert [c.shape[0] for c in critic.calls] == [2, 2]
    assert torch.equal(critic.calls[0], REAL) and torch.equal(critic.calls[1], FAKE)
    # each batch normalised by its own statistics, not by those of the joint batch
    assert torch.allclose(d_real, critic(REAL)) and torch.allclose(d_fake, critic(FAKE))
    joint = critic(torch.cat([REAL, FAKE]))
    assert not torch.allclose(joint[:2], d_real)
    critic.eval()  # running statistics: no batch statistics, back to one pass
    critic.calls.clear()
    real_and_fake_scores(critic, REAL, FAKE)
    assert len(critic.calls) == 1


def test_a_critic_step_with_batch_norm_scores_each_batch_alone_and_compile_refuses_it():
    from seqgan_gp.errors import UserError
    from seqgan_gp.runtime import RuntimeOptions, resolve_runtime
    from seqgan_gp.steps import AdversarialStep, CompiledStep

    class G(nn.Module):
        z_dim = 3

        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, z):
            return self.fc(z)

    gen, critic, rt = G(), RecordingCritic(batch_norm=True), resolve_runtime(RuntimeOptions(), torch.device("cpu"))
    parts = dict(G=gen, D=critic, g_opt=make_optimizer("adam", gen.parameters(), lr=1e-3),
                 d_opt=make_optimizer("adam", critic.parameters(), lr=1e-3), objective=LSGANLoss(),
                 rng=torch.Generator().manual_seed(0), runtime=rt)
    AdversarialStep(**parts).critic(REAL)
    assert [c.shape[0] for c in critic.calls] == [2, 2] and torch.equal(critic.calls[0], REAL)
    with pytest.raises(UserError, match="--compile: this critic has batch norm .* drop --compile"):
        CompiledStep(**parts)
