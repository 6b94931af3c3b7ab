"""Toy distributions, their metrics, models and ``train-toy`` end to end (SPEC.md "gan_toy.py")."""

import itertools
import json
import math
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from cli import cli
from seqgan_gp.checkpoint import load_checkpoint
from seqgan_gp.errors import UserError
from seqgan_gp.toy.data import (N_25GAUSSIANS, ToyBatches, fixed_25gaussians, mode_centers, mode_std, sample_points,
                      swiss_roll)
from seqgan_gp.toy.metrics import mode_stats, wasserstein1
from seqgan_gp.toy.models import ToyCritic, ToyGenerator

CPU = torch.device("cpu")


# -- data ------------------------------------------------------------------------------------------

def test_8gaussians_modes_are_the_scripts_unit_circle_times_two_over_1414():
    c = mode_centers("8gaussians")
    assert c.shape == (8, 2)
    assert np.allclose(np.linalg.norm(c, axis=1), 2 / 1.414)
    angles = sorted(round(math.degrees(math.atan2(y, x))) % 360 for x, y in c)
    assert angles == [0, 45, 90, 135, 180, 225, 270, 315]
    assert mode_std("8gaussians") == pytest.approx(0.02 / 1.414)


def test_8gaussians_samples_pick_modes_uniformly_with_the_stated_spread():
    pts = sample_points("8gaussians", 40_000, np.random.default_rng(0)).astype(np.float64)
    c = mode_centers("8gaussians")
    nearest = np.linalg.norm(pts[:, None] - c[None], axis=-1).argmin(1)
    share = np.bincount(nearest, minlength=8) / len(pts)
    assert np.allclose(share, 1 / 8, atol=0.01)
    resid = pts - c[nearest]
    assert resid.mean(0) == pytest.approx([0, 0], abs=3e-4)
    assert resid.std(0) == pytest.approx([0.02 / 1.414] * 2, rel=0.03)


def test_25gaussians_fixed_set_has_4000_points_per_grid_mode():
    data = fixed_25gaussians(seed=0)
    assert data.shape == (N_25GAUSSIANS, 2) and data.dtype == np.float32
    c = mode_centers("25gaussians")
    assert c.shape == (25, 2)
    assert sorted(set(np.round(c[:, 0] * 2.828, 6))) == [-4, -2, 0, 2, 4]  # (2x, 2y), x, y ∈ {−2..2}
    nearest = np.linalg.norm(data[:, None].astype(np.float64) - c[None], axis=-1).argmin(1)
    assert np.bincount(nearest, minlength=25).tolist() == [4000] * 25
    resid = data - c[nearest]
    assert resid.std(0) == pytest.approx([0.05 / 2.828] * 2, rel=0.03)
    assert not np.allclose(data[:25] * 2.828, c[:25] * 2.828, atol=0.3)  # shuffled, not in grid order
    assert np.array_equal(data, fixed_25gaussians(seed=0))


def test_25gaussians_batches_cycle_the_fixed_set_in_order_without_reshuffling():
    b = ToyBatches("25gaussians", 256, seed=0, device=CPU)
    per_epoch = N_25GAUSSIANS // 256
    assert per_epoch == 390
    first = b.next().numpy()
    assert np.array_equal(first, fixed_25gaussians(0)[:256])
    for _ in range(per_epoch - 1):
        b.next()
    assert np.array_equal(b.next().numpy(), first)  # epoch 2 starts over, same order


def test_swiss_roll_is_sklearns_formula():
    clean = swiss_roll(500, np.random.default_rng(3), noise=0.0)
    u = np.random.default_rng(3).uniform(size=500)
    t = 1.5 * np.pi * (1 + 2 * u)
    assert np.allclose(clean[:, 0], t * np.cos(t)) and np.allclose(clean[:, 2], t * np.sin(t))
    assert clean[:, 1].min() >= 0 and clean[:, 1].max() <= 21
    noisy = swiss_roll(20_000, np.random.default_rng(4), noise=0.25)
    base = swiss_roll(20_000, np.random.default_rng(4), noise=0.0)  # same draws up to the noise
    assert (noisy - base).std(0) == pytest.approx([0.25] * 3, rel=0.03)
    pts = sample_points("swissroll", 20_000, np.random.default_rng(5)).astype(np.float64)
    r = np.linalg.norm(pts, axis=1)  # ≈ t / 7.5 with t ∈ [1.5π, 4.5π]
    assert np.quantile(r, 0.001) > 1.5 * np.pi / 7.5 - 0.15 and np.quantile(r, 0.999) < 4.5 * np.pi / 7.5 + 0.15


