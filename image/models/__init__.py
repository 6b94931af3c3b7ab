"""The paper's image generators and critics; ``build_models`` turns ``--model`` into a pair.

Every generator is called as ``G(z, labels=None)`` with z of shape (B, 128) and returns images
(B, C, R, R) in [-1, 1] ([0, 1] for the MNIST model). Every critic returns a score (B, 1), or
``(score, class_logits)`` when it has an AC-GAN head (the conditional CIFAR ResNet).

The critic's normalisation is the reference's choice for the model and the loss unless
``critic_norm`` says otherwise (:func:`reference_critic_norm`):

| --model        | reference                                   | px  | critic norm: wgan-gp | other losses |
|----------------|---------------------------------------------|-----|----------------------|--------------|
| cifar-dcgan    | gan_cifar.py                                | 32  | none                 | batch        |
| cifar-resnet   | gan_cifar_resnet.py (AC-GAN: --conditional) | 32  | none                 | none (¹)     |
| resnet64       | gan_64x64.py GoodGenerator/Discriminator    | 64  | layer                | batch        |
| dcgan64        | gan_64x64.py DCGAN baseline                 | 64  | layer                | batch        |
| resnet101      | gan_64x64.py ResnetGenerator/Discriminator  | 64  | layer                | batch        |
| resnet128      | the Good models one stage deeper (LSUN)     | 128 | layer                | batch (²)    |
| wgangp128-gn   | mmgeneration WGAN-GP 128 (published SWD)    | 128 | layer (= group)      | layer (¹)    |
| mnist          | gan_mnist.py                                | 28  | none                 | batch with wgan only |

(¹) the reference trains this model with WGAN-GP only; other losses keep its critic.
(²) gan_64x64.py's ``Normalize`` rule, which the 128 px extension shares.
"""

from __future__ import annotations

from torch import nn

from image.catalog import (CONDITIONAL_MODELS, CRITIC_NORMS, MODELS, PENALTY_LOSSES, RESOLUTION,  # noqa: F401
                           reference_critic_norm)
from image.models.dcgan import (CifarDCGANCritic, CifarDCGANGenerator, DCGAN64Critic, DCGAN64Generator,
                                MnistCritic, MnistGenerator)
from image.models.wgangp128 import WGANGP128Critic, WGANGP128Generator
from image.models.resnet import CifarResNetCritic, CifarResNetGenerator, GoodCritic, GoodGenerator
from image.models.resnet101 import ResNet101Critic, ResNet101Generator


def build_models(model: str, *, dim: int, z_dim: int = 128, channels: int = 3, n_classes: int = 0,
                 loss: str = "wgan-gp", critic_norm: str | None = None,
                 g_batch_norm: bool | None = None) -> tuple[nn.Module, nn.Module]:
    """(G, critic) of ``model`` at width ``dim``; ``n_classes`` > 0 makes the CIFAR ResNet conditional.

    ``critic_norm`` ('none', 'batch' or 'layer'; None: :func:`reference_critic_norm` for ``loss``)
    normalises the layers the reference normalises. ``g_batch_norm`` switches on the MNIST
    generator's batch norms (None: as the reference, only with ``loss='wgan'``).
    """
    if n_classes and model not in CONDITIONAL_MODELS:
        raise ValueError(f"{model} has no conditional variant")
    norm = reference_critic_norm(model, loss) if critic_norm is None else critic_norm
    if norm not in CRITIC_NORMS:
        raise ValueError(f"critic_norm must be one of {', '.join(CRITIC_NORMS)}, not {norm!r}")
    if model == "cifar-dcgan":
        return (CifarDCGANGenerator(dim=dim, z_dim=z_dim, channels=channels),
                CifarDCGANCritic(dim=dim, channels=channels, norm=norm))
    if model == "cifar-resnet":
        return (CifarResNetGenerator(dim=dim, z_dim=z_dim, channels=channels, n_classes=n_classes),
                CifarResNetCritic(dim=dim, channels=channels, n_classes=n_classes, norm=norm))
    if model in ("resnet64", "resnet128"):
        res = RESOLUTION[model]
        return (GoodGenerator(dim=dim, z_dim=z_dim, channels=channels, resolution=res),
                GoodCritic(dim=dim, channels=channels, resolution=res, norm=norm))
    if model == "dcgan64":
        return (DCGAN64Generator(dim=dim, z_dim=z_dim, channels=channels),
                DCGAN64Critic(dim=dim, channels=channels, norm=norm))
    if model == "resnet101":
        return (ResNet101Generator(dim=dim, z_dim=z_dim, channels=channels),
                ResNet101Critic(dim=dim, channels=channels, norm=norm))
    if model == "wgangp128-gn":
        return (WGANGP128Generator(dim=dim, z_dim=z_dim, channels=channels, resolution=128),
                WGANGP128Critic(dim=dim, channels=channels, resolution=128, norm=norm))
    # mnist
    bn = loss == "wgan" if g_batch_norm is None else g_batch_norm
    return (MnistGenerator(dim=dim, z_dim=z_dim, channels=channels, bn=bn),
            MnistCritic(dim=dim, channels=channels, norm=norm))
