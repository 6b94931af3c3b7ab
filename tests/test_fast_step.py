"""The fast training step computes what the straightforward one computes (issue 7).

The reference below is the textbook WGAN-GP step as the PyTorch port of the paper writes it:
one-hot batches built on the host with numpy, three separate critic passes (real, fake,
interpolates) with three backward calls, zeroed gradients and a plain for-loop Adam. It draws
the same random numbers in the same order as the loop, so losses and weights must agree to float
tolerance.

Both use Adam with ε = 1e-4 instead of 1e-8: the critic's output bias has an exactly zero
gradient in WGAN (E D(x̃) − E D(x) does not change when D shifts), which either order of
summation leaves as ±1e-8 of float noise, and Adam with ε = 1e-8 turns any such noise into full
±lr steps of a parameter that does not matter. A larger ε keeps that noise from deciding the test.
"""

import numpy as np
import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from seqgan_gp import steps as step_mod
from seqgan_gp.batches import EpochSampler, TokenBatches
from seqgan_gp.config import TrainConfig
from seqgan_gp.gan import adversarial_trainable
from seqgan_gp.loop import Callbacks, train_loop
from seqgan_gp.objectives import WGANGP
from seqgan_gp.optimizers import make_optimizer
from seqgan_gp.runtime import RuntimeOptions, resolve_runtime
from seqgan_gp.steps import AdversarialStep
from seqgan_gp.text.models import TextCritic, TextGenerator

V, L, DIM, Z, B, K, SEED = 11, 8, 16, 128, 6, 3, 4
ADAM = dict(lr=1e-4, betas=(0.5, 0.9), eps=1e-4)


def corpus(n=60):
    return np.random.default_rng(0).integers(0, V, size=(n, L)).astype(np.int64)


def nets(seed=0):
    torch.manual_seed(seed)
    return (TextGenerator(vocab_size=V, seq_len=L, dim=DIM, blocks=2, z_dim=Z),
            TextCritic(vocab_size=V, seq_len=L, dim=DIM, blocks=2))


def reference_training(ids, iters, *, lambda_gp=10.0):
    """The straightforward loop; returns (G, D, per-iteration mean stats)."""
    G, D = nets()
    g_opt = torch.optim.Adam(G.parameters(), **ADAM, foreach=False)
    d_opt = torch.optim.Adam(D.parameters(), **ADAM, foreach=False)
    sampler = EpochSampler(len(ids), B, SEED)
    rng = torch.Generator().manual_seed(SEED + 1)
    eye = np.eye(V, dtype=np.float32)
    history = []
    for _ in range(iters):
        sums = {"critic_loss": 0.0, "wasserstein": 0.0, "penalty": 0.0}
        for p in D.parameters():
            p.requires_grad = True
        for _ in range(K):
            real = torch.from_numpy(eye[ids[sampler.next_indices()]])  # host one-hot
            z = torch.randn(B, Z, generator=rng)
            with torch.no_grad():
                fake = G(z)
            D.zero_grad()
            d_real = D(real).mean()
            (-d_real).backward()
            d_fake = D(fake).mean()
            d_fake.backward()
            eps = torch.rand(B, generator=rng).view(B, 1, 1)
            x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
            penalty = ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
            (lambda_gp * penalty).backward()
            d_opt.step()
            sums["critic_loss"] += (d_fake - d_real + lambda_gp * penalty).item() / K
            sums["wasserstein"] += (d_real - d_fake).item() / K
            sums["penalty"] += penalty.item() / K
        for p in D.parameters():
            p.requires_grad = False
        G.zero_grad()
        z = torch.randn(B, Z, generator=rng)
        g_loss = -D(G(z)).mean()
        g_loss.backward()
        g_opt.step()
        history.append({**sums, "gen_loss": g_loss.item()})
    for p in D.parameters():
        p.requires_grad = True
    return G, D, history


