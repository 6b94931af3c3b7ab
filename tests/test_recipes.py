"""What the critic sees of a text GAN (seqgan_gp.text.relax), the frontier verdict (seqgan_gp.lm.dominance)
and ``experiment text-recipes`` end to end on the embedded corpus at a tiny budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqgan_gp.configfile import config_from_dict
from seqgan_gp.errors import UserError
from seqgan_gp.gan import gan_trainable
from seqgan_gp.lm.dominance import dominated, segment_dominates, verdict
from seqgan_gp.objectives import WGANGP
from seqgan_gp.optimizers import make_optimizer
from seqgan_gp.runtime import RuntimeOptions, resolve_runtime
from seqgan_gp.steps import AdversarialStep
from seqgan_gp.text.config import PRESETS, TextConfig
from seqgan_gp.text.models import TextCritic, TextGenerator
from seqgan_gp.text.relax import (RelaxedGenerator, SmoothedBatches, critic_view, gumbel_noise, gumbel_softmax, relax,
                                  smooth_one_hot, straight_through)

B, L, V = 6, 5, 7


def _logits(seed=0):
    return torch.randn(B, L, V, generator=torch.Generator().manual_seed(seed)) * 2


def _noise(seed=1):
    return gumbel_noise((B, L, V), rng=torch.Generator().manual_seed(seed), device=torch.device("cpu"))


def _onehot(index):
    return torch.nn.functional.one_hot(index, V).float()


def _input_grad(fn, logits, weights):
    x = logits.clone().requires_grad_(True)
    (fn(x) * weights).sum().backward()
    return x.grad


def test_gumbel_softmax_is_one_hot_at_low_temperature_and_differentiable_above():
    logits, g = _logits(), _noise()
    sample = _onehot((logits + g).argmax(-1))  # the Gumbel-max sample
    cold = gumbel_softmax(logits, g, tau=1e-3)
    assert torch.allclose(cold, sample, atol=1e-6)
    warm = gumbel_softmax(logits, g, tau=1.0)
    assert torch.allclose(warm.sum(-1), torch.ones(B, L)) and warm.max() < 1  # a soft row, not one-hot
    grad = _input_grad(lambda x: gumbel_softmax(x, g, 1.0), logits, torch.randn(B, L, V))
    assert grad.abs().sum() > 0 and torch.isfinite(grad).all()
    # Gumbel-max: argmax(ℓ + g) is a sample of softmax(ℓ): frequencies of a 3-token distribution
    probs = torch.tensor([0.6, 0.3, 0.1])
    draws = gumbel_noise((20_000, 3), rng=torch.Generator().manual_seed(3), device=torch.device("cpu"))
    freq = torch.bincount((probs.log() + draws).argmax(-1), minlength=3).float() / 20_000
    assert torch.allclose(freq, probs, atol=0.015)


def test_straight_through_is_one_hot_forward_and_the_softmax_backward():
    logits, g, w = _logits(), _noise(), torch.randn(B, L, V)
    st_rows = relax(logits, "st", tau=0.7, gumbel=g)
    assert torch.equal(st_rows, _onehot((logits + g).argmax(-1)))  # exactly, not approximately
    st_grad = _input_grad(lambda x: relax(x, "st", tau=0.7, gumbel=g), logits, w)
    soft_grad = _input_grad(lambda x: gumbel_softmax(x, g, 0.7), logits, w)
    assert torch.allclose(st_grad, soft_grad, atol=1e-6) and st_grad.abs().sum() > 0
    arg = relax(logits, "st-argmax", tau=0.5)
    assert torch.equal(arg, _onehot(logits.argmax(-1)))
    arg_grad = _input_grad(lambda x: relax(x, "st-argmax", tau=0.5), logits, w)
    assert torch.allclose(arg_grad, _input_grad(lambda x: torch.softmax(x / 0.5, -1), logits, w), atol=1e-6)
    # the identity of straight_through on a hand example: value of the index, gradient of soft
    soft = torch.tensor([0.2, 0.5, 0.3], requires_grad=True)
    out = straight_through(soft, torch.tensor(2))
    assert out.tolist() == [0.0, 0.0, 1.0]
    (out * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert soft.grad.tolist() == [1.0, 2.0, 3.0]


def test_softmax_relaxation_is_the_paper_output_and_output_tau_sharpens():
    logits = _logits()
    assert torch.equal(relax(logits, "softmax"), torch.softmax(logits, -1))
    sharp = relax(logits, "softmax", output_tau=0.5)
    assert torch.allclose(sharp, torch.softmax(2 * logits, -1))
    assert (sharp.max(-1).values >= torch.softmax(logits, -1).max(-1).values - 1e-7).all()
    with pytest.raises(ValueError, match="Gumbel noise"):
        relax(logits, "gumbel")


def test_real_noise_by_hand_and_off_at_zero():
    row = _onehot(torch.tensor([0, 3]))[:, :4]  # V = 4 here
    assert torch.allclose(smooth_one_hot(row, 0.2)[0], torch.tensor([0.85, 0.05, 0.05, 0.05]))
    assert smooth_one_hot(row, 0.0) is row


@settings(max_examples=40, deadline=None)
@given(eps=st.floats(0.0, 0.999), vocab=st.integers(2, 50), seed=st.integers(0, 1000))
def test_real_noise_keeps_rows_summing_to_one(eps, vocab, seed):
    ids = torch.randint(0, vocab, (3, 4), generator=torch.Generator().manual_seed(seed))
    rows = smooth_one_hot(torch.nn.functional.one_hot(ids, vocab).float(), eps)
    assert torch.allclose(rows.sum(-1), torch.ones(3, 4), atol=1e-5)
    assert (rows >= 0).all()
    if eps < 1 - 1 / vocab:
        assert torch.equal(rows.argmax(-1), ids)


class SpyCritic(TextCritic):
    """The paper's critic, recording every input it scores."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen: list[torch.Tensor] = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return super().forward(x)


