"""seqgan_gp: WGAN-GP (Gulrajani et al. 2017) for discrete sequences and images, in PyTorch.

The package is the shared core and the kinds of training built on it:

* the core (the modules at this level): the objectives, the AC-GAN wrapper of any of them
  (conditional images and text) and the gradient penalty, the optimizers, the training steps and the one loop, the training state and its checkpoints, run directories, the run
  of a task (seqgan_gp.runner) and the task interface (seqgan_gp.task), faults and signals, the
  runtime (device, precision, determinism, data-parallel ranks), progress and logging, n-gram and
  BLEU metrics. It may import torch, numpy, rich and safetensors; it never imports ``image``,
  ``corpora``, the kinds below or the command line.
* ``seqgan_gp.text``: the paper's language GAN as a task (may import the core and ``corpora``).
* ``seqgan_gp.lm``: its maximum-likelihood baseline as a task (``train-lm``), and the quality–diversity
  frontier that compares the two kinds over sampling temperatures (may import the core,
  ``seqgan_gp.text`` and ``corpora``).
* ``seqgan_gp.toy``: the paper's 2-D toys and the Section 3 critic studies (may import the core).
* ``seqgan_gp.cli``: the Click commands; may import everything, nothing imports it.

The image models, data and metrics live in the top-level package ``image`` (a task of this core,
importing it); corpus reading and tokenizers in ``corpora`` (imported by ``seqgan_gp.text`` only).
"""

__version__ = "0.1.0"