def fast_training(ids, iters, options=RuntimeOptions()):
    G, D = nets()
    records = []
    trainable = adversarial_trainable(G=G, D=D, g_opt=torch.optim.Adam(G.parameters(), **ADAM, fused=True),
                              d_opt=torch.optim.Adam(D.parameters(), **ADAM, fused=True),
                              batches=TokenBatches(ids, V, B, SEED, torch.device("cpu")),
                              rng=torch.Generator().manual_seed(SEED + 1), objective=WGANGP(lambda_gp=10.0),
                              n_critic=K, gen_batch=B)
    train_loop(state=trainable.state, iteration=trainable.iteration(resolve_runtime(options, torch.device("cpu"))),
               schedule=TrainConfig(iters=iters, batch_size=B, log_every=1), callbacks=Callbacks(log=records.append))
    return G, D, [r for r in records if r["iteration"] > 0]


def assert_same_training(ref, fast, atol=2e-5):
    (G0, D0, h0), (G1, D1, h1) = ref, fast
    assert len(h0) == len(h1)
    for a, b in zip(h0, h1):
        for key in ("critic_loss", "wasserstein", "penalty", "gen_loss"):
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-5), key
    for net0, net1 in ((G0, G1), (D0, D1)):
        for (name, p0), p1 in zip(net0.state_dict().items(), net1.state_dict().values()):
            assert torch.allclose(p0, p1, atol=atol, rtol=1e-4), name


def test_fast_step_matches_the_straightforward_step():
    ids = corpus()
    ref, fast = reference_training(ids, 3), fast_training(ids, 3)
    assert_same_training(ref, fast)
    # and training moved the weights: the comparison is not between two untouched networks
    G_init, _ = nets()
    assert not torch.allclose(G_init.fc.weight, fast[0].fc.weight)


def test_generator_step_computes_no_critic_parameter_gradients():
    G, D = nets()
    rt = resolve_runtime(RuntimeOptions(), torch.device("cpu"))
    step = AdversarialStep(G=G, D=D, g_opt=make_optimizer("adam", G.parameters(), lr=1e-4),
                           d_opt=make_optimizer("adam", D.parameters(), lr=1e-4), objective=WGANGP(),
                           rng=torch.Generator().manual_seed(0), runtime=rt)
    step.critic(TokenBatches(corpus(), V, B, 0, torch.device("cpu")).next())
    assert all(p.grad is not None for p in D.parameters())
    for p in D.parameters():
        p.grad = None
    before = [p.detach().clone() for p in G.parameters()]
    step.generator(B)
    assert all(p.grad is None for p in D.parameters())  # frozen: input gradients only
    assert all(p.requires_grad for p in D.parameters())  # and unfrozen again afterwards
    assert any(not torch.equal(a, p) for a, p in zip(before, G.parameters()))


def test_the_step_never_reads_a_value_back_to_the_host():
    """No .item()/.tolist() (a device synchronisation on a GPU) in a critic or generator step;
    the CPU fused Adam reads its own step counters, which live on the host anyway."""
    G, D = nets()
    rt = resolve_runtime(RuntimeOptions(), torch.device("cpu"))
    step = AdversarialStep(G=G, D=D, g_opt=make_optimizer("adam", G.parameters(), lr=1e-4),
                           d_opt=make_optimizer("adam", D.parameters(), lr=1e-4), objective=WGANGP(),
                           rng=torch.Generator().manual_seed(0), runtime=rt)
    batches = TokenBatches(corpus(), V, B, 0, torch.device("cpu"))
    step.critic(batches.next())
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step.critic(batches.next())
        step.generator(B)

    def inside_optimizer(event):
        while event is not None:
            if event.name.startswith("Optimizer.step"):
                return True
            event = event.cpu_parent
        return False

    syncs = [e.name for e in prof.events() if e.name in ("aten::item", "aten::_local_scalar_dense")
             and not inside_optimizer(e)]
    assert syncs == []
    assert any(e.name == "aten::_fused_adam_" for e in prof.events())


