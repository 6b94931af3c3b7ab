"""Seconds and operators per generator iteration of the text WGAN-GP step, against the PyTorch port.

One *generator iteration* is ``--critic-iters`` critic steps and one generator step, as the paper
counts iterations. Two implementations train the paper's 1-D ResNet language GAN on random token
ids in the same process, their timed iterations interleaved so that both see the same machine load:

* ``ours``: seqgan_gp's step (seqgan_gp.step): one-hot on the device, the critic over cat(real,
  fake) and over x̂, one backward, fused Adam, gradients set to None, no host syncs; optionally
  ``--compile`` and ``--amp bf16``;
* ``baseline``: the step of the common PyTorch port of the paper (caogang/wgan-gp gan_language.py,
  modernised): host numpy one-hot batches, three separate critic passes with three backward calls,
  PyTorch's default Adam, ``nn.ReLU`` blocks. It uses the same weights and computes the same
  function (with the penalty's norm over all non-batch dimensions, not the port's one-axis bug, and
  without its in-place ReLU that changes the residual branch's input).

The interface is fixed so that numbers from different machines compare::

    python benchmarks/train_step.py --dim 128 --seq-len 32 --batch 64 --vocab 256 --critic-iters 10 \\
        --blocks 5 --iters 5 [--device cpu|cuda] [--compile] [--amp off|bf16|auto] --json

runs one warm-up generator iteration (which also compiles), then ``--iters`` timed ones, and prints
one JSON line: ``sec_per_iter`` (median wall time), ``cpu_sec_per_iter`` (median CPU time of the
process: on a loaded shared machine with one thread, the time the step would take alone),
``aten_ops_per_iter`` (every ``aten::`` operator the PyTorch profiler records over one generator
iteration, nested ones included) and the configuration; ``--baseline`` adds the baseline's figures and the ratios. Without ``--json`` it
prints a table with the baseline measured in the same run, the speed-up and the operator ratio.
The load average of the machine is printed with the results: on a shared machine compare only
ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seqgan_gp.batches import TokenBatches  # noqa: E402
from seqgan_gp.objectives import WGANGP  # noqa: E402
from seqgan_gp.optimizers import make_optimizer  # noqa: E402
from seqgan_gp.precision import cpu_description  # noqa: E402
from seqgan_gp.runtime import RuntimeOptions, resolve_runtime  # noqa: E402
from seqgan_gp.steps import make_step  # noqa: E402
from seqgan_gp.text.models import TextCritic, TextGenerator  # noqa: E402

Z_DIM = 128


# -- the baseline: the PyTorch port's models and step ------------------------------------------

class PortResBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.res_block = nn.Sequential(nn.ReLU(), nn.Conv1d(dim, dim, 5, padding=2),
                                       nn.ReLU(), nn.Conv1d(dim, dim, 5, padding=2))

    def forward(self, x):
        return x + (0.3 * self.res_block(x))


class PortGenerator(nn.Module):
    def __init__(self, dim: int, seq_len: int, vocab: int, blocks: int):
        super().__init__()
        self.dim, self.seq_len = dim, seq_len
        self.fc1 = nn.Linear(Z_DIM, dim * seq_len)
        self.block = nn.Sequential(*[PortResBlock(dim) for _ in range(blocks)])
        self.conv1 = nn.Conv1d(dim, vocab, 1)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, noise):
        output = self.fc1(noise).view(-1, self.dim, self.seq_len)
        output = self.conv1(self.block(output)).transpose(1, 2)
        shape = output.size()
        output = self.softmax(output.contiguous().view(-1, shape[2]))
        return output.view(shape)


class PortCritic(nn.Module):
    def __init__(self, dim: int, seq_len: int, vocab: int, blocks: int):
        super().__init__()
        self.dim, self.seq_len = dim, seq_len
        self.block = nn.Sequential(*[PortResBlock(dim) for _ in range(blocks)])
        self.conv1d = nn.Conv1d(vocab, dim, 1)
        self.linear = nn.Linear(seq_len * dim, 1)

    def forward(self, x):
        output = self.block(self.conv1d(x.transpose(1, 2)))
        return self.linear(output.view(-1, self.seq_len * self.dim))


def port_weights(ours: nn.Module) -> dict:
    """Our state dict under the port's parameter names (same tensors, same function)."""
    heads = {"fc.": "fc1.", "out.": "conv1."} if isinstance(ours, TextGenerator) else {"inp.": "conv1d.", "fc.": "linear."}
    out = {}
    for key, value in ours.state_dict().items():
        if key.startswith("blocks."):
            _, i, conv, rest = key.split(".")
            key = f"block.{i}.res_block.{1 if conv == 'conv1' else 3}.{rest}"
        else:
            head = next(h for h in heads if key.startswith(h))
            key = heads[head] + key[len(head):]
        out[key] = value.clone()
    return out


