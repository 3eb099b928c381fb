"""The tools an agent calls, and the permission layer around them.

An agent step that is not pure thought calls one tool (``agent.tool_call_rate``).
A **read** tool looks something up (a refund policy, an order); a **write**
tool acts on the world (issues a refund).  Each kind has its own latency,
error rate and cost per call (``agent.read_tool_*``, ``agent.write_tool_*``).

Writes pass a permission layer first (``agent.write_policy``):

* ``allow``: the write runs at once;
* ``approve``: it waits for a human on the write boundary's review queue
  (``boundary.reviewers``, ``boundary.review_s``), who refuses the share of
  proposed writes that should not happen (``boundary.wrong_write_rate``);
* ``deny``: the agent has no write tools; the task is blocked.

A write is atomic: it happens entirely, at the moment it runs, or not at all
(a failed write changes nothing).  So a task stopped by a budget, a refusal
or the kill switch never leaves half a write behind.

**Prompt injection.** A share of read results carries instructions
(``agent.injection_rate``); a guard strips a share of them
(``agent.guard_recall``).  One the guard misses hijacks the agent: its next
action is outside its permissions (refund to someone else, mail out data).
With ``agent.permission_policy`` on, the layer outside the model blocks it;
off, it is executed, and the task ends ``unsafe``.  The hijacked action is
counted on its own, not as one of the agent's write-tool calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from labkit.sim.codes import Approval, Injection, TaskOutcome, TaskReason, ToolKind

if TYPE_CHECKING:
    from labkit.sim.config import AgentConfig

__all__ = ["ToolSpec", "Toolbox"]


class ToolSpec(NamedTuple):
    """One kind of tool: its :class:`~labkit.sim.codes.ToolKind`, latency, error rate, cost."""

    kind: int
    latency_s: float
    error_rate: float
    cost: float


class Toolbox:
    """The agent's read and write tools, its write policy and its injection guard.

    Every decision takes the uniform draws it needs as arguments, so the
    caller decides where randomness comes from.

    >>> from labkit.sim.config import AgentConfig
    >>> box = Toolbox(AgentConfig(tool_call_rate=1.0, write_share=0.25))
    >>> box.choose(0.5, 0.1).kind == ToolKind.WRITE, box.choose(0.5, 0.9).kind == ToolKind.READ
    (True, True)
    >>> box.hijack() == (TaskOutcome.BLOCKED, TaskReason.INJECTION_BLOCKED)
    True
    """

    def __init__(self, config: AgentConfig):
        self.read = ToolSpec(ToolKind.READ, config.read_tool_s, config.read_tool_error_rate,
                             config.read_tool_cost)
        self.write = ToolSpec(ToolKind.WRITE, config.write_tool_s,
                              config.write_tool_error_rate, config.write_tool_cost)
        self.tool_call_rate, self.write_share = config.tool_call_rate, config.write_share
        self.write_policy = config.write_policy
        self.permission_policy = config.permission_policy
        self.injection_rate, self.guard_recall = config.injection_rate, config.guard_recall

    def choose(self, u_call: float, u_kind: float) -> ToolSpec | None:
        """The tool a step calls (``None``: no tool), from two uniforms."""
        if u_call >= self.tool_call_rate:
            return None
        return self.write if u_kind < self.write_share else self.read

    @staticmethod
    def fails(tool: ToolSpec, u: float) -> bool:
        """Whether one call of ``tool`` fails."""
        return u < tool.error_rate

    def write_gate(self) -> int:
        """The permission layer's first answer to a write: ALLOWED, DENIED, or NONE (ask a
        human: the review decides APPROVED or REFUSED)."""
        if self.write_policy == "allow":
            return Approval.ALLOWED
        if self.write_policy == "deny":
            return Approval.DENIED
        return Approval.NONE

    def injection(self, u_inject: float, u_guard: float) -> int:
        """What a read result carries: an :class:`~labkit.sim.codes.Injection` code."""
        if u_inject >= self.injection_rate:
            return Injection.NONE
        return Injection.CAUGHT if u_guard < self.guard_recall else Injection.MISSED

    def hijack(self) -> tuple[int, int]:
        """How a hijacked action ends the task: (TaskOutcome, TaskReason)."""
        if self.permission_policy:
            return TaskOutcome.BLOCKED, TaskReason.INJECTION_BLOCKED
        return TaskOutcome.UNSAFE, TaskReason.INJECTION_EXECUTED
