"""The paper's image WGAN-GP models as a task of the core (``train-image``).

Owns the image configuration, models and layers, datasets (CIFAR-10, LSUN, image folders,
Fashion-MNIST, embedded shapes), the AC-GAN objective, sampling and PNG grids, and the image metrics
(SWD, MS-SSIM, IS, FID). May import the core (``seqgan_gp``), torch, Pillow and lmdb; never
``corpora``, ``seqgan_gp.text``, ``seqgan_gp.toy`` or the command line.
"""
