"""The paper's Section 3 studies of the critic ("Difficulties with weight constraints", Figure 1).

Every study trains critics alone against a *fixed generator* whose samples are the real batch plus
unit Gaussian noise (gan_toy.py's FIXED_GENERATOR), either with weight clipping at several bounds c
(TF1's RMSProp as the reference's, every parameter clipped to [−c, c] after every step) or with the
gradient penalty (Adam, betas (0.5, 0.9), λ = 0.1 as the toy script). The figures are of trained critics, not of a training
run, so the learning rates are ten times the paper's training values (RMSProp 5e-4, Adam 1e-3): the
critics then settle in a few hundred steps instead of a few thousand.

* ``clipping-vs-penalty`` (Figure 1a): value surfaces D(x) over [−3, 3]², side by side: clipped
  critics learn simple, box-like functions, penalised ones follow the modes and the roll. Numbers:
  each critic's E D(x) − E D(x̃) next to the exact W₁ of the two samples (an optimal matching), its largest gradient
  norm seen, and for clipped critics the Lipschitz bound ∏ₗ c·√(fan_inₗ·fan_outₗ) that clipping
  implies (an m×n matrix with entries in [−c, c] has spectral norm at most c·√(mn)).
* ``gradient-norms`` (Figure 1b): 12-layer ReLU critics of width 512 without batch norm on the Swiss
  roll; as the paper, "the norm of the gradient of the critic loss with respect to successive layers
  of activations", ‖∂L_D/∂h_l‖, geometric mean over the second half of training. With clipping it
  decays (c = 0.01, 0.001) or grows (c = 0.1) exponentially towards the input; with the penalty all
  layers stay within an order of magnitude. (The paper also trained the generator; a fixed one
  shows the same per-layer behaviour of the critic at a fraction of the cost.)
* ``weight-histograms`` (Figure 1c): all critic weights after training; clipping piles them at ±c.
  With tflib's He initialisation most weights already lie beyond ±0.01 at the start, so the first
  clip alone puts most of them on the bounds; ``initial_share_at_*`` report that share.

Each study writes its PNGs, ``results.json`` with the numbers behind them and ``config.json`` to a
run directory.
"""

from __future__ import annotations

import json
import math
import shlex
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from rich.console import Console
from torch import nn

from seqgan_gp.atomic import atomic_write_text
from seqgan_gp.configfile import check_finite, check_seed
from seqgan_gp.errors import UserError
from seqgan_gp.objectives import WGANGP, WGANClip, critic_loss
from seqgan_gp.optimizers import RMSPROP, make_optimizer
from seqgan_gp.provenance import git_commit, versions
from seqgan_gp.rundir import RunDir, next_run_dir
from seqgan_gp.runlog import RunConsole
from seqgan_gp.runtime import cpu_threads
from seqgan_gp.toy.config import DATASETS, EXPERIMENTS
from seqgan_gp.toy.data import ToyBatches, sample_points
from seqgan_gp.toy.metrics import wasserstein1
from seqgan_gp.toy.models import ToyCritic
from seqgan_gp.toy.plots import critic_surface, draw_frame


