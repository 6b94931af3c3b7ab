"""The paper's image generators and critics; ``build_models`` turns ``--model`` into a pair.

Every generator is called as ``G(z, labels=None)`` with z of shape (B, 128) and returns images
(B, C, R, R) in [-1, 1] ([0, 1] for the MNIST model). Every critic returns a score (B, 1), or
``(score, class_logits)`` when it has an AC-GAN head (the conditional CIFAR ResNet).

| --model        | reference                                  | px  | critic norm |
|----------------|--------------------------------------------|-----|-------------|
| cifar-dcgan    | gan_cifar.py                               | 32  | none        |
| cifar-resnet   | gan_cifar_resnet.py (AC-GAN: --conditional) | 32  | none        |
| resnet64       | gan_64x64.py GoodGenerator/Discriminator   | 64  | layer       |
| dcgan64        | gan_64x64.py DCGAN baseline                | 64  | layer       |
| resnet101      | gan_64x64.py ResnetGenerator/Discriminator | 64  | layer       |
| resnet128      | the Good models one stage deeper (LSUN)    | 128 | layer       |
| wgangp128-gn   | mmgeneration WGAN-GP 128 (published SWD)   | 128 | group (=layer) |
| mnist          | gan_mnist.py                               | 28  | none        |
"""

from __future__ import annotations

from torch import nn

from image.models.dcgan import (CifarDCGANCritic, CifarDCGANGenerator, DCGAN64Critic, DCGAN64Generator,
                                MnistCritic, MnistGenerator)
from image.models.pggan import PGGANCritic, PGGANGenerator
from image.models.resnet import CifarResNetCritic, CifarResNetGenerator, GoodCritic, GoodGenerator
from image.models.resnet101 import ResNet101Critic, ResNet101Generator

MODELS = ("cifar-dcgan", "cifar-resnet", "resnet64", "dcgan64", "resnet101", "resnet128", "wgangp128-gn", "mnist")
RESOLUTION = {"cifar-dcgan": 32, "cifar-resnet": 32, "resnet64": 64, "dcgan64": 64, "resnet101": 64,
              "resnet128": 128, "wgangp128-gn": 128, "mnist": 28}
CONDITIONAL_MODELS = ("cifar-resnet",)  # models with class-conditional BN and an AC-GAN head


def build_models(model: str, *, dim: int, z_dim: int = 128, channels: int = 3, n_classes: int = 0,
                 g_batch_norm: bool = False) -> tuple[nn.Module, nn.Module]:
    """(G, critic) of ``model`` at width ``dim``; ``n_classes`` > 0 makes the CIFAR ResNet conditional.

    ``g_batch_norm`` switches on the MNIST generator's batch norms (the reference uses them only in
    its 'wgan' mode).
    """
    if n_classes and model not in CONDITIONAL_MODELS:
        raise ValueError(f"{model} has no conditional variant")
    if model == "cifar-dcgan":
        return (CifarDCGANGenerator(dim=dim, z_dim=z_dim, channels=channels),
                CifarDCGANCritic(dim=dim, channels=channels))
    if model == "cifar-resnet":
        return (CifarResNetGenerator(dim=dim, z_dim=z_dim, channels=channels, n_classes=n_classes),
                CifarResNetCritic(dim=dim, channels=channels, n_classes=n_classes))
    if model in ("resnet64", "resnet128"):
        res = RESOLUTION[model]
        return (GoodGenerator(dim=dim, z_dim=z_dim, channels=channels, resolution=res),
                GoodCritic(dim=dim, channels=channels, resolution=res))
    if model == "dcgan64":
        return DCGAN64Generator(dim=dim, z_dim=z_dim, channels=channels), DCGAN64Critic(dim=dim, channels=channels)
    if model == "resnet101":
        return ResNet101Generator(dim=dim, z_dim=z_dim, channels=channels), ResNet101Critic(dim=dim, channels=channels)
    if model == "wgangp128-gn":
        return (PGGANGenerator(dim=dim, z_dim=z_dim, channels=channels, resolution=128),
                PGGANCritic(dim=dim, channels=channels, resolution=128))
    if model == "mnist":
        return (MnistGenerator(dim=dim, z_dim=z_dim, channels=channels, bn=g_batch_norm),
                MnistCritic(dim=dim, channels=channels))
    raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
