"""The agent loop: a task's steps, each a model call and usually a tool call.

A task (one arrival) needs N productive steps (:func:`~labkit.sim.agent.draws.steps_needed`).
Each step starts with one model call, sent through the whole serving path
(gateway, data path, batcher and replicas or token mode, retries, timeouts,
breaker, fallbacks, kill switch).  When the call is answered, the step makes
progress unless it loops (``agent.loop_rate``) and usually calls one tool
(:class:`~labkit.sim.tools.Toolbox`); it ends when the tool returns.  The
task ends, exactly once:

* ``completed`` after its N-th productive step;
* ``gave_up`` before a step (or a write) once the step cap, the cost budget
  or the time budget is used up;
* ``failed`` when a step's model call gets no usable answer (an error, a
  timeout, a rejection, a canned fallback; a small-model fallback answer is
  usable) or the kill switch stops it;
* ``blocked`` when a write is denied or refused, or a hijacked action is
  stopped by the permission policy;
* ``unsafe`` when a hijacked action runs because no permission policy
  stopped it.

Budgets are checked at the boundaries (before each model call and before a
write runs), so a task may overshoot its cost budget by at most one step.
At ``kill.at_s`` every running task stops at once; a write waiting for
approval is dropped, so nothing is written from that moment.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from labkit.sim.agent.draws import Draws, Purpose, steps_needed
from labkit.sim.codes import (
    DEGRADED,
    OK,
    Approval,
    Injection,
    TaskOutcome,
    TaskReason,
    ToolKind,
    ToolResult,
    answering_fallback,
)
from labkit.sim.request import Request
from labkit.sim.tools import Toolbox, ToolSpec

if TYPE_CHECKING:
    import simpy

    from labkit.sim.actions import WriteBoundary
    from labkit.sim.config import AgentConfig
    from labkit.sim.load import Workload

__all__ = ["AgentLoop", "TaskState"]

_INF = math.inf


class TaskState:
    """One task in flight: its progress, spend and the step it is in."""

    __slots__ = ("id", "arrival_s", "start_s", "valid", "need", "progress", "step", "cost",
                 "tool_cost", "tool_calls", "writes", "hijacked", "done", "end_s", "outcome",
                 "reason", "in_step", "row")

    def __init__(self, tid: int, arrival_s: float, start_s: float, valid: bool, need: int):
        self.id, self.arrival_s, self.start_s, self.valid = tid, arrival_s, start_s, valid
        self.need = need
        self.progress = self.step = self.tool_calls = self.writes = 0
        self.cost = self.tool_cost = 0.0   # cost: spend known so far (model calls + tools)
        self.hijacked = self.done = self.in_step = False
        self.end_s = math.nan
        self.outcome = self.reason = 0
        # the open step: call id, start, tool, tool result, injection, approval, write, progress
        self.row: list[Any] = []


class AgentLoop:
    """Runs every task's loop on the engine's serving path.

    ``submit(request, valid)`` sends a model call into the path (the engine's
    arrival handler); the recorder calls :meth:`call_done` when it ends.
    ``boundary`` holds the human review queue for approved writes.
    """

    def __init__(self, env: simpy.Environment, config: AgentConfig, *, tasks: Workload,
                 draws: Draws, stride: int, submit: Callable[[Request, bool], None],
                 boundary: WriteBoundary, kill_at: float, deadline_s: float,
                 catalog_size: int, wrong_write_rate: float, arrivals: Any):
        self.env, self.config, self.tasks, self.draws = env, config, tasks, draws
        self.stride, self.submit, self.boundary = stride, submit, boundary
        self.kill_at, self.deadline_s, self.catalog_size = kill_at, deadline_s, catalog_size
        self.wrong_write_rate = wrong_write_rate
        self.arrivals = arrivals
        self.toolbox = Toolbox(config)
        self.max_steps, self.loop_rate = config.max_steps, config.loop_rate
        self.budget_usd = _INF if config.budget_usd is None else config.budget_usd
        self.budget_s = _INF if config.budget_s is None else config.budget_s
        self.states: list[TaskState | None] = [None] * len(tasks)
        self.active: dict[int, TaskState] = {}
        self.issued: dict[int, float] = {}     # call id -> when the call was made
        self.step_rows: list[tuple[Any, ...]] = []
        self.write_times: list[float] = []     # when each write (of a write tool) ran
        if kill_at < _INF:
            env.timeout(kill_at).callbacks.append(self._kill)

    @property
    def done(self) -> bool:
        """True once every task has arrived and ended (the sampler's stop signal)."""
        return bool(self.arrivals.done) and not self.active

    # ------------------------------------------------------------- a task
    def start(self, req: Request, valid: bool) -> None:
        """A task arrives (after validation): start its first step."""
        tid = req.id
        need = steps_needed(self.config, self.draws.u(tid, 0, Purpose.NEED))
        t = TaskState(tid, float(self.tasks.arrival_s[tid]), self.env.now, valid, need)
        self.states[tid] = t
        self.active[tid] = t
        self._step(t)

    def _stop_reason(self, t: TaskState, now: float) -> tuple[int, int] | None:
        if now >= self.kill_at:
            return TaskOutcome.FAILED, TaskReason.KILLED
        if t.cost >= self.budget_usd:
            return TaskOutcome.GAVE_UP, TaskReason.BUDGET_USD
        if now - t.start_s >= self.budget_s:
            return TaskOutcome.GAVE_UP, TaskReason.BUDGET_S
        return None

    def _step(self, t: TaskState, _event: object = None) -> None:
        """Begin the next step: check the cap and budgets, then make its model call."""
        now = self.env.now
        stop = ((TaskOutcome.GAVE_UP, TaskReason.STEP_CAP) if t.step >= self.max_steps
                else self._stop_reason(t, now))
        if stop is not None:
            return self._end(t, *stop, now)
        cid = t.id * self.stride + t.step
        self.issued[cid] = now
        t.in_step = True
        t.row = [cid, now, ToolKind.NONE, ToolResult.NOT_RUN, Injection.NONE, Approval.NONE,
                 False, False]
        self.submit(Request(cid, self.catalog_size + cid, False, now + self.deadline_s),
                    t.valid if t.step == 0 else True)

    def call_done(self, req: Request) -> None:
        """The serving path finished step call ``req`` (at ``req.end``, maybe still ahead)."""
        t = self.states[req.id // self.stride]
        if t is None or t.done:
            return
        # Always continue from an event: a chain of instant answers never nests calls.
        delay = max(0.0, req.end - self.env.now)
        self.env.timeout(delay).callbacks.append(partial(self._answered, t, req))

    def _answered(self, t: TaskState, req: Request, _event: object = None) -> None:
        if t.done:
            return
        now = self.env.now
        t.cost += req.cost
        if now >= self.kill_at:
            return self._end(t, TaskOutcome.FAILED, TaskReason.KILLED, now)
        usable = req.outcome == OK or (req.outcome == DEGRADED
                                       and answering_fallback(req.path) == "small_model")
        if not usable:
            return self._end(t, TaskOutcome.FAILED, TaskReason.MODEL_FAILED, now)
        if t.hijacked:   # the injected instruction now drives the agent's action
            return self._end(t, *self.toolbox.hijack(), now)
        u = partial(self.draws.u, t.id, t.step)
        progress = u(Purpose.LOOP) >= self.loop_rate
        tool = self.toolbox.choose(u(Purpose.TOOL), u(Purpose.KIND))
        if tool is None:
            return self._after(t, progress, 0.0)
        if tool.kind == ToolKind.READ:
            return self._read(t, tool, progress, u)
        t.row[2] = ToolKind.WRITE
        gate = self.toolbox.write_gate()
        if gate == Approval.DENIED:
            t.row[5] = Approval.DENIED
            return self._end(t, TaskOutcome.BLOCKED, TaskReason.WRITE_DENIED, now)
        if gate == Approval.ALLOWED:
            return self._write(t, tool, progress, Approval.ALLOWED)
        factor = -math.log1p(-u(Purpose.REVIEW))
        self.boundary.request_review(t, now, factor, partial(self._reviewed, t, tool, progress))

    def _read(self, t: TaskState, tool: ToolSpec, progress: bool,
              u: Callable[[int], float]) -> None:
        failed = Toolbox.fails(tool, u(Purpose.TOOL_ERROR))
        injection = (Injection.NONE if failed
                     else self.toolbox.injection(u(Purpose.INJECT), u(Purpose.GUARD)))
        if injection == Injection.MISSED:
            t.hijacked = True
        t.row[2:5] = [ToolKind.READ, ToolResult.ERROR if failed else ToolResult.OK, injection]
        self._charge(t, tool)
        self._after(t, progress and not failed, tool.latency_s)

    def _reviewed(self, t: TaskState, tool: ToolSpec, progress: bool, now: float) -> None:
        if t.done:   # stopped (kill switch) while the write waited: it never runs
            return
        if self.draws.u(t.id, t.step, Purpose.APPROVE) < self.wrong_write_rate:
            t.row[5] = Approval.REFUSED
            return self._end(t, TaskOutcome.BLOCKED, TaskReason.APPROVAL_REFUSED, now)
        self._write(t, tool, progress, Approval.APPROVED)

    def _write(self, t: TaskState, tool: ToolSpec, progress: bool, approval: int) -> None:
        """Run an allowed or approved write, atomically, unless a budget or the kill switch
        has stopped the task meanwhile."""
        now = self.env.now
        t.row[5] = approval
        stop = self._stop_reason(t, now)
        if stop is not None:
            return self._end(t, *stop, now)
        failed = Toolbox.fails(tool, self.draws.u(t.id, t.step, Purpose.TOOL_ERROR))
        t.row[3] = ToolResult.ERROR if failed else ToolResult.OK
        if not failed:
            t.row[6] = True
            t.writes += 1
            self.write_times.append(now)
        self._charge(t, tool)
        self._after(t, progress and not failed, tool.latency_s)

    @staticmethod
    def _charge(t: TaskState, tool: ToolSpec) -> None:
        t.tool_calls += 1
        t.tool_cost += tool.cost
        t.cost += tool.cost

    def _after(self, t: TaskState, progress: bool, delay_s: float) -> None:
        t.row[7] = progress
        self.env.timeout(delay_s).callbacks.append(partial(self._step_done, t))

    def _step_done(self, t: TaskState, _event: object = None) -> None:
        if t.done:
            return
        now = self.env.now
        progress = t.row[7]
        self._close_step(t, now)
        t.progress += progress
        if t.progress >= t.need:
            return self._end(t, TaskOutcome.COMPLETED, TaskReason.NONE, now)
        self._step(t)

    def _close_step(self, t: TaskState, now: float) -> None:
        cid, start, tool, result, injection, approval, wrote, progress = t.row
        self.step_rows.append((t.id, t.step, start, now, cid, bool(progress), tool, result,
                               injection, approval, wrote, t.cost))
        t.step += 1
        t.in_step = False

    def _end(self, t: TaskState, outcome: int, reason: int, now: float) -> None:
        if t.in_step:   # the step it stopped in: no progress counted
            t.row[7] = False
            self._close_step(t, now)
        t.done = True
        t.end_s, t.outcome, t.reason = now, outcome, reason
        del self.active[t.id]

    def _kill(self, _event: object) -> None:
        """The kill switch: every running task stops now, cleanly."""
        now = self.env.now
        for t in list(self.active.values()):
            self._end(t, TaskOutcome.FAILED, TaskReason.KILLED, now)
