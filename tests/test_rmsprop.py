"""TensorFlow 1's RMSProp (the reference's clipping and LSGAN baselines) against hand computations,
its checkpoints, and the --rmsprop choice in configurations old and new."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from seqgan_gp.checkpoint import load_checkpoint, optimizer_from_flat, optimizer_to_flat, save_checkpoint
from seqgan_gp.config import with_overrides
from seqgan_gp.configfile import config_from_dict
from seqgan_gp.errors import UserError
from seqgan_gp.optimizers import TFRMSprop, make_optimizer
from seqgan_gp.text.config import PRESETS as TEXT_PRESETS
from seqgan_gp.text.config import TextConfig
from seqgan_gp.toy.config import ToyConfig

GRADS = [2.0, -0.5, 0.25]  # the gradient at steps 1, 2, 3


def run_steps(opt: torch.optim.Optimizer, p: nn.Parameter, grads) -> list[float]:
    out = []
    for g in grads:
        p.grad = torch.full_like(p, g)
        opt.step()
        out.append(p.item())
    return out


def test_three_steps_equal_the_closed_form_of_tfs_update():
    """ms₀ = 1; ms_t = ms_{t−1} + (g_t² − ms_{t−1})·0.1; w_t = w_{t−1} − α·g_t/√(ms_t + 1e-10), by hand."""
    lr, w0 = 0.01, 0.5
    # step 1: ms = 1 + (4 − 1)·0.1 = 1.3
    # step 2: ms = 1.3 + (0.25 − 1.3)·0.1 = 1.195
    # step 3: ms = 1.195 + (0.0625 − 1.195)·0.1 = 1.08175
    ms = [1.3, 1.195, 1.08175]
    expected, w = [], w0
    for g, m in zip(GRADS, ms):
        w -= lr * g / math.sqrt(m + 1e-10)
        expected.append(w)
    assert expected[0] == pytest.approx(0.48245883961385943, abs=1e-12)  # 0.5 − 0.02/√1.3 (ε: 7e-13)
    p = nn.Parameter(torch.tensor([w0], dtype=torch.float64))
    opt = TFRMSprop([p], lr=lr)
    assert run_steps(opt, p, GRADS) == pytest.approx(expected, abs=1e-15)
    assert opt.state[p]["square_avg"].item() == pytest.approx(ms[-1], abs=1e-15)


def test_float32_steps_are_tfs_kernel_bit_for_bit():
    """float32 parameters: the kernel's own operations and rounding (1 − ρ = 0.100000024 in float32)."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal(64).astype(np.float32)
    grads = [rng.standard_normal(64).astype(np.float32) * s for s in (1.0, 0.01, 30.0, 1e-4)]
    lr, rho, eps = np.float32(5e-5), np.float32(0.9), np.float32(1e-10)
    p = nn.Parameter(torch.from_numpy(w.copy()))
    opt = make_optimizer("rmsprop", [p], lr=5e-5)
    ms = np.ones_like(w)
    for g in grads:
        ms = ms + (g * g - ms) * (np.float32(1) - rho)  # ApplyRMSProp, momentum 0
        w = w - (g * lr) / np.sqrt(ms + eps)
        p.grad = torch.from_numpy(g.copy())
        opt.step()
        assert np.array_equal(p.detach().numpy(), w)
    assert np.array_equal(opt.state[p]["square_avg"].numpy(), ms)


def test_first_step_is_about_lr_times_g_where_pytorchs_is_about_3_16_lr():
    lr, g = 5e-5, 1e-3
    steps = {}
    for which in ("tf", "torch"):
        p = nn.Parameter(torch.zeros(1, dtype=torch.float64))
        run_steps(make_optimizer("rmsprop", [p], lr=lr, rmsprop=which), p, [g])
        steps[which] = -p.item()
    assert steps["tf"] == pytest.approx(lr * g / math.sqrt(1 + (g * g - 1) * 0.1), rel=1e-12)  # ≈ 1.054·lr·g
    assert steps["torch"] == pytest.approx(lr / math.sqrt(0.1), rel=1e-6)  # √0.1·|g| in the root: 3.16·lr
    assert steps["torch"] / steps["tf"] > 2900


def test_make_optimizer_choices():
    p = [nn.Parameter(torch.zeros(3))]
    tf = make_optimizer("rmsprop", p, lr=5e-5)
    assert isinstance(tf, TFRMSprop)
    assert {k: tf.param_groups[0][k] for k in ("lr", "decay", "eps")} == {"lr": 5e-5, "decay": 0.9, "eps": 1e-10}
    torch_rms = make_optimizer("rmsprop", p, lr=5e-5, rmsprop="torch")
    assert isinstance(torch_rms, torch.optim.RMSprop)
    with pytest.raises(ValueError, match="unknown RMSProp"):
        make_optimizer("rmsprop", p, lr=5e-5, rmsprop="keras")
    with pytest.raises(ValueError, match="decay"):
        TFRMSprop(p, lr=1e-3, decay=1.0)


def test_checkpointed_state_resumes_exactly(tmp_path):
    """Save the optimizer in a checkpoint file (flat tensors + JSON), restore it into a fresh one, go on."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 1))
    x = torch.randn(16, 3)
    opt = TFRMSprop(net.parameters(), lr=1e-2)

    def step(model, optimizer):
        optimizer.zero_grad(set_to_none=True)
        model(x).pow(2).mean().backward()
        optimizer.step()

    for _ in range(3):
        step(net, opt)
    tensors, meta = optimizer_to_flat("opt_D", opt)
    assert sorted(k.rsplit(".", 1)[1] for k in tensors) == ["square_avg"] * 4
    save_checkpoint(tmp_path / "c.safetensors", tensors, {"optim": meta, "iteration": 3})
    tensors, meta = load_checkpoint(tmp_path / "c.safetensors")
    meta = meta["optim"]
    twin = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 1))
    twin.load_state_dict(net.state_dict())
    twin_opt = TFRMSprop(twin.parameters(), lr=0.5)  # the checkpoint's learning rate wins
    optimizer_from_flat("opt_D", twin_opt, tensors, meta)
    assert twin_opt.param_groups[0]["lr"] == 1e-2
    for _ in range(3):
        step(net, opt), step(twin, twin_opt)
    for a, b in zip(net.parameters(), twin.parameters()):
        assert torch.equal(a, b)


def test_rmsprop_field_defaults_to_tf_and_older_files_to_torch():
    assert TextConfig().rmsprop == "tf" and ToyConfig().rmsprop == "tf"
    assert with_overrides(TEXT_PRESETS["paper"], loss="wgan", rmsprop="torch").rmsprop == "torch"
    with pytest.raises(UserError, match="--rmsprop keras"):
        TextConfig(rmsprop="keras")
    old = {k: v for k, v in TextConfig(loss="wgan").__dict__.items() if k != "rmsprop"}  # before --rmsprop
    assert config_from_dict(TextConfig, old, "config.json").rmsprop == "torch"  # what such runs ran with
    assert config_from_dict(TextConfig, {**old, "rmsprop": "tf"}, "config.json").rmsprop == "tf"
