"""Stateful mode (``model.session_affinity``): sticky sessions, moved and lost sessions.

* Sessions: the drawn lengths are geometric with the stated mean; every request has one.
* One replica: pinning sessions cannot change anything, so a run with affinity on gives the
  records, attempts and samples of the run with it off, exactly.
* Imbalance: with one queue per replica, the busiest replica is at least as far above the mean
  as with one shared queue, at the same seed.
* Moves: losing a replica moves exactly the sessions it held (rebuild) or loses exactly them
  (lose); other replicas keep theirs.  A scale-out in rebuild mode moves sessions to the new
  replicas; in lose mode it moves none.
* Conservation (hypothesis): every request ends once with sticky sessions, faults and the
  autoscaler on, and the session counts add up.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
import simpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.knobs import KnobError
from labkit.sim import Scenario, simulate
from labkit.sim.replicas import Call, imbalance
from labkit.sim.sessions import StickyPool, draw_sessions


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


# ------------------------------------------------------------------ sessions drawn
@pytest.mark.parametrize("mean", [1.0, 3.0, 8.0])
def test_session_lengths_have_the_stated_mean(mean):
    sid, last = draw_sessions(40_000, users=50, mean_requests=mean,
                              rng=np.random.default_rng(7))
    sizes = np.bincount(sid)
    ended = sizes[np.unique(sid[last])]          # sessions that ended within the draw
    # geometric: sd = sqrt(1 - p) / p; the mean of ~40000/mean lengths is within 4 sd of it
    p = 1.0 / mean
    tol = 4 * np.sqrt(1 - p) / p / np.sqrt(len(ended))
    assert abs(ended.mean() - mean) <= tol + 1e-12
    assert sid.min() == 0 and set(np.unique(sid)) == set(range(sid.max() + 1))
    assert last.sum() == len(ended) and len(np.unique(sid)) - len(ended) <= 50   # still open


def test_a_user_has_one_session_open_at_a_time():
    sid, last = draw_sessions(2000, users=3, mean_requests=4.0, rng=np.random.default_rng(2))
    assert len(np.unique(sid)) > 3
    # a session's requests end with its last one: no request of it comes after that
    for s in np.unique(sid[last]):
        rows = np.flatnonzero(sid == s)
        assert last[rows[-1]] and not last[rows[:-1]].any()


# ------------------------------------------------------------------ runs
BASE = {"load.rate_rps": 40.0, "load.duration_s": 40.0, "gateway.deadline_ms": 3000.0}


@pytest.mark.parametrize("extra", [
    {},
    {"batch.max_size": 4, "batch.max_wait_ms": 20.0},
    {"model.error_rate": 0.05, "retry.max_attempts": 3, "retry.timeout_ms": 300.0,
     "model.cancel_on_timeout": True},
    {"fault.outage_start_s": 10.0, "fault.outage_duration_s": 3.0, "retry.timeout_ms": 500.0},
])
def test_with_one_replica_affinity_changes_nothing(extra):
    knobs = {**BASE, "load.rate_rps": 10.0, "model.replicas": 1, **extra}
    off = simulate(knobs, seed=3)
    on = simulate({**knobs, "model.session_affinity": True}, seed=3)
    for part in ("records", "attempts", "samples"):
        assert digest(getattr(on, part)) == digest(getattr(off, part)), part
    summary = dict(on.summary)
    sessions = summary.pop("sessions")
    assert summary == off.summary
    assert sessions["moved"] == sessions["lost"] == sessions["warmups"] == 0
    assert sessions["replica_imbalance"] == pytest.approx(1.0)


def test_stateless_runs_have_no_session_keys():
    res = simulate(BASE, seed=1)
    assert "sessions" not in res.summary
    assert res.totals["replica_imbalance"] >= 1.0


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("rate", [20.0, 40.0])
def test_imbalance_with_affinity_is_at_least_the_shared_queues(seed, rate):
    knobs = {**BASE, "load.rate_rps": rate, "model.session_users": 20}
    off = simulate(knobs, seed=seed)
    on = simulate({**knobs, "model.session_affinity": True}, seed=seed)
    assert on.summary["sessions"]["replica_imbalance"] >= off.totals["replica_imbalance"]
    # one queue per replica waits longer than one shared queue at the same load
    assert on.summary["latency_ms"]["p95"] >= off.summary["latency_ms"]["p95"]


@pytest.mark.parametrize("moves", ["rebuild", "lose"])
def test_a_lost_replica_moves_or_loses_its_sessions_in_a_run(moves):
    knobs = {**BASE, "model.session_affinity": True, "model.session_moves": moves,
             "fault.replica_lost_at_s": 20.0, "model.session_users": 40}
    s = simulate(knobs, seed=4).summary["sessions"]
    if moves == "rebuild":
        assert s["moved"] > 0 and s["lost"] == 0 and 0 < s["warmups"] <= s["moved"]
        assert s["warmup_s"] == pytest.approx(s["warmups"] * 0.3)
    else:
        assert s["lost"] > 0 and s["moved"] == s["warmups"] == 0
    calm = simulate({**knobs, "fault.replica_lost_at_s": -1}, seed=4).summary["sessions"]
    assert calm["moved"] == calm["lost"] == 0


def test_scale_out_moves_sessions_only_when_state_can_be_rebuilt():
    knobs = {**BASE, "load.pattern": "spike", "load.spike_start_s": 10.0,
             "load.spike_duration_s": 20.0, "load.spike_multiplier": 3.0, "load.rate_rps": 15.0,
             "model.replicas": 2, "autoscale.enabled": True, "autoscale.min_replicas": 2,
             "autoscale.cold_start_s": 3.0, "autoscale.interval_s": 5.0,
             "model.session_affinity": True}
    rebuild = simulate(knobs, seed=5)
    lose = simulate({**knobs, "model.session_moves": "lose"}, seed=5)
    assert rebuild.summary["replicas_mean"] > 2 and lose.summary["replicas_mean"] > 2
    assert rebuild.summary["sessions"]["moved"] > 0
    # lose mode moves nothing on scale-out; only retiring replicas lose sessions
    assert lose.summary["sessions"]["moved"] == 0


def test_token_mode_refuses_stateful_knobs():
    with pytest.raises(KnobError, match="not modelled in token mode"):
        simulate({"llm.enabled": True, "model.session_affinity": True,
                  "load.duration_s": 2.0}, seed=1)


def test_session_knob_errors_name_the_knob():
    with pytest.raises(KnobError, match="model.session_users"):
        Scenario.from_knobs({"model.session_users": 0})
    with pytest.raises(KnobError, match="model.session_moves"):
        Scenario.from_knobs({"model.session_moves": "keep"})
    with pytest.raises(KnobError, match=r"fault.replica_lost_at_s must be -1 \(never\) or >= 0"):
        Scenario.from_knobs({"fault.replica_lost_at_s": -0.5})


# ------------------------------------------------------------------ the pool, directly
class Owner:
    def __init__(self, rid):
        self.id = rid


def make_pool(sessions, *, replicas=3, moves="rebuild", last=None):
    env = simpy.Environment()
    done: list[Call] = []
    pool = StickyPool(env, replicas=replicas, service_s=0.1, per_item_fraction=0.0,
                      max_size=1, max_wait_s=0.0, on_done=lambda b, now: done.extend(b),
                      sessions=sessions, last=last or [False] * len(sessions),
                      warmup_s=0.05, moves=moves)
    return env, pool, done


def submit(env, pool, rid):
    call = Call(Owner(rid), env.now, 1.0)
    pool.submit(call)
    return call


@pytest.mark.parametrize("moves", ["rebuild", "lose"])
def test_losing_a_replica_moves_exactly_its_sessions(moves):
    sessions = [0, 1, 2, 3, 4, 5, 6, 7, 8]
    env, pool, done = make_pool(sessions, moves=moves)
    for rid in range(9):
        submit(env, pool, rid)
    before = {lane.index: set(lane.sessions) for lane in pool.lanes}
    assert [len(s) for s in before.values()] == [3, 3, 3]   # fewest open sessions first
    victim = pool.lanes[0]
    pool.lose_replica()
    if moves == "rebuild":
        assert pool.moved == len(before[0]) and pool.lost == 0
        assert pool.cold == before[0]
        for lane in pool.lanes[1:]:
            assert before[lane.index] <= lane.sessions
        assert set().union(*(lane.sessions for lane in pool.lanes[1:])) == set(sessions)
    else:
        assert pool.lost == len(before[0]) and pool.moved == 0
        assert all(pool.home.get(s) is not victim for s in sessions)
        for lane in pool.lanes[1:]:
            assert before[lane.index] <= lane.sessions
        # their calls still in flight start new sessions on the others (the state is gone)
        assert pool.opened == len(sessions) + len(before[0])
    assert not victim.sessions and pool.ready == 2
    env.run()
    assert sorted(c.owner.id for c in done) == list(range(9))   # nothing in flight is lost
    if moves == "rebuild":   # each moved session paid its warm-up on its next call
        assert pool.warmups == len(before[0]) and not pool.cold


def test_the_last_replica_is_never_lost():
    env, pool, _ = make_pool([0, 1], replicas=1)
    submit(env, pool, 0)
    pool.lose_replica()
    assert pool.ready == 1 and pool.moved == pool.lost == 0


def test_a_session_keeps_its_replica_and_a_new_one_goes_to_the_emptiest():
    env, pool, done = make_pool([0, 1, 0, 2, 0], replicas=2)
    for rid in range(5):
        submit(env, pool, rid)
    env.run()
    lane_of = {c.owner.id: c.lane.index for c in done}
    assert lane_of[0] == lane_of[2] == lane_of[4] == 0
    assert lane_of[1] == 1
    assert lane_of[3] == 0   # session 2: both hold one open session, the tie goes to the first
    assert pool.opened == 3


def test_imbalance_is_the_busiest_over_the_mean():
    assert imbalance([5.0, 5.0], [10.0, 10.0]) == 1.0
    assert imbalance([9.0, 3.0], [10.0, 10.0]) == pytest.approx(1.5)
    assert imbalance([1.0, 0.0], [10.0, 0.0]) == 1.0     # never-ready replicas do not count


# ------------------------------------------------------------------ conservation
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rate=st.floats(1.0, 60.0), replicas=st.integers(1, 6), users=st.integers(1, 60),
       mean=st.floats(1.0, 10.0), warmup=st.floats(0.0, 500.0),
       moves=st.sampled_from(["rebuild", "lose"]), lost=st.floats(-1.0, 8.0),
       autoscale=st.booleans(), retries=st.integers(1, 3), seed=st.integers(0, 50))
def test_every_request_ends_once_and_sessions_add_up(rate, replicas, users, mean, warmup,
                                                     moves, lost, autoscale, retries, seed):
    knobs = {"load.rate_rps": rate, "load.duration_s": 8.0, "model.replicas": replicas,
             "model.session_affinity": True, "model.session_users": users,
             "model.session_requests_mean": mean, "model.session_warmup_ms": warmup,
             "model.session_moves": moves,
             "fault.replica_lost_at_s": lost if lost >= 0 else -1.0,
             "retry.max_attempts": retries, "retry.timeout_ms": 500.0,
             "gateway.deadline_ms": 2000.0, "autoscale.enabled": autoscale,
             "autoscale.min_replicas": 1, "autoscale.max_replicas": 8,
             "autoscale.interval_s": 2.0, "autoscale.cold_start_s": 1.0}
    res = simulate(knobs, seed=seed)
    r, s = res.records, res.summary
    assert sum(s["outcomes"].values()) == s["requests"] == len(r)
    assert np.isfinite(r["end_s"]).all() and (r["end_s"] >= r["arrival_s"]).all()
    sess = s["sessions"]
    assert sess["opened"] >= 1 or len(r) == 0
    assert sess["warmups"] <= sess["moved"]
    if moves == "lose":
        assert sess["moved"] == 0
    else:
        assert sess["lost"] == 0
    if lost < 0 and not autoscale:
        assert sess["moved"] == sess["lost"] == 0
    assert sess["replica_imbalance"] >= 1.0 - 1e-12
