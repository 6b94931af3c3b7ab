"""Floating-point work of a WGAN-GP generator iteration, and the peak rate of this machine to set it against.

FLOPs here are those of matrix products and convolutions, two per multiply-add: the convention of
``torch.utils.flop_counter``. Element-wise work (activations, the penalty's norm, Adam, the one-hot)
is left out; at the paper's sizes it is well under 1% of the products.

**Analytic count of the text model** (Gulrajani et al. 2017, gan_language.py). Per example, a layer's
forward pass costs f, its input gradient f and its weight gradient f:

    conv1d(c_in → c_out, width k, length L):  f = 2·L·c_in·c_out·k
    linear(n_in → n_out):                      f = 2·n_in·n_out

    critic    d = f(inp: V→DIM, k=1) + 2·blocks·f(DIM→DIM, k) + f(fc: L·DIM→1)
    generator g = f(fc: z→L·DIM) + 2·blocks·f(DIM→DIM, k) + f(out: DIM→V, k=1)

One critic step on B real and B fake examples, as seqgan_gp's step runs it (seqgan_gp.steps):

    fakes, G forward without gradients                               g
    D forward over the interpolates x̂                               d
    ∂D/∂x̂ (autograd.grad, create_graph): input gradients            d
    D forward over cat(real, fake), 2B rows                         2d
    backward of the Wasserstein term: weight gradients              2d
                                      input gradients               2(d − f_inp)   (the data needs none)
    backward of the penalty through ∂D/∂x̂: weight gradients         d
                                           gradient of ∂D/∂(output) d − f_fc       (constant for the head)
    ------------------------------------------------------------------------------
    critic step        B·(g + 10·d − 2·f_inp − f_fc)

The penalty's backward stops at the interpolates' activations (seqgan_gp.activations): it does not
run a second backward through the x̂ forward pass, which PyTorch's ReLU would (with zeros).

One generator step on B_g examples, the critic frozen:

    G forward g, D forward d, D input gradients d, G weight gradients g, G input gradients g − f_z
    generator step     B_g·(3·g + 2·d − f_z)          (f_z: the generator's first layer, fed by noise)

    iteration          n_critic·critic step + generator step

:func:`count_flops` counts what PyTorch actually executes with the formulas of
``torch.utils.flop_counter``; tests/test_benchmarks.py checks that it equals the analytic count.
:func:`measure_peaks` measures the rate this process reaches on a large matrix product and on the
paper's convolution (batch 64, 512 → 512 channels, width 5, length 32: forward and backward), in
the dtype a variant computes in, with the same threads, on the same device.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

PAPER_CONV = (64, 512, 32, 5)  # batch, channels (in = out), length, width: a residual-block conv of the paper's text model
DTYPES = {"float32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16}


# -- the analytic count ---------------------------------------------------------------------------

def conv1d_flops(c_in: int, c_out: int, kernel: int, length: int) -> int:
    """Forward FLOPs of a 'same'-padded conv1d on one example: 2·L·c_in·c_out·k."""
    return 2 * length * c_in * c_out * kernel


def linear_flops(n_in: int, n_out: int) -> int:
    """Forward FLOPs of a linear layer on one example: 2·n_in·n_out."""
    return 2 * n_in * n_out


@dataclass(frozen=True)
class TextShape:
    """The sizes that fix the text model's work (paper: V up to 2048, L 32, DIM 512, 5 blocks, k 5, z 128)."""

    vocab: int
    seq_len: int
    dim: int
    blocks: int
    kernel: int = 5
    z_dim: int = 128


def text_step_flops(shape: TextShape, *, batch: int, gen_batch: Optional[int] = None, n_critic: int) -> dict:
    """FLOPs of the text model's critic step, generator step and generator iteration (module docstring)."""
    s = shape
    block = 2 * s.blocks * conv1d_flops(s.dim, s.dim, s.kernel, s.seq_len)
    f_inp = conv1d_flops(s.vocab, s.dim, 1, s.seq_len)
    f_head = linear_flops(s.seq_len * s.dim, 1)
    f_z = linear_flops(s.z_dim, s.seq_len * s.dim)
    d = f_inp + block + f_head
    g = f_z + block + conv1d_flops(s.dim, s.vocab, 1, s.seq_len)
    critic = batch * (g + 10 * d - 2 * f_inp - f_head)
    generator = (gen_batch or batch) * (3 * g + 2 * d - f_z)
    return {"critic_step": critic, "generator_step": generator, "iteration": n_critic * critic + generator}


# -- counting what runs -----------------------------------------------------------------------------

