"""Precision choice (--amp off|bf16|auto, TF32) and the runtime options of a run."""

import json

import numpy as np
import pytest
import torch

from cli import cli
from seqgan_gp import precision as P
from seqgan_gp.batches import TokenBatches
from seqgan_gp.errors import UserError
from seqgan_gp.objectives import WGANGP
from seqgan_gp.optimizers import make_optimizer
from seqgan_gp.runtime import RuntimeOptions, resolve_runtime
from seqgan_gp.steps import AdversarialStep
from seqgan_gp.text.models import TextCritic, TextGenerator

CPU = torch.device("cpu")


def fake_cpu(monkeypatch, *, amx=False, avx512_bf16=False):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)


def test_cpu_bf16_capability_from_pytorch_and_from_cpuinfo(monkeypatch):
    fake_cpu(monkeypatch, amx=True, avx512_bf16=True)
    assert P.cpu_bf16_capability() == "amx"
    fake_cpu(monkeypatch, avx512_bf16=True)
    assert P.cpu_bf16_capability() == "avx512_bf16"
    fake_cpu(monkeypatch)
    assert P.cpu_bf16_capability() is None
    # builds without the helpers: the flags of /proc/cpuinfo decide
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported")
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported")
    monkeypatch.setattr(P, "_cpuinfo_flags", lambda: {"avx2", "avx512f", "amx_bf16", "amx_tile"})
    assert P.cpu_bf16_capability() == "amx"
    monkeypatch.setattr(P, "_cpuinfo_flags", lambda: {"avx2", "avx512_bf16"})
    assert P.cpu_bf16_capability() == "avx512_bf16"
    monkeypatch.setattr(P, "_cpuinfo_flags", lambda: {"avx2"})
    assert P.cpu_bf16_capability() is None


def test_auto_picks_bf16_only_where_it_is_fast(monkeypatch):
    fake_cpu(monkeypatch, avx512_bf16=True)
    assert P.resolve_precision("auto", CPU).amp_dtype is torch.bfloat16
    assert P.resolve_precision("off", CPU).amp_dtype is None  # the default stays float32
    fake_cpu(monkeypatch)
    auto = P.resolve_precision("auto", CPU)
    assert auto.amp_dtype is None and "no AMX or AVX-512 BF16" in auto.reason
    forced = P.resolve_precision("bf16", CPU)  # allowed, but the log says it is emulated
    assert forced.amp_dtype is torch.bfloat16 and "slower" in forced.describe()
    assert forced.to_json() == {"name": "bf16", "amp": "bf16", "tf32": False, "reason": forced.reason}
    assert not P.resolve_precision("off", CPU).tf32  # TF32 is a CUDA matter


def test_cuda_without_native_bf16(monkeypatch):
    cuda = torch.device("cuda", 0)
    monkeypatch.setattr(P, "cuda_bf16_native", lambda device: False)
    with pytest.raises(UserError, match="--amp bf16: .* no native bf16"):
        P.resolve_precision("bf16", cuda)
    auto = P.resolve_precision("auto", cuda)
    assert auto.amp_dtype is None and auto.tf32 and auto.name == "tf32"
    assert not P.resolve_precision("off", cuda, tf32=False).tf32
    monkeypatch.setattr(P, "cuda_bf16_native", lambda device: True)
    assert P.resolve_precision("auto", cuda).amp_dtype is torch.bfloat16


def test_bad_runtime_options_are_user_errors():
    with pytest.raises(UserError, match="--amp fp8"):
        RuntimeOptions(amp="fp8")
    with pytest.raises(UserError, match="--compile and --cuda-graphs"):
        RuntimeOptions(compile=True, cuda_graphs=True)
    with pytest.raises(UserError, match="--cuda-graphs: CUDA graphs need a CUDA device"):
        resolve_runtime(RuntimeOptions(cuda_graphs=True), CPU)


