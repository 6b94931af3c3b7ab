"""``train-lm`` as a task of the core (seqgan_gp.task): the maximum-likelihood baseline of a text GAN.

It reads the corpus as ``train-text`` does (the same encoded-corpus cache, tokenizer, rows and
checks: the data hooks are seqgan_gp.text.task's), and the core runs it as any other kind: run
directory, config.json, checkpoints (``LM.*``, ``opt_LM.*``), exact resume, progress, metrics,
signals and ``--on-nan``. One iteration is one teacher-forced Adam step on a batch of rows
(seqgan_gp.lm.likelihood), with the gradient's norm clipped to ``--grad-clip``.

Held-out rows: the corpus's validation set when it has one (the embedded grammar, One Billion
Word's held-out shards, a dataset's validation split); otherwise the model never trains on the
first min(10,000, N/10) training rows and scores those, which are also the first of the rows that
``evaluate`` uses as BLEU references for such corpora (seqgan_gp.text.metrics.references).

Evaluations: NLL per token, bits per token and perplexity on up to ``--eval-rows`` held-out rows,
and the text metrics of seqgan_gp.text.metrics (JS-n, BLEU, self-BLEU, distinct-n; % valid and the
grammar's NLL on the embedded corpus) for ``--eval-samples`` samples drawn at
``--eval-temperature``. Samples: 64 rows at that temperature with a fixed seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from rich.console import Console

from corpora.cache import EncodedCorpus
from seqgan_gp.batches import TokenIdBatches
from seqgan_gp.distributed import DistContext
from seqgan_gp.errors import UserError
from seqgan_gp.lm.config import KIND, LMConfig
from seqgan_gp.lm.memory import check_training as check_lm_training
from seqgan_gp.lm.likelihood import heldout_nll, nll_per_token
from seqgan_gp.lm.models import build_lm
from seqgan_gp.lm.sampling import generate_lm_ids
from seqgan_gp.optimizers import make_optimizer
from seqgan_gp.precision import autocast
from seqgan_gp.rundir import RunDir
from seqgan_gp.runtime import Runtime
from seqgan_gp.state import BatchSource, TrainState
from seqgan_gp.task import Trainable
from seqgan_gp.text.data import HELDOUT_MAX, corpus_name
from seqgan_gp.text.metrics import TextMetrics
from seqgan_gp.text.task import TextTask

SAMPLES = 64  # rows in each samples_<iteration>.txt
NAME = "LM"  # the network's name in the state and in checkpoints


@dataclass(frozen=True)
class Split:
    """The rows a language model trains on and the held-out rows it is scored on."""

    train: np.ndarray  # (N, L)
    heldout: np.ndarray  # (M, L)
    source: str  # "heldout" (the corpus's validation set) or "train" (its first M rows, never trained on)

    def describe(self) -> dict:
        return {"source": self.source, "rows": len(self.heldout), "train_rows": len(self.train)}


def split_rows(data: EncodedCorpus) -> Split:
    """The corpus's validation rows when it has them, else its first min(HELDOUT_MAX, N/10) training rows."""
    if data.heldout is not None and len(data.heldout):
        return Split(data.train, data.heldout, "heldout")
    k = min(HELDOUT_MAX, len(data.train) // 10)
    return Split(data.train[k:], data.train[:k], "train")


@dataclass
class TeacherForcedIteration:
    """One maximum-likelihood step: NLL of a batch under teacher forcing, backward, clip, Adam."""

    model: torch.nn.Module
    opt: torch.optim.Optimizer
    batches: BatchSource
    pad_id: int
    grad_clip: float  # 0: no clipping
    runtime: Runtime

    def __post_init__(self):
        self.device = next(self.model.parameters()).device
        self.runtime.dist.broadcast_module(self.model)  # data-parallel ranks start from rank 0's weights
        self.forward = torch.compile(self.model) if self.runtime.options.compile else self.model  # keeps start_id

    def __call__(self) -> list[dict[str, torch.Tensor]]:
        ids = self.batches.next()  # (B, L)
        with autocast(self.runtime.precision, self.device):
            loss = nll_per_token(self.forward, ids, self.pad_id)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.runtime.dist.average_gradients(self.model)
        stats = {"train_nll": loss.detach()}
        if self.grad_clip:  # the norm stays on the device: no host sync
            stats["grad_norm"] = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip, foreach=True)
        self.opt.step()
        return [stats]


