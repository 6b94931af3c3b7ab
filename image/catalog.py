"""The image models and critic normalisations by name, without torch.

What the configuration and the command line need to know about a model (its name, resolution,
whether it has a conditional variant) lives here, so that ``train-image --help`` and
``ImageConfig`` load without the networks; :mod:`image.models` builds them.
"""

MODELS = ("cifar-dcgan", "cifar-resnet", "resnet64", "dcgan64", "resnet101", "resnet128", "wgangp128-gn", "mnist")
RESOLUTION = {"cifar-dcgan": 32, "cifar-resnet": 32, "resnet64": 64, "dcgan64": 64, "resnet101": 64,
              "resnet128": 128, "wgangp128-gn": 128, "mnist": 28}
CONDITIONAL_MODELS = ("cifar-resnet",)  # models with class-conditional BN and an AC-GAN head
PENALTY_LOSSES = ("wgan-gp", "wgan-gp-one-sided")  # a penalty per example: no batch statistics in the critic
CRITIC_NORMS = ("none", "batch", "layer")  # normalisation of a critic's hidden layers