class OneBatch:
    def __init__(self, rows):
        self.rows = rows

    def next(self):
        return self.rows

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


@pytest.mark.parametrize("relaxation", ["st", "gumbel", "softmax"])
def test_the_penalty_interpolates_between_exactly_what_the_critic_sees(relaxation):
    """One critic step: the critic scores the smoothed real rows and the relaxed fakes, and the
    penalty's x̂ lies on the segment between those two tensors, row by row."""
    cfg = TextConfig(**{**{k: getattr(PRESETS["tiny"], k) for k in ("dim", "blocks", "seq_len")},
                        "relaxation": relaxation, "real_noise": 0.1, "output_tau": 1.0 if relaxation != "softmax" else 0.5})
    G = TextGenerator(vocab_size=V, seq_len=cfg.seq_len, dim=cfg.dim, blocks=cfg.blocks)
    D = SpyCritic(vocab_size=V, seq_len=cfg.seq_len, dim=cfg.dim, blocks=cfg.blocks)
    onehot = _onehot(torch.randint(0, V, (B, cfg.seq_len), generator=torch.Generator().manual_seed(5)))
    trainable = gan_trainable(cfg, G, D, SmoothedBatches(OneBatch(onehot), cfg.real_noise), torch.device("cpu"),
                              view=critic_view(cfg))
    step = trainable.iteration(resolve_runtime(RuntimeOptions(), torch.device("cpu"))).step
    step.critic(trainable.state.batches.next())
    assert len(D.seen) == 2  # the interpolates (B rows) and cat(real, fake) (2B rows)
    x_hat, both = sorted(D.seen, key=len)
    real, fake = both[:B], both[B:]
    assert torch.allclose(real, onehot * 0.9 + 0.1 / V)
    if relaxation == "st":
        assert torch.equal(fake.max(-1).values, torch.ones(B, cfg.seq_len)) and torch.equal(fake.sum(-1), torch.ones(B, cfg.seq_len))
    else:
        assert fake.max() < 1 and torch.allclose(fake.sum(-1), torch.ones(B, cfg.seq_len))
    d = (real - fake).flatten(1)
    eps = ((x_hat - fake).flatten(1) * d).sum(1) / (d * d).sum(1)  # x̂ = fake + ε·(real − fake)
    assert ((eps >= 0) & (eps <= 1)).all()
    assert torch.allclose(x_hat, fake + eps.view(B, 1, 1) * (real - fake), atol=1e-6)


