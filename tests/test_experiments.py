"""The Section 3 studies on small settings: their files, and numbers that agree with the paper's claims."""

import json
import math

import pytest
from PIL import Image

from cli import cli


def _run(cli_runner, tmp_path, *args):
    out = tmp_path / "exp"
    r = cli_runner.invoke(cli, ["experiment", *map(str, args), "--out", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    results = json.loads((out / "results.json").read_text())
    for name in results["figures"]:
        with Image.open(out / name) as im:
            assert im.format == "PNG"
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "experiment" and config["experiment"] == args[0]
    log = (out / "log.txt").read_text(encoding="utf-8").splitlines()  # what it printed, summary included
    assert log[0].startswith("──── ") and log[1].startswith(f"experiment {args[0]}: ") and log[-1].startswith("done: ")
    return results, r.output


def test_gradient_norms_vanish_or_explode_under_clipping_but_not_under_the_penalty(cli_runner, tmp_path):
    """Figure 1b: ‖∂L_D/∂h_l‖ of 12-layer ReLU critics on swissroll. Small and fast with PyTorch's
    RMSProp, whose first steps move every weight by about 3·lr whatever its gradient; TF's (the
    default) needs the default width and steps (the slow test below)."""
    results, output = _run(cli_runner, tmp_path, "gradient-norms", "--dim", 256, "--batch-size", 16, "--steps", 30,
                           "--rmsprop", "torch")
    assert json.loads((tmp_path / "exp" / "config.json").read_text())["config"]["rmsprop"] == "torch"
    methods = results["methods"]
    assert results["dataset"] == "swissroll" and results["hidden_layers"] == 12
    assert all(len(m["log10_grad_norm_per_layer"]) == 12 for m in methods.values())
    penalty = methods["gradient penalty"]
    assert penalty["log10_spread"] < 1.0  # every layer within an order of magnitude
    assert methods["weight clipping c=0.1"]["log10_input_minus_output"] > 1.0  # explodes towards the input
    assert methods["weight clipping c=0.01"]["log10_input_minus_output"] < -3.0  # vanishes
    assert methods["weight clipping c=0.001"]["log10_input_minus_output"] < -10.0  # vanishes faster
    c001 = methods["weight clipping c=0.001"]
    alive = [x for x, gone in zip(c001["log10_grad_norm_per_layer"], c001["underflow_share_per_layer"]) if gone == 0]
    assert len(alive) >= 8 and all(a < b for a, b in zip(alive, alive[1:]))  # decays layer by layer to the input
    assert "spread" in output and "clip c=0.001" in output


@pytest.mark.slow
def test_gradient_norms_explode_at_c_0_1_with_tfs_rmsprop_at_the_default_settings(cli_runner, tmp_path):
    results, _ = _run(cli_runner, tmp_path, "gradient-norms", "--clip", 0.1, "--clip", 0.01)
    methods = results["methods"]
    assert methods["weight clipping c=0.1"]["log10_input_minus_output"] > 3.0
    assert methods["weight clipping c=0.01"]["log10_input_minus_output"] < -3.0


def test_clipping_vs_penalty_surfaces_and_lipschitz_bounds(cli_runner, tmp_path):
    """Figure 1a: clipped critics obey the Lipschitz bound clipping implies, so their estimate of W1
    is orders of magnitude too small at c = 0.01; the penalised critic works at the scale of W1."""
    results, _ = _run(cli_runner, tmp_path, "clipping-vs-penalty", "--dataset", "8gaussians", "--clip", 0.1,
                      "--clip", 0.01, "--dim", 32, "--steps", 150)
    per = results["datasets"]["8gaussians"]
    assert set(per["methods"]) == {"weight clipping c=0.1", "weight clipping c=0.01", "gradient penalty"}
    w1 = per["w1_exact"]
    assert 0.7 < w1 < 1.0  # 8 tight modes moved by unit Gaussian noise
    for name, clip in [("weight clipping c=0.1", 0.1), ("weight clipping c=0.01", 0.01)]:
        nums = per["methods"][name]
        # 2→32→32→32→1: ∏ c·√(in·out) = c⁴ · √64 · 32 · 32 · √32
        bound = clip ** 4 * math.sqrt(64) * 32 * 32 * math.sqrt(32)
        assert nums["lipschitz_bound"] == pytest.approx(bound)
        assert nums["lipschitz"] <= bound and abs(nums["estimate"]) <= nums["lipschitz"] * 3.0
    assert per["methods"]["weight clipping c=0.01"]["estimate"] < 0.01 * w1
    assert per["methods"]["gradient penalty"]["estimate"] > 0.3 * w1


def test_weight_histograms_pile_up_at_the_clipping_bounds(cli_runner, tmp_path):
    """Figure 1c: clipping pushes the weights to ±c; the penalty leaves a spread of values."""
    results, _ = _run(cli_runner, tmp_path, "weight-histograms", "--dim", 32, "--steps", 100)
    clip, penalty = results["methods"]["weight clipping c=0.01"], results["methods"]["gradient penalty"]
    assert clip["weights"] == penalty["weights"] == 2 * 32 + 32 * 32 * 2 + 32
    assert clip["max_abs"] <= 0.01 + 1e-9
    assert clip["share_at_bounds"] > 0.7 and penalty["share_at_bounds"] < 0.05
    assert sum(clip["histogram"]["counts"]) == clip["weights"]
    assert clip["share_at_plus_bound"] + clip["share_at_minus_bound"] == pytest.approx(clip["share_at_bounds"])


def test_experiment_user_errors(cli_runner, tmp_path):
    r = cli_runner.invoke(cli, ["experiment", "gradient-norms", "--steps", "0", "--out", str(tmp_path / "a")])
    assert r.exit_code == 2 and "--steps 0" in r.output
    r = cli_runner.invoke(cli, ["experiment", "weight-histograms", "--clip", "-1", "--out", str(tmp_path / "b")])
    assert r.exit_code == 2 and "--clip" in r.output
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x").write_text("keep")
    r = cli_runner.invoke(cli, ["experiment", "weight-histograms", "--out", str(tmp_path / "c"), "--overwrite"])
    assert r.exit_code == 2 and "is not a seqgan_gp run (it has no config.json; it holds x)" in r.output
    assert (tmp_path / "c" / "x").read_text() == "keep"


@pytest.mark.slow
def test_gradient_norms_at_the_default_settings(cli_runner, tmp_path):
    results, _ = _run(cli_runner, tmp_path, "gradient-norms")
    m = results["methods"]
    assert m["gradient penalty"]["log10_spread"] < 1.0
    assert m["weight clipping c=0.1"]["log10_input_minus_output"] > 3.0
    assert m["weight clipping c=0.001"]["log10_input_minus_output"] < -20.0
