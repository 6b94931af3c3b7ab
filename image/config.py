"""Configuration of an image run: one dataclass, the paper's defaults per model, and presets.

Paper defaults (SPEC.md):

* cifar-dcgan (gan_cifar.py): DIM 128, batch 64, 5 critic steps, λ 10, Adam 1e-4 (0.5, 0.9),
  200,000 generator iterations, pixels 2·(x/255 − 0.5), grids of 128 samples.
* cifar-resnet (gan_cifar_resnet.py): DIM 128, batch 64 (generator batch 128), 5 critic steps,
  Adam 2e-4 (0, 0.9) decayed linearly to 0 over 100,000 iterations, dequantised pixels
  2·(x/256 − 0.5) + U[0, 1/128); AC-GAN scales 1.0 (critic) and 0.1 (generator); grids of 100.
* resnet64, dcgan64, resnet101 (gan_64x64.py): DIM 64, batch 64, 5 critic steps, Adam 1e-4
  (0, 0.9), 200,000 iterations, grids of 64.
* resnet128: the 64x64 settings at 128 px (the paper's LSUN bedrooms; the reference code has no
  LSUN script).
* wgangp128-gn (mmgeneration WGAN-GP 128): batch 64, Adam 1e-4 (0.5, 0.9), 5 critic steps, λ 10
  (their LSUN run used λ 50), 160,000 iterations.
* mnist (gan_mnist.py): DIM 64, batch 50, 5 critic steps, Adam 1e-4 (0.5, 0.9), pixels in [0, 1]
  and a sigmoid output, grids of 128.

The critic's normalisation follows the model and the loss as in the reference
(image.models.reference_critic_norm: batch norm for the DCGAN / LSGAN / clipping baselines, none or
layer norm with WGAN-GP) unless ``--critic-norm`` says otherwise; config.json records the result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from image.catalog import CONDITIONAL_MODELS, CRITIC_NORMS, MODELS, RESOLUTION, reference_critic_norm
from seqgan_gp.config import GANConfig
from seqgan_gp.configfile import check_at_least_one, check_finite, check_zero_or_more
from seqgan_gp.errors import UserError

KIND = "image"  # config.json's and checkpoints' kind; trained by train-image
DATASETS = ("embedded", "cifar10", "lsun", "folder", "fashion-mnist")


@dataclass(frozen=True)
class ImageConfig(GANConfig):
    """An image run: the shared schedule and adversarial settings (seqgan_gp.config), the model, the
    dataset and the AC-GAN weights."""

    model: str = "cifar-resnet"  # one of image.models.MODELS
    dataset: str = "embedded"  # embedded | cifar10 | lsun | folder | fashion-mnist
    data_dir: Optional[str] = None  # where the dataset lives (fashion-mnist: Debian's folder by default)
    conditional: bool = False  # AC-GAN with class-conditional BN (cifar-resnet; paper's 8.42 IS run)
    critic_norm: Optional[str] = None  # none | batch | layer (None: the reference's for --model and --loss)
    dim: int = 128  # width of the networks (paper: 128 CIFAR models, 64 the 64x64 family, 64 MNIST)
    z_dim: int = 128  # noise dimension (paper: 128)
    gen_batch_multiple: int = 2  # generator batch = this x batch_size (paper: GEN_BS_MULTIPLE 2 ResNet CIFAR, else 1)
    acgan_scale: float = 1.0  # weight of the critic's class cross-entropy on real images (paper: 1.0)
    acgan_scale_g: float = 0.1  # weight of the generator's class cross-entropy (paper: 0.1)
    dequantize: bool = True  # x/256 + U[0, 1/128) instead of x/255 (paper: ResNet CIFAR only)
    max_examples: int = 0  # images used from the dataset (0: all)
    embedded_size: int = 50_000  # images of the embedded dataset (generated on demand)
    sample_grid: int = 100  # samples in each PNG grid (paper: 100 ResNet CIFAR, 128 DCGAN/MNIST, 64 64x64)
    eval_samples: int = 2048  # images per training evaluation, every metric (swd2k_32; `evaluate`: published counts)
    inception_weights: Optional[str] = None  # TorchScript Inception file for IS / FID (none: skipped)
    # the shared settings where the ResNet CIFAR model's paper values differ from the defaults
    iters: int = 100_000  # generator iterations (paper: 100,000 ResNet CIFAR; 200,000 the others)
    lr: float = 2e-4  # Adam learning rate (paper: 2e-4 ResNet CIFAR, 1e-4 the others)
    betas: tuple[float, float] = (0.0, 0.9)  # Adam (β1, β2) (paper: (0, 0.9) ResNets, (0.5, 0.9) DCGAN/MNIST)
    lr_decay: bool = True  # linear decay to 0 over --iters (paper: ResNet CIFAR only)
    eval_every: int = 1000  # iterations between SWD / MS-SSIM (and IS / FID) evaluations (paper IS: 1000)

    @property
    def resolution(self) -> int:
        return RESOLUTION[self.model]

    @property
    def channels(self) -> int:
        return 1 if self.dataset == "fashion-mnist" else 3

    @property
    def unit_range(self) -> bool:
        """Pixels in [0, 1] (gan_mnist.py) instead of [-1, 1]."""
        return self.model == "mnist"

    def __post_init__(self):
        super().__post_init__()
        if self.model not in MODELS:
            raise UserError(f"--model {self.model}: unknown model; choose one of {', '.join(MODELS)}")
        if self.critic_norm is None:  # resolved here, so config.json records the norm the critic has
            object.__setattr__(self, "critic_norm", reference_critic_norm(self.model, self.loss))
        if self.critic_norm not in CRITIC_NORMS:
            raise UserError(f"--critic-norm {self.critic_norm}: unknown normalisation; choose one of "
                            f"{', '.join(CRITIC_NORMS)} (default: the reference's for --model and --loss)")
        if self.dataset not in DATASETS:
            raise UserError(f"--dataset {self.dataset}: unknown dataset; choose one of {', '.join(DATASETS)}")
        if self.conditional and self.model not in CONDITIONAL_MODELS:
            raise UserError(f"--conditional: {self.model} has no conditional variant; use --model "
                            f"{' or '.join(CONDITIONAL_MODELS)} (the paper's AC-GAN) or drop --conditional")
        if self.conditional and self.dataset in ("lsun", "folder"):
            raise UserError(f"--conditional: the {self.dataset} dataset has no class labels; use cifar10, "
                            f"fashion-mnist or embedded, or drop --conditional")
        check_at_least_one(self, ["dim", "z_dim", "gen_batch_multiple", "embedded_size", "sample_grid", "eval_samples"])
        check_zero_or_more(self, ["max_examples"], zero="all")
        if self.eval_samples < 2:
            raise UserError(f"--eval-samples {self.eval_samples}: MS-SSIM needs at least one pair of samples; "
                            f"pass --eval-samples 2 or more")
        if self.acgan_scale < 0 or self.acgan_scale_g < 0:
            raise UserError(f"--acgan-scale {self.acgan_scale:g} / --acgan-scale-g {self.acgan_scale_g:g}: must be "
                            f"0 or more; pass e.g. --acgan-scale 1.0 --acgan-scale-g 0.1 (the paper's)")
        check_finite(self.acgan_scale, "--acgan-scale", positive=False, example=1.0)
        check_finite(self.acgan_scale_g, "--acgan-scale-g", positive=False, example=0.1)

    def implied(self, given: dict) -> dict:
        """A loss's paper optimizer (seqgan_gp.config.GANConfig.implied) and, when the model or the loss
        changes, the reference's critic norm for the new pair."""
        implied = super().implied(given)
        if given.get("model", self.model) != self.model or given.get("loss", self.loss) != self.loss:
            implied["critic_norm"] = None  # __post_init__ resolves it
        return implied

    @classmethod
    def older_defaults(cls, doc: dict) -> dict:
        """Runs from before --critic-norm had the WGAN-GP critic of their model whatever the loss."""
        model = doc.get("model", cls.model)
        older = super().older_defaults(doc)
        return {**older, "critic_norm": reference_critic_norm(model, "wgan-gp")} if model in MODELS else older