def new_figure(**kwargs):
    """A matplotlib Figure (Agg, no pyplot), imported on first use so that the CLI starts without matplotlib."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


@dataclass(frozen=True)
class StudyConfig:
    datasets: tuple[str, ...] = ("8gaussians", "25gaussians", "swissroll")  # toy distributions studied
    clips: tuple[float, ...] = (0.1, 0.01, 0.001)  # clipping bounds c compared with the penalty
    depth: int = 3  # hidden ReLU layers of the critic (toy script: 3; Figure 1b: 12)
    dim: int = 128  # width of the hidden layers (toy script: 512)
    steps: int = 500  # critic steps ("trained to optimality")
    batch_size: int = 256  # real points per step (toy script: 256)
    lambda_gp: float = 0.1  # penalty weight (toy script: 0.1)
    lr_gp: float = 1e-3  # Adam learning rate with the penalty, betas (0.5, 0.9) (paper's training: 1e-4)
    lr_clip: float = 5e-4  # RMSProp learning rate with clipping (paper's training: 5e-5)
    rmsprop: str = "tf"  # RMSProp of clipped critics: tf (TF1's, the paper's) | torch (torch.optim.RMSprop)
    eval_points: int = 1000  # real and fixed-generator points for the reported numbers
    seed: int = 0  # seeds the critics' weights, the data and the noise

    def __post_init__(self):
        for name in ("depth", "dim", "steps", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UserError(f"--{name.replace('_', '-')} {value}: must be a whole number of at least 1")
        if self.eval_points < 2:
            raise UserError(f"--eval-points {self.eval_points}: needs at least 2 points")
        if not self.datasets:
            raise UserError("--dataset: name at least one toy dataset")
        for name in self.datasets:
            if name not in DATASETS:
                raise UserError(f"--dataset {name}: unknown toy dataset; choose one of {', '.join(DATASETS)}")
        if not self.clips or any(not c > 0 for c in self.clips):
            raise UserError(f"--clip {', '.join(map(str, self.clips)) or '(none)'}: give one or more positive bounds")
        if self.rmsprop not in RMSPROP:
            raise UserError(f"--rmsprop {self.rmsprop}: choose tf (TensorFlow 1's, the paper's) or torch")
        for name in ("lambda_gp", "lr_gp", "lr_clip"):
            if not getattr(self, name) > 0:
                raise UserError(f"--{name.replace('_', '-')} {getattr(self, name)}: must be positive")
            check_finite(getattr(self, name), f"--{name.replace('_', '-')}")
        for c in self.clips:
            check_finite(c, "--clip")
        check_seed(self.seed)


DEFAULTS: dict[str, StudyConfig] = {
    "clipping-vs-penalty": StudyConfig(),
    # 120 steps: TF's RMSProp starts its mean square at 1, so the deep layers' tiny gradients move
    # their weights only once it has decayed towards g² (PyTorch's RMSProp shows the same in 30)
    "gradient-norms": StudyConfig(datasets=("swissroll",), depth=12, dim=512, batch_size=64, steps=120),
    "weight-histograms": StudyConfig(datasets=("swissroll",), clips=(0.01,)),
}


def study_config(name: str, **overrides) -> StudyConfig:
    if name not in DEFAULTS:
        raise UserError(f"experiment {name!r}: unknown; choose one of {', '.join(EXPERIMENTS)}")
    given = {k: v for k, v in overrides.items() if v is not None and v != ()}
    return replace(DEFAULTS[name], **given)


def method_name(clip: Optional[float]) -> str:
    return "gradient penalty" if clip is None else f"weight clipping c={clip:g}"


def train_critic(cfg: StudyConfig, dataset: str, clip: Optional[float], device: torch.device,
                 *, record_layer_grads: bool = False):
    """Train a fresh critic against the fixed generator x̃ = x + N(0, I) for ``cfg.steps`` steps.

    ``clip`` None trains with the penalty, else with clipping at ±clip. Returns the critic and,
    with ``record_layer_grads``, the (steps, depth) array of ‖∂L_D/∂h_l‖, the norm of the critic
    loss's gradient with respect to the activations h_l of hidden layer l (input side first) over
    the step's whole batch, as the paper's Figure 1b.
    """
    torch.manual_seed(cfg.seed)
    D = ToyCritic(cfg.dim, hidden_layers=cfg.depth).to(device)
    if clip is None:
        loss, opt = WGANGP(lambda_gp=cfg.lambda_gp), make_optimizer("adam", D.parameters(), lr=cfg.lr_gp)
    else:
        loss, opt = WGANClip(clip=clip), make_optimizer("rmsprop", D.parameters(), lr=cfg.lr_clip,
                                                        rmsprop=cfg.rmsprop)
    batches = ToyBatches(dataset, cfg.batch_size, cfg.seed, device)
    rng = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    relus = [m for m in D.net if isinstance(m, nn.ReLU)]
    acts: dict[int, list[torch.Tensor]] = {i: [] for i in range(len(relus))}

    def keeper(i: int):
        def keep(module, inputs, output):
            output.retain_grad()  # its .grad is ∂L_D/∂h_l after backward, at no extra cost
            acts[i].append(output)
        return keep

    hooks = [m.register_forward_hook(keeper(i)) for i, m in enumerate(relus)] if record_layer_grads else []
    norms = []
    try:
        for _ in range(cfg.steps):
            real = batches.next()
            fake = real + torch.randn(real.shape, generator=rng, device=device)  # the fixed "generator"
            d_loss, _ = critic_loss(loss, D, real, fake, rng=rng)
            opt.zero_grad(set_to_none=True)
            d_loss.backward()
            if record_layer_grads:  # the loss may run the critic more than once: all passes count
                norms.append(torch.stack([torch.stack([h.grad.norm() for h in acts[i] if h.grad is not None]).norm()
                                          for i in range(len(relus))]))
                for kept in acts.values():
                    kept.clear()
            opt.step()
            loss.after_critic_step(D)
    finally:
        for hook in hooks:
            hook.remove()
    grads = torch.stack(norms).double().cpu().numpy() if norms else None
    return D, grads


def _eval_points(cfg: StudyConfig, dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """Held-out real points and their fixed-generator counterparts (float32, (n, 2) each)."""
    rng = np.random.default_rng((cfg.seed, 777))
    real = sample_points(dataset, cfg.eval_points, rng)
    fake = real + rng.standard_normal(real.shape).astype(np.float32)
    return real, fake


def _input_grad_norms(D, x: torch.Tensor) -> np.ndarray:
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x)
    return grad.norm(dim=1).detach().cpu().numpy()


def critic_numbers(D, real: np.ndarray, fake: np.ndarray, device) -> dict:
    """The critic's side of the dual W₁ = sup_{‖f‖_L ≤ 1} E f(x) − E f(x̃): ``estimate`` = E D(x) − E D(x̃),
    the median gradient norm at the real points, and ``lipschitz``, the largest ‖∇D‖ seen on the
    128×128 grid of [−3, 3]² and at the points (a lower bound of D's Lipschitz constant)."""
    r = torch.from_numpy(real).to(device)
    f = torch.from_numpy(fake).to(device)
    axis = torch.linspace(-3.0, 3.0, 128, device=device)
    grid = torch.cartesian_prod(axis, axis)
    at_real = _input_grad_norms(D, r)
    lipschitz = float(max(at_real.max(), _input_grad_norms(D, f).max(), _input_grad_norms(D, grid).max()))
    with torch.no_grad():
        estimate = float(D(r).mean() - D(f).mean())
    return {"estimate": estimate, "grad_norm_median_at_real": float(np.median(at_real)), "lipschitz": lipschitz}


# -- the three studies ----------------------------------------------------------------------------

def clipping_vs_penalty(cfg: StudyConfig, out: Path, device, console: Console) -> dict:
    methods = [*cfg.clips, None]
    results: dict = {"datasets": {}}
    fig = new_figure(figsize=(3.0 * len(cfg.datasets), 3.0 * len(methods)), dpi=100, layout="constrained")
    axes = fig.subplots(len(methods), len(cfg.datasets), squeeze=False)
    for j, dataset in enumerate(cfg.datasets):
        real, fake = _eval_points(cfg, dataset)
        w1 = wasserstein1(real, fake)
        per = results["datasets"][dataset] = {"w1_exact": w1, "methods": {}}
        for i, clip in enumerate(methods):
            D, _ = train_critic(cfg, dataset, clip, device)
            nums = critic_numbers(D, real, fake, device)
            if clip is not None:
                nums["lipschitz_bound"] = math.prod(clip * math.sqrt(l.in_features * l.out_features)
                                                    for l in D.linear_layers())
            axis, values = critic_surface(D, device=device)
            nums["surface_range"] = float(values.max() - values.min())
            per["methods"][method_name(clip)] = nums
            draw_frame(axes[i][j], axis, values, real[:256], None,
                       f"{dataset}\n{method_name(clip)}")
            console.print(f"  {dataset:12s} {method_name(clip):26s} E D(x) − E D(x̃) {nums['estimate']:+.4g} "
                          f"(exact W1 {w1:.4f}), max ‖∇D‖ {nums['lipschitz']:.4g}")
    fig.suptitle("Critic value surfaces, generator fixed at real data + N(0, I) (paper Figure 1a)")
    fig.savefig(out / "value_surfaces.png")
    results["figures"] = ["value_surfaces.png"]
    return results


FLOAT32_TINY = 1.4e-45  # the smallest float32 subnormal: a norm that underflowed to 0 is drawn here


def gradient_norms(cfg: StudyConfig, out: Path, device, console: Console) -> dict:
    dataset = cfg.datasets[0]
    results: dict = {"dataset": dataset, "hidden_layers": cfg.depth, "steps_averaged": cfg.steps - cfg.steps // 2,
                     "methods": {}}
    fig = new_figure(figsize=(6.4, 4.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for clip in [*cfg.clips, None]:
        _, grads = train_critic(cfg, dataset, clip, device, record_layer_grads=True)
        late = grads[cfg.steps // 2 :]  # the second half of training, once clipping has shaped the weights
        log10 = np.log10(np.maximum(late, FLOAT32_TINY)).mean(axis=0)  # geometric mean over the steps
        spread = float(log10.max() - log10.min())
        results["methods"][method_name(clip)] = {
            "clip": clip, "log10_grad_norm_per_layer": log10.tolist(),
            "grad_norm_per_layer": (10.0 ** log10).tolist(),
            "underflow_share_per_layer": (late == 0).mean(axis=0).tolist(),
            "log10_spread": spread, "log10_input_minus_output": float(log10[0] - log10[-1])}
        layers = np.arange(1, len(log10) + 1)
        line, = ax.plot(layers, log10, marker="o", label=method_name(clip))
        gone = (late == 0).mean(axis=0) > 0.5  # flushed to zero in float32 on most steps
        if gone.any():
            ax.plot(layers[gone], log10[gone], "x", color=line.get_color(), markersize=12,
                    label=f"{method_name(clip)}: underflow to 0 (drawn at float32's smallest)")
        console.print(f"  {method_name(clip):26s} log10 ‖∂L/∂h‖ layer 1 {log10[0]:+7.2f}, layer {len(log10)} "
                      f"{log10[-1]:+7.2f}, spread {spread:6.2f} decades")
    ax.set_xlabel("critic hidden layer (1 = input side)")
    ax.set_ylabel("log10 ‖∂L_D / ∂h_l‖")
    ax.set_title(f"{cfg.depth}-layer ReLU critics on {dataset} (paper Figure 1b)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(out / "gradient_norms.png")
    results["figures"] = ["gradient_norms.png"]
    return results


def weight_histograms(cfg: StudyConfig, out: Path, device, console: Console) -> dict:
    dataset = cfg.datasets[0]
    methods = [*cfg.clips, None]
    results: dict = {"dataset": dataset, "methods": {}}
    fig = new_figure(figsize=(6.4, 2.4 * len(methods)), dpi=100, layout="constrained")
    axes = fig.subplots(len(methods), 1, squeeze=False)
    for ax, clip in zip(axes[:, 0], methods):
        D, _ = train_critic(cfg, dataset, clip, device)
        w = torch.cat([layer.weight.detach().flatten() for layer in D.linear_layers()]).double().cpu().numpy()
        bound = clip if clip is not None else float(np.abs(w).max())
        at_bounds = float((np.abs(w) >= 0.99 * bound).mean())  # within 1% of ±c (or of the largest |w|)
        counts, edges = np.histogram(w, bins=50)
        results["methods"][method_name(clip)] = {
            "clip": clip, "weights": int(w.size), "std": float(w.std()), "max_abs": float(np.abs(w).max()),
            "share_at_bounds": at_bounds, "share_at_plus_bound": float((w >= 0.99 * bound).mean()),
            "share_at_minus_bound": float((w <= -0.99 * bound).mean()),
            "histogram": {"counts": counts.tolist(), "edges": edges.tolist()}}
        if clip is not None:  # how much of the pile-up the first clip of the initial weights explains
            torch.manual_seed(cfg.seed)
            w0 = torch.cat([l.weight.detach().flatten() for l in ToyCritic(cfg.dim, hidden_layers=cfg.depth).linear_layers()])
            w0 = w0.clamp(-clip, clip).double().numpy()
            results["methods"][method_name(clip)].update(
                initial_share_at_plus_bound=float((w0 >= 0.99 * clip).mean()),
                initial_share_at_minus_bound=float((w0 <= -0.99 * clip).mean()))
        ax.hist(w, bins=50, color="tab:blue" if clip is not None else "tab:orange")
        ax.set_title(f"{method_name(clip)}: {100 * at_bounds:.1f}% of weights within 1% of ±{bound:.3g}", fontsize=9)
        ax.set_xlabel("weight value")
        console.print(f"  {method_name(clip):26s} {100 * at_bounds:5.1f}% of {w.size} weights at ±{bound:.3g}, "
                      f"std {w.std():.4f}")
    fig.suptitle(f"Critic weights after {cfg.steps} steps on {dataset} (paper Figure 1c)")
    fig.savefig(out / "weight_histograms.png")
    results["figures"] = ["weight_histograms.png"]
    return results


STUDIES = {"clipping-vs-penalty": clipping_vs_penalty, "gradient-norms": gradient_norms,
           "weight-histograms": weight_histograms}


def run_experiment(name: str, cfg: StudyConfig, *, device: torch.device, console: Console,
                   out: Optional[Path] = None, overwrite: bool = False,
                   command: Optional[list[str]] = None) -> tuple[Path, dict]:
    """Run the study ``name`` into a run directory; returns its path and the numbers it wrote."""
    run = RunDir.create(out or next_run_dir(Path("runs"), f"experiment-{name}"), overwrite=overwrite)
    try:
        for empty in (run.samples, run.checkpoints):  # a study has no samples or checkpoints
            empty.rmdir()
        run.write_config({"kind": "experiment", "experiment": name, "config": asdict(cfg), "device": str(device),
                          "versions": versions(), "git_commit": git_commit(), "command": command})
        if isinstance(console, RunConsole):  # what the study prints, and the command's summary, in log.txt
            console.log_to(run.path / "log.txt", note=shlex.join(command) if command else "")
            console.commit_log()
        console.print(f"[bold]experiment {name}[/]: {cfg.steps} critic steps per critic, width {cfg.dim}, "
                      f"{cfg.depth} hidden layers, run {run.path}")
        with cpu_threads(device, 1):
            results = STUDIES[name](cfg, run.path, device, console)
        results = {"experiment": name, **results}
        atomic_write_text(run.path / "results.json", json.dumps(_finite(results), indent=2) + "\n")
        return run.path, results
    finally:
        run.unlock()


def _finite(obj):
    """JSON has no inf/nan: write them as strings so the file stays standard JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
