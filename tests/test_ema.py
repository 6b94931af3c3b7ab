"""EMA of the generator: the bias-corrected average by hand, decay 0, buffers, exact resume, and its use by
sample and evaluate (text and image)."""

import json

import pytest
import torch
from rich.console import Console
from safetensors.torch import load_file

from cli import cli
from seqgan_gp.ema import COUNTER, EMA_NAME, GeneratorEMA, load_generator_weights
from seqgan_gp.errors import UserError
from seqgan_gp.runner import run_task
from seqgan_gp.text.config import PRESETS, TextConfig
from seqgan_gp.text.inference import load_generator
from seqgan_gp.text.task import TextTask

QUIET = Console(quiet=True)


def test_the_average_by_hand_with_bias_correction():
    """θ_ema after t updates = Σ (1−d) d^(t−i) θ_i / (1 − d^t): the initial weights never count."""
    G = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        G.weight.fill_(100.0)  # θ_0, the initial weights
    ema = GeneratorEMA(G, decay=0.5)
    for value in (1.0, 3.0, 5.0):
        with torch.no_grad():
            G.weight.fill_(value)
        ema.update()
    # (0.5·0.25·1 + 0.5·0.5·3 + 0.5·1·5) / (1 − 0.125) = 3.375 / 0.875
    assert ema.module.weight.item() == pytest.approx(3.375 / 0.875)
    assert getattr(ema.module, COUNTER).item() == 3 and not ema.module.weight.requires_grad


def test_decay_zero_equals_the_raw_weights_after_every_step():
    torch.manual_seed(0)
    G = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 3))
    ema = GeneratorEMA(G, decay=0.0)
    opt = torch.optim.Adam(G.parameters(), lr=0.1)
    for _ in range(3):
        G(torch.randn(16, 4)).square().mean().backward()  # batch norm updates its running statistics
        opt.step()
        ema.update()
        raw, avg = G.state_dict(), ema.module.state_dict()
        assert set(avg) - set(raw) == {COUNTER}
        for key, value in raw.items():  # weights exactly; batch-norm buffers copied, not averaged
            assert torch.equal(avg[key], value), key
    with pytest.raises(ValueError):
        GeneratorEMA(G, decay=1.0)
    with pytest.raises(UserError, match="--ema-decay"):
        TextConfig(ema_decay=-0.1)


def run_tiny(out, iters=8, resume=None, cache=None, **overrides):
    overrides = {"iters": iters, "eval_every": 0, "sample_every": 0, "checkpoint_every": 4, **overrides}
    return run_task(TextTask(cache_dir=cache), base=PRESETS["tiny"], overrides=overrides,
                    device=torch.device("cpu"), console=QUIET, out=None if resume else out, resume=resume,
                    show_progress=False)


def test_ema_resumes_bit_exactly_and_leaves_training_untouched(tmp_path):
    cache = tmp_path / "cache"
    a = run_tiny(tmp_path / "a", cache=cache, ema_decay=0.9)
    run_tiny(tmp_path / "b", cache=cache, ema_decay=0.9, keep_checkpoints=0)
    (tmp_path / "b" / "checkpoints" / "checkpoint_00000008.safetensors").unlink()  # as if killed after 4
    halfway = load_file(tmp_path / "b" / "checkpoints" / "checkpoint_00000004.safetensors")
    b = run_tiny(None, resume=tmp_path / "b", cache=cache)
    plain = run_tiny(tmp_path / "c", iters=4, cache=cache)
    ta, tb, tc = (load_file(r.result.last_checkpoint) for r in (a, b, plain))
    assert ta.keys() == tb.keys() and f"{EMA_NAME}.{COUNTER}" in ta and ta[f"{EMA_NAME}.{COUNTER}"].item() == 8
    for key in ta:
        assert torch.equal(ta[key], tb[key]), key
    assert not any(k.startswith(EMA_NAME) for k in tc)
    for key in tc:  # the average reads G, it never changes how G trains
        assert torch.equal(halfway[key], tc[key]), key
    assert not torch.equal(ta[f"{EMA_NAME}.out.weight"], ta["G.out.weight"])
    evaluated = [r for r in a.result.metrics if any(k.startswith("js4") for k in r)]  # js4_640: named by its count
    assert evaluated and all(r["weights"] == EMA_NAME for r in evaluated)
    assert not any("weights" in r for r in plain.result.metrics)

    G, _, _, meta = load_generator(tmp_path / "a", torch.device("cpu"))
    G_raw, _, _, meta_raw = load_generator(tmp_path / "a", torch.device("cpu"), ema=False)
    assert meta["weights"] == EMA_NAME and meta_raw["weights"] == "G"
    assert torch.equal(G.out.weight, ta[f"{EMA_NAME}.out.weight"]) and torch.equal(G_raw.out.weight, ta["G.out.weight"])


