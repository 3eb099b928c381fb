"""The router and cascade of token mode (issue 16) against closed forms and identities.

Identities are exact: the router draws every request's difficulty, classifier pick and judge
verdict from its own stream, whatever the policy, so runs at one seed share them.  Rates
(shares routed, escalated, good) are binomial over N requests; they are checked against
:mod:`labkit.sim.theory` within 4.5 standard deviations, sqrt(p (1 - p) / N), which a
correct simulator misses about once in 150,000 checks.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.knobs import KnobError
from labkit.sim import simulate
from labkit.sim.theory import cascade_route, classifier_route

# Short, exact requests and light load: nothing queues long, fails or times out.
CHEAP = {"llm.enabled": True, "load.rate_rps": 40.0, "load.duration_s": 100.0,
         "model.replicas": 2, "load.prompt_tokens": 60, "load.output_tokens": 8,
         "load.prompt_tokens_cv": 0.0, "load.output_tokens_cv": 0.0,
         "router.small_replicas": 2, "model.quality": 0.85, "router.small_quality": 0.55}
ROUTER_KEYS = ("small_model", "large_model", "small_replicas")


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Identical arrays, bit for bit (NaN included)."""
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


def within(actual: float, p: float, n: int, sigmas: float = 4.5) -> bool:
    return abs(actual - p) <= sigmas * math.sqrt(max(p * (1 - p), 1e-12) / n) + 1e-12


