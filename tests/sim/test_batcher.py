"""The dynamic batcher on its own: which queued calls form a batch, and when.

Triton's rule: take up to max_size calls at once; hold an incomplete batch until the
oldest call has waited max_wait_s; max_wait 0 never holds.  Cancelled calls are skipped.
Times are exact (a bare SimPy clock), so comparisons are exact.
"""
from __future__ import annotations

import simpy

from labkit.sim.batcher import Batcher
from labkit.sim.replicas import Call


def make(max_size: int, max_wait_s: float):
    env = simpy.Environment()
    due: list[float] = []
    return env, Batcher(env, max_size=max_size, max_wait_s=max_wait_s,
                        on_due=lambda: due.append(env.now)), due


def call(enq_s: float = 0.0) -> Call:
    return Call(owner=None, enq_s=enq_s, factor=1.0)


def test_a_batch_takes_up_to_max_size_calls_in_arrival_order():
    env, b, _ = make(max_size=3, max_wait_s=0.0)
    calls = [call() for _ in range(5)]
    for c in calls:
        b.add(c)
    assert b.live == 5
    assert b.take() == calls[:3] and b.live == 2
    assert b.take() == calls[3:] and b.live == 0


def test_cancelled_calls_are_skipped_and_not_counted():
    env, b, _ = make(max_size=2, max_wait_s=0.0)
    first, victim, last = call(), call(), call()
    for c in (first, victim, last):
        b.add(c)
    b.cancel(victim)
    b.cancel(victim)                       # twice: counted once
    assert b.live == 2 and not victim.alive
    assert b.take() == [first, last]


def test_cancel_has_no_effect_once_a_call_is_in_service():
    env, b, _ = make(max_size=1, max_wait_s=0.0)
    c = call()
    b.add(c)
    (taken,) = b.take()
    taken.start_s = 0.0
    b.cancel(c)
    assert c.alive and b.live == 0


def test_an_incomplete_batch_is_held_until_the_oldest_has_waited_max_wait():
    env, b, due = make(max_size=4, max_wait_s=0.05)
    env.run(until=0.01)
    oldest = call(env.now)
    b.add(oldest)
    assert b.take() is None                # held: 1 of 4, waited 0 of 0.05 s
    assert b.take() is None                # asking again sets no second timer
    env.run()
    assert due == [0.01 + 0.05]            # exactly one wake-up, at enq + max_wait
    assert b.take() == [oldest]


def test_a_full_batch_goes_at_once_even_when_it_may_wait():
    env, b, due = make(max_size=2, max_wait_s=1.0)
    a, c = call(), call()
    b.add(a)
    assert b.take() is None
    b.add(c)
    assert b.take() == [a, c]


def test_drain_returns_the_live_calls_and_empties_the_queue():
    env, b, _ = make(max_size=8, max_wait_s=0.0)
    keep, gone, keep2 = call(), call(), call()
    for c in (keep, gone, keep2):
        b.add(c)
    b.cancel(gone)
    assert b.drain() == [keep, keep2]
    assert b.live == 0 and not keep.alive and len(b.queue) == 0