class _FlopCount(TorchDispatchMode):
    """``torch.utils.flop_counter``'s per-operator formulas without ``FlopCounterMode``'s module
    tracker: the tracker's backward hooks make ``torch.autograd.grad`` fail ("A leaf node was passed to
    _will_engine_execute_node but we are currently running autograd.grad()"), and the penalty needs it."""

    def __init__(self):
        super().__init__()
        self.by_op: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.by_op[str(func._overloadpacket)] += formula(*args, **kwargs, out_val=out)
        return out


def count_flops(fn: Callable[[], object]) -> tuple[int, dict[str, int]]:
    """(total FLOPs, FLOPs per operator) of the products and convolutions ``fn()`` runs eagerly.

    Not for compiled code or replayed CUDA graphs: their kernels do not pass through the dispatcher.
    """
    with _FlopCount() as mode:
        fn()
    return sum(mode.by_op.values()), dict(mode.by_op)


def shape_arg(text: str) -> tuple[int, int, int, int]:
    """``"64,512,32,5"`` → the peak convolution's (batch, channels, length, width); ValueError if not."""
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or min(values) < 1:
        raise ValueError(f"{text!r}: give BATCH,CHANNELS,LENGTH,WIDTH as four positive integers")
    return values


# -- the peak of this machine -------------------------------------------------------------------------

@contextmanager
def tf32_switches(enabled: bool):
    """CUDA's TF32 switches for matrix products and cuDNN set to ``enabled``, restored afterwards."""
    if not torch.cuda.is_available():
        yield
        return
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def rate(fn: Callable[[], object], flops: int, device: torch.device, *, min_seconds: float,
         min_reps: int = 3, block_seconds: float = 0.02) -> tuple[float, float]:
    """(GFLOP/s of wall time, GFLOP per CPU-second of this process) of ``fn``, which does ``flops``:
    medians over timed blocks after one warm-up call, repeated until ``min_seconds`` have passed and
    at least ``min_reps`` blocks were timed.

    A block is as many back-to-back calls as fill about ``block_seconds``, with one device
    synchronisation at its end: a paper-sized convolution takes some 10 µs on a data-centre GPU,
    less than a synchronisation, so timing single calls would measure the launch, not the kernel.
    The CPU-time rate is what a CPU step reaches when other processes share the cores: it counts
    only the time this process ran.
    """
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    fn()
    sync()
    t = time.perf_counter()
    fn()
    sync()
    inner = max(1, min(10_000, round(block_seconds / max(time.perf_counter() - t, 1e-9))))
    wall: list[float] = []
    cpu: list[float] = []
    start = time.perf_counter()
    while len(wall) < min_reps or time.perf_counter() - start < min_seconds:
        t, c = time.perf_counter(), time.process_time()
        for _ in range(inner):
            fn()
        sync()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    work = inner * flops / 1e9
    return work / statistics.median(wall), work / max(statistics.median(cpu), 1e-9)


def measure_peaks(precision: str, device: torch.device, *, matmul_n: int, conv: tuple = PAPER_CONV,
                  min_seconds: float = 0.5) -> dict:
    """GFLOP/s of an n×n×n matrix product and of a conv1d forward, and forward + backward, in
    ``precision`` (float32, tf32 or bf16) on ``device``: what the step's kernels could reach here."""
    dtype = DTYPES[precision]
    gen = torch.Generator(device=device).manual_seed(0)

    def randn(*shape, grad=False):
        return torch.randn(*shape, device=device, generator=gen).to(dtype).requires_grad_(grad)

    with tf32_switches(precision == "tf32"):
        a, b = randn(matmul_n, matmul_n), randn(matmul_n, matmul_n)
        matmul = rate(lambda: a @ b, 2 * matmul_n**3, device, min_seconds=min_seconds)
        del a, b
        batch, channels, length, width = conv
        x, w = randn(batch, channels, length, grad=True), randn(channels, channels, width, grad=True)
        gy = randn(batch, channels, length)
        one = batch * conv1d_flops(channels, channels, width, length)
        fwd = torch.nn.functional.conv1d
        with torch.no_grad():
            conv_fwd = rate(lambda: fwd(x, w, padding=width // 2), one, device, min_seconds=min_seconds)
        conv_both = rate(lambda: torch.autograd.grad(fwd(x, w, padding=width // 2), (x, w), gy), 3 * one, device,
                         min_seconds=min_seconds)
    out = {"matmul": matmul[0], "conv_fwd": conv_fwd[0], "conv": conv_both[0], "matmul_n": matmul_n,
           "conv_shape": {"batch": batch, "channels": channels, "length": length, "kernel": width}}
    if device.type == "cpu":  # per CPU-second: comparable with a step's CPU time on a shared machine
        out["cpu_time"] = {"matmul": matmul[1], "conv_fwd": conv_fwd[1], "conv": conv_both[1]}
    return out
