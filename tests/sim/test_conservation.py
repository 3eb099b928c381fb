"""Conservation laws that hold for every scenario, checked over random knob settings.

Issue 2: "Every request ends in exactly one outcome ... and the counts always add up to the
requests"; issue 3: model_calls and amplification count primary-model calls only; the
summary and time series are derived from the records (never counted twice), so they can never
disagree.  Settings are drawn by hypothesis from every knob's catalogue range (clipped to
short, light runs so an example takes well under a second) and repaired to satisfy the
cross-knob rules.  All checks are exact up to float summation rounding (rel 1e-9).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from labkit.knobs import Knob
from labkit.sim import PRESETS, simulate
from labkit.sim.codes import Attempt
from labkit.sim.scenario import CATALOGUE

# Upper (and a few lower) bounds that keep one run short; everything else is the catalogue's.
FAST: dict[str, tuple[float, float]] = {
    "load.rate_rps": (0.1, 60.0), "load.duration_s": (1.0, 8.0),
    "load.spike_multiplier": (1.0, 5.0), "load.spike_start_s": (0.0, 8.0),
    "load.spike_duration_s": (0.0, 8.0), "load.burst_on_s": (0.1, 5.0),
    "load.burst_off_s": (0.0, 5.0), "load.diurnal_period_s": (1.0, 20.0),
    "load.catalog_size": (1, 20_000), "cache.capacity_items": (1, 20_000),
    "gateway.rate_limit_rps": (0.0, 100.0), "gateway.burst": (1, 50),
    "gateway.max_queue": (0, 100), "gateway.deadline_ms": (0.0, 3000.0),
    "gateway.validate_ms": (0.0, 20.0),
    "serving.batch_interval_s": (1.0, 20.0), "serving.batch_job_cost": (0.0, 10.0),
    "serving.store_ms": (0.0, 20.0), "world.change_at_s": (-1.0, 10.0),
    "cache.ttl_s": (0.0, 10.0), "cache.hit_ms": (0.0, 10.0),
    "cache.content_change_s": (0.0, 20.0),
    "embed.latency_ms": (0.0, 100.0), "retrieval.latency_ms": (0.0, 100.0),
    "retrieval.permission_ms": (0.0, 50.0), "rerank.latency_ms": (0.0, 100.0),
    "retrieval.index_refresh_s": (1.0, 20.0), "retrieval.index_rebuild_cost": (0.0, 5.0),
    "embed.cost_per_call": (0.0, 0.01), "retrieval.cost_per_call": (0.0, 0.01),
    "rerank.cost_per_call": (0.0, 0.01), "embed.servers": (0, 6), "retrieval.servers": (0, 6),
    "rerank.servers": (0, 6),
    "batch.max_size": (1, 32), "batch.max_wait_ms": (0.0, 50.0),
    "model.replicas": (1, 16), "model.service_ms": (0.1, 300.0),
    "model.upstream_limit_rps": (0.0, 100.0), "model.upstream_burst": (1, 50),
    "model.cost_per_call": (0.0, 0.01), "model.cost_per_replica_hour": (0.0, 10.0),
    "autoscale.min_replicas": (1, 8), "autoscale.max_replicas": (1, 16),
    "autoscale.interval_s": (1.0, 5.0), "autoscale.cold_start_s": (0.0, 5.0),
    "fault.outage_start_s": (0.0, 8.0), "fault.outage_duration_s": (0.0, 5.0),
    "fault.slowdown_start_s": (0.0, 8.0), "fault.slowdown_duration_s": (0.0, 5.0),
    "fault.slowdown_factor": (1.0, 10.0), "fault.replica_lost_at_s": (-1.0, 8.0),
    "model.session_users": (1, 500), "model.session_warmup_ms": (0.0, 1000.0),
    "model.session_requests_mean": (1.0, 20.0),
    "retry.max_attempts": (1, 6), "retry.timeout_ms": (0.0, 1000.0),
    "retry.base_ms": (0.0, 200.0), "retry.cap_ms": (0.0, 2000.0),
    "retry.budget_window_s": (1.0, 10.0), "retry.throttle_window_s": (1.0, 20.0),
    "breaker.min_calls": (1, 30), "breaker.window_s": (0.1, 10.0),
    "breaker.open_s": (0.1, 5.0), "breaker.half_open_calls": (1, 10),
    "fallback.small_model_ms": (0.1, 100.0), "fallback.small_model_replicas": (1, 4),
    "fallback.small_model_cost_per_call": (0.0, 0.01), "kill.at_s": (-1.0, 8.0),
    "boundary.review_s": (0.1, 5.0), "boundary.reviewers": (1, 10),
    "budget.p95_ms": (0.0, 5000.0), "budget.p99_ms": (0.0, 5000.0),
    "budget.cost_per_1k": (0.0, 20.0),
    # token mode: modest models and hardware, so a run drains in simulated minutes
    "load.prompt_tokens": (1, 2000), "load.output_tokens": (1, 300),
    "load.shared_prefix_tokens": (0, 2000), "model.upstream_tpm": (0.0, 200_000.0),
    "model.cost_per_1m_input_tokens": (0.0, 10.0), "model.cost_per_1m_output_tokens": (0.0, 30.0),
    "llm.params_b": (0.5, 20.0), "llm.gpu_tflops": (50.0, 2000.0),
    "llm.gpu_mem_bw_gbs": (500.0, 8000.0), "llm.gpu_mem_gb": (1.0, 200.0),
    "llm.kv_bytes_per_token": (1024, 500_000), "llm.prefill_ms_per_1k": (0.0, 100.0),
    "llm.decode_step_ms": (0.0, 20.0), "llm.kv_capacity_tokens": (0, 50_000),
    "llm.max_batch_seqs": (1, 64), "llm.max_prefill_tokens": (1, 20_000),
    "llm.chunked_prefill_tokens": (0, 4096),
    "budget.ttft_p95_ms": (0.0, 5000.0), "budget.tpot_p95_ms": (0.0, 200.0),
}


def knob_strategy(knob: Knob) -> st.SearchStrategy:
    if knob.kind == "bool":
        return st.booleans()
    if knob.kind == "choice":
        return st.sampled_from(knob.choices)
    if knob.kind == "multi":
        return st.lists(st.sampled_from(knob.choices), unique=True,
                        max_size=len(knob.choices)).map(tuple)
    lo, hi = FAST.get(knob.name, (knob.min, knob.max))
    assert lo is not None and hi is not None, f"give {knob.name} a FAST range"
    if knob.off_value is not None and knob.off_value < 0:   # -1 = never, else a time >= 0
        return st.one_of(st.just(knob.off_value), st.floats(0.0, float(hi), allow_nan=False))
    if knob.kind == "int":
        return st.integers(int(lo), int(hi))
    return st.floats(float(lo), float(hi), allow_nan=False)


def repair(knobs: dict) -> dict:
    """Satisfy the cross-knob rules (scenario.py) without narrowing the single-knob ranges."""
    k = dict(knobs)
    k["retry.cap_ms"] = max(k["retry.cap_ms"], k["retry.base_ms"])
    lo, hi = sorted((k["autoscale.min_replicas"], k["autoscale.max_replicas"]))
    k["autoscale.min_replicas"], k["autoscale.max_replicas"] = lo, hi
    if k["autoscale.enabled"]:
        k["model.replicas"] = min(hi, max(lo, k["model.replicas"]))
        k["router.small_replicas"] = min(hi, max(lo, k["router.small_replicas"]))
    if k["load.spike_start_s"] >= k["load.duration_s"]:
        k["load.spike_start_s"] = 0.5 * k["load.duration_s"]
    if k["llm.enabled"]:   # stateful mode and a lost replica are request mode's
        k["model.session_affinity"], k["fault.replica_lost_at_s"] = False, -1.0
    if k["llm.enabled"]:   # the KV cache holds the weights' leftover and a whole request
        p, o = k["load.prompt_tokens"], k["load.output_tokens"]
        k["load.shared_prefix_tokens"] = min(k["load.shared_prefix_tokens"], p)
        if k["llm.kv_capacity_tokens"]:
            k["llm.kv_capacity_tokens"] = max(k["llm.kv_capacity_tokens"], p + o + 1)
        else:
            need = (k["llm.params_b"] * k["llm.bytes_per_param"]
                    + (p + o + 2) * k["llm.kv_bytes_per_token"] / 1e9)
            k["llm.gpu_mem_gb"] = max(k["llm.gpu_mem_gb"], need + 0.01)
    return k


KNOBS = st.fixed_dictionaries({name: knob_strategy(knob) for name, knob in CATALOGUE.items()}
                              ).map(repair)


def check_conservation(res) -> None:
    r, a, s = res.records, res.attempts, res.summary
    n = len(r)
    # one record per request, in id order, each with exactly one known outcome
    assert s["requests"] == n
    assert np.array_equal(r["id"], np.arange(n))
    assert set(np.unique(r["outcome"]).tolist()) <= {0, 1, 2, 3}
    counts = np.bincount(r["outcome"], minlength=4)
    assert [s["outcomes"][k] for k in res.outcome_names] == counts.tolist()
    assert sum(s["outcomes"].values()) == n
    # nothing unfinished, nothing ends before it starts
    assert np.isfinite(r["end_s"]).all()
    assert (r["end_s"] >= r["arrival_s"]).all()
    assert r["latency_ms"] == pytest.approx((r["end_s"] - r["arrival_s"]) * 1000.0,
                                            rel=1e-9, abs=1e-9)
    # success rate from the same counts
    answered = counts[0] + counts[1]
    assert s["success_rate"] == pytest.approx(answered / n if n else 1.0)
    # primary-model calls: summary == attempt log == records
    calls = int(a["model_call"].sum())
    assert s["model_calls"] == calls == int(r["model_calls"].sum())
    reached = int((r["model_calls"] > 0).sum())
    assert s["amplification"] == pytest.approx(calls / reached if reached else 0.0)
    assert set(a["request"].tolist()) <= set(range(n))
    assert (a["end_s"] >= a["start_s"]).all()
    # the kill switch: no model call (of any of the primary's pools) is served after it
    if res.scenario.kill.at_s is not None:
        served = a[np.isin(a["result"], (Attempt.OK, Attempt.ERROR)) & a["model_call"]]
        assert (served["start_s"] + served["wait_s"] <= res.scenario.kill.at_s + 1e-9).all()
    # cost: per-request costs plus replicas plus batch jobs make the total
    c = s["cost"]
    tools = c.get("tools", 0.0)   # agent mode: tool calls are paid for beside the records
    assert float(r["cost"].sum()) + c["replicas"] + c["jobs"] + tools == pytest.approx(
        c["total"], rel=1e-9, abs=1e-12)
    assert c["calls"] + c["steps"] + c["fallback"] == pytest.approx(float(r["cost"].sum()),
                                                                    rel=1e-9, abs=1e-12)
    # every degraded answer came by exactly one fallback path (or a guardrail's safe message)
    assert sum(s["fallback_by_path"].values()) == counts[1]
    # the time series adds up to the same totals
    ts = res.timeseries()
    assert ts["arrivals"].sum() == n
    for code, name in enumerate(res.outcome_names):
        assert ts[name].sum() == counts[code]
    assert ts["model_calls"].sum() == calls
    assert np.allclose(np.diff(ts["t_s"]), 1.0)
    if res.tokens is not None:
        check_token_conservation(res, ts)


def check_token_conservation(res, ts) -> None:
    """Token mode: token records, summary, totals and time series agree; every answer by the
    model has a first token no earlier than its arrival and ends no earlier than it."""
    tok, s, r, sc = res.tokens, res.summary, res.records, res.scenario
    assert np.array_equal(tok["id"], np.arange(len(r)))
    assert s["tokens"] == {"input": int(tok["tokens_in"].sum()),
                           "output": int(tok["tokens_out"].sum())}
    # billed tokens are whole calls' lengths; a request is billed once per completed call
    assert (tok["tokens_in"] % np.maximum(tok["prompt_tokens"], 1) == 0).all()
    assert (tok["tokens_out"] % np.maximum(tok["output_tokens"], 1) == 0).all()
    assert (tok["prompt_tokens"] >= 1).all() and (tok["output_tokens"] >= 1).all()
    # the replicas produced at least what was billed (abandoned work is produced, not billed)
    assert res.totals["tokens_produced"] >= s["tokens"]["output"]
    assert ts["tokens_out"].sum() == pytest.approx(res.totals["tokens_produced"], abs=1e-6)
    answered = ~np.isnan(tok["ttft_ms"])
    assert (tok["ttft_ms"][answered] >= 0).all()
    assert (tok["ttft_ms"][answered] <= r["latency_ms"][answered] + 1e-6).all()
    assert 0.0 <= s["kv_utilization_mean"] <= 1.0 + 1e-9
    assert 0.0 <= s["prefix_hit_ratio"] <= 1.0
    assert s["batch_seqs_mean"] <= sc.llm.max_batch_seqs
    assert (ts["running_seqs"] <= sc.llm.max_batch_seqs * max(ts["replicas"].max(), 1)).all()


# Shrinking a failing example can take minutes on this machine, so it is off unless asked
# for (LABKIT_SHRINK=1); the failing settings are printed whole either way, and hypothesis's
# example database replays them first on the next run.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate] + (
    [Phase.shrink] if os.environ.get("LABKIT_SHRINK") == "1" else [])


@settings(max_examples=150, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.slow
@given(knobs=KNOBS, seed=st.integers(0, 2**32 - 1))
def test_conservation_over_random_knob_settings(knobs, seed):
    check_conservation(simulate(knobs, seed=seed))


@pytest.mark.parametrize("preset", list(PRESETS))
def test_conservation_on_every_preset(preset):
    check_conservation(simulate({"load.duration_s": 50.0}, seed=7, preset=preset))


def test_the_strategy_covers_every_knob():
    """A knob added to the catalogue without a fast range would be drawn from an unbounded
    range (and make examples slow); this keeps FAST and the catalogue in step."""
    unbounded = [k.name for k in CATALOGUE.values() if k.kind in ("int", "float")
                 and (k.max is None or k.max > 1000) and k.name not in FAST]
    assert unbounded == []
    assert set(FAST) <= set(CATALOGUE)