def _step(amp):
    torch.manual_seed(0)
    G = TextGenerator(vocab_size=7, seq_len=8, dim=16, blocks=1)
    D = TextCritic(vocab_size=7, seq_len=8, dim=16, blocks=1)
    dtypes = []
    D.inp.register_forward_hook(lambda mod, args, out: dtypes.append(out.dtype))
    step = AdversarialStep(G=G, D=D, g_opt=make_optimizer("adam", G.parameters(), lr=1e-4),
                           d_opt=make_optimizer("adam", D.parameters(), lr=1e-4), objective=WGANGP(),
                           rng=torch.Generator().manual_seed(1), runtime=resolve_runtime(RuntimeOptions(amp=amp), CPU))
    batches = TokenBatches(np.random.default_rng(0).integers(0, 7, size=(40, 8)), 7, 8, 0, CPU)
    stats = step.critic(batches.next())
    stats.update(step.generator(8))
    return stats, dtypes, D, step.d_opt


def test_bf16_step_keeps_the_penalty_and_optimizer_in_float32():
    f32, dtypes32, _, _ = _step("off")
    bf16, dtypes16, D, opt = _step("bf16")
    assert set(dtypes32) == {torch.float32} and set(dtypes16) == {torch.bfloat16}  # autocast did run
    for key in ("critic_loss", "wasserstein", "penalty", "gen_loss"):
        assert bf16[key].dtype == torch.float32
        assert bf16[key].item() == pytest.approx(f32[key].item(), rel=0.05, abs=0.02), key
    assert all(p.dtype == torch.float32 for p in D.parameters())
    assert all(s["exp_avg"].dtype == torch.float32 for s in opt.state.values())


def test_cli_records_the_precision_and_runtime_options_may_change_on_resume(cli_runner, tmp_path):
    out = tmp_path / "run"
    base = ["train-text", "--preset", "tiny", "--eval-every", "0", "--sample-every", "0",
            "--cache-dir", str(tmp_path / "cache")]
    r = cli_runner.invoke(cli, [*base, "--out", str(out), "--iters", "2", "--amp", "bf16"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    runtime = json.loads((out / "config.json").read_text())["runtime"]
    assert runtime["amp"] == "bf16" and runtime["precision"]["name"] == "bf16" and runtime["world_size"] == 1
    assert "precision bf16 autocast" in r.output.replace("\n", " ")
    r = cli_runner.invoke(cli, ["train-text", "--resume", str(out), "--iters", "3", "--cache-dir",
                                str(tmp_path / "cache")], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    runtime = json.loads((out / "config.json").read_text())["runtime"]
    assert runtime["amp"] == "off" and runtime["precision"]["name"] == "float32"
    assert (out / "checkpoints" / "checkpoint_00000003.safetensors").is_file()
    r = cli_runner.invoke(cli, [*base, "--out", str(tmp_path / "graphs"), "--cuda-graphs"])
    assert r.exit_code == 2 and not (tmp_path / "graphs").exists()


@pytest.mark.parametrize("command", [
    ["train-image", "--preset", "tiny", "--eval-every", "0"],
    ["train-toy", "--preset", "tiny", "--plot-every", "0", "--eval-every", "0"],
])
def test_image_and_toy_runs_take_the_same_runtime_options(cli_runner, tmp_path, command):
    out = tmp_path / "run"
    r = cli_runner.invoke(cli, [*command, "--out", str(out), "--iters", "2", "--amp", "bf16"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    runtime = json.loads((out / "config.json").read_text())["runtime"]
    assert runtime["amp"] == "bf16" and runtime["precision"]["name"] == "bf16"
    assert "precision bf16 autocast" in r.output.replace("\n", " ")
    r = cli_runner.invoke(cli, [*command, "--out", str(tmp_path / "graphs"), "--cuda-graphs"])
    assert r.exit_code == 2 and not (tmp_path / "graphs").exists()  # refused before a run directory exists
