"""Token mode (issue 16) against closed forms, bounds and directions of effect.

Most checks here are exact (rel 1e-9: float rounding only) because the scenarios are built so
that the closed form holds exactly: every request the same length (cv 0), one replica, and
either no contention (a request every 10 s, far longer than one takes) or saturation with
identical sequences, where the replica works in cohorts.  Where randomness is left in (output
lengths with a cv, Poisson arrivals), the test compares directions over several seeds and
says why its margin holds.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.knobs import KnobError
from labkit.sim import Scenario, simulate
from labkit.sim.codes import DEGRADED, Attempt
from labkit.sim.engine import Engine
from labkit.sim.load import draw_workload
from labkit.sim.run import STREAMS
from labkit.sim.theory import (
    LLMStepTimes,
    kv_capacity_tokens,
    llm_step_times,
    reserve_max_seqs,
    saturated_cohort_tokens_s,
    uncontended_llm_request,
)
from labkit.streams import Streams

H100_8B = {"params_b": 8.0, "bytes_per_param": 2.0, "gpu_tflops": 989.0, "mfu": 0.5,
           "gpu_mem_bw_gbs": 3350.0, "kv_bytes_per_token": 131072}
TIMES = llm_step_times(**H100_8B)
# Exact lengths, no validation delay: the request's times are the model's alone.
ALONE = {"llm.enabled": True, "load.rate_rps": 0.1, "load.duration_s": 300.0,
         "model.replicas": 1, "load.prompt_tokens_cv": 0.0, "load.output_tokens_cv": 0.0,
         "gateway.validate_ms": 0.0}


def answered_by_model(res):
    tok = res.tokens
    return tok[~np.isnan(tok["ttft_ms"])]


def alone(res):
    """Token rows of the requests that had the replica to themselves: the one before ended
    before they arrived and the next arrived after they ended (Poisson arrivals a mean 10 s
    apart leave a few close pairs, which are contended and left out)."""
    r = res.records
    prev_end = np.concatenate(([-np.inf], r["end_s"][:-1]))
    next_arrival = np.concatenate((r["arrival_s"][1:], [np.inf]))
    keep = (prev_end < r["arrival_s"]) & (r["end_s"] < next_arrival)
    return res.tokens[keep], r[keep]


# -- roofline numbers: an 8B bf16 model on an H100 --------------------------------------
def test_batch_of_one_decode_reads_the_weights_once():
    # 8B parameters x 2 bytes / 3.35 TB/s = 4.776 ms, the often-quoted "about 4.8 ms".
    assert TIMES.step_ms == pytest.approx(16e9 / 3350e9 * 1000, rel=1e-12)
    assert round(TIMES.step_ms, 1) == 4.8
    # with a negligible KV cache, a lone sequence's time per token is the weights' read time
    res = simulate({**ALONE, "llm.kv_bytes_per_token": 1, "load.prompt_tokens": 1}, seed=3)
    tpot = alone(res)[0]["tpot_ms"]
    assert len(tpot) > 20
    assert tpot == pytest.approx(TIMES.step_ms, rel=1e-6)   # 1.5 bytes of KV per token: 1e-9


def test_kv_capacity_is_the_memory_the_weights_leave():
    assert kv_capacity_tokens(gpu_mem_gb=80, params_b=8, bytes_per_param=2,
                              kv_bytes_per_token=131072) == (80e9 - 16e9) // 131072
    with pytest.raises(ValueError, match="gpu_mem_gb must be > the weights"):
        kv_capacity_tokens(gpu_mem_gb=10, params_b=8, bytes_per_param=2, kv_bytes_per_token=1)


# -- an uncontended request -------------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("p, n", [(500, 200), (2000, 50), (1, 1), (64, 2)])
def test_an_uncontended_request_takes_exactly_ttft_plus_n_minus_1_tpot(seed, p, n):
    res = simulate({**ALONE, "load.prompt_tokens": p, "load.output_tokens": n}, seed=seed)
    want = uncontended_llm_request(p, n, TIMES)
    tok, rec = alone(res)
    assert len(tok) > 10 and not np.isnan(tok["ttft_ms"]).any()
    assert tok["ttft_ms"] == pytest.approx(want.ttft_ms, rel=1e-9)
    lat = rec["latency_ms"]
    assert lat == pytest.approx(want.latency_ms, rel=1e-9)
    if n > 1:
        assert tok["tpot_ms"] == pytest.approx(want.tpot_ms, rel=1e-9)
        assert lat == pytest.approx(tok["ttft_ms"] + (n - 1) * tok["tpot_ms"], rel=1e-9)
    else:
        assert np.isnan(tok["tpot_ms"]).all()
    assert res.summary["ttft_ms"]["p50"] == pytest.approx(want.ttft_ms, rel=1e-9)


def test_explicit_times_override_the_hardware_and_keep_the_kv_term():
    knobs = {**ALONE, "load.prompt_tokens": 1000, "load.output_tokens": 101,
             "llm.prefill_ms_per_1k": 40.0, "llm.decode_step_ms": 12.0}
    tok = alone(simulate(knobs, seed=1))[0]
    want = uncontended_llm_request(1000, 101, LLMStepTimes(40.0, 12.0, TIMES.kv_ms_per_token))
    assert tok["ttft_ms"] == pytest.approx(40.0, rel=1e-9)
    assert tok["tpot_ms"] == pytest.approx(want.tpot_ms, rel=1e-9)
    assert want.tpot_ms > 12.0


# -- KV reservation: the concurrency bound and the throughput it implies ------------------
def saturated(extra: dict, seed: int = 1):
    knobs = {"llm.enabled": True, "model.replicas": 1, "load.rate_rps": 400.0,
             "load.duration_s": 10.0, "load.prompt_tokens": 300, "load.output_tokens": 100,
             "load.prompt_tokens_cv": 0.0, "load.output_tokens_cv": 0.0,
             "gateway.validate_ms": 0.0, "llm.kv_capacity_tokens": 4000}
    return simulate({**knobs, **extra}, seed=seed)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_reserve_admission_runs_at_most_capacity_over_prompt_plus_output(seed):
    res = saturated({}, seed)
    bound = reserve_max_seqs(4000, 300, 100)
    assert bound == 10
    assert res.records["batch_size"].max() == bound           # reached, never passed
    assert res.timeseries()["running_seqs"].max() == bound
    assert res.summary["preemptions"] == 0
    assert res.summary["kv_utilization_mean"] <= 1.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_saturated_replica_decodes_at_the_cohort_rate(seed):
    res = saturated({}, seed)
    # Every cohort of 10 ends together; between cohort ends the replica did exactly one
    # prefill and 99 decode iterations, so the gap is the closed form's to rounding.
    ends = np.unique(np.round(res.records["end_s"], 9))
    gaps = np.diff(ends[len(ends) // 4: 3 * len(ends) // 4])
    want = saturated_cohort_tokens_s(10, 300, 100, TIMES)
    assert len(gaps) > 20
    assert 10 * 100 / gaps == pytest.approx(want, rel=1e-6)


def test_paged_admission_runs_more_at_once_and_preempts_when_memory_runs_out():
    reserve, paged = saturated({}), saturated({"llm.kv_admission": "paged"})
    assert paged.timeseries()["running_seqs"].max() > reserve_max_seqs(4000, 300, 100)
    assert reserve.summary["preemptions"] == 0
    assert paged.summary["preemptions"] > 0
    assert paged.summary["outcomes"]["ok"] == len(paged.records)
    # recomputed sequences are billed once: the tokens are the requests' own lengths
    assert paged.summary["tokens"] == {"input": 300 * len(paged.records),
                                       "output": 100 * len(paged.records)}


def test_max_batch_seqs_caps_the_running_sequences():
    res = saturated({"llm.max_batch_seqs": 4, "llm.kv_capacity_tokens": 100_000})
    assert res.records["batch_size"].max() == 4
    assert res.timeseries()["running_seqs"].max() == 4


# -- continuous against static batching ---------------------------------------------------
def makespan_tokens_s(scheduler: str, cv: float, seed: int) -> float:
    """Output tokens/s to serve about 600 requests that all arrive within 1 s."""
    res = simulate({"llm.enabled": True, "model.replicas": 1, "load.rate_rps": 600.0,
                    "load.duration_s": 1.0, "load.prompt_tokens": 200, "load.output_tokens": 200,
                    "load.prompt_tokens_cv": 0.0, "load.output_tokens_cv": cv,
                    "llm.max_batch_seqs": 32, "llm.scheduler": scheduler}, seed=seed)
    return res.summary["tokens"]["output"] / float(res.records["end_s"].max())


def test_continuous_batching_beats_static_more_as_output_lengths_vary():
    # Static batching holds a slot until the batch's longest answer ends; the expected
    # longest of 32 draws grows with the cv, so the advantage grows with it.  With equal
    # lengths the two differ only in the first batch (static starts it with the one request
    # that has arrived; continuous lets the others join): about 1/19 of the run, so within
    # 6%.  600 requests make about 19 batches, so the mean over three seeds is stable to a
    # few per cent, well inside the gaps between the ratios (each step adds 0.4 or more).
    ratios = []
    for cv in (0.0, 0.5, 1.0, 2.0):
        r = [makespan_tokens_s("continuous", cv, s) / makespan_tokens_s("static", cv, s)
             for s in (1, 2, 3)]
        ratios.append(float(np.mean(r)))
    assert 1.0 <= ratios[0] < 1.06, ratios          # equal lengths: the same cohorts
    assert all(b > a + 0.2 for a, b in zip(ratios, ratios[1:])), ratios


# -- the upstream tokens-per-minute quota and per-token prices ------------------------------
@pytest.mark.parametrize("seed", [1, 2])
def test_the_token_quota_is_never_exceeded_in_any_60_s_window(seed):
    tpm = 300_000.0
    res = simulate({"llm.enabled": True, "load.rate_rps": 8.0, "load.duration_s": 240.0,
                    "model.upstream_tpm": tpm, "model.replicas": 2}, seed=seed)
    a, tok = res.attempts, res.tokens
    admitted = a[a["model_call"] & (a["result"] != Attempt.THROTTLED)]
    t = admitted["start_s"]
    used = (tok["prompt_tokens"] + tok["output_tokens"])[admitted["request"]]
    order = np.argsort(t, kind="stable")
    t, used = t[order], used[order]
    cum = np.concatenate(([0], np.cumsum(used)))
    lo = np.searchsorted(t, t - 60.0, side="right")       # window (t - 60, t]
    window = cum[np.arange(1, len(t) + 1)] - cum[lo]
    assert window.max() <= tpm
    # ... and it binds: the offered load (about 8 x 700 x 60 = 336k tokens/min) is above it
    assert (a["result"] == Attempt.THROTTLED).sum() > 0
    assert window.max() > 0.9 * tpm


def test_cost_is_tokens_times_prices_plus_the_call_price():
    knobs = {"llm.enabled": True, "load.duration_s": 30.0, "load.rate_rps": 10.0,
             "model.cost_per_1m_input_tokens": 3.0, "model.cost_per_1m_output_tokens": 15.0,
             "model.cost_per_call": 0.001, "model.error_rate": 0.1, "retry.max_attempts": 3}
    res = simulate(knobs, seed=4)
    s, tok = res.summary, res.tokens
    served = int((res.attempts["result"] == Attempt.OK).sum()
                 + (res.attempts["result"] == Attempt.ERROR).sum())
    want = 0.001 * served + 3.0 * s["tokens"]["input"] / 1e6 + 15.0 * s["tokens"]["output"] / 1e6
    assert s["cost"]["calls"] == pytest.approx(want, rel=1e-9)
    assert s["tokens"]["input"] == int(tok["tokens_in"].sum()) > 0
    # a request billed for every completed call: failed calls cost tokens too
    retried = tok["tokens_in"] > tok["prompt_tokens"]
    assert retried.any()


# -- prefix caching ---------------------------------------------------------------------
@pytest.mark.parametrize("prefix", [100, 400])
def test_prefix_caching_removes_exactly_the_shared_prefix_prefill(prefix):
    res = simulate({**ALONE, "load.prompt_tokens": 500, "load.output_tokens": 20,
                    "load.shared_prefix_tokens": prefix, "llm.prefix_cache": True}, seed=2)
    tok = answered_by_model(res)
    per_token = TIMES.prefill_ms_per_1k / 1000.0
    assert tok["ttft_ms"][0] == pytest.approx(500 * per_token, rel=1e-9)   # computes it
    later = alone(res)[0][1:]
    assert len(later) > 10
    assert later["ttft_ms"] == pytest.approx((500 - prefix) * per_token, rel=1e-9)
    n = len(tok)
    assert res.summary["prefix_hit_ratio"] == pytest.approx((n - 1) / n)


def test_without_the_prefix_cache_a_shared_prefix_changes_nothing():
    base = {**ALONE, "load.prompt_tokens": 500, "load.output_tokens": 20}
    a = simulate(base, seed=2)
    b = simulate({**base, "load.shared_prefix_tokens": 300}, seed=2)
    assert a.tokens.tobytes() == b.tokens.tobytes()
    assert b.summary["prefix_hit_ratio"] == 0.0


# -- directions of effect -------------------------------------------------------------------
def tokens_within_load(res) -> float:
    ts = res.timeseries()
    return float(ts["tokens_out"][: int(res.scenario.load.duration_s)].sum())


@pytest.mark.parametrize("admission", ["reserve", "paged"])
@pytest.mark.parametrize("seed", [1, 2])
def test_more_kv_capacity_never_lowers_throughput(admission, seed):
    produced = [tokens_within_load(saturated({"llm.kv_capacity_tokens": cap,
                                              "llm.kv_admission": admission,
                                              "load.output_tokens_cv": 1.0}, seed))
                for cap in (1000, 2000, 4000, 8000, 16000)]
    assert all(b >= a for a, b in zip(produced, produced[1:])), produced
    assert produced[-1] > 1.5 * produced[0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_longer_shared_prefix_never_raises_ttft_with_the_prefix_cache_on(seed):
    ttft = [simulate({"llm.enabled": True, "load.rate_rps": 20.0, "load.duration_s": 30.0,
                      "model.replicas": 1, "load.prompt_tokens": 1000,
                      "load.shared_prefix_tokens": s, "llm.prefix_cache": True},
                     seed=seed).summary["ttft_ms"]["mean"]
            for s in (0, 250, 500, 1000)]
    assert all(b <= a for a, b in zip(ttft, ttft[1:])), ttft
    assert ttft[-1] < ttft[0]


# -- one event per run of iterations, never per token -------------------------------------
def test_the_event_count_does_not_grow_with_the_tokens():
    def events(output_tokens: int) -> int:
        sc = Scenario.from_knobs({"llm.enabled": True, "load.rate_rps": 5.0,
                                  "load.duration_s": 60.0, "model.replicas": 1,
                                  "load.output_tokens": output_tokens})
        streams = Streams(1, STREAMS)
        engine = Engine(sc, draw_workload(sc.load, streams), streams)
        count = [0]
        schedule = engine.env.schedule

        def counting(*args, **kwargs):
            count[0] += 1
            return schedule(*args, **kwargs)

        engine.env.schedule = counting   # type: ignore[method-assign]
        engine.run()
        return count[0]
    # 10x the tokens: the same arrivals, so about the same events (plus the sampler's one
    # per simulated second of the longer drain), where one event per token would be 10x.
    short, long = events(50), events(500)
    assert long < 1.5 * short + 200


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize("knobs, message", [
    ({"load.prompt_tokens": 5000, "llm.kv_capacity_tokens": 4000},
     "load.prompt_tokens must be < the KV-cache capacity of one replica (4000 tokens), "
     "got 5000"),
    ({"load.prompt_tokens": 3000, "load.output_tokens": 2000, "llm.kv_capacity_tokens": 4000},
     "load.prompt_tokens + load.output_tokens must fit the KV-cache capacity of one replica "
     "(4000 tokens), got 3000 + 2000"),
    ({"llm.gpu_mem_gb": 10.0},
     "llm.gpu_mem_gb must exceed the weights (llm.params_b x llm.bytes_per_param = 16 GB) "
     "plus one token of KV cache, got 10"),
    ({"load.shared_prefix_tokens": 800},
     "load.shared_prefix_tokens must be <= load.prompt_tokens (500), got 800"),
    ({"llm.gpu_mem_bw_gbs": 0}, "llm.gpu_mem_bw_gbs must be >= 1, got 0"),
    ({"llm.mfu": 0}, "llm.mfu must be >= 0.01, got 0"),
])
def test_settings_no_replica_can_serve_are_refused_naming_knob_rule_and_value(knobs, message):
    with pytest.raises(KnobError) as err:
        Scenario.from_knobs({"llm.enabled": True, **knobs})
    assert str(err.value) == message


def test_token_rules_apply_only_in_token_mode():
    sc = Scenario.from_knobs({"load.prompt_tokens": 5000, "llm.kv_capacity_tokens": 4000})
    assert not sc.llm.enabled


def test_request_mode_results_carry_no_token_keys():
    s = simulate({"load.duration_s": 5.0}, seed=1).summary
    assert not {"ttft_ms", "tpot_ms", "tokens", "throughput_tokens_s"} & set(s)
    assert not {"ttft_p95_ms", "tpot_p95_ms"} & set(s["budgets"])


def test_token_budgets_are_judged_in_token_mode():
    res = simulate({**ALONE, "load.duration_s": 60.0, "budget.ttft_p95_ms": 10.0,
                    "budget.tpot_p95_ms": 100.0}, seed=1)
    b = res.summary["budgets"]
    assert b["ttft_p95_ms"]["judged"] and not b["ttft_p95_ms"]["pass"]   # 16.2 ms > 10 ms
    assert b["tpot_p95_ms"]["pass"]
    assert not res.summary["all_budgets_pass"]
    assert math.isclose(b["ttft_p95_ms"]["actual"], res.summary["ttft_ms"]["p95"])


# -- the mechanisms around the model keep working in token mode ---------------------------
def test_autoscaling_follows_token_load_not_mere_activity():
    """A decoding replica costs about the same per iteration however few sequences it runs, so
    a light chat load must not look like a full replica to the HPA rule; a heavy one must."""
    def replicas(rate: float) -> float:
        return simulate({"autoscale.enabled": True, "autoscale.min_replicas": 1,
                         "autoscale.max_replicas": 8, "model.replicas": 2,
                         "load.rate_rps": rate}, seed=1,
                        preset="chat-assistant").summary["replicas_mean"]
    light, heavy = replicas(5.0), replicas(120.0)
    assert light < 1.5            # scaled down to the floor and stays there
    assert heavy > 2.5 * light


def test_a_hung_replica_times_out_calls_and_the_fallback_answers():
    res = simulate({"llm.enabled": True, "load.rate_rps": 10.0, "load.duration_s": 60.0,
                    "model.replicas": 1, "fault.mode": "hang", "fault.outage_start_s": 20.0,
                    "fault.outage_duration_s": 10.0, "retry.timeout_ms": 4000.0,
                    "model.cancel_on_timeout": True, "fallback.chain": ("safe_message",)},
                   seed=1)
    s = res.summary
    assert s["outcomes"]["degraded"] > 0 and s["outcomes"]["failed"] == 0
    assert sum(s["outcomes"].values()) == len(res.records)
    # answers by the model never include a request that fell back
    fell_back = res.records["outcome"] == DEGRADED
    assert np.isnan(res.tokens["ttft_ms"][fell_back]).all()
