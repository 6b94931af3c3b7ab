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


def reference_critic_norm(model: str, loss: str) -> str:
    """The critic normalisation the reference code uses for ``model`` trained with ``loss``
    ('none', 'batch' or 'layer'; see image.models' docstring table).

    gan_cifar.py adds batch norm after the critic's 2nd and 3rd convolutions ``if MODE != 'wgan-gp'``;
    gan_mnist.py ``if MODE == 'wgan'`` only (its dcgan mode has none); gan_64x64.py's ``Normalize``
    is layer norm in a critic when ``MODE == 'wgan-gp'`` and batch norm otherwise;
    gan_cifar_resnet.py (WGAN-GP only) has NORMALIZATION_D = False.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    penalty = loss in PENALTY_LOSSES
    if model == "cifar-dcgan":
        return "none" if penalty else "batch"
    if model == "mnist":
        return "batch" if loss == "wgan" else "none"
    if model == "cifar-resnet":
        return "none"
    if model == "wgangp128-gn":
        return "layer"
    return "layer" if penalty else "batch"  # resnet64, dcgan64, resnet101, resnet128
