"""The response cache: LRU eviction, insertion-time expiry, staleness, and its place on the path.

Unit tests pin the cache's documented rules exactly (cache.py's docstring): LRU eviction,
a TTL timer set on insertion and not reset by hits, expired entries kept for the
``stale_cache`` fallback, and stale hits after a content or world change.  Simulation tests
replay the run's own lookups and stores through an independent LRU and demand the very same
cache states, so any drift between the engine and the rules fails exactly (no tolerance).
Hit-ratio theory (Che's approximation, TTL formulas) lives in test_theory*.py.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

from labkit.sim import simulate
from labkit.sim.cache import EXPIRED, HIT, MISS, STALE, LRUCache
from labkit.sim.codes import DEGRADED, FAILED, OK, CacheState

C_MISS, C_HIT, C_STALE, C_EXPIRED = (CacheState.MISS, CacheState.HIT, CacheState.STALE,
                                     CacheState.EXPIRED)


def cache(capacity=3, ttl=None, change=None, u=0.5, world=math.inf):
    return LRUCache(capacity_items=capacity, ttl_s=ttl, content_change_s=change,
                    rng=lambda: u, world_change_s=world)


# -- LRU -----------------------------------------------------------------------------
def test_capacity_must_be_positive():
    with pytest.raises(ValueError, match=r"^capacity_items must be >= 1, got 0$"):
        cache(capacity=0)


def test_least_recently_used_is_evicted_and_lookups_refresh_recency():
    c = cache(capacity=3)
    for key in (1, 2, 3):
        c.put(key, 0.0)
    assert c.lookup(1, 1.0) == HIT          # 1 is now the most recent; 2 is the oldest
    c.put(4, 2.0)                           # evicts 2
    assert c.lookup(2, 3.0) == MISS
    assert [c.lookup(k, 3.0) for k in (1, 3, 4)] == [HIT, HIT, HIT]
    assert len(c) == 3 and c.evictions == 1


def test_putting_an_existing_key_does_not_evict():
    c = cache(capacity=2)
    c.put(1, 0.0)
    c.put(2, 0.0)
    c.put(1, 1.0)                           # refresh, not insert
    assert len(c) == 2 and c.evictions == 0
    c.put(3, 2.0)                           # now 2 is the least recent
    assert c.lookup(2, 2.0) == MISS and c.lookup(1, 2.0) == HIT


def test_a_miss_does_not_store_anything():
    c = cache(capacity=1)
    assert c.lookup(9, 0.0) == MISS
    assert len(c) == 0 and not c.has_entry(9)


# -- expiry ----------------------------------------------------------------------------
def test_ttl_timer_starts_on_insertion_and_hits_do_not_reset_it():
    c = cache(ttl=10.0)
    c.put(1, 0.0)
    assert c.lookup(1, 5.0) == HIT
    assert c.lookup(1, 9.999) == HIT
    assert c.lookup(1, 10.0) == EXPIRED     # exactly ttl after insertion
    assert c.lookup(1, 12.0) == EXPIRED     # the hit at 5 s did not extend it


def test_expired_entries_stay_for_the_stale_cache_fallback_until_stored_again():
    c = cache(ttl=1.0)
    c.put(1, 0.0)
    assert c.lookup(1, 2.0) == EXPIRED
    assert c.has_entry(1)
    c.put(1, 2.0)                           # a fresh answer restarts the timer
    assert c.lookup(1, 2.5) == HIT


def test_no_ttl_never_expires():
    c = cache(ttl=None)
    c.put(1, 0.0)
    assert c.lookup(1, 1e9) == HIT


# -- staleness ---------------------------------------------------------------------------
def test_content_change_makes_a_hit_stale_at_the_drawn_change_time():
    # The change time is now - change_s * ln(1 - u): with u = 1 - 1/e it is exactly change_s.
    c = cache(change=30.0, u=1.0 - math.exp(-1.0))
    c.put(1, 100.0)
    assert c.lookup(1, 129.9) == HIT
    assert c.lookup(1, 130.1) == STALE
    c.put(1, 131.0)                         # a new answer draws a new change time
    assert c.lookup(1, 140.0) == HIT


def test_world_change_makes_every_older_answer_stale_but_not_newer_ones():
    c = cache(world=50.0)
    c.put(1, 10.0)
    c.put(2, 60.0)
    assert c.lookup(1, 49.0) == HIT
    assert c.lookup(1, 50.0) == STALE
    assert c.lookup(2, 70.0) == HIT


def test_stale_is_decided_before_expiry_only_for_live_entries():
    c = cache(ttl=5.0, world=2.0)
    c.put(1, 0.0)
    assert c.lookup(1, 3.0) == STALE        # within ttl, after the change
    assert c.lookup(1, 6.0) == EXPIRED      # past ttl: expired wins


# -- the cache on the request path ---------------------------------------------------------
def replay_states(res, capacity, ttl):
    """Cache states an independent LRU gives for the run's lookups and stores."""
    r = res.records
    validate_s = res.scenario.gateway.validate_ms / 1000.0
    events = [(t + validate_s, 1, int(i)) for i, t in enumerate(r["arrival_s"])]
    stored = (r["outcome"] == OK) & (r["model_calls"] > 0)
    events += [(t, 0, int(i)) for i, t in zip(np.flatnonzero(stored), r["end_s"][stored])]
    lru: OrderedDict[int, float] = OrderedDict()
    states = np.zeros(len(r), dtype=int)
    for t, kind, i in sorted(events):
        key = int(r["prompt"][i])
        if kind == 0:                        # the model answered: store
            if key in lru:
                lru.move_to_end(key)
            elif len(lru) >= capacity:
                lru.popitem(last=False)
            lru[key] = t
        elif key not in lru:
            states[i] = C_MISS
        elif ttl and t - lru[key] >= ttl:
            states[i] = C_EXPIRED
        else:
            lru.move_to_end(key)
            states[i] = C_HIT
    return states


