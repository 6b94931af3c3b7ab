"""Same seed, configuration and device: the same weights and samples (CPU bit-exact), for every kind of run;
config.json says what produced the run."""

import json
import re

import pytest
import torch
from safetensors.torch import load_file

from cli import cli
from seqgan_gp.rundir import list_checkpoints

RUNS = {
    "text": ["train-text", "--preset", "tiny", "--iters", "6"],
    "image": ["train-image", "--preset", "tiny", "--iters", "2", "--eval-every", "0"],
    "toy": ["train-toy", "--preset", "tiny", "--iters", "6", "--plot-every", "0"],
}


def train(cli_runner, tmp_path, kind, name, *extra):
    out = tmp_path / name
    r = cli_runner.invoke(cli, [*RUNS[kind], "--out", str(out), *extra], env={"SEQGAN_GP_CACHE": str(tmp_path / "cache")})
    assert r.exit_code == 0, r.output + (r.stderr or "")
    return out


def weights(run):
    return load_file(list_checkpoints(run)[-1])


@pytest.mark.parametrize("kind", sorted(RUNS))
def test_same_seed_same_weights_and_samples_other_seed_other_weights(cli_runner, tmp_path, kind):
    a = train(cli_runner, tmp_path, kind, "a", "--seed", "3")
    b = train(cli_runner, tmp_path, kind, "b", "--seed", "3")
    c = train(cli_runner, tmp_path, kind, "c", "--seed", "4")
    wa, wb, wc = weights(a), weights(b), weights(c)
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa if k.startswith("G."))
    samples = sorted(p.name for p in (a / "samples").iterdir())
    assert samples and samples == sorted(p.name for p in (b / "samples").iterdir())
    for name in samples:
        assert (a / "samples" / name).read_bytes() == (b / "samples" / name).read_bytes(), name

    doc = json.loads((a / "config.json").read_text())
    assert doc["versions"]["torch"] == torch.__version__ and "numpy" in doc["versions"]
    assert isinstance(doc["command"], list) and doc["command"]
    assert doc["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", doc["git_commit"])
    assert doc["config"]["seed"] == 3 and doc["runtime"]["deterministic"] is False


def test_deterministic_flag_is_recorded_and_changes_nothing_on_the_cpu(cli_runner, tmp_path):
    try:
        a = train(cli_runner, tmp_path, "text", "a", "--deterministic")
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(False)
    b = train(cli_runner, tmp_path, "text", "b")
    wa, wb = weights(a), weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert json.loads((a / "config.json").read_text())["runtime"]["deterministic"] is True
