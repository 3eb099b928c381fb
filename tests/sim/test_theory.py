"""labkit.sim.theory against published examples, independent formulas and Monte-Carlo.

Each closed form is checked three ways where possible: against a number printed in the
literature, against an independent implementation (Erlang C by factorials,
an exact LRU cache), and against seeded Monte-Carlo with a tolerance of about four standard
errors, so a wrong formula fails and a right one passes on every run.
"""
from __future__ import annotations

import doctest
import heapq
import importlib
import math
from collections import OrderedDict

import numpy as np
import pytest

from labkit.sim import theory as th


@pytest.mark.parametrize("name", ["labkit.sim.theory", "labkit.sim.theory.queues",
                                  "labkit.sim.theory.caches", "labkit.sim.theory.control"])
def test_doctests_pass(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0


def test_public_api_is_exported():
    assert sorted(th.__all__) == sorted(set(th.__all__))
    for name in th.__all__:
        assert callable(getattr(th, name)) or name == "MAX_SERVERS"


# -- queues -------------------------------------------------------------------------------
def erlang_c_by_factorials(c: int, a: float) -> float:
    top = a ** c / math.factorial(c) * c / (c - a)
    return top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)


def test_erlang_c_published_example():
    # textbook Erlang C example: lambda = 8/s, mu = 1/s, c = 10 -> C ~ 0.409, Wq ~ 0.205 s
    assert th.erlang_c(10, 8.0) == pytest.approx(0.409, abs=5e-4)
    m = th.mmc(rate_rps=8, service_ms=1000, servers=10)
    assert m.wq_ms == pytest.approx(205, abs=0.5)
    assert m.rho == pytest.approx(0.8)


@pytest.mark.parametrize("c,a", [(1, 0.5), (2, 1.5), (5, 4.9), (10, 8.0), (30, 25.0), (60, 30.0)])
def test_erlang_c_matches_factorial_formula(c, a):
    assert th.erlang_c(c, a) == pytest.approx(erlang_c_by_factorials(c, a), rel=1e-10)


def test_erlang_c_edges():
    assert th.erlang_c(3, 0.0) == 0.0
    assert th.erlang_c(1, 0.7) == pytest.approx(0.7)   # M/M/1: P(wait) = rho
    assert th.erlang_c(500, 450.0) < 1.0                # no overflow at large c


def test_mm1_textbook_values():
    m = th.mm1(rate_rps=8, service_ms=100)             # mu = 10/s, rho = 0.8
    assert (m.rho, m.p_wait) == pytest.approx((0.8, 0.8))
    assert m.wq_ms == pytest.approx(1000 * 0.8 / (10 - 8))
    assert m.w_ms == pytest.approx(1000 / (10 - 8))
    assert (m.lq, m.l) == pytest.approx((0.8 ** 2 / 0.2, 0.8 / 0.2))


@pytest.mark.parametrize("rate,service", [(1, 100), (5, 100), (9.5, 100), (0.3, 2000)])
def test_mmc_with_one_server_is_mm1(rate, service):
    a, b = th.mm1(rate, service), th.mmc(rate, service, 1)
    for field in ("rho", "p_wait", "wq_ms", "w_ms", "lq", "l"):
        assert getattr(b, field) == pytest.approx(getattr(a, field), rel=1e-12)


def test_queue_metrics_obey_littles_law_and_are_frozen():
    m = th.mmc(30, 100, 4)
    assert m.l == pytest.approx(th.littles_law(30, m.w_ms / 1000))
    assert m.lq == pytest.approx(30 * m.wq_ms / 1000)
    with pytest.raises(AttributeError):
        m.rho = 0.1  # type: ignore[misc]


def test_more_servers_never_wait_longer():
    waits = [th.mmc(30, 100, c).wq_ms for c in range(4, 12)]
    assert all(x > y for x, y in zip(waits, waits[1:]))


def test_pollaczek_khinchine():
    for rho in (0.3, 0.5, 0.8, 0.95):
        rate = rho * 10                                 # service 100 ms
        assert th.md1(rate, 100).wq_ms == pytest.approx(th.mm1(rate, 100).wq_ms / 2)
        assert th.mg1_pk(rate, 100, 1.0).wq_ms == pytest.approx(th.mm1(rate, 100).wq_ms)
    assert th.mg1_pk(5, 100, 2.0).wq_ms == pytest.approx(5 * th.md1(5, 100).wq_ms)