@pytest.mark.parametrize("capacity, ttl", [(50, 0.0), (200, 2.0), (10_000, 0.0)])
def test_engine_cache_states_match_an_independent_lru_replay(capacity, ttl):
    res = simulate({"cache.enabled": True, "cache.capacity_items": capacity, "cache.ttl_s": ttl,
                    "load.catalog_size": 2000, "load.rate_rps": 60.0, "load.duration_s": 15.0,
                    "model.replicas": 8}, seed=11)
    states = replay_states(res, capacity, ttl)
    got = res.records["cache"].astype(int)
    assert np.array_equal(got, states), f"{(got != states).sum()} requests differ"
    assert (got == C_HIT).sum() > 50          # the replay exercised hits ...
    assert (got == C_MISS).sum() > 50         # ... and misses
    if ttl:
        assert (got == C_EXPIRED).sum() > 0   # ... and expiry


def test_a_prompt_is_never_missed_after_its_first_answer_when_everything_fits():
    """With room for the whole catalogue and no expiry, only in-flight duplicates miss."""
    res = simulate({"cache.enabled": True, "cache.capacity_items": 500, "load.catalog_size": 500,
                    "load.rate_rps": 50.0, "load.duration_s": 20.0}, seed=3)
    r = res.records
    first_answer = {}
    for p, t, o, calls in zip(r["prompt"], r["end_s"], r["outcome"], r["model_calls"]):
        if o == 0 and calls:
            first_answer[p] = min(first_answer.get(p, math.inf), t)
    lookup_s = r["arrival_s"] + res.scenario.gateway.validate_ms / 1000.0
    misses = r["cache"] == C_MISS
    late = [t > first_answer[p] for p, t in zip(r["prompt"][misses], lookup_s[misses])]
    assert not any(late)
    distinct = len(np.unique(r["prompt"]))
    assert (r["cache"] == C_HIT).sum() <= len(r) - distinct
    assert res.summary["cache_hit_ratio"] == pytest.approx((r["cache"] == C_HIT).mean())


