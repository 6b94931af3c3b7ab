"""train-image, sample and evaluate end to end on tiny settings; bit-exact resume; conditional rows;
Fashion-MNIST through the real IDX layout; user errors (exit code 2, one red line)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from rich.console import Console

from cli import cli
from image.config import paper_config
from image.grid import grid_rows, make_grid, to_uint8, upscale
from image.sampling import load_image_generator
from image.task import ImageTask
from seqgan_gp.runner import run_task
from seqgan_gp.checkpoint import load_checkpoint
from seqgan_gp.signals import StopFlag
from tests.test_image_data import write_cifar, write_idx


def invoke(runner, *args):
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


TINY = ["--preset", "tiny", "--device", "cpu", "--eval-samples", 16]


def test_train_image_sample_and_evaluate_end_to_end(cli_runner, tmp_path):
    out = tmp_path / "run"
    r = invoke(cli_runner, "train-image", *TINY, "--out", out)
    assert r.exit_code == 0, r.output
    assert "done: iteration 4" in r.output and "swd16_avg (SWD x1e3" in r.output
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "image" and config["config"]["model"] == "cifar-resnet" and config["config"]["dim"] == 8
    assert config["data"]["name"] == "embedded" and config["data"]["classes"] == 10
    records = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records] == [0, 2, 4]
    assert {"swd16_32", "swd16_16", "swd16_avg", "ms_ssim16"} <= set(records[0])  # --eval-samples 16
    assert {"critic_loss", "wasserstein", "penalty", "gen_loss", "lr"} <= set(records[1])
    assert records[1]["lr"] == pytest.approx(2e-4 * (1 - 1 / 4))  # linear decay, set at iteration 2
    grids = sorted((out / "samples").iterdir())
    assert [g.name for g in grids] == ["samples_00000000.png", "samples_00000002.png", "samples_00000004.png"]
    with Image.open(grids[-1]) as im:
        assert im.size == (512, 512) and im.mode == "RGB"  # 16 samples: a 4 x 4 grid of 32 px, enlarged 4x

    r = invoke(cli_runner, "sample", out, "-n", 6, "--seed", 1, "--out", tmp_path / "s.png")
    assert r.exit_code == 0 and "wrote" in r.output
    with Image.open(tmp_path / "s.png") as im:
        assert im.size == (6 * 3 * 32, 6 * 2 * 32)  # 6 → 2 rows of 3, 96 px wide: enlarged 6x
    r = invoke(cli_runner, "evaluate", out, "-n", 16)
    assert r.exit_code == 0, r.output
    doc = json.loads((out / "eval" / "eval_00000004.json").read_text())
    assert doc["kind"] == "image" and doc["samples"] == 16 and doc["metrics"]["swd16_avg"] > 0
    assert doc["counts"] == {"swd": 16, "ms_ssim": 16, "inception": 16} and doc["protocol"] == "-n 16"
    assert 0 <= doc["metrics"]["ms_ssim16"] <= 1 and "16 generated vs 16 real" in doc["swd_protocol"]
    assert "swd16_avg" in r.output and "MS-SSIM" in r.output


def test_conditional_sampling_draws_the_requested_classes_rows(cli_runner, tmp_path):
    out = tmp_path / "cond"
    r = invoke(cli_runner, "train-image", *TINY, "--conditional", "--iters", 2, "--eval-every", 0, "--out", out)
    assert r.exit_code == 0, r.output
    r = invoke(cli_runner, "sample", out, "-n", 3, "--classes", "2,5", "--seed", 4, "--out", tmp_path / "rows.png")
    assert r.exit_code == 0 and "2 class rows" in r.output
    grid = np.asarray(Image.open(tmp_path / "rows.png"))
    assert grid.shape == (6 * 2 * 32, 6 * 3 * 32, 3)  # enlarged 6x to reach 512 px
    G, cfg, _ = load_image_generator(out, torch.device("cpu"))
    z = torch.randn(6, 128, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        want = G(z, labels=torch.tensor([2, 2, 2, 5, 5, 5]))
        other = G(z, labels=torch.tensor([7, 7, 7, 1, 1, 1]))
    expected = upscale(make_grid(to_uint8((want + 1) / 2), rows=2))
    assert np.array_equal(grid, expected)  # row k is class k's images, left to right
    assert not np.array_equal(grid, upscale(make_grid(to_uint8((other + 1) / 2), rows=2)))
    r = invoke(cli_runner, "sample", out, "--classes", "12")
    assert r.exit_code == 2


def test_an_interrupted_run_resumes_bit_exactly_on_cpu(tmp_path, monkeypatch):
    con = Console(quiet=True)
    base = paper_config("cifar-resnet", "tiny")  # dequantised pixels, lr decaying over --iters
    common = dict(conditional=True, eval_every=0, sample_every=0, iters=4, checkpoint_every=0, keep_checkpoints=0)
    dev = torch.device("cpu")
    run_task(ImageTask(), base=base, overrides=common, device=dev, console=con, out=tmp_path / "a", show_progress=False)
    calls = []  # a SIGINT after the second generator iteration: the run checkpoints and stops
    monkeypatch.setattr(StopFlag, "__call__", lambda self: calls.append(1) or len(calls) >= 2)
    stopped = run_task(ImageTask(), base=base, overrides=common, device=dev, console=con, out=tmp_path / "b",
                       show_progress=False)
    monkeypatch.undo()
    assert stopped.result.iteration == 2 and stopped.result.last_checkpoint.name == "checkpoint_00000002.safetensors"
    run_task(ImageTask(), base=base, overrides={}, device=dev, console=con, resume=tmp_path / "b", show_progress=False)
    ta, ma = load_checkpoint(tmp_path / "a" / "checkpoints" / "checkpoint_00000004.safetensors")
    tb, mb = load_checkpoint(tmp_path / "b" / "checkpoints" / "checkpoint_00000004.safetensors")
    assert ta.keys() == tb.keys() and len(ta) > 40
    assert all(torch.equal(ta[k], tb[k]) for k in ta)  # weights, Adam moments, RNG state
    assert ma["batches"] == mb["batches"] and ma["optim"] == mb["optim"]
    drop = ("sec_per_iter", "it_per_s")
    la = [{k: v for k, v in json.loads(l).items() if k not in drop} for l in (tmp_path / "a" / "metrics.jsonl").open()]
    lb = [{k: v for k, v in json.loads(l).items() if k not in drop} for l in (tmp_path / "b" / "metrics.jsonl").open()]
    assert la == lb and [r["iteration"] for r in la] == [0, 2, 4]


def test_fashion_mnist_idx_files_with_the_mnist_and_cifar_models(cli_runner, tmp_path):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "fm", rng.integers(0, 256, (40, 28, 28), dtype=np.uint8), rng.integers(0, 10, 40).astype(np.uint8))
    r = invoke(cli_runner, "train-image", *TINY, "--dataset", "fashion-mnist", "--data-dir", tmp_path / "fm",
               "--model", "mnist", "--iters", 2, "--out", tmp_path / "m")
    assert r.exit_code == 0, r.output
    with Image.open(tmp_path / "m" / "samples" / "samples_00000002.png") as im:
        assert im.mode == "L" and im.size == (5 * 4 * 28, 5 * 4 * 28)  # a 4x4 grid of 28 px, enlarged 5x to >= 512 px
    assert "swd16_28" in (tmp_path / "m" / "metrics.jsonl").read_text()
    r = invoke(cli_runner, "train-image", *TINY, "--dataset", "fashion-mnist", "--data-dir", tmp_path / "fm",
               "--model", "cifar-dcgan", "--iters", 1, "--eval-every", 0, "--out", tmp_path / "c")
    assert r.exit_code == 0, r.output
    G, cfg, _ = load_image_generator(tmp_path / "c", torch.device("cpu"))
    assert cfg.channels == 1 and G(torch.randn(2, 128)).shape == (2, 1, 32, 32)


def test_loss_flag_and_inception_metrics_during_training(cli_runner, tmp_path):
    from tests.test_image_metrics import _StandIn

    weights = tmp_path / "standin.pt"
    torch.jit.save(torch.jit.script(_StandIn()), str(weights))
    r = invoke(cli_runner, "train-image", *TINY, "--loss", "wgan", "--iters", 1, "--critic-iters", 2,
               "--inception-weights", weights, "--out", tmp_path / "w")
    assert r.exit_code == 0, r.output
    cfg = json.loads((tmp_path / "w" / "config.json").read_text())["config"]
    assert cfg["loss"] == "wgan" and cfg["lr"] == 5e-5  # the loss's paper optimizer settings
    tensors, _ = load_checkpoint(tmp_path / "w" / "checkpoints" / "checkpoint_00000001.safetensors")
    critic = [v for k, v in tensors.items() if k.startswith("D.")]
    assert max(v.abs().max().item() for v in critic) <= 0.01 + 1e-9  # clipped after every critic step
    records = [json.loads(l) for l in (tmp_path / "w" / "metrics.jsonl").read_text().splitlines()]
    assert {"is16", "is16_std", "fid16", "swd16_avg", "ms_ssim16"} <= set(records[-1]) and records[-1]["is16"] >= 1.0


@pytest.mark.parametrize("args, message", [
    (["--dataset", "cifar10", "--data-dir", "{tmp}"], "cifar-10-batches-py/data_batch_1"),
    (["--dataset", "cifar10", "--data-dir", "{tmp}/evil"], "refusing to unpickle posix.system"),
    (["--dataset", "lsun"], "--dataset lsun needs --data-dir"),
    (["--dataset", "fashion-mnist", "--data-dir", "{tmp}/nowhere"], "train-images-idx3-ubyte.gz"),
    (["--dataset", "lsun", "--data-dir", "{tmp}", "--conditional"], "has no class labels"),
    (["--model", "resnet64", "--conditional"], "resnet64 has no conditional variant"),
    (["--dim", "0"], "--dim 0"),
    (["--resume", "{tmp}/nothing"], "no config.json"),
])
def test_user_errors_exit_2_with_one_line(cli_runner, tmp_path, args, message):
    class Evil:
        def __reduce__(self):
            import os
            return (os.system, ("true",))

    folder, _ = write_cifar(tmp_path / "evil")
    import pickle
    (folder / "data_batch_2").write_bytes(pickle.dumps({b"data": Evil()}, protocol=2))
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    r = cli_runner.invoke(cli, ["train-image", "--preset", "tiny", *args])
    assert r.exit_code == 2, r.output
    assert message in r.output.replace("\n", " ")


def test_resume_refuses_changed_hyperparameters(cli_runner, tmp_path):
    r = invoke(cli_runner, "train-image", *TINY, "--iters", 1, "--eval-every", 0, "--out", tmp_path / "r")
    assert r.exit_code == 0
    r = cli_runner.invoke(cli, ["train-image", "--resume", str(tmp_path / "r"), "--dim", "16"])
    assert r.exit_code == 2 and "--dim differ" in r.output


def test_grid_layout_is_the_reference_codes():
    assert [grid_rows(n) for n in (64, 100, 128, 16, 7, 50)] == [8, 10, 8, 4, 1, 5]
    imgs = np.arange(6)[:, None, None, None] * np.ones((6, 1, 2, 2), np.uint8)  # image k filled with k
    g = make_grid(imgs.astype(np.uint8))
    assert g.shape == (4, 6)  # 2 rows x 3 columns of 2x2 images
    assert g[0, ::2].tolist() == [0, 1, 2] and g[2, ::2].tolist() == [3, 4, 5]
    assert to_uint8(torch.tensor([0.0, 0.5, 1.0]).view(1, 1, 1, 3)).ravel().tolist() == [0, 127, 255]


def test_small_grids_are_enlarged_by_repeating_pixels():
    g = np.array([[1, 2], [3, 4]], np.uint8)
    assert upscale(g, min_width=5).tolist() == [[1, 1, 1, 2, 2, 2]] * 3 + [[3, 3, 3, 4, 4, 4]] * 3  # ⌈5/2⌉ = 3
    assert upscale(g, min_width=2) is g  # wide enough: untouched
    rgb = np.zeros((32, 320, 3), np.uint8)  # 10 CIFAR images a row: 320 px
    assert upscale(rgb).shape == (64, 640, 3)


def adversarial_iteration(cfg):
    """The iteration a run of ``cfg`` trains with: its critic steps and generator batch."""
    from image.data import open_source
    from seqgan_gp.distributed import SINGLE
    from seqgan_gp.runtime import RuntimeOptions, resolve_runtime

    cpu = torch.device("cpu")
    trainable = ImageTask().build(cfg, open_source("embedded", None, embedded_size=cfg.batch_size), cpu, SINGLE)
    try:
        return trainable.iteration(resolve_runtime(RuntimeOptions(), cpu))
    finally:
        trainable.close()


def test_each_models_paper_settings():
    res = paper_config("cifar-resnet")
    it = adversarial_iteration(res)
    assert (res.dim, res.lr, res.betas, res.lr_decay, res.dequantize, res.iters) == (128, 2e-4, (0.0, 0.9), True, True, 100_000)
    assert (res.batch_size, it.gen_batch, it.n_critic, res.lr_decay) == (64, 128, 5, True)
    assert (res.acgan_scale, res.acgan_scale_g, res.sample_grid) == (1.0, 0.1, 100)
    dc = paper_config("cifar-dcgan")
    assert (dc.dim, dc.lr, dc.betas, dc.lr_decay, dc.dequantize, dc.sample_grid) == (128, 1e-4, (0.5, 0.9), False, False, 128)
    assert adversarial_iteration(dc).gen_batch == 64
    for m in ("resnet64", "dcgan64", "resnet101", "resnet128"):
        c = paper_config(m)
        assert (c.dim, c.lr, c.betas, c.critic_iters, c.sample_grid, c.iters) == (64, 1e-4, (0.0, 0.9), 5, 64, 200_000)
    mn = paper_config("mnist")
    assert (mn.dim, mn.batch_size, mn.betas, mn.unit_range, mn.resolution) == (64, 50, (0.5, 0.9), True, 28)
    assert paper_config("wgangp128-gn").betas == (0.5, 0.9) and paper_config("wgangp128-gn").resolution == 128
    assert paper_config("cifar-resnet", "demo").gen_batch_multiple == 2  # presets shrink sizes, keep the recipe
