"""Metric names that carry their sample count, so that a number says which protocol made it.

A Fréchet distance of 2,048 samples is not the FID50k a paper reports; every sample metric of this
package is named with the number of samples behind it, as the published configurations name theirs
(mmgeneration's ``fid50k``, ``swd16k``, ``ms_ssim10k``; StyleGAN's ``fid50k``, ``is50k``):

    name + count label, with ``_`` between them when the name ends in a digit

* the count label is ``{n/1000}k`` for whole thousands (50,000 → ``50k``), ``{n/1024}k`` for
  whole multiples of 1,024 (16,384 → ``16k``, 2,048 → ``2k``, mmgeneration's binary thousands)
  and the plain number otherwise (640 → ``640``, 6,400 → ``6400``); the exact count is always
  recorded beside the metric (``counts`` in an evaluation document, RUN_DIR/eval/eval_<iteration>.json;
  ``eval_samples`` in config.json);
* ``fid50k``, ``is50k`` (and ``is50k_std``), ``ms_ssim10k`` (10,000 images, 5,000 pairs),
  ``swd16k_64`` / ``swd16k_avg`` (per pyramid level and their average), ``js4_640``,
  ``bleu2_640``, ``self_bleu2_640``, ``distinct1_640``, ``unique_samples640``.

Readers of metrics logs (plots, progress lines, summaries) look metrics up by :func:`base_name`,
which drops the count and leaves older runs' names (``js4``, ``swd_avg``) as they are.
"""

from __future__ import annotations

import re
from typing import Optional

COUNT = r"\d+k?"  # the count label as a regular expression
PLAIN = ("fid", "is", "ms_ssim", "unique_samples", "valid", "nll")  # named name + count (is50k, is50k_std)
ORDERED = ("js", "bleu", "self_bleu", "distinct")  # named name + order + _ + count (js4_640)
_COUNTED = re.compile(rf"(?P<plain>{'|'.join(PLAIN)})(?P<c1>{COUNT})(?P<std>_std)?"
                      rf"|(?P<ordered>(?:{'|'.join(ORDERED)})\d)_(?P<c2>{COUNT})"
                      rf"|swd(?P<c3>{COUNT})(?P<level>_(?:\d+|avg))")


def count_label(n: int) -> str:
    """50000 → '50k', 16384 → '16k', 2048 → '2k', 640 → '640', 6400 → '6400'."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"a sample count is a whole number of at least 1, not {n!r}")
    if n % 1000 == 0:
        return f"{n // 1000}k"
    if n % 1024 == 0:
        return f"{n // 1024}k"
    return str(n)


def with_count(name: str, n: int) -> str:
    """``name`` with the count label of ``n`` samples: fid → fid50k, js4 → js4_640."""
    return f"{name}{'_' if name[-1:].isdigit() else ''}{count_label(n)}"


def base_name(key: str) -> str:
    """The metric a key names, without its count: ``js4_640`` → ``js4``, ``swd16k_64`` → ``swd_64``,
    ``is50k_std`` → ``is_std``. Any other key (the loss statistics; an older run's ``js4``,
    ``swd_avg``, ``ms_ssim``, which had no count in their names) is its own base name."""
    m = _COUNTED.fullmatch(key)
    if m is None:
        return key
    if m["plain"]:
        return m["plain"] + (m["std"] or "")
    if m["ordered"]:
        return m["ordered"]
    return "swd" + m["level"]


def count_of(key: str) -> Optional[str]:
    """The count label in a key (``50k`` of ``fid50k``), None for a key without one."""
    m = _COUNTED.fullmatch(key)
    return None if m is None else (m["c1"] or m["c2"] or m["c3"])
