"""--critic-norm: the reference's critic per model and loss through the command line, its record in
config.json, checkpoints from before the option, and batch norm's separate real and fake passes in a
real training step."""

import json

import pytest
import torch

from cli import cli
from image.config import ImageConfig, paper_config
from image.models.dcgan import CifarDCGANCritic, CifarDCGANGenerator
from image.sampling import build_networks
from seqgan_gp.config import with_overrides
from seqgan_gp.configfile import config_from_dict
from seqgan_gp.errors import UserError
from seqgan_gp.objectives import has_batch_statistics

TINY = ["--preset", "tiny", "--device", "cpu", "--eval-samples", "16"]


def batch_norms(module):
    return [m for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d)]


@pytest.mark.parametrize("model, loss, norm", [
    ("cifar-dcgan", "wgan-gp", "none"), ("cifar-dcgan", "dcgan", "batch"), ("cifar-dcgan", "wgan", "batch"),
    ("dcgan64", "wgan-gp", "layer"), ("dcgan64", "lsgan", "batch"), ("mnist", "dcgan", "none"),
    ("mnist", "wgan", "batch"), ("cifar-resnet", "dcgan", "none"),
])
def test_the_default_is_the_references_norm_for_the_model_and_loss(model, loss, norm):
    assert with_overrides(paper_config(model), loss=loss).critic_norm == norm
    assert ImageConfig(model=model, loss=loss).critic_norm == norm
    assert with_overrides(paper_config(model), loss=loss, critic_norm="layer").critic_norm == "layer"  # the flag wins


def test_changing_the_loss_or_model_of_a_preset_re_resolves_the_norm():
    base = paper_config("cifar-dcgan")
    assert base.critic_norm == "none"
    assert with_overrides(base, loss="lsgan").critic_norm == "batch"
    assert with_overrides(base, model="dcgan64").critic_norm == "layer"
    assert with_overrides(base, iters=10).critic_norm == "none"
    with pytest.raises(UserError, match="--critic-norm group: unknown normalisation; choose one of none, batch, layer"):
        ImageConfig(critic_norm="group")


def test_configs_from_before_critic_norm_build_the_critic_they_trained():
    """Older runs had the WGAN-GP critic of their model whatever the loss (and PyTorch's RMSProp)."""
    doc = {k: v for k, v in ImageConfig(model="dcgan64", loss="lsgan").__dict__.items()
           if k not in ("critic_norm", "rmsprop")}
    old = config_from_dict(ImageConfig, doc, "config.json")
    assert (old.critic_norm, old.rmsprop) == ("layer", "torch")
    mnist = config_from_dict(ImageConfig, {"model": "mnist", "loss": "wgan"}, "config.json")
    assert mnist.critic_norm == "none"
    G, D = build_networks(mnist, 0, torch.device("cpu"))
    assert batch_norms(D) == [] and len(batch_norms(G)) == 2  # the generator's BN with --loss wgan, as before


def test_a_dcgan_mode_critic_has_batch_norm_and_scores_real_and_fake_in_separate_calls(cli_runner, tmp_path,
                                                                                         monkeypatch):
    """A real training step (train-image, --loss dcgan): every critic call holds one batch, and each
    call on a real batch is followed by one on the generator's fakes."""
    fakes, calls = [], []
    critic_forward, generator_forward = CifarDCGANCritic.forward, CifarDCGANGenerator.forward

    def critic_spy(self, x):
        if x.device.type != "meta":  # the memory estimate's pass on shapes alone
            calls.append(x.detach().clone())
        return critic_forward(self, x)

    def generator_spy(self, z, labels=None):
        out = generator_forward(self, z, labels)
        fakes.append(out.detach().clone())
        return out

    monkeypatch.setattr(CifarDCGANCritic, "forward", critic_spy)
    monkeypatch.setattr(CifarDCGANGenerator, "forward", generator_spy)
    out = tmp_path / "run"
    r = cli_runner.invoke(cli, ["train-image", *TINY, "--model", "cifar-dcgan", "--loss", "dcgan", "--iters", "3",
                                "--eval-every", "0", "--out", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    cfg = json.loads((out / "config.json").read_text())["config"]
    assert (cfg["critic_norm"], cfg["critic_iters"], cfg["batch_size"]) == ("batch", 1, 8)
    D = build_networks(config_from_dict(ImageConfig, cfg, "config.json"), 10, torch.device("cpu"))[1]
    assert [m.num_features for m in batch_norms(D)] == [16, 32]  # after the 2nd and 3rd conv (dim 8)
    assert len(calls) >= 6 and all(c.shape[0] == 8 for c in calls)  # never cat(real, fake): 16 rows
    is_fake = [any(f.shape == c.shape and torch.equal(f, c) for f in fakes) for c in calls]
    real = [i for i, f in enumerate(is_fake) if not f]
    assert len(real) >= 3  # one critic step per iteration (dcgan: n_critic 1)
    assert all(i + 1 < len(calls) and is_fake[i + 1] for i in real)  # real, then its fakes in their own call


def test_batch_norm_without_running_statistics_counts_in_eval_mode_too():
    _, D = build_networks(ImageConfig(model="cifar-dcgan", loss="dcgan", dim=4), 0, torch.device("cpu"))
    assert has_batch_statistics(D.eval()) and has_batch_statistics(D.train())
    assert not has_batch_statistics(build_networks(ImageConfig(model="cifar-dcgan", dim=4), 0, torch.device("cpu"))[1])


def test_compile_refuses_a_batch_norm_critic_before_the_run_directory_exists(cli_runner, tmp_path):
    r = cli_runner.invoke(cli, ["train-image", *TINY, "--model", "cifar-dcgan", "--loss", "dcgan", "--compile",
                                "--out", str(tmp_path / "run")])
    assert r.exit_code == 2 and not (tmp_path / "run").exists()
    assert "--compile: the critic of cifar-dcgan with --loss dcgan has batch norm" in r.output
    assert "pass --critic-norm layer or none" in r.output
