"""The dynamic batcher and the replicas, driven directly on a SimPy clock.

Semantics checked against NVIDIA Triton's dynamic batcher (its model configuration docs,
"Dynamic Batcher"): with max_queue_delay 0 it never waits; an arrival that completes a full batch
sends it at once; an incomplete batch is sent when its oldest request has waited the
delay.  Service of a batch of b is service * (1 + per_item_fraction * (b - 1)), and a
:class:`SpeedProfile` stretches work through hang (speed 0) and slowdown windows.

Every timing here is exact (deterministic factors), so the tolerances are float rounding.
"""
from __future__ import annotations

import math

import pytest
import simpy

from labkit.sim import simulate
from labkit.sim.codes import OK
from labkit.sim.replicas import Call, ReplicaPool, SpeedProfile

EPS = 1e-9  # float rounding only: every time below is a sum of a few exact terms


class Owner:
    def __init__(self, name):
        self.name = name


def make_pool(*, replicas=1, service_s=0.1, per_item=0.0, max_size=1, max_wait_s=0.0,
              speed=None):
    env = simpy.Environment()
    done: list[tuple[float, list[Call]]] = []
    pool = ReplicaPool(env, replicas=replicas, service_s=service_s, per_item_fraction=per_item,
                       max_size=max_size, max_wait_s=max_wait_s,
                       on_done=lambda batch, now: done.append((now, list(batch))), speed=speed)
    return env, pool, done


def submit_at(env, pool, t, factor=1.0, name=None):
    """Submit a call at time ``t`` (on the SimPy clock); returns the call."""
    call = Call(Owner(name), t, factor)

    def go(_e):
        call.enq_s = env.now
        pool.submit(call)

    env.timeout(t).callbacks.append(go)
    return call


# -- Triton batcher semantics -------------------------------------------------------------
def test_never_waits_when_max_wait_is_zero():
    """max_wait 0: an idle replica takes a lone request at once, even with room for 8."""
    env, pool, done = make_pool(replicas=2, max_size=8, max_wait_s=0.0)
    calls = [submit_at(env, pool, t) for t in (0.0, 0.5, 1.0)]
    env.run()
    for call in calls:
        assert call.start_s == pytest.approx(call.enq_s, abs=EPS)
        assert call.batch_size == 1
    assert [len(b) for _, b in done] == [1, 1, 1]


def test_queued_requests_are_batched_when_a_replica_frees_up():
    """max_wait 0 still batches what queued while every replica was busy."""
    env, pool, done = make_pool(replicas=1, service_s=0.1, per_item=0.0, max_size=4)
    first = submit_at(env, pool, 0.0)
    later = [submit_at(env, pool, 0.01 * k) for k in range(1, 7)]  # 6 queue behind it
    env.run()
    assert first.batch_size == 1
    # The replica frees at 0.1 s: it takes 4 (max_size), then the remaining 2 at 0.2 s.
    assert [len(b) for _, b in done] == [1, 4, 2]
    assert [round(t, 9) for t, _ in done] == [0.1, 0.2, 0.3]
    assert all(j.start_s == pytest.approx(0.1) for j in later[:4])
    assert all(j.start_s == pytest.approx(0.2) for j in later[4:])


def test_a_full_batch_is_sent_at_once_without_waiting_out_the_delay():
    env, pool, done = make_pool(replicas=1, max_size=3, max_wait_s=0.5)
    calls = [submit_at(env, pool, t) for t in (0.0, 0.01, 0.02)]
    env.run()
    assert [len(b) for _, b in done] == [3]
    # Sent when the third arrival filled it, long before 0.5 s.
    assert all(j.start_s == pytest.approx(0.02, abs=EPS) for j in calls)


def test_an_incomplete_batch_is_sent_when_the_oldest_has_waited_max_wait():
    env, pool, done = make_pool(replicas=1, max_size=8, max_wait_s=0.010)
    calls = [submit_at(env, pool, t) for t in (0.0, 0.003, 0.006)]
    env.run()
    assert [len(b) for _, b in done] == [3]
    assert all(j.start_s == pytest.approx(0.010, abs=EPS) for j in calls)
    assert calls[0].start_s - calls[0].enq_s == pytest.approx(0.010, abs=EPS)


def test_a_lone_request_waits_exactly_max_wait_then_goes_alone():
    env, pool, done = make_pool(replicas=1, max_size=4, max_wait_s=0.025)
    call = submit_at(env, pool, 1.0)
    env.run()
    assert call.start_s - call.enq_s == pytest.approx(0.025, abs=EPS)
    assert call.batch_size == 1


