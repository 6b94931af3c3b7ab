"""Two-dimensional toy distributions of the paper (gan_toy.py; Gulrajani et al. 2017, Section 3 and
Figure 2): the 8-Gaussian and 25-Gaussian mixtures and the Swiss roll, the paper's MLP generator and
critic, exact Wasserstein-1 and mode metrics, the ``train-toy`` task and the Section 3 critic studies.

May import the core (``seqgan_gp``), numpy, matplotlib and scipy (the last two on first use); never
``image``, ``corpora``, ``seqgan_gp.text`` or the command line.
"""