def test_the_paper_path_is_untouched_by_default():
    cfg = PRESETS["tiny"]
    assert critic_view(cfg) is None and cfg.relaxation == "softmax" and cfg.real_noise == 0
    G = TextGenerator(vocab_size=V, seq_len=8, dim=8, blocks=1)
    relaxed = RelaxedGenerator(G, relaxation="gumbel", tau=1.0, output_tau=1.0, rng=torch.Generator().manual_seed(0))
    assert dict(relaxed.named_parameters()).keys() == {"G." + k for k, _ in G.named_parameters()}  # shares G's weights
    z = torch.randn(3, G.z_dim)
    assert not torch.equal(relaxed(z), G(z))  # Gumbel noise: a sample, not the softmax


def test_config_validation_round_trip_and_older_configs():
    with pytest.raises(UserError, match="--relaxation bogus"):
        TextConfig(relaxation="bogus")
    with pytest.raises(UserError, match="--gumbel-tau 0.5: only with --relaxation"):
        TextConfig(gumbel_tau=0.5)
    with pytest.raises(UserError, match="--output-tau 0.5: only with --relaxation softmax"):
        TextConfig(relaxation="st", output_tau=0.5)
    with pytest.raises(UserError, match="--gumbel-tau 0"):
        TextConfig(relaxation="gumbel", gumbel_tau=0.0)
    for eps in (-0.1, 1.0, float("nan")):
        with pytest.raises(UserError, match="--real-noise"):
            TextConfig(real_noise=eps)
    cfg = TextConfig(relaxation="st", gumbel_tau=0.5, real_noise=0.05)
    doc = json.loads(json.dumps(cfg.__dict__ | {"betas": list(cfg.betas)}))
    assert config_from_dict(TextConfig, doc, "config.json") == cfg
    older = {k: v for k, v in doc.items() if k not in ("relaxation", "gumbel_tau", "output_tau", "real_noise")}
    resumed = config_from_dict(TextConfig, older, "config.json")
    assert (resumed.relaxation, resumed.gumbel_tau, resumed.output_tau, resumed.real_noise) == ("softmax", 1.0, 1.0, 0.0)


def test_dominance_by_points_and_segments():
    assert segment_dominates((0.5, 0.5), (0.5, 0.5), (0.4, 0.6))  # better on both
    assert not segment_dominates((0.5, 0.5), (0.5, 0.5), (0.6, 0.6))  # higher BLEU-4 than the point
    # the segment (0.2, 0.2)–(0.6, 0.6) holds (0.4, 0.4): dominates (0.35, 0.45), not (0.5, 0.3)
    assert segment_dominates((0.2, 0.2), (0.6, 0.6), (0.35, 0.45))
    assert not segment_dominates((0.2, 0.2), (0.6, 0.6), (0.5, 0.3))
    curve = [(0.1, 0.1), (0.3, 0.5), (0.6, 0.9)]
    assert dominated((0.2, 0.35), curve) and not dominated((0.5, 0.5), curve)
    gan = [{"label": "g", "points": [{"temperature": 0.0, "metrics": {"bleu4_640": 0.5, "self_bleu4_640": 0.5, "js4_640": 0.6}},
                                     {"temperature": 1.0, "metrics": {"bleu4_640": 0.1, "self_bleu4_640": 0.4, "js4_640": 0.9}}]}]
    mle = {"label": "MLE", "points": [{"temperature": t, "metrics": {"bleu4_640": b, "self_bleu4_640": s, "js4_640": j}}
                                      for t, b, s, j in ((0.0, 0.1, 0.1, 0.5), (1.0, 0.3, 0.5, 0.3))]}
    v = verdict(gan, mle)
    assert v["js4_ratio"] == pytest.approx(0.6 / 0.3) and not v["ratio_met"]
    assert [(p["label"], p["temperature"]) for p in v["undominated_gan_points"]] == [("g", 0.0)]


