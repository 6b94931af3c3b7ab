"""Image metrics on cases with known answers: SWD (pyramid, descriptors, slicing), MS-SSIM, IS and FID,
and the Inception plumbing with a small stand-in TorchScript network."""

import math

import numpy as np
import pytest
import torch

from image.data.embedded import EmbeddedSource
from image.metrics import fid, frechet_distance, inception_score, ms_ssim, ms_ssim_of_samples, swd
from image.metrics.inception import InceptionNet, require_inception
from image.metrics.ms_ssim import WEIGHTS
from image.metrics.swd import (descriptors, finalize_descriptors, laplacian_pyramid, pyramid_up, random_directions,
                               sliced_wasserstein, swd_resolutions)
from seqgan_gp.errors import UserError


def shapes(n, res=32, offset=0):
    src = EmbeddedSource(10_000)
    return torch.from_numpy(src.read(np.arange(offset, offset + n), res)).float() / 127.5 - 1


# -- SWD ---------------------------------------------------------------------------------------------

def test_laplacian_pyramid_levels_and_exact_reconstruction():
    x = torch.rand(2, 3, 32, 32)
    pyr = laplacian_pyramid(x, 3)
    assert [p.shape[-1] for p in pyr] == [32, 16, 8]
    rebuilt = pyr[2]
    for band in reversed(pyr[:2]):
        rebuilt = band + pyramid_up(rebuilt)
    assert torch.allclose(rebuilt, x, atol=1e-5)
    assert swd_resolutions(128) == [128, 64, 32, 16] and swd_resolutions(32) == [32, 16] and swd_resolutions(28) == [28]
    # a constant image has no detail: the band-pass level is zero away from the (zero-padded) border
    flat = laplacian_pyramid(torch.full((1, 1, 32, 32), 0.7), 2)
    assert flat[0][..., 4:-4, 4:-4].abs().max() < 1e-6


def test_descriptors_are_the_patches_at_the_drawn_positions():
    level = torch.arange(2 * 3 * 16 * 16, dtype=torch.float32).reshape(2, 3, 16, 16)
    d = descriptors(level, np.random.default_rng(4), nhood=7, per_image=5)
    rng = np.random.default_rng(4)
    ys, xs = rng.integers(3, 13, size=10), rng.integers(3, 13, size=10)
    assert d.shape == (10, 3, 7, 7)
    for k in (0, 7):
        img = k // 5
        assert torch.equal(d[k], level[img, :, ys[k] - 3 : ys[k] + 4, xs[k] - 3 : xs[k] + 4])
    f = finalize_descriptors(d)
    per_channel = f.reshape(10, 3, 49)
    assert torch.allclose(per_channel.mean(dim=(0, 2)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(per_channel.std(dim=(0, 2)), torch.ones(3), atol=1e-5)


def test_sliced_wasserstein_of_a_shifted_set_is_the_mean_projected_shift():
    a = torch.randn(500, 6)
    t = torch.tensor([0.5, -1.0, 2.0, 0.0, 0.3, 0.1])
    dirs = [random_directions(6, 16, np.random.default_rng(r)) for r in range(3)]
    expected = np.mean([(t @ d).abs().mean().item() for d in dirs])  # sorting commutes with a shift
    assert sliced_wasserstein(a, a + t, dirs) == pytest.approx(expected, rel=1e-5)
    assert sliced_wasserstein(a, a, dirs) == 0.0
    # a permutation of the same set is the same distribution: distance 0
    assert sliced_wasserstein(a, a[torch.randperm(500)], dirs) == pytest.approx(0.0, abs=1e-6)


def test_swd_identical_sets_zero_contrast_invariant_and_ordered():
    real = shapes(64)
    same = swd(real, real.clone())
    assert set(same) == {"swd_32", "swd_16", "swd_avg"} and all(v == 0.0 for v in same.values())
    # descriptors are normalised per set and channel: a set at half the contrast has the same SWD
    assert all(abs(v) < 1e-3 for v in swd(real, 0.5 * real).values())
    other = swd(real, shapes(64, offset=5000))  # more images of the same distribution
    shifted = swd(real, torch.roll(real, shifts=1, dims=3))  # the set shifted one pixel to the right
    noise = swd(real, torch.rand_like(real) * 2 - 1)
    assert 0 < other["swd_avg"] < 40 and 0 < shifted["swd_avg"] < 40
    assert noise["swd_avg"] > 5 * max(other["swd_avg"], shifted["swd_avg"])
    assert same == swd(real, real.clone())  # deterministic for a seed
    with pytest.raises(ValueError, match="equally many"):
        swd(real, real[:10])


# -- MS-SSIM -----------------------------------------------------------------------------------------

def test_ms_ssim_of_identical_images_is_one_and_of_constants_is_the_luminance_term():
    x = torch.rand(3, 3, 64, 64) * 255
    assert torch.allclose(ms_ssim(x, x), torch.ones(3, dtype=torch.float64), atol=1e-5)
    # constant images a and b: every σ is 0, so cs = 1 at every scale and ssim = (2ab + C1)/(a² + b² + C1)
    a, b = 100.0, 180.0
    c1 = (0.01 * 255) ** 2
    expected = ((2 * a * b + c1) / (a * a + b * b + c1)) ** WEIGHTS[-1]
    got = ms_ssim(torch.full((1, 1, 32, 32), a), torch.full((1, 1, 32, 32), b))
    assert got.item() == pytest.approx(expected, rel=1e-4)  # float32 moments, as the reference


def test_ms_ssim_of_samples_pairs_even_and_odd_images():
    base = torch.rand(1, 3, 32, 32)
    pairs_equal = base.repeat(4, 1, 1, 1)  # (0,1) and (2,3) identical
    assert ms_ssim_of_samples(pairs_equal) == pytest.approx(1.0, abs=1e-5)
    noise = torch.rand(8, 3, 32, 32)
    diverse = ms_ssim_of_samples(noise)
    assert 0 <= diverse < 0.2  # independent noise images are nearly unrelated
    real = (shapes(64) + 1) / 2
    assert ms_ssim_of_samples(real) < 0.5


# -- IS and FID ----------------------------------------------------------------------------------------

def test_inception_score_known_values():
    assert inception_score(np.full((100, 7), 1 / 7)) == pytest.approx((1.0, 0.0))  # uniform predictions: 1
    one_hot = np.eye(10)[np.arange(200) % 10]  # confident and all classes equally often: IS = 10
    mean, std = inception_score(one_hot)
    assert mean == pytest.approx(10.0) and std == pytest.approx(0.0, abs=1e-9)
    p = np.array([[0.9, 0.1], [0.1, 0.9]] * 10)
    py = np.array([0.5, 0.5])
    kl = (p[0] * np.log(p[0] / py)).sum()
    assert inception_score(p, splits=2)[0] == pytest.approx(math.exp(kl))


def test_frechet_distance_known_values():
    rng = np.random.default_rng(0)
    f = rng.standard_normal((500, 4))
    assert fid(f, f) == pytest.approx(0.0, abs=1e-8)
    # diagonal (commuting) covariances: ‖Δμ‖² + Σ (√a − √b)²
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    direct = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(direct)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))  # the same in a rotated basis
    assert frechet_distance(q @ mu1, q @ np.diag(a) @ q.T, q @ mu2, q @ np.diag(b) @ q.T) == pytest.approx(direct)


