"""The autoscaler: the HPA rule on a bare replica pool, and its direction of effect."""
from __future__ import annotations

import numpy as np
import simpy

from labkit.sim import simulate
from labkit.sim.autoscaler import Autoscaler
from labkit.sim.config import AutoscaleConfig
from labkit.sim.load import Workload
from labkit.sim.recorder import Recorder
from labkit.sim.replicas import Call, ReplicaPool


def recorder():
    return Recorder(Workload(arrival_s=np.zeros(0), prompt=np.zeros(0, int),
                             valid=np.zeros(0, bool), write=np.zeros(0, bool),
                             service_u=np.zeros(0), error_u=np.zeros(0)))


def test_a_fully_busy_pool_is_scaled_by_the_hpa_rule_after_a_cold_start():
    env = simpy.Environment()
    pool = ReplicaPool(env, replicas=2, service_s=100.0, per_item_fraction=0.0, max_size=1,
                       max_wait_s=0.0, on_done=lambda batch, now: None)
    for _ in range(2):
        pool.submit(Call(None, 0.0, 1.0))            # both replicas busy for 100 s
    rec = recorder()
    config = AutoscaleConfig(enabled=True, min_replicas=1, max_replicas=20,
                             target_utilization=0.5, interval_s=10.0, cold_start_s=5.0)
    env.process(Autoscaler(config, pool=pool, horizon_s=10.0, recorder=rec).run(env))
    env.run(until=12.0)
    # utilisation 1.0 / target 0.5 = 2: desired = ceil(2 x 2) = 4, so 2 start at t = 10 ...
    assert (pool.ready, pool.starting) == (2, 2) and rec.autoscale_decisions == 1
    env.run(until=16.0)
    assert (pool.ready, pool.starting) == (4, 0)    # ... and serve from t = 15


def test_an_idle_pool_shrinks_to_the_floor():
    env = simpy.Environment()
    pool = ReplicaPool(env, replicas=6, service_s=1.0, per_item_fraction=0.0, max_size=1,
                       max_wait_s=0.0, on_done=lambda batch, now: None)
    config = AutoscaleConfig(enabled=True, min_replicas=2, max_replicas=20, interval_s=10.0)
    env.process(Autoscaler(config, pool=pool, horizon_s=10.0, recorder=recorder()).run(env))
    env.run()
    assert pool.ready == 2


def test_autoscaling_an_overloaded_service_adds_replicas_and_cuts_the_tail():
    knobs = {"load.rate_rps": 80.0, "load.duration_s": 120.0, "model.replicas": 4,
             "autoscale.min_replicas": 2, "autoscale.max_replicas": 16,
             "autoscale.interval_s": 10.0, "autoscale.cold_start_s": 5.0}
    fixed = simulate(knobs, seed=3).summary
    scaled = simulate({**knobs, "autoscale.enabled": True}, seed=3).summary
    assert scaled["replicas_mean"] > 4.5
    assert scaled["latency_ms"]["p95"] < fixed["latency_ms"]["p95"] / 2
