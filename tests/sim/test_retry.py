"""Retries: backoff and jitter, the retry budget, adaptive throttling, and their traces in a run.

Sources: Brooker, "Exponential Backoff
and Jitter", AWS Architecture Blog 2015 (exponential min(cap, base * 2^n); full jitter
U(0, v); equal jitter v/2 + U(0, v/2); decorrelated min(cap, U(base, 3 * previous)));
Google SRE book, "Handling Overload" (retry budget as a share of recent requests; adaptive
throttling max(0, (requests - K * accepts) / (requests + 1))).  Formulas are checked
exactly with a stubbed uniform; run-level checks read the attempt log and are exact too.
Outage-scale behaviour (waves, metastability, deadlines, retry.on) is in test_resilience.py.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.sim import simulate
from labkit.sim.retry import AdaptiveThrottle, RetryBudget, WindowCounter, backoff_ms

EPS = 1e-9


def const(u):
    return lambda: u


# -- backoff -------------------------------------------------------------------------------
@pytest.mark.parametrize("policy, jitter, n, prev, u, expected", [
    ("none", "full", 3, 0.0, 0.5, 0.0),
    ("constant", "none", 1, 0.0, 0.5, 50.0),
    ("constant", "none", 7, 0.0, 0.5, 50.0),
    ("exponential", "none", 1, 0.0, 0.5, 50.0),
    ("exponential", "none", 2, 0.0, 0.5, 100.0),
    ("exponential", "none", 4, 0.0, 0.5, 400.0),
    ("exponential", "none", 10, 0.0, 0.5, 1000.0),      # capped
    ("exponential", "full", 3, 0.0, 0.25, 50.0),         # U(0, 200) at u = 0.25
    ("exponential", "equal", 3, 0.0, 0.5, 150.0),        # 100 + U(0, 100)
    ("exponential", "equal", 3, 0.0, 0.0, 100.0),
    ("constant", "full", 5, 0.0, 1.0, 50.0),
    ("exponential", "decorrelated", 1, 0.0, 0.5, 100.0),     # U(50, 150): from base
    ("exponential", "decorrelated", 2, 300.0, 0.5, 475.0),   # U(50, 900)
    ("exponential", "decorrelated", 3, 900.0, 1.0, 1000.0),  # capped
])
def test_backoff_formulas(policy, jitter, n, prev, u, expected):
    got = backoff_ms(policy, jitter, n, 50.0, 1000.0, prev, const(u))
    assert got == pytest.approx(expected)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 20), base=st.floats(0.0, 500.0), extra=st.floats(0.0, 5000.0),
       prev=st.floats(0.0, 5000.0), u=st.floats(0.0, 1.0, exclude_max=True),
       jitter=st.sampled_from(["none", "full", "equal", "decorrelated"]))
def test_exponential_backoff_stays_within_its_envelope(n, base, extra, prev, u, jitter):
    cap = base + extra                       # the scenario enforces cap >= base
    v = min(cap, base * 2.0 ** (n - 1))
    got = backoff_ms("exponential", jitter, n, base, cap, prev, const(u))
    lo, hi = {"none": (v, v), "full": (0.0, v), "equal": (v / 2, v),
              "decorrelated": (base, min(cap, max(base, 3 * (prev or base))))}[jitter]
    assert lo - 1e-6 <= got <= hi + 1e-6


def test_full_jitter_spreads_evenly_and_equal_jitter_keeps_half():
    """Means over 20,000 draws: full jitter v/2, equal jitter 3v/4 (Brooker 2015).

    The standard error of a U(0, v) mean over 20,000 draws is v/sqrt(12 * 20000) ~ 0.002 v;
    0.01 v is five standard errors.
    """
    rng = np.random.default_rng(5)
    draws = rng.random(20_000)
    it = iter(draws)
    full = [backoff_ms("exponential", "full", 3, 50.0, 1e4, 0.0, lambda: next(it))
            for _ in range(10_000)]
    equal = [backoff_ms("exponential", "equal", 3, 50.0, 1e4, 0.0, lambda: next(it))
             for _ in range(10_000)]
    assert np.mean(full) == pytest.approx(100.0, abs=2.0)
    assert np.mean(equal) == pytest.approx(150.0, abs=2.0)
    assert min(equal) >= 100.0


# -- trailing-window counters ---------------------------------------------------------------
def test_window_counter_counts_the_current_second_and_the_ones_before_it():
    c = WindowCounter(3.0)
    for t in (0.5, 1.5, 2.5, 2.6):
        c.add(t)
    assert c.total(2.9) == 4
    assert c.total(3.0) == 3                 # second 0 dropped
    assert c.total(4.99) == 2                # seconds 2, 3, 4
    assert c.total(100.0) == 0
    c.add(100.2, k=5)
    assert c.total(100.9) == 5


def test_window_counter_of_a_fractional_window_rounds_up_to_whole_seconds():
    c = WindowCounter(1.5)
    c.add(0.1)
    assert c.total(1.9) == 1 and c.total(2.0) == 0


def test_retry_budget_allows_retries_up_to_the_ratio_of_recent_requests():
    b = RetryBudget(ratio=0.1, window_s=10.0)
    for k in range(50):
        b.on_request(k * 0.1)                # 50 requests in 5 s
    allowed = [b.try_spend(5.0) for _ in range(8)]
    assert allowed == [True] * 5 + [False] * 3
    assert b.denied == 3
    # Ten seconds later the old requests and retries have left the window.
    for _ in range(20):
        b.on_request(20.0)
    assert [b.try_spend(20.5) for _ in range(3)] == [True, True, False]


def test_retry_budget_with_no_recent_requests_allows_nothing():
    b = RetryBudget(ratio=5.0, window_s=2.0)
    assert not b.try_spend(0.0)


def test_adaptive_throttle_rejection_probability_is_the_sre_formula():
    th = AdaptiveThrottle(k=2.0, window_s=120.0, uniform=const(0.5))
    assert th.reject_probability(0.0) == 0.0
    for _ in range(100):
        th.on_result(1.0, accepted=False)
    for _ in range(30):
        th.on_result(1.0, accepted=True)
    # requests 130, accepts 30: (130 - 60) / 131
    assert th.reject_probability(2.0) == pytest.approx(70.0 / 131.0)
    assert th.admit(2.0) is False            # u = 0.5 < p = 0.534: refused locally
    th_ok = AdaptiveThrottle(k=2.0, window_s=120.0, uniform=const(0.6))
    for ok in [False] * 100 + [True] * 30:
        th_ok.on_result(1.0, accepted=ok)
    assert th_ok.admit(2.0) is True          # u = 0.6 >= p: sent
    th2 = AdaptiveThrottle(k=2.0, window_s=120.0, uniform=const(0.9))
    for _ in range(100):
        th2.on_result(1.0, accepted=False)
    assert th2.admit(2.0) is False           # p = 100/101 > 0.9
    assert th2.rejected == 1
    assert th2.reject_probability(2.0) == pytest.approx((101 - 0) / 102.0)


def test_adaptive_throttle_never_rejects_while_accepts_keep_up():
    th = AdaptiveThrottle(k=2.0, window_s=10.0, uniform=const(0.0))
    for _ in range(100):
        th.on_result(0.0, accepted=True)
    for _ in range(100):
        th.on_result(0.0, accepted=False)    # half fail: 200 - 2*100 = 0
    assert th.reject_probability(0.5) == 0.0
    assert th.admit(0.5)


# -- retries in a run ------------------------------------------------------------------------
def run(**knobs):
    base = {"model.error_rate": 0.3, "retry.max_attempts": 4, "load.duration_s": 10.0,
            "retry.base_ms": 70.0, "retry.cap_ms": 500.0}
    base.update({k.replace("__", "."): v for k, v in knobs.items()})
    return simulate(base, seed=1)


def gaps_by_retry_number(res):
    """(retry number, time from an attempt's end to the next attempt's start) pairs."""
    a = np.sort(res.attempts, order=["request", "attempt"])
    same = a["request"][1:] == a["request"][:-1]
    gap = a["start_s"][1:] - a["end_s"][:-1]
    return a["attempt"][:-1][same].astype(int), gap[same]


def test_constant_backoff_waits_exactly_base_between_attempts():
    n, gap = gaps_by_retry_number(run(retry__backoff="constant", retry__jitter="none"))
    assert len(gap) > 50
    assert gap == pytest.approx(np.full(len(gap), 0.070), abs=EPS)


def test_exponential_backoff_doubles_up_to_the_cap():
    n, gap = gaps_by_retry_number(run(retry__backoff="exponential", retry__jitter="none"))
    expected = np.minimum(0.500, 0.070 * 2.0 ** (n - 1))
    assert set(n.tolist()) == {1, 2, 3}
    assert gap == pytest.approx(expected, abs=EPS)


def test_no_backoff_retries_at_once():
    n, gap = gaps_by_retry_number(run(retry__backoff="none"))
    assert len(gap) > 50 and np.abs(gap).max() <= EPS


def test_full_jitter_gaps_lie_under_the_exponential_envelope():
    n, gap = gaps_by_retry_number(run(retry__backoff="exponential", retry__jitter="full"))
    envelope = np.minimum(0.500, 0.070 * 2.0 ** (n - 1))
    assert (gap >= -EPS).all() and (gap <= envelope + EPS).all()
    assert len(np.unique(gap.round(9))) > 0.9 * len(gap)   # randomised, not a fixed wait


def test_retry_counts_agree_between_summary_records_and_attempt_log():
    res = run(retry__backoff="exponential", retry__jitter="full")
    r, a = res.records, res.attempts
    assert res.summary["retries"] == int((r["attempts"] - 1).clip(0).sum())
    assert res.summary["retries"] == int((a["attempt"] > 1).sum())
    assert (r["attempts"] <= 4).all()
    retried = (r["path"] & 128) > 0          # the "retry" path bit
    assert np.array_equal(retried, r["attempts"] > 1)


def test_retry_budget_holds_on_every_trailing_window():
    """Each retry is allowed only while retries in the trailing window stay within
    ratio x requests in it (retry.py; SRE book).  With no backoff a retry starts the moment
    it is granted, so its start time is when the budget was spent, and the property can be
    checked on the attempt log for every retry."""
    ratio, window = 0.1, 3
    res = simulate({"model.error_rate": 0.5, "retry.max_attempts": 3, "retry.backoff": "none",
                    "retry.budget_ratio": ratio, "retry.budget_window_s": float(window),
                    "load.duration_s": 20.0}, seed=4)
    r, a = res.records, res.attempts
    req_sec = np.floor(r["arrival_s"] + res.scenario.gateway.validate_ms / 1000.0).astype(int)
    retry_sec = np.floor(a["start_s"][a["attempt"] > 1]).astype(int)
    assert len(retry_sec) > 50
    req_per_sec = np.bincount(req_sec, minlength=40)
    ret_per_sec = np.bincount(retry_sec, minlength=40)
    for sec in np.unique(retry_sec):
        lo = max(0, sec - window + 1)
        assert ret_per_sec[lo:sec + 1].sum() <= ratio * req_per_sec[lo:sec + 1].sum() + EPS
    # Unlimited retries at 50% errors would retry about 0.5 + 0.25 = 0.75 per request.
    assert res.summary["retries"] <= 1.1 * ratio * len(r)


def test_adaptive_throttle_refuses_locally_without_calling_the_model():
    res = simulate({"model.error_rate": 1.0, "retry.adaptive_throttle": True,
                    "retry.throttle_window_s": 5.0, "load.duration_s": 20.0,
                    "fallback.chain": ("safe_message",)}, seed=2)
    a = res.attempts
    local = a[a["result"] == res.attempt_result_names.index("throttled_local")]
    # With every call failing, the rejection probability climbs towards 1: most requests
    # are refused locally (requests - 2 * 0) / (requests + 1) -> 1.
    assert len(local) > 0.8 * res.summary["requests"]
    assert not local["model_call"].any()
    assert res.summary["model_calls"] == int(a["model_call"].sum())
    assert res.summary["model_calls"] < 0.2 * res.summary["requests"]


# -- the retry policy --------------------------------------------------------------------------
def _req(attempts, deadline=np.inf):
    from labkit.sim.request import Request

    r = Request(0, prompt=0, write=False, deadline=deadline)
    r.attempts = attempts
    return r


def test_the_policy_retries_listed_failures_while_attempts_are_left():
    from labkit.sim.codes import Reason
    from labkit.sim.config import RetryConfig
    from labkit.sim.retry import RetryPolicy

    policy = RetryPolicy(RetryConfig(max_attempts=3, on=("timeout",), backoff="constant",
                                     jitter="none", base_ms=40.0), const(0.5))
    assert policy.budget is None
    r = _req(1)
    assert policy.wait_s(r, Reason.TIMEOUT, 0.0) == pytest.approx(0.04)
    assert r.prev_backoff == pytest.approx(40.0)
    assert policy.wait_s(r, Reason.ERROR, 0.0) is None              # not in retry.on
    assert policy.wait_s(_req(3), Reason.TIMEOUT, 0.0) is None      # no attempt left
    assert policy.wait_s(_req(1, deadline=0.03), Reason.TIMEOUT, 0.0) is None  # too late


def test_the_policy_spends_its_budget_only_on_retries_it_would_make():
    from labkit.sim.codes import Reason
    from labkit.sim.config import RetryConfig
    from labkit.sim.retry import RetryPolicy

    policy = RetryPolicy(RetryConfig(max_attempts=5, budget_ratio=0.5, backoff="none"),
                         const(0.5))
    for _ in range(4):
        policy.on_request(0.0)
    waits = [policy.wait_s(_req(1), Reason.ERROR, 0.0) for _ in range(4)]
    assert waits == [0.0, 0.0, None, None]        # 2 retries = 0.5 x 4 requests
    assert policy.budget.denied == 2