def test_one_hot_batches_are_exact_and_built_on_the_device():
    ids = corpus()
    batches = TokenBatches(ids, V, B, 3, torch.device("cpu"))
    sampler = EpochSampler(len(ids), B, 3)
    for _ in range(12):  # crosses an epoch boundary (60 // 6 = 10 batches per epoch)
        x = batches.next()
        expected = np.eye(V, dtype=np.float32)[ids[sampler.next_indices()]]
        assert x.dtype == torch.float32 and torch.equal(x, torch.from_numpy(expected))


def test_fused_adam_matches_the_for_loop_adam():
    torch.manual_seed(0)
    a, b = torch.nn.Linear(5, 3), torch.nn.Linear(5, 3)
    b.load_state_dict(a.state_dict())
    fused = make_optimizer("adam", a.parameters(), lr=1e-2, betas=(0.5, 0.9))
    plain = torch.optim.Adam(b.parameters(), lr=1e-2, betas=(0.5, 0.9), foreach=False)
    assert fused.defaults["fused"] is True
    for _ in range(5):
        x = torch.randn(7, 5)
        for net, opt in ((a, fused), (b, plain)):
            opt.zero_grad()
            net(x).square().sum().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, atol=1e-6)


def test_compiled_step_matches_the_straightforward_step(monkeypatch):
    """--compile traces the functional critic objective (double backward included).

    The default suite compiles with the aot_eager backend (the same tracing, functionalisation and
    autograd; seconds instead of a minute); ``pytest -m slow`` runs inductor below."""
    real_compile = torch.compile
    monkeypatch.setattr(step_mod.torch, "compile", lambda fn, **kw: real_compile(fn, backend="aot_eager"))
    ids = corpus()
    assert_same_training(reference_training(ids, 2), fast_training(ids, 2, RuntimeOptions(compile=True)))


@pytest.mark.slow
def test_compiled_step_with_inductor_matches_the_straightforward_step():
    ids = corpus()
    assert_same_training(reference_training(ids, 2), fast_training(ids, 2, RuntimeOptions(compile=True)))


def test_penalty_pass_activations_equal_torchs_and_skip_the_useless_backward():
    from seqgan_gp.activations import leaky_relu, penalty_pass, relu

    x = torch.randn(4, 6, 5)
    for ours, theirs in ((relu, torch.relu), (lambda t: leaky_relu(t, 0.2),
                                              lambda t: torch.nn.functional.leaky_relu(t, 0.2))):
        for in_pass in (False, True):
            a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
            with penalty_pass() if in_pass else torch.enable_grad():
                ya = ours(a)
            yb = theirs(b)
            assert torch.equal(ya, yb)
            (ga,) = torch.autograd.grad(ya.square().sum(), a)
            (gb,) = torch.autograd.grad(yb.square().sum(), b)
            assert torch.equal(ga, gb)

    w1 = torch.randn(6, 6, 3, requires_grad=True)
    w2 = torch.randn(6, 6, 3, requires_grad=True)

    def conv_backward_calls(in_pass):
        x_hat = x.clone().requires_grad_()
        with penalty_pass() if in_pass else torch.enable_grad():
            h = torch.nn.functional.conv1d(relu(x_hat), w1, padding=1)
            score = torch.nn.functional.conv1d(relu(h), w2, padding=1).sum()
        (g,) = torch.autograd.grad(score, x_hat, create_graph=True)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            g.square().sum().backward()
        grads = [w1.grad.clone(), w2.grad.clone()]
        w1.grad = w2.grad = None
        return sum(e.name == "aten::convolution_backward" for e in prof.events()), grads

    plain, g_plain = conv_backward_calls(False)
    cheap, g_cheap = conv_backward_calls(True)
    assert cheap < plain  # torch.relu's double backward pushes zeros back through the forward convs
    for a, b in zip(g_plain, g_cheap):
        assert torch.allclose(a, b, atol=1e-5)
