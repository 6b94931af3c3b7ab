"""Image models: output shapes and ranges, tflib initialisation, no batch norm in any critic, the
101-layer count, conditional batch norm, one optimisation step of every model at tiny width, and the
AC-GAN objective against a hand computation."""

import math

import pytest
import torch
import torch.nn.functional as F

from image.acgan import ACGAN
from image.layers import CondBatchNorm, conv, deconv, linear
from image.models import MODELS, RESOLUTION, build_models
from image.models.resnet101 import Bottleneck
from seqgan_gp.objectives import WGANGP, critic_loss
from seqgan_gp.optimizers import make_optimizer

TINY = {**{m: 8 for m in MODELS}, "resnet101": 4, "resnet128": 4, "wgangp128-gn": 4}  # big models narrower


def tiny(model, **kw):
    torch.manual_seed(0)
    return build_models(model, dim=TINY[model], channels=1 if model == "mnist" else 3, **kw)


@pytest.mark.parametrize("model", MODELS)
def test_output_shape_and_range(model):
    G, D = tiny(model)
    z = torch.randn(4, 128)
    x = G(z)
    r = RESOLUTION[model]
    assert x.shape == (4, 1 if model == "mnist" else 3, r, r)
    lo = 0.0 if model == "mnist" else -1.0  # gan_mnist: sigmoid, data in [0, 1]
    assert x.min() >= lo and x.max() <= 1.0 and x.std() > 0
    assert D(x).shape == (4, 1)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in D.modules())  # pitfall 6


@pytest.mark.parametrize("model", MODELS)
def test_one_wgan_gp_step_on_cpu_changes_both_networks(model):
    G, D = tiny(model)
    g_opt = make_optimizer("adam", G.parameters(), lr=1e-3, betas=(0.0, 0.9))
    d_opt = make_optimizer("adam", D.parameters(), lr=1e-3, betas=(0.0, 0.9))
    loss, rng = WGANGP(), torch.Generator().manual_seed(0)
    real = torch.rand(2, 1 if model == "mnist" else 3, RESOLUTION[model], RESOLUTION[model])
    d_before = [p.detach().clone() for p in D.parameters()]
    with torch.no_grad():
        fake = G(torch.randn(2, 128))
    d_loss, stats = critic_loss(loss, D, real, fake, rng=rng)
    d_opt.zero_grad(), d_loss.backward(), d_opt.step()
    assert torch.isfinite(d_loss) and stats["penalty"] >= 0
    moved = [not torch.equal(a, b) for a, b in zip(d_before, D.parameters()) if b.grad is not None and b.grad.any()]
    assert moved and all(moved)  # (the output bias has no gradient in a WGAN: E D(x) − E D(x̃) ignores it)
    g_before = [p.detach().clone() for p in G.parameters()]
    g_loss, _ = loss.generator_objective(D, G(torch.randn(2, 128)))
    g_opt.zero_grad(), g_loss.backward(), g_opt.step()
    changed = [not torch.equal(a, b) for a, b in zip(g_before, G.parameters()) if b.grad is not None and b.grad.any()]
    assert torch.isfinite(g_loss) and all(changed) and len(changed) >= 0.8 * len(g_before)


def test_tflib_uniform_initialisation_statistics():
    torch.manual_seed(0)
    c = conv(64, 128, 3)  # he: std √(4 / (64·9 + 128·9))
    assert abs(c.weight.std().item() - math.sqrt(4 / (64 * 9 + 128 * 9))) < 2e-3
    assert c.weight.abs().max() <= math.sqrt(4 / (64 * 9 + 128 * 9)) * math.sqrt(3) + 1e-6 and (c.bias == 0).all()
    c2 = conv(64, 128, 5, stride=2, he_init=False)  # fan_out = 128·25/4
    assert abs(c2.weight.std().item() - math.sqrt(2 / (64 * 25 + 128 * 25 / 4))) < 1e-3
    d = deconv(128, 64, 5)  # fan_in = 128·25/4, fan_out = 64·25
    assert abs(d.weight.std().item() - math.sqrt(4 / (128 * 25 / 4 + 64 * 25))) < 2e-3
    lin = linear(128, 512)
    assert abs(lin.weight.std().item() - math.sqrt(2 / 640)) < 1e-3


def test_generators_use_batch_statistics_even_when_sampling():
    G, _ = tiny("cifar-resnet")
    G.eval()
    z = torch.randn(6, 128)
    together = G(z)
    assert not torch.allclose(together[:3], G(z[:3]))  # tflib BN: batch statistics always
    assert sum(b.numel() for b in G.buffers()) == 0  # no running statistics to save


def test_resnet101_has_101_layers_and_bottleneck_math():
    G, D = build_models("resnet101", dim=4)
    for net in (G, D):
        blocks = [m for m in net.modules() if isinstance(m, Bottleneck)]
        assert len(blocks) == 33
        main_convs = sum(3 for _ in blocks)
        assert main_convs + 2 == 101  # + input layer + output layer
    torch.manual_seed(0)
    blk = Bottleneck(8, 8, None, lambda c: torch.nn.GroupNorm(1, c))
    x = torch.randn(2, 8, 4, 4)
    h = blk.norm(blk.conv2(F.relu(blk.conv1b(F.relu(blk.conv1(F.relu(x)))))))
    assert torch.allclose(blk(x), x + 0.3 * h)  # identity shortcut, 0.3 residual scale


