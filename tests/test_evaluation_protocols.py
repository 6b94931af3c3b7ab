"""evaluate's published protocols and metric names that carry their sample counts; the streamed image
evaluation against the whole-set metrics; the Inception pixels of the reference scripts."""

import json

import numpy as np
import pytest
import torch

import image.evaluate as image_evaluate
from cli import cli
from image.config import ImageConfig
from image.data import open_source, to_unit_range
from image.evaluate import PUBLISHED, Counts, ImageEvaluator, inception_pixels, real_images
from image.metrics import ms_ssim_of_samples, swd
from image.metrics.inception import InceptionNet, fid, inception_score
from image.sampling import build_networks, generate
from seqgan_gp.metrics.counts import base_name, count_label, count_of, with_count
from seqgan_gp.text.metrics import describe
from tests.test_image_metrics import _StandIn

TINY = ["--preset", "tiny", "--device", "cpu", "--eval-samples", "16"]


@pytest.mark.parametrize("n, label", [(50_000, "50k"), (16_384, "16k"), (10_000, "10k"), (2048, "2k"), (640, "640"),
                                      (6400, "6400"), (16, "16"), (1000, "1k")])
def test_count_labels(n, label):
    assert count_label(n) == label


def test_names_carry_the_count_and_come_back_to_their_metric():
    assert [with_count(m, n) for m, n in [("fid", 50_000), ("is", 50_000), ("swd", 16_384), ("ms_ssim", 10_000),
                                          ("js4", 640), ("bleu2", 640), ("unique_samples", 640)]] == [
        "fid50k", "is50k", "swd16k", "ms_ssim10k", "js4_640", "bleu2_640", "unique_samples640"]
    for key, base, count in [("js4_640", "js4", "640"), ("swd16k_64", "swd_64", "16k"), ("swd2k_avg", "swd_avg", "2k"),
                             ("is50k_std", "is_std", "50k"), ("self_bleu5_640", "self_bleu5", "640"),
                             ("js4", "js4", None), ("swd_avg", "swd_avg", None), ("w1", "w1", None),
                             ("nll_data", "nll_data", None), ("critic_loss", "critic_loss", None)]:
        assert (base_name(key), count_of(key)) == (base, count), key
    with pytest.raises(ValueError):
        count_label(0)


def test_the_published_protocols():
    assert PUBLISHED == Counts(swd=16_384, ms_ssim=10_000, inception=50_000)
    assert [with_count(m, n) for m, n in [("swd", PUBLISHED.swd), ("ms_ssim", PUBLISHED.ms_ssim),
                                          ("is", PUBLISHED.inception), ("fid", PUBLISHED.inception)]] == [
        "swd16k", "ms_ssim10k", "is50k", "fid50k"]  # mmgeneration's and StyleGAN's names


def test_inception_pixels_are_each_reference_scripts():
    """((x + 1)·(s/2)).astype('int32'): s = 255.99 in gan_cifar_resnet.py, 255 in gan_cifar.py."""
    x = torch.tensor([-1.0, 0.0, 0.996, 1.0]).view(1, 1, 2, 2)
    assert inception_pixels(x, "cifar-resnet").flatten().tolist() == [0, 127, 255, 255]  # 1.996·127.995 = 255.48
    assert inception_pixels(x, "cifar-dcgan").flatten().tolist() == [0, 127, 254, 255]  # 1.996·127.5 = 254.49
    assert inception_pixels(x, "cifar-dcgan").dtype == torch.uint8


@pytest.fixture
def standin(tmp_path):
    path = tmp_path / "standin.pt"
    torch.jit.save(torch.jit.script(_StandIn()), str(path))
    return InceptionNet(path, torch.device("cpu"))


