"""The router's two pools (``classifier``, ``cascade``): both sampled, autoscaled and switched
off by the kill switch; and a cascade's escalated call meets the token quota and the breaker.

The small pool's samples are checked against a direct count from the attempt log (which
sequences were admitted and not yet finished at each sampled second), and against a
one-model run: a classifier that sends every request to the small model serves them exactly
as ``router.policy = small`` does (same draws, same events), so the small pool's series,
replicas and records must equal that run's, autoscaler and kill switch included.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.sim.test_conservation import KNOBS, PHASES, check_conservation, repair
from tests.sim.test_router import CHEAP, same

from labkit.sim import simulate
from labkit.sim.codes import DEGRADED, Attempt, Reason
from labkit.sim.engine import Engine
from labkit.sim.load import draw_workload
from labkit.sim.router import LARGE
from labkit.sim.run import STREAMS
from labkit.sim.scenario import Scenario
from labkit.streams import Streams

SERVED = (Attempt.OK, Attempt.ERROR)   # attempt rows of a call that was served


def service_spans(res) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) of service of every call the attempt log shows answered or failed by a
    replica: admitted at start_s + wait_s, finished at end_s."""
    a = res.attempts
    rows = a[np.isin(a["result"], SERVED) & a["model_call"]]
    return rows["start_s"] + rows["wait_s"], rows["end_s"]


# -- the small pool is sampled --------------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2])
def test_the_small_pools_samples_equal_a_direct_count_of_its_running_sequences(seed):
    # A cascade whose judge never escalates: every request is one small-model call, so the
    # attempt log's answered rows are exactly the small pool's calls.  Reserve admission, no
    # prefix cache and fixed lengths: each running sequence holds prompt + output KV tokens.
    res = simulate({**CHEAP, "router.policy": "cascade", "router.judge_recall": 0.0,
                    "router.judge_false_alarm": 0.0, "load.rate_rps": 120.0,
                    "router.small_replicas": 1, "load.output_tokens": 40}, seed=seed)
    check_conservation(res)
    small, large = res.model_samples["small"], res.model_samples["large"]
    start, end = service_spans(res)
    t = small[:, 0]
    running = ((start[None, :] <= t[:, None]) & (t[:, None] < end[None, :])).sum(axis=1)
    assert running.max() > 3                         # several sequences share the replica
    assert np.array_equal(small[:, 5], running)
    assert np.array_equal(small[:, 6], running * (60 + 40))
    assert not large[:, [1, 4, 5, 6, 7]].any()       # the large pool idled: queue, busy, ...
    assert (large[:, 2] == 2).all() and (large[:, 3] == 2).all()   # ... on 2 replicas
    # the time series: each model's columns, and the totals are their sums
    ts = res.timeseries()
    n = len(ts["t_s"]) - 1   # (the last bucket holds the last sample, after the horizon)
    assert np.array_equal(ts["small_running_seqs"][:n], running[:n])
    for key in ("running_seqs", "kv_tokens", "replicas", "queue_len", "busy"):
        assert np.array_equal(ts[key], ts[f"small_{key}"] + ts[f"large_{key}"]), key
    assert ts["small_tokens_out"].sum() == pytest.approx(res.summary["tokens"]["output"])
    assert ts["small_tokens_out"].sum() == pytest.approx(ts["tokens_out"].sum())
    assert not ts["large_tokens_out"].any()
    # the summary: per model under router.pools, both together at the top
    pools = res.summary["router"]["pools"]
    assert pools["small"]["tokens_produced"] == res.summary["tokens"]["output"] > 0
    assert pools["large"]["tokens_produced"] == 0 and pools["large"]["utilisation"] == 0.0
    assert res.summary["replicas_mean"] == pytest.approx(
        pools["small"]["replicas_mean"] + pools["large"]["replicas_mean"], rel=1e-12)
    assert res.summary["batch_seqs_mean"] == pools["small"]["batch_seqs_mean"] > 1.0


