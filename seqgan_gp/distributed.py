"""Data-parallel training across processes, GPUs and nodes, launched by ``torchrun``.

    torchrun --nproc_per_node 4 cli.py train-text --corpus billion_word --data-dir DIR
    torchrun --nnodes 2 --node_rank 0 --nproc_per_node 8 --master_addr HOST --master_port 29500 cli.py train-text ...

torchrun starts one process per GPU (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` in the environment);
without torchrun the world is one process and nothing here does anything.

* **One global batch.** ``--batch-size`` is the batch of one process; the global batch is
  ``world × batch``. Every rank draws the noise (z, the penalty's ε) of the whole global batch
  from the same seeded generator and keeps its own slice, and the batch source hands rank r the
  r-th slice of one global batch of real examples (:class:`seqgan_gp.batches.EpochSampler`): the
  ranks see disjoint examples, and a run on N processes computes what one process computes with
  an N-times larger batch (up to the order of floating-point sums).
* **Gradients averaged every step, explicitly.** After each backward the gradients of the network
  being updated are flattened into one buffer, all-reduced and divided by the world size. Not
  DistributedDataParallel: the critic step runs two forward passes and a double backward
  (``autograd.grad(create_graph=True)`` for the penalty), which DDP's reducer does not expect
  (SPEC.md pitfall 4); one explicit all-reduce per network per step is what DDP would send anyway
  and works the same for ``--compile``.
* **Rank 0 writes.** Only rank 0 creates the run directory, writes config.json, metrics.jsonl,
  samples and checkpoints; logged statistics are averaged over ranks first. ``--resume`` makes every
  rank read the same checkpoint, so the run directory must be on a file system all nodes see.
* **Stopping together.** Ctrl-C / SIGTERM on any rank stops every rank at the end of the same
  iteration (a one-integer all-reduce per iteration on a CPU process group, no GPU sync).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch
import torch.distributed as dist

from seqgan_gp.errors import UserError


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@dataclass
class DistContext:
    """This process's place in a data-parallel run (world 1: a plain single-process run)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    cpu_group: Any = None  # a gloo group for host-side flags and objects (None: the default group)
    owns_group: bool = False  # init_process_group was called by us (and destroy is ours too)

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # -- the global batch ----------------------------------------------------------------------
    def shard(self, full: torch.Tensor) -> torch.Tensor:
        """This rank's slice of a tensor drawn for the whole global batch (first dimension)."""
        if self.world == 1:
            return full
        n = full.shape[0] // self.world
        return full[self.rank * n : (self.rank + 1) * n]

    # -- collectives -----------------------------------------------------------------------------
    def average_gradients(self, module: torch.nn.Module) -> None:
        """Average the parameter gradients of ``module`` over all ranks (one flat all-reduce)."""
        if self.world == 1:
            return
        params = [p for p in module.parameters() if p.requires_grad]
        for p in params:
            if p.grad is None:  # an unused parameter: contribute zeros, keep the ranks in step
                p.grad = torch.zeros_like(p)
        grads = [p.grad for p in params]
        flat = torch._utils._flatten_dense_tensors(grads)
        dist.all_reduce(flat)
        flat.div_(self.world)
        for g, synced in zip(grads, torch._utils._unflatten_dense_tensors(flat, grads)):
            g.copy_(synced)

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The element-wise mean of ``values`` over ranks (for logged statistics)."""
        if self.world == 1:
            return values
        values = values.clone()
        dist.all_reduce(values)
        return values.div_(self.world)

    def any(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is true on at least one (host-side, on the CPU group)."""
        if self.world == 1:
            return flag
        t = torch.tensor([int(bool(flag))], dtype=torch.int32)
        dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self.cpu_group)
        return bool(t.item())

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier(group=self.cpu_group)

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank (pickled in memory between the run's own processes)."""
        if self.world == 1:
            return obj
        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0, group=self.cpu_group)
        return box[0]

    def broadcast_module(self, module: torch.nn.Module) -> None:
        """Copy rank 0's parameters and buffers to every rank."""
        if self.world == 1:
            return
        tensors = [t.data for t in list(module.parameters()) + list(module.buffers())]
        if not tensors:
            return
        flat = torch._utils._flatten_dense_tensors(tensors)
        dist.broadcast(flat, src=0)
        for t, synced in zip(tensors, torch._utils._unflatten_dense_tensors(flat, tensors)):
            t.copy_(synced)

    def on_main(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on rank 0 only and hand its result to every rank.

        A UserError on rank 0 is raised on every rank (so no rank waits forever for the others).
        """
        if self.world == 1:
            return fn()
        result, error = None, None
        if self.is_main:
            try:
                result = fn()
            except UserError as exc:
                error = str(exc)
        error = self.broadcast_object(error)
        if error is not None:
            raise UserError(error)
        return self.broadcast_object(result if self.is_main else None)

    @contextlib.contextmanager
    def main_first(self):
        """Rank 0 runs the block first (e.g. to fill a cache), the other ranks after it."""
        if not self.is_main:
            self.barrier()
        try:
            yield
        finally:
            if self.is_main:
                self.barrier()

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_group = False


SINGLE = DistContext()


def current() -> DistContext:
    """The context of an already initialised default process group (else a single process)."""
    if not (dist.is_available() and dist.is_initialized()):
        return DistContext()
    backend = dist.get_backend()
    cpu_group = None if backend == "gloo" else dist.new_group(backend="gloo")
    return DistContext(rank=dist.get_rank(), world=dist.get_world_size(),
                       local_rank=int(os.environ.get("LOCAL_RANK", "0")), cpu_group=cpu_group)


def init_from_env(device_spec: str = "auto") -> tuple[DistContext, Optional[torch.device]]:
    """Join the torchrun process group when launched by torchrun.

    Returns the context and this rank's device (``cuda:LOCAL_RANK`` with NCCL when GPUs are used,
    the CPU with gloo otherwise), or ``(single-process context, None)`` outside torchrun, in which
    case the caller resolves ``--device`` as usual.
    """
    if not launched_by_torchrun():
        return DistContext(), None
    if dist.is_initialized():
        ctx = current()
    else:
        if not dist.is_available():
            raise UserError("torchrun: this PyTorch build has no torch.distributed; run without torchrun")
        spec = (device_spec or "auto").lower()
        use_cuda = spec.startswith("cuda") or (spec == "auto" and torch.cuda.is_available())
        if use_cuda and not torch.cuda.is_available():
            raise UserError(f"--device {device_spec}: no CUDA GPU is visible; use --device cpu under torchrun")
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if use_cuda:
            if local_rank >= torch.cuda.device_count():
                raise UserError(f"torchrun: LOCAL_RANK {local_rank} but only {torch.cuda.device_count()} GPUs "
                                f"are visible; lower --nproc_per_node")
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
        ctx = current()
        ctx.owns_group = True
    device = torch.device("cuda", ctx.local_rank) if dist.get_backend() == "nccl" else torch.device("cpu")
    return ctx, device