def test_batches_are_deterministic_and_resume_exactly():
    a = ToyBatches("8gaussians", 64, seed=7, device=CPU)
    b = ToyBatches("8gaussians", 64, seed=7, device=CPU)
    [a.next() for _ in range(3)]
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.next(), b.next())
    assert not torch.equal(ToyBatches("8gaussians", 64, seed=8, device=CPU).next(), ToyBatches("8gaussians", 64, seed=7, device=CPU).next())
    with pytest.raises(UserError, match="--dataset 'moons'"):
        ToyBatches("moons", 64, seed=0, device=CPU)


# -- metrics ---------------------------------------------------------------------------------------

def test_w1_of_identical_sets_is_zero_and_of_a_shifted_set_is_the_shift():
    pts = sample_points("swissroll", 1000, np.random.default_rng(0))
    assert wasserstein1(pts, pts[::-1]) == pytest.approx(0.0, abs=1e-9)
    shift = np.array([0.3, -0.4], dtype=np.float32)
    assert wasserstein1(pts, pts + shift) == pytest.approx(0.5, rel=1e-6)


def test_w1_matches_the_best_matching_by_hand():
    a = np.array([[0.0, 0.0], [4.0, 0.0]])
    b = np.array([[4.0, 3.0], [0.0, 1.0]])
    # the optimal plan matches (0,0)↔(0,1) and (4,0)↔(4,3): (1 + 3) / 2
    assert wasserstein1(a, b) == pytest.approx(2.0)


def brute_force_w1(a: np.ndarray, b: np.ndarray) -> float:
    """W1 of two equal-size clouds by trying every matching (the optimum of the transport LP is a permutation)."""
    cost = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)
    return min(sum(cost[i, j] for i, j in enumerate(perm)) for perm in itertools.permutations(range(len(a)))) / len(a)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(*[arrays(np.float64, (n, 2), elements=st.floats(-5, 5))] * 2)))
def test_w1_equals_the_best_of_all_matchings(clouds):
    a, b = clouds
    assert wasserstein1(a, b) == pytest.approx(brute_force_w1(a, b), abs=1e-9)


def test_w1_keeps_the_value_of_the_network_simplex_it_replaced():
    # POT 0.9.7's ot.emd2 (network simplex, uniform weights) gave these before scipy's assignment replaced it
    a = sample_points("swissroll", 1000, np.random.default_rng(1))
    b = sample_points("8gaussians", 1000, np.random.default_rng(2))
    assert wasserstein1(a, b) == pytest.approx(0.5742727554129042, abs=1e-9)
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(300, 2)), rng.standard_t(3, size=(300, 2)) + 0.5
    assert wasserstein1(x, y) == pytest.approx(1.0592552197571736, abs=1e-9)


def test_w1_refuses_clouds_of_different_sizes():
    with pytest.raises(ValueError, match="same shape"):
        wasserstein1(np.zeros((3, 2)), np.zeros((4, 2)))


def test_mode_stats_on_known_samples():
    c, s = mode_centers("8gaussians"), mode_std("8gaussians")
    exact = np.repeat(c, 20, axis=0)
    assert mode_stats(exact, c, s) == {"modes": 8, "high_quality": 1.0, "per_mode": [20] * 8}
    one_mode = np.repeat(c[:1], 100, axis=0) + np.array([2.9 * s, 0])  # within 3σ
    out = mode_stats(one_mode, c, s)
    assert out["modes"] == 1 and out["high_quality"] == 1.0
    far = c + np.array([3.1 * s, 0])  # just outside 3σ of every mode
    assert mode_stats(far, c, s)["high_quality"] == 0.0
    few = np.concatenate([np.repeat(c[:1], 30, axis=0), np.repeat(c[1:2], 9, axis=0)])
    assert mode_stats(few, c, s)["modes"] == 1  # a mode needs min_count = 10 good samples
    assert mode_stats(few, c, s, min_count=5)["modes"] == 2


# -- models ----------------------------------------------------------------------------------------

def test_models_have_the_scripts_shapes_and_tflib_init():
    torch.manual_seed(0)
    G, D = ToyGenerator(512), ToyCritic(512)
    assert G(torch.randn(5, 2)).shape == (5, 2) and D(torch.randn(5, 2)).shape == (5,)
    shapes = [tuple(l.weight.shape) for l in D.linear_layers()]
    assert shapes == [(512, 2), (512, 512), (512, 512), (1, 512)]
    hidden = D.linear_layers()[1].weight
    assert hidden.std().item() == pytest.approx(math.sqrt(2 / 512), rel=0.02)  # he: √(2/fan_in)
    assert hidden.abs().max().item() <= math.sqrt(2 / 512) * math.sqrt(3) + 1e-6  # uniform
    out = G.net[-1].weight
    assert out.std().item() == pytest.approx(math.sqrt(2 / (512 + 2)), rel=0.1)  # Glorot
    assert all(l.bias.abs().max().item() == 0 for l in D.linear_layers())
    assert len(ToyCritic(16, hidden_layers=12).linear_layers()) == 13


