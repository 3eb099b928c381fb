"""Agent mode (issue 17): closed forms, exact costs, policies, directions of effect, kill switch.

Statistical checks compare a mean over a few thousand independent tasks with its closed form
(labkit.sim.theory.agent) within 4 standard errors, the standard error measured from the same
tasks: a check fails by chance about once in 16,000 runs, and the seeds are fixed, so a failure
means the model moved.  Exact checks (cost = steps x price, policies, directions of effect at
the same seed) hold task by task: agent draws are keyed by (task, step), so the k-th step of a
task sees the same draws whatever the other knobs are.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.knobs import KnobError
from labkit.sim import simulate
from labkit.sim.codes import Approval, Injection, TaskOutcome, TaskReason, ToolKind
from labkit.sim.theory import (
    completion_probability,
    expected_capped_steps,
    hijack_probability_per_read,
    step_success_probability,
)

# A fast, uncontended serving path, so the loop's own numbers are what the tests see.
FAST = {"agent.enabled": True, "load.rate_rps": 40.0, "load.duration_s": 60.0,
        "model.service_ms": 5.0, "model.replicas": 8, "model.error_rate": 0.0,
        "agent.read_tool_s": 0.05, "agent.write_tool_s": 0.05, "boundary.reviewers": 50,
        "boundary.review_s": 1.0}


def run(seed: int = 1, **knobs):
    return simulate({**FAST, **{k.replace("__", "."): v for k, v in knobs.items()}}, seed=seed)


def within_4se(values: np.ndarray, expected: float) -> None:
    se = float(values.std(ddof=1)) / math.sqrt(len(values))
    assert abs(float(values.mean()) - expected) <= 4 * se + 1e-12, (values.mean(), expected, se)


# ----------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("steps_mean, cap", [(4.0, 5), (4.0, 20), (2.5, 3), (8.0, 4)])
def test_mean_steps_under_a_cap_is_the_geometric_closed_form(steps_mean, cap):
    res = run(agent__steps_mean=steps_mean, agent__max_steps=cap, agent__loop_rate=0.0,
              agent__tool_call_rate=0.0)
    tasks = res.tasks
    assert len(tasks) > 2000
    p = 1.0 / steps_mean
    assert expected_capped_steps(steps_mean, cap) == pytest.approx((1 - (1 - p) ** cap) / p)
    within_4se(tasks["steps"].astype(float), expected_capped_steps(steps_mean, cap))
    done = (tasks["outcome"] == TaskOutcome.COMPLETED).astype(float)
    within_4se(done, completion_probability(steps_mean, cap))
    # the rest gave up at the cap, after exactly cap steps
    capped = tasks[tasks["outcome"] != TaskOutcome.COMPLETED]
    assert (capped["reason"] == TaskReason.STEP_CAP).all() and (capped["steps"] == cap).all()
    assert res.summary["steps_per_task"]["mean"] == pytest.approx(tasks["steps"].mean())


def test_loops_and_tool_errors_thin_the_steps_as_theory_says():
    rates = {"loop_rate": 0.3, "tool_call_rate": 1.0, "tool_error_rate": 0.1}
    res = run(agent__steps_mean=3.0, agent__max_steps=12, agent__loop_rate=0.3,
              agent__tool_call_rate=1.0, agent__write_share=0.0,
              agent__read_tool_error_rate=0.1)
    assert step_success_probability(3.0, **rates) == pytest.approx(0.7 * 0.9 / 3.0)
    within_4se(res.tasks["steps"].astype(float), expected_capped_steps(3.0, 12, **rates))
    done = (res.tasks["outcome"] == TaskOutcome.COMPLETED).astype(float)
    within_4se(done, completion_probability(3.0, 12, **rates))


def test_steps_needed_is_geometric_with_the_mean_asked_for():
    needed = run(agent__steps_mean=5.0).tasks["steps_needed"].astype(float)
    within_4se(needed, 5.0)
    assert needed.min() == 1.0


def test_cost_per_task_is_steps_times_price_when_nothing_fails():
    price = 0.002 + 0.0005   # model.cost_per_call + agent.read_tool_cost
    for dist in ("geometric", "fixed"):
        res = run(agent__steps_dist=dist, agent__steps_mean=3.0, agent__max_steps=50,
                  agent__loop_rate=0.0, agent__tool_call_rate=1.0, agent__write_share=0.0,
                  agent__read_tool_error_rate=0.0, model__cost_per_call=0.002,
                  agent__read_tool_cost=0.0005)
        tasks = res.tasks
        assert (tasks["outcome"] == TaskOutcome.COMPLETED).all()
        if dist == "fixed":
            assert (tasks["steps"] == 3).all()
        # a sum of k equal prices against k x price: equal up to float rounding
        assert tasks["cost"] == pytest.approx(tasks["steps"] * price, rel=1e-12)
        assert res.summary["cost_per_task"]["mean"] == pytest.approx(
            float((tasks["steps"] * price).mean()), rel=1e-12)
        assert res.summary["llm_calls_per_task"] == res.summary["steps_per_task"]["mean"]
        assert res.summary["tool_calls_per_task"] == res.summary["steps_per_task"]["mean"]


def test_the_hijack_rate_per_read_is_injection_times_missed_share():
    res = run(agent__steps_mean=6.0, agent__max_steps=30, agent__tool_call_rate=1.0,
              agent__write_share=0.0, agent__read_tool_error_rate=0.0,
              agent__injection_rate=0.2, agent__guard_recall=0.5)
    steps = res.steps
    reads = steps[steps["tool"] == ToolKind.READ]
    within_4se((reads["injection"] == Injection.MISSED).astype(float),
               hijack_probability_per_read(0.2, 0.5))


# ------------------------------------------------------------------------------- policies
def test_with_write_policy_deny_no_write_ever_happens():
    res = run(agent__write_share=0.5, agent__write_policy="deny", agent__injection_rate=0.3,
              agent__permission_policy=False)
    t, s = res.tasks, res.steps
    assert t["writes"].sum() == 0 and not s["write"].any()
    assert res.totals["write_times"] == [] and res.summary["agent"]["writes"] == 0
    denied = t["reason"] == TaskReason.WRITE_DENIED
    assert denied.sum() > 100
    assert (t["outcome"][denied] == TaskOutcome.BLOCKED).all()
    assert (s["approval"] == Approval.DENIED).sum() == denied.sum()


@pytest.mark.parametrize("injection_rate", [0.0, 0.1, 0.5, 1.0])
def test_with_a_permission_policy_nothing_unsafe_happens(injection_rate):
    res = run(agent__injection_rate=injection_rate, agent__guard_recall=0.0,
              agent__permission_policy=True)
    assert res.summary["tasks"]["unsafe"] == 0 and res.summary["unsafe_rate"] == 0.0
    if injection_rate:   # the same tasks are hijacked without the policy, and get through
        off = run(agent__injection_rate=injection_rate, agent__guard_recall=0.0,
                  agent__permission_policy=False)
        blocked = res.tasks["reason"] == TaskReason.INJECTION_BLOCKED
        assert np.array_equal(off.tasks["outcome"] == TaskOutcome.UNSAFE, blocked)
        assert blocked.sum() > 0


def test_approval_refuses_the_wrong_share_and_a_refused_write_never_runs():
    res = run(agent__write_share=0.5, agent__write_policy="approve",
              boundary__wrong_write_rate=0.2, load__duration_s=120.0)
    s = res.steps
    asked = s[np.isin(s["approval"], (Approval.APPROVED, Approval.REFUSED))]
    within_4se((asked["approval"] == Approval.REFUSED).astype(float), 0.2)
    assert not s["write"][s["approval"] == Approval.REFUSED].any()
    assert (s["approval"][s["write"]] == Approval.APPROVED).all()
    refused = res.tasks["reason"] == TaskReason.APPROVAL_REFUSED
    assert (res.tasks["outcome"][refused] == TaskOutcome.BLOCKED).all()


def test_budgets_stop_the_loop_at_a_boundary():
    res = run(agent__steps_mean=20.0, agent__max_steps=100, agent__budget_usd=0.01,
              agent__budget_s=2.0, agent__write_share=0.3, agent__write_policy="allow")
    t, s = res.tasks, res.steps
    assert (t["reason"] == TaskReason.BUDGET_USD).sum() > 50
    # a step (and a write) starts only while the task is within both budgets
    prev = s[1:][s["task"][1:] == s["task"][:-1]]
    before = s[:-1][s["task"][1:] == s["task"][:-1]]
    assert (before["cost_so_far"] < 0.01).all()
    start = t["start_s"][s["task"]]
    assert (s["start_s"] - start < 2.0).all()
    assert (prev["step"] == before["step"] + 1).all()
    gave_up = t[t["reason"] == TaskReason.BUDGET_USD]
    assert (gave_up["outcome"] == TaskOutcome.GAVE_UP).all()
    # an over-budget task overshoots by at most one step's model call and tool call
    assert (gave_up["cost"] >= 0.01).all() and (gave_up["cost"] < 0.01 + 0.002 + 0.001).all()


# ------------------------------------------------------------------- directions of effect
def test_a_lower_step_cap_never_raises_cost_per_task():
    knobs = {"agent__steps_mean": 6.0, "agent__write_share": 0.2, "model__error_rate": 0.05,
             "agent__injection_rate": 0.05, "load__duration_s": 20.0}
    costs = [run(agent__max_steps=cap, **knobs).tasks["cost"] for cap in (1, 2, 4, 8, 16, 32)]
    for low, high in zip(costs, costs[1:]):
        assert (low <= high + 1e-12).all()          # task by task, at the same seed
        assert low.mean() <= high.mean()
    assert costs[0].mean() < costs[-1].mean()


def test_a_higher_guard_recall_never_raises_unsafe():
    unsafe = []
    for recall in (0.0, 0.25, 0.5, 0.75, 1.0):
        t = run(agent__injection_rate=0.3, agent__guard_recall=recall,
                agent__permission_policy=False, agent__tool_call_rate=1.0,
                load__duration_s=30.0).tasks
        unsafe.append(t["outcome"] == TaskOutcome.UNSAFE)
    for low, high in zip(unsafe, unsafe[1:]):
        assert not (high & ~low).any()               # unsafe at the higher recall => at lower
    assert unsafe[0].sum() > unsafe[2].sum() > 0 and unsafe[-1].sum() == 0


# ------------------------------------------------------------------------------ kill switch
@pytest.mark.parametrize("policy", ["allow", "approve"])
def test_the_kill_switch_stops_every_running_task_cleanly(policy):
    kill = 20.0
    res = run(kill__at_s=kill, load__duration_s=40.0, load__rate_rps=10.0,
              agent__read_tool_s=1.0, agent__write_tool_s=1.0, agent__steps_mean=6.0,
              agent__write_share=0.4, agent__write_policy=policy, boundary__reviewers=2,
              boundary__review_s=5.0, fallback__chain=("small_model", "safe_message"))
    t, s = res.tasks, res.steps
    assert all(w < kill for w in res.totals["write_times"]) and res.totals["write_times"]
    assert (s["start_s"] < kill).all()
    running = (t["start_s"] < kill) & (t["end_s"] >= kill)
    assert running.sum() > 5
    assert (t["end_s"][running] == kill).all()
    assert (t["reason"][running] == TaskReason.KILLED).all()
    late = t["start_s"] >= kill
    assert (t["steps"][late] == 0).all() and (t["end_s"][late] == t["start_s"][late]).all()
    assert (t["outcome"][t["reason"] == TaskReason.KILLED] == TaskOutcome.FAILED).all()
    assert res.summary["agent"]["stopped_by"]["killed"] == int((t["reason"]
                                                               == TaskReason.KILLED).sum())
    # the primary model gets no call after the switch (request-mode rule, unchanged)
    a = res.attempts
    assert (a["start_s"][a["model_call"]] < kill).all()


# --------------------------------------------------------------------- the audit trail
def test_every_step_is_recorded_with_its_call_and_cost_so_far():
    res = run(agent__write_share=0.3, agent__injection_rate=0.1, agent__guard_recall=0.5)
    t, s, r = res.tasks, res.steps, res.records
    assert len(s) == t["steps"].sum() == len(r)           # one model call per step
    assert sorted(s["call"].tolist()) == list(range(len(r)))
    assert np.array_equal(np.bincount(s["task"], minlength=len(t)), t["steps"])
    for tid in (0, len(t) // 2, len(t) - 1):
        trail = res.task_trace(tid)
        assert [x["step"] for x in trail["steps"]] == list(range(t["steps"][tid]))
        so_far = [x["cost_so_far"] for x in trail["steps"]]
        assert so_far == sorted(so_far) and (not so_far or so_far[-1] <= trail["cost"] + 1e-12)
        assert all(x["prompt_version"] == "p1" and x["tool"] in ("none", "read", "write")
                   for x in trail["steps"])
        assert trail["outcome"] in ("completed", "gave_up", "failed", "blocked", "unsafe")
    assert r["arrival_s"] == pytest.approx(s["start_s"][np.argsort(s["call"])])


def test_task_trace_errors_name_the_problem():
    with pytest.raises(KnobError, match=r"^task traces need an agent-mode run"):
        simulate({"load.duration_s": 2.0}, seed=1).task_trace(0)
    res = run(load__duration_s=2.0)
    with pytest.raises(KnobError, match=rf"^task id must be in 0\.\.{len(res.tasks) - 1}, "
                                        r"got 100000$"):
        res.task_trace(100000)


def test_agent_mode_off_adds_nothing_and_json_carries_the_agent_keys():
    plain = simulate({"load.duration_s": 5.0}, seed=2)
    assert plain.tasks is None and "tasks" not in plain.summary
    assert "tools" not in plain.summary["cost"]
    d = run(load__duration_s=5.0).to_dict()
    for key in ("tasks", "steps_per_task", "llm_calls_per_task", "tool_calls_per_task",
                "cost_per_task", "task_latency_s", "unsafe_rate"):
        assert key in d
    assert set(d["tasks"]) == {"completed", "gave_up", "failed", "blocked", "unsafe"}


def test_token_mode_serves_agent_steps_token_by_token():
    res = simulate({"agent.enabled": True, "llm.enabled": True, "load.rate_rps": 2.0,
                    "load.duration_s": 20.0, "model.cost_per_call": 0.0}, seed=4)
    assert len(res.tokens) == len(res.records) == len(res.steps)
    price = (res.tokens["tokens_in"] * 0.5 + res.tokens["tokens_out"] * 1.5) / 1e6
    assert res.records["cost"] == pytest.approx(price, rel=1e-9)
    assert sum(res.summary["tasks"].values()) == len(res.tasks)


def test_labkit_simulate_json_and_text_report_the_agent_keys(capsys):
    import json

    from labkit.cli import main

    assert main(["simulate", "--preset", "agent-support", "--set", "load.duration_s=60",
                 "--json"]) == 0
    out, err = capsys.readouterr()
    d = json.loads(out)
    same = simulate({"load.duration_s": 60.0}, seed=1, preset="agent-support")
    assert err == "" and d["tasks"] == same.summary["tasks"]
    assert sum(d["tasks"].values()) == len(same.tasks) > 0
    assert d["cost_per_task"]["mean"] > 0 and 0.0 <= d["unsafe_rate"] <= 1.0
    assert main(["simulate", "--preset", "agent-support", "--set", "load.duration_s=60"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "\ntasks            completed " in out and "task cost        mean" in out
