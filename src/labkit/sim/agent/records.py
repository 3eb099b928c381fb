"""What agent mode records: one row per task, one per step, and their summary.

In agent mode a run's ``records`` and ``attempts`` are the step *model
calls* (one row per call actually made, in the order of call ids ``task x
max_steps + step``, arrival = the moment the call was made), so every
request-level number (latency, retries, fallbacks, cost per 1k calls) still
means what it means in request mode.  On top, ``Result.tasks`` has one row
per task and ``Result.steps`` one per step: the audit trail of every step
(prompt version, tool, read/write class, approval, whether it wrote, cost so
far, and the record of its model call).  A task's cost is the final cost of
its calls' records plus its tool calls, so it agrees with the records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from labkit.sim.codes import (
    APPROVALS,
    INJECTIONS,
    OUTCOMES,
    TASK_OUTCOMES,
    TASK_REASONS,
    TOOL_KINDS,
    TOOL_RESULTS,
    Approval,
    Injection,
    TaskOutcome,
    TaskReason,
)
from labkit.sim.load import Workload
from labkit.sim.recorder import Recorder

if TYPE_CHECKING:
    from labkit.sim.agent.loop import AgentLoop
    from labkit.sim.request import Request
    from labkit.sim.result import Result

__all__ = ["TASK_DTYPE", "STEP_DTYPE", "AgentRecorder", "agent_summary", "task_trace"]

TASK_DTYPE = np.dtype([
    ("id", "i8"), ("arrival_s", "f8"), ("start_s", "f8"), ("end_s", "f8"),
    ("latency_s", "f8"), ("outcome", "u1"), ("reason", "u1"), ("steps_needed", "i4"),
    ("steps", "i4"), ("progress", "i4"), ("model_calls", "i4"), ("tool_calls", "i4"),
    ("writes", "i4"), ("tool_cost", "f8"), ("cost", "f8"),
])

STEP_DTYPE = np.dtype([
    ("task", "i8"), ("step", "i4"), ("start_s", "f8"), ("end_s", "f8"), ("call", "i8"),
    ("progress", "?"), ("tool", "u1"), ("tool_result", "u1"), ("injection", "u1"),
    ("approval", "u1"), ("write", "?"), ("cost_so_far", "f8"),
])


class AgentRecorder(Recorder):
    """The recorder of an agent-mode run: hands every finished step call to the loop and,
    at the end, keeps only the calls that were made and adds the task and step rows."""

    loop: AgentLoop

    def attach(self, loop: AgentLoop) -> None:
        """The loop told of every finished call."""
        self.loop = loop

    def finish(self, req: Request, outcome: int, end: float, reason: int) -> None:
        super().finish(req, outcome, end, reason)
        self.loop.call_done(req)

    def result(self, *, scenario: Any, seed: int, pool: Any, breaker_opens: int,
               job_cost: float) -> Result:
        loop, w = self.loop, self.workload
        ids = np.array(sorted(loop.issued), dtype=np.int64)
        row_of = np.full(len(w), -1, dtype=np.int64)
        row_of[ids] = np.arange(len(ids))
        self.workload = Workload(
            arrival_s=np.array([loop.issued[i] for i in ids.tolist()], dtype=float),
            prompt=w.prompt[ids], valid=w.valid[ids], write=w.write[ids],
            service_u=w.service_u[ids], error_u=w.error_u[ids])
        self.requests = [self.requests[i] for i in ids.tolist()]
        self.attempts = [(int(row_of[a[0]]), *a[1:]) for a in self.attempts]
        if self.tokens is not None:
            tokens = self.tokens[ids]
            tokens["id"] = np.arange(len(ids))
            self.tokens = tokens
            self.token_cols = tuple([col[i] for i in ids.tolist()] for col in self.token_cols)
        res = super().result(scenario=scenario, seed=seed, pool=pool,
                             breaker_opens=breaker_opens, job_cost=job_cost)
        steps = _steps(loop, row_of)
        tasks = _tasks(loop, res.records, steps)
        totals = {**res.totals, "tool_cost": float(tasks["tool_cost"].sum()),
                  "write_times": list(loop.write_times)}
        return type(res)(scenario=res.scenario, seed=res.seed, records=res.records,
                         attempts=res.attempts, samples=res.samples, totals=totals,
                         tokens=res.tokens, token_samples=res.token_samples, tasks=tasks,
                         steps=steps, model_samples=res.model_samples)


def _steps(loop: AgentLoop, row_of: np.ndarray) -> np.ndarray:
    steps = (np.array(loop.step_rows, dtype=STEP_DTYPE) if loop.step_rows
             else np.zeros(0, STEP_DTYPE))
    steps["call"] = row_of[steps["call"]]
    order = np.lexsort((steps["step"], steps["task"]))
    steps = steps[order]
    steps.flags.writeable = False
    return steps


def _tasks(loop: AgentLoop, records: np.ndarray, steps: np.ndarray) -> np.ndarray:
    n = len(loop.states)
    tasks = np.zeros(n, dtype=TASK_DTYPE)
    for i, t in enumerate(loop.states):
        assert t is not None and t.done, f"task {i} did not end"
        tasks[i] = (i, t.arrival_s, t.start_s, t.end_s, t.end_s - t.arrival_s, t.outcome,
                    t.reason, t.need, t.step, t.progress, 0, t.tool_calls, t.writes,
                    t.tool_cost, 0.0)
    owner = steps["task"]
    calls = steps["call"]
    tasks["model_calls"] = np.bincount(owner, weights=records["model_calls"][calls],
                                       minlength=n)[:n]
    tasks["cost"] = np.bincount(owner, weights=records["cost"][calls], minlength=n)[:n] \
        + tasks["tool_cost"]
    tasks.flags.writeable = False
    return tasks


def _pct(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else 0.0


def agent_summary(result: Result) -> dict[str, Any]:
    """The summary keys agent mode adds (see ``docs/architecture.md``)."""
    tasks, steps = result.tasks, result.steps
    assert tasks is not None and steps is not None
    n = len(tasks)
    counts = np.bincount(tasks["outcome"], minlength=len(TASK_OUTCOMES))
    reasons = np.bincount(tasks["reason"], minlength=len(TASK_REASONS))
    injections = np.bincount(steps["injection"], minlength=len(INJECTIONS))
    approvals = np.bincount(steps["approval"], minlength=len(APPROVALS))

    def mean(values: np.ndarray) -> float:
        return float(values.mean()) if len(values) else 0.0

    return {
        "tasks": {name: int(counts[i]) for i, name in enumerate(TASK_OUTCOMES)},
        "steps_per_task": {"mean": mean(tasks["steps"]), "p95": _pct(tasks["steps"], 95)},
        "llm_calls_per_task": mean(tasks["model_calls"]),
        "tool_calls_per_task": mean(tasks["tool_calls"]),
        "cost_per_task": {"mean": mean(tasks["cost"]), "p95": _pct(tasks["cost"], 95)},
        "task_latency_s": {"p50": _pct(tasks["latency_s"], 50),
                           "p95": _pct(tasks["latency_s"], 95)},
        "unsafe_rate": float(counts[TaskOutcome.UNSAFE] / n) if n else 0.0,
        "agent": {
            "completion_rate": float(counts[TaskOutcome.COMPLETED] / n) if n else 0.0,
            "writes": int(tasks["writes"].sum()),
            "stopped_by": {TASK_REASONS[code]: int(reasons[code]) for code in (
                TaskReason.STEP_CAP, TaskReason.BUDGET_USD, TaskReason.BUDGET_S,
                TaskReason.KILLED)},
            "injections": {"caught": int(injections[Injection.CAUGHT]),
                           "missed": int(injections[Injection.MISSED])},
            "approvals": {APPROVALS[code]: int(approvals[code]) for code in (
                Approval.ALLOWED, Approval.APPROVED, Approval.REFUSED, Approval.DENIED)},
        },
    }


def task_trace(result: Result, task_id: int) -> dict[str, Any]:
    """The audit trail of task ``task_id``: how it ended and every step it took."""
    from labkit.knobs import KnobError

    tasks, steps = result.tasks, result.steps
    if tasks is None or steps is None:
        raise KnobError("task traces need an agent-mode run (agent.enabled = true)")
    if isinstance(task_id, bool) or not 0 <= int(task_id) < len(tasks):
        raise KnobError(f"task id must be in 0..{len(tasks) - 1}, got {task_id!r}")
    row = tasks[int(task_id)]
    sc = result.scenario
    own = steps[steps["task"] == int(task_id)]
    records = result.records
    trail = [{
        "step": int(s["step"]),
        "start_s": float(s["start_s"]),
        "end_s": float(s["end_s"]),
        "prompt_version": sc.agent.prompt_version,
        "model_version": sc.model.version,
        "call": int(s["call"]),
        "call_outcome": OUTCOMES[records["outcome"][s["call"]]],
        "progress": bool(s["progress"]),
        "tool": TOOL_KINDS[s["tool"]],
        "tool_result": TOOL_RESULTS[s["tool_result"]],
        "injection": INJECTIONS[s["injection"]],
        "approval": APPROVALS[s["approval"]],
        "wrote": bool(s["write"]),
        "cost_so_far": float(s["cost_so_far"]),
    } for s in own]
    return {
        "task": int(task_id),
        "seed": result.seed,
        "arrival_s": float(row["arrival_s"]),
        "end_s": float(row["end_s"]),
        "latency_s": float(row["latency_s"]),
        "outcome": TASK_OUTCOMES[row["outcome"]],
        "reason": TASK_REASONS[row["reason"]] or None,
        "steps_needed": int(row["steps_needed"]),
        "steps": trail,
        "model_calls": int(row["model_calls"]),
        "tool_calls": int(row["tool_calls"]),
        "writes": int(row["writes"]),
        "cost": float(row["cost"]),
        "write_policy": sc.agent.write_policy,
        "permission_policy": sc.agent.permission_policy,
        "budgets": {"usd": sc.agent.budget_usd, "s": sc.agent.budget_s,
                    "max_steps": sc.agent.max_steps},
    }
