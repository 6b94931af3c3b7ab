"""Configuration of a text run, its validation, and the named presets.

Paper defaults are gan_language.py's (SPEC.md): batch 64, sequence length 32, DIM 512, 5 residual
blocks, 10 critic iterations, λ = 10, Adam 1e-4 with betas (0.5, 0.9), 200,000 generator
iterations, the first 10M sentences, a character vocabulary of at most 2048 ids. The reference ran
under Python 2, where a line's characters were its UTF-8 bytes: on ``billion_word`` the tokenizer
is therefore ``byte`` (at most 257 ids, the 32-position window counts bytes), elsewhere ``char``
(code points) unless ``--tokenizer`` says otherwise. A run with ``--label-column`` is conditional
(seqgan_gp.text.conditional), with the image AC-GAN's loss scales.
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from typing import Optional

from seqgan_gp.config import GANConfig, paper_value, pick_preset
from seqgan_gp.configfile import check_at_least_one, check_finite
from seqgan_gp.errors import UserError

KIND = "text"  # config.json's and checkpoints' kind; trained by train-text
TOKENIZERS = ("char", "byte", "word", "sentencepiece")
TOKENIZER_HELP = ("char (code points, most frequent first), byte (UTF-8 bytes as characters: the paper's code as it ran "
                  "under Python 2, at most 257 ids, the window counts bytes), word (most frequent words) or "
                  "sentencepiece (trained on the corpus with --vocab-size) [default: byte on billion_word, as the "
                  "paper; char on every other corpus].")
MAX_VOCAB = 55_108  # largest V with V**4 < 2**63 (n-gram codes of JS-4)
RELAXATIONS = ("softmax", "gumbel", "st", "st-argmax")
RELAXATION_HELP = ("What the critic sees of the generator: softmax (the paper's: each position's probabilities), "
                   "gumbel (Gumbel-softmax samples at --gumbel-tau), st (straight-through Gumbel: one-hot samples "
                   "forward, the Gumbel-softmax's gradient backward) or st-argmax (one-hot argmax forward, the "
                   "softmax's gradient backward).")
CONDITIONS = ("blocks", "input")  # how a conditional generator takes its class (seqgan_gp.text.conditional)


@dataclass(frozen=True)
class CorpusConfig:
    """The corpus fields of a run on text (a GAN, seqgan_gp.text, or a language model, seqgan_gp.lm):
    what seqgan_gp.text.data reads and encodes. Mixed into a run configuration before its schedule
    base, e.g. ``TextConfig(CorpusConfig, GANConfig)``, so that the checks chain."""

    corpus: str = "embedded"  # embedded | billion_word | PATH (.txt/.jsonl/.csv/.parquet, folder) | hf:NAME[:CONFIG][:SPLIT]
    data_dir: Optional[str] = None  # billion_word: folder holding training-monolingual.tokenized.shuffled/
    text_column: Optional[str] = None  # datasets: column holding the text (default "text" or the only text column)
    tokenizer: Optional[str] = None  # char | byte | word | sentencepiece (None: byte on billion_word, else char)
    sp_model_type: str = "unigram"  # sentencepiece: unigram | bpe
    long_lines: str = "cut"  # cut lines longer than seq_len tokens (the paper's) | drop them
    min_tokens: int = 0  # drop lines with fewer tokens (paper: 0, every line kept)
    seq_len: int = 32  # tokens per sentence after truncation/padding (paper: 32)
    vocab_size: int = 2048  # most ids in the vocabulary, unknown included (paper: 2048)
    max_examples: int = 10_000_000  # sentences read from the corpus (paper: first 10M)
    embedded_size: int = 100_000  # sentences generated for the embedded corpus
    # class labels read beside the sentences (a conditional GAN, seqgan_gp.text.conditional; a changed column is another cache entry)
    label_column: Optional[str] = None  # a datasets column, "tab" (text files), "type" (embedded); None: unconditional

    def __post_init__(self):
        super().__post_init__()  # the schedule's checks (the base after this one)
        if self.tokenizer is None:  # resolved here, so config.json records the tokenizer trained with
            object.__setattr__(self, "tokenizer", default_tokenizer(self.corpus))
        check_at_least_one(self, ["max_examples", "embedded_size"])
        if self.seq_len < 2:
            raise UserError(f"--seq-len {self.seq_len}: must be at least 2 (a sentence needs two positions); "
                            f"pass --seq-len 2 or more (paper: 32)")
        if self.vocab_size < 2:
            raise UserError(f"--vocab-size {self.vocab_size}: must be at least 2 (the unknown id and one token); "
                            f"pass --vocab-size 2 or more (paper: 2048)")
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

    def implied(self, given: dict) -> dict:
        """A loss's paper optimizer (seqgan_gp.config.GANConfig.implied) and, for another corpus, its
        default tokenizer (:func:`default_tokenizer`)."""
        implied = super().implied(given)
        if given.get("corpus", self.corpus) != self.corpus:
            implied["tokenizer"] = None  # __post_init__ resolves it
        return implied


def default_tokenizer(corpus: str) -> str:
    """``byte`` on billion_word (the reference's Python 2 ``tuple(line)`` split lines into UTF-8 bytes),
    ``char`` (code points) on every other corpus."""
    return "byte" if corpus == "billion_word" else "char"


@dataclass(frozen=True)
class TextConfig(CorpusConfig, GANConfig):
    """A text run: the shared schedule and adversarial settings (seqgan_gp.config), the corpus
    (:class:`CorpusConfig`) and the networks of the paper's language model."""

    dim: int = 512  # channels of every residual block (paper: 512)
    blocks: int = 5  # residual blocks in G and in D (paper: 5)
    kernel: int = 5  # convolution width in the residual blocks (paper: 5)
    z_dim: int = 128  # noise dimension (paper: 128)
    eval_samples: int = 640  # argmax samples per evaluation (paper: 640)
    # conditional runs (AC-GAN for text, seqgan_gp.text.conditional); the paper's language model has none
    condition: str = "blocks"  # where the class enters G: blocks (a class vector before every residual block) | input (added to Linear(z))
    acgan_scale: float = 1.0  # weight of the critic's class cross-entropy on real rows (paper's AC-GAN: 1.0)
    acgan_scale_g: float = 0.1  # weight of the generator's class cross-entropy (paper's AC-GAN: 0.1)
    # the shared settings where the language model's paper values differ from Algorithm 1's
    critic_iters: int = 10  # critic steps per generator step (paper: 10)
    # what the critic sees (seqgan_gp.text.relax); the paper's: G's softmax rows, exact one-hot real rows
    relaxation: str = "softmax"  # softmax (the paper's) | gumbel | st (straight-through Gumbel) | st-argmax
    gumbel_tau: float = 1.0  # temperature τ of the Gumbel-softmax (gumbel, st) or of st-argmax's backward softmax
    output_tau: float = 1.0  # softmax: the critic sees softmax(logits / τ_out) (paper: 1; below 1 sharpens)
    real_noise: float = 0.0  # label smoothing ε of real rows: (1 − ε)·onehot + ε/V (paper: 0)

    def __post_init__(self):
        super().__post_init__()
        check_at_least_one(self, ["dim", "blocks", "kernel", "z_dim", "eval_samples"])
        if self.kernel % 2 == 0:
            raise UserError(f"--kernel {self.kernel}: must be odd so 'same' padding keeps the length; pass an odd "
                            f"width such as 5 (the paper's)")
        if self.condition not in CONDITIONS:
            raise UserError(f"--condition {self.condition}: choose {' or '.join(CONDITIONS)}")
        if not (self.acgan_scale >= 0 and self.acgan_scale_g >= 0) or math.isinf(self.acgan_scale + self.acgan_scale_g):
            raise UserError(f"--acgan-scale {self.acgan_scale:g} / --acgan-scale-g {self.acgan_scale_g:g}: must be "
                            f"finite, 0 or more; pass e.g. --acgan-scale 1.0 --acgan-scale-g 0.1 (the paper's)")
        self._check_critic_view()
        if self.label_column is None:
            changed = [f for f in ("condition", "acgan_scale", "acgan_scale_g") if getattr(self, f) != paper_value(self, f)]
            if changed:
                flags = ", ".join("--" + f.replace("_", "-") for f in changed)
                raise UserError(f"{flags}: only for a conditional run; add --label-column NAME (the column of class "
                                f"labels) or drop {flags}")

    def _check_critic_view(self) -> None:
        if self.relaxation not in RELAXATIONS:
            raise UserError(f"--relaxation {self.relaxation}: unknown relaxation; choose one of {', '.join(RELAXATIONS)}")
        for name, value in (("--gumbel-tau", self.gumbel_tau), ("--output-tau", self.output_tau)):
            check_finite(value, name, example=1.0)
        if self.gumbel_tau != 1 and self.relaxation == "softmax":
            raise UserError(f"--gumbel-tau {self.gumbel_tau:g}: only with --relaxation gumbel, st or st-argmax; add "
                            f"one of them, or use --output-tau to sharpen the softmax")
        if self.output_tau != 1 and self.relaxation != "softmax":
            raise UserError(f"--output-tau {self.output_tau:g}: only with --relaxation softmax; drop it (--gumbel-tau "
                            f"is the temperature of --relaxation {self.relaxation})")
        if not 0 <= self.real_noise < 1:
            raise UserError(f"--real-noise {self.real_noise:g}: must lie in [0, 1) (0: exact one-hot rows, the "
                            f"paper's); pass e.g. --real-noise 0.1")

    @classmethod
    def older_defaults(cls, doc: dict) -> dict:
        """A config.json written before the critic-view options ran the paper's: softmax, no noise."""
        return {**super().older_defaults(doc), "relaxation": "softmax", "gumbel_tau": 1.0, "output_tau": 1.0,
                "real_noise": 0.0}


PRESETS: dict[str, TextConfig] = {
    # The paper's language model on One Billion Word, every hyperparameter as gan_language.py; on
    # billion_word its characters are UTF-8 bytes, as the reference's (--tokenizer byte).
    "paper": TextConfig(),
    # Small enough to train on 2 CPU cores in a few minutes on the embedded corpus.
    "demo": TextConfig(iters=2000, batch_size=32, dim=64, blocks=2, critic_iters=5, lr=1e-3,
                       seq_len=32, log_every=10, sample_every=200, eval_every=200, eval_samples=640,
                       checkpoint_every=400, embedded_size=50_000),
    # The demo's sizes for a CPU time budget (docs/recipes.md): 2 critic steps per generator step (2.3x the
    # generator steps of demo's 5 in the same time), the critic reading one-hot argmax rows with the softmax's
    # gradient (--relaxation st-argmax: entropy no longer tells fakes from one-hot real rows) and samples from
    # the average of G's weights. At 180 s on one thread its argmax samples reach JS-4 0.446 on WordNet glosses
    # and 0.533 on Debian man-page sentences, where demo reaches 0.527 and 0.650 (an LSTM trained by maximum
    # likelihood: 0.222 and 0.201). Decode it by argmax (sample's default): its rows are not a distribution.
    "cpu": TextConfig(iters=4000, batch_size=32, dim=64, blocks=2, critic_iters=2, lr=1e-3, relaxation="st-argmax",
                      ema_decay=0.995, seq_len=32, log_every=10, sample_every=400, eval_every=400, eval_samples=640,
                      checkpoint_every=800, embedded_size=50_000),
    # Tiny, for tests and smoke checks: seconds on a CPU.
    "tiny": TextConfig(iters=20, batch_size=16, dim=16, blocks=1, critic_iters=2, seq_len=16,
                       log_every=5, sample_every=10, eval_every=10, eval_samples=64,
                       checkpoint_every=10, embedded_size=2000, max_examples=2000),
}


def preset(name: str) -> TextConfig:
    return pick_preset(PRESETS, name)
