"""Seconds, GFLOP/s and % of this machine's peak per generator iteration of each image model.

One generator iteration = ``critic_iters`` critic steps (each: fakes from G, the critic over
cat(real, fake) and over the interpolates, the penalty's double backward, an Adam step) and one
generator step, as ``train-image`` runs it at the model's paper settings (batch sizes, loss,
optimizer; the conditional CIFAR ResNet with its AC-GAN terms as ``cifar-resnet-acgan``). Real
batches are random pixels already on the device: data loading is not what is measured.

Variants (``--variants``) are those of benchmarks/train_step.py: ``baseline`` (the PyTorch port's
step on the same networks, benchmarks/port.py; unconditional models only), ``eager``, ``bf16``,
``compile``, ``cuda-graphs`` and combinations. The floating-point work of an iteration is counted
once per model on an eager float32 iteration of our step (torch.utils.flop_counter's formulas,
benchmarks/flops.py) and set against the peaks measured in this process.

    python benchmarks/image_models.py                                     # every model, eager, 2 iterations
    python benchmarks/image_models.py --models cifar-resnet --variants baseline,eager,bf16 --threads 1
    python benchmarks/image_models.py --device cuda --models cifar-resnet --variants baseline,eager,bf16,cuda-graphs,compile
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import adapters  # noqa: E402
from benchmarks.flops import PAPER_CONV, count_flops, shape_arg  # noqa: E402
from benchmarks.measure import BASELINE, Bench, Built, Variant, parse_variants, render, variant_flags, write_json  # noqa: E402
from benchmarks.port import PortStep  # noqa: E402

ACGAN = "-acgan"  # suffix of the conditional variant of a model name


def model_names() -> list[str]:
    from image.models import CONDITIONAL_MODELS, MODELS

    out = []
    for m in MODELS:
        out.append(m)
        if m in CONDITIONAL_MODELS:
            out.append(m + ACGAN)
    return out


def model_config(name: str, *, dim: int = 0, batch_size: int = 0):
    base = name[: -len(ACGAN)] if name.endswith(ACGAN) else name
    overrides = {k: v for k, v in (("dim", dim), ("batch_size", batch_size)) if v}
    return adapters.image_config(base, conditional=name.endswith(ACGAN), **overrides)


def model_variants(cfg, names: list[str], device: torch.device, float32: tuple[str, str], tf32: bool) -> list[Variant]:
    def ours(name: str):
        def build() -> Built:
            G, D = adapters.image_networks(cfg, device)
            return adapters.image_step(cfg, G, D, adapters.random_image_batches(cfg, device), device=device,
                                       flags=variant_flags(name, device), tf32=tf32)
        return build

    def baseline() -> Built:
        if cfg.conditional or cfg.loss != "wgan-gp":
            raise ValueError("the port-style baseline covers the unconditional WGAN-GP models only")
        G, D = adapters.image_networks(cfg, device)
        step = PortStep(G, D, adapters.random_image_batches(cfg, device), n_critic=cfg.critic_iters,
                        batch=cfg.batch_size, gen_batch=cfg.batch_size * cfg.gen_batch_multiple, lr=cfg.lr,
                        betas=cfg.betas, lambda_gp=cfg.lambda_gp, z_dim=cfg.z_dim)
        return Built(step.iteration, precision=float32[0], describe=float32[1], eager=True)

    return [Variant(n, baseline if n == BASELINE else ours(n)) for n in names]


def counted_model_flops(cfg, device: torch.device, tf32: bool) -> int:
    """FLOPs of one eager float32 iteration of our step (the model's work per iteration)."""
    G, D = adapters.image_networks(cfg, device)
    built = adapters.image_step(cfg, G, D, adapters.random_image_batches(cfg, device), device=device,
                                flags=variant_flags("eager", device), tf32=tf32)
    return count_flops(built.iteration)[0]


@click.command()
@click.option("--models", default=",".join(m for m in model_names()), show_default=True,
              help="Comma-separated models to time (NAME-acgan: the conditional variant).")
@click.option("--variants", default="eager", show_default=True,
              help="Comma-separated: baseline, eager, bf16, compile, cuda-graphs, or flags joined by '+'.")
@click.option("--iters", type=int, default=2, show_default=True, help="Timed generator iterations per variant.")
@click.option("--threads", type=int, default=0, show_default=True, help="torch CPU threads (0: torch's default).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True, help="cpu or cuda.")
@click.option("--dim", type=int, default=0, show_default=True, help="Network width (0: the model's paper DIM).")
@click.option("--batch-size", type=int, default=0, show_default=True, help="Critic batch (0: the model's paper batch).")
@click.option("--tf32/--no-tf32", default=True, show_default=True, help="CUDA: TF32 products for float32.")
@click.option("--matmul-n", type=int, default=0, help="Size of the peak's n×n×n product [CPU 2048, CUDA 8192].")
@click.option("--peak-conv", default=",".join(map(str, PAPER_CONV)), show_default=True,
              help="BATCH,CHANNELS,LENGTH,WIDTH of the peak's conv1d (the paper's text convolution).")
@click.option("--peak-seconds", type=float, default=0.5, show_default=True, help="Time spent on each peak measurement.")
@click.option("--count-ops/--no-count-ops", default=False, show_default=True,
              help="Count aten operators per iteration of each variant (one profiled iteration each).")
@click.option("--deadline-s", type=float, default=None, help="Stop starting variants after this many seconds.")
@click.option("--json-out", type=click.Path(path_type=Path), default=None,
              help="Also write the results as JSON here (updated after each variant).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line instead of the tables.")
def main(models, variants, iters, threads, device, dim, batch_size, tf32, matmul_n, peak_conv, peak_seconds, count_ops,
         deadline_s, json_out, as_json):
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise click.BadParameter("no CUDA device is visible to PyTorch", param_hint="--device")
    known = model_names()
    chosen = [m.strip() for m in models.split(",") if m.strip()]
    for m in chosen:
        if m not in known:
            raise click.BadParameter(f"{m!r}: choose from {', '.join(known)}", param_hint="--models")
    try:
        peak_conv = shape_arg(peak_conv)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--peak-conv") from None
    try:
        names = parse_variants(variants, dev)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--variants") from None
    if threads:
        torch.set_num_threads(threads)
    started = time.monotonic()
    float32 = adapters.prepare_device(dev, tf32=tf32)
    peaks: dict = {}  # measured once, shared by every model
    out = {"benchmark": "image_models", "machine": adapters.machine(dev), "variant_order": names, "models": {}}
    log = (lambda s: None) if as_json else (lambda s: print(s, file=sys.stderr, flush=True))
    failed = []
    for name in chosen:
        cfg = model_config(name, dim=dim, batch_size=batch_size)
        log(f"{name}: counting the FLOPs of one iteration")
        doc = {"model": name, "config": {"resolution": cfg.resolution, "dim": cfg.dim, "batch_size": cfg.batch_size,
                                         "gen_batch_size": cfg.batch_size * cfg.gen_batch_multiple,
                                         "critic_iters": cfg.critic_iters, "conditional": cfg.conditional,
                                         "iters": iters, "device": device, "tf32": tf32},
               "model_flops_per_iter": counted_model_flops(cfg, dev, tf32),
               "model_flops_detail": {"source": "counted on an eager float32 iteration of our step"},
               "projected_iters": cfg.iters, "peaks": peaks, "load_avg_1min": [round(os.getloadavg()[0], 2)]}
        out["models"][name] = doc
        bench = Bench(doc, device=dev, iters=iters, matmul_n=matmul_n or (8192 if dev.type == "cuda" else 2048),
                      peak_conv=peak_conv, peak_seconds=peak_seconds, count_ops=count_ops, count_flops=False,
                      deadline=None if deadline_s is None else started + deadline_s, log=log,
                      save=(lambda: write_json(json_out, out)) if json_out else None)
        bench.run(model_variants(cfg, names, dev, float32, tf32))
        doc["load_avg_1min"].append(round(os.getloadavg()[0], 2))
        failed += [f"{name}: {v}" for v in bench.failed]
    out["failed_variants"] = failed
    if json_out:
        write_json(json_out, out)
    if as_json:
        click.echo(json.dumps(out))
        return
    from rich.console import Console

    con = Console(width=160)
    for name, doc in out["models"].items():
        c = doc["config"]
        render(doc, f"{name}: {c['resolution']} px, DIM {c['dim']}, batch {c['batch_size']}/{c['gen_batch_size']}, "
                    f"{c['critic_iters']} critic steps; {doc['model_flops_per_iter'] / 1e9:,.1f} GFLOP per iteration; "
                    f"{dev}, {out['machine']['threads']} threads", con)


if __name__ == "__main__":
    main()
