"""Decisions on every transaction, and the hourly counts monitors read.

While the model is on, each transaction is scored by the deployed version
(or, during a canary, by the candidate for a share of traffic) and blocked
when its score is at or above that version's threshold.  While the model is
shut down, the safe fallback decides: ``rules_review`` sends risky-looking
transactions (large amount, high velocity, risky device, a category never
seen before) to human review, ``review_all`` sends everything, ``allow_all``
approves everything.  A human review is assumed to get the answer right, at
the price of the reviewer's time.

The reference window (the first ``monitor.reference_days`` after go-live)
fixes what "normal" means for the monitors: bin edges for PSI, the ranges
for the out-of-range check, the set of known categories, and, per model
version, the score distribution on those same reference inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit.monitor.model import ModelVersion
from labkit.monitor.monitors import HourlyStats
from labkit.monitor.world import CATEGORIES, NUMERIC_FEATURES, REGIONS, Stream

__all__ = ["Reference", "build_reference", "fill_input_stats", "ScoreReference",
           "score_reference", "Decisions", "PASS", "BLOCK", "REVIEW", "DECISION_NAMES",
           "fallback_review", "fill_decision_stats", "stream_data"]

PASS, BLOCK, REVIEW = 0, 1, 2
DECISION_NAMES = ("pass", "block", "review")


def stream_data(world: Stream, sl: slice) -> dict[str, np.ndarray]:
    """The model inputs of a slice of transactions."""
    return {"amount": world.amount[sl], "velocity": world.velocity[sl],
            "device_risk": world.device_risk[sl], "category": world.category[sl],
            "label": world.label[sl]}


@dataclass(frozen=True, eq=False)
class Reference:
    """What the reference window looked like."""

    edges: tuple[np.ndarray, ...]     # inner PSI bin edges per numeric feature
    ranges: np.ndarray                # (3, 2): the 0.5% and 99.5% quantiles
    p95: np.ndarray                   # 95th percentile per numeric feature (fallback rules)
    known_categories: np.ndarray      # bool per category
    hist: np.ndarray                  # (3, bins + 1) counts, last bin = missing
    cat_hist: np.ndarray              # (categories,) counts


def _bin(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index of each value; missing values get index len(edges) + 1."""
    idx = np.searchsorted(edges, values, side="right")
    return np.where(np.isnan(values), edges.size + 1, idx)


def build_reference(world: Stream, reference_h: int, bins: int) -> Reference:
    sl = slice(0, int(world.starts[reference_h]))
    numeric = world.numeric()[sl]
    edges, ranges, p95, hist = [], [], [], []
    for j in range(len(NUMERIC_FEATURES)):
        col = numeric[:, j]
        ok = col[~np.isnan(col)]
        e = np.unique(np.quantile(ok, np.linspace(0, 1, bins + 1)[1:-1]))
        e = np.concatenate((e, np.full(bins - 1 - e.size, np.inf)))  # keep bins + 1 slots
        edges.append(e)
        ranges.append(np.quantile(ok, [0.005, 0.995]))
        p95.append(np.quantile(ok, 0.95))
        hist.append(np.bincount(_bin(col, e), minlength=bins + 1))
    cat_hist = np.bincount(world.category[sl], minlength=len(CATEGORIES))
    return Reference(edges=tuple(edges), ranges=np.array(ranges), p95=np.array(p95),
                     known_categories=cat_hist > 0, hist=np.array(hist, float),
                     cat_hist=cat_hist.astype(float))


def fill_input_stats(stats: HourlyStats, world: Stream, ref: Reference) -> None:
    """Counts that depend only on the inputs (filled once per run)."""
    H, hour = world.hours, world.hour
    numeric = world.numeric()
    stats.n[:] = world.n_per_hour
    for j in range(len(NUMERIC_FEATURES)):
        col = numeric[:, j]
        miss = np.isnan(col)
        stats.nulls[:, j] = np.bincount(hour, weights=miss, minlength=H)
        with np.errstate(invalid="ignore"):
            out = ~miss & ((col < ref.ranges[j, 0]) | (col > ref.ranges[j, 1]))
        stats.out_of_range[:, j] = np.bincount(hour, weights=out, minlength=H)
        k = stats.bins + 1
        flat = np.bincount(hour * k + _bin(col, ref.edges[j]), minlength=H * k)
        stats.hist[:, j, :] = flat.reshape(H, k)
    c = len(CATEGORIES)
    stats.cat_hist[:] = np.bincount(hour * c + world.category, minlength=H * c).reshape(H, c)
    stats.new_category[:] = np.bincount(hour, weights=~ref.known_categories[world.category],
                                        minlength=H)
    stats.latency_p95_ms[:] = world.latency_p95_ms
    stats.errors[:] = world.errors
    stats.rate_limited[:] = world.rate_limited


