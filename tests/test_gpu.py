"""Checks on a real CUDA device: ``pytest -m gpu`` (skipped, saying why, where none is visible;
left out of the default run). benchmarks/gpu_check.sh runs them with the step benchmarks.

Runs go through the command line and are compared through the files they write (metrics.jsonl and
the safetensors checkpoints), so they test what a user runs. All CUDA runs of the module start
together in background processes when the first test needs one (they are small; a GPU runs them
side by side), and each test waits for its own.

Tolerances, float32 without TF32 (``--no-tf32``):

* losses of the same iteration: |a − b| ≤ 1e-3 · max(1, |a|);
* weights after 4 iterations: a weight tensor agrees when ‖w_a − w_b‖ ≤ 1% of ‖w_a − w_0‖, the
  distance it travelled from its initial value w_0 (the iteration-0 checkpoint); in each network
  the tensors that do not agree hold at most 2% of its weights. Different kernels sum in different
  orders (about 1e-7 relative), and most tensors agree to 1e-5 of their travel; but where a
  gradient is zero by construction, Adam turns that float noise into full learning-rate steps of
  random sign: biases in front of a batch norm (the CIFAR generator's), the critic's output bias.
  Those are a few small tensors. A step that reads a stale batch, skips an update or replays a
  graph with old inputs moves every tensor differently, by the order of its travel.

The same comparisons run on the CPU (eager against ``--compile``) under ``pytest -m slow``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, str(ROOT / "cli.py")]  # the entry point (one place to change)
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]
LOSSES = ("critic_loss", "wasserstein", "penalty", "gen_loss")
ITERS = 4
# seconds for one CLI run (a compiled run spends most of it compiling); gpu_check sets it to fit its budget
TIMEOUT = float(os.environ.get("SEQGAN_GP_GPU_RUN_TIMEOUT", "300"))

COMMON = ["--iters", str(ITERS), "--log-every", "1", "--sample-every", "0", "--eval-every", "0",
          "--checkpoint-every", "1", "--keep-checkpoints", "0", "--seed", "3"]
# 16 and 8 examples: 1/B is exact in binary, so the critic bias's zero gradient stays exactly zero
TEXT = ["train-text", "--preset", "tiny", "--corpus", "embedded", "--batch-size", "16", *COMMON]
CIFAR = ["train-image", "--preset", "tiny", "--model", "cifar-resnet", "--dataset", "embedded", "--batch-size", "8",
         *COMMON]
EXACT = ["--no-tf32"]


def _device_params(*, cpu_slow: bool = True):
    """The CUDA case (marked gpu) and the CPU case of a check (marked slow: the CLI runs take a while)."""
    return [pytest.param("cuda", marks=pytest.mark.gpu, id="cuda"),
            pytest.param("cpu", marks=[pytest.mark.slow] if cpu_slow else [], id="cpu")]


# -- background CLI runs -------------------------------------------------------------------------------

class Job:
    """Commands run one after the other in a background thread (a run, then maybe its resume)."""

    def __init__(self, name: str, commands: list[list[str]], cwd: Path, env: dict):
        self.name, self.commands, self.cwd, self.env = name, commands, cwd, env
        self.done: list[subprocess.CompletedProcess] = []
        self.error: str | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for cmd in self.commands:
            try:
                proc = subprocess.run(cmd, cwd=self.cwd, env=self.env, capture_output=True, text=True,
                                      timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.error = f"timed out after {TIMEOUT:.0f} s: {' '.join(cmd)}"
                return
            self.done.append(proc)
            if proc.returncode != 0:
                self.error = (f"exit code {proc.returncode}: {' '.join(cmd)}\n--- stderr ---\n{proc.stderr[-4000:]}"
                              f"\n--- stdout ---\n{proc.stdout[-1500:]}")
                return

    def wait(self) -> Path:
        """The job's run directory, once every command succeeded (the test fails with the output if not)."""
        self.thread.join()
        if self.error:
            pytest.fail(f"{self.name}: {self.error}", pytrace=False)
        return self.cwd / self.name


NCCL_CHECK = textwrap.dedent("""
    # NCCL as the CLI initialises it under torchrun (seqgan_gp.distributed), with the gloo group the core
    # adds for host-side flags; a world of one, the most one GPU allows (NCCL refuses two ranks on one GPU)
    import torch, torch.distributed as dist
    from seqgan_gp import distributed
    torch.cuda.set_device(0)
    dist.init_process_group(backend="nccl")
    ctx = distributed.current()
    x = torch.arange(4.0, device="cuda")
    dist.all_reduce(x)
    dist.broadcast(x, src=0)
    dist.barrier(group=ctx.cpu_group)
    torch.cuda.synchronize()
    assert dist.get_backend() == "nccl" and x.tolist() == [0.0, 1.0, 2.0, 3.0], x
    dist.destroy_process_group()
    print("nccl ok")
""")


