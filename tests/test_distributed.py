"""Data-parallel training on CPU with gloo: N processes compute what one process with an N-times
larger batch computes (seqgan_gp.distributed), only rank 0 writes, and resume works."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from seqgan_gp import distributed
from seqgan_gp.batches import EpochSampler, TokenBatches
from seqgan_gp.errors import UserError
from seqgan_gp.config import TrainConfig
from seqgan_gp.gan import adversarial_trainable
from seqgan_gp.loop import Callbacks, train_loop
from seqgan_gp.objectives import WGANGP
from seqgan_gp.runtime import RuntimeOptions, resolve_runtime
from seqgan_gp.text.models import TextCritic, TextGenerator

ROOT = Path(__file__).resolve().parent.parent
V, L, DIM, B, K, ITERS = 9, 8, 16, 4, 2, 3
# ε = 1e-4: the critic's output bias has an exactly zero gradient in WGAN, and Adam with ε = 1e-8
# would turn the ±1e-8 float noise of summing it in another order into full ±lr steps.
ADAM = dict(lr=1e-3, betas=(0.5, 0.9), eps=1e-4, fused=True)


def _train(ctx, batch):
    torch.manual_seed(0)
    G = TextGenerator(vocab_size=V, seq_len=L, dim=DIM, blocks=1)
    D = TextCritic(vocab_size=V, seq_len=L, dim=DIM, blocks=1)
    if ctx.rank == 1:  # a rank that initialised differently is overwritten with rank 0's weights
        with torch.no_grad():
            G.fc.weight.add_(1.0), D.fc.bias.add_(1.0)
    ids = np.random.default_rng(1).integers(0, V, size=(50, L))
    records = []
    trainable = adversarial_trainable(G=G, D=D, g_opt=torch.optim.Adam(G.parameters(), **ADAM),
                              d_opt=torch.optim.Adam(D.parameters(), **ADAM),
                              batches=TokenBatches(ids, V, batch, 5, torch.device("cpu"), rank=ctx.rank, world=ctx.world),
                              rng=torch.Generator().manual_seed(6), objective=WGANGP(), n_critic=K, gen_batch=batch)
    train_loop(state=trainable.state, iteration=trainable.iteration(resolve_runtime(RuntimeOptions(), torch.device("cpu"), ctx)),
               schedule=TrainConfig(iters=ITERS, batch_size=batch, log_every=1), callbacks=Callbacks(log=records.append),
               dist=ctx)
    return {"G": G.state_dict(), "D": D.state_dict(), "records": records}


def _worker(rank, world, init_file, out):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        torch.set_num_threads(1)
        result = _train(distributed.current(), B)
        torch.save(result, f"{out}.{rank}")
        dist.barrier()  # no rank tears gloo down while the other still talks to it (a SIGABRT otherwise)
    finally:
        dist.destroy_process_group()


def test_two_processes_equal_one_process_with_the_doubled_batch(tmp_path):
    out = tmp_path / "result"
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(out)), nprocs=2, join=True)
    ranks = [torch.load(f"{out}.{r}") for r in range(2)]
    single = _train(distributed.DistContext(), 2 * B)
    for net in ("G", "D"):
        for key, value in single[net].items():
            for r in ranks:  # every rank holds the same weights, equal to the single process's
                assert torch.allclose(r[net][key], value, atol=2e-6, rtol=1e-4), (net, key)
    # the logged statistics are global-batch means, as the single process logs them
    for a, b in zip(single["records"], ranks[0]["records"]):
        for key in ("critic_loss", "wasserstein", "penalty", "gen_loss"):
            if key in a:
                assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-6), key
    # and the weights moved: the comparison is not between untrained networks
    torch.manual_seed(0)
    untrained = TextGenerator(vocab_size=V, seq_len=L, dim=DIM, blocks=1).state_dict()
    assert not torch.allclose(untrained["fc.weight"], single["G"]["fc.weight"])


def test_ranks_read_disjoint_slices_of_the_single_process_batch():
    one = EpochSampler(40, 8, seed=3)
    ranks = [EpochSampler(40, 4, seed=3, rank=r, world=2) for r in range(2)]
    for _ in range(12):  # several epochs
        full = one.next_indices()
        parts = [s.next_indices() for s in ranks]
        assert not set(parts[0]) & set(parts[1])
        assert np.array_equal(np.concatenate(parts), full)  # same rows at the same positions


def test_single_process_context_is_a_no_op():
    ctx = distributed.DistContext()
    net = torch.nn.Linear(2, 2)
    net(torch.ones(1, 2)).sum().backward()
    before = net.weight.grad.clone()
    ctx.average_gradients(net)
    assert torch.equal(net.weight.grad, before)
    x = torch.arange(6.0)
    assert ctx.shard(x) is x and torch.equal(ctx.mean(x), x)
    assert ctx.any(True) and not ctx.any(False)
    assert ctx.on_main(lambda: 7) == 7
    with pytest.raises(UserError, match="boom"):
        ctx.on_main(lambda: (_ for _ in ()).throw(UserError("boom")))
    assert distributed.init_from_env("cpu")[1] is None  # not under torchrun


def test_shard_takes_this_ranks_rows():
    ctx = distributed.DistContext(rank=1, world=3)
    assert torch.equal(ctx.shard(torch.arange(6)), torch.tensor([2, 3]))


def _torchrun(args, cwd, timeout=600):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(ROOT / "cli.py"), *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def test_torchrun_train_text_writes_once_and_resumes(tmp_path):
    """The real command under torchrun, 2 CPU processes (about 8 s on an idle 2-core machine)."""
    common = ["train-text", "--preset", "tiny", "--device", "cpu", "--eval-every", "0", "--cache-dir",
              str(tmp_path / "cache")]
    proc = _torchrun([*common, "--out", "run", "--iters", "4", "--checkpoint-every", "2"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "run"]  # rank 1 wrote no run directory
    config = json.loads((run / "config.json").read_text())
    assert config["runtime"]["world_size"] == 2
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records] == [0, 4]  # one writer: no duplicated records
    assert proc.stdout.count("done: iteration 4") == 1
    proc = _torchrun(["train-text", "--resume", "run", "--iters", "6", "--device", "cpu", "--cache-dir",
                      str(tmp_path / "cache")], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records] == [0, 4, 5, 6]
    assert (run / "checkpoints" / "checkpoint_00000006.safetensors").is_file()
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)


def test_torchrun_train_image_writes_once_and_weights_match_one_process_with_the_doubled_batch(tmp_path):
    """train-image under torchrun, 2 CPU processes: rank 0 alone writes, and the weights equal a
    1-process run with twice the batch (each rank draws its half of every global batch). The MNIST
    model has no batch norm in its WGAN-GP generator; models that have one normalise per rank."""
    common = ["train-image", "--preset", "tiny", "--model", "mnist", "--device", "cpu", "--eval-every", "0", "--sample-every", "0",
              "--iters", "2", "--checkpoint-every", "2"]
    proc = _torchrun([*common, "--out", "two", "--batch-size", "8"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two"]  # rank 1 wrote no run directory
    config = json.loads((tmp_path / "two" / "config.json").read_text())
    assert config["runtime"]["world_size"] == 2 and config["config"]["batch_size"] == 8
    assert proc.stdout.count("done: iteration 2") == 1
    one = subprocess.run([sys.executable, str(ROOT / "cli.py"), *common, "--out", "one", "--batch-size", "16"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert one.returncode == 0, one.stderr[-3000:]
    from safetensors.torch import load_file
    a = load_file(tmp_path / "two" / "checkpoints" / "checkpoint_00000002.safetensors")
    b = load_file(tmp_path / "one" / "checkpoints" / "checkpoint_00000002.safetensors")
    for key in (k for k in a if k.startswith(("G.", "D."))):
        torch.testing.assert_close(a[key], b[key], atol=2e-5, rtol=1e-4, msg=key)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun_nodes(args, cwd, nodes=2, timeout=600):
    """``nodes`` torchrun agents on this machine, one process each, meeting through the c10d rendezvous
    on 127.0.0.1 as the agents of a cluster's nodes would (docs/distributed.md's multi-node command)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", str(nodes), "--nproc-per-node", "1",
           "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{_free_port()}", "--rdzv-id", "test",
           "--local-addr", "127.0.0.1", str(ROOT / "cli.py"), *args]
    agents = [subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(nodes)]
    try:
        outs = [a.communicate(timeout=timeout) for a in agents]
    finally:
        for a in agents:
            if a.poll() is None:
                a.kill()
    return [(a.returncode, out, err) for a, (out, err) in zip(agents, outs)]