class BaselineStep:
    """caogang/wgan-gp gan_language.py's iteration: critic steps then one generator step."""

    def __init__(self, G, D, ids: np.ndarray, args, device):
        self.G, self.D, self.ids, self.args, self.device = G, D, ids, args, device
        self.g_opt = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.5, 0.9))
        self.d_opt = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.5, 0.9))
        self.eye = np.eye(args.vocab, dtype=np.float32)
        self.rs = np.random.RandomState(0)
        self.one = torch.tensor(1.0, device=device)
        self.mone = -self.one

    def penalty(self, real, fake):
        a = self.args
        alpha = torch.rand(a.batch, 1, 1, device=self.device).expand(real.size())
        interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        disc = self.D(interpolates)
        gradients = torch.autograd.grad(outputs=disc, inputs=interpolates, grad_outputs=torch.ones_like(disc),
                                        create_graph=True, retain_graph=True, only_inputs=True)[0]
        return ((gradients.flatten(1).norm(2, dim=1) - 1) ** 2).mean() * 10.0

    def iteration(self):
        a, G, D = self.args, self.G, self.D
        for p in D.parameters():
            p.requires_grad = True
        for _ in range(a.critic_iters):
            rows = self.ids[self.rs.randint(0, len(self.ids), a.batch)]
            real = torch.from_numpy(self.eye[rows]).to(self.device)  # host one-hot
            D.zero_grad()
            D(real).mean().backward(self.mone)
            with torch.no_grad():
                fake = G(torch.randn(a.batch, Z_DIM, device=self.device))
            D(fake).mean().backward(self.one)
            self.penalty(real, fake).backward()
            self.d_opt.step()
        for p in D.parameters():
            p.requires_grad = False
        G.zero_grad()
        D(G(torch.randn(a.batch, Z_DIM, device=self.device))).mean().backward(self.mone)
        self.g_opt.step()


# -- ours -------------------------------------------------------------------------------------

class OurStep:
    def __init__(self, G, D, ids: np.ndarray, args, device):
        self.args = args
        self.runtime = resolve_runtime(RuntimeOptions(compile=args.compile, amp=args.amp), device)
        self.batches = TokenBatches(ids, args.vocab, args.batch, 0, device)
        self.step = make_step(G=G, D=D, g_opt=make_optimizer("adam", G.parameters(), lr=1e-4),
                              d_opt=make_optimizer("adam", D.parameters(), lr=1e-4), objective=WGANGP(),
                              rng=torch.Generator(device=device).manual_seed(1), runtime=self.runtime)

    def iteration(self):
        for _ in range(self.args.critic_iters):
            self.step.critic(self.batches.next())
        self.step.generator(self.args.batch)


# -- measurement --------------------------------------------------------------------------------

def count_ops(fn) -> int:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return sum(1 for e in prof.events() if e.name.startswith("aten::"))


def timed(fn, device) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t, c = time.perf_counter(), time.process_time()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - t, time.process_time() - c