_CIFAR_DCGAN = dict(dim=128, iters=200_000, batch_size=64, gen_batch_multiple=1, lr=1e-4, betas=(0.5, 0.9),
                    lr_decay=False, dequantize=False, sample_grid=128, sample_every=100)
_SIXTY_FOUR = dict(dim=64, iters=200_000, batch_size=64, gen_batch_multiple=1, lr=1e-4, betas=(0.0, 0.9),
                   lr_decay=False, dequantize=False, sample_grid=64, sample_every=200)

# The paper's settings for each model (SPEC.md); flags override them.
PAPER: dict[str, ImageConfig] = {
    "cifar-dcgan": ImageConfig(model="cifar-dcgan", **_CIFAR_DCGAN),
    "cifar-resnet": ImageConfig(model="cifar-resnet"),
    "resnet64": ImageConfig(model="resnet64", **_SIXTY_FOUR),
    "dcgan64": ImageConfig(model="dcgan64", **_SIXTY_FOUR),
    "resnet101": ImageConfig(model="resnet101", **_SIXTY_FOUR),
    "resnet128": ImageConfig(model="resnet128", **_SIXTY_FOUR),
    "wgangp128-gn": ImageConfig(model="wgangp128-gn", **{**_SIXTY_FOUR, "betas": (0.5, 0.9), "iters": 160_000,
                                                         "sample_every": 1000}),
    "mnist": ImageConfig(model="mnist", **{**_CIFAR_DCGAN, "dim": 64, "batch_size": 50}),
}

# Presets scale any model's paper settings down. demo: a few minutes on 2 CPU cores (32 px
# models); tiny: seconds, for tests and smoke checks.
PRESETS: dict[str, dict] = {
    "paper": {},
    "demo": dict(dim=32, iters=600, batch_size=32, lr=2e-4, betas=(0.0, 0.9),
                 lr_decay=False, sample_grid=64, sample_every=100, eval_every=200, eval_samples=512,
                 checkpoint_every=200, embedded_size=20_000, log_every=10),
    "tiny": dict(dim=8, iters=4, batch_size=8, critic_iters=2, sample_grid=16,
                 sample_every=2, eval_every=2, eval_samples=32, checkpoint_every=2, embedded_size=256,
                 log_every=2),
}


def paper_config(model: str, preset: str = "paper") -> ImageConfig:
    """``model``'s paper settings, scaled by ``preset`` (paper, demo or tiny)."""
    if model not in PAPER:
        raise UserError(f"--model {model}: unknown model; choose one of {', '.join(MODELS)}")
    if preset not in PRESETS:
        raise UserError(f"--preset {preset}: unknown preset; choose one of {', '.join(PRESETS)}")
    return replace(PAPER[model], **PRESETS[preset])
