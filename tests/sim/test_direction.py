"""Direction of effect at the same seed: turning a knob the helpful way never hurts.

Issue 2 ("more replicas never increase waiting; a bigger cache never lowers the hit ratio at
the same seed"), the direction-of-effect tests of the pydesrap_mms SimPy template.
Because every component draws from its own stream (common random numbers), two runs at
one seed see the same arrivals, prompts and service draws, so these are sample-path
comparisons, checked as exact inequalities over
a sweep of settings and several seeds; no statistical tolerance is needed.  Why each one
holds sample-path-wise is said next to it.
"""
from __future__ import annotations

import pytest

from labkit.sim import simulate

SEEDS = (1, 2, 3)


def non_decreasing(xs):
    return all(b >= a - 1e-12 for a, b in zip(xs, xs[1:]))


@pytest.mark.parametrize("seed", SEEDS)
def test_more_replicas_never_increase_mean_model_wait(seed):
    """FCFS G/G/c with service times tied to customers: adding a server never delays any
    customer (the Kiefer-Wolfowitz workload vector only shrinks), so the mean wait cannot
    grow.  No batching and no retries, so the model queue is exactly that system."""
    knobs = {"load.rate_rps": 40.0, "load.duration_s": 20.0, "model.service_ms": 80.0,
             "model.service_dist": "lognormal", "model.service_cv": 1.5}
    waits = [simulate({**knobs, "model.replicas": c}, seed=seed).summary["model_wait_ms_mean"]
             for c in (3, 4, 5, 6, 8, 12)]
    assert non_decreasing(waits[::-1]), waits
    assert waits[0] > 10 * max(waits[-1], 1e-3)          # the sweep spans real queueing


@pytest.mark.parametrize("seed", SEEDS)
def test_a_bigger_cache_never_lowers_the_hit_ratio(seed):
    """LRU is a stack algorithm: a larger LRU cache holds a superset of a smaller one's items
    for the same request sequence.  Many replicas keep queueing out, so a prompt's answer is
    stored at the same moment in every run."""
    knobs = {"cache.enabled": True, "load.rate_rps": 50.0, "load.duration_s": 20.0,
             "load.catalog_size": 5000, "model.replicas": 64}
    ratios = [simulate({**knobs, "cache.capacity_items": c}, seed=seed).summary["cache_hit_ratio"]
              for c in (1, 10, 30, 100, 300, 1000, 3000, 6000)]
    assert non_decreasing(ratios), ratios
    assert ratios[-1] > ratios[0] + 0.2


@pytest.mark.parametrize("seed", SEEDS)
def test_a_longer_ttl_never_lowers_the_hit_ratio(seed):
    """An entry valid for longer is valid at every moment the shorter-lived one was; with no
    queueing (64 replicas) every answer is stored at the same moment in every run."""
    knobs = {"cache.enabled": True, "load.rate_rps": 50.0, "load.duration_s": 20.0,
             "load.catalog_size": 2000, "cache.capacity_items": 500, "model.replicas": 64}
    ratios = [simulate({**knobs, "cache.ttl_s": ttl}, seed=seed).summary["cache_hit_ratio"]
              for ttl in (0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 0.0)]     # 0 = never expires, last
    assert non_decreasing(ratios), ratios
    assert ratios[-1] > ratios[0] + 0.1


@pytest.mark.parametrize("seed", SEEDS)
def test_a_lower_rate_limit_never_admits_more(seed):
    """A token bucket with a slower refill has, at every arrival, no more tokens than a faster
    one that admitted at least as many before; the gateway meets the same arrivals in both."""
    knobs = {"load.rate_rps": 60.0, "load.duration_s": 20.0, "load.pattern": "bursty",
             "gateway.burst": 10, "model.replicas": 16}
    admitted = []
    for limit in (80.0, 60.0, 40.0, 20.0, 10.0, 5.0):
        res = simulate({**knobs, "gateway.rate_limit_rps": limit}, seed=seed)
        admitted.append(res.summary["requests"] - res.summary["outcomes"]["rejected"])
    assert non_decreasing(admitted[::-1]), admitted
    assert admitted[0] > 3 * admitted[-1]


@pytest.mark.parametrize("seed", SEEDS)
def test_a_retry_budget_never_increases_model_calls(seed):
    """During an error outage every retry fails, so each granted retry is one more call; a
    budget grants a subset of what no budget grants, and a tighter budget a subset of a
    looser one.  (Ratios are well apart: retries are granted per trailing window.)"""
    knobs = {"load.rate_rps": 40.0, "load.duration_s": 20.0, "model.error_rate": 0.05,
             "fault.mode": "error", "fault.outage_start_s": 5.0, "fault.outage_duration_s": 8.0,
             "retry.max_attempts": 4, "retry.backoff": "exponential", "retry.jitter": "full"}
    calls = [simulate({**knobs, "retry.budget_ratio": ratio}, seed=seed).summary["model_calls"]
             for ratio in (0.0, 2.0, 0.5, 0.1, 0.02)]    # 0 = unlimited comes first
    assert non_decreasing(calls[::-1]), calls
    assert calls[0] > 1.5 * calls[-1]


@pytest.mark.parametrize("seed", SEEDS)
def test_more_attempts_never_lower_the_success_rate_when_errors_are_independent(seed):
    """With independent errors and no overload, an extra attempt can only rescue a request
    that would otherwise fail; the first attempt's error draw is the same in every run."""
    knobs = {"load.rate_rps": 30.0, "load.duration_s": 20.0, "model.error_rate": 0.3,
             "model.replicas": 16, "retry.backoff": "none"}
    rates = [simulate({**knobs, "retry.max_attempts": n}, seed=seed).summary["success_rate"]
             for n in (1, 2, 3, 5)]
    assert non_decreasing(rates), rates
    # ~600 requests: the one-attempt success share has sd sqrt(0.21 / 600) ~ 0.019; 0.08 is
    # four of them.  Five attempts fail with probability 0.3^5 ~ 0.002.
    assert rates[0] == pytest.approx(0.7, abs=0.08) and rates[-1] > 0.99
