"""One adversarial critic step and one generator step, as fast as the hardware allows (issue 7).

The loop (:mod:`seqgan_gp.loop`) calls ``step.critic(real, labels)`` n_critic times, then
``step.generator(n)``. Three implementations compute the same numbers:

:class:`AdversarialStep` (the default, eager PyTorch)
    * the critic's fakes are generated under ``no_grad``; the real batch arrives one-hot on the
      device (:class:`seqgan_gp.batches.TokenBatches`);
    * two critic passes per step, over cat(real, fake) and over x̂ (three for a critic with batch
      norm: seqgan_gp.objectives), with the penalty's input gradient from
      ``autograd.grad(create_graph=True)`` (:mod:`seqgan_gp.penalty`), then one ``backward`` of the
      total loss; the PyTorch port of the paper runs three passes and three backwards;
    * gradients set to None instead of zeroed; fused Adam (one kernel for all parameters);
    * in the generator step the critic's parameters are frozen, so its backward computes input
      gradients only;
    * statistics stay on the device: the loop reads them once per ``--log-every`` iterations;
    * noise (z, ε) is drawn for the global batch and sliced per rank (:mod:`seqgan_gp.distributed`),
      and gradients are averaged over ranks after each backward.

:class:`CompiledStep` (``--compile``)
    ``torch.compile`` cannot differentiate through ``autograd.grad(create_graph=True)`` ("does not
    currently support double backward"), so the critic's parameter gradient is written
    functionally: ``torch.func.grad`` of the critic objective, whose penalty takes its input
    gradient with ``torch.func.grad`` too, compiled into one graph (forward, input gradient and
    double backward). The generator and critic modules are compiled for the fakes and the generator
    step. Random numbers are drawn outside the compiled code, so a compiled run draws exactly the
    eager run's noise.

:class:`GraphedStep` (``--cuda-graphs``, CUDA only)
    The critic's forward passes and backward are captured once into a CUDA graph and replayed
    every step with fresh inputs copied into its static buffers (after three eager warm-up
    steps, as PyTorch's whole-network capture recipe asks). The optimizer step, the gradient
    all-reduce and weight clipping run outside the graph, so learning-rate schedules still apply.

Precision (``--amp``, TF32) is resolved once by :mod:`seqgan_gp.precision`; forward passes run
under its autocast, the penalty's norm, the losses and the optimizers stay float32.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from seqgan_gp.errors import UserError
from seqgan_gp.objectives import Objective, has_batch_statistics
from seqgan_gp.penalty import func_input_grad
from seqgan_gp.precision import autocast
from seqgan_gp.runtime import Runtime


class AdversarialStep:
    """The eager critic and generator steps (see the module docstring).

    ``G(z)`` (or ``G(z, labels=labels)``) maps noise of ``G.z_dim`` to fakes; ``objective`` is any
    :class:`seqgan_gp.objectives.Objective`; ``rng`` drives z and the objective's noise;
    ``sample_labels(n, rng)`` draws the generator step's labels of a conditional model.
    """

    def __init__(self, *, G: torch.nn.Module, D: torch.nn.Module, g_opt: torch.optim.Optimizer,
                 d_opt: torch.optim.Optimizer, objective: Objective, rng: torch.Generator, runtime: Runtime,
                 sample_labels: Optional[Callable] = None):
        self.G, self.D, self.g_opt, self.d_opt = G, D, g_opt, d_opt
        self.objective, self.z_dim, self.rng, self.runtime = objective, G.z_dim, rng, runtime
        self.sample_labels = sample_labels
        self.device = next(G.parameters()).device
        self.dist = runtime.dist
        self.dist.broadcast_module(G)  # data-parallel ranks start from rank 0's weights
        self.dist.broadcast_module(D)

    # -- noise of this rank's slice of the global batch -----------------------------------------
    def _z(self, n: int) -> torch.Tensor:
        full = torch.randn(n * self.dist.world, self.z_dim, device=self.device, generator=self.rng)
        return self.dist.shard(full)

    def _critic_noise(self, n: int):
        full = self.objective.critic_noise(n * self.dist.world, rng=self.rng, device=self.device)
        return None if full is None else self.dist.shard(full)

    def _autocast(self, cache_enabled: bool = True):
        return autocast(self.runtime.precision, self.device, cache_enabled=cache_enabled)

    # -- the critic --------------------------------------------------------------------------
    def _critic_loss(self, real, labels, z, noise, *, cache_enabled: bool = True):
        extra = {} if labels is None else {"labels": labels}
        with torch.no_grad(), self._autocast(cache_enabled):
            fake = self.G(z, **extra)
        with self._autocast(cache_enabled):
            return self.objective.critic_objective(self.D, real, fake, noise, **extra)

    def critic(self, real: torch.Tensor, labels: Optional[torch.Tensor] = None) -> dict:
        """One critic step on ``real`` and fresh fakes; returns the step's statistics (tensors)."""
        z = self._z(real.shape[0])
        noise = self._critic_noise(real.shape[0])
        d_loss, stats = self._critic_loss(real, labels, z, noise)
        self._update(self.D, self.d_opt, d_loss)
        self.objective.after_critic_step(self.D)
        return stats

    # -- the generator -------------------------------------------------------------------------
    def _generator_loss(self, z, extra):
        with self._autocast():
            return self.objective.generator_objective(self.D, self.G(z, **extra), **extra)

    def generator(self, n: int, conditional: bool = False) -> dict:
        """One generator step on ``n`` fresh fakes; the critic's weights are frozen for it."""
        extra = {}
        if conditional:
            extra["labels"] = self.dist.shard(self.sample_labels(n * self.dist.world, self.rng))
        z = self._z(n)
        self.D.requires_grad_(False)  # backward through D computes input gradients only
        try:
            g_loss, stats = self._generator_loss(z, extra)
            self._update(self.G, self.g_opt, g_loss)
        finally:
            self.D.requires_grad_(True)
        return stats

    def _update(self, net: torch.nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        self.dist.average_gradients(net)
        opt.step()


class CompiledStep(AdversarialStep):
    """``--compile``: the critic's parameter gradient as one compiled ``torch.func`` graph."""

    def __init__(self, **kw):
        super().__init__(**kw)
        if has_batch_statistics(self.D):
            raise UserError("--compile: this critic has batch norm (as the reference's DCGAN, LSGAN and "
                            "weight-clipping critics), which the compiled critic step cannot run: it must score "
                            "real and fake in separate passes; drop --compile, or give an image critic "
                            "--critic-norm layer or none")
        D, objective, precision, device = self.D, self.objective, self.runtime.precision, self.device
        self._params = {name: p.detach() for name, p in D.named_parameters()}  # share storage with D
        self._buffers = {name: b for name, b in D.named_buffers()}

        def critic_objective(params, buffers, real, fake, noise, labels):
            def critic(x, labels=None):
                kwargs = {} if labels is None else {"labels": labels}
                return torch.func.functional_call(D, (params, buffers), (x,), kwargs)

            with autocast(precision, device):
                return objective.critic_objective(critic, real, fake, noise, labels=labels, input_grad=func_input_grad)

        self._critic_grads = torch.compile(torch.func.grad(critic_objective, has_aux=True))
        self._G = torch.compile(self.G)
        self._D = torch.compile(self.D)

    def critic(self, real: torch.Tensor, labels: Optional[torch.Tensor] = None) -> dict:
        z = self._z(real.shape[0])
        noise = self._critic_noise(real.shape[0])
        extra = {} if labels is None else {"labels": labels}
        with torch.no_grad(), self._autocast():
            fake = self._G(z, **extra)
        grads, stats = self._critic_grads(self._params, self._buffers, real, fake, noise, labels)
        for name, p in self.D.named_parameters():
            p.grad = grads[name]
        self.dist.average_gradients(self.D)
        self.d_opt.step()
        self.objective.after_critic_step(self.D)
        return stats

    def _generator_loss(self, z, extra):
        with self._autocast():
            return self.objective.generator_objective(self._D, self._G(z, **extra), **extra)


class GraphedStep(AdversarialStep):
    """``--cuda-graphs``: the critic's forward and backward replayed from a captured CUDA graph."""

    WARMUP = 3  # eager critic steps on a side stream before the capture (PyTorch's recipe)

    def __init__(self, **kw):
        super().__init__(**kw)
        if self.device.type != "cuda":
            raise UserError(f"--cuda-graphs: CUDA graphs need a CUDA device, not {self.device}")
        self._graph: Optional[torch.cuda.CUDAGraph] = None
        self._static: dict = {}
        self._stats: dict = {}
        self._warm = 0

    def critic(self, real: torch.Tensor, labels: Optional[torch.Tensor] = None) -> dict:
        z = self._z(real.shape[0])
        noise = self._critic_noise(real.shape[0])
        inputs = {"real": real, "labels": labels, "z": z, "noise": noise}
        if self._graph is None and self._warm < self.WARMUP:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                d_loss, stats = self._critic_loss(real, labels, z, noise)
                self._update(self.D, self.d_opt, d_loss)
                self.objective.after_critic_step(self.D)
            torch.cuda.current_stream().wait_stream(side)
            self._warm += 1
            return stats
        if self._graph is None:
            self._capture(inputs)
        else:
            for key, value in inputs.items():
                if value is not None:
                    self._static[key].copy_(value, non_blocking=True)
        self._graph.replay()  # writes the critic's gradients into the same .grad tensors every time
        self.dist.average_gradients(self.D)
        self.d_opt.step()
        self.objective.after_critic_step(self.D)
        return {k: v.clone() for k, v in self._stats.items()}

    def _capture(self, inputs: dict) -> None:
        self._static = {k: (None if v is None else v.clone()) for k, v in inputs.items()}
        self.d_opt.zero_grad(set_to_none=True)  # the graph allocates the .grad tensors it reuses
        torch.cuda.synchronize(self.device)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            s = self._static
            d_loss, self._stats = self._critic_loss(s["real"], s["labels"], s["z"], s["noise"], cache_enabled=False)
            d_loss.backward()
        self._graph = graph


def make_step(*, runtime: Runtime, **parts) -> AdversarialStep:
    """The step implementation ``runtime.options`` asks for."""
    if runtime.options.compile:
        return CompiledStep(runtime=runtime, **parts)
    if runtime.options.cuda_graphs:
        return GraphedStep(runtime=runtime, **parts)
    return AdversarialStep(runtime=runtime, **parts)