def test_conditional_batch_norm_uses_each_labels_scale_and_offset():
    cbn = CondBatchNorm(2, 3)
    with torch.no_grad():
        cbn.scale[1] = torch.tensor([2.0, 3.0])
        cbn.offset[2] = torch.tensor([5.0, -1.0])
    x = torch.randn(4, 2, 3, 3)
    labels = torch.tensor([0, 1, 2, 1])
    normed = (x - x.mean((0, 2, 3), keepdim=True)) / torch.sqrt(x.var((0, 2, 3), unbiased=False, keepdim=True) + 1e-5)
    out = cbn(x, labels)
    assert torch.allclose(out[0], normed[0], atol=1e-5)
    assert torch.allclose(out[1], normed[1] * torch.tensor([2.0, 3.0])[:, None, None], atol=1e-5)
    assert torch.allclose(out[2], normed[2] + torch.tensor([5.0, -1.0])[:, None, None], atol=1e-5)


def test_conditional_cifar_resnet_depends_on_labels_and_has_an_acgan_head():
    G, D = tiny("cifar-resnet", n_classes=10)
    with torch.no_grad():
        for p in G.modules():
            if isinstance(p, CondBatchNorm):
                p.scale.uniform_(0.5, 1.5)
    z = torch.randn(4, 128).repeat(2, 1)
    labels = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    x = G(z, labels=labels)
    assert not torch.allclose(x[:4], x[4:])
    score, logits = D(x)
    assert score.shape == (8, 1) and logits.shape == (8, 10)
    with pytest.raises(ValueError, match="labels"):
        G(z)


def test_acgan_objective_matches_a_hand_computation():
    _, D = tiny("cifar-resnet", n_classes=10)
    real, fake = torch.rand(3, 3, 32, 32) * 2 - 1, torch.rand(3, 3, 32, 32) * 2 - 1
    labels = torch.tensor([1, 7, 3])
    base = WGANGP()
    acgan = ACGAN(base, scale_d=1.0, scale_g=0.1)
    loss, stats = critic_loss(acgan, D, real, fake, rng=torch.Generator().manual_seed(5), labels=labels)

    score_only = lambda x: D(x)[0]  # noqa: E731
    base_loss, _ = critic_loss(base, score_only, real, fake, rng=torch.Generator().manual_seed(5))
    ce_real = F.cross_entropy(D(real)[1], labels)  # on REAL images only
    assert torch.allclose(loss, base_loss + ce_real, atol=1e-5)
    assert torch.allclose(stats["acgan"], ce_real, atol=1e-6)
    assert stats["acc_real"] == (D(real)[1].argmax(1) == labels).float().mean()

    g_loss, g_stats = acgan.generator_objective(D, fake, labels=labels)
    assert torch.allclose(g_loss, -D(fake)[0].mean() + 0.1 * F.cross_entropy(D(fake)[1], labels), atol=1e-5)
    assert set(g_stats) == {"gen_loss", "acgan_g"}


@pytest.mark.slow
def test_the_compiled_acgan_critic_step_computes_the_eager_one(monkeypatch):
    """--compile traces the AC-GAN objective too (its own pass for score and logits, the penalty on the
    score): a critic step of the conditional CIFAR ResNet, compiled with aot_eager, gives the eager
    step's statistics and gradients. (Only one step: Adam turns float noise in the zero gradient of
    the score's bias into full steps, so later steps are not comparable; tests/test_fast_step.py.)"""
    from dataclasses import replace

    from image.config import paper_config
    from image.data import open_source
    from image.task import ImageTask
    from seqgan_gp import steps
    from seqgan_gp.distributed import SINGLE
    from seqgan_gp.runtime import RuntimeOptions, resolve_runtime

    real_compile = torch.compile
    monkeypatch.setattr(steps.torch, "compile", lambda fn, **kw: real_compile(fn, backend="aot_eager"))
    cpu, cfg = torch.device("cpu"), replace(paper_config("cifar-resnet", "tiny"), conditional=True)
    source = open_source("embedded", None, embedded_size=64)
    runs = []
    for options in (RuntimeOptions(), RuntimeOptions(compile=True)):
        torch.manual_seed(0)
        trainable = ImageTask().build(cfg, source, cpu, SINGLE)
        try:
            iteration = trainable.iteration(resolve_runtime(options, cpu))
            stats = iteration.step.critic(*trainable.state.batches.next())
        finally:
            trainable.close()
        runs.append((stats, {k: p.grad for k, p in trainable.state.modules["D"].named_parameters()}))
    (eager, grads_eager), (compiled, grads_compiled) = runs
    assert {"acgan", "acc_real", "penalty", "wasserstein"} <= set(eager)
    for key in eager:
        assert torch.allclose(eager[key], compiled[key], rtol=1e-4, atol=1e-5), key
    for key, grad in grads_eager.items():
        assert torch.allclose(grad, grads_compiled[key], rtol=1e-3, atol=1e-6), key
