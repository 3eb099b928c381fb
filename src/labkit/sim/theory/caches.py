"""Cache theory: what share of requests a response cache can answer.

Prompts are drawn independently with fixed popularity (the independent reference model),
typically Zipf: the i-th most popular prompt has share proportional to i^-alpha. For LRU,
Che's approximation gives each prompt a hit probability through one characteristic time t_C
(how long an unrequested entry survives); FIFO and random eviction follow Martina et al.;
a TTL timer gives a renewal formula per prompt. ``static_top_c_bound`` is the ceiling no
eviction policy beats under independent requests.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ._validate import _check, _count, _nonneg, _positive

__all__ = [
    "zipf_popularity", "che_characteristic_time", "che_item_hit_probabilities",
    "che_lru_hit_ratio", "fifo_hit_ratio", "ttl_hit_ratio", "ttl_cache_hit_ratio",
    "static_top_c_bound",
]


def zipf_popularity(n_items: int, alpha: float) -> np.ndarray:
    """Request shares of ``n_items`` prompts ranked by popularity, p_i ~ i^-alpha (alpha 0 =
    uniform); sums to 1.

    >>> zipf_popularity(4, 0.0).tolist()
    [0.25, 0.25, 0.25, 0.25]
    >>> zipf_popularity(3, 1.0).round(3).tolist()
    [0.545, 0.273, 0.182]
    """
    n, a = _count("n_items", n_items), _nonneg("alpha", alpha)
    w = np.arange(1, n + 1, dtype=float) ** -a
    return w / w.sum()


def _popularity(popularity: object) -> np.ndarray:
    p = np.asarray(popularity, dtype=float)
    ok = p.ndim == 1 and p.size > 0 and bool(np.all(p >= 0)) and abs(p.sum() - 1) < 1e-6
    _check(ok, "popularity", "a 1-d array of shares >= 0 summing to 1",
           f"shape {p.shape}, sum {p.sum():.6g}" if p.size else "empty")
    return p


def _characteristic(p: np.ndarray, rate: float, capacity: int,
                    occupancy: Callable[[np.ndarray], np.ndarray]) -> float:
    """Solve sum_i occupancy(lambda_i t) = capacity for t (seconds), bisecting on log t."""
    lam = rate * p
    if capacity >= np.count_nonzero(lam):
        return math.inf
    fill = lambda t: float(occupancy(lam * t).sum())  # noqa: E731
    lo = capacity / rate                       # fill(t) <= rate t, so fill(lo) <= capacity
    hi = 2 * lo
    while fill(hi) < capacity:
        lo, hi = hi, 2 * hi
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if fill(mid) < capacity else (lo, mid)
        if hi / lo - 1 < 1e-12:
            break
    return math.sqrt(lo * hi)


def _lru_occupancy(x: np.ndarray) -> np.ndarray:
    return -np.expm1(-x)


def _fifo_occupancy(x: np.ndarray) -> np.ndarray:
    return x / (1 + x)


def che_characteristic_time(popularity: object, rate_rps: float, capacity: int) -> float:
    """Che's characteristic time t_C (s): how long an item survives in an LRU cache of
    ``capacity`` items without being requested; inf when everything fits.

    >>> round(che_characteristic_time([0.5, 0.5], rate_rps=2.0, capacity=1), 3)   # e^-t = 1/2
    0.693
    """
    return _characteristic(_popularity(popularity), _positive("rate_rps", rate_rps),
                           _count("capacity", capacity), _lru_occupancy)


def che_item_hit_probabilities(popularity: object, capacity: int) -> np.ndarray:
    """Per-item LRU hit probabilities 1 - e^{-p_i t_C} (computed at request rate 1: t_C
    scales as 1/rate, so the probabilities do not depend on it); they sum to ``capacity``.

    >>> che_item_hit_probabilities([0.5, 0.3, 0.2], capacity=3).tolist()   # everything fits
    [1.0, 1.0, 1.0]
    """
    p = _popularity(popularity)
    t = _characteristic(p, 1.0, _count("capacity", capacity), _lru_occupancy)
    return (p > 0).astype(float) if math.isinf(t) else _lru_occupancy(p * t)


def che_lru_hit_ratio(popularity: object, capacity: int) -> float:
    """Overall LRU hit ratio under independent requests, sum_i p_i (1 - e^{-p_i t_C}).

    >>> round(che_lru_hit_ratio(zipf_popularity(10_000, 1.0), capacity=1000), 3)
    0.676
    """
    p = _popularity(popularity)
    return float(p @ che_item_hit_probabilities(p, capacity))


def fifo_hit_ratio(popularity: object, capacity: int) -> float:
    """FIFO (or random eviction) hit ratio: h_i = p_i T/(1 + p_i T) with sum_i h_i = capacity
    (Martina, Garetto & Leonardi 2014); never above LRU's under Zipf.

    >>> round(fifo_hit_ratio([0.5, 0.5], capacity=1), 3)
    0.5
    """
    p = _popularity(popularity)
    t = _characteristic(p, 1.0, _count("capacity", capacity), _fifo_occupancy)
    return float(p @ ((p > 0) if math.isinf(t) else _fifo_occupancy(p * t)))


def ttl_hit_ratio(rate_rps: float | np.ndarray, ttl_s: float,
                  reset_on_hit: bool = False) -> float | np.ndarray:
    """Hit ratio of one item requested at ``rate_rps`` (float or array) in an unbounded TTL
    cache: timer reset on every hit 1 - e^{-lambda T}; set on insertion only lambda T/(1 + lambda T).

    >>> ttl_hit_ratio(2.0, ttl_s=1.5), round(ttl_hit_ratio(2.0, 1.5, reset_on_hit=True), 3)
    (0.75, 0.95)
    """
    lam = np.asarray(rate_rps, dtype=float)
    _check(bool(np.all(lam >= 0)), "rate_rps", ">= 0", rate_rps)
    x = lam * _nonneg("ttl_s", ttl_s)
    h = _lru_occupancy(x) if reset_on_hit else _fifo_occupancy(x)
    return float(h) if h.ndim == 0 else h


def ttl_cache_hit_ratio(popularity: object, rate_rps: float, ttl_s: float) -> float:
    """Overall hit ratio of an unbounded cache whose entries expire ``ttl_s`` after insertion:
    sum_i p_i h_i with h_i = lambda_i T/(1 + lambda_i T).

    >>> round(ttl_cache_hit_ratio([1.0], rate_rps=9.0, ttl_s=1.0), 3)
    0.9
    """
    p = _popularity(popularity)
    return float(p @ ttl_hit_ratio(p * _nonneg("rate_rps", rate_rps), ttl_s))


def static_top_c_bound(popularity: object, capacity: int) -> float:
    """Best hit ratio any cache of ``capacity`` items can reach under independent requests:
    keep the most popular items.

    >>> round(static_top_c_bound(zipf_popularity(10_000, 1.0), 1000), 3)
    0.765
    """
    p = _popularity(popularity)
    return float(np.sort(p)[::-1][: _count("capacity", capacity)].sum())