def test_kingman_and_allen_cunneen_reduce_to_exact_cases():
    assert th.kingman(8, 100, 1, 1).wq_ms == pytest.approx(th.mm1(8, 100).wq_ms)
    assert th.kingman(8, 100, 1, 0).wq_ms == pytest.approx(th.md1(8, 100).wq_ms)
    assert th.allen_cunneen(8, 1000, 10, 1, 1).wq_ms == pytest.approx(th.mmc(8, 1000, 10).wq_ms)
    assert th.allen_cunneen(8, 1000, 10, 0.5, 0.5).wq_ms == pytest.approx(
        th.mmc(8, 1000, 10).wq_ms / 2)
    assert th.allen_cunneen(8, 100, 1, 2, 0).wq_ms == pytest.approx(th.kingman(8, 100, 2, 0).wq_ms)


def test_wait_tail_formula():
    c, lam, mu = 10, 8.0, 1.0
    assert th.mmc_wait_exceeds(lam, 1000, c, 0) == pytest.approx(th.erlang_c(c, lam / mu))
    assert th.mmc_wait_exceeds(lam, 1000, c, 500) == pytest.approx(
        th.erlang_c(c, 8.0) * math.exp(-(c * mu - lam) * 0.5))


@pytest.mark.parametrize("q", [0.5, 0.9, 0.95, 0.99])
def test_mm1_response_quantile_is_exponential(q):
    # In M/M/1 the response time is Exp(mu - lambda).
    assert th.mmc_response_quantile_ms(5, 100, 1, q) == pytest.approx(
        -1000 * math.log(1 - q) / 5, rel=1e-9)


def sample_mmc_response_s(rng, lam, mu, c, n):
    """Response times drawn from the M/M/c mixture: wait Exp(c mu - lambda) w.p. C, else 0."""
    waits = rng.exponential(1 / (c * mu - lam), n) * (rng.random(n) < th.erlang_c(c, lam / mu))
    return waits + rng.exponential(1 / mu, n)


@pytest.mark.parametrize("lam,service_ms,c", [(30, 100, 4), (8, 1000, 10),
                                              (10, 100, 2)])   # last: c mu - lambda = mu
def test_response_quantile_inverts_monte_carlo_tail(lam, service_ms, c):
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(20240611)))
    n = 400_000
    t = sample_mmc_response_s(rng, lam, 1000 / service_ms, c, n) * 1000
    for q in (0.5, 0.95, 0.99):
        tail = float(np.mean(t > th.mmc_response_quantile_ms(lam, service_ms, c, q)))
        se = math.sqrt(q * (1 - q) / n)                 # binomial standard error
        assert tail == pytest.approx(1 - q, abs=4.5 * se)


def test_response_quantile_is_continuous_where_rates_coincide():
    at = th.mmc_response_quantile_ms(10, 100, 2, 0.95)   # theta = mu exactly
    near = th.mmc_response_quantile_ms(10 + 1e-6, 100, 2, 0.95)
    assert near == pytest.approx(at, rel=1e-5)


def fcfs_mmc(rng, lam, mu, c, n):
    """Waits of n customers in a first-come-first-served M/M/c queue (independent of labkit)."""
    free = [0.0] * c
    arrivals = np.cumsum(rng.exponential(1 / lam, n))
    services = rng.exponential(1 / mu, n)
    waits = np.empty(n)
    for i in range(n):
        start = max(arrivals[i], heapq.heappop(free))
        waits[i] = start - arrivals[i]
        heapq.heappush(free, start + services[i])
    return waits, services


