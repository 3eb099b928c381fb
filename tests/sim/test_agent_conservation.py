"""Agent mode's conservation laws over random knob settings (hypothesis).

Every task ends in exactly one outcome and the counts add up; every step is recorded once,
with exactly one model call, numbered 0..k-1 within its task; writes happen only where the
policy let them and before the kill switch; unsafe outcomes only without a permission policy;
a task's cost is its calls' records plus its tools; and the request-level laws of
``test_conservation.py`` hold for the step calls.  Exact up to float summation (rel 1e-9).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.sim import simulate
from labkit.sim.codes import (
    TASK_OUTCOMES,
    Approval,
    TaskOutcome,
    TaskReason,
    ToolKind,
)

from .test_conservation import PHASES, check_conservation

AGENT = st.fixed_dictionaries({
    "agent.enabled": st.just(True),
    "load.rate_rps": st.floats(0.1, 30.0), "load.duration_s": st.floats(1.0, 10.0),
    "load.invalid_fraction": st.floats(0.0, 0.2),
    "agent.steps_dist": st.sampled_from(("geometric", "fixed")),
    "agent.steps_mean": st.floats(1.0, 12.0), "agent.max_steps": st.integers(1, 30),
    "agent.loop_rate": st.floats(0.0, 0.95), "agent.tool_call_rate": st.floats(0.0, 1.0),
    "agent.write_share": st.floats(0.0, 1.0),
    "agent.read_tool_s": st.floats(0.0, 2.0), "agent.write_tool_s": st.floats(0.0, 2.0),
    "agent.read_tool_error_rate": st.floats(0.0, 1.0),
    "agent.write_tool_error_rate": st.floats(0.0, 1.0),
    "agent.read_tool_cost": st.floats(0.0, 0.01), "agent.write_tool_cost": st.floats(0.0, 0.01),
    "agent.write_policy": st.sampled_from(("allow", "approve", "deny")),
    "agent.permission_policy": st.booleans(),
    "agent.injection_rate": st.floats(0.0, 1.0), "agent.guard_recall": st.floats(0.0, 1.0),
    "agent.budget_usd": st.one_of(st.just(0.0), st.floats(0.0, 0.05)),
    "agent.budget_s": st.one_of(st.just(0.0), st.floats(0.0, 20.0)),
    "boundary.reviewers": st.integers(1, 5), "boundary.review_s": st.floats(0.1, 5.0),
    "boundary.wrong_write_rate": st.floats(0.0, 1.0),
    "model.error_rate": st.floats(0.0, 0.5), "model.replicas": st.integers(1, 4),
    "retry.max_attempts": st.integers(1, 3), "retry.timeout_ms": st.floats(0.0, 500.0),
    "gateway.deadline_ms": st.floats(0.0, 2000.0),
    "kill.at_s": st.one_of(st.just(-1.0), st.floats(0.0, 10.0)),
    "fallback.chain": st.lists(st.sampled_from(("small_model", "stale_cache", "safe_message")),
                               unique=True, max_size=3).map(tuple),
    "llm.enabled": st.booleans(),
})


def check_agent_conservation(res) -> None:
    t, s, r, summary, sc = res.tasks, res.steps, res.records, res.summary, res.scenario
    n = len(t)
    # one outcome per task, counts add up
    assert np.array_equal(t["id"], np.arange(n))
    counts = np.bincount(t["outcome"], minlength=len(TASK_OUTCOMES))
    assert len(counts) == len(TASK_OUTCOMES)
    assert [summary["tasks"][k] for k in TASK_OUTCOMES] == counts.tolist()
    assert sum(summary["tasks"].values()) == n
    assert (t["end_s"] >= t["start_s"]).all() and (t["start_s"] >= t["arrival_s"]).all()
    assert np.isfinite(t["end_s"]).all()
    # each step once, numbered 0..k-1 within its task, one model call each
    assert np.array_equal(np.bincount(s["task"], minlength=n)[:n], t["steps"])
    assert len(s) == len(r) and sorted(s["call"].tolist()) == list(range(len(r)))
    first = np.r_[True, s["task"][1:] != s["task"][:-1]] if len(s) else np.zeros(0, bool)
    assert (s["step"][first] == 0).all()
    assert (np.diff(s["step"])[~first[1:]] == 1).all()
    assert (s["end_s"] >= s["start_s"]).all()
    assert (t["steps"] <= sc.agent.max_steps).all()
    assert (t["progress"] <= t["steps_needed"]).all()
    done = t["outcome"] == TaskOutcome.COMPLETED
    assert (t["progress"][done] == t["steps_needed"][done]).all()
    assert (s["progress"].astype(int).sum()) == t["progress"].sum()
    # writes only where the policy let them, never after the kill switch
    assert (s["tool"][s["write"]] == ToolKind.WRITE).all()
    assert np.isin(s["approval"][s["write"]], (Approval.ALLOWED, Approval.APPROVED)).all()
    assert t["writes"].sum() == s["write"].sum() == len(res.totals["write_times"])
    if sc.agent.write_policy == "deny":
        assert t["writes"].sum() == 0
    if sc.kill.at_s is not None:
        assert all(w < sc.kill.at_s for w in res.totals["write_times"])
        assert (s["start_s"] < sc.kill.at_s).all()
    if sc.agent.permission_policy:
        assert counts[TaskOutcome.UNSAFE] == 0
    unsafe = t["outcome"] == TaskOutcome.UNSAFE
    assert (t["reason"][unsafe] == TaskReason.INJECTION_EXECUTED).all()
    assert summary["unsafe_rate"] == pytest.approx(unsafe.mean() if n else 0.0)
    # money: a task is its calls' records plus its tools; all tasks make the run's calls+tools
    assert t["cost"].sum() == pytest.approx(float(r["cost"].sum()) + summary["cost"]["tools"],
                                            rel=1e-9, abs=1e-12)
    assert t["tool_cost"].sum() == pytest.approx(summary["cost"]["tools"], rel=1e-9, abs=1e-12)
    assert t["model_calls"].sum() == summary["model_calls"]
    if n:
        assert summary["cost_per_task"]["mean"] == pytest.approx(float(t["cost"].mean()))
        assert summary["steps_per_task"]["p95"] <= sc.agent.max_steps


@settings(max_examples=200, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.slow
@given(knobs=AGENT, seed=st.integers(0, 2**32 - 1))
def test_agent_conservation_over_random_knob_settings(knobs, seed):
    res = simulate(knobs, seed=seed)
    check_conservation(res)
    check_agent_conservation(res)


def test_agent_conservation_on_the_preset():
    res = simulate({"load.duration_s": 120.0}, seed=7, preset="agent-support")
    check_conservation(res)
    check_agent_conservation(res)
    assert res.summary["tasks"]["completed"] > 0