@pytest.mark.parametrize("seed", [1, 3])
def test_a_classifier_sending_everything_small_serves_it_as_the_one_model_run_does(seed):
    # Autoscaling and the kill switch on: the small pool is scaled and killed as the only
    # pool of a one-model run would be, so records, attempts and the small pool's samples
    # equal that run's, bit for bit.
    knobs = {**CHEAP, "load.output_tokens": 60, "load.output_tokens_cv": 0.6,
             "load.rate_rps": 150.0, "load.duration_s": 120.0, "router.small_replicas": 1,
             "llm.max_batch_seqs": 8,
             "autoscale.enabled": True, "autoscale.min_replicas": 1,
             "autoscale.max_replicas": 6, "autoscale.interval_s": 5.0,
             "autoscale.cold_start_s": 3.0, "autoscale.target_utilization": 0.4,
             "kill.at_s": 90.0, "fallback.chain": ("safe_message",)}
    routed = simulate({**knobs, "router.policy": "classifier", "router.classifier_share": 1.0},
                      seed=seed)
    alone = simulate({**knobs, "router.policy": "small"}, seed=seed)
    assert same(routed.records, alone.records)
    assert same(routed.attempts, alone.attempts)
    small = routed.model_samples["small"]
    assert np.array_equal(small[:, :5], alone.samples)
    assert np.array_equal(small[:, 5:], alone.token_samples[:, 1:])
    # the autoscaler did scale the small pool up, and the idle large pool down to the floor
    assert small[:, 2].max() > 1
    assert routed.model_samples["large"][-1, 2] == 1
    pools = routed.summary["router"]["pools"]
    assert pools["small"]["replicas_mean"] == pytest.approx(alone.summary["replicas_mean"],
                                                            rel=1e-12)
    assert pools["small"]["utilisation"] == pytest.approx(alone.summary["utilisation"],
                                                          rel=1e-12)
    # after the kill nothing is served; later requests go straight to the fallbacks
    r = routed.records
    assert (r["reason"][r["arrival_s"] > 90.0] == Reason.KILLED).all()
    start, _ = service_spans(routed)
    assert (start <= 90.0).all()


def test_the_kill_switch_stops_a_cascade_in_flight():
    # The small model is overloaded (its queue grows), the judge escalates most answers.
    # At the kill: the small queue goes to the fallbacks, no call of either model starts
    # after it, answers already being written still end, escalations go to the fallbacks,
    # and every request ends once.
    kill = 20.0
    res = simulate({**CHEAP, "router.policy": "cascade", "router.small_replicas": 1,
                    "load.rate_rps": 150.0, "load.duration_s": 40.0, "load.output_tokens": 60,
                    "llm.max_batch_seqs": 4,
                    "router.judge_recall": 1.0, "router.judge_false_alarm": 0.5,
                    "kill.at_s": kill, "fallback.chain": ("safe_message",)}, seed=4)
    check_conservation(res)
    a, r = res.attempts, res.records
    small = res.model_samples["small"]
    assert small[small[:, 0] < kill, 1].max() > 50           # a long small queue at the kill
    assert not small[small[:, 0] > kill, 1].any()            # ... gone after it
    start, end = service_spans(res)
    assert (start <= kill).all() and (end > kill).any()      # in-flight calls finished
    drained = a[(a["result"] == Attempt.KILLED) & ~a["model_call"]]
    assert len(drained) > 50 and (drained["end_s"] == kill).all()
    escalated = a[(a["result"] == Attempt.KILLED) & a["model_call"]]
    assert len(escalated) > 0 and (escalated["end_s"] >= kill).all()
    after = r[r["arrival_s"] > kill]
    assert (after["reason"] == Reason.KILLED).all() and (after["model_calls"] == 0).all()
    # the sampler ran until both pools were idle; nothing was left running or queued
    assert not small[-1, [1, 4, 5]].any() and not res.model_samples["large"][-1, [1, 4, 5]].any()


ROUTED = st.tuples(KNOBS, st.sampled_from(["classifier", "cascade"])).map(
    lambda kp: repair({**kp[0], "llm.enabled": True, "router.policy": kp[1]}))


@settings(max_examples=60, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow])
@given(knobs=ROUTED, seed=st.integers(0, 2**32 - 1))
def test_conservation_with_the_router_on(knobs, seed):
    res = simulate(knobs, seed=seed)
    check_conservation(res)
    assert set(res.model_samples) == {"small", "large"}
    ms = res.model_samples
    assert np.array_equal(ms["small"][:, 0], res.samples[:, 0])
    assert np.array_equal(ms["small"][:, 1:5] + ms["large"][:, 1:5], res.samples[:, 1:])
    assert np.allclose(ms["small"][:, 5:] + ms["large"][:, 5:], res.token_samples[:, 1:])
    pools = res.totals["pools"]
    assert pools["small"]["tokens_produced"] + pools["large"]["tokens_produced"] == \
        res.totals["tokens_produced"]
    ts = res.timeseries()
    assert np.array_equal(ts["kv_capacity_tokens"],
                          pools["small"]["kv_capacity"] * ts["small_replicas"]
                          + pools["large"]["kv_capacity"] * ts["large_replicas"])
    assert (ts["kv_tokens"] <= ts["kv_capacity_tokens"]).all()
    for name in ("small", "large"):
        assert ts[f"{name}_tokens_out"].sum() == pytest.approx(
            pools[name]["tokens_produced"], abs=1e-6)
        cap = pools[name]["kv_capacity"] * max(ts[f"{name}_replicas"].max(), 1)
        assert (ts[f"{name}_kv_tokens"] <= cap).all()