def test_erlang_c_and_tail_against_fcfs_queue():
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(7)))
    lam, mu, c, n = 15.0, 10.0, 2, 200_000                # rho = 0.75
    waits, services = fcfs_mmc(rng, lam, mu, c, n)
    waits, services = waits[5000:], services[5000:]       # drop warm-up from an empty system
    # Successive waits are correlated; batch means over 40 batches give an honest
    # standard error for each statistic, and 4.5 of them is the tolerance.
    def check(values, expected):
        means = values[: len(values) // 40 * 40].reshape(40, -1).mean(axis=1)
        se = means.std(ddof=1) / math.sqrt(40)
        assert abs(values.mean() - expected) <= 4.5 * se + 1e-9, (values.mean(), expected, se)
    check((waits > 0).astype(float), th.erlang_c(c, lam / mu))
    check(waits * 1000, th.mmc(lam, 100, c).wq_ms)
    check((waits > 0.1).astype(float), th.mmc_wait_exceeds(lam, 100, c, 100))
    p95 = th.mmc_response_quantile_ms(lam, 100, c, 0.95)
    check(((waits + services) * 1000 > p95).astype(float), 0.05)


def test_min_replicas_for_p95_is_the_smallest_that_meets_the_budget():
    for lam, service, budget in [(40, 80, 300), (100, 50, 200), (5, 200, 2000), (300, 80, 260)]:
        c = th.min_replicas_for_p95(lam, service, budget)
        assert th.mmc_response_quantile_ms(lam, service, c, 0.95) <= budget
        if c - 1 > lam * service / 1000:
            assert th.mmc_response_quantile_ms(lam, service, c - 1, 0.95) > budget
    assert th.min_replicas_for_p95(40, 80, 300) == 5


# -- caches -------------------------------------------------------------------------------
def test_zipf_popularity():
    p = th.zipf_popularity(1000, 0.8)
    assert p.sum() == pytest.approx(1.0) and np.all(np.diff(p) < 0)
    assert p[0] / p[1] == pytest.approx(2 ** 0.8)
    assert np.allclose(th.zipf_popularity(5, 0), 0.2)


def test_che_published_example_and_constraint():
    p = th.zipf_popularity(10_000, 1.0)
    assert th.che_lru_hit_ratio(p, 1000) == pytest.approx(0.676, abs=1e-3)
    assert th.che_item_hit_probabilities(p, 1000).sum() == pytest.approx(1000, rel=1e-9)
    t = th.che_characteristic_time(p, rate_rps=50, capacity=1000)
    assert np.sum(-np.expm1(-50 * p * t)) == pytest.approx(1000, rel=1e-9)
    assert th.che_characteristic_time(p, 100, 1000) == pytest.approx(t / 2, rel=1e-9)


def test_cache_policies_are_ordered_and_uniform_popularity_is_exact():
    p = th.zipf_popularity(5000, 0.9)
    for cap in (10, 100, 1000):
        assert th.fifo_hit_ratio(p, cap) < th.che_lru_hit_ratio(p, cap) < th.static_top_c_bound(p, cap)
    u = th.zipf_popularity(400, 0.0)                      # any policy hits C/n on uniform demand
    assert th.che_lru_hit_ratio(u, 100) == pytest.approx(0.25)
    assert th.fifo_hit_ratio(u, 100) == pytest.approx(0.25)
    assert th.static_top_c_bound(u, 100) == pytest.approx(0.25)


def test_everything_fits():
    p = [0.5, 0.5, 0.0]
    assert th.che_characteristic_time(p, 1.0, 2) == math.inf
    assert th.che_item_hit_probabilities(p, 2).tolist() == [1.0, 1.0, 0.0]
    assert th.che_lru_hit_ratio(p, 5) == 1.0 and th.fifo_hit_ratio(p, 2) == 1.0


def test_che_against_an_exact_lru_cache():
    # Independent check of the approximation itself: an OrderedDict LRU fed independent Zipf
    # requests. Che is accurate to well under 1% here (Fricker et al. 2012); the hit count
    # over 150,000 requests after warm-up has a standard error of ~0.0013, so 0.006 is
    # about 1% of approximation plus 3.5 standard errors.
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(11)))
    p = th.zipf_popularity(2000, 0.8)
    keys = rng.choice(len(p), size=170_000, p=p)
    cache: OrderedDict[int, None] = OrderedDict()
    hits = 0
    for i, k in enumerate(keys):
        if k in cache:
            cache.move_to_end(k)
            hits += i >= 20_000
        else:
            cache[k] = None
            if len(cache) > 200:
                cache.popitem(last=False)
    assert hits / 150_000 == pytest.approx(th.che_lru_hit_ratio(p, 200), abs=0.006)