def jobs(device: str, cache: Path) -> dict[str, list[list[str]]]:
    """Every CLI run the checks of ``device`` compare, by run-directory name."""
    def text(name, *extra, iters=None):
        args = TEXT + ["--device", device, "--out", name, "--cache-dir", str(cache / name), *extra]
        return args + (["--iters", str(iters)] if iters else [])

    def cifar(name, *extra):
        return CIFAR + ["--device", device, "--out", name, *extra]

    out = {
        "text-eager": [text("text-eager", *EXACT)],
        "text-compile": [text("text-compile", *EXACT, "--compile")],
        "text-det-a": [text("text-det-a", "--deterministic")],
        "text-det-b": [text("text-det-b", "--deterministic")],
        "text-resumed": [text("text-resumed", "--deterministic", iters=ITERS // 2),
                         ["train-text", "--resume", "text-resumed", "--iters", str(ITERS), "--device", device,
                          "--deterministic", "--cache-dir", str(cache / "text-resumed")]],
        "text-bf16": [text("text-bf16", "--amp", "bf16")],
        "cifar-eager": [cifar("cifar-eager", *EXACT)],
        "cifar-compile": [cifar("cifar-compile", *EXACT, "--compile")],
    }
    if device == "cuda":
        out["text-graphs"] = [text("text-graphs", *EXACT, "--cuda-graphs")]
        out["cifar-graphs"] = [cifar("cifar-graphs", *EXACT, "--cuda-graphs")]
    out = {name: [(CLI + cmd) for cmd in cmds] for name, cmds in out.items()}
    if device == "cuda":  # torchrun with one process: the CLI's run, then NCCL itself
        one = [*TORCHRUN, "--standalone", "--nproc_per_node", "1"]
        out["torchrun"] = [[*one, str(ROOT / "cli.py"), *text("torchrun")],
                           [*one, str(cache.parent / "nccl_check.py")]]
    return out


class Runs:
    """Starts the CLI runs of a device on first use: all at once on CUDA, one by one on the CPU."""

    def __init__(self, root: Path):
        self.root = root
        self.started: dict[tuple[str, str], Job] = {}
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                    "OMP_NUM_THREADS": "2"}

    def get(self, device: str, name: str) -> Path:
        cwd = self.root / device
        cwd.mkdir(exist_ok=True)
        if not (cwd / "nccl_check.py").exists():  # written once: a running job may be reading it
            (cwd / "nccl_check.py").write_text(NCCL_CHECK)
        planned = jobs(device, cwd / "cache")
        wanted = planned if device == "cuda" else {name: planned[name]}
        for n, commands in wanted.items():
            if (device, n) not in self.started:
                self.started[(device, n)] = Job(n, commands, cwd, self.env)
        return self.started[(device, name)].wait()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return Runs(tmp_path_factory.mktemp("cli-runs"))


# -- reading what a run wrote --------------------------------------------------------------------------

def checkpoint(run: Path, iteration: int) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(run / "checkpoints" / f"checkpoint_{iteration:08d}.safetensors")


def losses(run: Path) -> list[dict]:
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: r[k] for k in LOSSES if k in r} for r in records if r["iteration"] > 0]


def network(tensors: dict, prefix: str) -> dict[str, torch.Tensor]:
    return {k: v.double() for k, v in tensors.items() if k.startswith(prefix + ".") and v.is_floating_point()}


def assert_same_training(a: Path, b: Path) -> dict:
    """Losses and weights of two runs agree within the module's tolerances; returns the measured ratios."""
    la, lb = losses(a), losses(b)
    assert len(la) == len(lb) == ITERS and all(set(r) == set(LOSSES) for r in la)
    for i, (ra, rb) in enumerate(zip(la, lb), 1):
        for k in LOSSES:
            assert math.isfinite(ra[k]) and abs(ra[k] - rb[k]) <= 1e-3 * max(1.0, abs(ra[k])), (i, k, ra[k], rb[k])
    start, end_a, end_b = checkpoint(a, 0), checkpoint(a, ITERS), checkpoint(b, ITERS)
    measured = {}
    for net in ("G", "D"):
        w0, wa, wb = network(start, net), network(end_a, net), network(end_b, net)
        ratio = {k: float((wa[k] - wb[k]).norm() / (wa[k] - w0[k]).norm().clamp_min(1e-30)) for k in wa}
        apart = [k for k, r in ratio.items() if r > 0.01]
        share = sum(wa[k].numel() for k in apart) / sum(v.numel() for v in wa.values())
        assert sum(ratio[k] <= 0.01 for k in wa) >= len(wa) / 2, (net, ratio)  # most tensors moved alike
        assert share <= 0.02, (net, {k: ratio[k] for k in apart})
        measured[net] = {"max_ratio_agreeing": max(r for r in ratio.values() if r <= 0.01), "apart": apart}
    return measured


# -- the checks ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("device", _device_params())
@pytest.mark.parametrize("model", ["text", "cifar"])
def test_compile_and_cuda_graphs_train_as_eager(runs, device, model, record_property):
    eager = runs.get(device, f"{model}-eager")
    others = ["compile"] + (["graphs"] if device == "cuda" else [])
    for variant in others:
        measured = assert_same_training(eager, runs.get(device, f"{model}-{variant}"))
        record_property(f"{variant}_vs_eager", json.dumps(measured))