def test_the_delay_restarts_for_the_next_oldest_after_a_batch_fills():
    """After a full batch leaves, the next batch's clock is its own oldest request."""
    env, pool, done = make_pool(replicas=2, max_size=2, max_wait_s=0.050)
    a, b = submit_at(env, pool, 0.0), submit_at(env, pool, 0.010)   # fills: goes at 0.010
    c = submit_at(env, pool, 0.020)                                 # alone: goes at 0.070
    env.run()
    assert a.start_s == pytest.approx(0.010, abs=EPS) and b.start_s == a.start_s
    assert c.start_s == pytest.approx(0.070, abs=EPS)
    assert c.batch_size == 1


def test_max_size_one_means_no_batching():
    env, pool, done = make_pool(replicas=1, service_s=0.05, max_size=1, max_wait_s=0.1)
    for _ in range(5):
        submit_at(env, pool, 0.0)
    env.run()
    assert [len(b) for _, b in done] == [1] * 5
    # With max_size 1 a "batch" is always full, so the delay never applies.
    assert [round(t, 9) for t, _ in done] == [0.05, 0.1, 0.15, 0.2, 0.25]


# -- service time of a batch -----------------------------------------------------------
@pytest.mark.parametrize("b, f", [(1, 0.1), (4, 0.1), (8, 0.25), (5, 0.0), (3, 1.0)])
def test_per_item_fraction_formula(b, f):
    """A batch of b takes service * (1 + f * (b - 1)) (the model.per_item_fraction help)."""
    env, pool, done = make_pool(replicas=1, service_s=0.080, per_item=f, max_size=b,
                                max_wait_s=1.0)
    calls = [submit_at(env, pool, 0.0) for _ in range(b)]
    env.run()
    assert len(done) == 1
    expected = 0.080 * (1 + f * (b - 1))
    assert done[0][0] == pytest.approx(expected, abs=EPS)
    # Each item is charged an equal share of the batch's work (used for wasted work).
    assert all(j.work_s == pytest.approx(expected / b) for j in calls)


def test_batch_service_is_scaled_by_the_first_requests_factor():
    env, pool, done = make_pool(replicas=1, service_s=0.1, per_item=0.5, max_size=2,
                                max_wait_s=1.0)
    submit_at(env, pool, 0.0, factor=2.0)
    submit_at(env, pool, 0.0, factor=0.1)
    env.run()
    assert done[0][0] == pytest.approx(0.1 * 2.0 * 1.5)


def test_busy_and_provisioned_integrals_are_exact():
    env, pool, done = make_pool(replicas=3, service_s=0.2)
    submit_at(env, pool, 0.0)
    submit_at(env, pool, 0.5)
    env.run()
    env.run(until=2.0)
    busy, provisioned = pool.utilisation_integrals()
    assert busy == pytest.approx(0.4)
    assert provisioned == pytest.approx(3 * 2.0)
    assert pool.served == 2 and pool.batches == 2
    assert pool.wait_sum_s == pytest.approx(0.0)


def test_wait_sum_counts_queueing_delay_of_every_served_call():
    env, pool, done = make_pool(replicas=1, service_s=0.1)
    for _ in range(3):
        submit_at(env, pool, 0.0)
    env.run()
    assert pool.wait_sum_s == pytest.approx(0.0 + 0.1 + 0.2)


def test_cancelled_call_is_skipped_and_not_served():
    env, pool, done = make_pool(replicas=1, service_s=0.1)
    submit_at(env, pool, 0.0)
    victim = submit_at(env, pool, 0.01)
    keeper = submit_at(env, pool, 0.02)
    env.timeout(0.05).callbacks.append(lambda _e: pool.cancel(victim))
    env.run()
    served = [j for _, b in done for j in b]
    assert victim not in served and keeper in served
    assert keeper.start_s == pytest.approx(0.1)
    assert pool.queued == 0 and pool.served == 2


def test_cancel_has_no_effect_once_in_service():
    env, pool, done = make_pool(replicas=1, service_s=0.1)
    call = submit_at(env, pool, 0.0)
    env.timeout(0.05).callbacks.append(lambda _e: pool.cancel(call))
    env.run()
    assert [j for _, b in done for j in b] == [call]
    assert pool.queued == 0


