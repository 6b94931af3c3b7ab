"""Checkpoints: one safetensors file per checkpoint, tensors plus JSON metadata; nothing unpickled.

A checkpoint file holds

* tensors: module weights under their module's name (``G.*``, ``D.*``), optimizer state under
  ``opt_`` and the name (``opt_G.*``, ``opt_D.*``), random generator states (``rng.*``, uint8);
* the metadata under the key ``seqgan_gp``: a JSON document with ``format``, ``version``, ``kind``
  (text, image, toy), the iteration, the full configuration, what the task adds (the tokenizer of
  a text run, a dataset's fingerprint), the optimizers' parameter groups and the batch source's
  position.

Writes are atomic (seqgan_gp.atomic). What a checkpoint of a training run holds, and how it is
restored into networks and optimizers, is seqgan_gp.state's business; this module reads and writes
the files and turns every way a file can be wrong into a UserError naming it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from seqgan_gp.atomic import atomic_write_bytes
from seqgan_gp.errors import UserError
from seqgan_gp.memory import available_bytes, size
from seqgan_gp.messages import with_article

FORMAT = "seqgan_gp"
VERSION = 1


# -- optimizer state <-> flat tensors + JSON ---------------------------------------------------

def optimizer_to_flat(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Split ``opt.state_dict()`` into tensors (``{prefix}.{param}.{name}``) and JSON parts."""
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for idx, st in sd["state"].items():
        for name, value in st.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{idx}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{idx}.{name}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def optimizer_from_flat(prefix: str, opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    """Restore ``opt`` from ``{prefix}.{param}.{name}`` tensors and the JSON parts of
    :func:`optimizer_to_flat`; a state that does not fit the parameters raises ``ValueError``
    (the caller names the checkpoint)."""
    params = [p for group in opt.param_groups for p in group["params"]]
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            idx, name = key[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(idx), {})[name] = value
    for key, value in meta.get("scalars", {}).items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    # parameters with state (those that had a gradient) all have the same entries, each tensor of
    # its parameter's shape; Adam would otherwise fail (or silently restart) at the next step
    names = {frozenset(s) for s in state.values()}
    if len(names) > 1 or any(not 0 <= idx < len(params) for idx in state):
        raise ValueError(f"{prefix}: the state of parameters {sorted(state)[:8]} does not fit the optimizer's "
                         f"{len(params)} parameters (entries {sorted(map(sorted, names))[:2]})")
    for idx, entries in state.items():
        for name, value in entries.items():
            if not torch.is_tensor(value):
                continue
            # a fused kernel reads these as its parameter's floats: another dtype or size corrupts memory
            if name == "step":
                ok, want = value.dim() == 0 and value.is_floating_point(), "a floating-point scalar"
            else:
                ok = value.shape == params[idx].shape and value.dtype == params[idx].dtype
                want = f"{tuple(params[idx].shape)} {params[idx].dtype}, as its parameter"
            if not ok:
                raise ValueError(f"{prefix}.{idx}.{name} is {tuple(value.shape)} {value.dtype}, not {want}")
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def module_to_flat(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def module_from_flat(prefix: str, module: torch.nn.Module, tensors: dict, source: Path) -> None:
    """Load ``{prefix}.*`` tensors into ``module``; a shape or key mismatch is a UserError."""
    sub = check_module_shapes(prefix, module, tensors, source)
    module.load_state_dict(sub)


def check_module_shapes(prefix: str, module: torch.nn.Module, tensors: dict, source: Path) -> dict:
    """The ``{prefix}.*`` tensors by ``module``'s names, after checking they are exactly its entries
    with its shapes (a UserError otherwise); ``module`` may live on the ``meta`` device, so a
    checkpoint is checked against a network that was never allocated."""
    sub = {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    expected = module.state_dict()
    missing = sorted(set(expected) - set(sub))
    unexpected = sorted(set(sub) - set(expected))
    if missing or unexpected:
        raise UserError(
            f"{source}: checkpoint does not match the model ({prefix}: missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}); it is damaged or was written by a different model configuration; "
            f"use an intact checkpoint of the same run"
        )
    for k, v in expected.items():
        if tuple(sub[k].shape) != tuple(v.shape):
            raise UserError(
                f"{source}: tensor {prefix}.{k} has shape {tuple(sub[k].shape)} but the model "
                f"expects {tuple(v.shape)}; the checkpoint is damaged or from another configuration; "
                f"use an intact checkpoint of the same run"
            )
    return sub


# -- files ---------------------------------------------------------------------------------------

def save_checkpoint(path: Path, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    """Atomically write ``tensors`` and the JSON-serialisable ``meta`` to ``path``."""
    doc = {"format": FORMAT, "version": VERSION, **meta}
    data = st_save(tensors, metadata={FORMAT: json.dumps(doc)})
    atomic_write_bytes(Path(path), data)


def load_checkpoint(path: Path, *, kind: str | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a checkpoint; every way it can be wrong is a UserError naming the file and the fix.

    Checked before anything is built from it: the file is a regular file that fits in memory, a
    safetensors file with seqgan_gp's metadata of this format version and of ``kind``, whose
    iteration is a whole number >= 0 and whose floating-point tensors are all finite.
    """
    path = Path(path)
    earlier = "use an earlier checkpoint from the run's checkpoints/ folder"
    if path.is_dir():
        raise UserError(f"{path}: a directory, not a checkpoint file; pass a run directory (holding config.json "
                        f"and checkpoints/) or a .safetensors checkpoint")
    if path.exists() and not path.is_file():  # a FIFO would block the read forever, a device never end
        raise UserError(f"{path}: not a regular file (a pipe, socket or device); pass a .safetensors checkpoint file")
    if not path.is_file():
        raise UserError(f"{path}: no such checkpoint file; pass a run directory or a .safetensors checkpoint")
    _refuse_if_too_big(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror}); make it readable or {earlier}") from None
    if not data:
        raise UserError(f"{path}: checkpoint file is empty (an interrupted copy?); {earlier}")
    try:
        tensors = st_load(data)
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + header_len])
    except (SafetensorError, ValueError, UnicodeDecodeError, OSError, RuntimeError) as exc:
        raise UserError(f"{path}: not a readable safetensors checkpoint ({exc}); the file is truncated or foreign; "
                        f"{earlier}") from None
    del data
    raw = (header.get("__metadata__") or {}).get(FORMAT) if isinstance(header, dict) else None
    if raw is None:
        raise UserError(f"{path}: safetensors file without seqgan_gp metadata; it was not written by seqgan_gp; "
                        f"pass a checkpoint from a seqgan_gp run's checkpoints/ folder")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: checkpoint metadata is not valid JSON ({exc}); the file was modified; "
                        f"{earlier}") from None
    if not isinstance(meta, dict):
        raise UserError(f"{path}: checkpoint metadata is {type(meta).__name__}, not a JSON object; the file was "
                        f"modified; {earlier}")
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise UserError(f"{path}: checkpoint format {meta.get('format')!r} v{meta.get('version')!r} is not "
                        f"{FORMAT} v{VERSION}; re-train with this version of seqgan_gp")
    if kind is not None and meta.get("kind") != kind:
        found = str(meta.get("kind"))
        raise UserError(f"{path}: this is {with_article(found)} checkpoint, but the command needs {with_article(kind)} "
                        f"checkpoint; pass {with_article(kind)} run directory or checkpoint")
    iteration = meta.get("iteration")
    if not isinstance(iteration, int) or isinstance(iteration, bool) or iteration < 0:
        raise UserError(f"{path}: checkpoint metadata gives iteration {iteration!r}, not a whole number >= 0; the "
                        f"file was modified; {earlier}")
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise UserError(f"{path}: tensor {name} holds {bad} NaN or infinite values of {tensor.numel()}; the "
                            f"checkpoint is damaged (seqgan_gp checks every weight before it writes one); {earlier}")
    return tensors, meta


def _refuse_if_too_big(path: Path) -> None:
    """A checkpoint is read whole, then its tensors are made from the bytes: it must fit twice."""
    nbytes = path.stat().st_size
    avail = available_bytes("host")
    if avail is not None and 2 * nbytes > avail:
        raise UserError(f"{path}: a {size(nbytes)} checkpoint, and reading it needs ~{size(2 * nbytes)}; this machine "
                        f"has {size(avail)} available; free memory or use a machine with more")


def check_parameter_count(path: Path, prefix: str, expected: int, tensors: dict, claim: str) -> None:
    """Refuse a checkpoint whose ``{prefix}.*`` tensors do not hold the ``expected`` parameters its
    configuration (``claim``, e.g. ``"dim 512, blocks 5"``) implies, before a network is built
    from that configuration (a network is then never larger than the file)."""
    found = sum(t.numel() for k, t in tensors.items() if k.startswith(prefix + ".") and t.is_floating_point())
    if found != expected:
        raise UserError(f"{path}: its metadata describes a {prefix} of {expected:,} parameters ({claim}) but its "
                        f"tensors hold {found:,}; the metadata was modified or the file is damaged; use an intact "
                        f"checkpoint of the run")


def rng_state_tensor(gen: torch.Generator) -> torch.Tensor:
    return gen.get_state().clone()


def set_rng_state(gen: torch.Generator, state: torch.Tensor) -> None:
    gen.set_state(state.to(torch.uint8).cpu())
