"""The simulator against theory: each mechanism reproduces a result the field can cite.

Every comparison runs ``labkit.sim.simulate`` through its knobs only, on a scenario reduced to
the mechanism under test (Poisson arrivals, no validation delay, caches, batching, errors and
retries off unless tested), and states its tolerance next to it. Tolerances come from three
sources: the statistical error of the estimate (standard error across independent seeds, or
from the binomial/geometric variance theory gives), the start-up bias of a system that begins
empty (removed by a warm-up cut or bounded by relaxation time / run length), and the error of
the approximation itself where the formula is not exact.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.sim import simulate
from labkit.sim import theory as th
from labkit.sim.codes import ATTEMPT_RESULTS, CACHE_STATES, OUTCOMES, REASONS

BASE = {"load.pattern": "poisson", "model.error_rate": 0.0, "batch.max_size": 1,
        "cache.enabled": False, "gateway.validate_ms": 0.0, "model.service_dist": "exponential",
        "retry.max_attempts": 1, "retry.timeout_ms": 0.0}
OK = OUTCOMES.index("ok")
HITS = (CACHE_STATES.index("hit"), CACHE_STATES.index("stale"))


def run(seed: int, **knobs):
    return simulate({**BASE, **{k.replace("__", "."): v for k, v in knobs.items()}}, seed=seed)


def mean_and_se(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(len(a)))


# -- queues -------------------------------------------------------------------------------
# Independent replications: each seed is one long run from an empty system, and the spread
# of the 8 per-seed means gives an honest standard error (SE) whatever the autocorrelation of
# successive waits. Tolerance = 4 SE (t with 7 d.f.: two-sided p ~ 0.005) + 1% start-up
# bias: the bias is about (relaxation time 1/(mu (1 - sqrt(rho))^2)) / (run length), at most
# 0.9 s / 200 s = 0.5% here. The SE itself must stay under ``se_cap`` of the prediction
# (measured 1.5-2.5%, so the mean-wait tolerance is ~7-11%, growing with rho and with c's
# rarer waits), so a noisy or too-short run cannot pass by being vague. The share of calls
# that wait at all (Erlang C; rho for one server) has a much smaller SE (~0.002-0.003
# absolute), so it is held to 4 SE + 0.005.
QUEUES = [
    # label, knobs, theory, duration_s, se_cap
    ("M/M/1 rho=0.5", dict(load__rate_rps=50, model__service_ms=10, model__replicas=1),
     th.mm1(50, 10), 300, 0.03),
    ("M/M/1 rho=0.8", dict(load__rate_rps=80, model__service_ms=10, model__replicas=1),
     th.mm1(80, 10), 800, 0.025),
    ("M/M/4 rho=0.5", dict(load__rate_rps=200, model__service_ms=10, model__replicas=4),
     th.mmc(200, 10, 4), 300, 0.04),
    ("M/M/4 rho=0.8", dict(load__rate_rps=320, model__service_ms=10, model__replicas=4),
     th.mmc(320, 10, 4), 200, 0.03),
    ("M/D/1 rho=0.8", dict(load__rate_rps=80, model__service_ms=10, model__replicas=1,
                           model__service_dist="deterministic"),
     th.md1(80, 10), 400, 0.025),
]


@pytest.mark.slow
@pytest.mark.parametrize("label,knobs,theory,duration_s,se_cap", QUEUES,
                         ids=[q[0] for q in QUEUES])
def test_waiting_matches_queueing_theory(label, knobs, theory, duration_s, se_cap):
    waits, waited = [], []
    for seed in range(1, 9):
        res = run(seed, load__duration_s=duration_s, **knobs)
        waits.append(res.summary["model_wait_ms_mean"])
        waited.append(float(np.mean(res.attempts["wait_s"][res.attempts["model_call"]] > 0)))
    mean, se = mean_and_se(waits)
    assert se <= se_cap * theory.wq_ms, f"{label}: runs too noisy (SE {se:.3f} ms)"
    assert abs(mean - theory.wq_ms) <= 4 * se + 0.01 * theory.wq_ms, \
        f"{label}: simulated Wq {mean:.3f} ms vs theory {theory.wq_ms:.3f} ms (SE {se:.3f})"
    p_mean, p_se = mean_and_se(waited)
    assert abs(p_mean - theory.p_wait) <= 4 * p_se + 0.005, \
        f"{label}: P(wait) {p_mean:.4f} vs theory {theory.p_wait:.4f} (SE {p_se:.4f})"


@pytest.mark.slow
def test_response_p95_and_fewest_replicas_for_a_p95_budget():
    # Lab 1's graded task: 40 req/s of 80 ms calls under a 300 ms p95 budget. Theory says 5
    # replicas (p95 263 ms; 4 give 379 ms). Each p95 is averaged over 6 seeds of 12,000
    # requests; quantiles of autocorrelated waits are noisy near saturation (SE ~4% at c = 4,
    # ~1.5% at c = 5, from the seeds), so the tolerance is 4 SE + 1%.
    assert th.min_replicas_for_p95(40, 80, 300) == 5
    p95 = {}
    for c in (4, 5, 6):
        p95[c] = [run(seed, load__rate_rps=40, load__duration_s=300, model__service_ms=80,
                      model__replicas=c).summary["latency_ms"]["p95"] for seed in range(1, 7)]
        mean, se = mean_and_se(p95[c])
        predicted = th.mmc_response_quantile_ms(40, 80, c, 0.95)
        assert abs(mean - predicted) <= 4 * se + 0.01 * predicted, (c, mean, predicted, se)
    assert np.mean(p95[4]) > 300 and max(p95[5]) <= 300     # confirmed by simulation


def number_in_system(arrival_s: np.ndarray, end_s: np.ndarray, t0: float, t1: float) -> float:
    """Time-average number of requests in the system over [t0, t1], integrated exactly."""
    overlap = np.clip(np.minimum(end_s, t1) - np.maximum(arrival_s, t0), 0.0, None)
    return float(overlap.sum() / (t1 - t0))


@pytest.mark.parametrize("knobs", [
    dict(load__rate_rps=300, model__service_ms=10, model__replicas=4),
    # Little's law needs no model: caches, batches, errors and retries change W, not L = lambda W.
    dict(load__rate_rps=300, model__service_ms=20, model__replicas=2, cache__enabled=True,
         cache__capacity_items=200, load__catalog_size=2000, batch__max_size=4,
         batch__max_wait_ms=5, model__error_rate=0.2, retry__max_attempts=3,
         gateway__validate_ms=2.0),
], ids=["M/M/4", "cache+batching+retries"])
def test_littles_law_on_the_records(knobs):
    rec = run(1, load__duration_s=100, **knobs).records
    a, e = rec["arrival_s"], rec["end_s"]
    t0, t1 = 10.0, 90.0                                  # away from the empty start and the drain
    inside = (a >= t0) & (a < t1)
    lam = inside.sum() / (t1 - t0)
    w = float((e - a)[inside].mean())
    # Same sample path on both sides, so only edge effects differ: requests straddling t0 or
    # t1, about 2 L / (lambda (t1 - t0)) < 0.1% here; 1% leaves room and still catches a
    # wrong end time or a lost request.
    assert number_in_system(a, e, t0, t1) == pytest.approx(lam * w, rel=0.01)


# -- caches -------------------------------------------------------------------------------
def hit_ratio_after(rec: np.ndarray, warmup_s: float) -> float:
    later = rec[rec["arrival_s"] >= warmup_s]
    return float(np.isin(later["cache"], HITS).mean())


FAST = dict(model__service_ms=1, model__replicas=8)   # a miss is answered and stored in ~1 ms


@pytest.mark.slow
def test_lru_hit_ratio_matches_che_approximation():
    p = th.zipf_popularity(10_000, 1.0)
    # An LRU cache holds the C most recently requested distinct prompts, so once C distinct
    # prompts have been requested its content is exactly stationary: that takes about Che's
    # t_C (the expected time to see C distinct prompts). Hits are counted after 3 t_C.
    warmup_s = 3 * th.che_characteristic_time(p, 500, 1000)
    ratios = [hit_ratio_after(run(seed, load__rate_rps=500, load__duration_s=100,
                                  load__catalog_size=10_000, load__zipf_alpha=1.0,
                                  cache__enabled=True, cache__capacity_items=1000,
                                  **FAST).records, warmup_s) for seed in (1, 2, 3)]
    mean, se = mean_and_se(ratios)
    # Che is accurate to well under 1% at this size (Fricker, Robert & Roberts 2012); the
    # binomial SE of 3 x 36,000 requests is ~0.0014 and the seeds agree with it; 0.01 is
    # 0.5% approximation + ~4 SE. The 1 ms insert delay costs far less than that.
    assert se < 0.004
    assert mean == pytest.approx(th.che_lru_hit_ratio(p, 1000), abs=0.01)


def test_bigger_cache_never_lowers_the_hit_ratio():
    ratios = [run(4, load__rate_rps=500, load__duration_s=20, load__catalog_size=10_000,
                  cache__enabled=True, cache__capacity_items=c, **FAST).summary["cache_hit_ratio"]
              for c in (50, 200, 1000, 4000)]
    # Same seed, so the same prompt sequence (common random numbers); LRU is a stack
    # algorithm, so a bigger cache holds a superset and hits at least as often.
    assert all(a < b for a, b in zip(ratios, ratios[1:])), ratios


@pytest.mark.slow
def test_ttl_expiry_matches_insertion_timer_formula():
    p = th.zipf_popularity(1000, 0.8)
    # Capacity covers the catalogue, so only the timer evicts. A prompt's state depends on
    # its last miss, and every gap longer than T resets it, so 5 T of warm-up reaches the
    # stationary regime; each later hit indicator is then unbiased (Poisson arrivals see
    # time averages).
    ratios = [hit_ratio_after(run(seed, load__rate_rps=200, load__duration_s=150,
                                  load__catalog_size=1000, load__zipf_alpha=0.8,
                                  cache__enabled=True, cache__capacity_items=1000,
                                  cache__ttl_s=2.0, **FAST).records, 10.0)
              for seed in (1, 2, 3)]
    mean, se = mean_and_se(ratios)
    # Binomial SE of 3 x 28,000 requests ~0.0017; the 1 ms insert delay shifts each cycle by
    # 0.05% of T. 0.01 is ~5 SE.
    assert se < 0.005
    assert mean == pytest.approx(th.ttl_cache_hit_ratio(p, 200, 2.0), abs=0.01)


# -- batching -----------------------------------------------------------------------------
BATCH = dict(model__service_ms=80, model__replicas=2, model__per_item_fraction=0.1,
             batch__max_size=8)


def test_saturated_batches_reach_batch_capacity():
    capacity = th.batch_capacity_rps(8, 80, 0.1, 2)       # 117.6 req/s; unbatched: 25
    for seed in (1, 2):
        rec = run(seed, load__rate_rps=150, load__duration_s=60,
                  model__service_dist="deterministic", **BATCH).records
        e = rec["end_s"]
        done_rps = ((e >= 10) & (e < 60)).sum() / 50
        # Overloaded, so every batch is full and each replica completes one every s(8) =
        # 136 ms exactly; the window edges cut at most one batch per replica per edge,
        # 2 x 2 x 8 / (117.6 x 50) = 0.5%.
        assert done_rps == pytest.approx(capacity, rel=0.01)
        assert np.all(rec["batch_size"][(e >= 10) & (e < 60)] == 8)


def test_batching_keeps_a_load_stable_that_single_requests_cannot():
    # 100 req/s is 4x the unbatched capacity (25 req/s) and 85% of the batched one.
    batched = run(1, load__rate_rps=100, load__duration_s=120, **BATCH)
    single = run(1, load__rate_rps=100, load__duration_s=120, **{**BATCH, "batch__max_size": 1})
    q_batched = batched.timeseries(10.0)["queue_len"][:12]
    q_single = single.timeseries(10.0)["queue_len"][:12]
    # Unbatched, the queue grows at 100 - 25 = 75 req/s: ~9,000 by the end (half is slack).
    assert q_single[-1] > 0.5 * 75 * 120
    # Batched, it stays bounded: M/G/1-like with rho 0.85 holds tens, not thousands, and the
    # second half of the run is no worse than the first (no drift).
    assert q_batched.max() < 200
    rec = batched.records
    first, second = (rec["latency_ms"][rec["arrival_s"] < 60].mean(),
                     rec["latency_ms"][rec["arrival_s"] >= 60].mean())
    assert second < 1.5 * first and batched.summary["outcomes"]["ok"] == len(rec)


@pytest.mark.parametrize("rate_rps,max_wait_ms,max_size,duration_s,tol", [
    (20, 50, 8, 120, 0.08),     # lambda T = 1: 1 + Poisson(1) capped at 7, mean 2.0
    (200, 100, 4, 30, 0.02),    # lambda T = 20: every batch fills first
])
def test_light_load_batch_size_is_one_plus_lambda_t(rate_rps, max_wait_ms, max_size,
                                                    duration_s, tol):
    sizes = []
    for seed in (1, 2, 3):
        b = run(seed, load__rate_rps=rate_rps, load__duration_s=duration_s, model__service_ms=10,
                model__replicas=4, batch__max_size=max_size,
                batch__max_wait_ms=max_wait_ms).records["batch_size"].astype(float)
        sizes.append(len(b) / np.sum(1.0 / b))          # requests per batch, not per request
    # Replicas are idle almost always (10 ms service), so a batch is its first request plus
    # the Poisson(lambda T) arrivals during the hold: variance lambda T per batch, ~3,600
    # batches over 3 seeds, SE ~0.017 for lambda T = 1; 0.08 is ~4.5 SE.
    assert np.mean(sizes) == pytest.approx(
        th.light_load_batch_size(rate_rps, max_wait_ms, max_size), abs=tol)


# -- the token bucket ---------------------------------------------------------------------
@pytest.mark.parametrize("pattern", ["poisson", "spike", "bursty"])
def test_token_bucket_never_admits_more_than_burst_plus_rate_times_window(pattern):
    rate, burst, duration = 20.0, 10, 60.0
    rec = run(1, load__pattern=pattern, load__rate_rps=100, load__duration_s=duration,
              gateway__rate_limit_rps=rate, gateway__burst=burst, **FAST).records
    admitted = np.sort(rec["arrival_s"][rec["reason"] != REASONS.index("rate_limited")])
    # Any window [a_i, a_j] holds j - i + 1 admissions; with g_k = k - rate a_k the bound
    # j - i + 1 <= burst + rate (a_j - a_i) reads g_j - min_{i<=j} g_i + 1 <= burst, so the
    # worst window over all O(n^2) pairs is found in one pass.
    g = np.arange(len(admitted)) - rate * admitted
    worst = float(np.max(g - np.minimum.accumulate(g)) + 1)
    assert worst <= burst + 1e-9
    assert worst >= burst - 1                            # 5x overload: the bound is reached
    assert len(admitted) <= th.token_bucket_max_admissions(rate, burst, duration)
    assert len(admitted) >= 0.97 * rate * duration      # and the limiter wastes no tokens


# -- retries --------------------------------------------------------------------------------
@pytest.mark.parametrize("failure_prob,max_attempts", [(0.3, 3), (0.5, 4), (0.9, 5), (0.2, 1)])
def test_amplification_is_expected_attempts(failure_prob, max_attempts):
    res = run(1, load__rate_rps=200, load__duration_s=60, model__error_rate=failure_prob,
              retry__max_attempts=max_attempts, retry__backoff="none", **FAST)
    f, n = failure_prob, max_attempts
    mean = th.expected_attempts(f, n)
    # Attempts per request are min(Geometric(1 - f), n), independent across requests:
    # E[A^2] = sum_k (2k - 1) f^(k-1), so the SE of the mean over N requests is exact.
    var = sum((2 * k - 1) * f ** (k - 1) for k in range(1, n + 1)) - mean ** 2
    nreq = res.summary["requests"]
    assert res.summary["amplification"] == pytest.approx(mean, abs=4 * math.sqrt(var / nreq) + 1e-12)
    success = 1 - f ** n
    assert res.summary["success_rate"] == pytest.approx(
        success, abs=4 * math.sqrt(success * (1 - success) / nreq) + 1e-12)


CROWD = dict(load__pattern="spike", load__rate_rps=2, load__spike_multiplier=100,
             load__spike_start_s=5, load__spike_duration_s=1.0, load__duration_s=60,
             model__upstream_limit_rps=20, model__upstream_burst=5, model__replicas=8,
             model__service_ms=5, retry__max_attempts=20, retry__backoff="exponential",
             retry__base_ms=100, retry__cap_ms=5000, retry__on=("throttled",))
JITTERS = ("none", "full", "equal", "decorrelated")


def crowd_attempts(res) -> tuple[np.ndarray, np.ndarray]:
    """Attempts and records of the ~200 requests that arrive together in the spike."""
    rec = res.records
    crowd = np.flatnonzero((rec["arrival_s"] >= 5) & (rec["arrival_s"] < 6))
    a = res.attempts
    return a[np.isin(a["request"], crowd)], rec[crowd]


@pytest.mark.parametrize("jitter", JITTERS)
def test_every_backoff_wait_lies_within_the_aws_bounds(jitter):
    att, _ = crowd_attempts(run(1, retry__jitter=jitter, **CROWD))
    att = np.sort(att, order=["request", "attempt"])
    checked = 0
    prev_ms: dict[int, float] = {}
    for before, after in zip(att[:-1], att[1:]):
        if before["request"] != after["request"]:
            continue
        # A throttled call fails at once, so the gap between attempts is exactly the backoff.
        gap_ms = 1000 * (after["start_s"] - before["end_s"])
        lo, hi = th.backoff_bounds_ms(int(before["attempt"]), 100, 5000, jitter,
                                      prev_ms=prev_ms.get(int(before["request"])))
        assert lo - 1e-6 <= gap_ms <= hi + 1e-6, (jitter, int(before["attempt"]), gap_ms, lo, hi)
        prev_ms[int(before["request"])] = gap_ms
        checked += 1
    assert checked > 500


def test_jitter_spreads_retries_where_plain_backoff_sends_waves():
    # ~200 requests arrive within one second at an upstream that admits 20/s; every throttled
    # call is retried with exponential backoff (Brooker, AWS Architecture Blog, 2015).
    stats = {}
    for jitter in JITTERS:
        empty, work, finish = [], [], []
        for seed in (1, 2, 3):
            att, rec = crowd_attempts(run(seed, retry__jitter=jitter, **CROWD))
            retries = att["start_s"][att["attempt"] > 1]
            counts = np.histogram(retries, bins=np.arange(5.0, retries.max() + 0.05, 0.05))[0]
            empty.append(np.mean(counts == 0))          # share of 50 ms slots with no retry
            work.append(len(att) / len(rec))             # calls per request
            finish.append(rec["end_s"].max() - 5.0)      # time to serve the whole crowd
            assert np.all(rec["outcome"] == OK)
        stats[jitter] = (np.mean(empty), np.mean(work), np.mean(finish))
    none = stats.pop("none")
    # Without jitter every request's k-th retry lands at arrival + base (2^k - 1): the crowd
    # comes back in waves with silence between them (measured ~80% empty slots, against
    # 20-40% with any jitter), takes more than twice as long, and makes more calls.
    assert none[0] > 0.65
    for jitter, (empty, work, finish) in stats.items():
        assert empty < 0.5 and none[0] - empty > 0.3, (jitter, empty)
        assert none[2] > 1.8 * finish, (jitter, finish, none[2])
        assert none[1] > work, (jitter, work, none[1])


# -- metastable failure, breaker, kill switch ---------------------------------------------
OUTAGE = dict(load__rate_rps=30, load__duration_s=120, model__replicas=4, model__service_ms=80,
              retry__timeout_ms=1000, retry__backoff="none", fault__mode="hang",
              fault__outage_start_s=20, fault__outage_duration_s=10)


def ok_share(rec: np.ndarray, t0: float, t1: float) -> float:
    window = rec[(rec["arrival_s"] >= t0) & (rec["arrival_s"] < t1)]
    return float(np.mean(window["outcome"] == OK))


@pytest.mark.parametrize("seed", [1, 2])
def test_short_outage_with_immediate_retries_leaves_the_service_stuck(seed):
    # Capacity 4 / 80 ms = 50 req/s. With 3 retries per request the vulnerable band is
    # metastable_band(50, 3) = (12.5, 50) req/s (Bronson et al., HotOS 2021): at 30 req/s a
    # 10 s hang leaves a backlog whose timed-out calls the server still works through, new
    # requests time out behind it and retry, and load stays at ~4 x 30 > 50.
    low, high = th.metastable_band(50.0, 3)
    assert low < 30 < high
    stuck = run(seed, retry__max_attempts=4, **OUTAGE).records
    plain = run(seed, retry__max_attempts=1, **OUTAGE).records
    budget = run(seed, retry__max_attempts=4, retry__budget_ratio=0.1, **OUTAGE).records
    for rec in (stuck, plain, budget):
        assert ok_share(rec, 0, 20) > 0.95               # healthy before the trigger
    assert ok_share(stuck, 90, 120) < 0.02               # the trigger is long gone, goodput 0
    assert ok_share(plain, 90, 120) > 0.97               # no retries: the backlog drains
    assert ok_share(budget, 90, 120) > 0.97              # a 10% budget caps load at ~1.1 x 30
    # Below the band, 4 x 10 req/s < 50: retries cannot sustain the overload.
    below = run(seed, retry__max_attempts=4, **{**OUTAGE, "load__rate_rps": 10}).records
    assert ok_share(below, 90, 120) > 0.97


def test_breaker_stops_calls_to_a_dead_dependency_and_probes_after_open_s():
    window_s, open_s, probes = 10.0, 5.0, 5
    res = run(1, load__rate_rps=40, load__duration_s=90, model__replicas=4, model__service_ms=20,
              fault__mode="error", fault__outage_start_s=20, fault__outage_duration_s=40,
              breaker__enabled=True, breaker__window_s=window_s, breaker__min_calls=20,
              breaker__failure_rate=0.5, breaker__open_s=open_s,
              breaker__half_open_calls=probes)
    a = res.attempts
    refused = a["start_s"][a["result"] == ATTEMPT_RESULTS.index("breaker_open")]
    calls = np.sort(a["start_s"][a["model_call"]])
    first_open = refused.min()
    # The sliding window still holds the healthy calls of the last window_s, so the failure
    # share reaches 50% after about half a window, and certainly within one.
    assert 20 < first_open <= 20 + window_s
    # While the dependency is dead the breaker lets through only probes, one round per
    # open_s: each failing probe reopens it at once.
    dead = calls[(calls > first_open) & (calls < 60)]
    assert len(dead) <= probes * math.ceil((60 - first_open) / open_s)
    gaps = np.diff(dead)
    assert np.all(gaps[gaps > 0.5] >= open_s - 1e-9) and np.all(gaps <= open_s + 0.5)
    # After the outage the next probe succeeds and traffic flows again.
    assert calls[calls >= 60].size > 0.9 * 40 * 25
    assert ok_share(res.records, 60 + open_s + 1, 90) > 0.99


def test_kill_switch_sends_nothing_to_the_primary_and_loses_nothing():
    res = run(1, load__rate_rps=40, load__duration_s=60, model__replicas=4, model__service_ms=80,
              kill__at_s=30, fallback__chain=("small_model",), fallback__small_model_replicas=4)
    a, rec, s = res.attempts, res.records, res.summary
    assert not np.any(a["model_call"] & (a["start_s"] >= 30))
    assert sum(s["outcomes"].values()) == s["requests"] == len(rec)
    assert s["outcomes"]["failed"] == 0 and s["outcomes"]["rejected"] == 0
    late = rec[rec["arrival_s"] >= 30]
    assert np.all(late["outcome"] == OUTCOMES.index("degraded"))
    assert s["fallback_by_path"]["small_model"] >= len(late)
