"""Agent loops: how many steps a task takes under a cap, how often it finishes, what it costs.

A task needs N productive steps, N geometric on 1, 2, ... with success
probability p = 1 / ``agent.steps_mean`` (P(N > k) = (1 - p)^k).  A step is
productive unless it loops (probability q, ``agent.loop_rate``) or its tool call
fails (it calls a tool with probability r and a read fails with probability e),
so it makes progress with probability s = (1 - q)(1 - r e).  Because the
geometric distribution has no memory, each step is the last one needed with
probability p s, whatever happened before, and the number of steps T the
task would take without a cap is geometric with parameter a = p s.  With a step
cap c the task takes min(T, c) steps:

    E[min(T, c)] = sum_{k=0}^{c-1} P(T > k) = (1 - (1 - a)^c) / a
    P(completed)  = P(T <= c) = 1 - (1 - a)^c

(with no loops and no tool failures a = p: the first formula of issue 17).  These
hold when nothing else ends a task early: every tool is a read (``agent.write_share = 0``;
a refused or denied write ends a task as ``blocked``), no budget bites, and the serving
path answers every step (it only adds time and cost).
When nothing fails and every step calls one read tool, each step costs the
model call's price plus the tool's, so a task costs exactly steps x price.

Prompt injection: a read result carries instructions with probability i and
the guard misses one with probability 1 - g, so each read hijacks the agent
with probability i (1 - g).  A hijacked agent's next action is outside its
permissions: a permission policy blocks it, so unsafe actions are zero for
any i; without one it runs.  These rates hold per read, independent of the
serving path, which only adds time and cost around them.

>>> round(expected_capped_steps(steps_mean=4, max_steps=10), 4)
3.7747
>>> round(completion_probability(steps_mean=4, max_steps=10), 4)
0.9437
"""
from __future__ import annotations

from ._validate import _check, _count, _prob, _real

__all__ = ["step_success_probability", "expected_capped_steps", "completion_probability",
           "hijack_probability_per_read"]


def step_success_probability(steps_mean: float, *, loop_rate: float = 0.0,
                             tool_call_rate: float = 0.0, tool_error_rate: float = 0.0) -> float:
    """a = p (1 - q)(1 - r e): the chance a step is the task's last productive one.

    >>> step_success_probability(4, loop_rate=0.5)
    0.125
    """
    _check(_real(steps_mean) and steps_mean >= 1, "steps_mean", ">= 1", steps_mean)
    q = _prob("loop_rate", loop_rate)
    r, e = _prob("tool_call_rate", tool_call_rate), _prob("tool_error_rate", tool_error_rate)
    return (1.0 / steps_mean) * (1.0 - q) * (1.0 - r * e)


def expected_capped_steps(steps_mean: float, max_steps: int, **rates: float) -> float:
    """E[min(T, c)] = (1 - (1 - a)^c) / a for a geometric T with parameter a
    (:func:`step_success_probability`; ``rates``: its keyword arguments)."""
    c = _count("max_steps", max_steps)
    a = step_success_probability(steps_mean, **rates)
    if a == 0.0:
        return float(c)
    return (1.0 - (1.0 - a) ** c) / a


def completion_probability(steps_mean: float, max_steps: int, **rates: float) -> float:
    """P(T <= c) = 1 - (1 - a)^c: the share of tasks the step cap lets finish."""
    c = _count("max_steps", max_steps)
    return 1.0 - (1.0 - step_success_probability(steps_mean, **rates)) ** c


def hijack_probability_per_read(injection_rate: float, guard_recall: float) -> float:
    """i (1 - g): the chance one read result hijacks the agent.

    >>> hijack_probability_per_read(0.1, 0.75)
    0.025
    """
    return _prob("injection_rate", injection_rate) * (1.0 - _prob("guard_recall", guard_recall))