def test_sample_and_evaluate_use_the_average_unless_raw(cli_runner, tmp_path):
    run = tmp_path / "run"
    args = ["train-text", "--preset", "tiny", "--iters", 6, "--ema-decay", 0.5, "--out", run,
            "--cache-dir", tmp_path / "c"]
    r = cli_runner.invoke(cli, [str(a) for a in args])
    assert r.exit_code == 0 and "EMA of G (decay 0.5)" in " ".join(r.output.split())
    for extra, weights in (([], EMA_NAME), (["--raw"], "G")):
        out = tmp_path / f"m{len(extra)}.json"
        e = cli_runner.invoke(cli, ["evaluate", str(run), "-n", "20", "--out", str(out), "--cache-dir",
                                    str(tmp_path / "c"), *extra])
        assert e.exit_code == 0, e.output
        assert json.loads(out.read_text())["weights"] == weights
        s = cli_runner.invoke(cli, ["sample", str(run), "-n", "3", *extra])
        assert s.exit_code == 0 and len(s.output.splitlines()) == 3


def test_image_generator_average(cli_runner, tmp_path):
    """An image run keeps G_ema (its generators' batch norm keeps no running statistics: nothing but weights
    to average); sample draws from either."""
    run = tmp_path / "run"
    args = ["train-image", "--preset", "tiny", "--iters", 2, "--eval-every", 0, "--ema-decay", 0.99, "--out", run]
    r = cli_runner.invoke(cli, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    tensors = load_file(run / "checkpoints" / "checkpoint_00000002.safetensors")
    raw = {k[2:] for k in tensors if k.startswith("G.")}
    assert {k[len(EMA_NAME) + 1:] for k in tensors if k.startswith(EMA_NAME + ".")} == raw | {COUNTER}
    assert not torch.equal(tensors["G.out.weight"], tensors[f"{EMA_NAME}.out.weight"])
    for extra in ([], ["--raw"]):
        grid = tmp_path / f"g{len(extra)}.png"
        s = cli_runner.invoke(cli, ["sample", str(run), "-n", "4", "--out", str(grid), *extra])
        assert s.exit_code == 0, s.output
    assert (tmp_path / "g0.png").read_bytes() != (tmp_path / "g1.png").read_bytes()


def test_loading_refuses_an_average_of_another_shape(tmp_path):
    G = torch.nn.Linear(2, 2)
    tensors = {"G.weight": torch.zeros(2, 2), "G.bias": torch.zeros(2), f"{EMA_NAME}.weight": torch.zeros(3, 2),
               f"{EMA_NAME}.bias": torch.zeros(2), f"{EMA_NAME}.{COUNTER}": torch.tensor(4)}
    assert load_generator_weights(G, tensors, tmp_path / "x", ema=False) == "G"
    with pytest.raises(UserError, match="G_ema.weight has shape"):
        load_generator_weights(G, tensors, tmp_path / "x")
