"""The fallback chain and the kill switch, driven directly on a SimPy clock.

The chain is tried in order from the position given; an instant fallback answers when
tried, the small model answers after its service unless the deadline cuts it short, and
then the chain goes on after it.  The kill switch reroutes every call still queued for
the primary.  Times are exact.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

from labkit.sim.cache import LRUCache
from labkit.sim.codes import DEGRADED, FAILED, Attempt, Path, Reason
from labkit.sim.config import FallbackConfig, KillConfig
from labkit.sim.fallback import FallbackChain, KillSwitch
from labkit.sim.load import Workload
from labkit.sim.recorder import Recorder
from labkit.sim.replicas import Call, ReplicaPool
from labkit.sim.request import Request


def setup(chain, *, cache=None, small_model_ms=25.0, replicas=2):
    env = simpy.Environment()
    n = 4
    rec = Recorder(Workload(arrival_s=np.zeros(n), prompt=np.arange(n), valid=np.ones(n, bool),
                            write=np.zeros(n, bool), service_u=np.zeros(n),
                            error_u=np.zeros(n)))
    answers: list[tuple[int, int, float, float]] = []

    def answer(req, outcome, end):
        answers.append((req.id, outcome, end, req.quality))
        rec.finish(req, outcome, end, req.reason)

    fb = FallbackChain(env, FallbackConfig(chain=chain, small_model_ms=small_model_ms,
                                           small_model_replicas=replicas,
                                           small_model_quality=0.6, stale_quality=0.5,
                                           small_model_cost_per_call=0.001),
                       cache=cache, cache_hit_s=0.002, small_factors=[1.0] * n,
                       answer=answer, recorder=rec)
    return env, fb, rec, answers


def req(i=0, deadline=math.inf):
    return Request(i, prompt=i, write=False, deadline=deadline)


def test_with_no_fallback_the_request_fails_with_the_reason_named():
    env, fb, rec, answers = setup(())
    r = req()
    fb.start(r, Reason.TIMEOUT, 1.0)
    assert answers == [] and (r.outcome, r.end, r.reason) == (FAILED, 1.0, Reason.TIMEOUT)


def test_a_safe_message_answers_at_once_with_quality_zero():
    env, fb, rec, answers = setup(("stale_cache", "safe_message"))
    r = req()
    fb.start(r, Reason.ERROR, 2.0)
    assert answers == [(0, DEGRADED, 2.0, 0.0)]
    assert r.path & Path.SAFE_MESSAGE and not r.path & Path.STALE_CACHE
    assert r.reason == Reason.ERROR


def test_an_expired_cached_answer_is_served_when_one_is_held():
    cache = LRUCache(capacity_items=4, ttl_s=1.0, content_change_s=None, rng=lambda: 0.5)
    cache.put(0, 0.0)
    env, fb, rec, answers = setup(("stale_cache", "safe_message"), cache=cache)
    r = req()
    fb.start(r, Reason.ERROR, 5.0)
    assert answers == [(0, DEGRADED, 5.002, 0.5)] and r.path & Path.STALE_CACHE


def test_the_small_model_answers_after_its_service_and_is_paid_for():
    env, fb, rec, answers = setup(("small_model",))
    r = req()
    fb.start(r, Reason.BREAKER_OPEN, 0.0)
    env.run()
    assert answers == [(0, DEGRADED, pytest.approx(0.025), 0.6)]
    assert rec.fallback_calls == 1 and rec.fallback_cost == 0.001 and r.cost == 0.001


def test_a_deadline_cuts_the_small_model_short_and_the_chain_goes_on_after_it():
    env, fb, rec, answers = setup(("small_model", "safe_message"), small_model_ms=100.0,
                                  replicas=1)
    first = req(0, deadline=0.5)
    fb.start(first, Reason.ERROR, 0.0)      # the only small replica: busy until 0.1
    late = req(1, deadline=0.15)            # would end at 0.2, past its deadline ...
    env.run(until=0.01)
    fb.start(late, Reason.ERROR, 0.01)
    env.run()
    assert (1, DEGRADED, 0.15, 0.0) in answers        # ... so the safe message answers at it
    assert late.reason == Reason.DEADLINE and late.path & Path.SMALL_MODEL
    assert (0, DEGRADED, pytest.approx(0.1), 0.6) in answers


def test_no_small_model_call_is_made_that_cannot_finish_before_the_deadline():
    env, fb, rec, answers = setup(("small_model",), small_model_ms=100.0)
    r = req(deadline=0.05)
    fb.start(r, Reason.ERROR, 0.0)
    assert r.outcome == FAILED and rec.fallback_calls == 0


def test_the_kill_switch_reroutes_queued_calls_and_drops_abandoned_ones():
    env, fb, rec, answers = setup(("safe_message",))
    primary = ReplicaPool(env, replicas=1, service_s=10.0, per_item_fraction=0.0, max_size=1,
                          max_wait_s=0.0, on_done=lambda batch, now: None)
    calls = []
    for i in range(3):
        r = req(i)
        r.calls = r.attempts = 1
        c = Call(r, 0.0, 1.0)
        c.attempt = 1
        primary.submit(c)
        calls.append(c)
    calls[2].closed = True                   # its client gave up already
    KillSwitch(KillConfig(at_s=2.0)).arm(env, primary=primary, fallback=fb, recorder=rec)
    env.run(until=3.0)
    assert [a[:3] for a in answers] == [(1, DEGRADED, 2.0)]
    assert calls[1].owner.calls == 0 and calls[1].owner.reason == Reason.KILLED
    assert rec.attempts == [(1, 1, 0.0, 2.0, Attempt.KILLED, 0, 0.0, False)]
    assert primary.queued == 0


def test_a_kill_switch_that_is_off_schedules_nothing():
    env = simpy.Environment()
    KillSwitch(KillConfig()).arm(env, primary=None, fallback=None, recorder=None)  # type: ignore
    assert env.peek() == math.inf


def test_a_stale_cache_fallback_answers_only_when_cached_answers_expire():
    # An answer that has not expired is an ordinary hit, served before the model is tried, so
    # a request reaches the fallback with an entry in hand only when that entry expired.
    from labkit.sim import simulate

    throttled = {"load.rate_rps": 40.0, "load.duration_s": 30.0, "model.upstream_limit_rps": 25.0,
                 "retry.max_attempts": 1, "cache.enabled": True,
                 "fallback.chain": ("stale_cache", "safe_message")}
    never = simulate({**throttled, "cache.ttl_s": None}, seed=1).summary["fallback_by_path"]
    expiring = simulate({**throttled, "cache.ttl_s": 5.0}, seed=1).summary["fallback_by_path"]
    assert never["stale_cache"] == 0 and never["safe_message"] > 0
    assert expiring["stale_cache"] > 0