# -- train-toy end to end --------------------------------------------------------------------------

def _records(run):
    return [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]


def test_train_toy_writes_frames_metrics_and_loss_curves(cli_runner, tmp_path):
    out = tmp_path / "run"
    r = cli_runner.invoke(cli, ["train-toy", "--preset", "tiny", "--out", str(out), "--dataset", "25gaussians"],
                          catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "modes covered" in r.output and "done: iteration 20" in r.output
    frames = sorted(p.name for p in (out / "samples").iterdir())
    assert frames == ["frame_00000000.png", "frame_00000010.png", "frame_00000020.png"]
    with Image.open(out / "samples" / "frame_00000020.png") as im:
        assert im.format == "PNG" and im.size[0] > 300
    assert (out / "losses.png").stat().st_size > 1000
    records = _records(out)
    evals = [rec for rec in records if "w1" in rec]
    assert [rec["iteration"] for rec in evals] == [0, 10, 20]
    assert all(0 <= rec["modes"] <= 25 and 0 <= rec["high_quality"] <= 1 and rec["w1"] > 0 for rec in evals)
    assert {"critic_loss", "wasserstein", "penalty", "gen_loss"} <= set(records[1])
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["kind"] == "toy" and cfg["config"]["dataset"] == "25gaussians" and cfg["config"]["lambda_gp"] == 0.1
    # the printed table shows the logged figures of the last evaluation
    assert f"{evals[-1]['w1']:.4f}" in r.output


def test_train_toy_resume_is_exact_and_swissroll_has_no_modes(cli_runner, tmp_path):
    common = ["train-toy", "--preset", "tiny", "--dataset", "swissroll", "--plot-every", "0", "--eval-every", "0"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert cli_runner.invoke(cli, [*common, "--out", str(straight)]).exit_code == 0
    assert cli_runner.invoke(cli, [*common, "--out", str(split), "--iters", "10"]).exit_code == 0
    r = cli_runner.invoke(cli, ["train-toy", "--resume", str(split), "--iters", "20"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    a, _ = load_checkpoint(straight / "checkpoints" / "checkpoint_00000020.safetensors", kind="toy")
    b, _ = load_checkpoint(split / "checkpoints" / "checkpoint_00000020.safetensors", kind="toy")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    last = _records(straight)[-1]
    assert "w1" in last and "modes" not in last  # evaluated at the end only; no modes for the roll
    assert sorted(p.name for p in (straight / "samples").iterdir()) == ["frame_00000020.png"]


def test_train_toy_loss_wgan_clips_with_rmsprop(cli_runner, tmp_path):
    out = tmp_path / "w"
    r = cli_runner.invoke(cli, ["train-toy", "--preset", "tiny", "--loss", "wgan", "--iters", "4", "--out", str(out)],
                          catch_exceptions=False)
    assert r.exit_code == 0, r.output
    cfg = json.loads((out / "config.json").read_text())["config"]
    assert (cfg["lr"], cfg["critic_iters"], cfg["clip"]) == (5e-5, 5, 0.01)
    tensors, meta = load_checkpoint(out / "checkpoints" / "checkpoint_00000004.safetensors")
    assert cfg["rmsprop"] == "tf" and "decay" in meta["optim"]["D"]["param_groups"][0]  # TF1's RMSProp
    assert max(v.abs().max().item() for k, v in tensors.items() if k.startswith("D.")) <= 0.01 + 1e-8


def test_a_run_from_before_rmsprop_resumes_with_pytorchs_rmsprop_exactly(cli_runner, tmp_path):
    """A config.json without ``rmsprop`` is an older run's, which trained with torch.optim.RMSprop."""
    args = ["train-toy", "--preset", "tiny", "--loss", "wgan", "--rmsprop", "torch", "--checkpoint-every", "2"]
    whole, half = tmp_path / "whole", tmp_path / "half"
    assert cli_runner.invoke(cli, [*args, "--iters", "4", "--out", str(whole)]).exit_code == 0
    assert cli_runner.invoke(cli, [*args, "--iters", "2", "--out", str(half)]).exit_code == 0
    doc = json.loads((half / "config.json").read_text())
    del doc["config"]["rmsprop"]
    (half / "config.json").write_text(json.dumps(doc))
    r = cli_runner.invoke(cli, ["train-toy", "--resume", str(half), "--iters", "4"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert json.loads((half / "config.json").read_text())["config"]["rmsprop"] == "torch"
    a, _ = load_checkpoint(whole / "checkpoints" / "checkpoint_00000004.safetensors")
    b, meta = load_checkpoint(half / "checkpoints" / "checkpoint_00000004.safetensors")
    assert "alpha" in meta["optim"]["D"]["param_groups"][0]  # torch.optim.RMSprop's
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_tensorboard_logs_every_record(cli_runner, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "tb"
    r = cli_runner.invoke(cli, ["train-toy", "--preset", "tiny", "--iters", "10", "--plot-every", "0",
                                "--tensorboard", "--out", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    acc = EventAccumulator(str(out / "tensorboard"))
    acc.Reload()
    records = _records(out)
    w1 = [e.value for e in acc.Scalars("w1")]
    assert w1 == pytest.approx([rec["w1"] for rec in records if "w1" in rec], rel=1e-6)
    assert [e.step for e in acc.Scalars("critic_loss")] == [rec["iteration"] for rec in records if "critic_loss" in rec]


def test_tensorboard_missing_is_a_clear_user_error(cli_runner, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if not installed
    r = cli_runner.invoke(cli, ["train-toy", "--preset", "tiny", "--tensorboard", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2
    assert "tensorboard package is not installed" in r.output and 'pip install -e ".[tensorboard]"' in r.output


@pytest.mark.parametrize("args, message", [
    (["--iters", "0"], "--iters 0"),
    (["--lambda-gp", "0"], "--lambda-gp 0"),
    (["--eval-samples", "1"], "--eval-samples 1"),
    (["--resume", "{tmp}/run", "--dataset", "swissroll"], "--dataset differ"),
])
def test_train_toy_user_errors(cli_runner, tmp_path, args, message):
    run = tmp_path / "run"
    assert cli_runner.invoke(cli, ["train-toy", "--preset", "tiny", "--iters", "2", "--plot-every", "0",
                                   "--out", str(run)]).exit_code == 0
    r = cli_runner.invoke(cli, ["train-toy", "--preset", "tiny", *[a.replace("{tmp}", str(tmp_path)) for a in args]])
    assert r.exit_code == 2 and message in r.output, r.output


@pytest.mark.slow
def test_default_budget_wgan_gp_covers_the_8_gaussians_and_clipping_does_not(cli_runner, tmp_path):
    """The default run (under a minute on 2 CPU cores): WGAN-GP covers ≥ 7 of 8 modes; the original
    WGAN with clipping (RMSProp 5e-5, c = 0.01) in the same budget is far behind."""
    result = {}
    for loss in ("wgan-gp", "wgan"):
        out = tmp_path / loss
        r = cli_runner.invoke(cli, ["train-toy", "--loss", loss, "--out", str(out)], catch_exceptions=False)
        assert r.exit_code == 0, r.output
        result[loss] = [rec for rec in _records(out) if "w1" in rec][-1]
    assert result["wgan-gp"]["iteration"] == 600
    assert result["wgan-gp"]["modes"] >= 7
    assert result["wgan-gp"]["w1"] < 0.5 * result["wgan"]["w1"]
    assert result["wgan-gp"]["high_quality"] > result["wgan"]["high_quality"]


def test_an_older_toy_runs_plot_every_is_named_and_renaming_it_resumes_the_run(cli_runner, tmp_path):
    run = tmp_path / "run"
    assert cli_runner.invoke(cli, ["train-toy", "--preset", "tiny", "--iters", "2", "--out", str(run)]).exit_code == 0
    doc = json.loads((run / "config.json").read_text())
    doc["config"]["plot_every"] = doc["config"].pop("sample_every")  # as seqgan_gp wrote toy runs before
    (run / "config.json").write_text(json.dumps(doc))
    r = cli_runner.invoke(cli, ["train-toy", "--resume", str(run), "--iters", "4"])
    assert r.exit_code == 2 and "'plot_every' is now 'sample_every'" in r.output
    (run / "config.json").write_text(json.dumps(doc).replace('"plot_every"', '"sample_every"'))  # the advice
    r = cli_runner.invoke(cli, ["train-toy", "--resume", str(run), "--iters", "4"])
    assert r.exit_code == 0, r.output
    assert (run / "checkpoints" / "checkpoint_00000004.safetensors").is_file()