class _StandIn(torch.nn.Module):
    """A tiny network with the TorchScript Inception's interface: uint8 images in, class
    probabilities out (or features with return_features=True)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.proj = torch.nn.Linear(3, 5)

    def forward(self, x: torch.Tensor, return_features: bool = False, no_output_bias: bool = False) -> torch.Tensor:
        feats = x.float().mean(dim=(2, 3)) / 255.0  # (N, 3)
        if return_features:
            return feats
        return torch.softmax(self.proj(feats) * 10.0, dim=1)


def test_inception_plumbing_with_a_stand_in_torchscript_network(tmp_path):
    path = tmp_path / "standin.pt"
    torch.jit.save(torch.jit.script(_StandIn()), str(path))
    net = InceptionNet(path, torch.device("cpu"), batch_size=7)
    imgs = torch.randint(0, 256, (30, 3, 8, 8), dtype=torch.uint8)
    feats = net.features(imgs)
    assert feats.shape == (30, 3) and np.allclose(feats, imgs.float().mean(dim=(2, 3)).numpy() / 255, atol=1e-6)
    probs = net.probabilities(imgs)
    assert probs.shape == (30, 5) and np.allclose(probs.sum(1), 1)
    assert fid(feats, net.features(imgs.clone())) == pytest.approx(0.0, abs=1e-9)
    assert inception_score(probs)[0] >= 1.0
    gray = net.features(imgs[:, :1])  # gray images are repeated to three channels
    assert np.allclose(gray[:, 0], gray[:, 2])


def test_missing_or_bad_inception_weights_say_how_to_get_them(tmp_path):
    with pytest.raises(UserError, match="inception-2015-12-05.pt.*--inception-weights"):
        require_inception(None, torch.device("cpu"))
    with pytest.raises(UserError, match="no such file"):
        InceptionNet(tmp_path / "nope.pt", torch.device("cpu"))
    (tmp_path / "bad.pt").write_bytes(b"not torchscript")
    with pytest.raises(UserError, match="not a loadable TorchScript"):
        InceptionNet(tmp_path / "bad.pt", torch.device("cpu"))
