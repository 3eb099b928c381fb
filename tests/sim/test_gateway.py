"""The API layer: validation, the token-bucket rate limit, load shedding and the deadline.

Sources: the token-bucket bound (in any window of length t, admissions <= burst +
rate * t) and deadline propagation (a request's budget bounds everything downstream); issue 2's
knob table (gateway.*).  The token-bucket bound and the deadline are exact properties, so
they are checked on every window and every request, with float rounding as the only slack.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.sim import simulate
from labkit.sim.codes import ANSWERED, REASONS, REJECTED, Reason
from labkit.sim.config import GatewayConfig
from labkit.sim.gateway import Gateway, TokenBucket

EPS = 1e-9


def reason(name):
    return REASONS.index(name)


# -- the token bucket --------------------------------------------------------------------
def test_bucket_rejects_bad_settings_with_the_value_named():
    with pytest.raises(ValueError, match=r"^rate_per_s must be > 0, got 0$"):
        TokenBucket(rate_per_s=0, burst=1)
    with pytest.raises(ValueError, match=r"^burst must be >= 1, got 0$"):
        TokenBucket(rate_per_s=1.0, burst=0)


def test_bucket_starts_full_refills_at_rate_and_caps_at_burst():
    b = TokenBucket(rate_per_s=10.0, burst=3)
    assert [b.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert b.take(0.05) is False               # half a token
    assert b.take(0.1) is True                 # one whole token after 0.1 s
    # A long idle spell refills to the burst, never beyond it.
    assert sum(b.take(100.0) for _ in range(10)) == 3


def max_admissions_excess(times, rate, burst):
    """Largest (admissions in [t_i, t_j]) - (burst + rate * (t_j - t_i)) over all windows."""
    t = np.sort(np.asarray(times, dtype=float))
    worst = -np.inf
    for lag in range(len(t)):
        span = t[lag:] - t[:len(t) - lag]
        worst = max(worst, float(np.max(lag + 1 - burst - rate * span)))
    return worst


@settings(max_examples=60, deadline=None)
@given(rate=st.floats(0.5, 50.0), burst=st.integers(1, 10),
       gaps=st.lists(st.floats(0.0, 0.5), min_size=1, max_size=120))
def test_bucket_admissions_never_exceed_burst_plus_rate_times_window(rate, burst, gaps):
    b = TokenBucket(rate_per_s=rate, burst=burst)
    times = np.cumsum(gaps)
    admitted = [t for t in times if b.take(float(t))]
    assert admitted, "a full bucket admits the first request"
    assert max_admissions_excess(admitted, rate, burst) <= 1e-6


# -- rate limiting in a run -----------------------------------------------------------------
def test_simulated_rate_limit_obeys_the_bound_on_every_window_and_runs_at_the_rate():
    rate, burst, duration = 50.0, 20, 20.0
    res = simulate({"load.rate_rps": 200.0, "load.duration_s": duration,
                    "gateway.rate_limit_rps": rate, "gateway.burst": burst,
                    "model.replicas": 20}, seed=3)
    r = res.records
    limited = r["reason"] == reason("rate_limited")
    assert (r["outcome"][limited] == REJECTED).all()
    admitted = r["arrival_s"][~limited]
    assert max_admissions_excess(admitted, rate, burst) <= 1e-6
    # At 4x overload the bucket is almost never full, so hardly a token is lost: the
    # long-run admission count sits just under burst + rate * T (1,020).  2% slack covers
    # the rare idle gaps long enough to top the bucket up to its cap (gaps are ~5 ms).
    assert 0.98 * (burst + rate * duration) <= len(admitted) <= burst + rate * duration


def test_rejected_requests_take_validation_time_and_never_reach_the_model():
    res = simulate({"load.rate_rps": 100.0, "load.duration_s": 5.0, "gateway.rate_limit_rps": 20.0,
                    "gateway.validate_ms": 3.0, "load.invalid_fraction": 0.2}, seed=4)
    r = res.records
    rejected = r[r["outcome"] == REJECTED]
    assert {REASONS[x] for x in rejected["reason"]} == {"invalid", "rate_limited"}
    assert rejected["latency_ms"] == pytest.approx(np.full(len(rejected), 3.0), abs=1e-6)
    assert (rejected["attempts"] == 0).all() and (rejected["model_calls"] == 0).all()
    assert not set(rejected["id"].tolist()) & set(res.attempts["request"].tolist())
    # Latency percentiles are over answered requests only.
    answered = r[np.isin(r["outcome"], ANSWERED)]
    assert res.summary["latency_ms"]["mean"] == pytest.approx(answered["latency_ms"].mean())


def test_invalid_share_matches_the_knob():
    """Each request is invalid with probability f, independently: the count is Binomial(n, f).

    4.5 standard deviations of the binomial keeps a correct simulator passing on any seed
    (p ~ 7e-6) while a wrong share (say 0.25 instead of 0.30) is ~12 sigma away.
    """
    f = 0.3
    res = simulate({"load.invalid_fraction": f, "load.duration_s": 60.0}, seed=9)
    r = res.records
    n = len(r)
    invalid = int((r["reason"] == reason("invalid")).sum())
    assert abs(invalid - n * f) <= 4.5 * np.sqrt(n * f * (1 - f))
    assert res.summary["outcomes"]["rejected"] == invalid


# -- shedding ------------------------------------------------------------------------------
def test_max_queue_caps_the_model_queue_and_sheds_the_rest():
    knobs = {"load.rate_rps": 120.0, "load.duration_s": 20.0, "model.replicas": 4,
             "model.service_ms": 80.0}                    # capacity 50 req/s: overload
    shed = simulate({**knobs, "gateway.max_queue": 30}, seed=5)
    q = shed.timeseries()["queue_len"]
    assert q.max() <= 30
    r = shed.records
    was_shed = r["reason"] == reason("shed")
    assert was_shed.sum() > 500
    assert (r["outcome"][was_shed] == REJECTED).all()
    assert (r["model_calls"][was_shed] == 0).all()
    # Without the cap the same overload queues far past 30.
    unbounded = simulate(knobs, seed=5)
    assert unbounded.timeseries()["queue_len"].max() > 300
    assert unbounded.summary["outcomes"]["rejected"] == 0


# -- the deadline --------------------------------------------------------------------------
def test_requests_that_run_out_of_deadline_fail_exactly_at_it():
    res = simulate({"load.rate_rps": 80.0, "load.duration_s": 15.0, "gateway.deadline_ms": 500.0},
                   seed=1)
    r = res.records
    late = r["reason"] == reason("deadline")
    assert late.sum() > 100
    assert (r["outcome"][late] == 2).all()
    assert r["latency_ms"][late] == pytest.approx(np.full(late.sum(), 500.0), abs=1e-6)
    answered = np.isin(r["outcome"], ANSWERED)
    assert r["latency_ms"][answered].max() <= 500.0 + EPS


def test_no_answer_arrives_after_the_deadline_even_from_a_fallback():
    """gateway.deadline_ms is the end-to-end budget: "work past it is abandoned" (knob help).

    Overload (80 req/s against 50 req/s of capacity) with 200 ms attempt timeouts sends
    most requests to a single small-model replica that can serve only 20 req/s; its queue
    grows, and an answer that comes back seconds after the 500 ms budget breaks it.
    """
    res = simulate({"load.rate_rps": 80.0, "load.duration_s": 20.0, "gateway.deadline_ms": 500.0,
                    "retry.timeout_ms": 200.0, "fallback.chain": ("small_model",),
                    "fallback.small_model_replicas": 1, "fallback.small_model_ms": 50.0},
                   seed=1)
    r = res.records
    answered = r[np.isin(r["outcome"], ANSWERED)]
    assert len(answered) > 0
    assert answered["latency_ms"].max() <= 500.0 + EPS


# -- the gateway on its own ------------------------------------------------------------------
def test_the_gateway_refuses_invalid_requests_then_those_over_the_rate_limit():
    open_gate = Gateway(GatewayConfig())
    assert open_gate.limiter is None and open_gate.max_queue is None
    assert open_gate.deadline_s == np.inf and open_gate.validate_s == 0.002
    assert open_gate.refuse(False, 0.0) == Reason.INVALID
    assert open_gate.refuse(True, 0.0) == Reason.NONE
    limited = Gateway(GatewayConfig(rate_limit_rps=1.0, burst=2, deadline_ms=500.0,
                                    max_queue=7))
    assert [limited.refuse(True, 0.0) for _ in range(3)] == [
        Reason.NONE, Reason.NONE, Reason.RATE_LIMITED]
    assert limited.refuse(False, 0.0) == Reason.INVALID      # invalid takes no token
    assert limited.refuse(True, 1.0) == Reason.NONE
    assert limited.deadline_s == 0.5 and limited.max_queue == 7