def test_drain_returns_live_queued_calls_and_empties_the_queue():
    env, pool, done = make_pool(replicas=1, service_s=0.1)
    busy = submit_at(env, pool, 0.0)
    q1, q2 = submit_at(env, pool, 0.01), submit_at(env, pool, 0.02)
    drained: list[Call] = []
    env.timeout(0.05).callbacks.append(lambda _e: drained.extend(pool.drain()))
    env.run()
    assert drained == [q1, q2]
    assert [j for _, b in done for j in b] == [busy]
    assert pool.queued == 0


def test_added_replicas_serve_after_their_cold_start_and_cost_from_the_start():
    env, pool, done = make_pool(replicas=1, service_s=1.0)
    submit_at(env, pool, 0.0)                 # occupies the only replica until 1.0
    env.timeout(0.1).callbacks.append(lambda _e: pool.add_replicas(2, 0.3))
    queued = submit_at(env, pool, 0.2)        # a new replica is warm at 0.4
    env.run()
    assert queued.start_s == pytest.approx(0.4)
    env.run(until=2.0)
    _, provisioned = pool.utilisation_integrals()
    # 1 replica for 2 s, plus 2 replicas from 0.1 s (when they started, not when warm).
    assert provisioned == pytest.approx(2.0 + 2 * 1.9)


def test_removed_replicas_retire_idle_at_once_and_busy_after_their_batch():
    env, pool, done = make_pool(replicas=3, service_s=1.0)
    submit_at(env, pool, 0.0)
    submit_at(env, pool, 0.0)                  # two busy, one idle
    env.timeout(0.5).callbacks.append(lambda _e: pool.remove_replicas(2))
    env.run()
    # The idle one retires at 0.5, one busy one after its batch at 1.0; one stays.
    assert pool.ready == 1
    busy, provisioned = pool.utilisation_integrals()
    assert provisioned == pytest.approx(3 * 0.5 + 2 * 0.5 + 1 * 0.0, abs=EPS)
    assert busy == pytest.approx(2.0)


# -- SpeedProfile -------------------------------------------------------------------
def test_constant_speed_finishes_after_the_work():
    assert SpeedProfile().finish_s(3.0, 0.25) == pytest.approx(3.25)
    assert SpeedProfile([]).constant


def test_hang_window_pauses_work_in_progress():
    sp = SpeedProfile([(10.0, 15.0, 0.0)])
    # 1 s of work started at 9.5: 0.5 s before the hang, 5 s of nothing, 0.5 s after.
    assert sp.finish_s(9.5, 1.0) == pytest.approx(15.5)
    # Work started during the hang begins only when it ends.
    assert sp.finish_s(12.0, 0.2) == pytest.approx(15.2)
    # Work that ends before the hang is untouched.
    assert sp.finish_s(1.0, 2.0) == pytest.approx(3.0)


def test_slowdown_window_stretches_work_by_its_factor():
    sp = SpeedProfile([(2.0, 4.0, 1.0 / 3.0)])
    # Work of 0.5 s fully inside the slowdown takes 1.5 s.
    assert sp.finish_s(2.0, 0.5) == pytest.approx(3.5)
    # 1 s of work from 3.5: the last 0.5 s of the window does 1/6 s, the rest at speed 1.
    assert sp.finish_s(3.5, 1.0) == pytest.approx(4.0 + (1.0 - 0.5 / 3.0))


def test_later_window_wins_where_windows_overlap():
    # A slowdown 0..10 with a hang 4..6 inside it (the engine lists the hang last).
    sp = SpeedProfile([(0.0, 10.0, 0.5), (4.0, 6.0, 0.0)])
    speeds = {(s, e): v for s, e, v in sp.segments}
    assert speeds[(4.0, 6.0)] == 0.0 and speeds[(0.0, 4.0)] == 0.5
    assert speeds[(6.0, 10.0)] == 0.5 and speeds[(10.0, math.inf)] == 1.0
    # 3 s of work from t=0: 2 s done by t=4, nothing until 6, the last 1 s by t=8.
    assert sp.finish_s(0.0, 3.0) == pytest.approx(8.0)


def test_pool_applies_the_speed_profile_to_a_batch():
    env, pool, done = make_pool(replicas=1, service_s=0.4, per_item=0.5, max_size=2,
                                max_wait_s=1.0, speed=SpeedProfile([(0.1, 2.1, 0.0)]))
    submit_at(env, pool, 0.0)
    submit_at(env, pool, 0.0)
    env.run()
    # Work 0.4 * 1.5 = 0.6 s: 0.1 s done before the hang, 0.5 s after it ends at 2.1.
    assert done[0][0] == pytest.approx(2.6)


