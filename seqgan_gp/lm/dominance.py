"""Reading a frontier document (seqgan_gp.lm.frontier) as a verdict: GAN recipes against the MLE baseline.

Two questions of issue 19, each a pure function:

* the **JS-4 ratio**: the best (lowest) JS-4 over a curve's temperatures, of the best GAN curve,
  divided by the MLE curve's best: r = min_{c ∈ GAN, T} JS4(c, T) / min_T JS4(MLE, T). The target
  is r ≤ 1.5;
* **dominance** in the quality–diversity plane (BLEU-4 up, self-BLEU-4 down, Caccia et al. 2018):
  a point q = (b_q, s_q) is dominated by a curve when some point of the curve, at a temperature it
  was measured at or on the straight segment between two neighbouring temperatures, has
  b ≥ b_q and s ≤ s_q. The target is one GAN point that the MLE curve does not dominate.
"""

from __future__ import annotations

from typing import Optional, Sequence

Point = tuple[float, float]  # (BLEU-4, self-BLEU-4)


def segment_dominates(p1: Point, p2: Point, q: Point) -> bool:
    """Whether a point p(λ) = p1 + λ·(p2 − p1), λ ∈ [0, 1], has b(λ) ≥ b_q and s(λ) ≤ s_q.

    Each condition is linear in λ, so each holds on an interval of λ; the segment dominates q when
    the two intervals meet inside [0, 1]."""
    lo, hi = 0.0, 1.0
    for start, end, at_least in ((p1[0], p2[0], True), (p1[1], p2[1], False)):
        target = q[0] if at_least else q[1]
        slope, gap = end - start, (start - target) if at_least else (target - start)
        if not at_least:
            slope = -slope  # s(λ) ≤ s_q  ⇔  (s_q − s1) − λ·(s2 − s1) ≥ 0
        # gap + λ·slope ≥ 0
        if slope == 0:
            if gap < 0:
                return False
        elif slope > 0:
            lo = max(lo, -gap / slope)
        else:
            hi = min(hi, -gap / slope)
    return lo <= hi


def dominated(q: Point, curve: Sequence[Point]) -> bool:
    """Whether ``curve`` (points in temperature order) dominates ``q`` (module docstring)."""
    if len(curve) == 1:
        return segment_dominates(curve[0], curve[0], q)
    return any(segment_dominates(a, b, q) for a, b in zip(curve, curve[1:]))


def curve_points(curve: dict) -> list[tuple[float, Optional[float], Optional[float], Optional[float]]]:
    """(temperature, BLEU-4, self-BLEU-4, JS-4) of every point of a frontier curve."""
    from seqgan_gp.lm.frontier import metric

    return [(p["temperature"], metric(p["metrics"], "bleu4"), metric(p["metrics"], "self_bleu4"),
             metric(p["metrics"], "js4")) for p in curve["points"]]


def best_point(curve: dict) -> dict:
    """The point of lowest JS-4 of a frontier curve: temperature, JS-4, BLEU-4, self-BLEU-4."""
    t, bleu, self_bleu, js = min(curve_points(curve), key=lambda p: p[3] if p[3] is not None else float("inf"))
    return {"temperature": t, "js4": js, "bleu4": bleu, "self_bleu4": self_bleu}


def verdict(gan_curves: Sequence[dict], mle_curve: dict, *, target_ratio: float = 1.5) -> dict:
    """The two targets for frontier curves ``gan_curves`` against ``mle_curve`` (module docstring)."""
    mle_best = best_point(mle_curve)
    bests = {c["label"]: best_point(c) for c in gan_curves}
    best_label = min(bests, key=lambda k: bests[k]["js4"])
    mle_xy = [(b, s) for _, b, s, _ in curve_points(mle_curve) if b is not None and s is not None]
    undominated = [{"label": c["label"], "temperature": t, "bleu4": b, "self_bleu4": s, "js4": js}
                   for c in gan_curves for t, b, s, js in curve_points(c)
                   if b is not None and s is not None and mle_xy and not dominated((b, s), mle_xy)]
    ratio = bests[best_label]["js4"] / mle_best["js4"]
    return {"best_gan": {"label": best_label, **bests[best_label]}, "mle_best": mle_best,
            "js4_ratio": ratio, "target_ratio": target_ratio, "ratio_met": ratio <= target_ratio,
            "undominated_gan_points": undominated, "undominated_met": bool(undominated)}