def test_streamed_evaluation_equals_the_metrics_of_the_whole_sets(standin):
    """Per-metric counts (SWD 40, MS-SSIM 30, IS and FID 250): each number equals its metric on the
    first images of one fixed-noise sample set, computed at once."""
    torch.manual_seed(0)
    cfg = ImageConfig(model="cifar-dcgan", dim=4, embedded_size=300)
    G, _ = build_networks(cfg, 0, torch.device("cpu"))
    source = open_source("embedded", None, embedded_size=300)
    counts = Counts(swd=40, ms_ssim=30, inception=250)
    out = ImageEvaluator(cfg, G, source, counts=counts, inception=standin, seed=3)(0)
    assert set(out) == {"swd40_32", "swd40_16", "swd40_avg", "ms_ssim30", "is250", "is250_std", "fid250"}
    fake = generate(G, 250, seed=3 + 7)  # batches of 100, as the evaluator
    real_u8 = real_images(source, 250, 32)
    real40 = 2 * (real_images(source, 40, 32).float() / 255 - 0.5)
    assert out["swd40_avg"] == pytest.approx(swd(real40, fake[:40], seed=3)["swd_avg"], rel=1e-12)
    assert out["ms_ssim30"] == pytest.approx(ms_ssim_of_samples(to_unit_range(fake[:30], False)), rel=1e-12)
    u8 = inception_pixels(fake, "cifar-dcgan")
    assert (out["is250"], out["is250_std"]) == pytest.approx(inception_score(standin.probabilities(u8)), rel=1e-12)
    assert out["fid250"] == pytest.approx(fid(standin.features(real_u8), standin.features(u8)), rel=1e-9)


def test_evaluate_defaults_to_the_published_protocols(cli_runner, tmp_path, monkeypatch):
    """Without -n: the published counts (here scaled down, the same code path) and their names."""
    run = tmp_path / "run"
    assert cli_runner.invoke(cli, ["train-image", *TINY, "--iters", "1", "--out", str(run)]).exit_code == 0
    monkeypatch.setattr(image_evaluate, "PUBLISHED", Counts(swd=48, ms_ssim=20, inception=30))
    weights = tmp_path / "standin.pt"
    torch.jit.save(torch.jit.script(_StandIn()), str(weights))
    r = cli_runner.invoke(cli, ["evaluate", str(run), "--inception-weights", str(weights)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    doc = json.loads(next((run / "eval").glob("eval_*.json")).read_text())
    assert doc["counts"] == {"swd": 48, "ms_ssim": 20, "inception": 30} and doc["samples"] == 48
    assert doc["protocol"].startswith("published")
    assert set(doc["metrics"]) == {"swd48_32", "swd48_16", "swd48_avg", "ms_ssim20", "is30", "is30_std", "fid30"}
    assert "10 pairs (2k, 2k+1) of 20 generated images" in doc["ms_ssim_protocol"]
    assert "(x+1)·255.99/2 truncated as gan_cifar_resnet.py" in doc["inception_protocol"]
    assert "generated images" in r.output  # the progress display


def test_text_evaluate_defaults_to_the_papers_640_samples(cli_runner, tmp_path):
    run = tmp_path / "run"
    assert cli_runner.invoke(cli, ["train-text", "--preset", "tiny", "--iters", "2", "--out", str(run),
                                   "--cache-dir", str(tmp_path / "c")]).exit_code == 0
    training = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"js4_64", "bleu2_64", "valid64", "nll_data"} <= set(training)  # --eval-samples 64 (tiny)
    r = cli_runner.invoke(cli, ["evaluate", str(run), "--cache-dir", str(tmp_path / "c")], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    doc = json.loads(next((run / "eval").glob("eval_*.json")).read_text())
    assert doc["samples"] == 640 and doc["protocol"].startswith("the paper's")
    names = set(doc["metrics"])
    assert {f"js{k}_640" for k in range(1, 5)} <= names and {"bleu2_640", "self_bleu5_640", "distinct1_640",
                                                             "unique_samples640", "valid640", "nll640"} <= names
    assert all(count_of(k) == "640" for k in names - {"nll_data"})
    assert "js4_640" in r.output and describe("js4_640") == (
        "JS of 4-gram distributions vs the corpus (bits, lower better), 640 samples")
    r = cli_runner.invoke(cli, ["evaluate", str(run), "-n", "6400", "--cache-dir", str(tmp_path / "c"),
                                "--out", str(tmp_path / "m.json")], catch_exceptions=False)
    assert "js4_6400" in json.loads((tmp_path / "m.json").read_text())["metrics"]
