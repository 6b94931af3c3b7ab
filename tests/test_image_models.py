"""Image models: output shapes and ranges, tflib initialisation, the critic's normalisation per loss
as the reference has it (and parameter counts from the reference's layer shapes), TF 'SAME' padding
against hand computations, the 101-layer count, conditional batch norm, one optimisation step of
every model at tiny width, and the AC-GAN objective against a hand computation."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqgan_gp.acgan import ACGAN
from image.layers import CondBatchNorm, conv, deconv, linear, same_padding
from image.models import MODELS, RESOLUTION, build_models, reference_critic_norm
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
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in D.modules())  # wgan-gp: pitfall 6


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


# -- the critic's normalisation per loss (issue: baseline critics as the reference ran them) ---------

@pytest.mark.parametrize("model, expected", [
    # (wgan-gp, wgan-gp-one-sided, wgan, dcgan, lsgan), read from the reference scripts
    ("cifar-dcgan", ("none", "none", "batch", "batch", "batch")),  # gan_cifar.py: BN if MODE != 'wgan-gp'
    ("mnist", ("none", "none", "batch", "none", "none")),  # gan_mnist.py: BN if MODE == 'wgan'
    ("cifar-resnet", ("none",) * 5),  # gan_cifar_resnet.py: NORMALIZATION_D = False
    ("resnet64", ("layer", "layer", "batch", "batch", "batch")),  # gan_64x64.py Normalize
    ("dcgan64", ("layer", "layer", "batch", "batch", "batch")),
    ("resnet101", ("layer", "layer", "batch", "batch", "batch")),
    ("resnet128", ("layer", "layer", "batch", "batch", "batch")),
    ("wgangp128-gn", ("layer",) * 5),  # mmgeneration: a GN critic, WGAN-GP only
])
def test_reference_critic_norm_per_model_and_loss(model, expected):
    losses = ("wgan-gp", "wgan-gp-one-sided", "wgan", "dcgan", "lsgan")
    assert tuple(reference_critic_norm(model, loss) for loss in losses) == expected


def norm_types(module):
    return [type(m).__name__ for m in module.modules() if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.GroupNorm))]


def test_baseline_critics_have_batch_norm_exactly_where_the_reference_does():
    torch.manual_seed(0)
    _, D = build_models("cifar-dcgan", dim=8, loss="dcgan")
    assert isinstance(D.norm2, torch.nn.BatchNorm2d) and D.norm2.num_features == 16
    assert isinstance(D.norm3, torch.nn.BatchNorm2d) and D.norm3.num_features == 32
    assert norm_types(D) == ["BatchNorm2d"] * 2  # none after the first conv
    x = torch.randn(6, 3, 32, 32)
    assert not torch.allclose(D(x)[:3], D(x[:3]))  # batch statistics: a score depends on the batch
    _, D_gp = build_models("cifar-dcgan", dim=8, loss="wgan-gp")
    assert norm_types(D_gp) == [] and torch.allclose(D_gp(x)[:3], D_gp(x[:3]), atol=1e-6)  # per example
    _, D64 = build_models("dcgan64", dim=4, loss="lsgan")
    assert norm_types(D64) == ["BatchNorm2d"] * 3 and [n.num_features for n in D64.norms] == [8, 16, 32]
    assert norm_types(build_models("dcgan64", dim=4)[1]) == ["GroupNorm"] * 3  # wgan-gp: layer norm
    G, Dm = build_models("mnist", dim=4, channels=1, loss="wgan")
    assert norm_types(Dm) == ["BatchNorm2d"] * 2 and len(norm_types(G)) == 2  # (+ the BatchNorm1d of G.bn0)
    G, Dm = build_models("mnist", dim=4, channels=1, loss="dcgan")
    assert norm_types(Dm) == [] and norm_types(G) == []  # gan_mnist's dcgan mode has none anywhere
    _, Dr = build_models("resnet101", dim=4, loss="wgan")
    assert norm_types(Dr) == ["BatchNorm2d"] * 33
    _, Dc = build_models("cifar-resnet", dim=8, critic_norm="layer")  # the user's choice over the reference's
    assert norm_types(Dc) == ["GroupNorm"] * 6  # N1, N2 of the three blocks after the optimised first one
    with pytest.raises(ValueError, match="critic_norm must be one of none, batch, layer"):
        build_models("mnist", dim=4, critic_norm="group")


def conv_params(c_in, c_out, k, bias=True):
    return c_in * c_out * k * k + (c_out if bias else 0)


def lin(d_in, d_out):
    return d_in * d_out + d_out


def ref_cifar_critic(d, norm, c=3):  # gan_cifar.py / gan_mnist.py Discriminator
    n = 2 * (2 * d + 4 * d) if norm else 0
    return conv_params(c, d, 5) + conv_params(d, 2 * d, 5) + conv_params(2 * d, 4 * d, 5) + n + lin(16 * 4 * d, 1)


def ref_dcgan64_critic(d, norm):  # gan_64x64.py DCGANDiscriminator (bn=True or False)
    convs = sum(conv_params(i, o, 5) for i, o in ((3, d), (d, 2 * d), (2 * d, 4 * d), (4 * d, 8 * d)))
    return convs + (2 * (2 * d + 4 * d + 8 * d) if norm else 0) + lin(16 * 8 * d, 1)


def ref_good_critic(d, norm):  # gan_64x64.py GoodDiscriminator: Input conv, 4 'down' ResidualBlocks, Output
    def block(i, o):  # MeanPoolConv shortcut, BN1(i), Conv1 i→i no bias, BN2(i), ConvMeanPool i→o
        norms = 2 * (2 * i) * norm
        return conv_params(i, o, 1) + norms + conv_params(i, i, 3, bias=False) + conv_params(i, o, 3)
    return conv_params(3, d, 3) + block(d, 2 * d) + block(2 * d, 4 * d) + block(4 * d, 8 * d) + block(8 * d, 8 * d) \
        + lin(16 * 8 * d, 1)


def ref_resnet101_critic(d):  # gan_64x64.py ResnetDiscriminator with BottleneckResidualBlocks
    def block(i, o, down):
        short = conv_params(i, o, 1) if down or i != o else 0
        main = conv_params(i, i // 2, 1) + conv_params(i // 2, o // 2, 3) + conv_params(o // 2, o, 1, bias=False)
        return short + main + 2 * o  # + Normalize(out): 2 per channel
    h, total = d // 2, conv_params(3, d // 2, 1) + lin(16 * 8 * d, 1)
    for c_in, c_out, n in ((h, d, 5), (d, 2 * d, 6), (2 * d, 4 * d, 6), (4 * d, 8 * d, 6)):
        total += n * block(c_in, c_in, False) + block(c_in, c_out, True)
    return total + 6 * block(8 * d, 8 * d, False)


def ref_cifar_resnet_critic(d, n_classes):  # gan_cifar_resnet.py, NORMALIZATION_D = False
    first = conv_params(3, d, 1) + conv_params(3, d, 3) + conv_params(d, d, 3)
    down = conv_params(d, d, 1) + 2 * conv_params(d, d, 3)
    return first + down + 2 * 2 * conv_params(d, d, 3) + lin(d, 1) + (lin(d, n_classes) if n_classes else 0)


def ref_cifar_generator(d):  # gan_cifar.py Generator: BN1 over axis [0] has one scale and offset per feature
    return (lin(128, 16 * 4 * d) + 2 * 16 * 4 * d + conv_params(4 * d, 2 * d, 5) + 2 * 2 * d
            + conv_params(2 * d, d, 5) + 2 * d + conv_params(d, 3, 5))


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_equal_the_reference_for_each_model_and_critic_norm():
    from image.models.dcgan import CifarDCGANCritic, CifarDCGANGenerator, DCGAN64Critic, MnistCritic
    from image.models.resnet import CifarResNetCritic, GoodCritic
    from image.models.resnet101 import ResNet101Critic

    assert n_params(CifarDCGANGenerator(dim=128)) == ref_cifar_generator(128)
    for norm, has in (("none", False), ("batch", True)):  # gan_cifar: wgan-gp / wgan, dcgan
        assert n_params(CifarDCGANCritic(dim=128, norm=norm)) == ref_cifar_critic(128, has)
        assert n_params(MnistCritic(dim=64, channels=1, norm=norm)) == ref_cifar_critic(64, has, c=1)
    for norm in ("layer", "batch"):  # gan_64x64: Normalize is LN with wgan-gp, BN otherwise: 2C each
        # 4864 + 204,928 + 819,456 + 3,277,312 (convs) + 1,792 (norms) + 8,193 (linear)
        assert n_params(DCGAN64Critic(dim=64, norm=norm)) == ref_dcgan64_critic(64, True) == 4_316_545
        assert n_params(GoodCritic(dim=64, norm=norm)) == ref_good_critic(64, True)
        assert n_params(ResNet101Critic(dim=64, norm=norm)) == ref_resnet101_critic(64)
    assert n_params(DCGAN64Critic(dim=64, norm="none")) == ref_dcgan64_critic(64, False)  # the bn=False variant
    assert n_params(CifarResNetCritic(dim=128)) == ref_cifar_resnet_critic(128, 0)
    assert n_params(CifarResNetCritic(dim=128, n_classes=10)) == ref_cifar_resnet_critic(128, 10)


# -- TF 'SAME' padding -----------------------------------------------------------------------------

def test_same_padding_is_tfs_rule():
    assert same_padding(32, 5, 2) == (1, 2)  # CIFAR critic: 32 → 16
    assert same_padding(28, 5, 2) == (1, 2) and same_padding(14, 5, 2) == (1, 2)  # MNIST 28 → 14 → 7
    assert same_padding(7, 5, 2) == (2, 2)  # MNIST 7 → 4: odd size, symmetric
    assert same_padding(64, 3, 2) == (0, 1)  # ResNet-101 'down' 3x3
    assert same_padding(64, 1, 2) == (0, 0) and same_padding(32, 3, 1) == (1, 1)


def tf_same_conv_numpy(x, w, stride):
    """TF 'SAME' conv2d of one channel by explicit windows over the zero-padded input."""
    k = w.shape[0]
    (t, b), (l, r) = same_padding(x.shape[0], k, stride), same_padding(x.shape[1], k, stride)
    xp = np.pad(x, ((t, b), (l, r)))
    out_h, out_w = -(-x.shape[0] // stride), -(-x.shape[1] // stride)
    return np.array([[(xp[i * stride : i * stride + k, j * stride : j * stride + k] * w).sum() for j in range(out_w)]
                     for i in range(out_h)])


def test_strided_convolution_matches_hand_computed_tf_same():
    x = np.arange(16, dtype=np.float64).reshape(4, 4)
    for k, expected in ((3, [[45, 39], [66, 50]]),  # pad 0 before, 1 after: windows rows/cols 0-2, 2-3
                        (5, [[120, 96], [114, 90]])):  # pad 1 before, 2 after
        layer = conv(1, 1, k, stride=2)
        with torch.no_grad():
            layer.weight.fill_(1.0)
        got = layer(torch.tensor(x, dtype=torch.float32)[None, None])[0, 0]
        assert got.tolist() == expected
        assert np.allclose(tf_same_conv_numpy(x, np.ones((k, k)), 2), expected)
    rng = np.random.default_rng(0)
    for size, k in ((6, 5), (7, 5), (8, 3)):
        x, w = rng.normal(size=(size, size)), rng.normal(size=(k, k))
        layer = conv(1, 1, k, stride=2)
        with torch.no_grad():
            layer.weight.copy_(torch.tensor(w)[None, None])
        got = layer(torch.tensor(x, dtype=torch.float32)[None, None])[0, 0].detach().numpy()
        assert np.allclose(got, tf_same_conv_numpy(x, w, 2), atol=1e-5)


def test_transposed_convolution_is_tfs_conv2d_transpose():
    y = torch.tensor([[1.0, 2.0], [3.0, 4.0]])[None, None]
    layer = deconv(1, 1, 3)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    # each input pixel adds the 3x3 ones at rows/cols 2i .. 2i+2 of a 5x5 map; TF keeps rows/cols 0 .. 3
    assert layer(y)[0, 0].tolist() == [[1, 1, 3, 2], [1, 1, 3, 2], [4, 4, 10, 6], [3, 3, 7, 4]]
    torch.manual_seed(0)
    for k, h in ((5, 4), (3, 4), (5, 7)):  # the adjoint of the TF-SAME stride-2 conv from 2h to h
        dc = deconv(2, 3, k)
        fwd = conv(3, 2, k, stride=2, bias=False)
        with torch.no_grad():
            fwd.weight.copy_(dc.weight)
            dc.bias.zero_()
        y, x = torch.randn(1, 2, h, h), torch.randn(1, 3, 2 * h, 2 * h)
        assert dc(y).shape == (1, 3, 2 * h, 2 * h)
        assert torch.allclose((dc(y) * x).sum(), (y * fwd(x)).sum(), atol=1e-4)


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
