"""Checks shared by the run configurations: flag ranges and config.json documents.

A configuration dataclass validates its fields in ``__post_init__`` with the helpers below, so a
flag out of range gives the same kind of message everywhere: the flag, the value, the rule and
the value to pass instead. :func:`config_from_dict` rebuilds a configuration from a config.json
(or a checkpoint's metadata) and reports unknown fields and values of the wrong type against the
file, not against a flag the user never typed.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from seqgan_gp.errors import UserError
from seqgan_gp.messages import flag

UNIONS = (typing.Union, types.UnionType)  # Optional[str] and str | None
RENAMED = {"plot_every": "sample_every"}  # fields of older config.json files and their names now


def check_at_least_one(cfg, names: list[str]) -> None:
    for name in names:
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(f"{flag(name)} {value}: must be a whole number of at least 1; "
                            f"pass {flag(name)} 1 or more")


def check_zero_or_more(cfg, names: list[str], zero: str) -> None:
    """Whole numbers of 0 or more; ``zero`` says what 0 means."""
    for name in names:
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise UserError(f"{flag(name)} {value}: must be 0 ({zero}) or more; pass {flag(name)} 0 or more")


MAX_SEED = 2**63 - 1  # what numpy and torch take as a seed


def check_seed(value, name: str = "--seed") -> None:
    """A seed: a whole number from 0 to 2**63 - 1 (numpy's and torch's range)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise UserError(f"{name} {value}: a seed is a whole number from 0 to 2**63 - 1 ({MAX_SEED}); pass e.g. {name} 0")


def check_finite(value, name: str, *, positive: bool = True, example=None) -> None:
    """A finite number (above 0 with ``positive``, else 0 or more): an infinite learning rate or
    penalty weight trains nothing but NaNs."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > 0 if positive else value >= 0)
    if not ok:
        rule = "a finite number above 0" if positive else "a finite number, 0 or more"
        hint = f"; pass e.g. {name} {example:g}" if example is not None else ""
        raise UserError(f"{name} {value}: must be {rule}{hint}")


def _describe(kind) -> str:
    if kind is bool:
        return "true or false"
    if kind is int:
        return "a whole number"
    if kind is float:
        return "a number"
    if kind is str:
        return "a string"
    args = typing.get_args(kind)
    if typing.get_origin(kind) in UNIONS:
        return " or ".join("null" if a is type(None) else _describe(a) for a in args)
    if typing.get_origin(kind) is tuple:
        return f"a list of {len(args)} numbers"
    return getattr(kind, "__name__", str(kind))


def _fits(value: Any, kind) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is str:
        return isinstance(value, str)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in UNIONS:
        return any(_fits(value, a) if a is not type(None) else value is None for a in args)
    if origin is tuple:
        return isinstance(value, (list, tuple)) and len(value) == len(args) and all(
            _fits(v, a) for v, a in zip(value, args))
    return True  # a field type this check does not know: the dataclass validates it


def config_from_dict(cls, doc, source: str):
    """``cls(**doc)`` for the ``config`` part of a config.json or checkpoint, checked field by field.

    Unknown fields, values of the wrong type and values out of range are UserErrors naming
    ``source`` and the field; fields missing from ``doc`` (older files) take what the runs of such
    files ran with (``cls.older_defaults(doc)``, where the class has it), else the class defaults.
    """
    if str(source).endswith(".json"):
        fix = f"restore {source} from a backup (every checkpoint holds the run's configuration) or start a new run"
    else:
        fix = "use an earlier checkpoint of the run"
    if not isinstance(doc, dict):
        raise UserError(f"{source}: the configuration is {type(doc).__name__}, not a JSON object; {fix}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(doc) - known)
    renamed = [f"{old!r} is now {RENAMED[old]!r}" for old in unknown if RENAMED.get(old) in known]
    if renamed:
        raise UserError(f"{source}: written by an older seqgan_gp: configuration field {', '.join(renamed)}; "
                        f"rename it in {source} to resume the run, or start a new run")
    if unknown:
        raise UserError(f"{source}: unknown configuration fields {unknown} (written by another version of "
                        f"seqgan_gp or edited by hand); remove them or {fix}")
    for name, value in doc.items():
        if not _fits(value, hints[name]):
            raise UserError(f"{source}: configuration field {name!r} is {value!r}, expected "
                            f"{_describe(hints[name])}; {fix}")
    older = cls.older_defaults(doc) if hasattr(cls, "older_defaults") else {}
    doc = {**{k: v for k, v in older.items() if k not in doc}, **doc}
    if "betas" in doc:
        doc["betas"] = tuple(doc["betas"])
    try:
        return cls(**doc)
    except UserError as exc:
        raise UserError(f"{source}: configuration value out of range ({exc}); {fix}") from None
