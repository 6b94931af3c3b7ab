"""Configuration of a text run, its validation, and the named presets.

Paper defaults are gan_language.py's (SPEC.md): batch 64, sequence length 32, DIM 512, 5 residual
blocks, 10 critic iterations, λ = 10, Adam 1e-4 with betas (0.5, 0.9), 200,000 generator
iterations, the first 10M sentences, a character vocabulary of at most 2048 ids. A run with
``--label-column`` is conditional (seqgan_gp.text.conditional), with the image AC-GAN's loss scales.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from seqgan_gp.config import GANConfig, paper_value, pick_preset
from seqgan_gp.configfile import check_at_least_one
from seqgan_gp.errors import UserError

KIND = "text"  # config.json's and checkpoints' kind; trained by train-text
TOKENIZERS = ("char", "word", "sentencepiece")
MAX_VOCAB = 55_108  # largest V with V**4 < 2**63 (n-gram codes of JS-4)
CONDITIONS = ("blocks", "input")  # how a conditional generator takes its class (seqgan_gp.text.conditional)


@dataclass(frozen=True)
class TextConfig(GANConfig):
    """A text run: the shared schedule and adversarial settings (seqgan_gp.config) and the corpus and
    networks of the paper's language model."""

    corpus: str = "embedded"  # embedded | billion_word | PATH (.txt/.jsonl/.csv/.parquet, folder) | hf:NAME[:CONFIG][:SPLIT]
    data_dir: Optional[str] = None  # billion_word: folder holding training-monolingual.tokenized.shuffled/
    text_column: Optional[str] = None  # datasets: column holding the text (default "text" or the only text column)
    tokenizer: str = "char"  # char (the paper's) | word | sentencepiece
    sp_model_type: str = "unigram"  # sentencepiece: unigram | bpe
    long_lines: str = "cut"  # cut lines longer than seq_len tokens (the paper's) | drop them
    min_tokens: int = 0  # drop lines with fewer tokens (paper: 0, every line kept)
    seq_len: int = 32  # tokens per sentence after truncation/padding (paper: 32)
    dim: int = 512  # channels of every residual block (paper: 512)
    blocks: int = 5  # residual blocks in G and in D (paper: 5)
    kernel: int = 5  # convolution width in the residual blocks (paper: 5)
    z_dim: int = 128  # noise dimension (paper: 128)
    vocab_size: int = 2048  # most ids in the vocabulary, unknown included (paper: 2048)
    max_examples: int = 10_000_000  # sentences read from the corpus (paper: first 10M)
    embedded_size: int = 100_000  # sentences generated for the embedded corpus
    eval_samples: int = 640  # argmax samples per evaluation (paper: 640)
    # conditional runs (AC-GAN for text, seqgan_gp.text.conditional); the paper's language model has none
    label_column: Optional[str] = None  # class labels: a datasets column, "tab" (text files), "type" (embedded); None: unconditional
    condition: str = "blocks"  # where the class enters G: blocks (a class vector before every residual block) | input (added to Linear(z))
    acgan_scale: float = 1.0  # weight of the critic's class cross-entropy on real rows (paper's AC-GAN: 1.0)
    acgan_scale_g: float = 0.1  # weight of the generator's class cross-entropy (paper's AC-GAN: 0.1)
    # the shared settings where the language model's paper values differ from Algorithm 1's
    critic_iters: int = 10  # critic steps per generator step (paper: 10)

    def __post_init__(self):
        super().__post_init__()
        check_at_least_one(self, ["dim", "blocks", "kernel", "z_dim", "max_examples", "embedded_size", "eval_samples"])
        if self.seq_len < 2:
            raise UserError(f"--seq-len {self.seq_len}: must be at least 2 (a sentence needs two positions); "
                            f"pass --seq-len 2 or more (paper: 32)")
        if self.vocab_size < 2:
            raise UserError(f"--vocab-size {self.vocab_size}: must be at least 2 (the unknown id and one token); "
                            f"pass --vocab-size 2 or more (paper: 2048)")
        if self.kernel % 2 == 0:
            raise UserError(f"--kernel {self.kernel}: must be odd so 'same' padding keeps the length; pass an odd "
                            f"width such as 5 (the paper's)")
        if self.tokenizer not in TOKENIZERS:
            raise UserError(f"--tokenizer {self.tokenizer}: unknown tokenizer; choose {', '.join(TOKENIZERS)}")
        if self.sp_model_type not in ("unigram", "bpe"):
            raise UserError(f"--sp-model-type {self.sp_model_type}: choose unigram or bpe")
        if self.long_lines not in ("cut", "drop"):
            raise UserError(f"--long-lines {self.long_lines}: choose cut (the paper's) or drop")
        if self.min_tokens < 0 or self.min_tokens > self.seq_len:
            raise UserError(f"--min-tokens {self.min_tokens}: must lie between 0 and --seq-len {self.seq_len}; "
                            f"pass a value in that range (paper: 0)")
        if self.condition not in CONDITIONS:
            raise UserError(f"--condition {self.condition}: choose {' or '.join(CONDITIONS)}")
        if self.acgan_scale < 0 or self.acgan_scale_g < 0:
            raise UserError(f"--acgan-scale {self.acgan_scale:g} / --acgan-scale-g {self.acgan_scale_g:g}: must be "
                            f"0 or more; pass e.g. --acgan-scale 1.0 --acgan-scale-g 0.1 (the paper's)")
        if self.label_column is None:
            changed = [f for f in ("condition", "acgan_scale", "acgan_scale_g") if getattr(self, f) != paper_value(self, f)]
            if changed:
                flags = ", ".join("--" + f.replace("_", "-") for f in changed)
                raise UserError(f"{flags}: only for a conditional run; add --label-column NAME (the column of class "
                                f"labels) or drop {flags}")
        if self.vocab_size > MAX_VOCAB:
            raise UserError(f"--vocab-size {self.vocab_size}: at most {MAX_VOCAB} (JS-4 codes a 4-gram of ids "
                            f"as one 64-bit integer, V^4 < 2^63); pass a smaller --vocab-size")


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
    return pick_preset(PRESETS, name)