@pytest.mark.slow
def test_two_nodes_train_image_weights_match_one_process_with_the_doubled_batch(tmp_path):
    """torchrun --nnodes 2 (two agents with one process each, rendezvous on 127.0.0.1, gloo): rank 0
    alone writes, and the weights equal a 1-process run with twice the batch (about 25 s)."""
    common = ["train-image", "--preset", "tiny", "--model", "mnist", "--device", "cpu", "--eval-every", "0",
              "--sample-every", "0", "--iters", "2", "--checkpoint-every", "2"]
    nodes = _torchrun_nodes([*common, "--out", "two", "--batch-size", "8"], tmp_path)
    for code, out, err in nodes:
        assert code == 0, err[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two"]  # the other node wrote nothing
    config = json.loads((tmp_path / "two" / "config.json").read_text())
    assert config["runtime"]["world_size"] == 2 and config["config"]["batch_size"] == 8
    assert sum(out.count("done: iteration 2") for _, out, _ in nodes) == 1
    one = subprocess.run([sys.executable, str(ROOT / "cli.py"), *common, "--out", "one", "--batch-size", "16"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert one.returncode == 0, one.stderr[-3000:]
    from safetensors.torch import load_file
    a = load_file(tmp_path / "two" / "checkpoints" / "checkpoint_00000002.safetensors")
    b = load_file(tmp_path / "one" / "checkpoints" / "checkpoint_00000002.safetensors")
    untrained = load_file(tmp_path / "one" / "checkpoints" / "checkpoint_00000000.safetensors")
    moved = [k for k in a if k.startswith(("G.", "D.")) and not torch.equal(b[k], untrained[k])]
    assert len(moved) > len([k for k in a if k.startswith(("G.", "D."))]) // 2  # the runs trained
    for key in (k for k in a if k.startswith(("G.", "D."))):
        torch.testing.assert_close(a[key], b[key], atol=2e-5, rtol=1e-4, msg=key)
