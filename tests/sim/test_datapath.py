"""The data path: the batch store, the pre-model steps, their capacity, and what scheduled
jobs cost.

The unit tests drive :class:`DataPath` and :class:`Hop` with scripted uniform draws and a
bare SimPy clock; the others run the simulator.  Scheduled jobs (batch precompute runs,
retrieval index rebuilds) cost money whether or not a request needs them.  A step with
servers is a FIFO multi-server queue: theory tests hold one retrieval hop to Erlang C and
Little's law, the run's throughput to the hop's capacity, and more servers to a p95 that
never rises.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import simpy

from labkit.knobs import KnobError
from labkit.sim import Scenario, simulate, theory
from labkit.sim.codes import Path
from labkit.sim.config import EmbedConfig, RerankConfig, RetrievalConfig, ServingConfig, StepsConfig
from labkit.sim.datapath import DataPath, Hop
from labkit.sim.load import Workload
from labkit.sim.recorder import Recorder
from labkit.sim.report import format_report
from labkit.sim.request import Request


def datapath(*, uniform=lambda: 0.5, degraded=False, world_change_s=math.inf, env=None,
             **configs):
    rec = Recorder(Workload(arrival_s=np.zeros(1), prompt=np.zeros(1, int),
                            valid=np.ones(1, bool), write=np.zeros(1, bool),
                            service_u=np.zeros(1), error_u=np.zeros(1)))
    dp = DataPath(serving=configs.get("serving", ServingConfig()),
                  embed=configs.get("embed", EmbedConfig()),
                  retrieval=configs.get("retrieval", RetrievalConfig()),
                  rerank=configs.get("rerank", RerankConfig()),
                  steps=configs.get("steps", StepsConfig()), world_change_s=world_change_s,
                  model_quality=0.8, stale_quality=0.5, uniform=uniform,
                  degraded=lambda now: degraded, recorder=rec, env=env)
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


# --- capacity: servers and a FIFO queue per step ---------------------------------------

def test_a_hop_serves_its_servers_at_once_and_queues_the_rest_in_arrival_order():
    env = simpy.Environment()
    hop = Hop(env, servers=2)
    ended: list[tuple[str, float]] = []
    for name in "abc":
        hop.submit(lambda now: True, 1.0, lambda now, n=name: ended.append((n, now)))
    env.run()
    assert ended == [("a", 1.0), ("b", 1.0), ("c", 2.0)]
    assert hop.waits == [0.0, 0.0, 1.0] and hop.busy_s == 3.0 and hop.busy == 0


def test_a_hop_without_servers_never_queues():
    env = simpy.Environment()
    hop = Hop(env, servers=None)
    for _ in range(5):
        hop.submit(lambda now: True, 1.0, lambda now: None)
    env.run()
    assert env.now == 1.0 and hop.waits == [0.0] * 5


def test_a_call_refused_at_its_turn_frees_the_server_for_the_next():
    env = simpy.Environment()
    hop = Hop(env, servers=1)
    ended: list[str] = []
    hop.submit(lambda now: True, 1.0, lambda now: ended.append("a"))
    hop.submit(lambda now: False, 1.0, lambda now: ended.append("skipped"))
    hop.submit(lambda now: True, 1.0, lambda now: ended.append("c"))
    env.run()
    assert ended == ["a", "c"] and env.now == 2.0 and hop.waits == [0.0, 1.0]


def test_an_expired_request_skips_the_queued_steps_and_is_not_billed_for_them():
    env = simpy.Environment()
    dp, rec = datapath(retrieval=RetrievalConfig(enabled=True, servers=1, latency_ms=1000.0,
                                                 permission_check=False),
                       uniform=lambda: 0.5, env=env)
    first, late = req(), Request(1, prompt=1, write=False, deadline=0.5)
    reached: list[tuple[int, float]] = []
    for r in (first, late):
        dp.start(r, 0.0, lambda r: reached.append((r.id, env.now)))
    env.run()
    assert reached == [(0, 1.0), (1, 1.0)]   # the late one leaves when its turn comes
    assert rec.steps_calls["retrieval"] == 1 and late.cost == 0.0
    assert rec.steps_cost == first.cost == RetrievalConfig().cost_per_call


def test_capacity_or_random_step_times_need_the_clock():
    with pytest.raises(ValueError, match="needs env"):
        datapath(retrieval=RetrievalConfig(enabled=True, servers=2))


@pytest.mark.parametrize("knob, value, message", [
    ("retrieval.servers", -1, "retrieval.servers must be >= 0, got -1"),
    ("embed.servers", 1001, "embed.servers must be <= 1000, got 1001"),
    ("steps.service_dist", "expo",
     "steps.service_dist must be one of deterministic, exponential, got 'expo'"),
])
def test_bad_capacity_knobs_are_refused_by_name(knob, value, message):
    with pytest.raises(KnobError, match=re.escape(message)):
        Scenario.from_knobs({knob: value})


def test_zero_servers_means_unlimited_and_changes_nothing():
    knobs = {"serving.pattern": "rag", "rerank.enabled": True, "load.duration_s": 20.0}
    plain = simulate(knobs, seed=4)
    zero = simulate({**knobs, "retrieval.servers": 0, "embed.servers": 0, "rerank.servers": 0},
                    seed=4)
    assert zero.scenario.retrieval.servers is None
    assert plain.records.tobytes() == zero.records.tobytes() and "steps" not in zero.summary


def test_servers_that_never_run_out_give_the_pure_delays():
    """Enough servers that nobody queues: every request's latency is the unlimited one
    (the same draws; only the float sum of the step times is grouped differently)."""
    knobs = {"serving.pattern": "rag", "rerank.enabled": True, "load.duration_s": 30.0,
             "world.change_at_s": 10.0, "retrieval.index_refresh_s": 7.0}
    plain = simulate(knobs, seed=2)
    roomy = simulate({**knobs, "embed.servers": 1000, "retrieval.servers": 1000,
                      "rerank.servers": 1000}, seed=2)
    assert np.allclose(plain.records["latency_ms"], roomy.records["latency_ms"], atol=1e-6)
    for col in ("outcome", "path", "stale", "leak", "cost", "quality"):
        assert np.array_equal(plain.records[col], roomy.records[col]), col
    steps = roomy.summary["steps"]
    assert steps["retrieval"]["wait_ms_p95"] == 0.0
    assert steps["retrieval"]["calls"] == plain.summary["steps_calls"]["retrieval"]


# One retrieval hop in front of a model with room to spare: the hop is an M/M/c queue.
MMC = {"retrieval.enabled": True, "retrieval.permission_check": False,
       "retrieval.latency_ms": 100.0, "steps.service_dist": "exponential",
       "model.replicas": 40, "model.service_ms": 20.0, "load.duration_s": 2000.0,
       "load.rate_rps": 24.0, "retrieval.servers": 3}
MMC_SEEDS = (1, 2, 3, 4, 5)


@pytest.fixture(scope="module")
def mmc_runs():
    return [simulate(MMC, seed=s) for s in MMC_SEEDS]


@pytest.mark.slow
def test_one_retrieval_hop_with_c_servers_matches_erlang_c(mmc_runs):
    """ρ = 0.8 on 3 servers: about 48,000 retrievals per seed.  Over seeds 1-5 the seed means
    of the wait spread by about 6% (standard deviation), so the mean of five is within about
    3% of the truth; 10% is over three standard errors.  The share that waits is a mean of
    48,000 correlated indicators per seed, within 0.03 of Erlang C (over 5 standard errors)."""
    want = theory.mmc(rate_rps=24.0, service_ms=100.0, servers=3)
    waits = [r.summary["steps"]["retrieval"]["wait_ms_mean"] for r in mmc_runs]
    assert np.mean(waits) == pytest.approx(want.wq_ms, rel=0.10)
    waited = [np.mean(np.asarray(r.totals["steps_hops"]["retrieval"]["waits_s"]) > 0)
              for r in mmc_runs]
    assert np.mean(waited) == pytest.approx(want.p_wait, abs=0.03)


@pytest.mark.slow
def test_busy_retrieval_servers_follow_littles_law(mmc_runs):
    """Mean servers busy = arrival rate x mean time held (λS = 2.4), within 2% per seed."""
    for r in mmc_runs:
        steps = r.summary["steps"]["retrieval"]
        assert steps["busy_servers_mean"] == pytest.approx(2.4, rel=0.02)
        assert steps["utilisation"] == pytest.approx(0.8, rel=0.02)


@pytest.mark.parametrize("dist", ["deterministic", "exponential"])
def test_throughput_is_capped_at_the_hop_capacity_when_it_is_the_bottleneck(dist):
    """60 requests/s into 2 retrieval servers of 50 ms: at most 2 / 0.05 = 40 requests/s get
    through.  Answers are counted from 10 s to 60 s, after the queue has built up: 40/s up to
    the sampling noise of the model stage and, with exponential times, of the hop (3%).
    With 4 servers (capacity 80/s) the hop is no bottleneck and all 60/s get through."""
    knobs = {"retrieval.enabled": True, "retrieval.permission_check": False,
             "retrieval.latency_ms": 50.0, "steps.service_dist": dist, "load.rate_rps": 60.0,
             "load.duration_s": 60.0, "model.replicas": 12, "model.service_ms": 20.0}

    def rate(servers: int) -> float:
        r = simulate({**knobs, "retrieval.servers": servers}, seed=1).records
        return float(((r["end_s"] >= 10.0) & (r["end_s"] < 60.0)).sum() / 50.0)

    assert rate(2) == pytest.approx(40.0, rel=0.03)
    assert rate(4) == pytest.approx(60.0, rel=0.05)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_more_servers_never_raise_p95(seed):
    """Each request keeps its step times whatever the capacity, and a first-come,
    first-served queue with more servers never makes anyone wait longer: the hop's own
    p95 wait never rises, nor does the end-to-end p95 when nothing after the hop queues.
    (With queues after it, a faster hop hands them burstier traffic, and their waits may
    grow by a fraction of a millisecond; only the hop's wait is monotone there.)"""
    alone = {"retrieval.enabled": True, "steps.service_dist": "exponential",
             "load.rate_rps": 20.0, "load.duration_s": 120.0, "model.replicas": 60}
    chain = {**alone, "serving.pattern": "rag", "rerank.enabled": True, "model.replicas": 12,
             "embed.servers": 2, "rerank.servers": 2}
    for knobs, key in ((alone, "latency"), (chain, "wait")):
        runs = [simulate({**knobs, "retrieval.servers": c}, seed=seed).summary
                for c in (1, 2, 3, 4, 6)]
        p95 = [s["latency_ms"]["p95"] if key == "latency" else s["steps"]["retrieval"]["wait_ms_p95"]
               for s in runs]
        assert all(later <= earlier for earlier, later in zip(p95, p95[1:])), (key, p95)
        assert p95[0] > 2 * p95[-1] + 1.0, (key, p95)   # one server (ρ = 0.96) is the bottleneck


def test_the_run_lasts_until_the_steps_queues_have_drained():
    """An overloaded hop still holds requests when the model is idle: the run (and the
    replica-seconds billed) goes on until its queue is empty, so the hop is busy all along."""
    res = simulate({"serving.pattern": "rag", "retrieval.servers": 1, "load.duration_s": 20.0},
                   seed=1)
    steps = res.summary["steps"]["retrieval"]
    assert res.totals["horizon_s"] > 30.0 and steps["utilisation"] == pytest.approx(1.0, abs=0.02)
    assert res.records["end_s"].max() <= res.totals["horizon_s"]
    text = format_report(res)
    assert re.search(r"^retrieval step +\d+ calls  servers 1  utilisation 1\.0", text, re.M) or \
        re.search(r"^retrieval step +\d+ calls  servers 1  utilisation 0\.9[89]", text, re.M), text
    assert "embed step" in text and "servers unlimited" in text
    assert "retrieval step" in res._repr_html_()