class LMEvaluator:
    """What training calls every --eval-every: held-out NLL, then the text metrics of fresh samples."""

    def __init__(self, cfg: LMConfig, model: torch.nn.Module, data: EncodedCorpus, heldout: np.ndarray,
                 console: Optional[Console] = None):
        self.cfg, self.model, self.pad_id = cfg, model, data.tokenizer.pad_id
        self.heldout = np.asarray(heldout[: cfg.eval_rows])
        self.metrics = TextMetrics(data.tokenizer, data, grammar_corpus=cfg.corpus == "embedded", console=console)

    def __call__(self, iteration: int) -> dict:
        out = heldout_nll(self.model, self.heldout, self.pad_id) if len(self.heldout) else {}
        ids = generate_lm_ids(self.model, self.cfg.eval_samples, seq_len=self.cfg.seq_len, pad_id=self.pad_id,
                              seed=self.cfg.seed * 1_000_003 + iteration + 7, temperature=self.cfg.eval_temperature)
        out.update(self.metrics(ids))
        return out


@dataclass
class LMTask(TextTask):
    """A language model run; the corpus hooks (open_data, check_resume) are train-text's."""

    kind = KIND
    config = LMConfig
    resumable = ("eval_samples", "eval_temperature", "eval_rows", *TextTask.data_flags)

    def run_name(self, cfg: LMConfig) -> str:
        return f"lm-{corpus_name(cfg.corpus)}-{cfg.model}"

    def check_fits(self, cfg: LMConfig, device: torch.device) -> None:
        check_lm_training(cfg, device)

    def open_data(self, cfg: LMConfig, *, console: Console, show_progress: bool,
                  recorded: Optional[dict] = None) -> EncodedCorpus:
        data = super().open_data(cfg, console=console, show_progress=show_progress, recorded=recorded)
        rows = len(split_rows(data).train)
        if rows < cfg.batch_size:
            raise UserError(f"--corpus {cfg.corpus}: only {rows} sentences to train on (after holding out "
                            f"{len(data.train) - rows} for the held-out NLL), fewer than one batch of --batch-size "
                            f"{cfg.batch_size}; lower --batch-size or use a larger corpus")
        return data

    def metadata(self, cfg: LMConfig, data: EncodedCorpus) -> dict:
        return {**super().metadata(cfg, data), "heldout": split_rows(data).describe()}

    def build(self, cfg: LMConfig, data: EncodedCorpus, device: torch.device, dist: DistContext) -> Trainable:
        model = build_lm(cfg, data.tokenizer.vocab_size, device)
        opt = make_optimizer("adam", model.parameters(), lr=cfg.lr, betas=cfg.betas)  # fused where it can be
        batches = TokenIdBatches(split_rows(data).train, cfg.batch_size, cfg.seed, device, rank=dist.rank,
                                 world=dist.world)
        state = TrainState(modules={NAME: model}, optimizers={NAME: opt}, batches=batches,
                           rng=torch.Generator(device=device).manual_seed(cfg.seed + 1))  # unused by the steps

        def iteration(runtime: Runtime) -> TeacherForcedIteration:
            return TeacherForcedIteration(model, opt, batches, data.tokenizer.pad_id, cfg.grad_clip, runtime)

        return Trainable(state=state, iteration=iteration)

    def header(self, cfg: LMConfig, data: EncodedCorpus) -> str:
        split = split_rows(data)
        if cfg.model == "lstm":
            model = f"{cfg.layers}-layer LSTM, DIM {cfg.dim}"
        else:
            model = f"causal conv ResNet, DIM {cfg.dim}, {cfg.blocks} blocks, kernel {cfg.kernel}"
        held = "validation" if split.source == "heldout" else "first training"
        return (f"{cfg.corpus}: {len(split.train):,} sentences (held out: {len(split.heldout):,} {held} rows), "
                f"vocabulary {data.tokenizer.vocab_size}, {model}")

    def sampler(self, cfg: LMConfig, trainable: Trainable, data: EncodedCorpus, folder: Path):
        model, tok = trainable.state.modules[NAME], data.tokenizer

        def sample(iteration: int) -> list[str]:
            ids = generate_lm_ids(model, SAMPLES, seq_len=cfg.seq_len, pad_id=tok.pad_id, seed=cfg.seed,
                                  temperature=cfg.eval_temperature)
            texts = tok.decode(ids)
            (folder / f"samples_{iteration:08d}.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
            return texts

        return sample

    def evaluator(self, cfg: LMConfig, trainable: Trainable, data: EncodedCorpus, *, device: torch.device,
                  console: Console) -> LMEvaluator:
        return LMEvaluator(cfg, trainable.state.modules[NAME], data, split_rows(data).heldout, console)

    def finish(self, cfg: LMConfig, run: RunDir) -> None:
        """Nothing beyond the samples, metrics and checkpoints."""
