"""The data path: the batch store, the pre-model steps, and what scheduled jobs cost.

The unit tests drive :class:`DataPath` with scripted uniform draws; the others run the
simulator.  Scheduled jobs (batch precompute runs, retrieval index rebuilds) cost money
whether or not a request needs them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.sim import simulate
from labkit.sim.codes import Path
from labkit.sim.config import EmbedConfig, RerankConfig, RetrievalConfig, ServingConfig, StepsConfig
from labkit.sim.datapath import DataPath
from labkit.sim.load import Workload
from labkit.sim.recorder import Recorder
from labkit.sim.request import Request


def datapath(*, uniform=lambda: 0.5, degraded=False, world_change_s=math.inf, **configs):
    rec = Recorder(Workload(arrival_s=np.zeros(1), prompt=np.zeros(1, int),
                            valid=np.ones(1, bool), write=np.zeros(1, bool),
                            service_u=np.zeros(1), error_u=np.zeros(1)))
    dp = DataPath(serving=configs.get("serving", ServingConfig()),
                  embed=configs.get("embed", EmbedConfig()),
                  retrieval=configs.get("retrieval", RetrievalConfig()),
                  rerank=configs.get("rerank", RerankConfig()),
                  steps=configs.get("steps", StepsConfig()), world_change_s=world_change_s,
                  model_quality=0.8, stale_quality=0.5, uniform=uniform,
                  degraded=lambda now: degraded, recorder=rec)
    return dp, rec


def req():
    return Request(0, prompt=0, write=False, deadline=math.inf)


def draws(*values):
    it = iter(values)
    return lambda: next(it)


def test_with_no_step_on_nothing_is_drawn_or_delayed():
    dp, rec = datapath(uniform=draws())
    r = req()
    assert dp.prepare(r, 1.0) == 0.0 and r.path == Path.GATEWAY and rec.steps_cost == 0.0


def test_rag_embeds_retrieves_and_reranks_adding_delay_cost_and_quality():
    dp, rec = datapath(serving=ServingConfig(pattern="rag"), rerank=RerankConfig(enabled=True),
                       uniform=draws(0.1, 0.9, 0.2))   # run retrieval, it works, run rerank
    r = req()
    delay = dp.prepare(r, 0.0)
    e, rt, rr = EmbedConfig(), RetrievalConfig(), RerankConfig()
    assert delay == pytest.approx((e.latency_ms + rt.latency_ms + rt.permission_ms
                                   + rr.latency_ms) / 1000.0)
    assert r.path == Path.GATEWAY | Path.EMBED | Path.RETRIEVAL | Path.RERANK
    assert r.quality == pytest.approx(rt.quality_gain + rr.quality_gain)
    assert r.cost == pytest.approx(e.cost_per_call + rt.cost_per_call + rr.cost_per_call)
    assert rec.steps_cost == r.cost
    assert rec.steps_calls == {"embed": 1, "retrieval": 1, "rerank": 1}


def test_a_failed_embedding_means_no_retrieval():
    dp, rec = datapath(embed=EmbedConfig(enabled=True, error_rate=0.5),
                       retrieval=RetrievalConfig(enabled=True), uniform=draws(0.1, 0.2))
    r = req()
    dp.prepare(r, 0.0)
    assert r.path & Path.EMBED and not r.path & Path.RETRIEVAL and r.quality == 0.0


def test_without_the_permission_check_a_restricted_document_leaks():
    dp, _ = datapath(retrieval=RetrievalConfig(enabled=True, permission_check=False,
                                               restricted_fraction=0.3),
                     uniform=draws(0.1, 0.9, 0.2))     # run, works, restricted
    r = req()
    dp.prepare(r, 0.0)
    assert r.leak


def test_an_index_built_before_the_world_changed_gives_stale_answers():
    dp, _ = datapath(retrieval=RetrievalConfig(enabled=True, index_refresh_s=100.0),
                     world_change_s=30.0, uniform=lambda: 0.5)
    before, after = req(), req()
    dp.prepare(before, 10.0)
    dp.prepare(after, 40.0)
    assert not before.stale and after.stale
    assert after.lag == pytest.approx(40.0 + (40.0 + 8.0) / 1000.0 - 30.0)


def test_steps_are_skipped_while_the_primary_struggles_if_asked():
    dp, _ = datapath(retrieval=RetrievalConfig(enabled=True),
                     steps=StepsConfig(skip_when_degraded=True), degraded=True,
                     uniform=draws())
    assert dp.prepare(req(), 0.0) == 0.0


def test_the_batch_store_is_stale_from_the_world_change_to_the_next_job():
    dp, _ = datapath(serving=ServingConfig(pattern="batch", batch_interval_s=60.0),
                     world_change_s=90.0)
    early, stale, fresh = req(), req(), req()
    assert dp.from_store(early, 80.0) == pytest.approx(80.005)
    dp.from_store(stale, 100.0)
    dp.from_store(fresh, 125.0)
    assert (early.stale, stale.stale, fresh.stale) == (False, True, False)
    assert (early.quality, stale.quality, fresh.quality) == (0.8, 0.5, 0.8)
    assert stale.lag == pytest.approx(10.0) and stale.path & Path.STORE


@pytest.mark.parametrize("refresh_s", [10.0, 45.0, 300.0])
def test_index_rebuilds_are_paid_once_per_refresh_interval(refresh_s: float) -> None:
    knobs = {"serving.pattern": "rag", "load.duration_s": 90.0,
             "retrieval.index_refresh_s": refresh_s, "retrieval.index_rebuild_cost": 0.25}
    cost = simulate(knobs, seed=3).summary["cost"]
    assert cost["jobs"] == pytest.approx(math.ceil(90.0 / refresh_s) * 0.25)
    parts = cost["calls"] + cost["steps"] + cost["fallback"] + cost["replicas"] + cost["jobs"]
    assert cost["total"] == pytest.approx(parts)


def test_a_fresher_index_costs_more_and_serves_fewer_stale_answers() -> None:
    base = {"serving.pattern": "rag", "load.duration_s": 120.0, "world.change_at_s": 30.0,
            "retrieval.index_rebuild_cost": 0.25}
    slow = simulate({**base, "retrieval.index_refresh_s": 100.0}, seed=1).summary
    fast = simulate({**base, "retrieval.index_refresh_s": 10.0}, seed=1).summary
    assert fast["cost"]["per_1k"] > slow["cost"]["per_1k"]
    assert fast["stale_answer_ratio"] < slow["stale_answer_ratio"]


def test_the_rebuild_cost_is_off_by_default_and_without_retrieval() -> None:
    assert simulate({"serving.pattern": "rag", "load.duration_s": 30.0},
                    seed=1).summary["cost"]["jobs"] == 0.0
    assert simulate({"retrieval.index_rebuild_cost": 1.0, "load.duration_s": 30.0},
                    seed=1).summary["cost"]["jobs"] == 0.0


def test_batch_jobs_are_paid_per_scheduled_run() -> None:
    knobs = {"serving.pattern": "batch", "serving.batch_interval_s": 20.0,
             "serving.batch_job_cost": 2.0, "load.duration_s": 70.0}
    assert simulate(knobs, seed=1).summary["cost"]["jobs"] == pytest.approx(4 * 2.0)