def test_ttl_formulas():
    assert th.ttl_hit_ratio(4.0, 0.5) == pytest.approx(2 / 3)
    assert th.ttl_hit_ratio(4.0, 0.5, reset_on_hit=True) == pytest.approx(1 - math.exp(-2))
    assert th.ttl_hit_ratio(4.0, 0.0) == 0.0
    arr = th.ttl_hit_ratio(np.array([0.0, 1.0, 3.0]), 1.0)
    assert isinstance(arr, np.ndarray) and arr.tolist() == pytest.approx([0, 0.5, 0.75])
    p = th.zipf_popularity(100, 1.0)
    assert th.ttl_cache_hit_ratio(p, 20, 2.0) == pytest.approx(
        float(np.sum(p * 40 * p / (1 + 40 * p))))
    assert th.ttl_cache_hit_ratio(p, 20, 1e9) == pytest.approx(1.0, abs=1e-6)


def test_ttl_insertion_timer_by_monte_carlo():
    # Renewal argument check: one item at rate 3/s, timer 0.5 s set on insertion only.
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(3)))
    times = np.cumsum(rng.exponential(1 / 3.0, 100_000))
    stored, hits = -math.inf, 0
    for t in times:
        if t - stored < 0.5:
            hits += 1
        else:
            stored = t
    se = math.sqrt(0.6 * 0.4 / 100_000) * 2               # renewal correlation: doubled SE
    assert hits / len(times) == pytest.approx(th.ttl_hit_ratio(3.0, 0.5), abs=4 * se)


def test_static_bound_sorts_its_input():
    assert th.static_top_c_bound([0.1, 0.6, 0.3], 2) == pytest.approx(0.9)


# -- batching, token bucket, retries, autoscaling -----------------------------------------
def test_batching_formulas():
    assert th.batch_service_ms(1, 80, 0.3) == 80
    assert th.batch_service_ms(5, 80, 0.25) == pytest.approx(160)
    assert th.batch_capacity_rps(1, 80, 0.1, 4) == pytest.approx(50)
    assert th.batch_capacity_rps(8, 80, 0.0, 1) == pytest.approx(100)   # free batching
    assert th.batch_capacity_rps(16, 80, 0.1, 2) == pytest.approx(2 * 16 / 0.2)
    assert th.light_load_batch_size(5, 100, 8) == pytest.approx(1.5)
    assert th.light_load_batch_size(500, 100, 8) == 8


def test_token_bucket_bound():
    assert th.token_bucket_max_admissions(10, 20, 0) == 20
    assert th.token_bucket_max_admissions(12.5, 5, 4) == 55


def test_expected_attempts_limits_and_monte_carlo():
    assert th.expected_attempts(0.0, 5) == 1.0
    assert th.expected_attempts(1.0, 5) == 5.0
    assert th.expected_attempts(1 - 1e-9, 5) == pytest.approx(5.0, rel=1e-6)
    assert th.expected_attempts(0.3, 1) == 1.0
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(5)))
    f, n = 0.4, 3
    attempts = np.minimum(rng.geometric(1 - f, 200_000), n)
    se = attempts.std() / math.sqrt(len(attempts))
    assert attempts.mean() == pytest.approx(th.expected_attempts(f, n), abs=4.5 * se)


def test_retry_multipliers():
    assert th.layered_attempts(4, 3) == 64
    assert th.layered_attempts(1, 5) == 1
    assert th.metastable_band(90, 2) == (30.0, 90.0)
    assert th.metastable_band(90, 0) == (90.0, 90.0)
    assert th.retry_budget_amplification(0.2) == pytest.approx(1.2)


def test_backoff_bounds():
    assert th.backoff_bounds_ms(1, 100, 10_000, "none") == (100.0, 100.0)
    assert th.backoff_bounds_ms(4, 100, 10_000, "none") == (800.0, 800.0)
    assert th.backoff_bounds_ms(10, 100, 10_000, "full") == (0.0, 10_000.0)   # capped
    assert th.backoff_bounds_ms(3, 100, 10_000, "equal") == (200.0, 400.0)
    assert th.backoff_bounds_ms(9, 100, 1000, "none", backoff="constant") == (100.0, 100.0)
    assert th.backoff_bounds_ms(3, 100, 1000, "full", backoff="none") == (0.0, 0.0)
    assert th.backoff_bounds_ms(1, 100, 1000, "decorrelated") == (100.0, 300.0)
    assert th.backoff_bounds_ms(2, 100, 1000, "decorrelated", prev_ms=250) == (100.0, 750.0)
    assert th.backoff_bounds_ms(5, 100, 1000, "decorrelated", prev_ms=900) == (100.0, 1000.0)
    assert th.backoff_bounds_ms(10_000, 1, 50, "none") == (50.0, 50.0)      # no overflow