def build(args, device):
    torch.manual_seed(0)
    G = TextGenerator(vocab_size=args.vocab, seq_len=args.seq_len, dim=args.dim, blocks=args.blocks, z_dim=Z_DIM)
    D = TextCritic(vocab_size=args.vocab, seq_len=args.seq_len, dim=args.dim, blocks=args.blocks)
    return G.to(device), D.to(device)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dim", type=int, default=512, help="channels of the residual blocks (paper: 512)")
    p.add_argument("--seq-len", type=int, default=32, help="tokens per sentence (paper: 32)")
    p.add_argument("--batch", type=int, default=64, help="sentences per step (paper: 64)")
    p.add_argument("--vocab", type=int, default=256, help="vocabulary size V")
    p.add_argument("--critic-iters", type=int, default=10, help="critic steps per generator step (paper: 10)")
    p.add_argument("--blocks", type=int, default=5, help="residual blocks per network (paper: 5)")
    p.add_argument("--iters", type=int, default=5, help="timed generator iterations (after one warm-up)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--compile", action="store_true", help="torch.compile our step")
    p.add_argument("--amp", default="off", choices=["off", "bf16", "auto"], help="bf16 autocast for our step")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: PyTorch's)")
    p.add_argument("--json", action="store_true", help="print one JSON line instead of the table")
    p.add_argument("--baseline", action="store_true", help="with --json: also time the port's step")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    with_baseline = args.baseline or not args.json
    ids = np.random.default_rng(0).integers(0, args.vocab, size=(max(4096, 4 * args.batch), args.seq_len))
    load_before = os.getloadavg()

    G, D = build(args, device)
    ours = OurStep(G, D, ids, args, device)
    runners = {"ours": ours}
    if with_baseline:
        Gb = PortGenerator(args.dim, args.seq_len, args.vocab, args.blocks).to(device)
        Db = PortCritic(args.dim, args.seq_len, args.vocab, args.blocks).to(device)
        G0, D0 = build(args, device)
        Gb.load_state_dict(port_weights(G0))
        Db.load_state_dict(port_weights(D0))
        runners["baseline"] = BaselineStep(Gb, Db, ids, args, device)

    warmup = {name: timed(r.iteration, device)[0] for name, r in runners.items()}  # compiles, if asked
    ops = {name: count_ops(r.iteration) for name, r in runners.items()}
    times: dict[str, list[float]] = {name: [] for name in runners}
    cpu: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.iters):  # interleaved: both see the same load
        for name, r in runners.items():
            wall, busy = timed(r.iteration, device)
            times[name].append(wall)
            cpu[name].append(busy)
    load_after = os.getloadavg()

    config = {k: getattr(args, k) for k in ("dim", "seq_len", "batch", "vocab", "critic_iters", "blocks", "iters",
                                            "device", "compile", "amp")}
    config.update(threads=torch.get_num_threads(), torch=torch.__version__,
                  cpu=cpu_description() if device.type == "cpu" else torch.cuda.get_device_name(device),
                  precision=ours.runtime.precision.describe())
    result = {"sec_per_iter": statistics.median(times["ours"]), "sec_per_iter_min": min(times["ours"]),
              "sec_per_iter_all": [round(t, 4) for t in times["ours"]],
              "cpu_sec_per_iter": statistics.median(cpu["ours"]), "aten_ops_per_iter": ops["ours"],
              "warmup_sec": warmup["ours"], "config": config,
              "load_avg_1min": [round(load_before[0], 2), round(load_after[0], 2)]}
    if with_baseline:
        base = statistics.median(times["baseline"])
        result["baseline"] = {"sec_per_iter": base, "sec_per_iter_min": min(times["baseline"]),
                              "sec_per_iter_all": [round(t, 4) for t in times["baseline"]],
                              "cpu_sec_per_iter": statistics.median(cpu["baseline"]),
                              "aten_ops_per_iter": ops["baseline"]}
        result["speedup"] = base / result["sec_per_iter"]
        result["speedup_min"] = min(times["baseline"]) / result["sec_per_iter_min"]
        result["speedup_cpu"] = result["baseline"]["cpu_sec_per_iter"] / result["cpu_sec_per_iter"]
        result["op_ratio"] = ops["baseline"] / ops["ours"]
    if args.json:
        print(json.dumps(result))
        return result

    from rich.console import Console
    from rich.table import Table

    label = "ours" + (" --compile" if args.compile else "") + (f" --amp {args.amp}" if args.amp != "off" else "")
    table = Table(title=f"generator iteration = {args.critic_iters} critic steps + 1 generator step; DIM {args.dim}, "
                        f"batch {args.batch}, length {args.seq_len}, V {args.vocab}, {args.blocks} blocks, "
                        f"{args.device} ({config['cpu']}), {config['threads']} threads")
    for col in ("step", "s/iter (median)", "s/iter (min)", "CPU s/iter", "aten ops/iter", "speed-up (median)",
                "speed-up (CPU s)", "op ratio"):
        table.add_column(col, justify="right" if col != "step" else "left")
    b = result["baseline"]
    table.add_row("baseline (PyTorch port)", f"{b['sec_per_iter']:.4f}", f"{b['sec_per_iter_min']:.4f}",
                  f"{b['cpu_sec_per_iter']:.4f}", f"{b['aten_ops_per_iter']:,}", "1.00x", "1.00x", "1.00x")
    table.add_row(label, f"{result['sec_per_iter']:.4f}", f"{result['sec_per_iter_min']:.4f}",
                  f"{result['cpu_sec_per_iter']:.4f}", f"{result['aten_ops_per_iter']:,}", f"{result['speedup']:.2f}x",
                  f"{result['speedup_cpu']:.2f}x", f"{result['op_ratio']:.2f}x")
    con = Console(width=150)
    con.print(table)
    con.print(f"precision: {config['precision']}; warm-up {warmup['ours']:.1f} s; {args.iters} timed iterations "
              f"each; load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    return result


if __name__ == "__main__":
    main()
