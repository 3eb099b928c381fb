"""The circuit breaker: closed, open and half-open, over a sliding window of results.

The rules are the module's own (breaker.py docstring, knob help): open when at least
``min_calls`` results are in the window and the failure share reaches ``failure_rate``;
refuse calls for ``open_s``; then let ``half_open_calls`` probes through, close when all
succeed and open again on one failure.  Same shape as resilience4j and Hystrix
(their documented defaults).  Unit tests are exact; the run-level tests use settings
where the outcome is certain, not just likely (the reasoning is next to each).  The
attempts-log view of "no calls while open, probes every open_s" is in test_resilience.py.
"""
from __future__ import annotations

import numpy as np
import pytest

from labkit.sim import simulate
from labkit.sim.breaker import CLOSED, HALF_OPEN, OPEN, Breaker


def breaker(**kw):
    cfg = dict(failure_rate=0.5, min_calls=4, window_s=10.0, open_s=5.0, half_open_calls=2)
    cfg.update(kw)
    return Breaker(**cfg)


def test_stays_closed_until_min_calls_even_if_everything_fails():
    b = breaker(min_calls=4)
    for t in (0.1, 0.2, 0.3):
        b.record(t, False)
    assert b.state == CLOSED and b.allow(0.4)
    b.record(0.4, False)                      # the 4th result: 4 of 4 failed
    assert b.state == OPEN and b.opens == [0.4]


def test_opens_exactly_when_the_failure_share_reaches_the_rate():
    b = breaker(min_calls=4, failure_rate=0.5)
    for t, ok in ((0.1, True), (0.2, True), (0.3, True), (0.4, False), (0.5, True)):
        b.record(t, ok)
    assert b.state == CLOSED                  # 1 of 5 failed
    b.record(0.6, False)                      # 2 of 6: 33%
    assert b.state == CLOSED
    b.record(0.7, False)                      # 3 of 7: 43%
    assert b.state == CLOSED
    b.record(0.8, False)                      # 4 of 8: 50% -> open
    assert b.state == OPEN


def test_results_older_than_the_window_do_not_count():
    b = breaker(min_calls=4, window_s=10.0)
    for t in (0.5, 1.5, 2.5):
        b.record(t, False)
    # 3 failures long ago plus 1 now: only 1 result in the window, below min_calls.
    b.record(15.0, False)
    assert b.state == CLOSED
    for t in (15.1, 15.2):
        b.record(t, False)
    assert b.state == CLOSED                  # 3 in the window
    b.record(15.3, False)
    assert b.state == OPEN


def test_refuses_calls_while_open_then_lets_probes_through_half_open():
    b = breaker(min_calls=1, open_s=5.0, half_open_calls=2)
    b.record(1.0, False)
    assert b.state == OPEN
    assert not b.allow(1.0) and not b.allow(5.999)
    assert b.allow(6.0) and b.state == HALF_OPEN   # probe 1
    assert b.allow(6.1)                            # probe 2
    assert not b.allow(6.2)                        # no third probe


@pytest.mark.parametrize("t0", [0.0, 100.0])
def test_all_probes_succeeding_close_it_with_a_clean_window(t0):
    """Closing forgets the failures that opened it, at any time in the run (t0)."""
    b = breaker(min_calls=3, half_open_calls=2)
    for t in (1.0, 1.1, 1.2):
        b.record(t0 + t, False)
    assert b.state == OPEN
    assert b.allow(t0 + 6.3) and b.allow(t0 + 6.3)
    b.record(t0 + 6.5, True)
    assert b.state == HALF_OPEN
    b.record(t0 + 6.6, True)
    assert b.state == CLOSED
    assert [s for _, s in b.transitions] == [OPEN, HALF_OPEN, CLOSED]
    # One new failure is 1 result in the window, below min_calls (had the old three
    # been kept, 4 failures of 4 calls would reopen it).
    b.record(t0 + 6.7, False)
    assert b.state == CLOSED


def test_one_failed_probe_opens_it_again_for_another_open_s():
    b = breaker(min_calls=1, half_open_calls=3)
    b.record(1.0, False)
    assert b.allow(6.0)
    b.record(6.2, False)
    assert b.state == OPEN and b.opens == [1.0, 6.2]
    assert not b.allow(11.1) and b.allow(11.25)


def test_late_results_while_open_are_ignored():
    b = breaker(min_calls=1)
    b.record(1.0, False)
    for t in (1.1, 1.2, 1.3):
        b.record(t, True)
    assert b.state == OPEN and b.opens == [1.0]
    assert not b.allow(2.0)


def test_a_fractional_window_still_counts_every_result_inside_it():
    b = breaker(min_calls=3, window_s=0.5)
    b.record(0.00, False)
    b.record(0.20, False)
    b.record(0.45, False)
    assert b.state == OPEN


# -- in a run -------------------------------------------------------------------------
def test_a_healthy_model_never_trips_the_breaker():
    """2% independent errors against a 50% threshold over ~400 calls per 10 s window: the
    binomial tail P(>= 200 of 400 fail) is below 1e-200, so any open is a bug."""
    res = simulate({"breaker.enabled": True, "model.error_rate": 0.02,
                    "load.duration_s": 40.0}, seed=2)
    assert res.summary["breaker_opens"] == 0
    assert not (res.attempts["result"] == res.attempt_result_names.index("breaker_open")).any()


def test_a_dead_model_trips_it_and_requests_take_the_fallback_without_a_call():
    res = simulate({"breaker.enabled": True, "model.error_rate": 1.0, "load.duration_s": 20.0,
                    "breaker.open_s": 2.0, "fallback.chain": ("safe_message",)}, seed=3)
    s = res.summary
    assert s["breaker_opens"] >= 1
    refused = res.attempts[res.attempts["result"] == res.attempt_result_names.index("breaker_open")]
    assert len(refused) > 0.5 * s["requests"]
    assert not refused["model_call"].any()
    r = res.records
    by_breaker = r["reason"] == res.reason_names.index("breaker_open")
    assert by_breaker.sum() == len(np.unique(refused["request"]))
    assert (r["outcome"][by_breaker] == 1).all()      # degraded via the safe message


def test_the_breaker_recovers_after_an_outage_when_adaptive_throttling_is_on_too():
    """Both client protections together (as in the ``reference`` preset) must still let the
    service come back: once the outage ends the breaker has to probe and close again.

    Error outage 10-30 s at 40 req/s with a 5 s open period: the breaker opens within the
    outage and half-opens every 5 s.  From 40 s on (10 s after the trigger is gone) a
    working breaker is closed and nearly every request is answered by the model; this is
    what happens with throttling off (checked first, same seed).
    """
    knobs = {"load.rate_rps": 40.0, "load.duration_s": 60.0, "fault.mode": "error",
             "fault.outage_start_s": 10.0, "fault.outage_duration_s": 20.0,
             "breaker.enabled": True, "retry.throttle_window_s": 10.0,
             "fallback.chain": ("safe_message",)}
    for throttle in (False, True):
        res = simulate({**knobs, "retry.adaptive_throttle": throttle}, seed=1)
        r = res.records
        late = r["arrival_s"] >= 40.0
        ok_share = float((r["outcome"][late] == 0).mean())
        assert ok_share > 0.95, f"adaptive_throttle={throttle}: ok share after 40 s {ok_share:.3f}"