def test_adaptive_throttle():
    assert th.adaptive_throttle_probability(0, 0) == 0.0
    assert th.adaptive_throttle_probability(100, 50, k=2) == 0.0          # healthy backend
    assert th.adaptive_throttle_probability(100, 0, k=2) == pytest.approx(100 / 101)
    assert th.adaptive_throttle_probability(120, 30, k=1.5) == pytest.approx(75 / 121)


def test_hpa_kubernetes_examples():
    # Kubernetes docs: metric 200m against target 100m doubles, 50m halves the replicas.
    assert th.hpa_desired_replicas(3, 200, 100) == 6
    assert th.hpa_desired_replicas(4, 50, 100) == 2
    assert th.hpa_desired_replicas(4, 108, 100) == 4                      # within 10%
    assert th.hpa_desired_replicas(4, 93, 100) == 4
    assert th.hpa_desired_replicas(4, 120, 100) == 5                      # ceil(4.8)
    assert th.hpa_desired_replicas(4, 130, 100, tolerance=0.5) == 4
    assert th.hpa_desired_replicas(5, 0, 100) == 0


# -- every error message ------------------------------------------------------------------
ERRORS = [
    (lambda: th.mm1(10, 100), r"rate_rps must be < servers x service rate \(10 req/s\), got 10$"),
    (lambda: th.mmc(9.0, 1000, 8), r"rate_rps must be < servers x service rate \(8 req/s\), got 9$"),
    (lambda: th.mmc(-1, 100, 2), r"rate_rps must be >= 0, got -1"),
    (lambda: th.mmc(1, 0, 2), r"service_ms must be > 0, got 0"),
    (lambda: th.mmc(1, float("nan"), 2), r"service_ms must be > 0, got nan"),
    (lambda: th.mmc(1, 100, 0), r"servers must be an integer >= 1, got 0"),
    (lambda: th.mmc(1, 100, 2.5), r"servers must be an integer >= 1, got 2.5"),
    (lambda: th.mmc(1, 100, True), r"servers must be an integer >= 1, got True"),
    (lambda: th.erlang_c(4, 4.0), r"offered_load must be < servers \(4\), got 4.0"),
    (lambda: th.erlang_c(4, -1.0), r"offered_load must be >= 0, got -1.0"),
    (lambda: th.mmc_wait_exceeds(1, 100, 1, -5), r"t_ms must be >= 0, got -5"),
    (lambda: th.mmc_response_quantile_ms(1, 100, 1, 1.0), r"q must be in \(0, 1\), got 1.0"),
    (lambda: th.mmc_response_quantile_ms(1, 100, 1, 0), r"q must be in \(0, 1\), got 0"),
    (lambda: th.min_replicas_for_p95(40, 80, 200),
     r"p95_ms must be above the service time's own p95 \(ln 20 x service_ms = 239.7 ms\) "
     r"to be met with <= 1000 replicas, got 200"),
    (lambda: th.min_replicas_for_p95(40, 80, 0), r"p95_ms must be > 0, got 0"),
    (lambda: th.min_replicas_for_p95(2e4, 80, 500),
     r"rate_rps must be < servers x service rate \(12500 req/s\), got 20000"),
    (lambda: th.mg1_pk(1, 100, -0.5), r"service_cv must be >= 0, got -0.5"),
    (lambda: th.kingman(1, 100, -1, 1), r"ca2 must be >= 0, got -1"),
    (lambda: th.allen_cunneen(1, 100, 2, 1, "x"), r"cs2 must be >= 0, got 'x'"),
    (lambda: th.littles_law(2, -1), r"time_s must be >= 0, got -1"),
    (lambda: th.zipf_popularity(0, 1), r"n_items must be an integer >= 1, got 0"),
    (lambda: th.zipf_popularity(10, -0.1), r"alpha must be >= 0, got -0.1"),
    (lambda: th.che_lru_hit_ratio([0.5, 0.6], 1),
     r"popularity must be a 1-d array of shares >= 0 summing to 1, got 'shape \(2,\), sum 1.1'"),
    (lambda: th.che_lru_hit_ratio([], 1), r"popularity must be .*, got 'empty'"),
    (lambda: th.fifo_hit_ratio([[1.0]], 1), r"popularity must be .*, got 'shape \(1, 1\), sum 1'"),
    (lambda: th.che_lru_hit_ratio([1.5, -0.5], 1), r"popularity must be .*sum 1'"),
    (lambda: th.che_item_hit_probabilities([1.0], 0), r"capacity must be an integer >= 1, got 0"),
    (lambda: th.che_characteristic_time([1.0], 0, 1), r"rate_rps must be > 0, got 0"),
    (lambda: th.static_top_c_bound([1.0], -2), r"capacity must be an integer >= 1, got -2"),
    (lambda: th.ttl_hit_ratio(-1.0, 1.0), r"rate_rps must be >= 0, got -1.0"),
    (lambda: th.ttl_hit_ratio(1.0, -1.0), r"ttl_s must be >= 0, got -1.0"),
    (lambda: th.ttl_cache_hit_ratio([1.0], 1.0, float("inf")), r"ttl_s must be >= 0, got inf"),
    (lambda: th.batch_service_ms(0, 80, 0.1), r"batch_size must be an integer >= 1, got 0"),
    (lambda: th.batch_service_ms(2, 80, -0.1), r"per_item_fraction must be >= 0, got -0.1"),
    (lambda: th.batch_capacity_rps(4, 80, 0.1, 0), r"replicas must be an integer >= 1, got 0"),
    (lambda: th.light_load_batch_size(1, 10, 0), r"max_size must be an integer >= 1, got 0"),
    (lambda: th.light_load_batch_size(1, -10, 2), r"max_wait_ms must be >= 0, got -10"),
    (lambda: th.token_bucket_max_admissions(1, -1, 1), r"burst must be >= 0, got -1"),
    (lambda: th.token_bucket_max_admissions(1, 1, -1), r"window_s must be >= 0, got -1"),
    (lambda: th.expected_attempts(1.2, 3), r"failure_prob must be in \[0, 1\], got 1.2"),
    (lambda: th.expected_attempts(0.2, 0), r"max_attempts must be an integer >= 1, got 0"),
    (lambda: th.layered_attempts(3, 0), r"layers must be an integer >= 1, got 0"),
    (lambda: th.layered_attempts(0, 2), r"attempts_per_layer must be an integer >= 1, got 0"),
    (lambda: th.metastable_band(0, 1), r"capacity_rps must be > 0, got 0"),
    (lambda: th.metastable_band(10, -1), r"retries must be an integer >= 0, got -1"),
    (lambda: th.backoff_bounds_ms(0, 1, 1, "full"), r"retry_number must be an integer >= 1, got 0"),
    (lambda: th.backoff_bounds_ms(1, 1, 1, "partial"),
     r"jitter must be one of none, full, equal, decorrelated, got 'partial'"),
    (lambda: th.backoff_bounds_ms(1, 1, 1, "full", backoff="linear"),
     r"backoff must be one of none, constant, exponential, got 'linear'"),
    (lambda: th.backoff_bounds_ms(1, -1, 1, "full"), r"base_ms must be >= 0, got -1"),
    (lambda: th.backoff_bounds_ms(1, 1, -1, "full"), r"cap_ms must be >= 0, got -1"),
    (lambda: th.backoff_bounds_ms(1, 1, 1, "decorrelated", prev_ms=-3), r"prev_ms must be >= 0, got -3"),
    (lambda: th.adaptive_throttle_probability(-1, 0), r"requests must be >= 0, got -1"),
    (lambda: th.adaptive_throttle_probability(1, -1), r"accepts must be >= 0, got -1"),
    (lambda: th.adaptive_throttle_probability(5, 1, k=0.5), r"k must be >= 1, got 0.5"),
    (lambda: th.retry_budget_amplification(-0.1), r"budget_ratio must be >= 0, got -0.1"),
    (lambda: th.hpa_desired_replicas(0, 1, 1), r"current must be an integer >= 1, got 0"),
    (lambda: th.hpa_desired_replicas(2, -1, 1), r"metric must be >= 0, got -1"),
    (lambda: th.hpa_desired_replicas(2, 1, 0), r"target must be > 0, got 0"),
    (lambda: th.hpa_desired_replicas(2, 1, 1, tolerance=-0.1), r"tolerance must be >= 0, got -0.1"),
]


@pytest.mark.parametrize("call,message", ERRORS, ids=[m[:40] for _, m in ERRORS])
def test_error_messages(call, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        call()