def without_router(summary: dict) -> dict:
    out = {k: v for k, v in summary.items() if k != "router"}
    out["cost"] = {k: v for k, v in summary["cost"].items() if k not in ROUTER_KEYS}
    return out


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("share, accuracy", [(0.5, 0.8), (0.3, 1.0), (0.7, 0.0)])
def test_a_classifier_routes_its_share_and_reaches_the_closed_form_quality(seed, share,
                                                                           accuracy):
    res = simulate({**CHEAP, "router.policy": "classifier", "router.classifier_share": share,
                    "router.classifier_accuracy": accuracy}, seed=seed)
    rt, n = res.summary["router"], res.summary["requests"]
    assert res.summary["outcomes"]["ok"] == n == rt["small"] + rt["large"]
    want = classifier_route(small_quality=0.55, large_quality=0.85, share=share,
                            accuracy=accuracy)
    assert within(rt["small"] / n, want.small, n)
    assert within(rt["good_ratio"], want.good, n)
    assert rt["escalated"] == 0 and rt["small_calls"] == rt["small"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cascade_cost_is_small_cost_plus_escalations_times_large_cost(seed):
    knobs = {**CHEAP, "router.policy": "cascade", "model.cost_per_call": 0.001,
             "router.judge_recall": 0.7, "router.judge_false_alarm": 0.2}
    res = simulate(knobs, seed=seed)
    s, rt = res.summary, res.summary["router"]
    n = s["requests"]
    assert s["outcomes"]["ok"] == n and s["retries"] == 0
    # every request is answered once by the small model; the escalated ones also by the large
    assert rt["small_calls"] == n and rt["large_calls"] == rt["escalated"] == rt["large"]
    small = 0.001 + 60 * 0.1e-6 + 8 * 0.3e-6      # fee + tokens at the small model's prices
    large = 0.001 + 60 * 0.5e-6 + 8 * 1.5e-6      # ... at the large model's (model.*)
    assert s["cost"]["calls"] == pytest.approx(n * small + rt["escalated"] * large, rel=1e-9)
    assert s["cost"]["small_model"] == pytest.approx(n * small, rel=1e-9)
    assert s["cost"]["large_model"] == pytest.approx(rt["escalated"] * large, rel=1e-9)
    assert float(res.records["cost"].sum()) == pytest.approx(s["cost"]["calls"], rel=1e-9)
    want = cascade_route(small_quality=0.55, large_quality=0.85, recall=0.7, false_alarm=0.2)
    assert within(rt["escalated"] / n, want.large, n)
    assert within(rt["good_ratio"], want.good, n)


@pytest.mark.parametrize("seed", [1, 4])
def test_a_perfect_judge_escalates_exactly_the_weak_answers_and_matches_the_large_model(seed):
    cascade = simulate({**CHEAP, "router.policy": "cascade", "router.judge_recall": 1.0,
                        "router.judge_false_alarm": 0.0}, seed=seed).summary["router"]
    small = simulate({**CHEAP, "router.policy": "small"}, seed=seed).summary["router"]
    large = simulate({**CHEAP, "router.policy": "large"}, seed=seed).summary["router"]
    n = small["small"]
    assert cascade["escalated"] == n - small["good"]     # the weak ones, no more, no less
    assert cascade["good"] == large["good"]              # quality of the large model alone
    assert small["good"] <= large["good"]                # nested: what small solves, large does


@pytest.mark.parametrize("seed", [1, 2])
def test_all_small_is_a_one_model_run_with_the_small_models_parameters(seed):
    base = {**CHEAP, "load.output_tokens_cv": 0.8, "load.prompt_tokens_cv": 0.5,
            "load.rate_rps": 60.0, "model.cost_per_replica_hour": 3.0}
    routed = simulate({**base, "router.policy": "small", "router.small_replicas": 1,
                       "router.small_params_ratio": 0.125, "router.small_kv_ratio": 0.25},
                      seed=seed)
    alone = simulate({**base, "model.replicas": 1, "llm.params_b": 1.0,
                      "llm.kv_bytes_per_token": 32768, "model.quality": 0.55,
                      "model.cost_per_1m_input_tokens": 0.1,
                      "model.cost_per_1m_output_tokens": 0.3}, seed=seed)
    assert same(routed.records, alone.records)
    assert same(routed.tokens, alone.tokens)
    assert without_router(routed.summary) == without_router(alone.summary)
    assert routed.summary["router"]["large_calls"] == 0


def test_all_large_is_the_run_without_a_router():
    knobs = {**CHEAP, "load.output_tokens_cv": 0.8, "model.error_rate": 0.05,
             "retry.max_attempts": 2}
    off = simulate(knobs, seed=3)
    large = simulate({**knobs, "router.policy": "large"}, seed=3)
    assert "router" not in off.summary
    assert same(off.records, large.records)
    assert same(off.attempts, large.attempts)
    assert without_router(large.summary) == without_router(off.summary)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_more_sensitive_judge_never_lowers_quality_or_escalations(seed):
    prev = None
    for recall in (0.0, 0.3, 0.6, 1.0):
        rt = simulate({**CHEAP, "router.policy": "cascade", "router.judge_recall": recall,
                       "router.judge_false_alarm": 0.0}, seed=seed).summary["router"]
        if prev is not None:
            assert rt["good"] >= prev["good"] and rt["escalated"] >= prev["escalated"]
        prev = rt


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_escalation_costs_latency_the_small_model_saves(seed):
    # At 2 req/s nothing queues and every request has the same lengths, so a large-model
    # answer takes one fixed time L, a small one S < L, and an escalated one about S + L: with about
    # 40% of requests escalated, the cascade's p99 is an escalated request's time, above L.
    # (Under load this need not hold: the cascade also takes traffic off the large model.)
    quiet = {**CHEAP, "load.rate_rps": 2.0}
    lat = {policy: simulate({**quiet, "router.policy": policy}, seed=seed).summary["latency_ms"]
           for policy in ("small", "large", "cascade")}
    assert lat["small"]["p50"] < lat["large"]["p50"]
    assert lat["cascade"]["p99"] > lat["large"]["p99"]
    assert lat["cascade"]["p99"] > lat["large"]["p50"] + 0.5 * lat["small"]["p50"]


def test_the_router_keeps_conservation_under_failures_and_timeouts():
    from tests.sim.test_conservation import check_conservation

    for policy in ("classifier", "cascade"):
        res = simulate({**CHEAP, "router.policy": policy, "load.rate_rps": 80.0,
                        "load.duration_s": 30.0, "model.error_rate": 0.1,
                        "retry.max_attempts": 3, "retry.timeout_ms": 150.0,
                        "model.cancel_on_timeout": True, "router.small_replicas": 1,
                        "fallback.chain": ("safe_message",)}, seed=5)
        check_conservation(res)
        rt, s = res.summary["router"], res.summary
        answered_by_model = int((res.records["model_calls"] > 0).sum())
        assert rt["small"] + rt["large"] <= answered_by_model
        assert rt["good"] <= rt["small"] + rt["large"]
        cost = s["cost"]
        assert cost["small_model"] + cost["large_model"] == pytest.approx(cost["calls"],
                                                                          rel=1e-9)


def test_a_router_run_pays_for_the_small_replicas_too():
    res = simulate({**CHEAP, "router.policy": "cascade", "model.cost_per_replica_hour": 3.6},
                   seed=1)
    cost, pools = res.summary["cost"], res.totals["pools"]
    # replica-seconds are the two pools' (2 large and 2 small replicas, all the run long)
    assert res.totals["replica_seconds"] == pytest.approx(
        pools["large"]["replica_seconds"] + pools["small"]["replica_seconds"], rel=1e-12)
    assert pools["small"]["replica_seconds"] == pytest.approx(
        pools["large"]["replica_seconds"], rel=1e-12)
    assert cost["small_replicas"] > 0
    assert cost["small_replicas"] == pytest.approx(
        pools["small"]["replica_seconds"] * 0.001, rel=1e-9)
    assert cost["replicas"] == pytest.approx(res.totals["replica_seconds"] * 0.001, rel=1e-9)
    assert res.summary["replicas_mean"] == pytest.approx(4.0, rel=1e-9)
    assert cost["total"] == pytest.approx(
        float(res.records["cost"].sum()) + cost["replicas"] + cost["jobs"], rel=1e-9)


@pytest.mark.parametrize("knobs, message", [
    ({"router.policy": "medium"}, "router.policy must be one of"),
    ({"router.small_quality": 1.5}, "router.small_quality must be <= 1"),
    ({"router.judge_recall": -0.1}, "router.judge_recall must be >= 0"),
    ({"router.small_params_ratio": 0.0}, "router.small_params_ratio must be >= 0.01"),
])
def test_bad_router_knobs_are_refused_naming_knob_rule_and_value(knobs, message):
    with pytest.raises(KnobError, match=message):
        simulate({**CHEAP, **knobs})


def test_after_the_kill_switch_a_weak_small_answer_goes_to_the_fallbacks():
    from tests.sim.test_conservation import check_conservation

    from labkit.sim.codes import Attempt

    res = simulate({**CHEAP, "router.policy": "cascade", "router.judge_recall": 1.0,
                    "router.judge_false_alarm": 1.0, "kill.at_s": 10.0, "load.rate_rps": 200.0,
                    "load.duration_s": 20.0, "fallback.chain": ("safe_message",)}, seed=2)
    check_conservation(res)
    a = res.attempts
    # the judge escalates every small answer, so every answering call is the large model's;
    # none is sent to it after the kill: those in flight then go to the fallbacks
    assert res.summary["router"]["small"] == 0 < res.summary["router"]["large"]
    assert (a["start_s"][a["result"] == Attempt.OK] < 10.0).all()
    killed = a[(a["result"] == Attempt.KILLED) & (a["start_s"] < 10.0)]
    assert len(killed) > 0 and (killed["end_s"] >= 10.0).all()
