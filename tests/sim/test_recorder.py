"""The recorder: each request's one ending, the attempt log, samples, and the frozen result."""
from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

from labkit.sim import Scenario
from labkit.sim.codes import DEGRADED, OK, Attempt, Path, Reason
from labkit.sim.load import Workload
from labkit.sim.recorder import Recorder
from labkit.sim.replicas import ReplicaPool
from labkit.sim.request import Request


def workload(n: int) -> Workload:
    t = np.arange(n, dtype=float)
    return Workload(arrival_s=t, prompt=np.arange(n), valid=np.ones(n, bool),
                    write=np.zeros(n, bool), service_u=np.full(n, 0.5),
                    error_u=np.full(n, 0.5))


class Done:
    done = True


def test_each_request_is_finished_once_with_its_outcome_end_and_reason():
    rec = Recorder(workload(2))
    req = Request(1, prompt=1, write=False, deadline=math.inf)
    rec.finish(req, DEGRADED, 3.5, Reason.TIMEOUT)
    assert (req.done, req.outcome, req.end, req.reason) == (True, DEGRADED, 3.5, Reason.TIMEOUT)
    assert rec.requests == [None, req]


def test_the_sampler_samples_every_second_until_the_run_drains_and_keeps_replica_seconds():
    env = simpy.Environment()
    rec = Recorder(workload(0))
    pool = ReplicaPool(env, replicas=3, service_s=0.1, per_item_fraction=0.0, max_size=1,
                       max_wait_s=0.0, on_done=lambda batch, now: None)
    env.process(rec.sampler(env, pool, 2.5, Done()))
    env.run()
    assert [s[0] for s in rec.samples] == [0.0, 1.0, 2.0, 3.0]
    assert rec.samples[-1][1:] == (0, 3, 3, 0)          # queued, provisioned, ready, busy
    assert rec.replica_seconds == pytest.approx((0.0, 9.0))


def test_result_turns_finished_requests_and_the_attempt_log_into_records():
    env = simpy.Environment()
    rec = Recorder(workload(2))
    pool = ReplicaPool(env, replicas=1, service_s=0.1, per_item_fraction=0.0, max_size=1,
                       max_wait_s=0.0, on_done=lambda batch, now: None)
    a = Request(0, prompt=0, write=False, deadline=math.inf)
    a.path |= Path.MODEL
    a.calls, a.attempts, a.cost, a.quality, a.harmful = 1, 1, 0.002, 0.8, True
    b = Request(1, prompt=1, write=False, deadline=math.inf)
    rec.finish(b, OK, 1.25, Reason.NONE)
    rec.finish(a, OK, 0.5, Reason.NONE)
    rec.attempt(0, 1, 0.0, 0.5, Attempt.OK, 1, 0.0, True)
    rec.model_cost += 0.002
    env.process(rec.sampler(env, pool, 1.0, Done()))
    env.run()
    res = rec.result(scenario=Scenario.from_knobs({"load.duration_s": 1.0}), seed=9, pool=pool,
                     breaker_opens=2, job_cost=0.5)
    r = res.records
    assert r["id"].tolist() == [0, 1] and r["end_s"].tolist() == [0.5, 1.25]
    assert r["latency_ms"].tolist() == [500.0, 250.0]      # arrivals at 0 s and 1 s
    assert r["model_calls"].tolist() == [1, 0] and r["harmful"].tolist() == [True, False]
    assert r["path"][0] == Path.GATEWAY | Path.MODEL and math.isnan(r["review_wait_s"][0])
    assert not r.flags.writeable and not res.attempts.flags.writeable
    assert res.attempts["result"].tolist() == [Attempt.OK]
    assert res.totals["breaker_opens"] == 2 and res.totals["job_cost"] == 0.5
    assert res.totals["model_cost"] == 0.002 and res.seed == 9


def test_a_result_needs_the_sampler_to_have_seen_the_run_drain():
    rec = Recorder(workload(0))
    pool = ReplicaPool(simpy.Environment(), replicas=1, service_s=0.1, per_item_fraction=0.0,
                       max_size=1, max_wait_s=0.0, on_done=lambda batch, now: None)
    with pytest.raises(RuntimeError, match="did not see the run drain"):
        rec.result(scenario=Scenario(), seed=1, pool=pool, breaker_opens=0, job_cost=0.0)
