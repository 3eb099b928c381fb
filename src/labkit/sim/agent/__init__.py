"""Agent mode (``agent.enabled``): tasks that loop over model and tool calls.

Each arrival is a *task*, a user goal, that runs a loop of steps (ReAct: the
model reasons, then acts through a tool).  Every step's model call goes
through the same serving path as a request; tools, permissions, approvals,
budgets and prompt injection are :mod:`labkit.sim.tools` and
:mod:`labkit.sim.agent.loop`; the draws are keyed by task and step
(:mod:`labkit.sim.agent.draws`); :mod:`labkit.sim.agent.records` turns the
run into ``Result.tasks``, ``Result.steps`` and the summary's agent keys.

>>> from labkit.sim import simulate
>>> r = simulate({"agent.enabled": True, "load.rate_rps": 2, "load.duration_s": 10}, seed=1)
>>> sum(r.summary["tasks"].values()) == len(r.tasks)
True
"""

from labkit.sim.agent.draws import Draws, Purpose, call_workload, steps_needed
from labkit.sim.agent.loop import AgentLoop, TaskState
from labkit.sim.agent.records import (
    STEP_DTYPE,
    TASK_DTYPE,
    AgentRecorder,
    agent_summary,
    task_trace,
)

__all__ = ["AgentLoop", "TaskState", "AgentRecorder", "Draws", "Purpose", "call_workload",
           "steps_needed", "agent_summary", "task_trace", "TASK_DTYPE", "STEP_DTYPE"]