def test_a_hit_costs_validation_plus_hit_time_and_no_model_call():
    res = simulate({"cache.enabled": True, "cache.hit_ms": 3.5, "gateway.validate_ms": 1.5,
                    "load.catalog_size": 100, "load.duration_s": 10.0}, seed=2)
    r = res.records
    hits = r[r["cache"] == C_HIT]
    assert len(hits) > 100
    assert hits["latency_ms"] == pytest.approx(np.full(len(hits), 5.0), abs=1e-6)
    assert (hits["model_calls"] == 0).all() and (hits["attempts"] == 0).all()
    assert (hits["outcome"] == OK).all()
    assert hits["quality"] == pytest.approx(np.full(len(hits), res.scenario.model.quality))
    hit_ids = set(hits["id"].tolist())
    assert not hit_ids & set(res.attempts["request"].tolist())


def test_stale_hits_are_counted_as_hits_and_flagged_on_the_record():
    res = simulate({"cache.enabled": True, "cache.content_change_s": 5.0,
                    "load.catalog_size": 200, "load.duration_s": 20.0}, seed=1)
    r, s = res.records, res.summary
    looked = (r["cache"] != CacheState.NONE).sum()
    assert s["stale_hit_ratio"] == pytest.approx((r["cache"] == C_STALE).sum() / looked)
    assert s["cache_hit_ratio"] == pytest.approx(np.isin(r["cache"], (C_HIT, C_STALE)).sum()
                                                 / looked)
    assert 0 < s["stale_hit_ratio"] < s["cache_hit_ratio"]
    stale = r[r["cache"] == C_STALE]
    assert stale["stale"].all() and (stale["outcome"] == OK).all()
    assert not r[r["cache"] == C_HIT]["stale"].any()
    # A stale answer is served fast but is worth less than a fresh one.
    assert stale["quality"].max() < res.scenario.model.quality


def test_cache_off_means_no_lookups():
    res = simulate({"load.catalog_size": 10, "load.duration_s": 5.0}, seed=1)
    assert (res.records["cache"] == CacheState.NONE).all()
    assert res.summary["cache_hit_ratio"] == 0.0
    assert len(res.attempts) == len(res.records)


def test_writes_bypass_the_cache():
    res = simulate({"cache.enabled": True, "load.write_fraction": 0.3, "load.catalog_size": 20,
                    "load.duration_s": 10.0}, seed=6)
    r = res.records
    assert r["write"].sum() > 50
    assert (r["cache"][r["write"]] == CacheState.NONE).all()
    assert (r["model_calls"][r["write"]] >= 1).all()
    assert (r["cache"][~r["write"]] != CacheState.NONE).all()


def test_expired_entries_answer_through_the_stale_cache_fallback():
    """During an error outage, prompts with an entry (fresh or expired) are answered degraded
    at fallback.stale_quality; prompts never stored fail."""
    res = simulate({"cache.enabled": True, "cache.ttl_s": 1.0, "load.catalog_size": 300,
                    "load.duration_s": 20.0, "fault.mode": "error",
                    "fault.outage_start_s": 10.0, "fault.outage_duration_s": 5.0,
                    "fallback.chain": ("stale_cache",), "fallback.stale_quality": 0.35},
                   seed=8)
    r = res.records
    lookup_s = r["arrival_s"] + 0.002
    in_outage = (lookup_s >= 10.0) & (lookup_s < 15.0) & np.isin(r["cache"], (C_MISS, C_EXPIRED))
    degraded = r[in_outage & (r["outcome"] == DEGRADED)]
    failed = r[in_outage & (r["outcome"] == FAILED)]
    assert len(degraded) > 20 and len(failed) > 5
    assert degraded["quality"] == pytest.approx(np.full(len(degraded), 0.35))
    assert (r["cache"][in_outage & (r["outcome"] == DEGRADED)] == C_EXPIRED).all()
    assert (r["cache"][in_outage & (r["outcome"] == FAILED)] == C_MISS).all()
    # Calls that started before the outage and ended in it fall back too: count them all.
    every_degraded = r[r["outcome"] == DEGRADED]
    assert (every_degraded["path"] & 512).all()            # the stale_cache path bit
    assert res.summary["fallback_by_path"]["stale_cache"] == len(every_degraded)
