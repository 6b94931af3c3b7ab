"""Configuration of a text run, its validation, and the named presets.

Paper defaults are gan_language.py's (SPEC.md): batch 64, sequence length 32, DIM 512, 5 residual
blocks, 10 critic iterations, λ = 10, Adam 1e-4 with betas (0.5, 0.9), 200,000 generator
iterations, the first 10M sentences, a character vocabulary of at most 2048 ids.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from seqgan_gp.configfile import (
    check_at_least_one,
    check_optimizer,
    check_zero_or_more,
    config_from_dict,
)
from seqgan_gp.errors import UserError
from seqgan_gp.losses import LOSS_DEFAULTS

TOKENIZERS = ("char", "word", "sentencepiece")
MAX_VOCAB = 55_108  # largest V with V**4 < 2**63 (n-gram codes of JS-4)


@dataclass(frozen=True)
class TextConfig:
    corpus: str = "embedded"  # embedded | billion_word | PATH (.txt/.jsonl/.csv/.parquet, folder) | hf:NAME[:CONFIG][:SPLIT]
    data_dir: Optional[str] = None  # billion_word: folder holding training-monolingual.tokenized.shuffled/
    text_column: Optional[str] = None  # datasets: column holding the text (default "text" or the only text column)
    tokenizer: str = "char"  # char (the paper's) | word | sentencepiece
    sp_model_type: str = "unigram"  # sentencepiece: unigram | bpe
    long_lines: str = "cut"  # cut lines longer than seq_len tokens (the paper's) | drop them
    min_tokens: int = 0  # drop lines with fewer tokens (paper: 0, every line kept)
    iters: int = 200_000  # generator iterations (paper: 200,000)
    batch_size: int = 64  # sentences per critic and generator step (paper: 64)
    seq_len: int = 32  # tokens per sentence after truncation/padding (paper: 32)
    dim: int = 512  # channels of every residual block (paper: 512)
    blocks: int = 5  # residual blocks in G and in D (paper: 5)
    kernel: int = 5  # convolution width in the residual blocks (paper: 5)
    z_dim: int = 128  # noise dimension (paper: 128)
    critic_iters: int = 10  # critic steps per generator step (paper: 10)
    loss: str = "wgan-gp"  # wgan-gp | wgan-gp-one-sided | wgan | dcgan | lsgan (paper: wgan-gp)
    lambda_gp: float = 10.0  # gradient penalty weight λ (paper: 10)
    clip: float = 0.01  # weight clipping bound c for --loss wgan (paper: 0.01)
    lr: float = 1e-4  # Adam learning rate for G and D (paper: 1e-4)
    betas: tuple[float, float] = (0.5, 0.9)  # Adam (β1, β2) (paper: 0.5, 0.9)
    lr_decay: bool = False  # linear learning-rate decay to 0 (paper's language model: off)
    vocab_size: int = 2048  # most ids in the vocabulary, unknown included (paper: 2048)
    max_examples: int = 10_000_000  # sentences read from the corpus (paper: first 10M)
    embedded_size: int = 100_000  # sentences generated for the embedded corpus
    seed: int = 0  # seeds weights, noise, ε and batch order
    log_every: int = 10  # iterations between metrics records and progress updates
    sample_every: int = 100  # iterations between sample files in samples/ (paper: 100)
    eval_every: int = 100  # iterations between JS-n evaluations (paper: 100)
    eval_samples: int = 640  # argmax samples per evaluation (paper: 640)
    checkpoint_every: int = 1000  # iterations between checkpoints (always one at the end)
    keep_checkpoints: int = 3  # newest checkpoints kept in checkpoints/

    def __post_init__(self):
        positive = ["iters", "batch_size", "dim", "blocks", "kernel", "z_dim", "critic_iters",
                    "max_examples", "embedded_size", "log_every", "eval_samples"]
        check_at_least_one(self, positive)
        check_zero_or_more(self, ["sample_every", "eval_every", "checkpoint_every", "keep_checkpoints"])
        if self.seq_len < 2:
            raise UserError(f"--seq-len {self.seq_len}: must be at least 2 (a sentence needs two positions); "
                            f"pass --seq-len 2 or more (paper: 32)")
        if self.vocab_size < 2:
            raise UserError(f"--vocab-size {self.vocab_size}: must be at least 2 (the unknown id and one token); "
                            f"pass --vocab-size 2 or more (paper: 2048)")
        if self.kernel % 2 == 0:
            raise UserError(f"--kernel {self.kernel}: must be odd so 'same' padding keeps the length; pass an odd "
                            f"width such as 5 (the paper's)")
        check_optimizer(self, lambda_gp="10 (the paper's)", lr="1e-4 (the paper's)", betas="0.5,0.9 (the paper's)")
        if self.tokenizer not in TOKENIZERS:
            raise UserError(f"--tokenizer {self.tokenizer}: unknown tokenizer; choose {', '.join(TOKENIZERS)}")
        if self.sp_model_type not in ("unigram", "bpe"):
            raise UserError(f"--sp-model-type {self.sp_model_type}: choose unigram or bpe")
        if self.long_lines not in ("cut", "drop"):
            raise UserError(f"--long-lines {self.long_lines}: choose cut (the paper's) or drop")
        if self.min_tokens < 0 or self.min_tokens > self.seq_len:
            raise UserError(f"--min-tokens {self.min_tokens}: must lie between 0 and --seq-len {self.seq_len}; "
                            f"pass a value in that range (paper: 0)")
        if self.vocab_size > MAX_VOCAB:
            raise UserError(f"--vocab-size {self.vocab_size}: at most {MAX_VOCAB} (JS-4 codes a 4-gram of ids "
                            f"as one 64-bit integer, V^4 < 2^63); pass a smaller --vocab-size")

    @classmethod
    def from_dict(cls, doc: dict, source: str) -> "TextConfig":
        return config_from_dict(cls, doc, source)


PRESETS: dict[str, TextConfig] = {
    # The paper's language model on One Billion Word, every hyperparameter as gan_language.py.
    "paper": TextConfig(),
    # Small enough to train on 2 CPU cores in a few minutes on the embedded corpus.
    "demo": TextConfig(iters=2000, batch_size=32, dim=64, blocks=2, critic_iters=5, lr=1e-3,
                       seq_len=32, log_every=10, sample_every=200, eval_every=200, eval_samples=640,
                       checkpoint_every=400, embedded_size=50_000),
    # Tiny, for tests and smoke checks: seconds on a CPU.
    "tiny": TextConfig(iters=20, batch_size=16, dim=16, blocks=1, critic_iters=2, seq_len=16,
                       log_every=5, sample_every=10, eval_every=10, eval_samples=64,
                       checkpoint_every=10, embedded_size=2000, max_examples=2000),
}


def preset(name: str) -> TextConfig:
    if name not in PRESETS:
        raise UserError(f"--preset {name!r}: unknown preset; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def with_overrides(base: TextConfig, **overrides) -> TextConfig:
    """``base`` with every non-None override applied (the CLI passes None for unset flags).

    Choosing a loss other than WGAN-GP brings that loss's own paper defaults (learning rate, betas,
    critic steps; SPEC.md) unless the same flags are given explicitly.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    loss = given.get("loss", base.loss)
    defaults = LOSS_DEFAULTS.get(loss)
    if defaults is not None and loss != base.loss:
        implied = {"lr": defaults.lr, "betas": defaults.betas, "critic_iters": defaults.n_critic}
        given = {**{k: v for k, v in implied.items() if v is not None}, **given}
    return replace(base, **given)
