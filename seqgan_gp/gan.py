"""What an adversarial task trains: G and D, their optimizers, the RNG and Algorithm 1's iteration.

Text, image and toy tasks build their networks and batch source; :func:`gan_trainable` adds what every
GAN shares, from the configuration: the loss's paper optimizer for both networks (Adam, or RMSProp
for weight clipping and LSGAN: TF1's unless ``--rmsprop torch``), the run's generator seeded with
``cfg.seed + 1`` (it draws z, the penalty's ε and any noise of what the critic sees of G), the
objective ``cfg.loss`` names and the critic steps per generator step, and with ``cfg.ema_decay`` > 0
the average of G's weights, ``G_ema`` (seqgan_gp.ema), updated after every generator step.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from seqgan_gp.config import GANConfig
from seqgan_gp.ema import EMA_NAME, GeneratorEMA
from seqgan_gp.loop import AdversarialIteration
from seqgan_gp.objectives import Objective, ScoreObjective, make_objective
from seqgan_gp.optimizers import LOSS_DEFAULTS, make_optimizer
from seqgan_gp.state import BatchSource, TrainState
from seqgan_gp.steps import make_step
from seqgan_gp.task import Trainable


def objective_of(cfg: GANConfig) -> ScoreObjective:
    """The objective of ``cfg.loss`` with its constants (λ, c)."""
    return make_objective(cfg.loss, lambda_gp=cfg.lambda_gp, clip=cfg.clip)


def adversarial_trainable(*, G: torch.nn.Module, D: torch.nn.Module, g_opt: torch.optim.Optimizer,
                          d_opt: torch.optim.Optimizer, batches: BatchSource, rng: torch.Generator,
                          objective: Objective, n_critic: int, gen_batch: int,
                          sample_labels: Optional[Callable] = None, ema_decay: float = 0.0,
                          fakes: Optional[torch.nn.Module] = None) -> Trainable:
    """Trainable whose iteration is Algorithm 1's: ``n_critic`` critic steps, then a generator step of
    ``gen_batch`` examples. ``sample_labels(n, rng)`` draws a conditional generator's labels;
    ``ema_decay`` > 0 keeps ``G_ema``, the average of G's weights, in the state. ``fakes`` is the
    module the steps call for the critic's fakes when it is not G itself: one that holds G and
    changes its output (a text relaxation, seqgan_gp.text.relax); G alone is checkpointed."""
    modules = {"G": G, "D": D}
    ema = GeneratorEMA(G, ema_decay) if ema_decay > 0 else None
    if ema is not None:
        modules[EMA_NAME] = ema.module
    state = TrainState(modules=modules, optimizers={"G": g_opt, "D": d_opt}, batches=batches, rng=rng)

    def iteration(runtime) -> AdversarialIteration:
        step = make_step(G=fakes if fakes is not None else G, D=D, g_opt=g_opt, d_opt=d_opt, objective=objective,
                         rng=rng, runtime=runtime, sample_labels=sample_labels)
        extra = {"after_generator": ema.update} if ema is not None else {}
        return AdversarialIteration(step, batches, n_critic=n_critic, gen_batch=gen_batch, **extra)

    return Trainable(state=state, iteration=iteration)


def gan_trainable(cfg: GANConfig, G: torch.nn.Module, D: torch.nn.Module, batches: BatchSource,
                  device: torch.device, *, objective: Optional[Objective] = None, gen_batch: Optional[int] = None,
                  sample_labels: Optional[Callable] = None,
                  view: Optional[Callable[[torch.nn.Module, torch.Generator], torch.nn.Module]] = None) -> Trainable:
    """:func:`adversarial_trainable` from a configuration (``objective`` defaults to ``cfg.loss``'s);
    ``view(G, rng)`` builds the module whose output the critic sees instead of G's (its ``fakes``),
    drawing any noise from the run's generator."""
    name = LOSS_DEFAULTS[cfg.loss].optimizer
    opt = dict(lr=cfg.lr, betas=cfg.betas, rmsprop=cfg.rmsprop)
    rng = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    return adversarial_trainable(
        G=G, D=D, g_opt=make_optimizer(name, G.parameters(), **opt),
        d_opt=make_optimizer(name, D.parameters(), **opt), batches=batches,
        rng=rng, objective=objective or objective_of(cfg),
        n_critic=cfg.critic_iters, gen_batch=gen_batch or cfg.batch_size, sample_labels=sample_labels,
        ema_decay=cfg.ema_decay, fakes=view(G, rng) if view is not None else None)
