"""Seconds, GFLOP/s and % of this machine's peak per generator iteration of the text WGAN-GP step.

One *generator iteration* is ``--critic-iters`` critic steps and one generator step, as the paper
counts iterations. The paper's 1-D ResNet language GAN trains on random token ids, in variants
(``--variants``, the CLI's runtime flags) measured in one process:

* ``baseline``: the step of the common PyTorch port of the paper (benchmarks/port.py): host numpy
  one-hot batches, three critic passes with three backward calls, PyTorch's default Adam;
* ``eager``: seqgan_gp's step (seqgan_gp.steps): one-hot on the device, the critic over cat(real,
  fake) and over x̂, one backward, fused Adam, no host syncs;
* ``compile``, ``bf16``, ``cuda-graphs`` and combinations such as ``bf16+cuda-graphs``: the same step
  under ``--compile``, ``--amp bf16`` and ``--cuda-graphs``.

Each variant is warmed up (one iteration, which compiles or captures), then timed ``--iters``
times alternating with the baseline (benchmarks/measure.py). The floating-point work of an
iteration is counted analytically from the layer shapes (benchmarks/flops.py: 6.2 TFLOP at the
paper's sizes); the peaks it is compared with are measured in this process, for each precision,
on a large matrix product and on the paper's convolution (forward and backward)::

    python benchmarks/train_step.py --dim 128 --batch 64 --iters 5                 # eager vs the port, CPU
    python benchmarks/train_step.py --dim 512 --variants baseline,eager,bf16,compile --iters 3
    python benchmarks/train_step.py --device cuda --variants baseline,eager,bf16,cuda-graphs,bf16+cuda-graphs,compile
    python benchmarks/train_step.py --dim 128 --compile --json --baseline          # one JSON line

``--compile`` and ``--amp bf16`` without ``--variants`` choose one variant of ours, which is measured
beside the baseline (always in the table; with ``--json`` only given ``--baseline``). The load
average is printed with the results: on a shared machine compare only ratios from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import adapters  # noqa: E402
from benchmarks.flops import PAPER_CONV, TextShape, shape_arg, text_step_flops  # noqa: E402
from benchmarks.measure import (BASELINE, Bench, Built, Variant, parse_variants, render, variant_flags,  # noqa: E402
                                write_json)
from benchmarks.port import PortCritic, PortGenerator, PortStep, host_onehot_batches, port_weights  # noqa: E402

PAPER_ITERS = 200_000  # generator iterations of the paper's language model


def conv_shape(text: str) -> tuple[int, int, int, int]:
    try:
        return shape_arg(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dim", type=int, default=512, help="channels of the residual blocks (paper: 512)")
    p.add_argument("--seq-len", type=int, default=32, help="tokens per sentence (paper: 32)")
    p.add_argument("--batch", type=int, default=64, help="sentences per step (paper: 64)")
    p.add_argument("--vocab", type=int, default=256, help="vocabulary size V")
    p.add_argument("--critic-iters", type=int, default=10, help="critic steps per generator step (paper: 10)")
    p.add_argument("--blocks", type=int, default=5, help="residual blocks per network (paper: 5)")
    p.add_argument("--iters", type=int, default=5, help="timed generator iterations per variant (after one warm-up)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--variants", default=None,
                   help="comma-separated: baseline, eager, bf16, compile, cuda-graphs, or flags joined by '+' "
                        "(bf16+cuda-graphs) [default: one variant from --compile/--amp, and the baseline]")
    p.add_argument("--compile", action="store_true", help="without --variants: time our step under torch.compile")
    p.add_argument("--amp", default="off", choices=["off", "bf16"], help="without --variants: bf16 autocast")
    p.add_argument("--no-tf32", dest="tf32", action="store_false", help="CUDA: float32 without TF32 products")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: PyTorch's)")
    p.add_argument("--matmul-n", type=int, default=None, help="size of the peak's n×n×n product (CPU 2048, CUDA 8192)")
    p.add_argument("--peak-conv", type=conv_shape, default=PAPER_CONV,
                   help="BATCH,CHANNELS,LENGTH,WIDTH of the peak's conv1d (the paper's: 64,512,32,5)")
    p.add_argument("--peak-seconds", type=float, default=0.5, help="time spent on each peak measurement")
    p.add_argument("--no-count-ops", dest="count_ops", action="store_false",
                   help="skip the profiled iteration that counts aten operators per variant")
    p.add_argument("--count-flops", action="store_true",
                   help="count the FLOPs each eager variant executes (one more iteration each)")
    p.add_argument("--projected-iters", type=int, default=PAPER_ITERS, help="iterations of the projected time")
    p.add_argument("--deadline-s", type=float, default=None,
                   help="stop starting variants (and cut timing short) after this many seconds")
    p.add_argument("--json", action="store_true", help="print one JSON line instead of the table")
    p.add_argument("--baseline", action="store_true", help="without --variants, with --json: time the port too")
    p.add_argument("--json-out", type=Path, default=None, help="also write the JSON here (updated after each variant)")
    return p


def chosen_variants(args, device: torch.device) -> list[str]:
    if args.variants is not None:
        return parse_variants(args.variants, device)
    ours = "+".join([f for f, on in (("bf16", args.amp == "bf16"), ("compile", args.compile)) if on]) or "eager"
    return ([BASELINE] if args.baseline or not args.json else []) + [ours]


def variants(args, device: torch.device, names: list[str], float32: tuple[str, str]) -> list[Variant]:
    ids = np.random.default_rng(0).integers(0, args.vocab, size=(max(4096, 4 * args.batch), args.seq_len))
    sizes = dict(vocab=args.vocab, seq_len=args.seq_len, dim=args.dim, blocks=args.blocks, device=device)

    def ours(name: str):
        def build() -> Built:
            G, D = adapters.text_networks(**sizes)
            return adapters.text_step(G, D, ids, vocab=args.vocab, batch=args.batch, n_critic=args.critic_iters,
                                      device=device, flags=variant_flags(name, device), tf32=args.tf32)
        return build

    def baseline() -> Built:
        G, D = adapters.text_networks(**sizes)
        Gp = PortGenerator(args.dim, args.seq_len, args.vocab, args.blocks).to(device)
        Dp = PortCritic(args.dim, args.seq_len, args.vocab, args.blocks).to(device)
        Gp.load_state_dict(port_weights(G.state_dict(), generator=True))
        Dp.load_state_dict(port_weights(D.state_dict(), generator=False))
        step = PortStep(Gp, Dp, host_onehot_batches(ids, args.vocab, args.batch, device), n_critic=args.critic_iters,
                        batch=args.batch, gen_batch=args.batch, lr=1e-4, betas=(0.5, 0.9))
        return Built(step.iteration, precision=float32[0], describe=float32[1], eager=True)

    return [Variant(n, baseline if n == BASELINE else ours(n)) for n in names]


def main(argv=None) -> dict:
    p = parser()
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device is visible to PyTorch")
    try:
        names = chosen_variants(args, device)
    except ValueError as exc:
        p.error(f"--variants: {exc}")
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.monotonic()
    float32 = adapters.prepare_device(device, tf32=args.tf32)
    shape = TextShape(vocab=args.vocab, seq_len=args.seq_len, dim=args.dim, blocks=args.blocks)
    flops = text_step_flops(shape, batch=args.batch, n_critic=args.critic_iters)
    config = {k: getattr(args, k) for k in ("dim", "seq_len", "batch", "vocab", "critic_iters", "blocks", "iters",
                                            "device", "tf32")}
    doc = {"benchmark": "train_step", "model": "text", "config": config, "variant_order": names,
           "machine": adapters.machine(device), "model_flops_per_iter": flops["iteration"],
           "model_flops_detail": {**flops, "source": "analytic, from the layer shapes (benchmarks/flops.py)"},
           "projected_iters": args.projected_iters, "load_avg_1min": [round(os.getloadavg()[0], 2)]}
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if not args.json else (lambda s: None)
    bench = Bench(doc, device=device, iters=args.iters, matmul_n=args.matmul_n or (8192 if device.type == "cuda" else 2048),
                  peak_conv=args.peak_conv, peak_seconds=args.peak_seconds, count_ops=args.count_ops,
                  count_flops=args.count_flops, save=(lambda: write_json(args.json_out, doc)) if args.json_out else None,
                  deadline=None if args.deadline_s is None else started + args.deadline_s, log=log)
    bench.run(variants(args, device, names, float32))
    doc["load_avg_1min"].append(round(os.getloadavg()[0], 2))
    doc["failed_variants"] = bench.failed
    bench.write()
    if args.json:
        print(json.dumps(doc))
        return doc

    from rich.console import Console

    con = Console(width=160)
    render(doc, f"text generator iteration = {args.critic_iters} critic steps + 1 generator step; DIM {args.dim}, "
                f"batch {args.batch}, length {args.seq_len}, V {args.vocab}, {args.blocks} blocks; "
                f"{flops['iteration'] / 1e9:,.1f} GFLOP per iteration; {device} ({doc['machine']['cpu']}), "
                f"{doc['machine']['threads']} threads", con)
    con.print(f"load average (1 min) {doc['load_avg_1min'][0]:.2f} before, {doc['load_avg_1min'][1]:.2f} after")
    return doc


if __name__ == "__main__":
    main()
