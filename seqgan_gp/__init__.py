"""seqgan_gp: WGAN-GP (Gulrajani et al. 2017) for discrete sequences and images, in PyTorch."""

__version__ = "0.1.0"
