"""Every call the benchmarks make into seqgan_gp's internal Python API, in one place.

The benchmarks time our training step itself (not a whole CLI run with its data loading and
logging), so they build the networks, the optimizers and the step the way training does. When the
core's modules move or change names, only this file follows them.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from benchmarks.measure import Built


def prepare_device(device: torch.device, *, tf32: bool) -> tuple[str, str]:
    """Set the process-wide switches a float32 run sets (TF32 and cuDNN autotuning on CUDA), once,
    before anything is timed; returns the float32 precision's (name, description) for the baseline."""
    from seqgan_gp.runtime import RuntimeOptions, resolve_runtime

    precision = resolve_runtime(RuntimeOptions(tf32=tf32), device).precision
    return precision.name, precision.describe()


def _runtime(device: torch.device, flags: dict, tf32: bool):
    from seqgan_gp.runtime import RuntimeOptions, resolve_runtime

    return resolve_runtime(RuntimeOptions(tf32=tf32, **flags), device)


def _step(G, D, *, objective, lr: float, betas, opt: str, seed: int, runtime, sample_labels=None):
    from seqgan_gp.optimizers import make_optimizer
    from seqgan_gp.steps import make_step

    return make_step(G=G, D=D, g_opt=make_optimizer(opt, G.parameters(), lr=lr, betas=betas),
                     d_opt=make_optimizer(opt, D.parameters(), lr=lr, betas=betas), objective=objective,
                     rng=torch.Generator(device=runtime.device).manual_seed(seed), runtime=runtime,
                     sample_labels=sample_labels)


def _built(step, runtime, real, *, n_critic: int, gen_batch: int, conditional: bool = False) -> Built:
    """One generator iteration as the training loop runs it (seqgan_gp.loop), minus logging."""
    stats: dict = {}

    def iteration() -> None:
        for _ in range(n_critic):
            batch = real()
            images, labels = batch if conditional else (batch, None)
            stats.update(step.critic(images, labels))
        step.generator(gen_batch, conditional=conditional)

    p, o = runtime.precision, runtime.options
    return Built(iteration=iteration, precision=p.name, describe=p.describe(), eager=not (o.compile or o.cuda_graphs),
                 optimizers=(step.g_opt, step.d_opt), last_stats=stats)


# -- text ----------------------------------------------------------------------------------------------

def text_networks(*, vocab: int, seq_len: int, dim: int, blocks: int, device: torch.device, seed: int = 0):
    """The paper's text generator and critic (seqgan_gp.text.models), seeded."""
    from seqgan_gp.text.models import TextCritic, TextGenerator

    torch.manual_seed(seed)
    G = TextGenerator(vocab_size=vocab, seq_len=seq_len, dim=dim, blocks=blocks)
    D = TextCritic(vocab_size=vocab, seq_len=seq_len, dim=dim, blocks=blocks)
    return G.to(device), D.to(device)


def text_step(G, D, ids: np.ndarray, *, vocab: int, batch: int, n_critic: int, device: torch.device, flags: dict,
              tf32: bool = True) -> Built:
    """Our text step (eager, compiled, CUDA graphs, bf16 per ``flags``) with the paper's WGAN-GP loss and
    Adam 1e-4 (0.5, 0.9), on one-hot batches of ``ids`` made on the device."""
    from seqgan_gp.batches import TokenBatches
    from seqgan_gp.objectives import WGANGP

    runtime = _runtime(device, flags, tf32)
    step = _step(G, D, objective=WGANGP(), lr=1e-4, betas=(0.5, 0.9), opt="adam", seed=1, runtime=runtime)
    batches = TokenBatches(ids, vocab, batch, 0, device)
    return _built(step, runtime, batches.next, n_critic=n_critic, gen_batch=batch)


# -- images --------------------------------------------------------------------------------------------

def image_config(model: str, *, conditional: bool = False, **overrides):
    """The model's paper configuration (image.config), with ``overrides`` (e.g. dim, batch_size)."""
    from dataclasses import replace

    from image.config import paper_config

    return replace(paper_config(model), conditional=conditional, **overrides)


def image_networks(cfg, device: torch.device):
    """(G, D) of an image configuration, seeded from ``cfg.seed`` as training seeds them."""
    from image.sampling import build_networks

    torch.manual_seed(cfg.seed)
    G, D = build_networks(cfg, 10, device)
    return G, D


def image_step(cfg, G, D, real, *, device: torch.device, flags: dict, tf32: bool = True) -> Built:
    """Our image step as ``train-image`` builds it (loss, optimizer and its settings from ``cfg``);
    ``real()`` returns a batch, or (batch, labels) for the conditional model."""
    from seqgan_gp.acgan import ACGAN
    from seqgan_gp.gan import objective_of
    from seqgan_gp.optimizers import LOSS_DEFAULTS

    runtime = _runtime(device, flags, tf32)
    labels = None
    if cfg.conditional:
        def labels(n, rng):
            return torch.randint(0, 10, (n,), generator=rng, device=rng.device).to(device)
    objective = objective_of(cfg)
    if cfg.conditional:  # as image.task builds it
        objective = ACGAN(objective, scale_d=cfg.acgan_scale, scale_g=cfg.acgan_scale_g)
    step = _step(G, D, objective=objective, lr=cfg.lr, betas=cfg.betas, opt=LOSS_DEFAULTS[cfg.loss].optimizer,
                 seed=cfg.seed + 1, runtime=runtime, sample_labels=labels)
    return _built(step, runtime, real, n_critic=cfg.critic_iters, gen_batch=cfg.batch_size * cfg.gen_batch_multiple,
                  conditional=cfg.conditional)


def random_image_batches(cfg, device: torch.device, *, pool: int = 4):
    """``real()`` cycling through ``pool`` batches of random pixels in the model's range, already on the
    device (data loading is not what the step benchmark measures)."""
    gen = torch.Generator().manual_seed(cfg.seed)
    shape = (cfg.batch_size, cfg.channels, cfg.resolution, cfg.resolution)
    low = 0.0 if cfg.unit_range else -1.0
    batches = []
    for _ in range(pool):
        x = (torch.rand(shape, generator=gen) * (1 - low) + low).to(device)
        batches.append((x, torch.randint(0, 10, (cfg.batch_size,), generator=gen).to(device)) if cfg.conditional else x)
    cycle = itertools.cycle(batches)
    return lambda: next(cycle)


def machine(device: torch.device) -> dict:
    """What the numbers were measured on: the device, PyTorch and the CPU's vector and bf16 units."""
    from seqgan_gp.precision import cpu_description

    out = {"device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
           "cpu": cpu_description()}
    if device.type == "cuda":
        out.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda,
                   capability=".".join(map(str, torch.cuda.get_device_capability(device))))
    return out