@dataclass(frozen=True, eq=False)
class ScoreReference:
    """A model version's score distribution on the reference inputs."""

    edges: np.ndarray
    shares: np.ndarray


def score_reference(model: ModelVersion, world: Stream, reference_h: int,
                    bins: int) -> ScoreReference:
    sl = slice(0, int(world.starts[reference_h]))
    scores = model.score(stream_data(world, sl))
    e = np.unique(np.quantile(scores, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.concatenate((e, np.full(bins - 1 - e.size, np.inf)))
    counts = np.bincount(np.searchsorted(e, scores, side="right"), minlength=bins)
    return ScoreReference(edges=e, shares=counts / counts.sum())


class Decisions:
    """Per-transaction decisions, rewritten from an hour on as actions happen."""

    def __init__(self, n: int) -> None:
        self.score = np.full(n, np.nan)
        self.version = np.zeros(n, np.int16)      # 0 = safe fallback
        self.threshold = np.full(n, np.nan)
        self.decision = np.zeros(n, np.int8)
        self.audit_seq = np.zeros(n, np.int32)    # the record that put this state in place


def fallback_review(world: Stream, ref: Reference, sl: slice, mode: str) -> np.ndarray:
    """Which transactions the safe fallback sends to human review."""
    n = sl.stop - sl.start
    if mode == "review_all":
        return np.ones(n, bool)
    if mode == "allow_all":
        return np.zeros(n, bool)
    numeric = world.numeric()[sl]
    with np.errstate(invalid="ignore"):
        risky = (numeric > ref.p95).any(axis=1)
    return risky | ~ref.known_categories[world.category[sl]]


def fill_decision_stats(stats: HourlyStats, world: Stream, dec: Decisions, h0: int,
                        score_refs: dict[int, ScoreReference], main_version: np.ndarray,
                        cost: tuple[float, float, float]) -> None:
    """Recompute the decision counts of hours ``h0`` onwards."""
    H = world.hours
    sl = slice(int(world.starts[h0]), world.size)
    hour = world.hour[sl]
    span = H - h0
    rel = hour - h0
    d, y, s, v = dec.decision[sl], world.label[sl], dec.score[sl], dec.version[sl]

    def per_hour(weights: np.ndarray) -> np.ndarray:
        return np.bincount(rel, weights=weights, minlength=span)

    scored = ~np.isnan(s)
    flagged = d != PASS
    stats.scored[h0:] = per_hour(scored)
    stats.score_sum[h0:] = per_hour(np.where(scored, s, 0.0))
    stats.flags[h0:] = per_hour(flagged)
    stats.reviews[h0:] = per_hour(d == REVIEW)
    stats.tp[h0:], stats.fp[h0:] = per_hour(flagged & y), per_hour(flagged & ~y)
    stats.fn[h0:], stats.tn[h0:] = per_hour(~flagged & y), per_hour(~flagged & ~y)
    c_fn, c_fp, c_review = cost
    tx_cost = np.where(d == REVIEW, c_review, np.where(flagged, np.where(y, 0.0, c_fp),
                                                       np.where(y, c_fn, 0.0)))
    stats.cost[h0:] = per_hour(tx_cost)
    r = len(REGIONS)
    region = world.region[sl]
    stats.n_region[h0:] = np.bincount(rel * r + region, minlength=span * r).reshape(span, r)
    stats.flags_region[h0:] = np.bincount(rel * r + region, weights=flagged,
                                          minlength=span * r).reshape(span, r)
    b = stats.bins
    hist = np.zeros((span, b))
    for version, ref in score_refs.items():
        mine = scored & (v == version)
        if mine.any():
            idx = np.searchsorted(ref.edges, s[mine], side="right")
            hist += np.bincount(rel[mine] * b + idx, minlength=span * b).reshape(span, b)
    stats.score_hist[h0:] = hist
    versions = main_version[h0:]
    stats.score_expected[h0:] = 0.0
    for version, ref in score_refs.items():
        stats.score_expected[h0:][versions == version] = ref.shares