# -- an escalated call meets the token quota and the breaker ------------------------------
def run_engine(knobs: dict, seed: int):
    """Run the engine directly, logging every call submitted to a model: (time, tokens,
    model code)."""
    sc = Scenario.from_knobs(knobs)
    streams = Streams(seed, STREAMS)
    engine = Engine(sc, draw_workload(sc.load, streams), streams)
    submitted: list[tuple[float, int, int]] = []
    assert engine.router is not None
    for code, pool in engine.router.pools.items():
        def spy(call, _submit=pool.submit, _code=code):
            submitted.append((engine.env.now, engine.call_tokens[call.owner.id], _code))
            _submit(call)
        pool.submit = spy
    engine.run()
    return engine, engine.collect(seed), submitted


def window_max(times: np.ndarray, used: np.ndarray, window_s: float = 60.0) -> float:
    """The most tokens in any window (t - 60 s, t] ending at a submission."""
    order = np.argsort(times, kind="stable")
    times, used = times[order], used[order]
    cum = np.concatenate(([0], np.cumsum(used)))
    lo = np.searchsorted(times, times - window_s, side="right")
    return float((cum[1:] - cum[lo]).max())


@pytest.mark.parametrize("seed", [1, 2])
def test_the_token_quota_holds_with_a_cascade_escalating_heavily(seed):
    # Every small answer is escalated (the judge flags them all), so each request asks for
    # its tokens twice; offered: 8 req/s x 2 calls x 68 tokens x 60 s = 65k tokens a minute,
    # above the 40k quota.  Every call that reached a model, small or large, first or
    # escalated, took its tokens from the quota: no 60 s window holds more.
    tpm = 40_000.0
    engine, res, submitted = run_engine(
        {**CHEAP, "router.policy": "cascade", "router.judge_recall": 1.0,
         "router.judge_false_alarm": 1.0, "load.rate_rps": 8.0, "load.duration_s": 240.0,
         "model.upstream_tpm": tpm, "retry.max_attempts": 2,
         "fallback.chain": ("safe_message",)}, seed)
    check_conservation(res)
    times = np.array([t for t, _, _ in submitted])
    used = np.array([u for _, u, _ in submitted])
    assert window_max(times, used) <= tpm
    assert window_max(times, used) > 0.9 * tpm           # it binds ...
    a = res.attempts
    # ... on escalations too: attempts whose small call answered but whose large call was
    # throttled (a whole attempt, logged from the small call's queueing to the refusal)
    throttled_escalations = a[(a["result"] == Attempt.THROTTLED) & (a["end_s"] > a["start_s"])]
    assert len(throttled_escalations) > 0
    assert res.summary["router"]["escalated"] == res.summary["router"]["small_calls"]


def test_an_open_breaker_stops_escalations():
    # The large model hangs from 10 s for the rest of the run; its calls time out, the
    # breaker opens and (open_s longer than the run) stays open.  Small calls in flight when
    # it opens are escalated by the judge: each must be refused by the open breaker (its
    # attempt logged breaker_open, the request answered by the fallback), none may reach the
    # large model.
    engine, res, submitted = run_engine(
        {**CHEAP, "router.policy": "cascade", "router.judge_recall": 1.0,
         "router.judge_false_alarm": 1.0, "router.small_replicas": 1,
         "load.rate_rps": 60.0, "load.duration_s": 40.0, "load.output_tokens": 400,
         "fault.mode": "hang", "fault.outage_start_s": 10.0, "fault.outage_duration_s": 100.0,
         "retry.timeout_ms": 4000.0, "model.cancel_on_timeout": True,
         "breaker.enabled": True, "breaker.min_calls": 5, "breaker.window_s": 10.0,
         "breaker.open_s": 1000.0, "fallback.chain": ("safe_message",)}, 3)
    check_conservation(res)
    breaker = engine.breaker
    assert breaker is not None and len(breaker.opens) == 1
    opened = breaker.opens[0]
    large_times = [t for t, _, code in submitted if code == LARGE]
    assert large_times and max(large_times) < opened        # no large call once open
    a, r = res.attempts, res.records
    refused = a[(a["result"] == Attempt.BREAKER_OPEN) & a["model_call"]]
    assert len(refused) >= 5                                  # escalations it refused
    assert (refused["end_s"] >= opened).all()
    assert (r["reason"][refused["request"]] == Reason.BREAKER_OPEN).all()
    assert (r["outcome"][refused["request"]] == DEGRADED).all()   # the safe message

