"""Two-dimensional toy distributions of the paper (gan_toy.py; Gulrajani et al. 2017, Section 3 and
Figure 2): the 8-Gaussian and 25-Gaussian mixtures and the Swiss roll, the paper's MLP generator and
critic, exact Wasserstein-1 and mode metrics, and the Section 3 critic studies."""
