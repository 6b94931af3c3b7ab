"""Image metrics: SWD on Laplacian pyramids and MS-SSIM of sample pairs (the published WGAN-GP 128
protocol), Inception Score and FID from a user-supplied Inception network."""

from image.metrics.inception import InceptionNet, fid, frechet_distance, inception_score, require_inception
from image.metrics.ms_ssim import ms_ssim, ms_ssim_of_samples
from image.metrics.swd import laplacian_pyramid, sliced_wasserstein, swd

__all__ = ["InceptionNet", "fid", "frechet_distance", "inception_score", "require_inception", "ms_ssim",
           "ms_ssim_of_samples", "laplacian_pyramid", "sliced_wasserstein", "swd"]
