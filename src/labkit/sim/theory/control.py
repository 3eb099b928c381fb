"""Batching, rate limiting, retries and autoscaling: the formulas behind the control knobs.

Dynamic batching trades a little latency for throughput under a linear batch cost; a token
bucket bounds admissions in any window; retries multiply load (per request, and again at
every layer), which is how a short outage becomes a metastable failure; backoff with jitter
(AWS), retry budgets and adaptive throttling (Google SRE) bound that multiplication; the
Kubernetes HPA rule decides how many replicas to run.
"""
from __future__ import annotations

import math

from ._validate import _check, _count, _nonneg, _positive, _prob, _real

__all__ = [
    "batch_service_ms", "batch_capacity_rps", "light_load_batch_size",
    "token_bucket_max_admissions", "expected_attempts", "layered_attempts", "metastable_band",
    "backoff_bounds_ms", "adaptive_throttle_probability", "retry_budget_amplification",
    "hpa_desired_replicas",
]


def batch_service_ms(batch_size: int, service_ms: float, per_item_fraction: float) -> float:
    """Time for one batch: service_ms (1 + f (b - 1)), the simulator's linear batch cost.

    >>> batch_service_ms(8, service_ms=80, per_item_fraction=0.1)
    136.0
    """
    b = _count("batch_size", batch_size)
    return _positive("service_ms", service_ms) * (1 + _nonneg("per_item_fraction",
                                                               per_item_fraction) * (b - 1))


def batch_capacity_rps(max_size: int, service_ms: float, per_item_fraction: float,
                       replicas: int) -> float:
    """Most requests/s the replicas can serve with full batches: replicas B / s(B).

    >>> round(batch_capacity_rps(8, 80, 0.1, replicas=4), 1)   # vs 50 req/s unbatched
    235.3
    """
    b = _count("max_size", max_size)
    return _count("replicas", replicas) * b * 1000 / batch_service_ms(b, service_ms,
                                                                      per_item_fraction)


def light_load_batch_size(rate_rps: float, max_wait_ms: float, max_size: int) -> float:
    """Mean batch size at light load with a batching delay T: about min(B, 1 + lambda T).

    >>> light_load_batch_size(rate_rps=20, max_wait_ms=100, max_size=8)
    3.0
    """
    grow = _nonneg("rate_rps", rate_rps) * _nonneg("max_wait_ms", max_wait_ms) / 1000
    return float(min(_count("max_size", max_size), 1 + grow))


def token_bucket_max_admissions(rate_rps: float, burst: int, window_s: float) -> float:
    """Most requests a token bucket admits in any window: burst + rate window.

    >>> token_bucket_max_admissions(rate_rps=10, burst=20, window_s=2)
    40.0
    """
    return _nonneg("burst", burst) + _nonneg("rate_rps", rate_rps) * _nonneg("window_s", window_s)


def expected_attempts(failure_prob: float, max_attempts: int) -> float:
    """Mean attempts per request with independent failures f and at most n attempts:
    (1 - f^n)/(1 - f), which tends to n as f -> 1.

    >>> expected_attempts(0.5, 3), expected_attempts(1.0, 3)
    (1.75, 3.0)
    """
    f, n = _prob("failure_prob", failure_prob), _count("max_attempts", max_attempts)
    return float(n) if f == 1.0 else (1 - f ** n) / (1 - f)


def layered_attempts(attempts_per_layer: int, layers: int) -> int:
    """Worst-case attempts on the bottom layer when every layer retries: n^L.

    >>> layered_attempts(4, 3)
    64
    """
    return _count("attempts_per_layer", attempts_per_layer) ** _count("layers", layers)


def metastable_band(capacity_rps: float, retries: int) -> tuple[float, float]:
    """Offered loads (req/s) that can stay stuck once every attempt times out:
    C/(1 + r) < lambda < C.

    >>> metastable_band(100.0, retries=3)
    (25.0, 100.0)
    """
    c = _positive("capacity_rps", capacity_rps)
    return c / (1 + _count("retries", retries, low=0)), c


JITTERS = ("none", "full", "equal", "decorrelated")
BACKOFFS = ("none", "constant", "exponential")


def backoff_bounds_ms(retry_number: int, base_ms: float, cap_ms: float, jitter: str,
                      prev_ms: float | None = None,
                      backoff: str = "exponential") -> tuple[float, float]:
    """Range (low, high) of the wait before retry ``retry_number`` (1 = the first retry), as in
    AWS's "Exponential Backoff and Jitter" and the simulator's ``retry.*`` knobs. The un-jittered
    wait is v = min(cap, base 2^(n-1)) (``constant``: min(cap, base); ``none``: 0). Jitter:
    none (v, v); full U(0, v); equal v/2 + U(0, v/2); decorrelated min(cap, U(base, 3 prev))
    with prev the previous wait (base before the first retry).

    >>> backoff_bounds_ms(4, 50, 2000, "full"), backoff_bounds_ms(4, 50, 2000, "equal")
    ((0.0, 400.0), (200.0, 400.0))
    >>> backoff_bounds_ms(2, 50, 2000, "decorrelated", prev_ms=300)
    (50.0, 900.0)
    """
    n = _count("retry_number", retry_number)
    base, cap = _nonneg("base_ms", base_ms), _nonneg("cap_ms", cap_ms)
    _check(jitter in JITTERS, "jitter", f"one of {', '.join(JITTERS)}", jitter)
    _check(backoff in BACKOFFS, "backoff", f"one of {', '.join(BACKOFFS)}", backoff)
    if backoff == "none":
        return 0.0, 0.0
    if jitter == "decorrelated":
        prev = base if prev_ms is None else _nonneg("prev_ms", prev_ms)
        return min(cap, base), min(cap, max(base, 3 * prev))
    v = min(cap, base) if backoff == "constant" else min(cap, base * 2.0 ** min(n - 1, 1000))
    return {"none": (v, v), "full": (0.0, v), "equal": (v / 2, v)}[jitter]


def adaptive_throttle_probability(requests: float, accepts: float, k: float = 2.0) -> float:
    """Client-side throttling (Google SRE book): reject locally with probability
    max(0, (requests - K accepts)/(requests + 1)).

    >>> adaptive_throttle_probability(requests=99, accepts=20, k=2)
    0.59
    """
    req, acc = _nonneg("requests", requests), _nonneg("accepts", accepts)
    _check(_real(k) and k >= 1, "k", ">= 1", k)
    return max(0.0, (req - k * acc) / (req + 1))


def retry_budget_amplification(budget_ratio: float) -> float:
    """Most load a retry budget lets through per request when every attempt fails: 1 + ratio.

    >>> retry_budget_amplification(0.1)
    1.1
    """
    return 1 + _nonneg("budget_ratio", budget_ratio)


def hpa_desired_replicas(current: int, metric: float, target: float,
                         tolerance: float = 0.1) -> int:
    """Kubernetes HPA: ceil(current metric/target), unchanged while the ratio is within
    ``tolerance`` of 1.

    >>> hpa_desired_replicas(4, 200, 100), hpa_desired_replicas(4, 50, 100), hpa_desired_replicas(4, 105, 100)
    (8, 2, 4)
    """
    n = _count("current", current)
    ratio = _nonneg("metric", metric) / _positive("target", target)
    if abs(ratio - 1) <= _nonneg("tolerance", tolerance):
        return n
    return math.ceil(n * ratio)
