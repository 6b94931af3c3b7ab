"""``train-text``: the paper's character-level language GAN from a corpus to a run directory."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from rich.console import Console

from corpora.tokenizers import tokenizer_from_json
from seqgan_gp.batches import TokenBatches
from seqgan_gp.checkpoint import load_checkpoint, module_from_flat
from seqgan_gp.distributed import SINGLE, DistContext
from seqgan_gp.errors import UserError
from seqgan_gp.loop import LoopConfig
from seqgan_gp.losses import LOSS_DEFAULTS, make_loss, make_optimizer
from seqgan_gp.provenance import git_commit, versions
from seqgan_gp.rundir import RunDir, resolve_checkpoint
from seqgan_gp.step import Runtime, RuntimeOptions, resolve_runtime
from seqgan_gp.text.config import TextConfig, with_overrides
from seqgan_gp.text.data import (
    check_batch,
    check_same_corpus,
    corpus_name,
    open_text_data,
)
from seqgan_gp.text.evaluate import TextEvaluator
from seqgan_gp.text.models import TextCritic, TextGenerator
from seqgan_gp.text.sampling import generate_ids
from seqgan_gp.trainer import FaultPolicy, FitResult, Parts, disk_safe, fit, load_state, open_run, session

KIND = "text"
RESUME_OVERRIDABLE = ("iters", "log_every", "sample_every", "eval_every", "eval_samples",
                      "checkpoint_every", "keep_checkpoints")


def build_models(cfg: TextConfig, vocab_size: int, device: torch.device):
    G = TextGenerator(vocab_size=vocab_size, seq_len=cfg.seq_len, dim=cfg.dim, blocks=cfg.blocks,
                      kernel=cfg.kernel, z_dim=cfg.z_dim).to(device)
    D = TextCritic(vocab_size=vocab_size, seq_len=cfg.seq_len, dim=cfg.dim, blocks=cfg.blocks,
                   kernel=cfg.kernel).to(device)
    return G, D


def build_parts(cfg: TextConfig, ids: np.ndarray, vocab_size: int, device: torch.device,
                dist: DistContext = SINGLE) -> Parts:
    """Networks, optimizers (Adam for WGAN-GP), batch source, loss and RNG, all seeded from ``cfg.seed``.

    With several data-parallel ranks every rank builds the same networks and draws its slice of
    each global batch (seqgan_gp.distributed)."""
    torch.manual_seed(cfg.seed)
    G, D = build_models(cfg, vocab_size, device)
    opt = LOSS_DEFAULTS[cfg.loss].optimizer
    return Parts(G=G, D=D, g_opt=make_optimizer(opt, G.parameters(), lr=cfg.lr, betas=cfg.betas),
                 d_opt=make_optimizer(opt, D.parameters(), lr=cfg.lr, betas=cfg.betas),
                 batches=TokenBatches(ids, vocab_size, cfg.batch_size, cfg.seed, device,
                                      rank=dist.rank, world=dist.world),
                 loss=make_loss(cfg.loss, lambda_gp=cfg.lambda_gp, clip=cfg.clip), z_dim=cfg.z_dim,
                 rng=torch.Generator(device=device).manual_seed(cfg.seed + 1))


def loop_config(cfg: TextConfig) -> LoopConfig:
    return LoopConfig(iters=cfg.iters, n_critic=cfg.critic_iters, batch_size=cfg.batch_size,
                      lr_decay=cfg.lr_decay, log_every=cfg.log_every, sample_every=cfg.sample_every,
                      eval_every=cfg.eval_every, checkpoint_every=cfg.checkpoint_every)


@dataclass
class TextRun:
    run_dir: Optional[Path]  # None on data-parallel ranks other than 0
    result: FitResult
    samples: list[str]  # decoded samples of the last iteration
    first_samples: list[str]


def _open_run(cfg_overrides: dict, preset_cfg: TextConfig, out: Optional[Path], resume: Optional[Path],
              overwrite: bool):
    """The config, run directory and checkpoint to start from (None for a fresh run)."""
    return open_run(kind=KIND, base=preset_cfg, overrides=cfg_overrides, out=out, resume=resume, overwrite=overwrite,
                    configure=with_overrides, from_dict=TextConfig.from_dict,
                    default_name=lambda cfg: f"text-{corpus_name(cfg.corpus)}", resumable=RESUME_OVERRIDABLE)


def train_text(*, preset_cfg: TextConfig, overrides: dict, device: torch.device, console: Console,
               out: Optional[Path] = None, resume: Optional[Path] = None, overwrite: bool = False,
               command: Optional[list[str]] = None, show_progress: bool = True,
               cache_dir: Optional[Path] = None, runtime: RuntimeOptions = RuntimeOptions(),
               dist: DistContext = SINGLE, tensorboard: bool = False,
               faults: FaultPolicy = FaultPolicy()) -> TextRun:
    """Train (or resume) a text WGAN-GP run; returns where it is and its last samples.

    The corpus is encoded once into the cache under ``cache_dir`` (corpora.cache) and read from
    there as memory-mapped ids. ``runtime`` (--compile, --amp, ...) says how the steps execute; it
    is not a hyperparameter and may change on --resume. Under torchrun (``dist``) rank 0 opens the
    run directory and writes everything; all ranks train (seqgan_gp.distributed). ``tensorboard``
    also logs every metrics record to RUN_DIR/tensorboard/; ``faults`` says what a NaN does
    (seqgan_gp.trainer)."""
    rt = resolve_runtime(runtime, device, dist)  # before the run directory: a bad option leaves nothing behind
    with session(lambda: _open_run(overrides, preset_cfg, out, resume, overwrite), dist=dist,
                 tensorboard=tensorboard) as (cfg, run, ckpt, loggers):
        return _train(cfg, run, ckpt, device, console if dist.is_main else Console(quiet=True), command,
                      show_progress and dist.is_main, cache_dir, rt, loggers, faults)


def _train(cfg, run: Optional[RunDir], ckpt, device, console, command, show_progress, cache_dir,
           rt: Runtime, loggers=(), faults: FaultPolicy = FaultPolicy()) -> TextRun:
    dist = rt.dist
    with dist.main_first():  # rank 0 fills the encoded-corpus cache, the others read it
        data = open_text_data(cfg, console=console, cache_dir=cache_dir, show_progress=show_progress)
    if ckpt is not None:
        _, meta = load_checkpoint(ckpt, kind=KIND)
        check_same_corpus(ckpt.parent.parent, cfg, meta, data)  # checkpoints/ lives in the run directory
    check_batch(cfg, data)
    tok, ids, digest = data.tokenizer, data.ids, data.fingerprint

    parts = build_parts(cfg, ids, tok.vocab_size, device, dist)
    start = 0
    meta_doc = {"config": asdict(cfg), "tokenizer": tok.to_json(), "corpus_fingerprint": digest}
    if ckpt is not None:
        start = load_state(ckpt, parts, kind=KIND)["iteration"]  # every rank reads the same file
        console.print(f"resuming {ckpt.parent.parent} from iteration {start} ({ckpt.name})")
    if run is None:  # not rank 0: train, write nothing
        result = fit(run=None, parts=parts, loop_cfg=loop_config(cfg), kind=KIND, meta=meta_doc,
                     console=console, start=start, show_progress=False, runtime=rt, faults=faults)
        return TextRun(None, result, [], [])
    run.write_config({"kind": KIND, **meta_doc, "device": str(device), "runtime": rt.to_json(), "versions": versions(),
                      "git_commit": git_commit(), "command": command,
                      "corpus_stats": {"sentences": len(ids), "heldout": len(data.heldout) if data.heldout is not None else 0,
                                       "vocab_size": tok.vocab_size, "cache": str(data.encoded.path),
                                       **{k: data.stats[k] for k in ("tokens", "unknown", "truncated", "replaced")}}})

    evaluator = TextEvaluator(cfg, parts.G, data, console) if cfg.eval_every else None
    first: list[str] = []
    last: list[str] = []

    def sample(iteration: int) -> None:
        texts = tok.decode(generate_ids(parts.G, 64, seed=cfg.seed))  # fixed z: watch one batch improve
        (run.samples / f"samples_{iteration:08d}.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
        if not first:
            first.extend(texts)
        last[:] = texts

    console.print(f"[bold]train-text[/] {cfg.corpus}: {len(ids):,} sentences, vocabulary {tok.vocab_size}, "
                  f"DIM {cfg.dim}, {cfg.blocks} blocks, {cfg.critic_iters} critic steps, "
                  f"run {run.path}")
    console.print(f"runtime: {rt.describe()}")
    result = fit(run=run, parts=parts, loop_cfg=loop_config(cfg), kind=KIND, meta=meta_doc,
                 console=console, start=start, keep_checkpoints=cfg.keep_checkpoints,
                 sample=sample if cfg.sample_every else None, evaluate=evaluator,
                 show_progress=show_progress, runtime=rt, loggers=loggers, faults=faults)
    if not last and result.stopped_by is None:
        disk_safe(run, sample)(result.iteration)
    return TextRun(run.path, result, last, first)


def load_generator(target: Path, device: torch.device):
    """The generator and tokenizer of a run directory (its newest checkpoint) or checkpoint file."""
    path = resolve_checkpoint(Path(target))
    tensors, meta = load_checkpoint(path, kind=KIND)
    try:
        cfg = TextConfig.from_dict(meta["config"], str(path))
        tok = tokenizer_from_json(meta["tokenizer"])
    except (KeyError, ValueError) as exc:
        raise UserError(f"{path}: checkpoint metadata lacks a usable config or tokenizer ({exc})") from None
    G, _ = build_models(cfg, tok.vocab_size, device)
    module_from_flat("G", G, tensors, path)
    return G, tok, cfg, meta


def sample_text(target: Path, *, n: int, seed: int, temperature: float, device: torch.device) -> list[str]:
    """``n`` decoded sentences from a text checkpoint (argmax unless ``temperature`` > 0)."""
    if n < 1:
        raise UserError(f"-n {n}: ask for at least one sample")
    if temperature < 0:
        raise UserError(f"--temperature {temperature}: must be 0 (argmax, the paper's) or positive")
    G, tok, _, _ = load_generator(target, device)
    return tok.decode(generate_ids(G, n, seed=seed, temperature=temperature))