@pytest.mark.parametrize("device", _device_params())
def test_deterministic_runs_are_bit_identical_and_resume_exactly(runs, device):
    a, b, resumed = (runs.get(device, n) for n in ("text-det-a", "text-det-b", "text-resumed"))
    end = checkpoint(a, ITERS)
    for other in (checkpoint(b, ITERS), checkpoint(resumed, ITERS)):
        assert set(other) == set(end)
        for key, value in end.items():  # weights, optimizer state and the random generator's state
            assert torch.equal(value, other[key]), key
    assert losses(a) == losses(b) == losses(resumed)


@pytest.mark.parametrize("device", _device_params())
def test_bf16_run_keeps_weights_and_optimizer_state_in_float32(runs, device):
    run = runs.get(device, "text-bf16")
    config = json.loads((run / "config.json").read_text())
    assert config["runtime"]["precision"]["name"] == "bf16"
    tensors = checkpoint(run, ITERS)
    floats = {k: v.dtype for k, v in tensors.items() if k.startswith(("G.", "D.", "opt_G.", "opt_D."))}
    assert floats and set(floats.values()) == {torch.float32}
    assert all(math.isfinite(v) for r in losses(run) for v in r.values())


def bf16_probe(device: torch.device) -> dict:
    """dtypes of the convolutions and of the norms PyTorch runs in one generator iteration of the text
    step under ``--amp bf16``, of its logged penalty and of the optimizers' state (internal API)."""
    import numpy as np

    from benchmarks import adapters
    from benchmarks.flops import _FlopCount

    class Dtypes(_FlopCount):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = str(func._overloadpacket)
            if name in ("aten.convolution", "aten.linalg_vector_norm"):
                self.by_op[(name, str(args[0].dtype))] += 1
            return func(*args, **(kwargs or {}))

    G, D = adapters.text_networks(vocab=9, seq_len=8, dim=16, blocks=1, device=device)
    ids = np.random.default_rng(0).integers(0, 9, size=(64, 8))
    built = adapters.text_step(G, D, ids, vocab=9, batch=4, n_critic=2, device=device,
                               flags={"compile": False, "amp": "bf16", "cuda_graphs": False})
    with Dtypes() as mode:
        built.iteration()
    state = {str(v.dtype) for opt in built.optimizers for s in opt.state.values() for v in s.values()
             if torch.is_tensor(v)}
    return {"ops": dict(mode.by_op), "penalty": str(built.last_stats["penalty"].dtype), "optimizer_state": state,
            "weights": {str(p.dtype) for p in list(G.parameters()) + list(D.parameters())}}


@pytest.mark.parametrize("device", _device_params(cpu_slow=False))
def test_bf16_autocast_runs_convolutions_in_bf16_and_the_penalty_norm_in_float32(device):
    probe = bf16_probe(torch.device(device))
    ops = probe["ops"]
    assert ops.get(("aten.convolution", "torch.bfloat16"), 0) > 0  # autocast is on
    assert ops.get(("aten.linalg_vector_norm", "torch.float32"), 0) == 2  # the penalty's, in each critic step
    assert ("aten.linalg_vector_norm", "torch.bfloat16") not in ops
    assert probe["penalty"] == "torch.float32"
    assert probe["optimizer_state"] == {"torch.float32"} and probe["weights"] == {"torch.float32"}


@pytest.mark.gpu
def test_torchrun_on_one_gpu_trains_and_nccl_works(runs):
    run = runs.get("cuda", "torchrun")
    assert checkpoint(run, ITERS)["G.fc.weight"].isfinite().all() and len(losses(run)) == ITERS
    nccl = runs.started[("cuda", "torchrun")].done[1]
    assert "nccl ok" in nccl.stdout, nccl.stderr[-3000:]


@pytest.mark.gpu
def test_peak_cuda_memory_of_the_paper_text_step(record_property):
    """The paper's sizes (DIM 512, batch 64, 10 critic steps, V 256): the peak is reported and does not
    grow from the first iteration to the third (nothing from one step is kept into the next)."""
    import numpy as np

    from benchmarks import adapters

    device = torch.device("cuda")
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    G, D = adapters.text_networks(vocab=256, seq_len=32, dim=512, blocks=5, device=device)
    ids = np.random.default_rng(0).integers(0, 256, size=(4096, 32))
    built = adapters.text_step(G, D, ids, vocab=256, batch=64, n_critic=10, device=device,
                               flags={"compile": False, "amp": "off", "cuda_graphs": False})
    params = sum(p.numel() for p in list(G.parameters()) + list(D.parameters()))
    built.iteration()
    torch.cuda.synchronize(device)
    first = torch.cuda.max_memory_allocated(device) - before
    built.iteration(), built.iteration()
    torch.cuda.synchronize(device)
    third = torch.cuda.max_memory_allocated(device) - before
    record_property("peak_cuda_memory_mib", round(third / 2**20, 1))
    record_property("weights_grads_adam_mib", round(16 * params / 2**20, 1))
    assert third >= 16 * params  # float32 weights, gradients and Adam's two moments at least
    assert third <= first * 1.05 + 2**24, (first, third)