# -- the same semantics seen through simulate() -------------------------------------
def test_simulated_batches_never_exceed_max_size_and_no_batching_means_size_one():
    knobs = {"load.rate_rps": 120.0, "load.duration_s": 10.0, "model.replicas": 2,
             "model.service_ms": 40.0}
    batched = simulate({**knobs, "batch.max_size": 6, "batch.max_wait_ms": 20.0}, seed=2)
    sizes = batched.records["batch_size"][batched.records["model_calls"] > 0]
    assert sizes.max() <= 6 and sizes.max() > 1
    single = simulate({**knobs, "batch.max_size": 1}, seed=2)
    sizes = single.records["batch_size"][single.records["outcome"] == OK]
    assert set(sizes.tolist()) == {1}


def test_simulated_light_load_with_no_delay_never_queues():
    """Far below capacity with max_wait 0 and many replicas, queue waits are zero or tiny.

    50 replicas at 10 req/s of 80 ms: offered load 0.8 erlangs, so P(all 50 busy) is
    astronomically small (Erlang C ~ 1e-60) and every call must start on arrival.
    """
    res = simulate({"load.rate_rps": 10.0, "load.duration_s": 20.0, "model.replicas": 50,
                    "batch.max_size": 8, "batch.max_wait_ms": 0.0}, seed=4)
    a = res.attempts[res.attempts["model_call"]]
    assert len(a) > 100
    assert a["wait_s"].max() == 0.0
    assert res.summary["model_wait_ms_mean"] == 0.0
    assert set(a["batch_size"].tolist()) == {1}


def test_simulated_batches_leave_when_their_oldest_has_waited_max_wait():
    """At light load every batch leaves exactly when its oldest request has waited max_wait.

    Light load (2 req/s, 20 replicas of 80 ms): a replica is always idle, so no batch
    fills (4 arrivals within 30 ms are vanishingly rare at 2 req/s) and each one is sent
    by the delay: its oldest member waited exactly 30 ms and none waited longer.
    """
    res = simulate({"load.rate_rps": 2.0, "load.duration_s": 30.0, "model.replicas": 20,
                    "batch.max_size": 4, "batch.max_wait_ms": 30.0}, seed=5)
    a = res.attempts[res.attempts["model_call"]]
    assert len(a) > 30
    assert a["wait_s"].max() <= 0.030 + EPS
    starts = a["start_s"] + a["wait_s"]           # when the batch left the queue
    batches = {}
    for t, w, size in zip(starts.round(9), a["wait_s"], a["batch_size"]):
        batches.setdefault(t, []).append((w, size))
    assert any(len(members) > 1 for members in batches.values())  # some batching happened
    for members in batches.values():
        assert len(members) == members[0][1] < 4
        assert max(w for w, _ in members) == pytest.approx(0.030, abs=EPS)


# -- a lost replica and per-replica load (issue 15) -------------------------------------
def test_a_lost_busy_replica_starts_its_work_again_on_the_others():
    """Two replicas both busy at 0.05 s: one crashes; its call queues again and is served
    after the other frees (0.1 s), so it ends at 0.2 s; the pool keeps one replica."""
    env, pool, done = make_pool(replicas=2, service_s=0.1)
    a, b = submit_at(env, pool, 0.0), submit_at(env, pool, 0.0)
    env.timeout(0.05).callbacks.append(lambda _e: pool.lose_replica())
    env.run()
    assert pool.ready == 1 and pool.busy == 0
    ends = sorted(t for t, _ in done)
    assert ends == pytest.approx([0.1, 0.2], abs=EPS)
    assert {id(c) for _, batch in done for c in batch} == {id(a), id(b)}


def test_an_idle_replica_is_lost_first_and_the_last_one_never():
    env, pool, done = make_pool(replicas=2, service_s=0.1)
    submit_at(env, pool, 0.0)
    env.timeout(0.05).callbacks.append(lambda _e: pool.lose_replica())
    env.timeout(0.06).callbacks.append(lambda _e: pool.lose_replica())   # only one left
    env.run()
    assert pool.ready == 1 and len(done) == 1 and done[0][0] == pytest.approx(0.1, abs=EPS)


def test_replicas_that_share_a_queue_share_the_work():
    """First freed, first to take the next call: at a steady load the replicas' busy shares
    come out nearly equal (imbalance close to 1)."""
    res = simulate({"load.rate_rps": 30.0, "load.duration_s": 60.0, "model.replicas": 4},
                   seed=2)
    assert 1.0 <= res.totals["replica_imbalance"] < 1.1