def test_text_recipes_end_to_end_on_the_embedded_corpus(tmp_path, cli_runner, monkeypatch):
    from cli import cli

    monkeypatch.setenv("SEQGAN_GP_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "study"
    r = cli_runner.invoke(cli, ["experiment", "text-recipes", "--base", "tiny", "--budget", "0.3", "-n", "16",
                                "--temperatures", "0,1", "--recipes", "paper-demo,st", "--out", str(out)],
                          catch_exceptions=False)
    assert r.exit_code == 0, r.output
    result = json.loads((out / "recipes.json").read_text())
    frontier = json.loads((out / "frontier.json").read_text())
    assert (out / "frontier.png").stat().st_size > 1000
    assert [c["label"] for c in frontier["curves"]] == ["paper-demo", "st (EMA)", "MLE"]
    assert all([p["temperature"] for p in c["points"]] == [0.0, 1.0] for c in frontier["curves"])
    assert result["recipes"]["st"]["flags"] == {"ema_decay": 0.995, "relaxation": "st"}
    for run in (*result["recipes"].values(), result["mle"]):
        config = json.loads((Path(run["run"]) / "config.json").read_text())["config"]
        assert config["time_budget"] == 0.3 and config["budget_clock"] == "wall"
        assert run["iterations"] >= 1 and run["budget_s"] >= 0.3
        js = [p["metrics"]["js4_16"] for c in frontier["curves"] if c["run"] == run["run"] for p in c["points"]]
        assert run["best"]["js4"] == min(js)
    assert json.loads((Path(result["recipes"]["st"]["run"]) / "config.json").read_text())["config"]["relaxation"] == "st"
    v = result["verdict"]
    best = min(r["best"]["js4"] for r in result["recipes"].values())
    assert v["best_gan"]["js4"] == best and v["js4_ratio"] == pytest.approx(best / result["mle"]["best"]["js4"])
    assert "text recipes on embedded" in r.output


@pytest.mark.parametrize("args, message", [
    (["--recipes", "ema,bogus"], "--recipes ema,bogus: unknown recipe bogus"),
    (["--budget", "0"], "--budget 0: must be a positive number"),
    (["--budget", "-5"], "--budget -5: must be a positive number"),
    (["--corpus", "{tmp}/missing.txt"], "--corpus {tmp}/missing.txt: no such file"),
])
def test_text_recipes_bad_input_is_one_line(tmp_path, cli_runner, args, message):
    from cli import cli

    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    r = cli_runner.invoke(cli, ["experiment", "text-recipes", *args, "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert message.replace("{tmp}", str(tmp_path)) in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()


def test_a_relaxed_run_with_noisy_reals_resumes_bit_exactly(tmp_path):
    """The Gumbel noise comes from the run's checkpointed generator: killed after iteration 2 and
    resumed, a run ends with the weights of the uninterrupted one."""
    from safetensors.torch import load_file
    from rich.console import Console

    from seqgan_gp.runner import run_task
    from seqgan_gp.text.task import TextTask

    def run(out, resume=None, iters=4):
        overrides = dict(iters=iters, eval_every=0, sample_every=0, checkpoint_every=2, keep_checkpoints=0,
                         relaxation="st", gumbel_tau=0.7, real_noise=0.1)
        return run_task(TextTask(cache_dir=tmp_path / "cache"), base=PRESETS["tiny"], overrides=overrides,
                        device=torch.device("cpu"), console=Console(quiet=True), out=None if resume else out,
                        resume=resume, show_progress=False)

    a = run(tmp_path / "a")
    run(tmp_path / "b")
    (tmp_path / "b" / "checkpoints" / "checkpoint_00000004.safetensors").unlink()
    b = run(None, resume=tmp_path / "b")
    ta, tb = load_file(a.result.last_checkpoint), load_file(b.result.last_checkpoint)
    assert ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)
    plain = load_file(run_task(TextTask(cache_dir=tmp_path / "cache"), base=PRESETS["tiny"],
                               overrides=dict(iters=4, eval_every=0, sample_every=0, checkpoint_every=2),
                               device=torch.device("cpu"), console=Console(quiet=True), out=tmp_path / "c",
                               show_progress=False).result.last_checkpoint)
    assert not torch.equal(plain["G.out.weight"], ta["G.out.weight"])  # the options changed the training


def test_the_cpu_preset_is_the_cpu_recipe_on_demo():
    """train-text --preset cpu trains what experiment text-recipes measured as `cpu`; only the schedule differs."""
    import dataclasses

    from seqgan_gp.lm.recipes import RECIPES

    schedule = ("iters", "sample_every", "eval_every", "checkpoint_every")
    recipe = dataclasses.replace(PRESETS["demo"], **RECIPES["cpu"])
    assert {f: getattr(PRESETS["cpu"], f) for f in schedule} == {"iters": 4000, "sample_every": 400,
                                                                 "eval_every": 400, "checkpoint_every": 800}
    assert dataclasses.replace(recipe, **{f: getattr(PRESETS["cpu"], f) for f in schedule}) == PRESETS["cpu"]
